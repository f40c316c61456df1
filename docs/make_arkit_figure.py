"""The README's figure of ``apply --arkit``: ``python docs/make_arkit_figure.py``.

One row per test character of another topology (``tests/characters.py``: decimated,
subdivided on a body in centimetres, restyled and remeshed into one surface): as it came,
with a sample photo's face applied (person_07), then posed by some of the ARKit keys the
transfer gave it. Plain grey renders, the way the face search sees the mesh. Writes
``docs/images/arkit_transfer.png``.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()

import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from blender_addon.character import _FaceStudio, apply_to_character, find_face, rest_geometry  # noqa: E402
from characters import make_character  # noqa: E402
from inference.pipeline import Backend  # noqa: E402

PHOTO = ROOT / "samples" / "photos" / "person_07.jpg"
KINDS = ("lowpoly", "body", "remeshed")
POSES = (("as it came", None), ("photo applied", {}), ("JawOpen", {"JawOpen": 1.0}),
         ("EyeBlink L+R", {"EyeBlinkLeft": 1.0, "EyeBlinkRight": 1.0}),
         ("MouthSmile L+R", {"MouthSmileLeft": 1.0, "MouthSmileRight": 1.0}),
         ("BrowInnerUp + MouthFunnel", {"BrowInnerUp": 1.0, "MouthFunnel": 1.0}))
TILE = 256


def _posed(obj, weights: dict) -> np.ndarray:
    """World vertices of the basis plus the weighted keys."""
    n = len(obj.data.vertices)
    co = np.empty(n * 3)
    blocks = obj.data.shape_keys.key_blocks
    blocks[0].data.foreach_get("co", co)
    base = co.reshape(n, 3).copy()
    v = base.copy()
    for name, w in weights.items():
        blocks[name].data.foreach_get("co", co)
        v += w * (co.reshape(n, 3) - base)
    mw = np.array(obj.matrix_world)
    return v @ mw[:3, :3].T + mw[:3, 3]


def _render(world: np.ndarray, tris: np.ndarray, centre, scale, path: str) -> np.ndarray:
    studio = _FaceStudio(world, tris)
    try:
        img = studio.render(centre, scale, 0.0, path)
    finally:
        studio.close()
    return cv2.resize(img, (TILE, TILE), interpolation=cv2.INTER_AREA)


def main() -> None:
    analysis = Backend().analyze(PHOTO)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "tile.png")
        for kind in KINDS:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            obj = make_character(kind)
            surface, _ = find_face(obj)
            verts, tris = rest_geometry(obj)
            mw = np.array(obj.matrix_world)
            lm = surface.points(verts)[surface.valid] @ mw[:3, :3].T + mw[:3, 3]
            centre = (lm.min(0) + lm.max(0)) / 2
            scale = 1.6 * float(np.ptp(lm[:, 2]))
            tiles = [_render(_posed(obj, {}), tris, centre, scale, path)]
            report = apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape,
                                        arkit=True)
            print(kind, len(verts), "vertices, landmark motion error (median over keys):",
                  round(report["arkit_landmark_motion_error_median"], 3))
            tiles += [_render(_posed(obj, w), tris, centre, scale, path) for _, w in POSES[1:]]
            rows.append(np.hstack(tiles))
    sheet = np.vstack(rows)
    head = np.full((28, sheet.shape[1], 3), 255, np.uint8)
    for i, (label, _) in enumerate(POSES):
        cv2.putText(head, label, (i * TILE + 6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20), 1, cv2.LINE_AA)
    out = ROOT / "docs" / "images" / "arkit_transfer.png"
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack([head, sheet]), cv2.COLOR_RGB2BGR))
    print(out)


if __name__ == "__main__":
    main()
