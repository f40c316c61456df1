"""Do assets stay outside the head? The intersection check behind the asset tests.

For a head shape, every asset is evaluated on the shaped skin and the signed distance
of its vertices to the skin and eyeballs is measured against a dense sampling of the
skin's triangles (every few millimetres, each sample carrying its face normal), so large
faces such as the crown's are measured as rendered. Only
vertices within ``band`` of the surface count: an open bust has no inside far from its
skin, and an asset that dips into the head does so near the surface first.

The ears are thin folded flaps whose normals do not tell inside from outside, so they
are left out of the signed surface and checked by clearance instead: an asset vertex
closer than ``tolerance`` to an ear vertex counts as touching it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rigs.asset_geometry import vertex_normals
from rigs.asset_library import AssetData
from rigs.catalogue import shape_catalogue, target_weights
from rigs.rig_asset import HeadRig


@dataclass
class Penetration:
    asset: str
    shape: str
    depth_mm: float      # deepest vertex below the skin, millimetres (>= 0)
    count: int           # vertices deeper than the tolerance


def extreme_shapes() -> dict[str, dict[str, float]]:
    """The default shape and every catalogue slider alone at its minimum and maximum."""
    shapes = {"default": {}}
    for p in shape_catalogue():
        for v in (p.min, p.max):
            if v != p.default:
                shapes[f"{p.name}={v:g}"] = {p.name: v}
    return shapes


def ear_vertices(rig: HeadRig) -> np.ndarray:
    """Vertices the ear-size sliders move by more than 2 mm: the ears."""
    d = np.linalg.norm(rig.target_dense("ears/l-ear-scale-incr") + rig.target_dense("ears/r-ear-scale-incr"), axis=1)
    return np.flatnonzero(d > 2e-3)


def surface_samples(triangles: np.ndarray, verts: np.ndarray, spacing: float = 0.004):
    """(tri id, barycentric) samples covering each triangle at about ``spacing``."""
    tri_ids, barys = [], []
    edge = np.max(np.linalg.norm(verts[triangles] - verts[np.roll(triangles, 1, axis=1)], axis=2), axis=1)
    for t, e in enumerate(edge):
        m = max(1, int(np.ceil(e / spacing)))
        for i in range(m + 1):
            for j in range(m + 1 - i):
                tri_ids.append(t)
                barys.append(((i + 1 / 3) / (m + 1), (j + 1 / 3) / (m + 1)))
    b = np.array(barys)
    return np.array(tri_ids), np.c_[1 - b.sum(1), b]


def random_shapes(n: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """``n`` head shapes with every catalogue slider drawn uniformly over its range."""
    rng = np.random.default_rng(seed)
    cat = shape_catalogue()
    return {f"random{i}": {p.name: float(rng.uniform(p.min, p.max)) for p in cat} for i in range(n)}


def check_assets(rig: HeadRig, assets: dict[str, AssetData], shapes: dict[str, dict[str, float] | tuple],
                 tolerance: float = 0.001, band: float = 0.015) -> list[Penetration]:
    """Worst penetration per asset over ``shapes`` (metres in, millimetres out).

    A shape is a slider dict, or ``(sliders, offsets, strength)`` with a style's unit head
    offsets (N, 3) at that strength, combined as the Blender avatar does: the head's and
    each asset's style key add to their slider keys (the asset's key is the asset on the
    rest head plus the offsets)."""
    from scipy.spatial import cKDTree
    tris = np.concatenate([rig.parts[p].triangles() for p in ("head", "eye_L", "eye_R")])
    ear = ear_vertices(rig)
    sample_tri, sample_bary = surface_samples(tris, rig.verts)
    # a sample is "ear" when its triangle touches the ear
    sample_ear = np.isin(tris[sample_tri], ear).any(1)
    worst = {name: Penetration(name, "default", 0.0, 0) for name in assets}
    rest = None
    for shape_name, shape in shapes.items():
        sliders, u, strength = (shape, None, 0.0) if isinstance(shape, dict) else shape
        v_sliders = rig.deformed(target_weights(sliders))
        n_sliders = vertex_normals(v_sliders, tris)
        if u is not None:
            if rest is None:
                rest = (rig.verts, vertex_normals(rig.verts, tris))
            styled = (rig.verts + u, vertex_normals(rig.verts + u, tris))
        v = v_sliders if u is None else v_sliders + strength * u
        corners = v[tris[sample_tri]]
        pos = np.einsum("sk,skd->sd", sample_bary, corners)
        fn = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-12)
        tree = cKDTree(pos)
        low = v[rig.parts["head"].vertex_ids, 2].min() + 0.005
        for name, a in assets.items():
            p = a.att.evaluate(v_sliders, n_sliders)
            if u is not None:
                p = p + strength * (a.att.evaluate(*styled) - a.att.evaluate(*rest))
            p = p[p[:, 2] > low]             # below the bust there is nothing to cut into
            gap, nn = tree.query(p, k=4)
            near_ear = sample_ear[nn[:, 0]]
            off = np.einsum("nkd,nkd->nk", p[:, None, :] - pos[nn], fn[nn]).max(1)
            d = off[~near_ear & (np.abs(off) < band)]
            # next to an ear only the gap counts: touching it is an intersection
            d = np.r_[d, np.minimum(gap[near_ear, 0] - tolerance, 0.0)]
            depth = float(-d.min()) if len(d) and d.min() < 0 else 0.0
            if depth * 1000 > worst[name].depth_mm:
                worst[name] = Penetration(name, shape_name, depth * 1000, int((d < -tolerance).sum()))
    return sorted(worst.values(), key=lambda p: -p.depth_mm)
