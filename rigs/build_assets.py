"""Build the asset library (hair, eyebrows, beards, glasses) procedurally from the rig.

Every asset is generated from the neutral rig and attached to it (see
:mod:`rigs.asset_geometry`), so it conforms to any head shape. Nothing is downloaded:
the inputs are the rig asset, the MediaPipe landmarks read on the bare head
(``rigs/data/mediapipe_placement.npz``, to place brows, beard regions and glasses on the
face) and the style tables below.

Frames used here: ``E`` is the midpoint of the eye pivots; the cranium centre ``C`` sits
8.5 cm behind and 1 cm above it. Azimuth ``alpha`` (degrees) is 0 at the front, +90 at
the avatar's left (+x), +-180 at the back; elevation ``beta`` is measured from ``C``.

Writes ``rigs/data/assets.npz`` and the catalogue ``rigs/assets.json``. Deterministic.
Run: ``python -m rigs.build_assets``.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rigs.asset_geometry import Attachment, vertex_normals
from rigs.rig_asset import PLACEMENT_PATH, HeadRig, load_correspondence, load_rig

RIGS_DIR = Path(__file__).resolve().parent
ASSETS_NPZ = RIGS_DIR / "data" / "assets.npz"
CATALOGUE_JSON = RIGS_DIR / "assets.json"
H_MIN = 0.0012     # metres: every shell sits at least this far off the skin

# MediaPipe landmark ids (canonical face mesh)
BROW_UPPER = {"R": [70, 63, 105, 66, 107], "L": [300, 293, 334, 296, 336]}   # outer -> inner
BROW_LOWER = {"R": [46, 53, 52, 65, 55], "L": [276, 283, 282, 295, 285]}
LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
NOSE_BASE, UPPER_LIP, LOWER_LIP, CHIN, BRIDGE = 2, 0, 17, 152, 168
MOUTH_CORNERS = (61, 291)
JAW_OVAL = [234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397,
            288, 361, 323, 454]


# ---------------------------------------------------------------------------------------
@dataclass
class AssetMesh:
    """One generated asset: attachment, polygons over its own vertices, material slots."""
    att: Attachment
    polys: list[list[int]]
    materials: list[str]
    poly_material: list[int]
    rigid: bool                 # True: bound to the head bone; False: skinned like its anchors
    expressions: bool           # True: follows the ARKit shape keys (brows, beards)
    meta: dict = field(default_factory=dict)


class HeadFrame:
    """The neutral head and the derived quantities the generators share."""

    def __init__(self, rig: HeadRig):
        self.rig = rig
        part = rig.parts["head"]
        self.skin_ids = part.vertex_ids
        self.quads = [part.loop_vert[s:s + n] for s, n in zip(part.loop_start, part.loop_total)]
        self.tris = part.triangles()
        self.V = rig.verts
        self.N = vertex_normals(self.V, self.tris)
        heads, _ = rig.bone_ends()
        self.E = (heads[rig.bone_names.index("eye.L")] + heads[rig.bone_names.index("eye.R")]) / 2
        self.C = self.E + np.array([0.0, 0.085, 0.01])
        self.alpha, self.beta, self.radius = self.polar(self.V)
        # landmarks read on the bare head (no assets): no cycle through the assets' own renders
        corr = load_correspondence(PLACEMENT_PATH)
        self.L = corr.points(self.V)
        self.L_tri, self.L_bary = corr.tri, corr.bary
        ear = rig.ear_vertices()
        self.ear = ear
        self.ear_ids = np.flatnonzero(ear & np.isin(np.arange(len(self.V)), self.skin_ids))
        ear_disp = rig.ear_displacement()
        # 1 away from the ears, 0 on them: shells fade out around the ear
        self.ear_keep = 1.0 - _smoothstep((ear_disp - 0.0015) / 0.003)
        skin = np.zeros(len(self.V), bool)
        skin[self.skin_ids] = True
        self.is_skin = skin
        self.mouth_faces = set(np.flatnonzero(part.material == 1).tolist())

    def polar(self, p):
        d = p - self.C
        a = np.degrees(np.arctan2(d[..., 0], -d[..., 1]))
        b = np.degrees(np.arctan2(d[..., 2], np.hypot(d[..., 0], d[..., 1])))
        return a, b, np.linalg.norm(d, axis=-1)

    def nearest_skin(self, p: np.ndarray, k: int = 4, among: np.ndarray | None = None):
        """Inverse-distance anchors on the k nearest skin vertices (or ``among`` these)."""
        from scipy.spatial import cKDTree
        ids = self.skin_ids if among is None else among
        tree = cKDTree(self.V[ids])
        d, i = tree.query(p, k=k)
        d, i = d.reshape(len(p), k), i.reshape(len(p), k)
        w = 1.0 / np.maximum(d, 1e-5) ** 2
        w /= w.sum(1, keepdims=True)
        return ids[i], w

    def skin_with_ear_extremes(self) -> np.ndarray:
        """Skin points of the neutral head plus the ears at each ear slider's extremes."""
        from rigs.catalogue import shape_catalogue
        pts = [self.V[self.skin_ids]]
        for p in shape_catalogue():
            if p.group != "ears":
                continue
            for v in (p.min, p.max):
                if v:
                    shaped = self.rig.deformed(p.target_weights(v))
                    pts.append(shaped[self.ear_ids])
        return np.concatenate(pts)

    def landmark_anchor(self, lm: int) -> tuple[np.ndarray, np.ndarray]:
        """Anchor (3 ids padded to 4, weights) of a MediaPipe landmark on the rig surface."""
        return np.r_[self.L_tri[lm], self.L_tri[lm][0]], np.r_[self.L_bary[lm], 0.0]


