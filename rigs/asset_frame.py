"""The frame every asset generator works in, and the geometry primitives they share.

Frames: ``E`` is the midpoint of the eye pivots; the cranium centre ``C`` sits 8.5 cm
behind and 1 cm above it. Azimuth ``alpha`` (degrees) is 0 at the front, +90 at the
avatar's left (+x), +-180 at the back; elevation ``beta`` is measured from ``C``.

A generated piece is a :class:`Piece`: an attachment (how each vertex rides on the skin,
see :mod:`rigs.asset_geometry`), polygons and a per-vertex UV. Hair and beards use the UV
as strand coordinates: ``u`` runs across the strands (centimetres), ``v`` from the root
(0) to the tip (1); their material thins the strands out as ``v`` nears 1, so tips, cut
edges and hairlines fray instead of ending on a hard polygon edge.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rigs.asset_geometry import Attachment, vertex_normals
from rigs.rig_asset import PLACEMENT_PATH, HeadRig, load_correspondence

RIGS_DIR = Path(__file__).resolve().parent
ASSETS_NPZ = RIGS_DIR / "data" / "assets.npz"
CATALOGUE_JSON = RIGS_DIR / "assets.json"
H_MIN = 0.0012     # metres: every shell sits at least this far off the skin
V_BODY = 0.3       # strand coordinate v of a shell's body: past the roots, short of the tips

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
    uv: np.ndarray | None = None   # (n, 2) strand coordinates (hair, beards); None: no UV map


@dataclass
class Piece:
    """Part of an asset: attachment, polygons over its own vertices, per-vertex (u, v)."""
    att: Attachment
    polys: list[list[int]]
    uv: np.ndarray

    @property
    def n(self) -> int:
        return len(self.att.height)


class HeadFrame:
    """The neutral head and the derived quantities the generators share."""

    def __init__(self, rig: HeadRig):
        self.rig = rig
        part = rig.parts["head"]
        self.skin_ids = part.vertex_ids
        self._skin_tree = None     # built on the first nearest_skin query over the whole skin
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
        self.ear_keep = 1.0 - smoothstep((ear_disp - 0.0015) / 0.003)
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
        if among is None:   # the whole skin: one tree for every query (curl clumps ask thousands)
            if self._skin_tree is None:
                self._skin_tree = cKDTree(self.V[ids])
            tree = self._skin_tree
        else:
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


def attach_free(frame: HeadFrame, p: np.ndarray, anchor: np.ndarray, weight: np.ndarray,
                 height: np.ndarray | None = None) -> Attachment:
    """Attachment reproducing rest points ``p`` exactly from given anchors."""
    n = len(p)
    h = np.zeros(n) if height is None else height
    att = Attachment(anchor.astype(np.int32), weight.astype(np.float64), h, np.zeros((n, 3)))
    att.offset = p - att.evaluate(frame.V, frame.N)
    return att


def periodic(alpha, table):
    """Interpolate a (alpha_deg -> value) table periodically over [-180, 180]."""
    xs = np.array([a for a, _ in table], float)
    ys = np.array([v for _, v in table], float)
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    xs = np.r_[xs - 360, xs, xs + 360]
    ys = np.r_[ys, ys, ys]
    return np.interp(alpha, xs, ys)


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def sphere_noise(alpha, beta, seed, scale=1.0):
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


def region_shell(frame, coverage_fn, thickness_fn, level=2, exclude_mouth=True, h_min=H_MIN,
                 avoid_ears=True, ramp=0.4, smooth_edge=True, fray_fn=None, lift=0.0) -> Piece:
    """A shell over the skin where ``coverage_fn`` >= 0.5 (cut at sub-quad resolution so
    the edge is smooth), ``thickness_fn`` metres thick, tapering to ``h_min`` at the edge.
    Ears are cut out softly.

    Strand coordinates: ``u`` runs around the head, so strands run from the crown down;
    ``v`` is ``V_BODY`` inside and rises to 1 at the cut edge (the hairline frays), or to
    ``fray_fn(p)`` where that is larger (a fade, a thinning crown). ``lift`` (metres) raises
    the whole shell, edge included, for outer fur layers."""
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
    inner = smoothstep((cov - 0.5) / ramp)
    height = h_min + lift + thickness_fn(rest) * inner
    v = V_BODY + (1.0 - V_BODY) * (1.0 - inner)
    if fray_fn is not None:
        v = np.maximum(v, fray_fn(rest))
    a, _, _ = frame.polar(rest)
    uv = np.c_[np.radians(a) * 10.0, v]
    if smooth_edge:
        anchor, weight = _smooth_boundary(frame, polys, anchor, weight)
    att = Attachment(anchor, weight, height, np.zeros((len(rest), 3)))
    return Piece(att, polys, uv)


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



def tube(frame, path: np.ndarray, radius, sides=10, twist: float = 0.0, ridges: int = 0,
         ridge_depth: float = 0.0) -> Piece:
    """A closed-ended tube along ``path`` (m, 3); each vertex rides on its nearest skin.

    ``radius`` is a number or one per path point. ``ridges`` > 0 grooves the surface like
    twisted rope (locs) or plaits (braids): the radius varies by ``ridge_depth`` (a
    fraction) around the tube, the pattern turning ``twist`` radians per path point.
    Strand coordinates: ``u`` around (cm), ``v`` from the root (0) to the tip (1)."""
    n = len(path)
    radius = np.broadcast_to(np.asarray(radius, float), (n,))
    tang = np.gradient(path, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    pts, uv = [], []
    prev_x = None
    for i in range(n):
        # parallel transport keeps the frame from flipping where the path turns
        if prev_x is None:
            ref = np.array([0.0, 0.0, 1.0]) if abs(tang[i][2]) < 0.9 else np.array([1.0, 0.0, 0.0])
            x = np.cross(tang[i], ref)
        else:
            x = prev_x - (prev_x @ tang[i]) * tang[i]
        x /= np.linalg.norm(x)
        prev_x = x
        y = np.cross(tang[i], x)
        for k in range(sides):
            th = 2 * np.pi * k / sides
            r = radius[i] * (1.0 + ridge_depth * np.cos(ridges * th + twist * i)) if ridges else radius[i]
            pts.append(path[i] + r * (np.cos(th) * x + np.sin(th) * y))
            uv.append((th * radius[i] * 100.0, i / max(n - 1, 1)))
    pts.append(path[0])
    pts.append(path[-1])
    uv += [(0.0, 0.0), (0.0, 1.0)]
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
    return Piece(attach_free(frame, pts, anc, w), polys, np.array(uv))


def blob(frame, centre: np.ndarray, radii: np.ndarray, segments=20, rings=12, bumps: float = 0.0,
         seed: int = 0) -> Piece:
    """An ellipsoid (bun, knot), its surface bumped by ``bumps`` (a fraction of the radii);
    each vertex rides on its nearest skin."""
    from rigs.build_rig import uv_sphere
    v, faces, _ = uv_sphere(np.zeros(3), 1.0, np.array([0.0, 1.0, 0.0]), segments, rings)
    if bumps:
        a = np.degrees(np.arctan2(v[:, 0], -v[:, 1]))
        b = np.degrees(np.arcsin(np.clip(v[:, 2], -1, 1)))
        v = v * (1.0 + bumps * sphere_noise(a, b, seed, scale=1.5))[:, None]
    pts = centre + v * radii
    anc, w = frame.nearest_skin(pts, k=4)
    uv = np.c_[np.arctan2(v[:, 0], v[:, 1]) * 3.0, np.full(len(v), V_BODY)]
    return Piece(attach_free(frame, pts, anc, w), [list(f) for f in faces], uv)


def merge(parts) -> Piece:
    """Concatenate pieces (or (Attachment, polys) pairs, which get v = 0) into one."""
    atts, polys, uvs, off = [], [], [], 0
    for part in parts:
        att, ps, uv = (part.att, part.polys, part.uv) if isinstance(part, Piece) else (*part, None)
        atts.append(att)
        uvs.append(np.zeros((len(att.height), 2)) if uv is None else uv)
        polys += [[i + off for i in p] for p in ps]
        off += len(att.height)
    att = Attachment(np.concatenate([a.anchor for a in atts]), np.concatenate([a.weight for a in atts]),
                     np.concatenate([a.height for a in atts]), np.concatenate([a.offset for a in atts]))
    return Piece(att, polys, np.concatenate(uvs))


def point_on_sphere(frame, alpha, beta, out):
    """Rest-space point at (alpha, beta) just outside the skin (``out`` metres)."""
    a, b = np.radians(alpha), np.radians(beta)
    d = np.array([np.sin(a) * np.cos(b), -np.cos(a) * np.cos(b), np.sin(b)])
    # march from the centre to the skin along d
    proj = (frame.V[frame.skin_ids] - frame.C) @ d
    perp = np.linalg.norm((frame.V[frame.skin_ids] - frame.C) - proj[:, None] * d, axis=1)
    # the outermost skin near the ray (widening the search where the mesh is coarse)
    near = (perp < 0.012) & (proj > 0)
    if not near.any():
        near = (perp <= np.sort(perp[proj > 0])[:8].max()) & (proj > 0)
    r = proj[near].max()
    return frame.C + (r + out) * d

