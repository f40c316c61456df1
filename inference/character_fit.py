"""Shape another character's head like the photo: landmark-guided Laplacian deformation of
a mesh of any topology (seed 002, Sec. 4.2, Eq. 8-10, on their mesh instead of ours). No bpy.

Inputs: the character's vertices and triangles (object space), where MediaPipe's landmarks
lie on its surface (triangle + barycentric weights, found by rendering it:
``blender_addon.character``), and the photo's avatar. What moves the landmarks is what the
photo changes on our rig: ``D = L(avatar) - L(default)``, the rig's landmark points with
the avatar's shape (and style deformation) minus those of the default head, carried into
the character's frame by the similarity that maps our default landmarks onto theirs
(Umeyama). Their head then minimises

    E(u) = sum_j |B_j u - d_j|^2 + alpha u^T K u,     u = 0 outside the head region,

with ``B_j`` the barycentric row of landmark j, ``d_j = s R D_j`` and ``K = D - A`` the
graph Laplacian of their mesh: the seed's Laplacian term in its membrane form (the
bi-Laplacian ``|Lu|^2`` of :mod:`inference.deform` factorises 9x slower on a 30k-vertex
head), followed by a few passes of neighbour averaging. The region is a ball around the face (``REGION`` face radii); the
Laplacian carries the change smoothly to its boundary, so the neck and body, outside it,
keep every vertex where it was.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.fit import umeyama

ALPHA = 0.05          # Laplacian weight against unit landmark weights (as inference.deform)
REGION = 1.8          # free region radius, in face radii (the landmarks' spread around their centre)
SMOOTHING_PASSES = 3
OUTLIER = 3.0         # landmarks farther than this many median residuals from the similarity drop out


@dataclass
class SurfacePoints:
    """Landmarks on the character: ``tri`` (478, 3) vertex ids, ``bary`` (478, 3), ``valid`` (478,)."""
    tri: np.ndarray
    bary: np.ndarray
    valid: np.ndarray

    def points(self, verts: np.ndarray) -> np.ndarray:
        return np.einsum("lk,lkd->ld", self.bary, verts[self.tri])


def rig_landmark_change(avatar, deformation: np.ndarray | None = None,
                        shape: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(default landmarks, their change under ``avatar``, usable mask) on our rig, metres,
    rig axes. ``deformation``: the style's head offsets at strength 1 (pipeline Analysis);
    ``shape``: sliders to use instead of the avatar's (the pipeline's geometric fit: the
    avatar's own sliders are tuned to how MediaPipe reads our toon renders, which their
    character does not share; on 4 photos x the low-poly head the geometric sliders moved
    MediaPipe's reading of its render toward the photo in 3 cases, the avatar's in 1)."""
    from rigs.catalogue import target_weights
    from rigs.rig_asset import load_correspondence, load_rig
    rig, corr = load_rig(), load_correspondence()
    base = rig.deformed({})
    shaped = rig.deformed(target_weights(avatar.shape if shape is None else shape))
    if deformation is not None:
        head = rig.parts["head"].vertex_ids
        shaped[head] += np.asarray(deformation) * float(avatar.style.get("strength", 1.0))
    usable = corr.valid.copy()
    usable[468:] = False          # the irises ride on the eyeballs, not the skin
    l0 = corr.points(base)
    return l0, corr.points(shaped) - l0, usable


def similarity_to(src: np.ndarray, dst: np.ndarray, keep: np.ndarray):
    """Robust similarity (s, R, t) from ``src`` to ``dst`` over ``keep``; returns it and
    the landmarks it kept (outliers of a first fit dropped)."""
    keep = keep.copy()
    for _ in range(2):
        s, r, t = umeyama(src[keep], dst[keep], np.ones(keep.sum()))
        res = np.linalg.norm(s * src @ r.T + t - dst, axis=1)
        med = np.median(res[keep])
        keep &= res <= OUTLIER * max(med, 1e-12)
    return (s, r, t), keep


