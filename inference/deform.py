"""Landmark-guided Laplacian deformation of the head mesh (seed 002, Sec 4.2, Eq. 8-10).

Energy over the head vertices ``v`` (offsets ``u = v - v_x`` from the shaped head)::

    E(u) = sum_j w_j |u[h_j] - d_j|^2  +  alpha |L u|^2        (landmark + Laplacian terms)

``h_j`` are handle vertices: the vertex nearest each MediaPipe landmark on the rig (the
seed's index set ID) and its mirror twin, a sparse sample of the cranium, and the ring at
the bottom of the neck (held still). ``L`` is the uniform graph Laplacian, so
``|L v_z - L v_x|`` of Eq. 9 is ``|L u|``, and the normal equations

    (S^T W S + alpha L^T L) u = S^T W d

have a matrix that depends only on the topology and the handles: it is factorised once
per rig (sparse LU) and every avatar costs one back-substitution. The seed minimises the
same energy with Adam; ``benchmarks/bench_style.py`` runs both.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from rigs.rig_asset import HeadRig, load_correspondence, load_rig

ALPHA = 0.05             # Laplacian weight against unit landmark weights (rig metres)
CRANIUM_WEIGHT = 0.3     # cranium handles follow the face's overall change, loosely
NECK_WEIGHT = 1.0
NECK_BAND = 0.012        # metres above the lowest head vertex that stay fixed
CRANIUM_STEP = 0.02      # spacing of cranium handle samples (metres)
HANDLE_REACH = 0.004     # a landmark's nearest vertex must lie this close (metres)


@dataclass
class Handles:
    """Handle vertices (asset ids) of the deformation and what drives each."""
    vertex: np.ndarray       # (m,) asset vertex ids
    landmark: np.ndarray     # (m,) MediaPipe landmark index driving it, -1 for none
    kind: np.ndarray         # (m,) 0 landmark, 1 cranium, 2 neck (fixed)
    weight: np.ndarray       # (m,)


def _landmark_handles(rig: HeadRig, head_ids: np.ndarray):
    corr = load_correspondence()
    pts = corr.points(rig.verts)
    usable = corr.valid.copy()
    usable[468:] = False                           # iris points ride on the eyeballs
    from scipy.spatial import cKDTree
    tree = cKDTree(rig.verts[head_ids])
    dist, nn = tree.query(pts)
    usable &= dist < HANDLE_REACH
    verts = head_ids[nn[usable]]
    verts = np.unique(np.r_[verts, rig.mirror[verts]])   # symmetric handle set
    verts = verts[np.isin(verts, head_ids)]
    # each handle is driven by the landmark nearest to it (its own, or its mirror's twin)
    lm_tree = cKDTree(pts[usable])
    _, li = lm_tree.query(rig.verts[verts])
    return verts, np.flatnonzero(usable)[li]


def _cranium_and_neck(rig: HeadRig, head_ids: np.ndarray, face_handles: np.ndarray):
    v = rig.verts[head_ids]
    zmin = v[:, 2].min()
    neck = head_ids[v[:, 2] < zmin + NECK_BAND]
    corr = load_correspondence()
    top = corr.points(rig.verts)[corr.valid][:, 2].max()
    # cranium: above the highest landmark, or behind the ears; sampled on a coarse grid
    y_ear = np.percentile(v[:, 1], 70)
    sel = (v[:, 2] > top + 0.005) | ((v[:, 1] > y_ear) & (v[:, 2] > zmin + 0.08))
    cand = head_ids[sel]
    cells = np.floor(rig.verts[cand] / CRANIUM_STEP).astype(np.int64)
    _, first = np.unique(cells, axis=0, return_index=True)
    cran = cand[np.sort(first)]
    cran = np.unique(np.r_[cran, rig.mirror[cran]])
    cran = cran[np.isin(cran, head_ids) & ~np.isin(cran, face_handles) & ~np.isin(cran, neck)]
    return cran, neck


def uniform_laplacian(n: int, triangles: np.ndarray):
    """(n, n) sparse ``I - D^-1 A`` over the edges of ``triangles`` (local vertex ids)."""
    import scipy.sparse as sp

    from rigs.deformation_transfer import mesh_edges
    e = mesh_edges(triangles)
    adj = sp.coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                        shape=(n, n)).tocsr()
    deg = np.asarray(adj.sum(1)).ravel()
    inv = sp.diags(1.0 / np.maximum(deg, 1.0))
    return (sp.identity(n, format="csr") - inv @ adj).tocsr()


class HeadDeformer:
    """The prefactored deformation of one rig's head part."""

    def __init__(self, rig: HeadRig | None = None, alpha: float = ALPHA):
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu
        self.rig = rig = rig or load_rig()
        self.alpha = alpha
        head = rig.parts["head"]
        self.head_ids = head.vertex_ids
        n = len(self.head_ids)
        tris = np.searchsorted(self.head_ids, head.triangles())
        self.laplacian = uniform_laplacian(n, tris)
        lm_v, lm_i = _landmark_handles(rig, self.head_ids)
        cran, neck = _cranium_and_neck(rig, self.head_ids, lm_v)
        m_l, m_c, m_n = len(lm_v), len(cran), len(neck)
        self.handles = Handles(
            vertex=np.r_[lm_v, cran, neck],
            landmark=np.r_[lm_i, -np.ones(m_c + m_n, np.int64)],
            kind=np.r_[np.zeros(m_l, np.int8), np.ones(m_c, np.int8), np.full(m_n, 2, np.int8)],
            weight=np.r_[np.ones(m_l), np.full(m_c, CRANIUM_WEIGHT), np.full(m_n, NECK_WEIGHT)])
        self.local = np.searchsorted(self.head_ids, self.handles.vertex)
        m = len(self.local)
        self.select = sp.csr_matrix((np.ones(m), (np.arange(m), self.local)), shape=(m, n))
        w = sp.diags(self.handles.weight)
        self.lap_sq = (self.laplacian.T @ self.laplacian).tocsc()
        self.matrix = (self.select.T @ w @ self.select + alpha * self.lap_sq).tocsc()
        self._lu = splu(self.matrix)
        self._rhs_map = (self.select.T @ w).tocsr()

    def solve(self, handle_offsets: np.ndarray) -> np.ndarray:
        """(m, 3) target offsets of the handles -> (n_head, 3) offsets of every head vertex."""
        d = np.asarray(handle_offsets, dtype=np.float64)
        if d.shape != (len(self.local), 3):
            raise ValueError(f"expected ({len(self.local)}, 3) handle offsets, got {d.shape}")
        if not np.isfinite(d).all():
            raise ValueError("handle offsets contain NaN or infinity")
        return self._lu.solve(np.asarray(self._rhs_map @ d))

    def energy(self, offsets: np.ndarray, handle_offsets: np.ndarray) -> float:
        """E(u) for head offsets ``u`` (the quantity both solvers minimise)."""
        r = offsets[self.local] - handle_offsets
        lu = self.laplacian @ offsets
        return float((self.handles.weight[:, None] * r ** 2).sum() + self.alpha * (lu ** 2).sum())

    def follow_cranium(self, verts: np.ndarray, handle_offsets: np.ndarray) -> np.ndarray:
        """Fill the cranium rows of ``handle_offsets`` with the affine map that best explains
        the landmark rows (the skull follows the face's overall change); neck rows stay 0."""
        d = handle_offsets.copy()
        lm = self.handles.kind == 0
        p = verts[self.handles.vertex]
        a = np.c_[p[lm], np.ones(lm.sum())]
        coef, *_ = np.linalg.lstsq(a, p[lm] + d[lm], rcond=None)
        cr = self.handles.kind == 1
        d[cr] = np.c_[p[cr], np.ones(cr.sum())] @ coef - p[cr]
        d[self.handles.kind == 2] = 0.0
        return d


