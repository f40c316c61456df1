"""Render the asset thumbnails and the contact sheets: ``python docs/make_asset_sheet.py``.

Every asset of ``rigs/assets.json`` on the default head: a 256 px toon thumbnail at the
path the catalogue names (``docs/assets/<kind>_<id>.png``), and one labelled contact
sheet per look (``docs/images/asset_sheet_{toon,pbr}.png``).
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
from blender_addon.render import render_avatar  # noqa: E402
from inference.avatar import default_avatar  # noqa: E402
from rigs.catalogue import asset_catalogue  # noqa: E402

VIEW = {"hair": "three-quarter", "eyebrows": "front", "beard": "three-quarter", "glasses": "three-quarter"}
BASE = {"hair": {"eyebrows": "medium"}, "eyebrows": {"hair": "crop"},
        "beard": {"hair": "crop", "eyebrows": "medium"}, "glasses": {"hair": "crop", "eyebrows": "medium"}}


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    cat = asset_catalogue()
    av = default_avatar()
    objs = build_avatar(av)
    cells = {"toon": [], "pbr": []}
    for kind in ("hair", "eyebrows", "beard", "glasses"):
        for aid, entry in cat[kind].items():
            a = default_avatar()
            a.assets.update({"hair": "bald", "eyebrows": "none", "beard": "none", "glasses": "none"})
            a.assets.update(BASE[kind])
            a.assets[kind] = aid
            update_avatar(objs, a)
            for look in ("toon", "pbr"):
                looks.apply_look(objs, a, look)
                out = ROOT / entry["thumbnail"] if look == "toon" else Path("/tmp") / f"p2a_{kind}_{aid}_pbr.png"
                (png,) = render_avatar(objs, out, size=256, view=VIEW[kind], samples=8 if look == "pbr" else None)
                cells[look].append((f"{kind}: {entry['name']}", png))
            looks.apply_look(objs, a, "toon")
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


if __name__ == "__main__":
    main()