def _attach_free(frame: HeadFrame, p: np.ndarray, anchor: np.ndarray, weight: np.ndarray,
                 height: np.ndarray | None = None) -> Attachment:
    """Attachment reproducing rest points ``p`` exactly from given anchors."""
    n = len(p)
    h = np.zeros(n) if height is None else height
    att = Attachment(anchor.astype(np.int32), weight.astype(np.float64), h, np.zeros((n, 3)))
    att.offset = p - att.evaluate(frame.V, frame.N)
    return att


def _periodic(alpha, table):
    """Interpolate a (alpha_deg -> value) table periodically over [-180, 180]."""
    xs = np.array([a for a, _ in table], float)
    ys = np.array([v for _, v in table], float)
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    xs = np.r_[xs - 360, xs, xs + 360]
    ys = np.r_[ys, ys, ys]
    return np.interp(alpha, xs, ys)


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _noise(alpha, beta, seed, scale=1.0):
    """Deterministic smooth bumps on the head sphere (sum of a few sinusoids)."""
    rng = np.random.default_rng(seed)
    a, b = np.radians(alpha), np.radians(beta)
    out = np.zeros_like(a)
    for _ in range(6):
        fa, fb = rng.integers(6, 14), rng.integers(6, 14)
        pa, pb = rng.uniform(0, 2 * np.pi, 2)
        out += np.sin(fa * a * scale + pa) * np.sin(fb * b * scale + pb)
    return out / 6


# ---------------------------------------------------------------------------------------
def _subdivided_shell(frame: HeadFrame, include_face, level: int):
    """Quads of the skin chosen by ``include_face(quad)`` split level x level; returns
    (anchor ids (n,4), weights (n,4), rest points (n,3), polys)."""
    key_index: dict[tuple, int] = {}
    anchors, weights, polys = [], [], []

    def vid(corners, w):
        # merge points shared by neighbouring quads: key on the non-zero (id, weight) pairs
        pairs = tuple(sorted((int(c), round(float(x), 6)) for c, x in zip(corners, w) if x > 1e-9))
        if pairs not in key_index:
            key_index[pairs] = len(anchors)
            ids = [c for c, _ in pairs] + [pairs[0][0]] * (4 - len(pairs))
            ws = [x for _, x in pairs] + [0.0] * (4 - len(pairs))
            anchors.append(ids)
            weights.append(ws)
        return key_index[pairs]

    for fi, q in enumerate(frame.quads):
        if not include_face(fi, q):
            continue
        grid = np.empty((level + 1, level + 1), int)
        for i in range(level + 1):
            for j in range(level + 1):
                s, t = i / level, j / level
                w = [(1 - s) * (1 - t), s * (1 - t), s * t, (1 - s) * t]
                grid[i, j] = vid(q, w)
        for i in range(level):
            for j in range(level):
                polys.append([grid[i, j], grid[i + 1, j], grid[i + 1, j + 1], grid[i, j + 1]])
    anchors = np.array(anchors, np.int32)
    weights = np.array(weights)
    rest = np.einsum("nk,nkd->nd", weights, frame.V[anchors])
    return anchors, weights, rest, polys


def _region_shell(frame, coverage_fn, thickness_fn, level=2, exclude_mouth=True, h_min=H_MIN,
                  avoid_ears=True, ramp=0.4, smooth_edge=True):
    """A shell over the skin where ``coverage_fn`` >= 0.5 (cut at sub-quad resolution so
    the edge is smooth), ``thickness_fn`` metres thick, tapering to ``h_min`` at the edge.
    Ears are cut out softly."""
    cov_v = coverage_fn(frame.V) * (frame.ear_keep if avoid_ears else 1.0)

    def include(fi, q):
        if exclude_mouth and fi in frame.mouth_faces:
            return False
        return bool((cov_v[q] > 0).any())

    anchor, weight, rest, polys = _subdivided_shell(frame, include, level)
    cov = coverage_fn(rest)
    if avoid_ears:
        cov = cov * np.einsum("nk,nk->n", weight, frame.ear_keep[anchor])
    polys = [p for p in polys if cov[p].mean() >= 0.5]
    used = np.unique(np.concatenate(polys))
    remap = np.full(len(rest), -1)
    remap[used] = np.arange(len(used))
    polys = [[int(remap[i]) for i in p] for p in polys]
    anchor, weight, rest, cov = anchor[used], weight[used], rest[used], cov[used]
    height = h_min + thickness_fn(rest) * _smoothstep((cov - 0.5) / ramp)
    if smooth_edge:
        anchor, weight = _smooth_boundary(frame, polys, anchor, weight)
    att = Attachment(anchor, weight, height, np.zeros((len(rest), 3)))
    return att, polys


def _smooth_boundary(frame, polys, anchor, weight, iterations=4):
    """Relax the cut edge of a shell along itself (the sub-quad cut leaves a staircase),
    then re-anchor the moved vertices on the skin nearest to their new place."""
    edges: dict[tuple[int, int], int] = {}
    for poly in polys:
        for a, b in zip(poly, poly[1:] + poly[:1]):
            key = (min(a, b), max(a, b))
            edges[key] = edges.get(key, 0) + 1
    nbrs: dict[int, list[int]] = {}
    for (a, b), n in edges.items():
        if n == 1:
            nbrs.setdefault(a, []).append(b)
            nbrs.setdefault(b, []).append(a)
    ring = np.array(sorted(v for v, nb in nbrs.items() if len(nb) == 2))
    if len(ring) == 0:
        return anchor, weight
    pos = np.einsum("nk,nkd->nd", weight, frame.V[anchor])
    for _ in range(iterations):
        new = pos.copy()
        for v in ring:
            a, b = nbrs[v]
            new[v] = 0.5 * pos[v] + 0.25 * (pos[a] + pos[b])
        pos = new
    anc, w = frame.nearest_skin(pos[ring], k=3)
    anchor, weight = anchor.copy(), weight.copy()
    anchor[ring, :3], anchor[ring, 3] = anc, anc[:, 0]
    weight[ring, :3], weight[ring, 3] = w, 0.0
    return anchor, weight


