"""The photo's face painted into another character's own texture, through their UVs. No bpy.

The photo is first projected onto our head's UV map as for our own avatar
(:func:`inference.texture.project_photo`: visibility, mirror fill, shading divided out),
with the photo's brows and beard kept, since their character wears none of our assets,
and stylized as the chosen style stylizes ours. Their mesh then reads it through our
rig laid onto their face (:func:`inference.character_register.register_rig`, where our
landmarks sit on theirs):

1. every texel of their UV map on their face skin is rasterized to its point on their
   surface (triangle + barycentric weights);
2. that point finds the closest point on our registered head whose normal agrees with
   theirs, hence a UV on our map and a colour from our texture;
3. it is blended into their texture by a weight that is 1 over the inner face, feathers
   out toward the face outline (where hair, ears and their own paint begin), and fades
   where our head lies far from their surface (their hair, horns, accessories).

The result is a patch (colour + weight) over their whole image, at a working resolution
of at most :data:`WORK_SIZE`; :mod:`blender_addon.character` blends it into their image.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from inference.character_fit import SurfacePoints, components, graph_laplacian
from inference.character_register import register_rig

WORK_SIZE = 2048       # their texture is painted at most this many texels a side (then resized)
REGION = 1.6           # face radii around their landmarks' centre whose triangles are painted
CANDIDATES = 8         # nearest registered rig triangles a texel's point is projected onto
NORMAL_AGREE = 0.3     # cosine of the normals below which our head gives their texel no colour ...
NORMAL_FULL = 0.7      # ... and above which it gives it in full (a soft gate: no blocky holes)
NEAR, FAR = 0.04, 0.12  # face radii: full weight while our head is this close to theirs, none this far
FEATHER_IN = 0.25      # face radii inside the face outline where the weight reaches 1 ...
FEATHER_OUT = 0.05     # ... and outside it where it reaches 0
BLEED = 3              # texels the patch grows into their UV gutters (filtering at island edges)
CHUNK = 200_000


@dataclass
class TexturePatch:
    """What to blend into their image: ``rgb`` (H, W, 3) sRGB in [0, 1] and ``alpha`` (H, W),
    row 0 at the top (v = 1), at the image's full size."""
    rgb: np.ndarray
    alpha: np.ndarray
    info: dict


def closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """Closest points of triangles (a, b, c) to points ``p`` (all (M, 3)): distances (M,)
    and barycentric weights (M, 3)."""
    ab, ac, ap = b - a, c - a, p - a
    n = np.cross(ab, ac)
    nn = np.maximum(np.einsum("md,md->m", n, n), 1e-30)
    # inside the triangle: the projection onto its plane
    w1 = np.einsum("md,md->m", np.cross(ap, ac), n) / nn
    w2 = np.einsum("md,md->m", np.cross(ab, ap), n) / nn
    bary = np.stack([1 - w1 - w2, w1, w2], axis=1)
    inside = (bary >= 0).all(1)
    best = np.where(inside, np.abs(np.einsum("md,md->m", ap, n)) / np.sqrt(nn), np.inf)
    out = np.where(inside[:, None], bary, 0.0)
    # otherwise the nearest of the three edges
    corners = (a, b, c)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        e = corners[j] - corners[i]
        t = np.clip(np.einsum("md,md->m", p - corners[i], e) / np.maximum(np.einsum("md,md->m", e, e), 1e-30), 0, 1)
        d = np.linalg.norm(corners[i] + t[:, None] * e - p, axis=1)
        better = ~inside & (d < best)
        best = np.where(better, d, best)
        bw = np.zeros_like(out)
        bw[:, i], bw[:, j] = 1 - t, t
        out = np.where(better[:, None], bw, out)
    return best, out


def _density(corners: np.ndarray, uv: np.ndarray, texels: float) -> float:
    """Texels per metre of triangles (T, 3, 3) with UVs (T, 3, 2) on a ``texels``-wide map."""
    a3 = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1).sum()
    a2 = np.abs(np.cross(uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0])).sum()
    return float(texels * np.sqrt(a2 / max(a3, 1e-30)))


