"""Regenerate the README's texture figure: ``python docs/make_texture_sheet.py``.

Per photo: the photo, its projected UV texture (the face island), the avatar with that
texture (identity), the fast palette-stylized textures of the cartoon and chibi presets,
and the exemplar optimisation toward a woodblock print: ``docs/images/texture_sheet.png``.
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

from blender_addon.bundle import BundleWriter  # noqa: E402
from inference.pipeline import Backend  # noqa: E402

OUT = ROOT / "docs" / "images" / "texture_sheet.png"
TILE = 256
FACE_ISLAND = (600, 330, 1020, 700)     # the face's region of MakeHuman's UV map (texels)
STYLE = ROOT / "samples" / "styles" / "style_02.jpg"


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    backend = Backend()
    writer = BundleWriter(size=TILE)
    tmp = ROOT / ".cache" / "texture_sheet"
    rows = []
    for name in ("person_02", "person_07", "person_10"):
        photo = ROOT / "samples" / "photos" / f"{name}.jpg"
        row = [tile(Image.open(photo), "photo")]
        for style, label in (("identity", "photo texture"), ("cartoon", "cartoon, fast palette"),
                             ("chibi", "chibi, fast palette"), ("exemplar", "exemplar texture (style_02)")):
            kw = {"texture": "photo"} if style == "identity" else {}
            if style == "exemplar":
                kw = {"texture": "exemplar", "style_image": STYLE}
            a = backend.analyze(photo, style=style, **kw)
            out = writer.write(a, tmp / f"{name}_{style}", force=True)
            if style == "identity":
                row.append(tile(Image.open(out / "texture.png").crop(FACE_ISLAND), "projected texture (UV)"))
            row.append(tile(Image.open(out / "render.png"), label))
        rows.append(row)
    grid(rows).save(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
