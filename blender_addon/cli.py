"""``photo2avatar`` command line (headless, bpy module).

* ``generate PHOTO -o OUT_DIR``: photo -> bundle (avatar.json, render.png, report.json, ...).
* ``eval PHOTOS_DIR --labels labels.csv -o OUT_DIR``: the quality metrics, a table, one JSON
  line and a contact sheet.
* ``render AVATAR_JSON -o PNG``: render an (edited) avatar.json.
* ``demo``: generate from the bundled sample photo, with .blend and .glb.
* ``batch PHOTOS_DIR -o OUT_DIR``: every photo in a folder, resumable, with renders,
  exports, ``index.html`` and ``summary.json`` (exit 8 when some photos failed).
* ``apply PHOTO --character IN.blend --object NAME -o OUT.blend [--no-texture] [--arkit]``: the
  photo's face on an artist's own mesh, its texture painted into theirs, optionally with
  ARKit's 52 keys (:mod:`blender_addon.character`).
* ``live [--camera N | --video FILE]``: ARKit weights and head pose per frame as JSON
  lines (:mod:`inference.live_capture`; exit 10 when the camera is missing or busy).

Errors for a person print one line to stderr and exit with the code of
:mod:`inference.errors`; outputs are never left half-written.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from inference.bundle_io import check_writable
from inference.errors import InputError, OutputExists, UsageError, UserError
from inference.native_io import route_native_stderr

LOOK_CHOICES = ("toon", "pbr")
TEXTURE_CHOICES = ("auto", "none", "photo", "fast", "exemplar")
VIEW_CHOICES = ("front", "three-quarter", "turntable")
ENGINE_CHOICES = {"cycles": "CYCLES", "workbench": "BLENDER_WORKBENCH", "eevee": "BLENDER_EEVEE"}
MIN_SIZE, MAX_SIZE = 16, 8192     # what blender_addon.render accepts
SAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "samples" / "photos" / "person_01.jpg"


def _fresh_scene():
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def _check_output(path: Path, force: bool, suffix: str | None = None) -> None:
    """Refuse an output that exists (without ``force``), has the wrong file type for
    what will be written into it, or cannot be written."""
    if suffix is not None and path.suffix.lower() != suffix:
        raise UsageError(f"{path}: this command writes a {suffix} file; give the output that extension")
    if path.exists() and not force:
        raise OutputExists(f"{path} already exists; pass --force to replace it")
    check_writable(path)


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc; None elsewhere): a cold run's time
    before the backend, i.e. Python's start-up and the imports, for report.json."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return None


def _progress_printer(quiet: bool):
    if quiet:
        return None

    def show(fraction: float, message: str) -> None:
        print(f"[{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)
    return show


def cmd_generate(args) -> int:
    from inference.pipeline import Backend
    from .bundle import BundleWriter

    out = Path(args.output)
    _check_output(out, args.force)
    t = time.perf_counter()
    started = process_age_s()            # interpreter start and imports, before any model loads
    backend = Backend()
    analysis = backend.analyze(args.photo, style=args.style, progress=_progress_printer(args.quiet),
                               style_image=args.style_image, texture=args.texture)
    writer = BundleWriter(look=args.look, size=args.size)
    analysis.report["timings_s"]["backend_startup"] = round(backend.startup_s, 4)
    if started is not None:
        analysis.report["timings_s"]["process_start"] = round(started, 4)
    exports = [name for name, on in (("blend", args.blend), ("glb", args.glb)) if on]
    bundle = writer.write(analysis, out, force=args.force, exports=exports)
    for w in analysis.report["warnings"]:
        print(f"photo2avatar: warning: {w}", file=sys.stderr)
    print(bundle)
    if not args.quiet:
        print(f"done in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    args.photo = str(SAMPLE_PHOTO)
    args.style, args.look, args.blend, args.glb, args.quiet = "identity", "toon", True, True, False
    args.style_image, args.texture = None, "auto"
    return cmd_generate(args)


def cmd_render(args) -> int:
    from inference.avatar import load_avatar
    from .avatar_build import build_avatar
    from .render import render_avatar

    out = Path(args.output)
    _check_output(out, args.force, ".png")
    avatar = load_avatar(args.avatar)
    _fresh_scene()
    objs = build_avatar(avatar, look=args.look)
    _apply_bundle_texture(objs, avatar, Path(args.avatar).parent, args.texture_file)
    files = render_avatar(objs, out, size=args.size, engine=ENGINE_CHOICES[args.engine],
                          view=args.view, transparent=args.transparent)
    for f in files:
        print(f)
    return 0


def _apply_bundle_texture(objs, avatar, bundle: Path, texture_file: str | None) -> None:
    """Put the bundle's texture.png (or ``texture_file``; ``none`` for no texture) on the
    head, so a re-render of an edited avatar.json matches the bundle's look."""
    if texture_file == "none":
        return
    path = Path(texture_file) if texture_file else bundle / "texture.png"
    if not path.is_file():
        if texture_file:
            raise InputError(f"{path}: no such texture file")
        return
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    from .looks import set_texture
    try:
        rgb = np.asarray(Image.open(path).convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise InputError(f"{path}: not a readable image ({e})") from None
    set_texture(objs, rgb, avatar)


def cmd_eval(args) -> int:
    from .evaluation import run_eval
    summary = run_eval(Path(args.photos), Path(args.labels) if args.labels else None, Path(args.output),
                       size=args.size, force=args.force, limit=args.limit, texture=args.texture)
    print(json.dumps(summary, allow_nan=False))
    return 0


def _csv_choices(allowed: tuple[str, ...], what: str):
    """argparse type: a comma list of ``allowed`` words (a usage error otherwise)."""
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(t.strip() for t in text.split(",") if t.strip())
        bad = [t for t in items if t not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {what} {bad[0]!r} (choose from {', '.join(allowed)})")
        return items
    return parse


def _bounded(convert, lo, hi, what: str):
    """argparse type: ``convert(text)`` within [lo, hi] (``hi`` None: no upper bound);
    anything else, NaN included, is a usage error saying what was expected."""
    def parse(text: str):
        try:
            x = convert(text)
        except ValueError:
            x = None
        if x is None or not (lo <= x and (hi is None or x <= hi)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return x
    return parse


_positive_int = _bounded(int, 1, None, "a whole number of at least 1")
_unit_interval = _bounded(float, 0.0, 1.0, "a number from 0 to 1")
_render_size = _bounded(int, MIN_SIZE, MAX_SIZE, f"a size in pixels from {MIN_SIZE} to {MAX_SIZE}")


def cmd_batch(args) -> int:
    from inference.batch_plan import BatchSettings
    from .batch import run_batch

    exemplar = ""
    if args.style_image:           # once for the whole batch: every job gets the same warps
        from inference.pipeline import Backend
        backend = Backend()
        exemplar = json.dumps(backend.exemplar(args.style_image), sort_keys=True)
        backend.close()
    check_writable(Path(args.output) / "index.html")
    settings = BatchSettings(style="exemplar" if exemplar else args.style, look=args.look, size=args.size,
                             views=args.render, exports=args.export, exemplar=exemplar, texture=args.texture)
    summary = run_batch(args.photos, args.output, settings, workers=args.workers, ray_address=args.ray,
                        retry_failed=args.retry_failed, quiet=args.quiet)
    if not args.quiet:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in summary.stage_mean_s.items())
        print(f"photo2avatar batch: {summary.ok} made, {summary.skipped} already complete, "
              f"{summary.failed} failed, {summary.skipped_failed} failed before; "
              f"{summary.seconds:.1f} s ({summary.avatars_per_minute:.1f}/min)"
              + (f"; mean s per photo: {stages}" if stages else ""), file=sys.stderr)
        print(f"contact sheet: {Path(args.output) / 'index.html'}", file=sys.stderr)
    print(json.dumps({k: v for k, v in asdict(summary).items() if k != "failures"}))
    return summary.exit_code


def read_track(source: Path, shape: dict, source_object: str | None = None, mapping: str | None = None):
    """An expression track from a Live Link Face CSV, a video, a frame folder or an object's
    shape keys in a .blend (the .blend is opened: call before building the avatar)."""
    from inference.expression_solve import VIDEO_SUFFIXES, track_from_frames
    from inference.expression_track import read_live_link_csv
    from inference.name_mapping import load_table
    table = None
    if mapping:
        try:
            table = load_table(mapping)
        except (OSError, ValueError) as e:
            raise InputError(f"{mapping}: {e}") from None
    if source.suffix.lower() == ".blend":
        import bpy
        from .retarget import track_from_shape_keys
        if not source_object:
            raise UsageError("a .blend source needs --source-object NAME (the object whose shape keys move)")
        if not source.is_file():
            raise InputError(f"{source}: no such file")
        bpy.ops.wm.open_mainfile(filepath=str(source), load_ui=False)
        obj = bpy.data.objects.get(source_object)
        if obj is None:
            raise InputError(f"{source}: no object named {source_object!r}")
        return track_from_shape_keys(obj, table)
    if source.is_dir() or source.suffix.lower() in VIDEO_SUFFIXES:
        return track_from_frames(source, shape)
    return read_live_link_csv(source)


def cmd_retarget(args) -> int:
    from inference.avatar import load_avatar
    from inference.expression_track import load_gains
    from .avatar_build import build_avatar
    from .export import save_blend
    from .retarget import apply_track

    out = Path(args.output)
    _check_output(out, args.force, ".blend")
    src = Path(args.avatar)
    avatar = load_avatar(src / "avatar.json" if src.is_dir() else src)
    gain, offset = load_gains(args.gains) if args.gains else ({}, {})
    track = read_track(Path(args.source), avatar.shape, args.source_object, args.mapping)
    track = track.prepared(args.neutral_frame, gain, offset, args.smoothing)
    scene = _fresh_scene()
    scene.render.fps = args.fps
    objs = build_avatar(avatar)
    _apply_bundle_texture(objs, avatar, src if src.is_dir() else src.parent, None)
    apply_track(objs, track, fps=args.fps)
    save_blend(out)
    print(out)
    return 0


def cmd_apply(args) -> int:
    """Photo -> the artist's own character: its head deformed, topology and rig kept."""
    from inference.pipeline import Backend
    from .character_job import analyse_photo, apply_photo, open_character
    from .export import save_blend
    out, src = Path(args.output), Path(args.character)
    if out.resolve() == src.resolve():
        raise UsageError(f"{out}: the output must be another file than the character's .blend")
    _check_output(out, args.force, ".blend")
    obj = open_character(src, args.object)        # bad input fails before the photo's analysis
    analysis, head_texture = analyse_photo(Backend(), args.photo, args.style, not args.no_texture)
    report = apply_photo(obj, analysis, head_texture, args.arkit)
    save_blend(out)
    print(json.dumps({"output": str(out), **report}))
    return 0


def cmd_live(args) -> int:
    from inference.live_capture import run_args
    return run_args(args)


def _add_avatar_options(p: argparse.ArgumentParser) -> None:
    """Style, look, texture and render size: shared by generate and batch."""
    p.add_argument("--style", default="identity",
                   help="style preset: identity, cartoon, chibi, caricature (default identity)")
    p.add_argument("--style-image", default=None, metavar="PATH",
                   help="a stylized portrait whose geometric exaggeration and palette to apply (style 'exemplar')")
    p.add_argument("--look", choices=LOOK_CHOICES, default="toon")
    p.add_argument("--texture", choices=TEXTURE_CHOICES, default="auto",
                   help="head texture: auto (identity: none; styles: palette-stylized), none, "
                        "photo (projected from the photo), fast (palette-stylized), "
                        "exemplar (multi-view optimisation toward --style-image; ~20 s)")
    p.add_argument("--size", type=_render_size, default=512, help="render size in pixels (default 512)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="photo2avatar", description="Face photo to rigged 3D avatar.")
    sub = ap.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="photo -> avatar bundle")
    g.add_argument("photo", help="a face photo (JPEG, PNG, ...)")
    g.add_argument("-o", "--output", required=True, help="bundle folder to create")
    _add_avatar_options(g)
    g.add_argument("--blend", action="store_true", help="also save avatar.blend")
    g.add_argument("--glb", action="store_true", help="also export avatar.glb")
    g.add_argument("--force", action="store_true", help="replace an existing bundle")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    g.set_defaults(func=cmd_generate)

    d = sub.add_parser("demo", help="generate from the bundled sample photo, with .blend and .glb")
    d.add_argument("-o", "--output", default="out/demo", help="output folder (default out/demo)")
    d.add_argument("--size", type=_render_size, default=512)
    d.add_argument("--force", action="store_true", help="replace an existing output folder")
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("render", help="render an avatar.json to PNG")
    r.add_argument("avatar", help="avatar.json")
    r.add_argument("-o", "--output", required=True, help="PNG path (turntable: frame stem)")
    r.add_argument("--look", choices=LOOK_CHOICES, default="toon")
    r.add_argument("--size", type=_render_size, default=512)
    r.add_argument("--view", choices=VIEW_CHOICES, default="front")
    r.add_argument("--engine", choices=sorted(ENGINE_CHOICES), default="cycles")
    r.add_argument("--transparent", action="store_true", help="transparent background")
    r.add_argument("--texture-file", default=None, metavar="PNG",
                   help="head texture (default: texture.png beside the avatar.json, if any; 'none': no texture)")
    r.add_argument("--force", action="store_true", help="replace an existing file")
    r.set_defaults(func=cmd_render)

    t = sub.add_parser("retarget", help="Live Link Face CSV, video, image folder or another rig -> animated .blend")
    t.add_argument("source", help="Live Link Face CSV, a video file, a folder of frames, or a .blend")
    t.add_argument("--source-object", help="with a .blend source: the object whose shape keys to follow")
    t.add_argument("--mapping", help="JSON table of source channel name -> ARKit name")
    t.add_argument("--gains", help="JSON of per-channel gain (and offset): {\"jawOpen\": 1.3}")
    t.add_argument("--avatar", required=True, help="a bundle folder or an avatar.json")
    t.add_argument("-o", "--output", required=True, help=".blend to write")
    t.add_argument("--fps", type=_positive_int, default=30, help="scene frame rate (default 30)")
    t.add_argument("--smoothing", type=_unit_interval, default=0.3, help="One Euro smoothing 0..1 (default 0.3)")
    t.add_argument("--neutral-frame", type=int, default=None, help="calibrate against this frame")
    t.add_argument("--force", action="store_true", help="replace an existing file")
    t.set_defaults(func=cmd_retarget)

    b = sub.add_parser("batch", help="a folder of photos -> bundles, renders, exports, index.html")
    b.add_argument("photos", help="folder of photos (searched recursively)")
    b.add_argument("-o", "--output", required=True, help="output folder (reruns resume in it)")
    _add_avatar_options(b)
    b.add_argument("--render", type=_csv_choices(VIEW_CHOICES, "render view"), default=("front",),
                   help="comma list of front,three-quarter,turntable (default front)")
    b.add_argument("--export", type=_csv_choices(("blend", "glb"), "export"), default=(),
                   help="comma list of blend,glb")
    b.add_argument("--workers", type=_positive_int, default=1,
                   help="worker processes, each with a warm backend (default 1)")
    b.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run on Ray: a local instance, or the cluster at ADDRESS (auto, ray://host:port)")
    b.add_argument("--retry-failed", action="store_true", help="retry photos that failed before")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    b.set_defaults(func=cmd_batch)

    ap_ = sub.add_parser("apply", help="photo -> your own rigged character's head (any topology) in a .blend")
    ap_.add_argument("photo", help="a face photo")
    ap_.add_argument("--character", required=True, metavar="IN.blend", help="the .blend holding the character")
    ap_.add_argument("--object", required=True, metavar="NAME", help="the mesh object whose head to shape")
    ap_.add_argument("-o", "--output", required=True, metavar="OUT.blend", help=".blend to write (IN is never written)")
    ap_.add_argument("--style", default="identity", help="style preset (default identity)")
    ap_.add_argument("--no-texture", action="store_true",
                     help="shape only: leave their texture as it is (default: the photo's face, stylized by "
                          "--style, is blended into a copy of their base-colour image)")
    ap_.add_argument("--arkit", action="store_true",
                     help="also add the 52 ARKit shape keys (Live Link Face names) so CSV, video and live "
                          "capture drive the character; keys it already has under ARKit names are kept")
    ap_.add_argument("--force", action="store_true", help="replace an existing output")
    ap_.set_defaults(func=cmd_apply)

    lv = sub.add_parser("live", help="camera or video -> ARKit weights and head pose, one JSON line per frame")
    from inference.live_capture import add_arguments as add_live_arguments
    add_live_arguments(lv)
    lv.set_defaults(func=cmd_live)

    e = sub.add_parser("eval", help="quality metrics on a folder of labelled photos")
    e.add_argument("photos", help="folder of photos")
    e.add_argument("--labels", help="labels.csv (default: PHOTOS/labels.csv if present)")
    e.add_argument("-o", "--output", required=True, help="folder for bundles, sheet and metrics")
    e.add_argument("--size", type=_render_size, default=512)
    e.add_argument("--limit", type=_positive_int, default=0, help="only the first N photos")
    e.add_argument("--texture", choices=TEXTURE_CHOICES, default="auto",
                   help="head texture mode of the generated avatars (default auto)")
    e.add_argument("--force", action="store_true", help="replace an existing output folder")
    e.set_defaults(func=cmd_eval)
    return ap


def main(argv: list[str] | None = None, own_process: bool | None = None) -> int:
    """Run one command; ``own_process`` (default: ``argv is None``) lets it re-route fd 2."""
    from .environment import contain_caches
    cache = contain_caches()      # before the first `import bpy`
    if own_process if own_process is not None else argv is None:
        route_native_stderr(cache / "native-stderr.log")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"photo2avatar: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("photo2avatar: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