@functools.lru_cache(maxsize=1)
def head_deformer() -> HeadDeformer:
    """The deformer of the shipped rig (factorised on first use, ~0.1 s)."""
    return HeadDeformer()


def reseat_parts(rig: HeadRig, verts: np.ndarray, head_offsets: np.ndarray, reach: float = 0.015) -> np.ndarray:
    """Offsets for every rig vertex: the head's own, and for each other part (eyes, teeth,
    tongue) the scale (uniform for eyeballs, per axis otherwise) + translation that
    carries the head around it along, fitted with
    Gaussian weights (``reach`` metres) on the head vertices' distance to the part, so
    symmetric heads give symmetric results (numpy only: Blender's Python runs this too)."""
    out = np.zeros_like(verts)
    head_ids = rig.parts["head"].vertex_ids
    out[head_ids] = head_offsets
    src_all = verts[head_ids]
    for name, part in rig.parts.items():
        if name == "head":
            continue
        ids = part.vertex_ids
        c = verts[ids].mean(0)
        extent = np.linalg.norm(verts[ids] - c, axis=1).max()
        dist = np.maximum(np.linalg.norm(src_all - c, axis=1) - extent, 0.0)
        w = np.exp(-(dist / reach) ** 2)
        w /= w.sum()
        dst_all = src_all + head_offsets
        ms, md = w @ src_all, w @ dst_all
        var_s = w @ (src_all - ms) ** 2
        var_d = w @ (dst_all - md) ** 2
        s = np.sqrt(var_d / np.maximum(var_s, 1e-12))          # per axis: teeth follow a narrower mouth
        if name.startswith("eye"):
            s = np.full(3, np.sqrt(var_d.sum() / max(var_s.sum(), 1e-12)))   # eyeballs stay round
        out[ids] = (s * (verts[ids] - ms) + md) - verts[ids]
    return out
