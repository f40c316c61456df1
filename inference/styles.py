"""Geometry styles: presets and exemplars -> landmark translation -> head deformation.

A style (``rigs/styles/<name>.json``) has a geometry part and a shading part. The
geometry part moves the deformation's handles (:mod:`inference.deform`) and the Laplacian
solve carries the rest of the head along (seed 002, Sec 4):

* ``ops``: smooth local warps, each a scale about a region's centre and/or a translation,
  full inside ``radius[0]`` and fading to nothing at ``radius[1]`` (metres). Regions are
  MediaPipe landmark groups on the person's own head (eyes, nose, lips, brows, chin, jaw)
  and the cranium, so a preset adapts to the face it is applied to.
* ``exaggerate``: caricature; every handle moves by ``factor`` times its deviation from
  the mean face, so the person's own features grow.
* exemplars (``--style-image``): content = the normal face, style = the exaggeration
  beyond it (Sec 4.1), in a PCA space of landmark shapes (``training/style_space.py``).
  The exemplar's landmarks are frontalized with a fit of the rig (pose and expression
  removed), their normal-face part (PCA coefficients clipped to +-3 sd) is taken off,
  and the remaining style is summarised per face region as warps of the preset format
  (:func:`exemplar_ops`), which are applied to the person's own landmarks; depth follows
  Sec 4.2 (scaled by the ratio of the bounding-box diagonals). The warps are stored in
  avatar.json, so the offsets are a pure function of the avatar vector.

Offsets are linear in the handle targets, so ``strength`` scales them exactly: the
functions here return the unit (strength 1) deformation.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.errors import UserError
from rigs.catalogue import STYLES_DIR, target_weights
from rigs.rig_asset import load_correspondence, load_rig

STABLE = (33, 133, 362, 263, 61, 291, 1, 168)   # eye corners, mouth corners, nose tip, bridge
CONTENT_CLIP = 3.0                                # normal faces lie within 3 sd per component
STYLE_SPACE_PATH = Path(__file__).resolve().parents[1] / "rigs" / "data" / "style_space.npz"
EXEMPLAR = "exemplar"


class StyleError(UserError):
    """A style input that cannot be used (no face in the exemplar, degenerate landmarks)."""
    exit_code = 7


@dataclass(frozen=True)
class Style:
    name: str
    label: str
    description: str
    geometry: dict = field(default_factory=dict)
    shading: dict = field(default_factory=dict)

    @property
    def is_identity(self) -> bool:
        return not self.geometry.get("ops") and not self.geometry.get("exaggerate") and self.name != EXEMPLAR


@functools.lru_cache(maxsize=None)
def load_style(name: str) -> Style:
    """The preset ``rigs/styles/<name>.json``."""
    path = STYLES_DIR / f"{name}.json"
    if not path.is_file():
        raise UserError(f"unknown style {name!r}")
    d = json.loads(path.read_text())
    return Style(d["name"], d.get("label", name), d.get("description", ""), d.get("geometry", {}),
                 d.get("shading", {}))


# -- 2D landmark shapes --

def frontal(points3d: np.ndarray) -> np.ndarray:
    """Rig points (x left, y back, z up) seen from the front: (x, z)."""
    return np.asarray(points3d)[:, [0, 2]]


def align2d(points: np.ndarray, ref: np.ndarray, idx=STABLE) -> np.ndarray:
    """Similarity-align a 2D landmark shape onto ``ref`` using the stable points ``idx``.

    Raises :class:`StyleError` for NaN, collinear or mirrored landmarks."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape != ref.shape or not np.isfinite(p).all():
        raise StyleError("the style landmarks are incomplete or not finite")
    a, b = p[list(idx)], ref[list(idx)]
    ma, mb = a.mean(0), b.mean(0)
    a0, b0 = a - ma, b - mb
    sv = np.linalg.svd(a0, compute_uv=False)
    if sv[-1] < 1e-3 * max(sv[0], 1e-12):
        raise StyleError("the style landmarks are degenerate (collinear or collapsed)")
    cov = b0.T @ a0
    u, d, vt = np.linalg.svd(cov)
    if np.linalg.det(u @ vt) < 0:
        raise StyleError("the style landmarks are mirrored (left and right swapped)")
    r = u @ vt
    s = d.sum() / (a0 ** 2).sum()
    return s * (p - ma) @ r.T + mb