# ---- hair -------------------------------------------------------------------------------
# hairline: elevation (deg) of the hair's lower edge by azimuth; the ears are cut out
HAIRLINE = [(0, 23), (25, 25), (45, 21), (62, 14), (72, -6), (80, 22), (100, 24), (118, 5),
            (140, -22), (165, -34), (180, -36)]
HAIRLINE = HAIRLINE + [(-a, b) for a, b in HAIRLINE if 0 < a < 180]


def _hair_coverage(frame, line=HAIRLINE, soft=5.0, bald_top=None):
    def cov(p):
        a, b, _ = frame.polar(p)
        c = _smoothstep((b - _periodic(a, line)) / soft)
        if bald_top is not None:   # receding: a bald patch over the top/front
            ca, cb, rad = bald_top
            da = np.radians(a - ca)
            dist = np.degrees(np.arccos(np.clip(np.cos(np.radians(b)) * np.cos(np.radians(cb)) * np.cos(da)
                                                + np.sin(np.radians(b)) * np.sin(np.radians(cb)), -1, 1)))
            c = c * _smoothstep((dist - rad) / 8.0)
        return c
    return cov


def _curtain(frame, length, flare, alpha_front=68.0, wave=0.0, curl=0.0, seed=0, top_out=0.009,
             cols=40, rows=16):
    """Hair hanging from the head's sides and back down to ``length`` metres below E.

    Each column follows the outward envelope of the head (ears included) plus a clearance
    that grows downward, so the curtain never cuts the skull, ears or neck."""
    alphas = np.linspace(alpha_front, 360 - alpha_front, cols)
    alphas = np.where(alphas > 180, alphas - 360, alphas)
    z_top = frame.E[2] + 0.085
    z_bot = frame.E[2] - length
    zs = np.linspace(z_top, z_bot, rows)
    # the envelope includes the ears at every extreme of the ear sliders: hair clears them
    cloud = frame.skin_with_ear_extremes()
    a_all, _, _ = frame.polar(cloud)
    rad_xy = np.hypot(*(cloud[:, :2] - frame.C[:2]).T)
    pts = np.zeros((rows, cols, 3))
    for j, a in enumerate(alphas):
        near = np.abs(((a_all - a + 180) % 360) - 180) < 12
        r_near, z_near = rad_xy[near], cloud[near, 2]
        for i, z in enumerate(zs):
            # envelope of the head from the crown down to this row: hair only falls outward
            env = r_near[z_near >= z - 0.015].max()
            t = i / (rows - 1)
            r = env + top_out + flare * t
            r += wave * np.sin(t * 5 * np.pi + j * 0.3) + curl * _noise(np.array([a]), np.array([t * 90]), seed)[0]
            d = np.array([np.sin(np.radians(a)), -np.cos(np.radians(a))])
            pts[i, j, :2] = frame.C[:2] + r * d
            pts[i, j, 2] = z
    p = pts.reshape(-1, 3)
    # each vertex rides on the skin nearest to it, so head-shape changes carry the curtain
    anchor, weight = frame.nearest_skin(p, k=4)
    att = _attach_free(frame, p, anchor, weight)
    polys = []
    for i in range(rows - 1):
        for j in range(cols - 1):
            k = i * cols + j
            polys.append([k, k + cols, k + cols + 1, k + 1])
    return att, polys


