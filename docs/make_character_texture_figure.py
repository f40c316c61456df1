"""The README's figure of the texture part of ``apply``: ``python docs/make_character_texture_figure.py``.

One row per test character of another topology (``tests/characters.py``), two with a
base-colour image of their own (flat blue paint with grid lines, so the blend and the
untouched rest show), one with only a plain material: the photo, the character as it came,
with the photo's face applied (identity), with the cartoon style's palette, and turned.
Workbench renders of the base-colour texture. Writes ``docs/images/character_texture.png``.
"""
from __future__ import annotations

import math
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
from mathutils import Vector  # noqa: E402

from blender_addon.character import apply_to_character  # noqa: E402
from blender_addon.render import quiet_stdout  # noqa: E402
from characters import make_character  # noqa: E402
from inference.character_texture import character_head_texture  # noqa: E402
from inference.photo_io import load_photo  # noqa: E402
from inference.pipeline import Backend  # noqa: E402

ROWS = (("lowpoly", False, "person_11.jpg"), ("body", True, "person_03.jpg"), ("remeshed", True, "person_07.jpg"))
TILE = 256


def _render(obj, yaw_deg: float, path: str) -> np.ndarray:
    sc = bpy.context.scene
    sc.render.engine = "BLENDER_WORKBENCH"
    sc.display.shading.light, sc.display.shading.color_type = "STUDIO", "TEXTURE"
    sc.render.resolution_x = sc.render.resolution_y = TILE
    cam = sc.camera
    if cam is None:
        cam = bpy.data.objects.new("figure_cam", bpy.data.cameras.new("figure_cam"))
        sc.collection.objects.link(cam)
        sc.camera, cam.data.type = cam, "ORTHO"
    bpy.context.view_layer.update()
    v = np.array([obj.matrix_world @ p.co for p in obj.data.vertices])
    head = v[v[:, 2] > v[:, 2].max() - min(np.ptp(v[:, 2]), 1.2 * np.ptp(v[:, 0]))]   # a body: its top
    centre, scale = (head.min(0) + head.max(0)) / 2, 1.1 * np.ptp(head[:, 2])
    yaw = math.radians(yaw_deg)
    fwd = np.array([-math.sin(yaw), math.cos(yaw), 0.0])
    cam.location = Vector(centre - fwd * 10 * scale)
    cam.rotation_euler = (math.pi / 2, 0.0, yaw)
    cam.data.ortho_scale, cam.data.clip_end = scale, 30 * scale
    sc.render.filepath = path
    with quiet_stdout():
        bpy.ops.render.render(write_still=True)
    return cv2.imread(path)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (6, TILE - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    backend = Backend()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "tile.png")
        for kind, textured, name in ROWS:
            photo = load_photo(ROOT / "samples" / "photos" / name)
            tiles = []
            ph = cv2.cvtColor(photo.rgb, cv2.COLOR_RGB2BGR)
            h, w = ph.shape[:2]
            side = min(h, w)
            ph = ph[(h - side) // 3:(h - side) // 3 + side, (w - side) // 2:(w - side) // 2 + side]
            tiles.append(_label(cv2.resize(ph, (TILE, TILE), interpolation=cv2.INTER_AREA), name))
            for style, label in ((None, "as it came"), ("identity", "photo applied"), ("cartoon", "cartoon palette")):
                bpy.ops.wm.read_factory_settings(use_empty=True)
                obj = make_character(kind, textured=textured)
                if style is not None:
                    an = backend.analyze(photo, style=style)
                    tex = character_head_texture(photo.rgb, an, style)
                    apply_to_character(obj, an.avatar, an.deformation, an.geometric_shape, head_texture=tex)
                tiles.append(_label(_render(obj, 0.0, path), label))
                if style == "identity":
                    turned = _label(_render(obj, 35.0, path), "turned 35 deg")
            tiles.append(turned)
            rows.append(np.hstack(tiles))
    out = ROOT / "docs" / "images" / "character_texture.png"
    cv2.imwrite(str(out), np.vstack(rows))
    print(out)


if __name__ == "__main__":
    main()
