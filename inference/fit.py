"""Fit head pose, expression and identity shape to MediaPipe landmarks.

Model. The rig's landmark points are linear in every blendshape weight (see
``LandmarkCorrespondence.matrix``)::

    X(c) = X0 + sum_k c_k B_k          (478, 3) rig metres, Z up, face toward -Y

MediaPipe does not read a render of the rig at exactly those points (an offset that
depends on the worn assets, and about 0.6 of each slider's movement), so the fit
uses what MediaPipe is predicted to read on the avatar's render (``rigs/data/
landmark_reading.npz``, learned from renders by ``training.reading_model``)::

    R(c) = X(c) + D0 + sum_k c_k D_k + sum over the worn assets of offset[asset]

and finds the avatar whose render reads like the photo. MediaPipe's points ``P``
(pixels, x right, y down) are a scaled orthographic view: ``P ~ s R M X(c) + t`` with
``M: (x, y, z) -> (x, -z, y)`` turning rig axes into camera axes. MediaPipe's own depth
column follows its face template rather than the face and is not used.

Solve. Alternate (a) the pose from the image coordinates (:func:`pose_2d`) and (b) the
coefficients by bounded, regularised linear least squares (``scipy.optimize.lsq_linear``)
on the image-plane residual. Identity sliders use one variable per side (incr/decr in
[0, 1]) with a prior toward the mean face; ARKit expressions use one variable per
left/right pair (a neutral-ish photo has no reason to be asymmetric, and free halves soak
up pose error). Face-oval points slide along the silhouette, so they get a low weight;
iris points move with the eyeballs, not the skin, and are left out.

Expression normalization (AgileAvatar Sec 3.2, done in 3D): the fitted expression is
reported and dropped; the avatar keeps only the identity sliders.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from rigs.arkit import ARKIT_NAMES
from rigs.catalogue import shape_catalogue
from rigs.rig_asset import DATA_DIR, load_correspondence, load_rig

M_RIG_TO_CAM = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
CONTOUR_WEIGHT = 0.3
BROW_WEIGHT = 6.0        # brows are few among 478 points but decide much of a face's look
DEPTH_WEIGHT = 0.25      # MediaPipe's depth column in the registration, trusted less than x, y
REGISTRATION_PRIOR = 4e-4   # metres of landmark residual one unit of slider costs (x sqrt(n))
REGISTRATION_EXPR_PRIOR = 1.5e-3
# MediaPipe reads about 0.6 of a slider's movement on renders (training.reading_model):
# the same balance of data and prior for the reading takes 0.6 of the registration's prior
SHAPE_PRIOR = 2.5e-4
# a smile made on the rig is recovered as 0.70 smile (0.36 at the registration's 1.5e-3,
# the rest going to mouth_corners), while identity mouths, eyes, lips and jaws still come
# back with no expression (tests/test_photo_pipeline.py)
EXPR_PRIOR = 4e-4
# expressions portraits show. Left out: gaze, sideways jaw/mouth, the tongue, and the brow
# and nose-sneer units, which would otherwise explain brow height and nose shape (identity)
EXPR_USED = ("eyeBlink", "eyeSquint", "eyeWide", "jawOpen", "jawForward", "mouthClose", "mouthFunnel",
             "mouthPucker", "mouthSmile", "mouthFrown", "mouthDimple", "mouthStretch", "mouthRollLower",
             "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPress", "mouthLowerDown",
             "mouthUpperUp", "cheekPuff", "cheekSquint")
# a skull point seen in the photo's outline (the top of the head, inference.head_outline)
# weighs as much as this many landmarks: it alone sets the cranium's height (which moves no
# landmark) and leans on the head-shape sliders that also raise or point the cranium
OUTLINE_WEIGHT = 25.0
UNOBSERVED_GROUPS = ("ears", "neck")   # no landmark lies on them: their sliders stay at the prior
# Sliders that reshape the cranium far more than anything a landmark sees: per unit, the
# triangular head narrows the cranium 4-8 cm above the eyes by 18.5 mm and the diamond head by
# 14.3 mm, while the fitted landmarks move 1.3 and 0.6 mm (weighted rms; the other head shapes
# change the cranium at most 9 times what the landmarks see, these 14 and 24 times). Fitted,
# they took values up to 0.8 from the face's outline alone and gave short-haired men pointed
# heads; the likeness fit holds them at the mean (the sample photos' silhouette IoU
# 0.842 -> 0.860, landmark NME unchanged).
CRANIUM_ONLY = ("head_shape_triangular", "head_shape_diamond")


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


READING_PATH = DATA_DIR / "landmark_reading.npz"


@dataclass(frozen=True)
class LandmarkModel:
    """X0 and the per-variable landmark bases, built once from the rig."""
    x0: np.ndarray                     # (478, 3)
    basis: np.ndarray                  # (V, 478, 3)
    names: tuple[str, ...]             # variable names: "<param>+", "<param>-", "<param>", "expr:<name>"
    n_shape: int
    weights: np.ndarray                # (478,) landmark weights
    targets: tuple = ()                # per variable: the rig targets it sums


@dataclass(frozen=True)
class LandmarkReading:
    """The same points as MediaPipe reads them on the avatar's render (what the fit uses)."""
    read_x0: np.ndarray                # (478, 3) reading of the mean head (average assets)
    read_basis: np.ndarray             # (V, 478, 3)
    asset_offsets: dict                # {("hair", id): (478, 3), ("beard", id): ...}

    def reading_x0(self, assets: dict | None = None) -> np.ndarray:
        """The reading of the mean head wearing ``assets`` (hair, eyebrows, beard, glasses;
        a kind left out: the average over the training renders)."""
        x = self.read_x0
        for kind, asset_id in (assets or {}).items():
            off = self.asset_offsets.get((kind, asset_id))
            if off is not None:
                x = x + off
        return x


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

    names, targets = [], []
    for p in shape_catalogue():
        if p.group in UNOBSERVED_GROUPS:
            continue
        if p.min < 0:
            names += [f"{p.name}+", f"{p.name}-"]
            targets += [tuple(p.incr), tuple(p.decr)]
        else:
            names.append(p.name)
            targets.append(tuple(p.incr))
    n_shape = len(names)
    for stem in EXPR_USED:
        members = [n for n in ARKIT_NAMES if n == stem or n in (f"{stem}Left", f"{stem}Right")]
        names.append("expr:" + stem)
        targets.append(tuple(f"arkit/{n}" for n in members))
    basis = [lm(t) for t in targets]
    from inference.landmarks import landmark_sets
    sets = landmark_sets()
    w = np.ones(len(x0))
    w[np.r_[sets["left_eyebrow"], sets["right_eyebrow"]]] = BROW_WEIGHT
    w[corr.contour] = CONTOUR_WEIGHT
    w[468:] = 0.0      # iris
    w[~corr.valid] = 0.0
    return LandmarkModel(x0, np.array(basis), tuple(names), n_shape, w, tuple(targets))


