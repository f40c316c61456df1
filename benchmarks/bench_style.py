"""Style deformation speed and quality: one JSON line of figures.

Ours: the Laplacian deformation energy of ``inference/deform.py`` solved exactly by one
back-substitution with the rig's prefactored sparse LU (the factorisation is timed
separately: once per rig). Reference in the same run: the seed's formulation (seed 002,
Sec 4.2), Adam on the same energy from zero offsets, with the seed's learning rate 0.01
and with a tuned 1e-4, each run until it comes within 0.1 % of the optimum energy or
hits ``--adam-iters``. Reported: energies, landmark error, times and the speed ratio.
Also the whole style step (handle targets + solve + re-seating eyes and teeth) per preset.
Targets: solve <= 20 ms, whole style step <= 50 ms, >= 50x faster than Adam at equal or
lower residual.
Run: ``.venv/bin/python benchmarks/bench_style.py [--adam-iters N]``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _adam(deformer, targets, lr, iters, goal):
    import torch
    torch.set_num_threads(2)
    lap = deformer.laplacian.tocoo()
    L = torch.sparse_coo_tensor(np.vstack([lap.row, lap.col]), lap.data, lap.shape, dtype=torch.float64)
    idx = torch.as_tensor(deformer.local)
    w = torch.as_tensor(deformer.handles.weight)[:, None]
    d = torch.as_tensor(targets)
    u = torch.zeros((len(deformer.head_ids), 3), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([u], lr=lr)
    t = time.perf_counter()
    energy = None
    for it in range(1, iters + 1):
        opt.zero_grad()
        e = (w * (u[idx] - d) ** 2).sum() + deformer.alpha * (torch.sparse.mm(L, u) ** 2).sum()
        energy = e.item()
        if energy <= goal:
            break
        e.backward()
        opt.step()
    return time.perf_counter() - t, it, energy, u.detach().numpy()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--adam-iters", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)
    from inference.avatar import default_avatar
    from inference.deform import HeadDeformer
    from inference.styles import handle_targets, stylize
    from rigs.rig_asset import load_rig

    rig = load_rig()
    t = time.perf_counter()
    deformer = HeadDeformer(rig)
    out: dict = {"bench": "style", "head_vertices": len(deformer.head_ids), "handles": len(deformer.local),
                 "factorise_s": time.perf_counter() - t}
    av = default_avatar()
    av.style = {"name": "chibi", "strength": 1.0}
    verts = rig.deformed({})
    import inference.deform as deform_module
    deform_module.head_deformer.cache_clear()
    deform_module.head_deformer()            # warm: the styles module uses the cached one
    stylize(av)
    targets = handle_targets(av, verts, deformer)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        u = deformer.solve(targets)
        times.append(time.perf_counter() - t)
    e_star = deformer.energy(u, targets)
    lm = deformer.handles.kind == 0
    lm_err = lambda x: float(np.linalg.norm(x[deformer.local][lm] - targets[lm], axis=1).max())  # noqa: E731
    out.update({"solve_ms": 1000 * statistics.median(times), "energy": e_star, "landmark_err_mm": 1000 * lm_err(u)})
    for name in ("cartoon", "chibi", "caricature"):
        av.style = {"name": name, "strength": 1.0}
        av.shape = {"jaw_width": -0.4, "nose_width": 0.5}
        ts = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            stylize(av)
            ts.append(time.perf_counter() - t)
        out[f"style_step_ms_{name}"] = 1000 * statistics.median(ts)
    for label, lr in (("adam_lr0.01", 0.01), ("adam_lr1e-4", 1e-4)):
        s, it, e, ua = _adam(deformer, targets, lr, args.adam_iters, e_star * 1.001)
        out.update({f"{label}_s": s, f"{label}_iters": it, f"{label}_energy": e,
                    f"{label}_landmark_err_mm": 1000 * lm_err(ua),
                    f"{label}_reached_optimum": bool(e <= e_star * 1.001),
                    f"speedup_vs_{label}": s / (out["solve_ms"] / 1000)})
    print(json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
