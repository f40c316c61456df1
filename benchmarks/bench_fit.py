"""Photo fit speed: one JSON line.

Both fits of ``inference.fit`` (the registration and the likeness fit, five alternations
of pose and bounded ridge each) on the sample photos' landmarks, timed with the bounded
ridge solved on the Cholesky factor of its normal matrix (``bounded_ridge``, what the
pipeline runs) and with the reference formulation (BVLS on the stacked data + prior
rows). The two give the same minimiser; the benchmark checks that the sliders agree to
1e-6 before reporting the ratio.
Run: ``.venv/bin/python benchmarks/bench_fit.py``.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def stacked_bvls(a, b, prior):
    """Reference: BVLS on the (rows + V, V) stacked system."""
    import numpy as np
    from scipy.optimize import lsq_linear
    return lsq_linear(np.vstack([a, np.diag(prior)]), np.r_[b, np.zeros(len(prior))], bounds=(0.0, 1.0),
                      method="bvls").x


def main() -> None:
    import numpy as np
    from PIL import Image

    import inference.fit as fit
    from inference.landmarks import LandmarkDetector

    photos = sorted((ROOT / "samples/photos").glob("*.jpg"))
    with LandmarkDetector(max_faces=1) as det:
        pts = [det.detect(np.asarray(Image.open(p).convert("RGB")))[0].points for p in photos]
    fit.fit_landmarks(pts[0])                        # load the models once
    fast = fit.bounded_ridge

    def timed(fn, solver):
        fit.bounded_ridge = solver
        times, shapes = [], []
        for p in pts:
            t = time.perf_counter()
            r = fn(p)
            times.append(time.perf_counter() - t)
            shapes.append(np.array(list(r.shape.values())))
        fit.bounded_ridge = fast
        return statistics.median(times), np.array(shapes)

    out = {"bench": "fit", "photos": len(pts)}
    for name, fn in (("likeness", fit.fit_landmarks), ("registration", fit.register_landmarks)):
        t_fast, s_fast = timed(fn, fast)
        t_ref, s_ref = timed(fn, stacked_bvls)
        assert np.abs(s_fast - s_ref).max() < 1e-6, f"{name}: the two solvers disagree"
        out.update({f"{name}_s": round(t_fast, 4), f"{name}_reference_s": round(t_ref, 4),
                    f"{name}_speedup": round(t_ref / t_fast, 2)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
