"""Avatar-engine speed: one JSON line of figures.

rig-asset load, build_avatar, update_avatar (shape change; colour change; switching
one asset; switching three at once; the slowest hairstyle to switch to) and 512^2 render
time per engine (and with the heaviest hairstyle). Reference formulations in the same run:
a full rebuild for an update (``update_vs_rebuild``) and a dense per-key evaluation for an
asset's shape keys (``asset_keys_sparse_vs_dense``); ratios, lower is better. Run:
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
    # the slowest style to switch to (target <= 0.15 s), best of a few tries each
    per_style = {}
    for h in hair:
        ts = []
        for _ in range(3):
            av = objs.avatar()
            av.assets["hair"] = "crop" if h != "crop" else "buzz"
            update_avatar(objs, av, rig=rig)
            av.assets["hair"] = h
            t = time.perf_counter()
            update_avatar(objs, av, rig=rig)
            ts.append(time.perf_counter() - t)
        per_style[h] = min(ts)
    worst = max(per_style, key=per_style.get)
    out["hair_switch_worst_s"], out["hair_switch_worst_style"] = per_style[worst], worst
    # the asset's shape keys: one sparse blend matrix for every key vs the reference
    # formulation, a dense gather per key (what attach did before)
    from rigs.arkit import ARKIT_NAMES
    from rigs.asset_library import default_key_basis, load_library
    from rigs.catalogue import shape_key_targets
    basis, asset = default_key_basis(), load_library()[f"hair/{worst}"]
    names = [k for k in shape_key_targets() if k not in ARKIT_NAMES]

    def dense():
        base = asset.att.evaluate(basis.V0, basis.N0)
        return base, [asset.att.evaluate(*basis.shaped(k)[:2]) for k in names]
    out["asset_keys_sparse_s"] = _median_time(lambda: basis.asset_keys(asset, names), args.repeat)
    out["asset_keys_dense_s"] = _median_time(dense, args.repeat)
    out["asset_keys_sparse_vs_dense"] = out["asset_keys_sparse_s"] / out["asset_keys_dense_s"]

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
        # the front toon render with the heaviest hair (target <= 0.5 s)
        av = objs.avatar()
        av.assets["hair"] = max(hair, key=lambda h: load_library()[f"hair/{h}"].n_verts)
        update_avatar(objs, av, rig=rig)
        looks.apply_look(objs, av, "toon")
        render_avatar(objs, png, size=512)
        out["render_512_cycles_toon_heaviest_hair_s"] = _median_time(lambda: render_avatar(objs, png, size=512),
                                                                     max(1, args.repeat // 2))
        out["heaviest_hair"] = av.assets["hair"]
    out.update({k: round(v, 4) for k, v in out.items() if isinstance(v, float)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