@functools.lru_cache(maxsize=64)
def vertex_basis(vertex: int) -> tuple[np.ndarray, np.ndarray]:
    """(rest position (3,), per-variable displacement (V, 3)) of one rig vertex, in the
    landmark model's variable order: a point the fit can observe besides the landmarks."""
    rig = load_rig()
    out = np.zeros((len(landmark_model().targets), 3))
    for i, targets in enumerate(landmark_model().targets):
        for t in targets:
            idx, dd = rig.target(t)
            hit = np.flatnonzero(idx == vertex)
            if len(hit):
                out[i] += dd[hit[0]]
    return rig.verts[vertex].copy(), out


@functools.lru_cache(maxsize=1)
def landmark_reading() -> LandmarkReading:
    """The rig's landmark model with the learned reading of renders applied."""
    model = landmark_model()
    x0, basis, shape_names = model.x0, model.basis, model.names[:model.n_shape]
    if not READING_PATH.exists():
        raise FileNotFoundError(f"{READING_PATH} is missing: run `python -m training.reading_model`")
    with np.load(READING_PATH, allow_pickle=False) as z:
        if tuple(str(n) for n in z["variables"]) != shape_names:
            raise ValueError(f"{READING_PATH.name} was learned for other sliders: "
                             "run `python -m training.reading_model`")
        read_basis = basis.copy()
        read_basis[:len(shape_names)] += z["basis_delta"]
        offsets = {(str(k), str(i)): o for k, i, o in zip(z["asset_kind"], z["asset_id"], z["asset_offset"])}
        return LandmarkReading(x0 + z["offset"], read_basis, offsets)


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


