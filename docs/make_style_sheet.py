"""Regenerate the README's style figure: ``python docs/make_style_sheet.py``.

One sample photo through every preset, a strength sweep of one preset, and exemplar-driven
results next to their style images: ``docs/images/styles_sheet.png``.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()

import bpy  # noqa: E402
from PIL import Image  # noqa: E402

from sheet import grid, tile  # noqa: E402

from blender_addon.avatar_build import build_avatar, update_avatar  # noqa: E402
from blender_addon.render import render_avatar  # noqa: E402
from inference.pipeline import Backend  # noqa: E402

OUT = ROOT / "docs" / "images" / "styles_sheet.png"
PHOTO = ROOT / "samples" / "photos" / "person_02.jpg"
TILE = 256


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    backend = Backend()
    tmp = ROOT / ".cache" / "style_sheet"
    tmp.mkdir(parents=True, exist_ok=True)
    base = backend.analyze(PHOTO).avatar
    objs = build_avatar(base)

    def shot(avatar, name, label):
        update_avatar(objs, avatar)
        (p,) = render_avatar(objs, tmp / f"{name}.png", size=TILE)
        return tile(Image.open(p), label)

    rows = [[tile(Image.open(PHOTO), "photo")]]
    for style in ("identity", "cartoon", "chibi", "caricature"):
        a = base.copy()
        a.style = {"name": style, "strength": 1.0}
        rows[0].append(shot(a, style, style))
    rows.append([tile(Image.open(PHOTO), "chibi strength:")])
    for s in (0.0, 0.5, 1.0, 1.5):
        a = base.copy()
        a.style = {"name": "chibi", "strength": s}
        rows[1].append(shot(a, f"chibi_{s}", f"{s:g}"))
    rows.append([])
    for i in (3, 2):
        img = ROOT / "samples" / "styles" / f"style_0{i}.jpg"
        a = base.copy()
        a.style = {"name": "exemplar", "strength": 1.0, "exemplar": backend.exemplar(img)}
        rows[2] += [tile(Image.open(img), f"style image {img.name}"), shot(a, f"ex{i}", "exemplar, strength 1")]
        a.style["strength"] = 2.0
        rows[2].append(shot(a, f"ex{i}_2", "exemplar, strength 2"))
    grid(rows).save(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
