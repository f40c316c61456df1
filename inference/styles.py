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
  The exemplar's landmarks are aligned onto the rig's frontal plane, their normal-face
  part (PCA coefficients clipped to +-3 sd) is removed, and the remaining style is added
  to the person's landmarks; depth follows Sec 4.2 (vertex depth scaled by the ratio of
  the bounding-box diagonals). The style residual is stored in avatar.json, so the
  offsets are a pure function of the avatar vector.

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


def exemplar_style(landmarks_px: np.ndarray) -> np.ndarray:
    """MediaPipe landmarks of a stylized portrait (pixels) -> its style residual (478, 2),
    rig metres in the frontal plane."""
    p = np.asarray(landmarks_px, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != 478:
        raise StyleError("expected MediaPipe's 478 landmarks for the style image")
    shape = align2d(np.c_[p[:, 0], -p[:, 1]], reference_shape())
    space = load_style_space()
    return space.style(shape) - space.photo_offset


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
    return c


def _op_offsets(op: dict, p: np.ndarray, centres: dict) -> np.ndarray:
    region = op["region"]
    if region not in centres:
        raise UserError(f"style op names unknown region {region!r} (known: {', '.join(sorted(centres))})")
    w = _smooth_weight(np.linalg.norm(p - centres[region], axis=1), op.get("radius", (0.02, 0.05)))
    d = np.zeros_like(p)
    if "scale" in op:
        about = centres[op.get("about", region)]
        d += (np.asarray(op["scale"], dtype=np.float64) - 1.0) * (p - about)
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
    if g.get("ops"):
        centres = region_centres(verts, deformer)
        for op in g["ops"]:
            d += _op_offsets(op, p, centres)
    if style.name == EXEMPLAR:
        d += _exemplar_offsets(avatar, verts, deformer)
    follow = deformer.follow_cranium(verts, np.where((h.kind == 0)[:, None], d, 0.0))
    d[h.kind == 1] += follow[h.kind == 1]
    d[h.kind == 2] = 0.0
    return d


def _exemplar_offsets(avatar, verts: np.ndarray, deformer) -> np.ndarray:
    data = avatar.style.get("exemplar") or {}
    s = np.asarray(data.get("style", []), dtype=np.float64)
    if s.shape != (478, 2):
        raise UserError("style 'exemplar' needs style.exemplar.style: 478 [x, z] offsets (make it with --style-image)")
    lx3 = load_correspondence().points(verts)
    lx2 = frontal(lx3)
    lz2 = lx2 + s
    diag = lambda q: float(np.linalg.norm(q.max(0) - q.min(0)))   # noqa: E731
    ratio = diag(lz2) / max(diag(lx2), 1e-9)
    y0 = lx3[:, 1].mean()
    lz3 = np.c_[lz2[:, 0], y0 + (lx3[:, 1] - y0) * ratio, lz2[:, 1]]
    h = deformer.handles
    d = np.zeros((len(h.vertex), 3))
    lm = h.kind == 0
    d[lm] = (lz3 - lx3)[h.landmark[lm]]
    return d


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
