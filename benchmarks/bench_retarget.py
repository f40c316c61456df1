"""Expression retargeting speed: one JSON line.

The per-frame expression solve (pose + 43 ARKit channels by bounded least squares) is
timed against the full photo fit of ``inference.fit`` (identity + expression, five
alternations) on the same landmarks, and the whole frame loop (MediaPipe landmarks +
solve) on the sample photos played as a clip. Targets: solve >= 200 frames/s; video
faster than real time at 30 fps.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import numpy as np
    from PIL import Image
    from inference.expression_solve import ExpressionSolver
    from inference.fit import fit_landmarks
    from inference.landmarks import LandmarkDetector

    frames = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((ROOT / "samples/photos").glob("*.jpg"))]
    with LandmarkDetector(max_faces=1) as det:
        det.detect(frames[0])
        t = time.perf_counter()
        pts = [det.detect(f)[0].points for f in frames]
        landmarks_s = (time.perf_counter() - t) / len(frames)
    solver = ExpressionSolver()
    solver.solve(pts[0])
    reps = 20
    t = time.perf_counter()
    for _ in range(reps):
        for p in pts:
            solver.solve(p)
    solve_s = (time.perf_counter() - t) / (reps * len(pts))
    t = time.perf_counter()
    for p in pts:
        fit_landmarks(p)
    fit_s = (time.perf_counter() - t) / len(pts)
    out = {"bench": "retarget", "solve_fps": 1 / solve_s, "photo_fit_fps": 1 / fit_s,
           "solve_vs_photo_fit_speedup": fit_s / solve_s, "landmarks_ms_per_frame": landmarks_s * 1000,
           "video_fps_with_landmarks": 1 / (solve_s + landmarks_s)}
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}))


if __name__ == "__main__":
    main()
