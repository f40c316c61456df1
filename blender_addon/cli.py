"""``photo2avatar`` command line (headless, bpy module).

Commands available now:

* ``demo -o DIR``: build the default avatar, render it in both looks, save .blend and .glb.
* ``render AVATAR_JSON -o PNG``: render an (edited) avatar.json.

Errors for a person print one line to stderr and exit with the code of
:mod:`inference.errors`; an existing output is kept unless ``--force``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from inference.errors import OutputExists, UserError

LOOK_CHOICES = ("toon", "pbr")
VIEW_CHOICES = ("front", "three-quarter", "turntable")
ENGINE_CHOICES = {"cycles": "CYCLES", "workbench": "BLENDER_WORKBENCH", "eevee": "BLENDER_EEVEE"}


def _fresh_scene():
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def _check_output(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise OutputExists(f"{path} already exists; pass --force to replace it")


def cmd_render(args) -> int:
    from inference.avatar import load_avatar
    from .avatar_build import build_avatar
    from .render import render_avatar

    out = Path(args.output)
    _check_output(out, args.force)
    avatar = load_avatar(args.avatar)
    _fresh_scene()
    objs = build_avatar(avatar, look=args.look)
    files = render_avatar(objs, out, size=args.size, engine=ENGINE_CHOICES[args.engine],
                          view=args.view, transparent=args.transparent)
    for f in files:
        print(f)
    return 0


def cmd_demo(args) -> int:
    from inference.avatar import default_avatar, save_avatar
    from . import looks
    from .avatar_build import build_avatar
    from .export import export_glb, save_blend
    from .render import render_avatar

    out = Path(args.output)
    _check_output(out, args.force)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    timings = {}
    try:
        t = time.perf_counter()
        avatar = default_avatar()
        _fresh_scene()
        objs = build_avatar(avatar, look="toon")
        timings["build_s"] = time.perf_counter() - t
        save_avatar(avatar, stage / "avatar.json")
        t = time.perf_counter()
        render_avatar(objs, stage / "render.png", size=args.size)
        render_avatar(objs, stage / "render_three_quarter.png", size=args.size, view="three-quarter")
        looks.apply_look(objs, avatar, "pbr")
        render_avatar(objs, stage / "render_pbr.png", size=args.size)
        looks.apply_look(objs, avatar, "toon")
        timings["render_s"] = time.perf_counter() - t
        t = time.perf_counter()
        save_blend(stage / "avatar.blend")
        export_glb(objs, stage / "avatar.glb")
        timings["export_s"] = time.perf_counter() - t
        (stage / "report.json").write_text(json.dumps({"timings": timings, "warnings": []}, indent=1))
        if out.exists():
            shutil.rmtree(out)
        stage.rename(out)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
    for f in sorted(out.iterdir()):
        print(f)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="photo2avatar", description="Face photo to rigged 3D avatar.")
    sub = ap.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="build and render the default avatar, save .blend/.glb")
    d.add_argument("-o", "--output", default="out/demo", help="output folder (default out/demo)")
    d.add_argument("--size", type=int, default=512)
    d.add_argument("--force", action="store_true", help="replace an existing output folder")
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("render", help="render an avatar.json to PNG")
    r.add_argument("avatar", help="avatar.json")
    r.add_argument("-o", "--output", required=True, help="PNG path (turntable: frame stem)")
    r.add_argument("--look", choices=LOOK_CHOICES, default="toon")
    r.add_argument("--size", type=int, default=512)
    r.add_argument("--view", choices=VIEW_CHOICES, default="front")
    r.add_argument("--engine", choices=sorted(ENGINE_CHOICES), default="cycles")
    r.add_argument("--transparent", action="store_true", help="transparent background")
    r.add_argument("--force", action="store_true", help="replace an existing file")
    r.set_defaults(func=cmd_render)
    return ap


def main(argv: list[str] | None = None) -> int:
    from .environment import contain_caches
    contain_caches()      # before the first `import bpy`
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"photo2avatar: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
