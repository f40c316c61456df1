"""Regenerate the README's figures of the default avatar: ``python docs/make_figures.py``.

Writes ``docs/images/default_{toon,pbr}_{front,three_quarter}.png`` and a 2x2 sheet.
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

from blender_addon import looks  # noqa: E402
from blender_addon.avatar_build import build_avatar  # noqa: E402
from blender_addon.render import render_avatar  # noqa: E402
from inference.avatar import default_avatar  # noqa: E402

OUT = ROOT / "docs" / "images"


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    av = default_avatar()
    objs = build_avatar(av)
    files = []
    for look in looks.LOOKS:
        looks.apply_look(objs, av, look)
        for view in ("front", "three-quarter"):
            p = OUT / f"default_{look}_{view.replace('-', '_')}.png"
            files += render_avatar(objs, p, size=512, view=view)
    sheet = Image.new("RGB", (1024, 1024))
    for i, f in enumerate(files):
        sheet.paste(Image.open(f).convert("RGB"), ((i % 2) * 512, (i // 2) * 512))
    sheet.save(OUT / "default_avatar_sheet.png")
    print("\n".join(str(f) for f in files + [OUT / "default_avatar_sheet.png"]))


if __name__ == "__main__":
    main()