@dataclass
class StyleSpace:
    """Normal-face landmark shapes: mean (n, 2), PCA components (k, 2n), their sd, and the
    mean residual of real photos (subtracted from exemplars)."""
    mean: np.ndarray
    components: np.ndarray
    sigma: np.ndarray
    photo_offset: np.ndarray

    def content(self, shape: np.ndarray) -> np.ndarray:
        """The nearest normal face: PCA coefficients clipped to +-3 sd."""
        c = self.components @ (shape - self.mean).ravel()
        c = np.clip(c, -CONTENT_CLIP * self.sigma, CONTENT_CLIP * self.sigma)
        return self.mean + (c @ self.components).reshape(self.mean.shape)

    def style(self, shape: np.ndarray) -> np.ndarray:
        """What the normal face cannot explain: the exaggeration."""
        return shape - self.content(shape)


@functools.lru_cache(maxsize=1)
def load_style_space(path: str | Path = STYLE_SPACE_PATH) -> StyleSpace:
    with np.load(path, allow_pickle=False) as z:
        return StyleSpace(z["mean"], z["components"], z["sigma"], z["photo_offset"])


def reference_shape() -> np.ndarray:
    """The default head's frontal landmark shape: the frame exemplars are aligned into."""
    return frontal(load_correspondence().points(load_rig().verts))