def _tube(frame, path: np.ndarray, radius: np.ndarray, sides=10):
    """A closed-ended tube along ``path`` (m, 3); each vertex rides on its nearest skin."""
    n = len(path)
    tang = np.gradient(path, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    up = np.array([0.0, 0.0, 1.0])
    pts = []
    for i in range(n):
        ref = up if abs(tang[i] @ up) < 0.9 else np.array([1.0, 0.0, 0.0])
        x = np.cross(tang[i], ref)
        x /= np.linalg.norm(x)
        y = np.cross(tang[i], x)
        for k in range(sides):
            th = 2 * np.pi * k / sides
            pts.append(path[i] + radius[i] * (np.cos(th) * x + np.sin(th) * y))
    pts.append(path[0])
    pts.append(path[-1])
    pts = np.array(pts)
    polys = []
    for i in range(n - 1):
        for k in range(sides):
            a, b = i * sides + k, i * sides + (k + 1) % sides
            polys.append([a, b, b + sides, a + sides])
    c0, c1 = n * sides, n * sides + 1
    for k in range(sides):
        polys.append([c0, (k + 1) % sides, k])
        polys.append([c1, (n - 1) * sides + k, (n - 1) * sides + (k + 1) % sides])
    anc, w = frame.nearest_skin(pts, k=4)
    att = _attach_free(frame, pts, anc, w)
    return att, polys


def _blob(frame, centre: np.ndarray, radii: np.ndarray, segments=20, rings=12):
    """An ellipsoid (bun, knot); each vertex rides on its nearest skin."""
    from rigs.build_rig import uv_sphere
    v, faces, _ = uv_sphere(np.zeros(3), 1.0, np.array([0.0, 1.0, 0.0]), segments, rings)
    pts = centre + v * radii
    anc, w = frame.nearest_skin(pts, k=4)
    att = _attach_free(frame, pts, anc, w)
    return att, [list(f) for f in faces]


def _merge(parts):
    """Concatenate (Attachment, polys) pieces into one."""
    atts, polys, off = [], [], 0
    for att, ps in parts:
        atts.append(att)
        polys += [[i + off for i in p] for p in ps]
        off += len(att.height)
    return Attachment(np.concatenate([a.anchor for a in atts]), np.concatenate([a.weight for a in atts]),
                      np.concatenate([a.height for a in atts]), np.concatenate([a.offset for a in atts])), polys


def _point_on_sphere(frame, alpha, beta, out):
    """Rest-space point at (alpha, beta) just outside the skin (``out`` metres)."""
    a, b = np.radians(alpha), np.radians(beta)
    d = np.array([np.sin(a) * np.cos(b), -np.cos(a) * np.cos(b), np.sin(b)])
    # march from the centre to the skin along d
    proj = (frame.V[frame.skin_ids] - frame.C) @ d
    perp = np.linalg.norm((frame.V[frame.skin_ids] - frame.C) - proj[:, None] * d, axis=1)
    r = proj[perp < 0.012].max()
    return frame.C + (r + out) * d


def hair_styles(frame: HeadFrame) -> dict[str, tuple[dict, list]]:
    """id -> (catalogue entry, list of (Attachment, polys) pieces)."""
    cov = _hair_coverage(frame)

    def thick(base, top=0.0, front=0.0, noise=0.0, seed=1, part=None):
        def f(p):
            a, b, _ = frame.polar(p)
            t = base + top * _smoothstep((b - 20) / 50) + front * np.exp(-((a / 35) ** 2) - ((b - 40) / 18) ** 2)
            if noise:
                t = t + noise * (0.5 + 0.5 * _noise(a, b, seed))
            if part is not None:  # a parting groove along azimuth `part`, front to crown
                t = t * (1 - 0.75 * np.exp(-(((a - part) / 5) ** 2)) * (b > 15))
            return t
        return f

    def shell(c, t, level=2):
        return _region_shell(frame, c, t, level=level, exclude_mouth=True)

    fringe_line = [(a, (b - 12 if abs(a) < 50 else b)) for a, b in HAIRLINE]
    S = {}
    S["buzz"] = ({"name": "Buzz cut", "length": "short", "volume": 0.05, "parting": "none", "curl": 0.0},
                 [shell(cov, thick(0.0015))])
    S["crop"] = ({"name": "Short crop", "length": "short", "volume": 0.2, "parting": "none", "curl": 0.0},
                 [shell(cov, thick(0.005, top=0.005))])
    S["side_part"] = ({"name": "Side part", "length": "short", "volume": 0.35, "parting": "side", "curl": 0.0},
                      [shell(cov, thick(0.007, top=0.009, part=-28))])
    S["quiff"] = ({"name": "Quiff", "length": "short", "volume": 0.45, "parting": "none", "curl": 0.0},
                  [shell(cov, thick(0.005, top=0.006, front=0.025))])
    S["short_curly"] = ({"name": "Short curly", "length": "short", "volume": 0.5, "parting": "none", "curl": 0.8},
                        [shell(cov, thick(0.008, top=0.006, noise=0.008, seed=3), level=3)])
    S["receding"] = ({"name": "Receding, thinning crown", "length": "short", "volume": 0.1,
                      "parting": "none", "curl": 0.0},
                     [shell(_hair_coverage(frame, bald_top=(0, 62, 38)), thick(0.003))])
    S["bob"] = ({"name": "Bob with fringe", "length": "medium", "volume": 0.55, "parting": "none", "curl": 0.0},
                [shell(_hair_coverage(frame, fringe_line), thick(0.012, top=0.006)),
                 _curtain(frame, length=0.085, flare=0.012, alpha_front=62)])
    S["shoulder_straight"] = ({"name": "Shoulder-length straight", "length": "medium", "volume": 0.45,
                               "parting": "center", "curl": 0.0},
                              [shell(cov, thick(0.010, top=0.004, part=0)),
                               _curtain(frame, length=0.16, flare=0.018)])
    S["wavy_medium"] = ({"name": "Medium wavy", "length": "medium", "volume": 0.6, "parting": "side", "curl": 0.4},
                        [shell(cov, thick(0.012, top=0.006, part=-28)),
                         _curtain(frame, length=0.15, flare=0.03, wave=0.006)])
    S["long_straight"] = ({"name": "Long straight", "length": "long", "volume": 0.5, "parting": "center", "curl": 0.0},
                          [shell(cov, thick(0.010, top=0.004, part=0)),
                           _curtain(frame, length=0.26, flare=0.03, rows=22)])
    S["long_curly"] = ({"name": "Long curly", "length": "long", "volume": 0.85, "parting": "none", "curl": 0.9},
                       [shell(cov, thick(0.016, top=0.01, noise=0.01, seed=5), level=3),
                        _curtain(frame, length=0.25, flare=0.06, curl=0.012, seed=6, rows=22, cols=56)])
    # ponytail: slicked cap + a tapered tube from the back of the crown
    p0 = _point_on_sphere(frame, 180, 12, 0.029)   # the tube's radius clears the scalp
    path = np.array([p0 + np.array([0, 0.012 * t, -0.2 * t ** 1.4]) + np.array([0, 0.03 * np.sin(t * 2), 0])
                     for t in np.linspace(0, 1, 14)])
    S["ponytail"] = ({"name": "Ponytail", "length": "long", "volume": 0.3, "parting": "none", "curl": 0.0},
                     [shell(cov, thick(0.004)), _tube(frame, path, 0.022 * (1 - 0.7 * np.linspace(0, 1, 14) ** 2)
                                                      + 0.004)])
    pb = _point_on_sphere(frame, 180, 40, 0.033)
    S["bun"] = ({"name": "Bun / updo", "length": "long", "volume": 0.4, "parting": "none", "curl": 0.0},
                [shell(cov, thick(0.005)), _blob(frame, pb, np.array([0.036, 0.028, 0.03]))])
    centre = frame.C + np.array([0.0, 0.005, 0.03])

    def rounded(p):
        # the afro's outer surface is a bumpy sphere around the crown, not an offset skull
        a, b, _ = frame.polar(p)
        r = np.linalg.norm(p - centre, axis=1)
        return np.maximum(0.142 + 0.006 * _noise(a, b, 9) - r, 0.01)
    S["afro"] = ({"name": "Afro", "length": "medium", "volume": 1.0, "parting": "none", "curl": 1.0},
                 [_region_shell(frame, _hair_coverage(frame, soft=14.0), rounded, level=3, ramp=0.5)])
    locs = []
    for k, a in enumerate(np.linspace(70, 290, 12)):
        a = a if a <= 180 else a - 360
        start = _point_on_sphere(frame, a, 5 if abs(a) > 120 else 18, 0.006)
        outward = np.r_[(start - frame.C)[:2] / np.linalg.norm((start - frame.C)[:2]), 0.0]
        path = np.array([start + outward * (0.004 + 0.012 * t) + np.array([0, 0, -0.22 * t])
                         for t in np.linspace(0, 1, 12)])
        locs.append(_tube(frame, path, np.full(12, 0.0055)))
    # locs: rope-twisted coils; from the front their strands turn like curls (strand texture)
    S["locs"] = ({"name": "Braids / locs", "length": "long", "volume": 0.6, "parting": "none", "curl": 0.8},
                 [shell(cov, thick(0.007, noise=0.003, seed=11), level=2)] + locs)
    return S


# ---- eyebrows ----------------------------------------------------------------------------
BROW_STYLES = {
    # id: (name, width at inner/peak/tail (m), arch (m), height (m), jitter)
    "thin": ("Thin", (0.0035, 0.003, 0.0015), 0.0015, 0.0008, 0.0),
    "medium": ("Medium", (0.0065, 0.0055, 0.0025), 0.0015, 0.0011, 0.0),
    "thick": ("Thick", (0.0095, 0.008, 0.004), 0.001, 0.0015, 0.0),
    "straight": ("Straight", (0.007, 0.006, 0.0035), -0.001, 0.0012, 0.0),
    "arched": ("Arched", (0.006, 0.005, 0.0022), 0.0045, 0.0011, 0.0),
    "bushy": ("Bushy", (0.011, 0.0095, 0.006), 0.001, 0.0025, 0.0012),
}


def eyebrow(frame: HeadFrame, widths, arch, height, jitter, cols=14, rows=4):
    pieces = []
    for side in ("L", "R"):
        up = frame.L[BROW_UPPER[side]]
        lo = frame.L[BROW_LOWER[side]]
        mid = (up + lo) / 2 + np.array([0, 0, 0.001])   # guessed brows sit a touch high
        t = np.linspace(0, 1, cols)
        s_src = np.linspace(0, 1, len(mid))
        centre = np.stack([np.interp(t, s_src, mid[:, d]) for d in range(3)], 1)
        # the tail of the brow (t=0 outer) droops; the arch peaks at ~1/3 from the tail
        centre[:, 2] -= 0.002 * (1 - t) ** 2
        w = np.interp(t, [0, 0.35, 1], [widths[2], widths[1], widths[0]])
        # the arch lifts the upper edge only: every style keeps the same lower line, so
        # the brows MediaPipe reads on a render stay where the fit put them
        lift = arch * np.sin(np.pi * np.clip(t * 1.3, 0, 1))
        pts = []
        for i in range(rows):
            v = i / (rows - 1)
            jit = jitter * np.sin(37 * t + 11 * i) if jitter else 0.0
            pts.append(centre + np.array([0, 0, 1.0])[None] * ((v - 0.5) * w + v * lift + jit)[:, None])
        pts = np.concatenate(pts)
        anc, wts = frame.nearest_skin(pts, k=4)
        on_skin = np.einsum("nk,nkd->nd", wts, frame.V[anc])
        nrm = np.einsum("nk,nkd->nd", wts, frame.N[anc])
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        # project the ribbon onto the skin, then lift it `height` off it
        proj = pts - ((pts - on_skin) * nrm).sum(1, keepdims=True) * nrm
        hgt = np.full(len(pts), height)
        hgt[np.tile(np.arange(cols), rows) == 0] = H_MIN    # the tail tapers into the skin
        att = Attachment(anc.astype(np.int32), wts, hgt, np.zeros((len(pts), 3)))
        att.offset = (proj + hgt[:, None] * nrm) - att.evaluate(frame.V, frame.N)
        polys = [[i * cols + j, i * cols + j + 1, (i + 1) * cols + j + 1, (i + 1) * cols + j]
                 for i in range(rows - 1) for j in range(cols - 1)]
        pieces.append((att, polys))
    return _merge(pieces)


# ---- beards -----------------------------------------------------------------------------
def _polygon_contains(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Even-odd rule point-in-polygon for 2D points."""
    inside = np.zeros(len(pts), bool)
    x, y = pts[:, 0], pts[:, 1]
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0)):
        cross = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / (y1 - y0 + 1e-12) + x0)
        inside ^= cross
    return inside


def beard_regions(frame: HeadFrame):
    """Coverage functions (point -> [0, 1]) on the lower face, built from landmarks."""
    L = frame.L
    lips = L[LIPS_OUTER][:, [0, 2]]
    lip_c = lips.mean(0)
    lips_grown = lip_c + (lips - lip_c) * 1.12
    nose_z, ulip_z, llip_z, chin = L[NOSE_BASE, 2], L[UPPER_LIP, 2], L[LOWER_LIP, 2], L[CHIN]
    mouth_w = abs(L[MOUTH_CORNERS[0], 0] - L[MOUTH_CORNERS[1], 0]) / 2

    def not_lips(p):
        return (~_polygon_contains(lips_grown, p[:, [0, 2]])).astype(float)

    def front(p):  # in front of the ears
        return (p[:, 1] < frame.E[1] + 0.075).astype(float)

    def full(p):
        a, b, _ = frame.polar(p)
        upper = _periodic(a, [(0, -27), (20, -24), (40, -20), (60, -8), (75, 5), (85, 8)])
        upper = np.where(np.abs(a) > 85, 8.0, upper)
        c = _smoothstep((upper - b) / 4) * front(p) * not_lips(p)
        c *= _smoothstep((p[:, 2] - (chin[2] - 0.045)) / 0.01)       # stops on the upper neck
        return c * (np.abs(a) < 80)

    def mustache(p):
        x, z = p[:, 0], p[:, 2]
        c = (_smoothstep((nose_z - 0.002 - z) / 0.003) * _smoothstep((z - ulip_z + 0.001) / 0.002)
             * _smoothstep((mouth_w + 0.006 - np.abs(x)) / 0.004))
        return c * not_lips(p) * (p[:, 1] < frame.E[1] + 0.0)

    def goatee(p):
        x, z = p[:, 0], p[:, 2]
        chin_part = (_smoothstep((llip_z - 0.002 - z) / 0.003) * _smoothstep((0.024 - np.abs(x)) / 0.006)
                     * _smoothstep((z - (chin[2] - 0.02)) / 0.006))
        return np.maximum(chin_part * (p[:, 1] < frame.E[1] + 0.02), mustache(p)) * not_lips(p)

    def chin_strap(p):
        jaw = L[JAW_OVAL]
        from scipy.spatial import cKDTree
        # distance to the jawline polyline, sampled densely
        s = np.concatenate([np.linspace(jaw[i], jaw[i + 1], 8) for i in range(len(jaw) - 1)])
        d, _ = cKDTree(s).query(p)
        return _smoothstep((0.011 - d) / 0.004) * full(p)

    return {"full": full, "mustache": mustache, "goatee": goatee, "chin_strap": chin_strap}


def beard_styles(frame: HeadFrame):
    R = beard_regions(frame)
    const = lambda t: (lambda p: np.full(len(p), t))  # noqa: E731
    out = {
        "stubble": ({"name": "Stubble", "coverage": 0.6}, [_region_shell(frame, R["full"], const(0.0003), level=1, smooth_edge=False,
                                                                           h_min=0.0006)], "stubble"),
        "mustache": ({"name": "Mustache", "coverage": 0.1}, [_region_shell(frame, R["mustache"], const(0.004), level=2, smooth_edge=False)],
                     "beard"),
        "goatee": ({"name": "Goatee", "coverage": 0.25}, [_region_shell(frame, R["goatee"], const(0.004), level=2, smooth_edge=False)],
                   "beard"),
        "short_full": ({"name": "Short full beard", "coverage": 0.8},
                       [_region_shell(frame, R["full"], const(0.005), level=2, smooth_edge=False)], "beard"),
        "chin_strap": ({"name": "Chin strap", "coverage": 0.35},
                       [_region_shell(frame, R["chin_strap"], const(0.004), level=2, smooth_edge=False)], "beard"),
    }
    # long full beard: a thicker shell plus a bib hanging from the chin
    chin = frame.L[CHIN]
    jaw = frame.L[JAW_OVAL[3:-3]]
    cols = len(jaw)
    rows = 7
    pts = []
    for i in range(rows):
        t = i / (rows - 1)
        drop = np.array([0, -0.004 - 0.012 * t, -0.075 * t])
        row = jaw + drop + np.array([0, -0.008, 0.0])
        row[:, 0] *= (1 - 0.45 * t ** 1.5)
        row[:, 0] += 0.0 * chin[0]
        pts.append(row)
    pts = np.concatenate(pts)
    # every bib column hangs from its own point of the jaw
    top_anc, top_w = frame.nearest_skin(jaw + np.array([0, -0.008, 0.0]), k=4)
    anc = np.tile(top_anc, (rows, 1))
    wts = np.tile(top_w, (rows, 1))
    bib = _attach_free(frame, pts, anc, wts)
    bib_polys = [[i * cols + j, i * cols + j + 1, (i + 1) * cols + j + 1, (i + 1) * cols + j]
                 for i in range(rows - 1) for j in range(cols - 1)]
    out["long_full"] = ({"name": "Long full beard", "coverage": 1.0},
                        [_region_shell(frame, R["full"], const(0.009), level=2, smooth_edge=False), (bib, bib_polys)], "beard")
    return out


# ---- glasses ----------------------------------------------------------------------------
def _lens_outline(kind: str, n=40) -> np.ndarray:
    """Lens outline in the lens plane (x outward from the nose, z up), metres, centred."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    if kind == "round":
        return np.stack([0.021 * c, 0.021 * s], 1)
    if kind in ("rectangular", "browline", "rimless"):
        e = 2 / 6   # superellipse
        return np.stack([0.026 * np.sign(c) * np.abs(c) ** e, 0.017 * np.sign(s) * np.abs(s) ** e], 1)
    if kind == "aviator":
        x = 0.026 * c
        z = np.where(s > 0, 0.018 * s, 0.027 * s * (1 - 0.35 * c))
        return np.stack([x, z + 0.002], 1)
    if kind == "cat_eye":
        x = 0.025 * c
        z = 0.016 * s + 0.009 * np.clip(c, 0, 1) ** 3 * (s > -0.2)
        return np.stack([x, z], 1)
    raise ValueError(kind)


def glasses(frame: HeadFrame, kind: str):
    """Frame (rims, bridge, temples) and lenses; rimless keeps lenses and thin wires."""
    rig = frame.rig
    heads, _ = rig.bone_ends()
    eyes = {s: heads[rig.bone_names.index(f"eye.{s}")] for s in ("L", "R")}
    cornea_y = min(frame.V[rig.parts[f"eye_{s}"].vertex_ids, 1].min() for s in ("L", "R"))
    bridge = frame.L[BRIDGE]
    y_plane = min(cornea_y, bridge[1]) - 0.010
    rim_r = 0.0012 if kind == "rimless" else (0.0022 if kind != "browline" else 0.0018)
    pieces_frame, pieces_lens = [], []
    b_anc, b_w = frame.landmark_anchor(BRIDGE)
    outline = _lens_outline(kind)
    hinge = {}
    for s, sign in (("L", 1.0), ("R", -1.0)):
        c = np.array([eyes[s][0] + sign * 0.004, y_plane, eyes[s][2] - 0.002])
        ring = np.stack([c[0] + sign * outline[:, 0], np.full(len(outline), c[1]), c[2] + outline[:, 1]], 1)
        if kind != "rimless":
            path = np.r_[ring, ring[:1]]
            att, ps = _tube_local(path, rim_r, closed=True)
            pieces_frame.append((att, ps))
            if kind == "browline":   # the heavy top bar
                top = ring[(outline[:, 1] > 0.004)]
                top = top[np.argsort(sign * (top[:, 0] - c[0]))]
                pieces_frame.append(_tube_local(top + np.array([0, 0, 0.002]), 0.0032))
        # lens: a fan over the outline
        lp = np.r_[c[None], ring] + np.array([0, 0.0005, 0])
        lpolys = [[0, 1 + k, 1 + (k + 1) % len(ring)] for k in range(len(ring))]
        pieces_lens.append((lp, lpolys))
        outer = ring[np.argmax(sign * ring[:, 0])]
        hinge[s] = outer
    # bridge over the nose: an arc between the inner rims
    inner = {s: np.array([eyes[s][0] - (0.004 if s == "L" else -0.004) - (0.021 if s == "L" else -0.021) * 0.9,
                          y_plane, eyes[s][2] + 0.006]) for s in ("L", "R")}
    arc = np.array([inner["R"] * (1 - t) + inner["L"] * t + np.array([0, -0.0, 0.004 * np.sin(np.pi * t)])
                    for t in np.linspace(0, 1, 9)])
    pieces_frame.append(_tube_local(arc, rim_r if kind != "rimless" else 0.0012))
    # temples: from the hinge back along the side of the head to above the ear, then down
    temples = []
    for s, sign in (("L", 1.0), ("R", -1.0)):
        h = hinge[s]
        side = frame.skin_ids[(np.sign(frame.V[frame.skin_ids, 0]) == sign)]
        ys = np.linspace(h[1], frame.E[1] + 0.095, 14)
        path = np.c_[np.full(len(ys), h[0]), ys, np.full(len(ys), h[2])]
        tail = path[-1] + np.array([[0, 0.008 * t, -0.018 * t ** 1.5] for t in np.linspace(0.2, 1, 4)])
        path = np.r_[path, tail]
        for p in path:   # clear the skin (ears included) by 4 mm, never turning inward
            near = side[(np.abs(frame.V[side, 1] - p[1]) < 0.008) & (np.abs(frame.V[side, 2] - p[2]) < 0.012)]
            xmax = np.abs(frame.V[near, 0]).max() if len(near) else 0.0
            p[0] = sign * max(abs(h[0]), xmax + 0.004)
        path[:14, 0] = sign * np.maximum.accumulate(np.abs(path[:14, 0]))
        temples.append((path, s))
    # assemble with anchors: front on the nose bridge and temples; temples on the skin
    frame_pts, frame_polys, off = [], [], 0
    anchors, weights = [], []
    # the front scales with the face: a vertex at lateral fraction t of the hinge width
    # blends the bridge anchor (t = 0) with the skin at its side's temple (t = 1)
    temple_v = {s: frame.nearest_skin((hinge[s] + np.array([-np.sign(hinge[s][0]) * 0.004, 0.012, 0]))[None],
                                      k=1)[0][0, 0] for s in ("L", "R")}

    def front_anchor(pts):
        t = np.clip(np.abs(pts[:, 0] - bridge[0]) / abs(hinge["L"][0] - bridge[0]), 0, 1)
        side = np.where(pts[:, 0] >= bridge[0], temple_v["L"], temple_v["R"])
        anc = np.stack([np.full(len(pts), b_anc[0]), np.full(len(pts), b_anc[1]),
                        np.full(len(pts), b_anc[2]), side], 1)
        w = np.concatenate([b_w[None, :3] * (1 - t[:, None]), t[:, None]], 1)
        return anc, w

    def add(pts, polys, anc, w):
        nonlocal off
        frame_pts.append(pts)
        frame_polys.extend([i + off for i in p] for p in polys)
        anchors.append(anc)
        weights.append(w)
        off += len(pts)

    for a, polys in pieces_frame:
        add(a.offset, polys, *front_anchor(a.offset))
    for path, s in temples:
        att, ps = _tube_local(path, rim_r if kind != "rimless" else 0.0012)
        pts = att.offset
        f = np.clip((pts[:, 1] - path[0, 1]) / (path[-1, 1] - path[0, 1] + 1e-9), 0, 1)
        g = _smoothstep(f / 0.3)[:, None]     # from the temple anchor to the skin it passes
        sk, sw = frame.nearest_skin(pts, k=3)
        ek, ew = frame.nearest_skin(pts, k=3, among=frame.ear_ids)
        on_ear = np.linalg.norm(pts - frame.V[ek[:, 0]], axis=1) < 0.012   # rests on the ear
        sk[on_ear], sw[on_ear] = ek[on_ear], ew[on_ear]
        add(pts, ps, np.concatenate([np.full((len(pts), 1), temple_v[s]), sk], 1),
            np.concatenate([1 - g, g * sw], 1))
    lens_start = off
    for lp, lpolys in pieces_lens:
        add(lp, lpolys, *front_anchor(lp))
    p = np.concatenate(frame_pts)
    att = _attach_free(frame, p, np.concatenate(anchors), np.concatenate(weights))
    mats = [0 if max(poly) < lens_start else 1 for poly in frame_polys]
    return att, frame_polys, mats


def _tube_local(path: np.ndarray, radius: float, sides=8, closed=False):
    """Tube vertices (in ``offset``, rest space) and quads; anchors are filled in later."""
    n = len(path)
    tang = np.gradient(path, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    pts = []
    prev_x = None
    for i in range(n):
        ref = np.array([0.0, 0.0, 1.0]) if abs(tang[i][2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        x = np.cross(tang[i], ref) if prev_x is None else prev_x - (prev_x @ tang[i]) * tang[i]
        x /= np.linalg.norm(x)
        prev_x = x
        y = np.cross(tang[i], x)
        for k in range(sides):
            th = 2 * np.pi * k / sides
            pts.append(path[i] + radius * (np.cos(th) * x + np.sin(th) * y))
    polys = []
    for i in range(n - 1):
        for k in range(sides):
            a, b = i * sides + k, i * sides + (k + 1) % sides
            polys.append([a, b, b + sides, a + sides])
    pts = np.array(pts)
    return Attachment(np.zeros((len(pts), 4), np.int32), np.zeros((len(pts), 4)), np.zeros(len(pts)), pts), polys


GLASSES = {"round": "Round", "rectangular": "Rectangular", "browline": "Browline",
           "aviator": "Aviator", "cat_eye": "Cat-eye", "rimless": "Rimless"}


# ---------------------------------------------------------------------------------------
def build_library(rig: HeadRig | None = None) -> tuple[dict[str, AssetMesh], dict]:
    """Generate every asset; returns ({"<kind>/<id>": AssetMesh}, catalogue dict)."""
    frame = HeadFrame(rig or load_rig())
    assets: dict[str, AssetMesh] = {}
    cat = {"schema": "photo2avatar/assets@1",
           "hair": {"bald": {"name": "Bald", "length": "bald", "volume": 0.0, "parting": "none", "curl": 0.0}},
           "eyebrows": {"none": {"name": "None"}},
           "beard": {"none": {"name": "None", "coverage": 0.0}},
           "glasses": {"none": {"name": "None"}}}
    for hid, (meta, pieces) in hair_styles(frame).items():
        att, polys = _merge(pieces)
        assets[f"hair/{hid}"] = AssetMesh(att, polys, ["hair"], [0] * len(polys), rigid=True, expressions=False)
        cat["hair"][hid] = meta
    for bid, (name, widths, arch, height, jitter) in BROW_STYLES.items():
        att, polys = eyebrow(frame, widths, arch, height, jitter)
        assets[f"eyebrows/{bid}"] = AssetMesh(att, polys, ["eyebrows"], [0] * len(polys), rigid=False,
                                              expressions=True)
        cat["eyebrows"][bid] = {"name": name, "thickness": round(widths[1] * 1000, 1), "arch": round(arch * 1000, 1)}
    for bid, (meta, pieces, mat) in beard_styles(frame).items():
        att, polys = _merge(pieces)
        assets[f"beard/{bid}"] = AssetMesh(att, polys, [mat], [0] * len(polys), rigid=False, expressions=True)
        cat["beard"][bid] = meta
    for gid, name in GLASSES.items():
        att, polys, mats = glasses(frame, gid)
        assets[f"glasses/{gid}"] = AssetMesh(att, polys, ["frame", "lens"], mats, rigid=True, expressions=False)
        cat["glasses"][gid] = {"name": name, "rim": "none" if gid == "rimless" else "full"}
    for kind in ("hair", "eyebrows", "beard", "glasses"):
        for aid, entry in cat[kind].items():
            entry["thumbnail"] = f"docs/assets/{kind}_{aid}.png"
    return assets, cat


def to_arrays(assets: dict[str, AssetMesh]) -> dict[str, np.ndarray]:
    out = {"names": np.array(sorted(assets))}
    for name in sorted(assets):
        a = assets[name]
        sizes = np.array([len(p) for p in a.polys], np.int64)
        out[f"{name}/anchor"] = a.att.anchor.astype(np.int32)
        # rounded to 1e-10 (m / weight units): the last bits vary with BLAS threading, and
        # identical inputs should give identical files
        out[f"{name}/weight"] = np.round(a.att.weight.astype(np.float64), 10)
        out[f"{name}/height"] = np.round(a.att.height.astype(np.float64), 10)
        out[f"{name}/offset"] = np.round(a.att.offset.astype(np.float64), 10)
        out[f"{name}/loop_start"] = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        out[f"{name}/loop_vert"] = np.concatenate(a.polys).astype(np.int32)
        out[f"{name}/poly_material"] = np.array(a.poly_material, np.int16)
        out[f"{name}/materials"] = np.array(a.materials)
        out[f"{name}/flags"] = np.array([a.rigid, a.expressions])
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.parse_args(argv)
    from rigs.build_rig import write
    assets, cat = build_library()
    write(to_arrays(assets), ASSETS_NPZ)
    tmp = CATALOGUE_JSON.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(cat, indent=1) + "\n")
    tmp.replace(CATALOGUE_JSON)
    print(f"wrote {ASSETS_NPZ} ({ASSETS_NPZ.stat().st_size / 1e6:.1f} MB, {len(assets)} assets) and {CATALOGUE_JSON}")


if __name__ == "__main__":
    main()
