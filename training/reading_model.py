"""Learn how MediaPipe reads the rig's renders: ``rigs/data/landmark_reading.npz``.

The eval (and a person looking at the avatar) compares MediaPipe's landmarks on the
avatar's render with MediaPipe's landmarks on the photo. MediaPipe does not read a
render at the rig's own landmark points: it reads the default head with an offset
(brows higher, a different forehead line, ~6 degrees of pitch through its depth
template), and it reads about half of a slider's movement (its face prior pulls every
face toward its mean). A fit against the rig's true points therefore finds sliders
whose render MediaPipe does not read as the photo.

This is AgileAvatar's imitator (Sec 3.2, a network that predicts what the graphics
engine renders from the avatar vector) reduced to what the fit needs and made linear:
predict MediaPipe's landmark reading of a render from the slider vector,

    reading(v) = X0 + B v + D0 + D v + sum over hair, eyebrows, beard, glasses of offset[asset]

where ``X0 + B v`` are the rig's landmark points (:func:`inference.fit.landmark_model`,
``v`` the fit's non-negative incr/decr variables) and ``D0, D, offset`` are learned by
ridge regression (shrinking toward the rig's own points) from renders of random avatars:
sliders ~N(0, 0.4) clipped to their ranges, random hair, eyebrows, beard, glasses and
colours, random head pose (yaw +-15, pitch +-8 degrees), the product's toon render at
512 px. Each reading is brought into the rig's frame by the 2D pose that best maps the
true points onto it (:func:`inference.fit.pose_2d`), so pose does not leak into shape.

Run: ``python -m training.reading_model`` (renders once into the cache, ~36 min for 1200
avatars; ``--refit`` reuses the cached renders). Deterministic for a given seed.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "rigs" / "data" / "landmark_reading.npz"
N_SAMPLES = 1200          # ~36 min on 2 cores: strand-shaded hair renders in ~1.7 s a sample
SLIDER_SD = 0.4
SIZE = 512
LAMBDAS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
HAIR_COLOURS = ("#1c1614", "#3b2a20", "#6b4a2e", "#a88456", "#c9c3bd", "#7a3b22")
SKIN_COLOURS = ("#f1c8a8", "#d9a47f", "#b57b58", "#8a5a3c", "#5c3b28")


def _cache_dir() -> Path:
    from blender_addon.environment import cache_dir
    d = cache_dir() / "training"
    d.mkdir(parents=True, exist_ok=True)
    return d


def sample_avatars(n: int, seed: int = 0):
    """``n`` random (Avatar, variable vector v, yaw, pitch)."""
    from inference.avatar import default_avatar
    from inference.fit import landmark_model
    from rigs.catalogue import asset_catalogue, shape_catalogue
    rng = np.random.default_rng(seed)
    model = landmark_model()
    names = model.names[:model.n_shape]
    cat = asset_catalogue()
    out = []
    for _ in range(n):
        av = default_avatar()
        v = np.zeros(len(names))
        for p in shape_catalogue():
            if f"{p.name}+" not in names and p.name not in names:
                continue                       # ears and neck: no landmark sees them
            s = float(np.clip(rng.normal(0.0, SLIDER_SD), p.min, p.max))
            av.shape[p.name] = s
            if f"{p.name}+" in names:
                v[names.index(f"{p.name}+" if s > 0 else f"{p.name}-")] = abs(s)
            else:
                v[names.index(p.name)] = s
        av.assets["hair"] = str(rng.choice(list(cat["hair"])))
        av.assets["eyebrows"] = str(rng.choice([b for b in cat["eyebrows"] if b != "none"]))
        av.assets["beard"] = "none" if rng.random() < 0.6 else str(rng.choice(list(cat["beard"])))
        av.assets["glasses"] = "none" if rng.random() < 0.8 else str(rng.choice(list(cat["glasses"])))
        hair = str(rng.choice(HAIR_COLOURS))
        av.colors.update(hair=hair, eyebrows=hair, skin=str(rng.choice(SKIN_COLOURS)))
        out.append((av, v, float(rng.uniform(-15, 15)), float(rng.uniform(-8, 8))))
    return out


def render_readings(samples, progress=True) -> np.ndarray:
    """MediaPipe's (478, 3) pixel landmarks on each sample's render (NaN: no face)."""
    import bpy
    from PIL import Image

    from blender_addon.avatar_build import build_avatar, update_avatar
    from blender_addon.render import render_avatar
    from inference.landmarks import LandmarkDetector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    objs = build_avatar(samples[0][0])
    tmp = _cache_dir() / "reading_render.png"
    out = np.full((len(samples), 478, 3), np.nan)
    t0 = time.perf_counter()
    with LandmarkDetector(max_faces=1) as det:
        for i, (av, _, yaw, pitch) in enumerate(samples):
            update_avatar(objs, av)
            render_avatar(objs, tmp, size=SIZE, angles=(yaw, pitch))
            faces = det.detect(np.asarray(Image.open(tmp).convert("RGB")))
            if faces:
                out[i] = faces[0].points
            if progress and (i + 1) % 25 == 0:
                el = time.perf_counter() - t0
                print(f"  {i + 1}/{len(samples)} renders, {el:.0f} s", flush=True)
    return out


def _cached_readings(samples, seed: int, reuse: bool) -> np.ndarray:
    """Readings of ``samples`` (the first n of seed's sequence), rendering only those no
    cached run of the same seed holds (``reuse``: trust the cache)."""
    cache = _cache_dir()
    have = np.zeros((0, 478, 3))
    if reuse:
        for f in cache.glob(f"reading_samples_*_{seed}.npy"):
            a = np.load(f, allow_pickle=False)
            if len(a) > len(have):
                have = a
    have = have[:len(samples)]
    if len(have) < len(samples):
        print(f"rendering {len(samples) - len(have)} random avatars...", flush=True)
        have = np.concatenate([have, render_readings(samples[len(have):])])
    np.save(cache / f"reading_samples_{len(samples)}_{seed}.npy", have)
    return have


def to_rig_frame(reading: np.ndarray, truth: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A reading (478, 3 pixels) in the rig's frame: the 2D pose that maps the true points
    onto it is undone; depth (which a front reading cannot tell) is the true points'."""
    from inference.fit import M_RIG_TO_CAM, pose_2d
    cam = truth @ M_RIG_TO_CAM.T
    s, r, t = pose_2d(cam, reading, weights)
    r3 = np.c_[reading[:, :2], (s * cam @ r.T + t)[:, 2]]
    return (((r3 - t) @ r) / s) @ M_RIG_TO_CAM


ASSET_KINDS = ("hair", "eyebrows", "beard", "glasses")


def design(samples, assets: list[tuple[str, str]]) -> np.ndarray:
    """Regression inputs per sample: [1, v, one-hot per (kind, id) of ``assets``], the
    one-hots centred on their training frequency so the intercept is the average reading."""
    onehot = np.array([[av.assets[k] == i for k, i in assets] for av, _, _, _ in samples], float)
    return np.c_[np.ones(len(samples)), np.array([v for _, v, _, _ in samples]), onehot - onehot.mean(0)]


def ridge(a: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """argmin |a w - y|^2 + lam |w[1:]|^2 (the intercept is not shrunk)."""
    reg = np.full(a.shape[1], lam)
    reg[0] = 0.0
    return np.linalg.solve(a.T @ a + np.diag(reg), a.T @ y)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=OUT)
    ap.add_argument("-n", "--samples", type=int, default=N_SAMPLES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--refit", action="store_true", help="reuse the cached renders")
    args = ap.parse_args(argv)
    from blender_addon.environment import contain_caches
    contain_caches()
    from inference.fit import landmark_model
    from rigs.build_rig import write as write_npz
    from rigs.catalogue import asset_catalogue

    model = landmark_model()
    samples = sample_avatars(args.samples, args.seed)
    readings = _cached_readings(samples, args.seed, reuse=args.refit)
    ok = ~np.isnan(readings[:, 0, 0])
    cat = asset_catalogue()
    assets = [(k, i) for k in ASSET_KINDS for i in cat[k] if not (k == "eyebrows" and i == "none")]
    keep = model.weights > 0
    resid = []
    for (_, v, _, _), rd, seen in zip(samples, readings, ok):
        if seen:
            x = model.x0 + np.tensordot(v, model.basis[:model.n_shape], axes=1)
            resid.append((to_rig_frame(rd, x, model.weights + 1e-9) - x).ravel())
    resid = np.array(resid)
    a = design([s for s, k in zip(samples, ok) if k], assets)
    # choose the ridge weight on held-out avatars (the last fifth), then refit on all
    n_train = int(0.8 * len(a))
    iod = np.linalg.norm(model.x0[33] - model.x0[263])

    def err(pred, y):                # mean landmark distance over the fitted points, / eye distance
        d = (pred - y).reshape(len(y), 478, 3)[:, keep][..., [0, 2]]
        return float(np.linalg.norm(d, axis=2).mean() / iod)

    scores = {}
    for lam in LAMBDAS:
        coef = ridge(a[:n_train], resid[:n_train], lam)
        scores[lam] = err(a[n_train:] @ coef, resid[n_train:])
    lam = min(scores, key=scores.get)
    baseline = err(np.zeros_like(resid[n_train:]), resid[n_train:])
    offset_only = err(np.tile(resid[:n_train].mean(0), (len(a) - n_train, 1)), resid[n_train:])
    coef = ridge(a, resid, lam).reshape(a.shape[1], 478, 3)
    nv = model.n_shape
    report = {"samples": int(ok.sum()), "lambda": lam, "heldout_error_over_eye_distance": {
        "rig_points": round(baseline, 4), "offset_only": round(offset_only, 4),
        "learned": round(scores[lam], 4)}, "seed": args.seed}
    print(json.dumps(report))
    write_npz({
        "offset": coef[0].astype(np.float64),
        "basis_delta": coef[1:1 + nv].astype(np.float64),
        "variables": np.array(model.names[:nv]),
        "asset_kind": np.array([k for k, _ in assets]), "asset_id": np.array([i for _, i in assets]),
        "asset_offset": coef[1 + nv:],
        "report": np.array(json.dumps(report)),
    }, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
