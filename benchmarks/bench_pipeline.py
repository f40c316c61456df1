"""Photo -> bundle speed: one JSON line of figures.

Warm backend (models loaded once, one scene reused) over the sample photos: median
seconds per photo for the backend alone and with the 512^2 bundle render, median per
stage; cold CLI (a new process per photo, models and bpy loaded each time) on one photo.
``warm_vs_cold`` is the ratio of the two paths measured in this run; the cartoon preset
(style deformation + palette texture) is timed too. Targets: warm photo -> bundle <= 1.0 s
median without textures, <= 1.5 s with, cold CLI <= 6 s.
Run: ``.venv/bin/python benchmarks/bench_pipeline.py [--cold-runs N]``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold-runs", type=int, default=2)
    args = ap.parse_args(argv)
    from blender_addon.bundle import BundleWriter
    from inference.pipeline import Backend

    photos = sorted((ROOT / "samples" / "photos").glob("*.jpg"))
    out: dict = {"bench": "pipeline", "photos": len(photos)}
    t = time.perf_counter()
    backend = Backend()
    out["backend_startup_s"] = time.perf_counter() - t
    writer = BundleWriter(size=512)
    analyze, total, stages = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        writer.write(backend.analyze(photos[0]), Path(tmp) / "warmup")
        for i, p in enumerate(photos):
            t0 = time.perf_counter()
            a = backend.analyze(p)
            t1 = time.perf_counter()
            writer.write(a, Path(tmp) / f"b{i}")
            t2 = time.perf_counter()
            analyze.append(t1 - t0)
            total.append(t2 - t0)
            for k, v in a.report["timings_s"].items():
                stages.setdefault(k, []).append(v)
        out["warm_backend_s"] = statistics.median(analyze)
        out["warm_photo_to_bundle_s"] = statistics.median(total)
        out["stage_median_s"] = {k: round(statistics.median(v), 4) for k, v in stages.items()}
        styled = []                      # the cartoon preset: deformation + palette texture
        for i, p in enumerate(photos):
            t0 = time.perf_counter()
            writer.write(backend.analyze(p, style="cartoon"), Path(tmp) / f"c{i}")
            styled.append(time.perf_counter() - t0)
        out["warm_photo_to_bundle_cartoon_textured_s"] = statistics.median(styled)
        cold = []
        for i in range(args.cold_runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "blender_addon.cli", "generate", str(photos[i]), "-o",
                            str(Path(tmp) / f"cold{i}"), "-q"], check=True, capture_output=True)
            cold.append(time.perf_counter() - t)
        out["cold_cli_s"] = statistics.median(cold)
    out["warm_vs_cold"] = out["warm_photo_to_bundle_s"] / out["cold_cli_s"]
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