class _RigSurface:
    """Our registered head skin, for closest-point queries with a normal gate."""

    def __init__(self, reg):
        from scipy.spatial import cKDTree

        from inference.texture import head_uv
        self.huv = huv = head_uv()
        self.corner = reg.registered[huv.verts]                  # (T_r, 3, 3)
        self.rest = reg.ours[huv.verts]
        fn = np.cross(self.corner[:, 1] - self.corner[:, 0], self.corner[:, 2] - self.corner[:, 0]) * huv.winding
        self.normal = fn / np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-30)
        self.tree = cKDTree(self.corner.mean(1))
        self.island = _uv_islands()

    def closest(self, points: np.ndarray, normals: np.ndarray):
        """Per point: distance to the nearest triangle facing its way (inf where none does),
        our UV, our rest position and UV island there, and the normal gate's weight."""
        m = len(points)
        dist, uv, rest, island = np.full(m, np.inf), np.zeros((m, 2)), np.zeros((m, 3)), np.full(m, -1.0)
        facing = np.zeros(m)
        normals = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        for lo in range(0, m, CHUNK):
            p, n = points[lo:lo + CHUNK], normals[lo:lo + CHUNK]
            c = len(p)
            _, idx = self.tree.query(p, k=CANDIDATES)
            flat = idx.ravel()
            d, w = closest_on_triangles(np.repeat(p, CANDIDATES, axis=0), *(self.corner[flat, j] for j in range(3)))
            cos = np.einsum("md,mkd->mk", n, self.normal[idx])
            d = np.where(cos > 0.0, d.reshape(c, CANDIDATES), np.inf)
            pick = np.argmin(d, axis=1)
            rows = np.arange(c)
            facing[lo:lo + c] = np.clip((cos[rows, pick] - NORMAL_AGREE) / (NORMAL_FULL - NORMAL_AGREE), 0.0, 1.0)
            wp, tp = w.reshape(c, CANDIDATES, 3)[rows, pick], idx[rows, pick]
            dist[lo:lo + c] = d[rows, pick]
            uv[lo:lo + c] = np.einsum("mk,mkd->md", wp, self.huv.uv[tp])
            rest[lo:lo + c] = np.einsum("mk,mkd->md", wp, self.rest[tp])
            island[lo:lo + c] = np.where(np.isfinite(dist[lo:lo + c]), self.island[tp], -1.0)
        return dist, uv, rest, island, facing


