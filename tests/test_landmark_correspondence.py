"""MediaPipe landmarks on the rig: the stored correspondence reproduces what MediaPipe
detects on renders of the avatar, including a view that was not used to build it."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from pathlib import Path  # noqa: E402

from PIL import Image  # noqa: E402

from blender_addon.avatar_build import build_avatar, evaluated_vertices  # noqa: E402
from blender_addon.render import projection_matrix, render_avatar  # noqa: E402
from inference.avatar import default_avatar  # noqa: E402
from inference.landmarks import LandmarkDetector  # noqa: E402
from rigs.rig_asset import load_correspondence  # noqa: E402

OUTER_EYE = (33, 263)   # MediaPipe outer eye corners


@pytest.fixture(scope="module")
def detector():
    with LandmarkDetector(max_faces=1) as d:
        yield d


def _all_verts(objs, rig):
    """Evaluated positions of every part, scattered back into the rig's vertex order."""
    out = rig.verts.copy()
    for name, obj in objs.parts.items():
        out[rig.parts[name].vertex_ids] = evaluated_vertices(obj)
    return out


# views inside the +-18 deg yaw / +-10 deg pitch range the correspondence was built from,
# two of them not among the build views. Measured medians: 0.012 front, 0.011 at (12, 4),
# 0.021 looking from below at (-8, -8); at 25 deg yaw it reaches 0.03.
@pytest.mark.parametrize("angles, bound", [((0, 0), 0.015), ((12, 4), 0.015), ((-8, -8), 0.025)],
                         ids=["front", "held-out-1", "held-out-2"])
def test_projected_correspondences_match_mediapipe(scene, rig, detector, tmp_path, angles, bound):
    av = default_avatar()
    av.shape["jaw_width"] = 0.5     # a shape the correspondence was not built on
    objs = build_avatar(av, scene)
    (png,) = render_avatar(objs, tmp_path / "v.png", size=512, angles=angles)
    faces = detector.detect(np.asarray(Image.open(png).convert("RGB")))
    assert faces, "MediaPipe finds the avatar's face"
    det = faces[0].points[:, :2]
    corr = load_correspondence()
    assert corr.valid.all()
    bpy.context.view_layer.update()
    pts = corr.points(_all_verts(objs, rig))
    h = np.c_[pts, np.ones(len(pts))] @ projection_matrix(scene).T
    proj = h[:, :2] / h[:, 2:]
    iod = np.linalg.norm(det[OUTER_EYE[0]] - det[OUTER_EYE[1]])
    err = np.linalg.norm(proj - det, axis=1) / iod
    inner = ~corr.contour
    # calibration (DESIGN.md): render-vs-rig differences of 0.016-0.025 with a naive setup
    assert np.median(err[inner]) < bound, np.median(err[inner])
    assert np.percentile(err[inner], 90) < 2.5 * bound
    assert np.median(err[corr.contour]) < 3 * bound   # silhouette points slide with the view


def test_rebuild_matches_committed_correspondence():
    """The committed correspondence is what the script makes from the current rig and assets:
    the same surface points to within MediaPipe's jitter (measured against the strand-shaded
    hair of the current library: median 0.26 mm, 97th percentile 1.3 mm; a point that moves
    a fraction of a millimetre may land on the next triangle, so points are compared, not
    triangle ids)."""
    from rigs.rig_asset import load_rig
    from training.landmark_correspondence import collect_hits, solve
    fresh = solve(collect_hits())
    verts = load_rig().verts
    with np.load(Path(__file__).resolve().parents[1] / "rigs/data/mediapipe_correspondence.npz") as z:
        committed = np.einsum("nk,nkd->nd", z["bary"], verts[z["tri"]])
    made = np.einsum("nk,nkd->nd", fresh["bary"], verts[fresh["tri"]])
    dist = np.linalg.norm(committed - made, axis=1)
    assert np.median(dist) < 0.0005 and np.percentile(dist, 97) < 0.002, np.percentile(dist, [50, 97, 100])