def pose_2d(x: np.ndarray, pts: np.ndarray, w: np.ndarray, refine: int = 8):
    """Scaled-orthographic pose (s, R, t) with ``s R x + t ~ pts`` that fits the image
    coordinates of ``pts`` only (its third column is ignored and comes back as the
    predicted depth). MediaPipe's depth follows its own face template, not the face, and
    tilts Umeyama's 3D pose by several degrees; so: an affine camera by weighted least
    squares, made a scaled rotation, then alternating Umeyama with the depths the current
    pose predicts (each step lowers the image-plane residual)."""
    sw = w / w.sum()
    mx, mp = sw @ x, sw @ pts[:, :2]
    root = np.sqrt(sw)[:, None]
    a = np.linalg.lstsq((x - mx) * root, (pts[:, :2] - mp) * root, rcond=None)[0].T
    u, d, vt = np.linalg.svd(a, full_matrices=False)
    r2 = u @ vt
    r = np.vstack([r2, np.cross(r2[0], r2[1])])
    s = float(d.mean())
    t = np.r_[mp - s * r[:2] @ mx, 0.0]
    obs = np.c_[pts[:, :2], np.zeros(len(pts))]
    for _ in range(refine):
        obs[:, 2] = (s * x @ r.T + t)[:, 2]
        s, r, t = umeyama(x, obs, w)
    return s, r, t


def fit_landmarks(points: np.ndarray, iterations: int = 5, shape_prior: float = SHAPE_PRIOR,
                  expr_prior: float = EXPR_PRIOR, assets: dict | None = None,
                  outline: list[tuple[int, int, float]] | None = None) -> FitResult:
    """The avatar whose render MediaPipe reads like the photo: pose, expression and
    shape fitted to (478, 2 or 3) MediaPipe points (pixels) through the learned reading
    of renders, in the image plane (MediaPipe's depth column is not used).

    ``assets`` (hair, eyebrows, beard, glasses) selects how MediaPipe will read the
    avatar's render; a kind left out counts as the average. ``outline``: skull points seen
    in the photo's outline, which no landmark observes (:mod:`inference.head_outline`), as
    (rig vertex, image axis, pixels from the rig's outer eye corners' midpoint); each weighs
    as much as :data:`OUTLINE_WEIGHT` landmarks. They are taken relative to the rig's own
    eye corners because the fitted pose places the reading of a render, not the rig."""
    reading = landmark_reading()
    model = landmark_model()
    extra = []
    if outline:
        eyes0, eyes_b = model.x0[[33, 263]].mean(0), model.basis[:, [33, 263]].mean(1)
        for vertex, axis, target in outline:
            x0_v, basis_v = vertex_basis(int(vertex))
            extra.append((x0_v - eyes0, basis_v - eyes_b, float(target), int(axis)))
    held = [i for i, n in enumerate(model.names) if n.rstrip("+-") in CRANIUM_ONLY]
    return _fit(np.asarray(points, dtype=np.float64), reading.reading_x0(assets), reading.read_basis,
                iterations, shape_prior, expr_prior, depth_weight=None, extra=extra, held=held)


def register_landmarks(points: np.ndarray, iterations: int = 5) -> FitResult:
    """Where the rig's own surface lies in the photo: pose, expression and shape fitted to
    MediaPipe's (478, 3) points on the rig's landmark points, depth included (weight
    :data:`DEPTH_WEIGHT`, 3D similarity). For projecting assets and the photo onto the
    rig, not for the avatar's sliders (see :func:`fit_landmarks`)."""
    model = landmark_model()
    return _fit(np.asarray(points, dtype=np.float64), model.x0, model.basis, iterations, REGISTRATION_PRIOR,
                REGISTRATION_EXPR_PRIOR, depth_weight=DEPTH_WEIGHT)