@functools.lru_cache(maxsize=1)
def _uv_islands() -> np.ndarray:
    """(T,) island label of each of our head's UV triangles (triangles sharing an edge with
    the same UVs at both ends lie on one island)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    from inference.texture import head_uv
    huv = head_uv()
    key = {}
    rows, cols = [], []
    q = np.round(huv.uv * 1e5).astype(np.int64)
    for t, (vs, uvs) in enumerate(zip(huv.verts.tolist(), q.tolist())):
        for i, j in ((0, 1), (1, 2), (2, 0)):
            a, b = (vs[i], *uvs[i]), (vs[j], *uvs[j])
            e = (a, b) if a < b else (b, a)
            other = key.setdefault(e, t)
            if other != t:
                rows.append(t)
                cols.append(other)
    n = len(huv.verts)
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.float64)


def _sample(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear colours (M, 3) in [0, 1] of a square uint8 image at UVs (M, 2)."""
    import cv2
    size, m, cols = image.shape[0], len(uv), 4096       # cv2.remap maps must stay under 32k a side
    rows = -(-m // cols)
    maps = np.full((2, rows * cols), -1.0, np.float32)
    maps[0, :m] = uv[:, 0] * size - 0.5
    maps[1, :m] = (1.0 - uv[:, 1]) * size - 0.5
    out = cv2.remap(image.astype(np.float32) / 255.0, maps[0].reshape(rows, cols), maps[1].reshape(rows, cols),
                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, 3)[:m]


def _alpha(dist: np.ndarray, rest: np.ndarray, facing: np.ndarray, rig_l: np.ndarray, radius: float) -> np.ndarray:
    """Blend weight of their surface points: how near our head is (``dist``) and faces
    their way (``facing``), times how far inside the face their closest point on our rest
    head (``rest``) lies."""
    fade = np.clip((FAR * radius - dist) / ((FAR - NEAR) * radius), 0.0, 1.0)
    return fade * facing * _face_weight(rest, rig_l, radius)


def _face_weight(points: np.ndarray, rig_l: np.ndarray, radius: float) -> np.ndarray:
    """1 over the inner face of our rest head, 0 beyond its outline (MediaPipe's face oval,
    seen from the front), smooth between; only the front half of the head."""
    from matplotlib.path import Path as PolyPath

    from inference.landmarks import landmark_sets
    oval = rig_l[landmark_sets()["face_oval"]]
    centre = oval[:, [0, 2]].mean(0)
    ring = oval[np.argsort(np.arctan2(oval[:, 2] - centre[1], oval[:, 0] - centre[0]))][:, [0, 2]]
    q = points[:, [0, 2]]
    inside = PolyPath(ring).contains_points(q)
    seg_a, seg_b = ring, np.roll(ring, -1, axis=0)
    dist = np.full(len(q), np.inf)
    for a, b in zip(seg_a, seg_b):
        e = b - a
        t = np.clip((q - a) @ e / max(float(e @ e), 1e-30), 0, 1)
        dist = np.minimum(dist, np.linalg.norm(a + t[:, None] * e - q, axis=1))
    signed = np.where(inside, dist, -dist) / radius        # > 0 inside the outline
    x = np.clip((signed + FEATHER_OUT) / (FEATHER_IN + FEATHER_OUT), 0.0, 1.0)
    front = points[:, 1] < oval[:, 1].mean() + 0.1 * radius   # our head faces -y
    return np.where(front, x * x * (3 - 2 * x), 0.0)


def transfer_texture(verts: np.ndarray, uv_tris: np.ndarray, uv: np.ndarray, surface: SurfacePoints,
                     head_rgb: np.ndarray, size: tuple[int, int]) -> TexturePatch:
    """Our head texture ``head_rgb`` (S, S, 3) uint8, on our UV map, carried onto their
    UV map: ``verts`` (n, 3) their vertices, ``uv_tris`` (T, 3) vertex ids of their UV
    triangles with ``uv`` (T, 3, 2) their loop UVs, ``surface`` their landmarks, ``size``
    (width, height) of their image."""
    import cv2

    from inference.texture import _bleed, head_uv, rasterize
    from rigs.asset_geometry import vertex_normals
    verts, uv_tris = np.asarray(verts, np.float64), np.asarray(uv_tris)
    width, height = size
    reg = register_rig(verts, surface)
    radius = reg.face_radius

    # their face skin: the component holding the landmarks, near the face
    labels = components(graph_laplacian(len(verts), uv_tris))
    skin = np.bincount(labels[surface.tri[surface.valid, 0]]).argmax()
    near = np.zeros(len(verts), bool)
    near[reg.region(verts, REGION)] = True
    cand = np.flatnonzero((labels[uv_tris[:, 0]] == skin) & near[uv_tris].all(1))
    ours_v = reg.to_ours(verts)
    # paint no finer than twice the texel density of the texture we sample from
    k = min(1.0, WORK_SIZE / max(width, height),
            2.0 * _density(reg.ours[head_uv().verts], head_uv().uv, head_rgb.shape[0])
            / max(_density(ours_v[uv_tris[cand]], uv[cand], np.sqrt(width * height)), 1e-9))
    ww, wh = max(int(round(width * k)), 1), max(int(round(height * k)), 1)

    # the correspondence at their vertices; inside a triangle whose corners land on one
    # island of our UV map it is interpolated, elsewhere (across our seams) found per texel
    used = np.unique(uv_tris[cand])
    normals = vertex_normals(verts, uv_tris) @ reg.similarity[1]
    rig = _RigSurface(reg)
    v_dist, v_uv, v_rest, v_island = (np.zeros((len(verts),) + sh) for sh in ((), (2,), (3,), ()))
    v_dist[used], v_uv[used], v_rest[used], v_island[used], facing = rig.closest(ours_v[used], normals[used])
    rig_l = reg.corr.points(reg.ours)
    v_alpha = np.zeros(len(verts))
    v_alpha[used] = _alpha(v_dist[used], v_rest[used], facing, rig_l, radius)
    tri_px = np.stack([uv[cand, :, 0] * ww, (1.0 - uv[cand, :, 1]) * wh], axis=-1)
    tid, bary = rasterize(tri_px, (wh, ww))
    covered = tid >= 0
    t = cand[tid[covered]]
    b = bary[covered].astype(np.float64)
    corners = uv_tris[t]
    isl = v_island[corners]
    smooth = (isl == isl[:, :1]).all(1) & np.isfinite(v_dist[corners]).all(1)
    alpha = np.einsum("mk,mk->m", b, v_alpha[corners])
    rig_uv = np.einsum("mk,mkd->md", b, v_uv[corners])
    rough = np.flatnonzero(~smooth)
    if len(rough):
        p = np.einsum("mk,mkd->md", b[rough], ours_v[corners[rough]])
        n = np.einsum("mk,mkd->md", b[rough], normals[corners[rough]])
        d, rig_uv[rough], rest, _, facing = rig.closest(p, n)
        alpha[rough] = _alpha(d, rest, facing, rig_l, radius)
    colour = _sample(head_rgb, rig_uv)
    work = np.zeros((wh, ww, 4), np.float32)
    work[covered, :3] = colour
    work[covered, 3] = alpha
    # grow into the gutters round their face islands, so filtering at island edges sees the
    # blended colour (only the face triangles are rasterized: at the region's edge, where
    # growth could reach another island, the weight is already zero)
    work = _bleed(work, covered, BLEED)
    if (ww, wh) != (width, height):
        work = cv2.resize(work, (width, height), interpolation=cv2.INTER_LINEAR)
    info = {"texture_texels_painted": int((alpha > 0.01).sum()),
            "texture_size": [int(width), int(height)],
            "texture_registration_residual_of_face_radius": float(np.median(reg.residual) / radius)}
    return TexturePatch(np.clip(work[..., :3], 0, 1), np.clip(work[..., 3], 0, 1), info)


def character_head_texture(rgb: np.ndarray, analysis, style: str) -> np.ndarray:
    """The photo on our head's UV map as a character gets it: brows and beard kept (they
    wear none of our assets), stylized by ``style``'s palette when it has one."""
    from inference.styles import load_style
    from inference.texture import project_photo, stylize_texture, texture_plan
    skin = analysis.avatar.colors["skin"]
    reg = analysis.registration
    tex = project_photo(rgb, reg, reg.shape, skin, paint_assets=False)
    pal = analysis.avatar.style.get("exemplar", {}).get("palette")
    _, palette, strength = texture_plan("fast", load_style(style), pal)
    return tex.rgb if palette is None else stylize_texture(tex, palette, skin, strength)
