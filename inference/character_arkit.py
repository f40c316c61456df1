"""ARKit's 52 expression keys for another character's mesh, carried over from our rig by
deformation transfer (seed 002's expression transfer, on a mesh of any topology). No bpy.

Our rig has the 52 keys as vertex deltas on its head, eyes, teeth and tongue. To give
them to their mesh, which shares neither topology nor proportions with ours:

1. **Register** our rig onto their face: the similarity (Umeyama) that maps our
   MediaPipe landmarks onto theirs, then a landmark-guided Laplacian deformation of our
   rig (:class:`inference.character_fit.CharacterDeformer`) that puts each of our
   landmarks on theirs, the rest following smoothly.
2. **Correspond**: each of their vertices near the face takes the nearest vertices of the
   registered rig whose normals agree with its own (so an upper-lip vertex does not take
   the lower lip's motion where the lips touch), weighted by inverse squared distance,
   and fades out where no rig surface is near (hair, accessories, the back of the head).
3. **Carry** each key: our delta, mapped by the registration's local linear map (the
   per-vertex Jacobian of :mod:`rigs.deformation_transfer`: a brow that is wider on them
   moves wider), then by the similarity into their frame.

:func:`landmark_motion_agreement` measures the result the way a user would see it: how
closely each key moves their landmarks like it moves ours.
"""
from __future__ import annotations

import numpy as np

from inference.character_fit import SurfacePoints, components, graph_laplacian
from inference.character_register import frames, register_rig, rig_mesh

NEIGHBOURS = 16
NORMAL_AGREE = 0.3     # cosine: a rig vertex counts for theirs when their normals agree more ...
NORMAL_FULL = 0.7      # ... and fully from this much (a soft gate keeps the deltas continuous)
SPREAD = 1.0           # Gaussian weights over rig vertices, in the rig's median edge lengths
SMOOTHING_PASSES = 4   # neighbour averaging of the carried deltas along their mesh
NEAR = 0.04            # face radii: full effect when the registered rig is this close ...
FAR = 0.15             # ... fading to none this far away
REGION = 1.6           # face radii around their landmarks' centre that can get expression deltas


def live_link_name(arkit: str) -> str:
    """The name Live Link Face gives an ARKit channel (``jawOpen`` -> ``JawOpen``)."""
    return arkit[0].upper() + arkit[1:]


def _vertex_parts(rig) -> np.ndarray:
    """(N,) index of the rig part each vertex belongs to."""
    out = np.zeros(rig.n_verts, np.int64)
    for i, p in enumerate(rig.parts.values()):
        out[p.vertex_ids] = i
    return out