def frontal_landmarks(landmarks_px: np.ndarray) -> np.ndarray:
    """MediaPipe landmarks of a portrait (pixels, any head pose) -> its neutral frontal
    landmark shape (478, 2) in rig metres, aligned to :func:`reference_shape`.

    The rig is fitted to the points (pose, identity, expression; :mod:`inference.fit`);
    the points are rotated back to the front with the fitted pose and the fitted
    expression's displacement is taken off, so neither a turned head nor a smile reads
    as style. Degenerate, non-finite or mirrored landmarks raise :class:`StyleError`."""
    from inference.fit import M_RIG_TO_CAM, landmark_model, register_landmarks
    from rigs.arkit import ARKIT_NAMES
    p = np.asarray(landmarks_px, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != 478 or p.shape[1] < 2:
        raise StyleError("expected MediaPipe's 478 landmarks for the style image")
    ref = reference_shape()
    align2d(np.c_[p[:, 0], -p[:, 1]], ref)           # checks: finite, not collinear, not mirrored
    pts = p if p.shape[1] == 3 else np.c_[p, np.zeros(len(p))]
    fit = register_landmarks(pts)
    model = landmark_model()
    c = np.zeros(len(model.names))
    for i in range(model.n_shape, len(model.names)):
        stem = model.names[i][5:]
        member = next(n for n in ARKIT_NAMES if n == stem or n in (f"{stem}Left", f"{stem}Right"))
        c[i] = fit.expression.get(member, 0.0)
    expression = np.tensordot(c, model.basis, axes=1)            # (478, 3) rig metres
    cam = ((pts - fit.translation) @ fit.rotation) / fit.scale   # undo the fitted similarity
    rig = cam @ M_RIG_TO_CAM - expression
    return align2d(frontal(rig), ref)


def exemplar_style(landmarks_px: np.ndarray) -> np.ndarray:
    """MediaPipe landmarks of a stylized portrait (pixels) -> its style residual (478, 2),
    rig metres in the frontal plane (what no normal face explains, less what MediaPipe
    reads on plain photos)."""
    space = load_style_space()
    return space.style(frontal_landmarks(landmarks_px)) - space.photo_offset


# region -> (landmark set, radii of the warp): the style code of an exemplar
EXEMPLAR_REGIONS = {
    "left_eye": ("left_eye", (0.014, 0.045)), "right_eye": ("right_eye", (0.014, 0.045)),
    "left_eyebrow": ("left_eyebrow", (0.012, 0.04)), "right_eyebrow": ("right_eyebrow", (0.012, 0.04)),
    "nose": ("nose", (0.018, 0.05)), "lips": ("lips", (0.018, 0.05)), "jaw": ("jaw", (0.05, 0.1)),
}
MIRROR = {"left_eye": "right_eye", "left_eyebrow": "right_eyebrow"}
SCALE_RANGE = (0.6, 1.8)
SHIFT_MAX = 0.012


def _region_indices() -> dict[str, np.ndarray]:
    from inference.landmarks import landmark_sets
    sets = landmark_sets()
    ref = reference_shape()
    oval = sets["face_oval"]
    sets["jaw"] = oval[ref[oval, 1] < ref[sets["lips"], 1].mean()]
    return sets


def exemplar_ops(style: np.ndarray) -> list[dict]:
    """An exemplar's style residual -> warps in the preset format, one per face region:
    per-axis scale about the region's centre and a shift, fitted by least squares to how
    the residual moves the region's landmarks, mirrored pairs averaged (a stylization is
    symmetric; a portrait's leftover perspective is not style)."""
    ref = reference_shape()
    sets = _region_indices()
    fitted = {}
    for region, (group, _) in EXEMPLAR_REGIONS.items():
        p = ref[sets[group]]
        q = p + style[sets[group]]
        c = p.mean(0)
        scale = [float(np.dot(q[:, k] - q[:, k].mean(), p[:, k] - c[k]) /
                       max(np.dot(p[:, k] - c[k], p[:, k] - c[k]), 1e-12)) for k in (0, 1)]
        fitted[region] = (np.clip(scale, *SCALE_RANGE), np.clip(q.mean(0) - c, -SHIFT_MAX, SHIFT_MAX))
    for left, right in MIRROR.items():
        (sl, tl), (sr, tr) = fitted[left], fitted[right]
        sc = (sl + sr) / 2
        tx, tz = (tl[0] - tr[0]) / 2, (tl[1] + tr[1]) / 2
        fitted[left], fitted[right] = (sc, np.array([tx, tz])), (sc, np.array([-tx, tz]))
    for region in ("nose", "lips", "jaw"):       # on the midline: no sideways shift
        fitted[region][1][0] = 0.0
    ops = []
    for region, (sc, t) in fitted.items():
        depth = 1.0 + (float(np.sqrt(sc[0] * sc[1])) - 1.0) * 0.5
        ops.append({"region": region, "scale": [round(float(sc[0]), 4), round(depth, 4), round(float(sc[1]), 4)],
                    "translate": [round(float(t[0]), 5), 0.0, round(float(t[1]), 5)],
                    "radius": list(EXEMPLAR_REGIONS[region][1])})
    return ops


# -- handle targets --

def _smooth_weight(r: np.ndarray, radius) -> np.ndarray:
    r0, r1 = float(radius[0]), float(radius[1])
    t = np.clip((r - r0) / max(r1 - r0, 1e-9), 0.0, 1.0)
    return 1.0 - t * t * (3.0 - 2.0 * t)


def region_centres(verts: np.ndarray, deformer) -> dict[str, np.ndarray]:
    """Named points on this head: landmark-group centroids, chin, jaw, head and cranium."""
    from inference.landmarks import landmark_sets
    lm = load_correspondence().points(verts)
    sets = landmark_sets()
    c = {k: lm[v].mean(0) for k, v in sets.items() if k not in ("left_iris", "right_iris")}
    c["eyes"] = (c["left_eye"] + c["right_eye"]) / 2
    c["chin"] = lm[152]
    oval = lm[sets["face_oval"]]
    c["jaw"] = oval[oval[:, 2] < c["lips"][2]].mean(0)
    head = verts[deformer.head_ids]
    c["head"] = head.mean(0)
    c["cranium"] = verts[deformer.handles.vertex[deformer.handles.kind == 1]].mean(0)
    # the rig is symmetric about x = 0 but MediaPipe's points on it are not quite: mirror-
    # average paired centres and put the others on the midline, so symmetric styles stay so
    flip = np.array([-1.0, 1.0, 1.0])
    for left, right in (("left_eye", "right_eye"), ("left_eyebrow", "right_eyebrow")):
        m = (c[left] + c[right] * flip) / 2
        c[left], c[right] = m, m * flip
    for k in ("nose", "lips", "chin", "jaw", "face_oval", "eyes", "head", "cranium"):
        c[k] = c[k] * np.array([0.0, 1.0, 1.0])
    return c


def _op_offsets(op: dict, p: np.ndarray, centres: dict) -> np.ndarray:
    region = op["region"]
    if region not in centres:
        raise UserError(f"style op names unknown region {region!r} (known: {', '.join(sorted(centres))})")
    radius = op.get("radius", (0.02, 0.05))
    r = np.linalg.norm(p - centres[region], axis=1)
    w = _smooth_weight(r, radius)
    d = np.zeros_like(p)
    if "scale" in op:
        about = centres[op.get("about", region)]
        # full scaling inside radius[0]; beyond it the displacement keeps the size it had
        # there and fades out, so the warp never folds the surface (a plain w(r) * scale
        # field compresses the ring where w falls and folds it at high strength)
        ra = np.linalg.norm(p - about, axis=1)
        clamp = np.minimum(1.0, float(radius[0]) / np.maximum(ra, 1e-9))
        d += (np.asarray(op["scale"], dtype=np.float64) - 1.0) * (p - about) * clamp[:, None]
    if "translate" in op:
        d += np.asarray(op["translate"], dtype=np.float64)
    return w[:, None] * d


def handle_targets(avatar, verts: np.ndarray, deformer) -> np.ndarray:
    """(m, 3) unit-strength handle offsets of ``avatar``'s style on its shaped head ``verts``."""
    style = load_style(avatar.style.get("name", "identity"))
    h = deformer.handles
    p = verts[h.vertex]
    d = np.zeros_like(p)
    if style.is_identity:
        return d
    g = style.geometry
    if g.get("exaggerate"):
        mean = load_rig().deformed({})
        d += float(g["exaggerate"]) * (p - mean[h.vertex])
    ops = list(g.get("ops", []))
    if style.name == EXEMPLAR:
        ex = avatar.style.get("exemplar") or {}
        if not ex.get("ops"):
            raise UserError("style 'exemplar' needs style.exemplar.ops (make it with --style-image)")
        ops += ex["ops"]
    if ops:
        centres = region_centres(verts, deformer)
        for op in ops:
            d += _op_offsets(op, p, centres)
    if style.name == EXEMPLAR:
        _depth_by_diagonal(d, p, h.kind == 0)
    follow = deformer.follow_cranium(verts, np.where((h.kind == 0)[:, None], d, 0.0))
    d[h.kind == 1] += follow[h.kind == 1]
    d[h.kind == 2] = 0.0
    return d


def _depth_by_diagonal(d: np.ndarray, p: np.ndarray, lm: np.ndarray) -> None:
    """Seed 002 Sec 4.2: landmark depth scaled by the ratio of the bounding-box diagonals
    of the translated and the original frontal landmarks (in place, landmark rows)."""
    diag = lambda q: float(np.linalg.norm(q.max(0) - q.min(0)))   # noqa: E731
    before, after = frontal(p[lm]), frontal(p[lm] + d[lm])
    ratio = diag(after) / max(diag(before), 1e-9)
    y0 = p[lm, 1].mean()
    d[lm, 1] += (p[lm, 1] - y0) * (ratio - 1.0)


@dataclass
class Stylization:
    """Unit-strength offsets: ``head`` (head part vertices, the bundle's deformation.npy)
    and ``all`` (every rig vertex: eyes, teeth and tongue re-seated)."""
    head: np.ndarray
    all: np.ndarray


def stylize(avatar, verts: np.ndarray | None = None) -> Stylization:
    """The style deformation of ``avatar`` on its shaped head (default: shaped from its sliders)."""
    from inference.deform import head_deformer, reseat_parts
    rig = load_rig()
    deformer = head_deformer()
    if verts is None:
        verts = rig.deformed(target_weights(avatar.shape))
    d = handle_targets(avatar, verts, deformer)
    if not d.any():
        z = np.zeros((len(deformer.head_ids), 3))
        return Stylization(z, np.zeros_like(verts))
    head = deformer.solve(d)
    return Stylization(head, reseat_parts(rig, verts, head))