def graph_laplacian(n: int, triangles: np.ndarray):
    """(n, n) sparse symmetric ``D - A`` over the edges of ``triangles``."""
    import scipy.sparse as sp

    from rigs.deformation_transfer import mesh_edges
    e = mesh_edges(triangles)
    adj = sp.coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                        shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    return (sp.diags(np.asarray(adj.sum(1)).ravel()) - adj).tocsr()


def components(lap) -> np.ndarray:
    """(n,) connected-component label of each vertex of the mesh whose graph Laplacian
    (:func:`graph_laplacian`) is ``lap``."""
    from scipy.sparse.csgraph import connected_components
    return connected_components(abs(lap) > 0, directed=False)[1]


def on_skin(surface: SurfacePoints, n: int, triangles: np.ndarray) -> SurfacePoints:
    """``surface`` with only the landmarks on the piece of mesh that holds most of them:
    a lid landmark whose ray hit the eyeball under it would hold a separate eyeball to the
    skin's motion and bend it."""
    if not surface.valid.any():
        return surface
    comp = components(graph_laplacian(n, triangles))[surface.tri[:, 0]]
    skin = np.bincount(comp[surface.valid]).argmax()
    return SurfacePoints(surface.tri, surface.bary, surface.valid & (comp == skin))


class CharacterDeformer:
    """The factorised deformation of one character mesh with its landmark points."""

    def __init__(self, verts: np.ndarray, triangles: np.ndarray, surface: SurfacePoints,
                 region: float = REGION, alpha: float = ALPHA):
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        self.verts = np.asarray(verts, np.float64)
        self.surface = surface
        pts = surface.points(self.verts)[surface.valid]
        centre = pts.mean(0)
        self.face_radius = float(np.linalg.norm(pts - centre, axis=1).max())
        dist = np.linalg.norm(self.verts - centre, axis=1)
        self.free = np.flatnonzero(dist < region * self.face_radius)
        n = len(self.verts)
        lap = graph_laplacian(n, np.asarray(triangles))
        # landmark rows over the free vertices (a landmark's fixed corners stay fixed)
        lm = np.flatnonzero(surface.valid)
        rows = np.repeat(np.arange(len(lm)), 3)
        b = sp.csr_matrix((surface.bary[lm].ravel(), (rows, surface.tri[lm].ravel())), shape=(len(lm), n))
        col = sp.csr_matrix((np.ones(len(self.free)), (self.free, np.arange(len(self.free)))),
                            shape=(n, len(self.free)))
        self._b = (b @ col).tocsr()
        # the membrane (Dirichlet) energy u^T K u over the free vertices, the fixed ones at 0
        # (a bi-Laplacian |Lu|^2 factorises 9x slower on a 30k-vertex head: 3.5 s vs 0.37 s)
        self._k = lap[self.free][:, self.free].tocsc()
        self._lap = lap
        # pieces of the region that no landmark holds (eyeballs, teeth: separate islands)
        # would float freely in u^T K u: a tiny pull to zero keeps the system definite, and
        # solve() moves each such island with the skin around it
        eps = 1e-8 * float(abs(self._b.T @ self._b).max())
        self.matrix = (self._b.T @ self._b + alpha * self._k
                       + eps * sp.identity(len(self.free))).tocsc()
        self._lu = splu(self.matrix)
        self.landmarks = lm
        comp = components(lap)
        held = np.unique(comp[surface.tri[lm].ravel()])
        self.islands = [np.intersect1d(np.flatnonzero(comp == c), self.free)
                        for c in np.setdiff1d(np.unique(comp[self.free]), held)]

    def solve(self, landmark_offsets: np.ndarray) -> np.ndarray:
        import scipy.sparse as sp
        """(478, 3) target offsets of the landmarks (rows of invalid ones ignored) ->
        (n, 3) vertex offsets, zero outside the region."""
        d = np.asarray(landmark_offsets, np.float64)[self.landmarks]
        u = np.zeros_like(self.verts)
        u[self.free] = self._lu.solve(np.asarray(self._b.T @ d))
        # the membrane leaves a small tent under each landmark on a dense mesh: a few passes
        # of neighbour averaging over the free vertices smooth them out
        deg = np.asarray(self._lap.diagonal())
        adj = (sp.diags(deg) - self._lap).tocsr()
        for _ in range(SMOOTHING_PASSES):
            avg = (adj @ u) / np.maximum(deg, 1.0)[:, None]
            u[self.free] = 0.5 * u[self.free] + 0.5 * avg[self.free]
        held = np.setdiff1d(self.free, np.concatenate(self.islands) if self.islands else [])
        for island in self.islands:
            # the island moves like the held skin nearest it (Gaussian weights, a tenth of the face radius)
            c = self.verts[island].mean(0)
            extent = np.linalg.norm(self.verts[island] - c, axis=1).max()
            dist = np.maximum(np.linalg.norm(self.verts[held] - c, axis=1) - extent, 0.0)
            w = np.exp(-(dist / (0.1 * self.face_radius)) ** 2)
            if w.sum() > 1e-12:
                u[island] = (w @ u[held]) / w.sum()
        return u


