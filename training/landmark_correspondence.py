"""Find where MediaPipe's 478 face landmarks sit on the rig's surface.

Method (DESIGN.md): render the neutral default avatar, as the product renders it (toon
look), from several yaw/pitch views; run MediaPipe on each render; cast a ray from the
camera through every detected landmark onto the avatar; per landmark, take the median
3D hit over the views on the part most views hit, and snap it to the closest point of
that part's surface (triangle + barycentric coordinates over asset vertex ids).

Landmarks on the face oval are silhouette points that slide with the view: they are
flagged ``contour`` so fitting can treat them as sliding. ``spread`` (metres) is the
median distance of the per-view hits to the consensus, a measure of how well-defined a
correspondence is.

Two files, to keep the build free of cycles (the asset library places brows, beards
and glasses by landmarks, and the landmarks are read on renders that wear those assets):

* ``--placement``: rendered bald and browless, written to
  ``rigs/data/mediapipe_placement.npz``; only ``rigs/build_assets.py`` reads it;
* default: rendered as the default avatar (short crop, medium brows), written to
  ``rigs/data/mediapipe_correspondence.npz``; the fit and the eval read it.

Build order: ``rigs.build_rig`` -> ``--placement`` -> ``rigs.build_assets`` -> default.
Run: ``python -m training.landmark_correspondence [--placement]`` (about 10 s each).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from rigs.rig_asset import load_rig

DATA = Path(__file__).resolve().parents[1] / "rigs" / "data"
OUT_PATH = DATA / "mediapipe_correspondence.npz"
PLACEMENT_PATH = DATA / "mediapipe_placement.npz"
VIEWS = ((0, 0), (-18, 0), (18, 0), (0, -10), (0, 10), (-10, 6), (10, 6), (-10, -6), (10, -6))
SIZE = 768


def _camera_rays(scene, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from blender_addon.render import projection_matrix
    p = projection_matrix(scene)
    m = p[:, :3]
    origin = np.array(scene.camera.matrix_world.translation)
    d = np.linalg.solve(m, np.c_[pixels, np.ones(len(pixels))].T).T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return origin, d


def collect_hits(size: int = SIZE, views=VIEWS, bare: bool = False):
    """Render and detect from each view; returns {landmark: [(part, world point), ...]}.
    ``bare`` renders the head without hair, brows, beard or glasses."""
    import bpy

    from blender_addon.avatar_build import build_avatar
    from blender_addon.render import render_avatar
    from inference.avatar import default_avatar
    from inference.landmarks import LandmarkDetector
    from PIL import Image

    bpy.ops.wm.read_factory_settings(use_empty=True)
    avatar = default_avatar()
    if bare:
        avatar.assets.update(hair="bald", eyebrows="none", beard="none", glasses="none")
    objs = build_avatar(avatar, look="toon")
    part_of = {o.name: name for name, o in objs.parts.items()}
    hits: dict[int, list] = {i: [] for i in range(478)}
    scene = bpy.context.scene
    with LandmarkDetector(max_faces=1) as det, tempfile.TemporaryDirectory() as tmp:
        for yaw, pitch in views:
            (png,) = render_avatar(objs, Path(tmp) / "v.png", size=size, angles=(yaw, pitch))
            faces = det.detect(np.asarray(Image.open(png).convert("RGB")))
            if not faces:
                print(f"view yaw={yaw} pitch={pitch}: no face detected, skipped")
                continue
            origin, dirs = _camera_rays(scene, faces[0].points[:, :2])
            depsgraph = bpy.context.evaluated_depsgraph_get()
            for i, d in enumerate(dirs):
                ok, loc, _n, _idx, obj, _m = scene.ray_cast(depsgraph, origin.tolist(), d.tolist())
                if ok and obj.name in part_of:
                    hits[i].append((part_of[obj.name], np.array(loc)))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return hits


def solve(hits, rig=None) -> dict[str, np.ndarray]:
    """Consensus point per landmark, snapped onto its part: the arrays of the output file."""
    import trimesh
    from inference.landmarks import landmark_sets

    rig = rig or load_rig()
    parts = list(rig.parts)
    meshes = {}
    for name, part in rig.parts.items():
        tris = part.triangles()
        meshes[name] = (trimesh.Trimesh(rig.verts, tris, process=False), tris)
    sets = landmark_sets()
    contour = np.zeros(478, bool)
    contour[sets["face_oval"]] = True
    # eyelid-margin points must ride on the lids (which blink), never on the eyeball that
    # a ray through the eye opening may hit
    on_lids = set(sets["left_eye"].tolist()) | set(sets["right_eye"].tolist())
    out_part = np.full(478, -1, np.int16)
    tri = np.zeros((478, 3), np.int32)
    bary = np.zeros((478, 3), np.float64)
    spread = np.full(478, np.inf)
    n_views = np.zeros(478, np.int16)
    for i in range(478):
        if not hits[i]:
            continue
        names = [p for p, _ in hits[i]]
        best = max(sorted(set(names)), key=names.count)
        pts = np.array([q for p, q in hits[i] if p == best])
        if i in on_lids and best != "head":
            best = "head"          # snap the consensus onto the lid skin next to it
        med = np.median(pts, axis=0)
        mesh, tris = meshes[best]
        # exact closest point among the 40 triangles with the nearest centroids
        cand = np.argsort(np.linalg.norm(mesh.triangles_center - med, axis=1))[:40]
        cp = trimesh.triangles.closest_point(mesh.triangles[cand], np.repeat(med[None], len(cand), 0))
        k = int(np.argmin(np.linalg.norm(cp - med, axis=1)))
        b = trimesh.triangles.points_to_barycentric(mesh.triangles[cand[k]][None], cp[k][None])[0]
        out_part[i], tri[i], bary[i] = parts.index(best), tris[cand[k]], b
        spread[i] = float(np.median(np.linalg.norm(pts - med, axis=1)))
        n_views[i] = len(pts)
    return {"part": out_part, "tri": tri, "bary": bary.astype(np.float64), "spread": spread,
            "n_views": n_views, "contour": contour, "part_names": np.array(parts)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--placement", action="store_true", help="bald, browless: for the asset build")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    args.output = args.output or (PLACEMENT_PATH if args.placement else OUT_PATH)
    arrays = solve(collect_hits(bare=args.placement))
    from rigs.build_rig import write
    write(arrays, args.output)
    ok = arrays["part"] >= 0
    print(f"wrote {args.output}: {ok.sum()}/478 landmarks, median spread "
          f"{np.median(arrays['spread'][ok]) * 1000:.2f} mm, "
          f"{(arrays['n_views'][ok] == len(VIEWS)).sum()} seen in every view")


if __name__ == "__main__":
    main()
