"""Fit head pose, expression and identity shape to MediaPipe landmarks.

Model. The rig's landmark points are linear in every blendshape weight (see
``LandmarkCorrespondence.matrix``)::

    X(c) = X0 + sum_k c_k B_k          (478, 3) rig metres, Z up, face toward -Y

and MediaPipe's points ``P`` (pixels, x right, y down, z away from the camera at the
scale of x) are a scaled orthographic view of them: ``P ~ s R M X(c) + t`` with
``M: (x, y, z) -> (x, -z, y)`` turning rig axes into camera axes.

Solve. Alternate (a) the similarity (s, R, t) by weighted Umeyama, and (b) the
coefficients by bounded, regularised linear least squares (``scipy.optimize.lsq_linear``)
on the camera-space residual, depth down-weighted. Identity sliders use one variable per
side (incr/decr in [0, 1]) with a prior toward the mean face; ARKit expressions use one
variable per left/right pair (a neutral-ish photo has no reason to be asymmetric, and
free halves soak up pose error). Face-oval points slide along the silhouette, so they get
a low weight; iris points move with the eyeballs, not the skin, and are left out.

Expression normalization (AgileAvatar Sec 3.2, done in 3D): the fitted expression is
reported and dropped; the avatar keeps only the identity sliders.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from rigs.arkit import ARKIT_NAMES
from rigs.catalogue import shape_catalogue
from rigs.rig_asset import load_correspondence, load_rig

M_RIG_TO_CAM = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
CONTOUR_WEIGHT = 0.3
BROW_WEIGHT = 6.0        # brows are few among 478 points but decide much of a face's look
DEPTH_WEIGHT = 0.25
SHAPE_PRIOR = 4e-4       # metres of landmark residual one unit of slider costs (x sqrt(n))
EXPR_PRIOR = 1.5e-3
# expressions portraits show. Left out: gaze, sideways jaw/mouth, the tongue, and the brow
# and nose-sneer units, which would otherwise explain brow height and nose shape (identity)
EXPR_USED = ("eyeBlink", "eyeSquint", "eyeWide", "jawOpen", "jawForward", "mouthClose", "mouthFunnel",
             "mouthPucker", "mouthSmile", "mouthFrown", "mouthDimple", "mouthStretch", "mouthRollLower",
             "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPress", "mouthLowerDown",
             "mouthUpperUp", "cheekPuff", "cheekSquint")
UNOBSERVED_GROUPS = ("ears", "neck")   # no landmark lies on them: their sliders stay at the prior


@dataclass
class FitResult:
    shape: dict[str, float]            # catalogue slider values
    expression: dict[str, float]       # ARKit weights explaining the photo (removed from the avatar)
    scale: float                       # pixels per rig metre
    rotation: np.ndarray               # (3, 3) camera-from-rig (after M_RIG_TO_CAM)
    translation: np.ndarray            # (3,) pixels
    yaw_pitch_roll: tuple[float, float, float]   # degrees
    residual_px: float                 # median landmark residual (x, y), pixels
    residual_norm: float               # the same divided by the outer-eye distance

    def project(self, points_rig: np.ndarray) -> np.ndarray:
        """(n, 3) rig points -> (n, 2) photo pixels under the fitted camera."""
        cam = self.scale * (points_rig @ M_RIG_TO_CAM.T) @ self.rotation.T + self.translation
        return cam[:, :2]


@dataclass(frozen=True)
class LandmarkModel:
    """X0 and the per-variable landmark bases, built once from the rig."""
    x0: np.ndarray                     # (478, 3)
    basis: np.ndarray                  # (V, 478, 3)
    names: tuple[str, ...]             # variable names: "<param>+", "<param>-", "<param>", "expr:<name>"
    n_shape: int
    weights: np.ndarray                # (478,) landmark weights


@functools.lru_cache(maxsize=1)
def landmark_model() -> LandmarkModel:
    rig = load_rig()
    corr = load_correspondence()
    x0 = corr.points(rig.verts)

    def lm(targets):
        d = np.zeros_like(rig.verts)
        for t in targets:
            idx, dd = rig.target(t)
            d[idx] += dd
        return corr.points(d)

    names, basis = [], []
    for p in shape_catalogue():
        if p.group in UNOBSERVED_GROUPS:
            continue
        if p.min < 0:
            names += [f"{p.name}+", f"{p.name}-"]
            basis += [lm(p.incr), lm(p.decr)]
        else:
            names.append(p.name)
            basis.append(lm(p.incr))
    n_shape = len(names)
    for stem in EXPR_USED:
        members = [n for n in ARKIT_NAMES if n == stem or n in (f"{stem}Left", f"{stem}Right")]
        names.append("expr:" + stem)
        basis.append(lm([f"arkit/{n}" for n in members]))
    from inference.landmarks import landmark_sets
    sets = landmark_sets()
    w = np.ones(len(x0))
    w[np.r_[sets["left_eyebrow"], sets["right_eyebrow"]]] = BROW_WEIGHT
    w[corr.contour] = CONTOUR_WEIGHT
    w[468:] = 0.0      # iris
    w[~corr.valid] = 0.0
    return LandmarkModel(x0, np.array(basis), tuple(names), n_shape, w)


def umeyama(src: np.ndarray, dst: np.ndarray, w: np.ndarray):
    """Weighted similarity (s, R, t) minimising sum w |s R src + t - dst|^2 (Umeyama 1991)."""
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    cov = (b * w[:, None]).T @ a
    u, d, vt = np.linalg.svd(cov)
    sgn = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sgn[-1] = -1
    r = u @ np.diag(sgn) @ vt
    var = (w * (a ** 2).sum(1)).sum()
    s = float((d * sgn).sum() / var)
    return s, r, mu_d - s * r @ mu_s


def fit_landmarks(points: np.ndarray, iterations: int = 5, shape_prior: float = SHAPE_PRIOR,
                  expr_prior: float = EXPR_PRIOR) -> FitResult:
    """Fit pose, expression and shape to (478, 3) MediaPipe points (pixels)."""
    from scipy.optimize import lsq_linear

    model = landmark_model()
    w = model.weights
    keep = w > 0
    nv = len(model.names)
    c = np.zeros(nv)
    basis_cam = model.basis @ M_RIG_TO_CAM.T           # (V, 478, 3) in camera axes (metres)
    x0_cam = model.x0 @ M_RIG_TO_CAM.T
    sw = np.sqrt(w[keep])[:, None] * np.array([1.0, 1.0, DEPTH_WEIGHT])
    n_eff = np.sqrt(keep.sum())
    prior = np.r_[np.full(model.n_shape, shape_prior), np.full(nv - model.n_shape, expr_prior)] * n_eff
    for _ in range(iterations):
        x = x0_cam + np.tensordot(c, basis_cam, axes=1)
        s, r, t = umeyama(x[keep], points[keep], w[keep])
        target = ((points - t) @ r) / s                  # photo points in camera-axis metres
        a = (basis_cam[:, keep] * sw).reshape(nv, -1).T  # (3n, V)
        b = ((target[keep] - x0_cam[keep]) * sw).ravel()
        a = np.vstack([a, np.diag(prior)])
        b = np.r_[b, np.zeros(nv)]
        c = lsq_linear(a, b, bounds=(0.0, 1.0), method="bvls").x
    x = x0_cam + np.tensordot(c, basis_cam, axes=1)
    s, r, t = umeyama(x[keep], points[keep], w[keep])
    pred = s * x @ r.T + t
    res = np.linalg.norm(pred[keep, :2] - points[keep, :2], axis=1)
    iod = np.linalg.norm(points[33, :2] - points[263, :2])
    shape = {}
    for p in shape_catalogue():
        if p.group in UNOBSERVED_GROUPS:
            shape[p.name] = p.default
        elif p.min < 0:
            shape[p.name] = float(c[model.names.index(f"{p.name}+")] - c[model.names.index(f"{p.name}-")])
        else:
            shape[p.name] = float(c[model.names.index(p.name)])
    expression = {}
    for name, v in zip(model.names[model.n_shape:], c[model.n_shape:]):
        stem = name[5:]
        members = [n for n in ARKIT_NAMES if n == stem or n in (f"{stem}Left", f"{stem}Right")]
        for m in members:
            expression[m] = float(v)
    return FitResult(shape, expression, s, r, t, _euler(r), float(np.median(res)), float(np.median(res) / iod))


def _euler(r: np.ndarray) -> tuple[float, float, float]:
    """Yaw (turn about the vertical), pitch (nod), roll of a camera-from-rig rotation, degrees."""
    yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1, 1)))
    pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return float(yaw), float(pitch), float(roll)