def character_offsets(verts: np.ndarray, triangles: np.ndarray, surface: SurfacePoints,
                      rig_l0: np.ndarray, rig_change: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, dict]:
    """Vertex offsets that give the character the photo's face, and figures for a report
    (landmarks used, the similarity's scale, the residual of our landmarks on theirs)."""
    theirs = surface.points(np.asarray(verts, np.float64))
    keep = surface.valid & usable
    (s, r, t), keep = similarity_to(rig_l0, theirs, keep)
    target = np.zeros((len(theirs), 3))
    target[keep] = s * rig_change[keep] @ r.T
    fitted = SurfacePoints(surface.tri, surface.bary, keep)
    deformer = CharacterDeformer(verts, triangles, fitted)
    u = deformer.solve(target)
    res = np.linalg.norm(s * rig_l0 @ r.T + t - theirs, axis=1)[keep]
    info = {"landmarks": int(keep.sum()), "scale": float(s), "free_vertices": int(len(deformer.free)),
            "fit_residual_of_face_radius": float(np.median(res) / deformer.face_radius),
            "face_radius": deformer.face_radius}
    return u, info


PIN_REACH = 0.3       # a moved pin drags landmarks within about this many face radii along


def pin_targets(found: np.ndarray, valid: np.ndarray, pins: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Where the landmarks should lie once the artist's pins correct them.

    ``found`` (478, 3): the landmarks as found on their mesh, ``valid`` which of them were;
    ``pins``: landmark id -> the position the artist gave it (same frame). A pinned landmark
    goes exactly to its pin; the others move by the pins' displacements, each weighted by a
    Gaussian of the distance between the landmarks as found (width :data:`PIN_REACH` face
    radii) and normalised only where pins overlap, so one moved pin drags its neighbourhood
    along (a moved mouth corner takes the lip points beside it) and fades out across the face.
    Returns (targets, valid): pinned landmarks count as valid even if the search missed them.
    """
    found = np.asarray(found, np.float64)
    valid = np.asarray(valid, bool).copy()
    targets = found.copy()
    pins = {int(k): v for k, v in pins.items()}
    ids = np.array(sorted(pins), np.int64)
    if len(ids) == 0:
        return targets, valid
    at = np.array([pins[i] for i in ids], np.float64)
    known = valid[ids]
    if valid.sum() >= 3 and known.any():
        centre = found[valid].mean(0)
        radius = float(np.linalg.norm(found[valid] - centre, axis=1).max())
        src, disp = found[ids[known]], at[known] - found[ids[known]]
        d2 = ((found[:, None, :] - src[None]) ** 2).sum(-1)
        w = np.exp(-d2 / (2.0 * (PIN_REACH * radius) ** 2))
        targets = found + (w @ disp) / np.maximum(w.sum(1), 1.0)[:, None]
    targets[ids] = at
    valid[ids] = True
    return targets, valid
