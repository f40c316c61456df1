"""Batch throughput: one JSON line of figures.

``photo2avatar batch`` over the sample photos (repeated to ``--photos`` files) with a 512^2
front render, once with 1 worker and once with 2, each in a fresh output folder; wall
time of the whole command (start-up included) -> avatars per minute, and the peak
resident memory of the largest process (the in-process driver for 1 worker, a worker for
2). Reference formulation in the same run: a new ``photo2avatar generate`` process per
photo (what a shell loop does). Target: >= 20 avatars/minute on 2 cores.
Run: ``.venv/bin/python benchmarks/bench_batch.py [--photos N] [--cold-runs N]``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_WRAP = ("import resource,subprocess,sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of the largest process ``cmd`` starts."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _WRAP, *cmd], check=True, capture_output=True, text=True)
    return time.perf_counter() - t, int(out.stdout.strip()) / 1024.0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=26)
    ap.add_argument("--cold-runs", type=int, default=3)
    args = ap.parse_args(argv)
    samples = sorted((ROOT / "samples" / "photos").glob("*.jpg"))
    out: dict = {"bench": "batch", "photos": args.photos, "render": "512 front toon"}
    cli = [sys.executable, "-m", "blender_addon.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        for i in range(args.photos):
            shutil.copy(samples[i % len(samples)], photos / f"p{i:03d}.jpg")
        for workers in (1, 2):
            s, rss = _timed([*cli, "batch", str(photos), "-o", str(Path(tmp) / f"out{workers}"),
                             "--workers", str(workers), "-q"])
            summary = json.loads((Path(tmp) / f"out{workers}" / "summary.json").read_text())
            assert summary["ok"] == args.photos, summary
            out[f"workers{workers}_per_min"] = 60.0 * args.photos / s
            out[f"workers{workers}_peak_rss_mb"] = rss
            out[f"workers{workers}_job_s"] = summary["stage_mean_s"].get("job", 0.0)
        cold = []
        for i in range(args.cold_runs):
            t = time.perf_counter()
            subprocess.run([*cli, "generate", str(samples[i]), "-o", str(Path(tmp) / f"cold{i}"), "-q"],
                           check=True, capture_output=True)
            cold.append(time.perf_counter() - t)
        out["cold_cli_per_min"] = 60.0 * len(cold) / sum(cold)
    out["scaling_1_to_2"] = out["workers2_per_min"] / out["workers1_per_min"]
    out["batch_vs_cold_cli"] = out["workers2_per_min"] / out["cold_cli_per_min"]
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
