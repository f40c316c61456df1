"""The head's outline above the eyes, hair included: read from the photo and given to the
avatar's cranium.

No face landmark lies above the forehead, so the landmark fits do not see the cranium: its
height slider (``forehead_height``: the top of the skull +38 mm at 1, -22 mm at -1, no
landmark moves) came out of the likeness fit as noise (its learned reading moves MediaPipe's
points by 0.005 eye distances at most), and head-shape sliders fitted to the face (diamond,
triangular, oval) raised or pointed the skull where nothing in the photo asked for it: cone
heads. The photo does show the head's outline, hair or bare scalp: the person mask. Once the
hair is chosen, the top of the skull over the middle of the head becomes one more
observation of the likeness fit (:func:`inference.fit.fit_landmarks`): where it must lie for
the avatar's outline, wearing that hair (its thickness there), to read like the photo's.
(The crown's width, observed the same way, was tried: letting its sides move out far enough
to round the crown raised the posed landmark NME on the sample photos from 0.021 to 0.024,
because the sliders that widen the crown widen the face too.)

Positions are in eye distances from the outer eye corners' midpoint, measured the same way
on the photo and on the avatar (under the likeness fit's camera, whose pose is the one
renders are read with; the registration's is pitched some 7 degrees by MediaPipe's depth
template). MediaPipe reads a render's outline a little inside the rig's geometry
(:data:`READING`); the avatar's targets include that, so its render reads like the photo.

Hair the library cannot model (a bun, an updo, volume) raises the photo's outline with no
skull under it, so the skull moves at most :data:`REACH` from where the fit without the
outline put it.
"""
from __future__ import annotations

import numpy as np

STRIP = 0.3      # half width of the strip over the middle of the head whose top is read, eye distances
# How far MediaPipe reads a render's outline below the rig's geometry under the likeness
# fit's camera, eye distances: the median over frontal toon renders of the default head
# wearing bald, buzz, crop, side part, bob, long straight, shoulder curls and afro at three
# cranium heights (-0.6, 0, 0.5); ``python -m inference.head_outline`` measures it again.
READING = 0.166
# How far the skull may move, eye distances: in (0.3 of the rig's 88 mm eye distance: 26 mm,
# some three standard deviations of adult head size) and out (0.1: 9 mm). Out is held short:
# the rig's head already stands at the large end of adult proportions (vertex to chin 2.59
# outer-eye distances against about 2.5 in anthropometric norms), so an outline beyond what
# the avatar shows is more likely hair the library does not model than skull.
REACH = {"in": 0.3, "out": 0.1}


def outline_top(mask: np.ndarray, cx: float, half_width: float) -> float | None:
    """Highest row of ``mask`` in the strip ``|x - cx| < half_width``: the first row where
    most of the strip is inside; None if the outline starts at the image's top edge (cut
    off by the frame: its height is unknown)."""
    x0, x1 = max(int(round(cx - half_width)), 0), min(int(round(cx + half_width)) + 1, mask.shape[1])
    if x1 <= x0:
        return None
    rows = np.flatnonzero(mask[:, x0:x1].mean(axis=1) > 0.5)
    if len(rows) == 0 or rows[0] <= 1:
        return None
    return float(rows[0])


def photo_outline_height(person_mask: np.ndarray, lm: np.ndarray) -> float | None:
    """Height of the head's outline (the person mask's top over the middle of the head) above
    the outer eye corners' midpoint, in eye distances; None where the frame cuts it off."""
    iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
    cx, eye_y = lm[[33, 263], :2].mean(axis=0)
    top = outline_top(person_mask > 0.5, cx, STRIP * iod)
    return None if top is None else float((eye_y - top) / iod)