def _fit(points, x0, basis, iterations, shape_prior, expr_prior, depth_weight, extra=(), held=()) -> FitResult:
    """Alternate pose and bounded least squares for the coefficients. ``depth_weight``
    None: 2D pose and image-plane residual; else 3D similarity and a down-weighted depth.
    ``extra``: rig vectors (rest (3,), basis (V, 3), image pixels, axis) observed along one
    image axis each (2D fits, weight :data:`OUTLINE_WEIGHT`); they do not take part in the pose.
    ``held``: variable indices kept at 0."""
    model = landmark_model()
    w = model.weights
    keep = w > 0
    nv = len(model.names)
    c = np.zeros(nv)
    dims = 2 if depth_weight is None else 3
    pts = points[:, :dims]
    basis_cam = basis @ M_RIG_TO_CAM.T                  # (V, 478, 3) in camera axes (metres)
    x0_cam = x0 @ M_RIG_TO_CAM.T
    sw = np.sqrt(w[keep])[:, None] * np.array([1.0, 1.0, depth_weight or 0.0])[:dims]
    n_eff = np.sqrt(keep.sum())
    prior = np.r_[np.full(model.n_shape, shape_prior), np.full(nv - model.n_shape, expr_prior)] * n_eff
    free = np.ones(nv, bool)
    free[list(held)] = False

    def pose(x):
        return pose_2d(x[keep], pts[keep], w[keep]) if dims == 2 else umeyama(x[keep], pts[keep], w[keep])

    for _ in range(iterations):
        x = x0_cam + np.tensordot(c, basis_cam, axes=1)
        s, r, t = pose(x)
        if dims == 2:      # image-plane residual of s R X + t, linear in c, in metres
            a = ((basis_cam[:, keep] @ r.T)[..., :2] * sw).reshape(nv, -1).T    # (2n, V)
            b = ((pts[keep] - (s * x0_cam[keep] @ r.T + t)[:, :2]) / s * sw).ravel()
            ew = np.sqrt(OUTLINE_WEIGHT)
            for p0, pb, target, axis in extra:
                a = np.vstack([a, ((pb @ M_RIG_TO_CAM.T) @ r.T)[:, axis][None] * ew])
                b = np.r_[b, (target - s * ((p0 @ M_RIG_TO_CAM.T) @ r.T)[axis]) / s * ew]
        else:              # the photo's points brought into the rig's camera axes
            target = ((pts - t) @ r) / s
            a = (basis_cam[:, keep] * sw).reshape(nv, -1).T                    # (3n, V)
            b = ((target[keep] - x0_cam[keep]) * sw).ravel()
        c[free] = bounded_ridge(a[:, free], b, prior[free])
    x = x0_cam + np.tensordot(c, basis_cam, axes=1)
    s, r, t = pose(x)
    pred = s * x @ r.T + t
    res = np.linalg.norm(pred[keep, :2] - pts[keep, :2], axis=1)
    iod = np.linalg.norm(pts[33, :2] - pts[263, :2])
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


def bounded_ridge(a: np.ndarray, b: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """argmin |a c - b|^2 + |prior * c|^2 over c in [0, 1]^V. Solved on the (V, V) Cholesky
    factor R of the normal matrix, since |A c - b|^2 = |R c - R^-T A^T b|^2 + const: BVLS
    then works on V rows instead of thousands (same minimiser)."""
    from scipy.linalg import solve_triangular
    from scipy.optimize import lsq_linear
    r = np.linalg.cholesky(a.T @ a + np.diag(prior ** 2)).T
    rhs = solve_triangular(r, a.T @ b, trans="T")
    return lsq_linear(r, rhs, bounds=(0.0, 1.0), method="bvls").x


def _euler(r: np.ndarray) -> tuple[float, float, float]:
    """Yaw (turn about the vertical), pitch (nod), roll of a camera-from-rig rotation, degrees."""
    yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1, 1)))
    pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return float(yaw), float(pitch), float(roll)
