"""Avatar-engine speed: one JSON line of figures.

rig-asset load, build_avatar, update_avatar (shape change; colour change; switching
one asset; switching three at once) and 512^2 render time per engine. The reference formulation for an update is a full rebuild in the
same run: ``update_vs_rebuild`` is the ratio (lower is better). Run:
``.venv/bin/python benchmarks/bench_engine.py [--eevee] [--repeat N]``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()


def _median_time(fn, repeat):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--eevee", action="store_true", help="also time Eevee (20-40 s a frame here)")
    args = ap.parse_args(argv)

    import bpy
    from blender_addon import looks
    from blender_addon.avatar_build import build_avatar, update_avatar
    from blender_addon.render import render_avatar
    from inference.avatar import default_avatar
    from rigs import rig_asset

    out: dict[str, float | str] = {"bench": "engine"}
    t = time.perf_counter()
    rig_asset.load_rig.cache_clear()
    rig = rig_asset.load_rig()
    out["rig_load_s"] = time.perf_counter() - t

    def build():
        bpy.ops.wm.read_factory_settings(use_empty=True)
        return build_avatar(default_avatar(), rig=rig)
    out["build_avatar_s"] = _median_time(build, args.repeat)

    objs = build()
    avs = []
    for i in range(args.repeat * 2):
        av = default_avatar()
        av.shape["eye_spacing"] = (-1) ** i * 0.5
        av.shape["nose_width"] = 0.1 * i
        avs.append(av)
    it = iter(avs)
    out["update_shape_s"] = _median_time(lambda: update_avatar(objs, next(it), rig=rig), len(avs))
    col = []
    for i in range(args.repeat * 2):
        av = objs.avatar()
        av.colors["skin"] = ["#c68642", "#8d5524"][i % 2]
        col.append(av)
    it = iter(col)
    out["update_colour_s"] = _median_time(lambda: update_avatar(objs, next(it), rig=rig), len(col))
    out["update_vs_rebuild"] = out["update_shape_s"] / out["build_avatar_s"]
    # switching assets (target <= 0.15 s): cycle hair, beard and glasses styles
    from rigs.catalogue import asset_catalogue
    cat = asset_catalogue()
    hair = [h for h in cat["hair"] if h != "bald"]
    beard = [b for b in cat["beard"] if b != "none"]
    glasses = [g for g in cat["glasses"] if g != "none"]
    switches = []
    for i in range(max(len(hair), 2 * args.repeat)):
        av = objs.avatar()
        av.assets.update(hair=hair[i % len(hair)], beard=beard[i % len(beard)], glasses=glasses[i % len(glasses)])
        switches.append(av)
    it = iter(switches)
    out["update_asset_switch_s"] = _median_time(lambda: update_avatar(objs, next(it), rig=rig), len(switches))
    single = []
    for i in range(len(hair)):
        av = objs.avatar()
        av.assets["hair"] = hair[i]
        single.append(av)
    it = iter(single)
    out["update_hair_switch_s"] = _median_time(lambda: update_avatar(objs, next(it), rig=rig), len(single))

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "r.png"
        engines = [("cycles_toon", "CYCLES", "toon"), ("workbench", "BLENDER_WORKBENCH", "toon"),
                   ("cycles_pbr", "CYCLES", "pbr")]
        if args.eevee:
            engines.append(("eevee_pbr", "BLENDER_EEVEE", "pbr"))
        for key, engine, look in engines:
            looks.apply_look(objs, objs.avatar(), look)
            render_avatar(objs, png, size=512, engine=engine)  # warm-up (kernels, shaders)
            out[f"render_512_{key}_s"] = _median_time(
                lambda: render_avatar(objs, png, size=512, engine=engine),
                1 if engine == "BLENDER_EEVEE" else max(1, args.repeat // 2))
    out.update({k: round(v, 4) for k, v in out.items() if isinstance(v, float)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