def arkit_deltas(verts: np.ndarray, triangles: np.ndarray, surface: SurfacePoints,
                 names=None) -> tuple[dict[str, np.ndarray], dict]:
    """{ARKit name: (n, 3) deltas in their object space} for the character mesh
    ``verts``/``triangles`` whose landmarks are ``surface``, and figures for a report."""
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    from rigs.arkit import ARKIT_NAMES
    from rigs.asset_geometry import vertex_normals
    from rigs.deformation_transfer import carry, local_jacobians, mesh_edges
    names = tuple(ARKIT_NAMES if names is None else names)
    verts, triangles = np.asarray(verts, np.float64), np.asarray(triangles)
    # 1. our rig registered onto their landmarks, in our frame
    reg = register_rig(verts, surface)
    rig, rig_tris, ours, registered = reg.rig, reg.rig_tris, reg.ours, reg.registered
    (s, r, _), keep, to_ours = reg.similarity, reg.keep, reg.to_ours
    rig_edges = mesh_edges(rig_tris)
    jac = local_jacobians(ours, registered, rig_edges)
    residual = reg.residual

    # 2. their face vertices -> nearby registered rig vertices that face the same way
    radius = reg.face_radius                   # ours, metres
    region = reg.region(verts, REGION)
    q = to_ours(verts[region])
    nq = vertex_normals(verts, triangles)[region] @ r        # rotation only
    n_ours = vertex_normals(registered, rig_tris)
    dist, idx = cKDTree(registered).query(q, k=NEIGHBOURS)
    facing = np.clip((np.einsum("qd,qkd->qk", nq, n_ours[idx]) - NORMAL_AGREE) / (NORMAL_FULL - NORMAL_AGREE),
                     0.0, 1.0)
    agree = facing > 0
    # and only from one rig part: their skin (the piece holding the landmarks) from our
    # skin, each other piece of theirs (eyeballs, teeth) from the part most of it lies on;
    # so a lid does not average in the eyeball under it, nor an eyeball the lid over it
    part = _vertex_parts(rig)[idx]
    lap = graph_laplacian(len(verts), triangles)
    labels = components(lap)
    comp = labels[region]
    skin = np.bincount(labels[surface.tri[keep, 0]]).argmax()
    nearest_part = part[np.arange(len(q)), np.argmax(agree, axis=1)]
    want = np.zeros(len(q), np.int64)                      # part 0 is the rig's head skin
    for c in np.unique(comp[comp != skin]):
        sel = comp == c
        want[sel] = np.bincount(nearest_part[sel & agree.any(1)], minlength=1).argmax()
    agree &= part == want[:, None]
    nearest = np.where(agree, dist, np.inf).min(1)
    # Gaussian in the distance beyond the nearest (smooth as neighbours come and go, and as
    # well-conditioned where their surface lies a few mm off ours)
    rig_edge = float(np.median(np.linalg.norm(registered[rig_edges[:, 0]] - registered[rig_edges[:, 1]], axis=1)))
    h = SPREAD * rig_edge
    w = facing * agree * np.exp(-((dist - np.where(np.isfinite(nearest), nearest, 0.0)[:, None]) / h) ** 2)
    fade = np.clip((FAR * radius - nearest) / ((FAR - NEAR) * radius), 0.0, 1.0)
    wsum = w.sum(1)
    w = np.divide(w * fade[:, None], wsum[:, None], out=np.zeros_like(w), where=wsum[:, None] > 0)

    # 3. each key carried through the registration, then into their frame; a few passes of
    # neighbour averaging along their edges smooth what their finer mesh samples of ours
    carried = np.stack([carry(jac, rig.target_dense(f"arkit/{name}")) for name in names], axis=1)
    weights = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(len(q)), idx.shape[1]), idx.ravel())),
                            shape=(len(q), len(ours)))
    flat = weights @ carried.reshape(len(ours), -1)          # (region, keys * 3)
    deg = lap.diagonal()[region]
    adj = (sp.diags(lap.diagonal()) - lap).tocsr()[region][:, region]
    # only where their mesh is finer than ours: a coarse mesh already samples it smoothly,
    # and averaging its big triangles would flatten a blink
    their_edges = mesh_edges(triangles)
    elen = np.linalg.norm(verts[their_edges[:, 0]] - verts[their_edges[:, 1]], axis=1) / s
    mean_edge = np.bincount(their_edges.ravel(), np.r_[elen, elen], len(verts)) / np.maximum(
        np.bincount(their_edges.ravel(), minlength=len(verts)), 1)
    beta = (0.5 * np.clip((rig_edge - mean_edge[region]) / rig_edge, 0.0, 1.0))[:, None]
    for _ in range(SMOOTHING_PASSES):
        flat = (1 - beta) * flat + beta * (adj @ flat) / np.maximum(deg, 1.0)[:, None]
    d = flat.reshape(len(region), len(names), 3).transpose(1, 0, 2)
    out = {}
    for name, dn in zip(names, d):
        full = np.zeros_like(verts)
        full[region] = s * dn @ r.T
        out[name] = full
    info = {"registration_residual_of_face_radius": float(np.median(residual) / radius),
            "expression_vertices": int((fade > 0).sum()), "scale": float(s)}
    return out, info


def landmark_motion_agreement(verts: np.ndarray, surface: SurfacePoints,
                              deltas: dict[str, np.ndarray]) -> dict[str, float]:
    """{name: |their landmark motion - ours (in their frame)| / |ours|} over the landmarks
    both meshes hold: 0 when a key moves their face exactly as it moves ours."""
    rig, _, corr = rig_mesh()
    verts = np.asarray(verts, np.float64)
    ours, ours_l, theirs_l, (s, r, _), keep = frames(rig, corr, verts, surface)
    out = {}
    for name, d in deltas.items():
        m_ours = s * (corr.points(ours + rig.target_dense(f"arkit/{name}")) - ours_l)[keep] @ r.T
        m_theirs = (surface.points(verts + d) - theirs_l)[keep]
        norm = np.linalg.norm(m_ours)
        if norm > 1e-9 * s:
            out[name] = float(np.linalg.norm(m_theirs - m_ours) / norm)
    return out
