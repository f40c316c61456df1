"""Render the asset thumbnails and the contact sheets: ``python docs/make_asset_sheet.py``.

Every asset of ``rigs/assets.json`` on the default head: a 256 px toon thumbnail at the
path the catalogue names (``docs/assets/<kind>_<id>.png``), and one labelled contact
sheet per look (``docs/images/asset_sheet_{toon,pbr}.png``), and the hair catalogue
(``docs/images/hair_catalogue.png``): every hairstyle in both looks and from behind,
labelled with its length and texture.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()

import bpy  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from blender_addon import looks  # noqa: E402
from blender_addon.avatar_build import build_avatar, update_avatar  # noqa: E402
from blender_addon.render import FRAME_HEIGHT, render_avatar  # noqa: E402
from inference.avatar import default_avatar  # noqa: E402
from rigs.catalogue import asset_catalogue  # noqa: E402

HAIR_FRAME = None        # the render fits the frame to the hair (an afro gets more)
BACK = (150.0, 12.0)     # yaw, pitch: from behind, a little above
VIEW = {"hair": "three-quarter", "eyebrows": "front", "beard": "three-quarter", "glasses": "three-quarter"}
BASE = {"hair": {"eyebrows": "medium"}, "eyebrows": {"hair": "crop"},
        "beard": {"hair": "crop", "eyebrows": "medium"}, "glasses": {"hair": "crop", "eyebrows": "medium"}}


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    cat = asset_catalogue()
    av = default_avatar()
    objs = build_avatar(av)
    cells = {"toon": [], "pbr": []}
    backs = []
    for kind in ("hair", "eyebrows", "beard", "glasses"):
        for aid, entry in cat[kind].items():
            a = default_avatar()
            a.assets.update({"hair": "bald", "eyebrows": "none", "beard": "none", "glasses": "none"})
            a.assets.update(BASE[kind])
            a.assets[kind] = aid
            update_avatar(objs, a)
            frame = HAIR_FRAME if kind == "hair" else FRAME_HEIGHT
            for look in ("toon", "pbr"):
                looks.apply_look(objs, a, look)
                out = ROOT / entry["thumbnail"] if look == "toon" else Path("/tmp") / f"p2a_{kind}_{aid}_pbr.png"
                (png,) = render_avatar(objs, out, size=256, view=VIEW[kind], samples=8 if look == "pbr" else None,
                                       frame_height=frame)
                cells[look].append((f"{kind}: {entry['name']}", png))
            looks.apply_look(objs, a, "toon")
            if kind == "hair":   # ponytails, buns and crowns show from behind
                (png,) = render_avatar(objs, Path("/tmp") / f"p2a_hair_{aid}_back.png", size=256,
                                       angles=BACK, frame_height=frame)
                backs.append(png)
    hair = [(f"{e['name']} ({e['length']}, {e['texture']})", (toon, pbr, back))
            for (e, (_, toon), (_, pbr), back) in zip(cat["hair"].values(), cells["toon"], cells["pbr"], backs)]
    _hair_catalogue(hair, ROOT / "docs" / "images" / "hair_catalogue.png")
    for look, items in cells.items():
        cols = 8
        rows = (len(items) + cols - 1) // cols
        sheet = Image.new("RGB", (cols * 200, rows * 220), (245, 243, 240))
        draw = ImageDraw.Draw(sheet)
        for i, (label, png) in enumerate(items):
            x, y = (i % cols) * 200, (i // cols) * 220
            sheet.paste(Image.open(png).convert("RGB").resize((200, 200)), (x, y))
            draw.text((x + 6, y + 203), label, fill=(30, 30, 30))
        path = ROOT / "docs" / "images" / f"asset_sheet_{look}.png"
        sheet.save(path)
        print(path)


def _hair_catalogue(items, path: Path, per_row: int = 3) -> None:
    """Each style as toon and PBR three-quarter renders and a toon view from behind, one
    caption under the three."""
    w, h, gap = 200, 224, 14
    rows = (len(items) + per_row - 1) // per_row
    sheet = Image.new("RGB", (per_row * (3 * w + gap), rows * h), (245, 243, 240))
    draw = ImageDraw.Draw(sheet)
    for i, (label, pngs) in enumerate(items):
        x, y = (i % per_row) * (3 * w + gap), (i // per_row) * h
        for j, png in enumerate(pngs):
            sheet.paste(Image.open(png).convert("RGB").resize((w, w)), (x + j * w, y))
        draw.text((x + 6, y + w + 6), f"{label}   toon | PBR | toon, behind", fill=(30, 30, 30))
    sheet.save(path)
    print(path)


if __name__ == "__main__":
    main()