def _skull_top(pose, shape: dict, hair: str) -> tuple[int, float, float, float]:
    """(rig vertex at the top of the skull over the middle of the head, its image row and
    the hair's thickness above it, both in pixels from the rig's eye corners' midpoint (rows
    down), the eye distance in pixels) under ``pose``, a FitResult."""
    from rigs.asset_geometry import vertex_normals
    from rigs.asset_library import load_library
    from rigs.catalogue import target_weights
    from rigs.rig_asset import load_correspondence, load_rig
    rig, lib = load_rig(), load_library()
    verts = rig.deformed(target_weights(shape))
    head = rig.parts["head"]
    eyes = pose.project(load_correspondence().points(verts)[[33, 263]])
    iod = float(np.linalg.norm(eyes[0] - eyes[1]))
    px = pose.project(verts[head.vertex_ids]) - eyes.mean(axis=0)
    k = int(np.argmin(np.where(np.abs(px[:, 0]) < STRIP * iod, px[:, 1], np.inf)))
    thickness = 0.0
    if f"hair/{hair}" in lib:
        hv = pose.project(lib[f"hair/{hair}"].att.evaluate(verts, vertex_normals(verts, head.triangles())))
        hv -= eyes.mean(axis=0)
        on = np.abs(hv[:, 0]) < STRIP * iod
        if on.any():
            thickness = max(float(px[k, 1] - hv[on, 1].min()), 0.0)
    return int(head.vertex_ids[k]), float(px[k, 1]), thickness, iod


def model_outline_height(pose, shape: dict, hair: str) -> float:
    """The avatar's outline height above its eyes from its geometry under ``pose``, in eye
    distances (MediaPipe reads its render :data:`READING` lower)."""
    _, row, thickness, iod = _skull_top(pose, shape, hair)
    return -(row - thickness) / iod


def outline_observations(person_mask: np.ndarray, lm: np.ndarray, pose, hair: str) -> tuple[list, dict]:
    """The photo's outline as observations for the likeness fit: a list of (rig vertex, image
    axis, pixels from the rig's eye corners' midpoint) for :func:`inference.fit.fit_landmarks`'s
    ``outline`` (empty when the frame cuts the outline off), and the figures for report.json.
    ``pose``: the likeness fit without the outline (its camera and shape)."""
    height = photo_outline_height(person_mask, lm)
    info = {"photo_outline_above_eyes": None if height is None else round(height, 3)}
    if height is None:
        return [], info
    vertex, skull, thickness, iod = _skull_top(pose, pose.shape, hair)
    want = -(height + READING) * iod + thickness
    target = float(np.clip(want, skull - REACH["out"] * iod, skull + REACH["in"] * iod))
    info.update({"hair_thickness_on_top": round(thickness / iod, 3),
                 "skull_raised": round((skull - target) / iod, 3), "skull_raise_clipped": bool(target != want)})
    return [(vertex, 1, target)], info


def calibrate(samples: list[tuple[np.ndarray, np.ndarray, object, dict, str]]) -> float:
    """:data:`READING` from renders: the median of how far the rendered outline (selfie
    mask) lies below the geometry, over (person mask, landmarks, likeness fit, shape, hair)."""
    diffs = [model_outline_height(pose, shape, hair) - h for mask, lm, pose, shape, hair in samples
             if (h := photo_outline_height(mask, lm)) is not None]
    return float(np.median(diffs))


def main() -> None:
    """Render the default head in several hairstyles and cranium heights, and print
    :func:`calibrate`'s offsets (the values behind :data:`READING`)."""
    import tempfile
    from pathlib import Path

    import bpy
    from PIL import Image

    from blender_addon.avatar_build import build_avatar
    from blender_addon.render import render_avatar
    from inference.avatar import default_avatar
    from inference.fit import fit_landmarks
    from inference.perception import Perceiver
    perceiver, samples = Perceiver(), []
    with tempfile.TemporaryDirectory() as tmp:
        for hair in ("bald", "buzz", "crop", "side_part", "bob", "long_straight", "shoulder_curly", "afro"):
            for cranium in (-0.6, 0.0, 0.5):
                bpy.ops.wm.read_factory_settings(use_empty=True)
                av = default_avatar()
                av.assets["hair"], av.colors["hair"], av.shape["forehead_height"] = hair, "#3a2a20", cranium
                path = Path(tmp) / "outline.png"
                render_avatar(build_avatar(av, look="toon"), path, size=512)
                o = perceiver.observe(np.asarray(Image.open(path).convert("RGB")))
                samples.append((o.person_mask, o.landmarks, fit_landmarks(o.landmarks), av.shape, hair))
    print(f"READING = {calibrate(samples):.3f}")


if __name__ == "__main__":
    main()
