"""Regenerate the style picker's thumbnails: ``python docs/make_style_thumbnails.py``.

The default avatar with short hair and medium brows in each preset, toon look, 160 px:
``docs/styles/<name>.png`` (shipped in the add-on zip for the style picker).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()

import bpy  # noqa: E402

from blender_addon.avatar_build import build_avatar, update_avatar  # noqa: E402
from blender_addon.render import render_avatar  # noqa: E402
from inference.avatar import default_avatar  # noqa: E402
from rigs.catalogue import style_names  # noqa: E402

OUT = ROOT / "docs" / "styles"


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    OUT.mkdir(parents=True, exist_ok=True)
    av = default_avatar()
    objs = build_avatar(av)
    for name in style_names():
        if name == "exemplar":
            continue
        a = av.copy()
        a.style = {"name": name, "strength": 1.0}
        update_avatar(objs, a)
        print(*render_avatar(objs, OUT / f"{name}.png", size=160))


if __name__ == "__main__":
    main()
