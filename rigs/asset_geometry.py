"""Head-attached asset geometry: the representation every asset uses, and its evaluation.

An asset vertex is attached to up to four rig vertices (``anchor`` ids, ``weight``s that
sum to 1) and sits ``height`` metres along their interpolated surface normal plus a fixed
rest-space ``offset`` vector::

    p = sum_k w_k (V[a_k] + height * N[a_k]) + offset

so the same asset fits any head shape: re-evaluate with the shaped vertices ``V`` and
their normals ``N``. Shells (hair caps, beards, brows) use height and anchors on the
skin; hanging hair, buns and glasses use offsets from a few anchors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Attachment:
    """(n, 4) int ``anchor``, (n, 4) float ``weight``, (n,) ``height``, (n, 3) ``offset``."""
    anchor: np.ndarray
    weight: np.ndarray
    height: np.ndarray
    offset: np.ndarray

    def blend_matrix(self, n_head: int):
        """The anchors and weights as a sparse (n, n_head) matrix, for evaluating many heads."""
        from scipy.sparse import csr_matrix
        rows = np.repeat(np.arange(len(self.height)), self.anchor.shape[1])
        return csr_matrix((self.weight.ravel(), (rows, self.anchor.ravel())), shape=(len(self.height), n_head))

    def evaluate(self, verts: np.ndarray, normals: np.ndarray, matrix=None) -> np.ndarray:
        """(n, 3) asset vertex positions on a head with these vertices and normals
        (``matrix``: this attachment's :meth:`blend_matrix`, faster when evaluated often)."""
        if matrix is None:
            base = np.einsum("nk,nkd->nd", self.weight, verts[self.anchor])
            nrm = np.einsum("nk,nkd->nd", self.weight, normals[self.anchor])
        else:
            base, nrm = matrix @ verts, matrix @ normals
        nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
        return base + self.height[:, None] * nrm + self.offset


def vertex_normals(verts: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(N, 3) unit area-weighted vertex normals (zero rows for unused vertices)."""
    v0, v1, v2 = (verts[triangles[:, i]] for i in range(3))
    fn = np.cross(v1 - v0, v2 - v0)
    n = np.zeros_like(verts)
    for i in range(3):
        np.add.at(n, triangles[:, i], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0)


def skin_clearance(points: np.ndarray, verts: np.ndarray, normals: np.ndarray,
                   surface_ids: np.ndarray, k: int = 4) -> np.ndarray:
    """Approximate signed distance of ``points`` to a skin sampled by ``surface_ids``:
    the offset along the normal of each of the ``k`` nearest skin vertices, keeping the
    most outside reading (robust at creases). Negative = behind the skin. The skin is
    sampled every few millimetres, so this resolves millimetre-scale dips; it is not an
    inside test far from the surface."""
    from scipy.spatial import cKDTree
    _, nn = cKDTree(verts[surface_ids]).query(points, k=k)
    sv = surface_ids[nn.reshape(len(points), k)]
    d = np.einsum("nkd,nkd->nk", points[:, None, :] - verts[sv], normals[sv])
    return d.max(axis=1)
