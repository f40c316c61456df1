"""Photo -> the head's UV texture, and its fast stylization (no bpy).

Projection (seed 002 Sec 5 starts from such a texture): the rig, shaped and posed as
fitted (identity sliders plus the photo's own expression), is put under the fitted
scaled-orthographic camera. A z-buffer of the head in photo space decides which surface
points the photo shows; every texel of the head's UV map (MakeHuman's layout) looks up
its photo pixel through the triangle and barycentric it lies on, weighted by how
squarely the surface faces the camera. Texels the photo does not show well take their
mirror twin's colour (left/right symmetry on the mesh), what is still missing takes the
measured skin colour, and the photo's low-frequency shading is divided out so the
texture is albedo-like. Brows (and the beard area when a beard asset is worn) are
painted skin: those assets carry them, a texture copy would double them.

Fast stylization (HASNet Sec 3.1's palette-driven rendering transfer): a 20-colour palette
(k-means in CIELAB) from the style's reference, the texture's colours mapped onto it by
luminance rank and chroma, edge-preserving smoothing and cel quantization; ``strength``
blends from the projected texture (0) to flat palette colours (1).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from inference.errors import UserError

TEXTURE_SIZE = 1024
PALETTE_SIZE = 20
MIN_FACING = 0.2           # cos of the view angle below which a texel counts as grazing
FULL_FACING = 0.6          # ... and above which the photo is trusted fully
BROW_RADIUS = 0.009        # metres around the brow landmarks painted as skin
SHADING_SIGMA = 0.05       # of the texture size: the blur that estimates the photo's shading
HAIR_DELTA_E = (18.0, 32.0)  # CIEDE76 from the skin colour: skin below the first, hair above the second


@dataclass
class Texture:
    """sRGB texture (S, S, 3) uint8, how much of it the photo supplied (S, S) in [0, 1], and
    the head-UV coverage mask (S, S) bool."""
    rgb: np.ndarray
    weight: np.ndarray
    mask: np.ndarray


# -- rasterisation --

def rasterize(tri: np.ndarray, shape: tuple[int, int], depth: np.ndarray | None = None):
    """Triangle id (H, W) int32 (-1 outside) and barycentrics (H, W, 3) of pixel centres.

    ``tri`` (T, 3, 2) pixel coordinates (x right, y down); with ``depth`` (T, 3) the nearest
    (smallest depth) triangle wins, otherwise any covering one."""
    h, w = shape
    lo = np.clip(np.floor(tri.min(1) - 0.5), 0, [w - 1, h - 1]).astype(np.int64)
    hi = np.clip(np.ceil(tri.max(1) - 0.5), 0, [w - 1, h - 1]).astype(np.int64)
    nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    count = nx * ny
    ok = (count > 0) & (count <= h * w)                 # empty (off-image) triangles are skipped
    ids = np.repeat(np.flatnonzero(ok), count[ok])
    start = np.repeat(np.cumsum(count[ok]) - count[ok], count[ok])
    k = np.arange(len(ids)) - start
    px = lo[ids, 0] + k % nx[ids]
    py = lo[ids, 1] + k // nx[ids]
    p = np.stack([px + 0.5, py + 0.5], axis=1)
    a, b, c = tri[ids, 0], tri[ids, 1], tri[ids, 2]
    v0, v1, v2 = b - a, c - a, p - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    good = np.abs(den) > 1e-12
    den = np.where(good, den, 1.0)
    l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    l0 = 1.0 - l1 - l2
    inside = good & (l0 >= -1e-6) & (l1 >= -1e-6) & (l2 >= -1e-6)
    ids, px, py = ids[inside], px[inside], py[inside]
    bary = np.stack([l0[inside], l1[inside], l2[inside]], axis=1)
    pix = py * w + px
    if depth is not None:
        z = (bary * depth[ids]).sum(1)
        order = np.lexsort((z, pix))
    else:
        order = np.argsort(pix, kind="stable")
    pix, first = np.unique(pix[order], return_index=True)
    sel = order[first]
    tri_id = np.full(h * w, -1, np.int32)
    tri_id[pix] = ids[sel]
    bc = np.zeros((h * w, 3), np.float32)
    bc[pix] = bary[sel]
    return tri_id.reshape(h, w), bc.reshape(h, w, 3)


@dataclass(frozen=True)
class HeadUV:
    """The head part as triangles with their asset vertex ids, loop UVs and material slot."""
    verts: np.ndarray        # (T, 3) asset vertex ids
    uv: np.ndarray           # (T, 3, 2)
    material: np.ndarray     # (T,)
    mirror: np.ndarray       # (T,) index of the mirror triangle (-1 if none)
    mirror_perm: np.ndarray  # (T, 3): corner j of the mirror triangle is corner perm[j] mirrored
    winding: float           # +1 if the corner order's cross product points out of the head, else -1


@functools.lru_cache(maxsize=1)
def head_uv() -> HeadUV:
    from rigs.rig_asset import load_rig
    rig = load_rig()
    part = rig.parts["head"]
    loops, poly = part.triangle_loops
    verts = part.loop_vert[loops].astype(np.int64)
    uv = part.loop_uv[loops].astype(np.float64)
    index = {tuple(sorted(t)): i for i, t in enumerate(verts.tolist())}
    mirror = np.full(len(verts), -1, np.int64)
    perm = np.tile(np.arange(3), (len(verts), 1))
    for i, t in enumerate(verts):
        m = rig.mirror[t]
        j = index.get(tuple(sorted(m.tolist())))
        if j is not None:
            mirror[i] = j
            perm[i] = [int(np.flatnonzero(verts[j] == x)[0]) for x in m]
    p = rig.verts[verts]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    outward = float(np.sign(np.sum(n * (p.mean(1) - rig.verts[part.vertex_ids].mean(0)))))
    return HeadUV(verts, uv, part.material[poly], mirror, perm, outward)


@functools.lru_cache(maxsize=2)
def uv_raster(size: int):
    """The head's UV map rasterised once per size: texel -> triangle, barycentric, and the
    texel coordinates of each texel's mirror twin on the mesh (for symmetry fill)."""
    huv = head_uv()
    tri_uv = np.stack([huv.uv[:, :, 0] * size, (1.0 - huv.uv[:, :, 1]) * size], axis=-1)
    tid, bary = rasterize(tri_uv, (size, size))
    mask = tid >= 0
    t = tid[mask]
    mt = huv.mirror[t]
    ok = mt >= 0
    b = bary[mask][ok].astype(np.float64)
    mb = np.zeros_like(b)
    np.put_along_axis(mb, huv.mirror_perm[t[ok]], b, axis=1)   # corner perm[j] of the mirror gets b_j
    muv = (mb[:, :, None] * huv.uv[mt[ok]]).sum(1)
    mx = np.full(mask.sum(), -1.0, np.float32)
    my = np.full(mask.sum(), -1.0, np.float32)
    mx[ok], my[ok] = muv[:, 0] * size - 0.5, (1.0 - muv[:, 1]) * size - 0.5
    mapx = np.full((size, size), -1.0, np.float32)
    mapy = np.full((size, size), -1.0, np.float32)
    mapx[mask], mapy[mask] = mx, my
    return tid, bary, mask, mapx, mapy


# -- projection --

def _posed_camera(fit, shape: dict[str, float]):
    from inference.fit import M_RIG_TO_CAM
    from rigs.catalogue import target_weights
    from rigs.rig_asset import load_rig
    rig = load_rig()
    weights = target_weights(shape)
    weights.update({f"arkit/{k}": v for k, v in fit.expression.items() if v > 0})
    posed = rig.deformed(weights)
    return posed, fit.scale * (posed @ M_RIG_TO_CAM.T) @ fit.rotation.T + fit.translation


def reproject(texture_rgb: np.ndarray, fit, shape: dict[str, float], photo_hw: tuple[int, int]):
    """Render the textured head back under the photo's fitted camera (no lighting): the
    (H, W, 3) uint8 image and the (H, W) mask of pixels the head covers."""
    import cv2
    huv = head_uv()
    _, cam = _posed_camera(fit, shape)
    tri_cam = cam[huv.verts]
    tid, bary = rasterize(tri_cam[:, :, :2], photo_hw, tri_cam[:, :, 2])
    mask = tid >= 0
    t = tid[mask]
    uv = (bary[mask][:, :, None].astype(np.float64) * huv.uv[t]).sum(1)
    size = texture_rgb.shape[0]
    mapx = np.full(photo_hw, -1.0, np.float32)
    mapy = np.full(photo_hw, -1.0, np.float32)
    mapx[mask], mapy[mask] = uv[:, 0] * size - 0.5, (1.0 - uv[:, 1]) * size - 0.5
    img = cv2.remap(texture_rgb, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return img, mask


def project_photo(rgb: np.ndarray, fit, shape: dict[str, float], skin_hex: str, assets: dict | None = None,
                  size: int = TEXTURE_SIZE, remove_shading: bool = True, paint_assets: bool = True) -> Texture:
    """Project a photo onto the head's UV map (see the module docstring). ``paint_assets``
    False keeps the photo's brows and beard (for a character that wears none of our assets)."""
    import cv2
    from inference.avatar import hex_to_rgb
    from inference.fit import M_RIG_TO_CAM
    from rigs.catalogue import target_weights
    from rigs.rig_asset import load_correspondence, load_rig

    rig = load_rig()
    huv = head_uv()
    posed, cam = _posed_camera(fit, shape)                          # cam: pixels, z away
    tri_cam = cam[huv.verts]                                        # (T, 3, 3)
    h, w = rgb.shape[:2]
    # z-buffer of the head in photo space (at most 640 px on the long side: plenty for a depth test)
    zs = min(1.0, 640.0 / max(h, w))
    zshape = (max(int(h * zs), 1), max(int(w * zs), 1))
    ztri, zbary = rasterize(tri_cam[:, :, :2] * zs, zshape, tri_cam[:, :, 2])
    zbuf = np.where(ztri >= 0, (zbary * tri_cam[np.maximum(ztri, 0), :, 2]).sum(-1), np.inf)
    # every texel: its triangle and barycentric in UV space
    tid, bary, mask, mirror_x, mirror_y = uv_raster(size)
    t = tid[mask]
    b = bary[mask].astype(np.float64)
    pos = (b[:, :, None] * tri_cam[t]).sum(1)                      # photo x, y and depth
    # smooth (vertex) normals, outward, in camera axes: facing varies smoothly across triangles
    from rigs.asset_geometry import vertex_normals
    vn = vertex_normals(posed, huv.verts) * huv.winding
    vn_cam = (vn @ M_RIG_TO_CAM.T) @ fit.rotation.T
    n = (b[:, :, None] * vn_cam[huv.verts[t]]).sum(1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    facing = -n[:, 2]                                              # toward the camera (z away)
    zx = np.clip((pos[:, 0] * zs).astype(np.int64), 0, zshape[1] - 1)
    zy = np.clip((pos[:, 1] * zs).astype(np.int64), 0, zshape[0] - 1)
    tol = 0.004 * fit.scale                                         # 4 mm in pixels
    visible = (pos[:, 2] <= zbuf[zy, zx] + tol) & (pos[:, 0] >= 0) & (pos[:, 0] < w) & \
        (pos[:, 1] >= 0) & (pos[:, 1] < h)
    ramp = np.clip((facing - MIN_FACING) / (FULL_FACING - MIN_FACING), 0.0, 1.0)
    wt = np.where(visible, ramp * ramp * (3 - 2 * ramp), 0.0)
    # painted regions: brows always (an asset), the beard area when a beard asset is worn
    rest = rig.deformed(target_weights(shape))
    surf = (b[:, :, None] * rest[huv.verts[t]]).sum(1)
    lm = load_correspondence().points(rest)
    from inference.landmarks import landmark_sets
    sets = landmark_sets()
    brows = lm[np.r_[sets["left_eyebrow"], sets["right_eyebrow"]]]
    from scipy.spatial import cKDTree
    d_brow, _ = cKDTree(brows).query(surf, distance_upper_bound=BROW_RADIUS)
    if paint_assets:
        wt[d_brow < BROW_RADIUS] = 0.0
    if paint_assets and assets and assets.get("beard", "none") not in ("none",):
        chin, mouth = lm[152], lm[13]
        wt[(surf[:, 2] < mouth[2] - 0.004) & (surf[:, 1] < chin[1] + 0.03)] = 0.0
    mapx = np.full((size, size), -1.0, np.float32)
    mapy = np.full((size, size), -1.0, np.float32)
    mapx[mask], mapy[mask] = pos[:, 0] - 0.5, pos[:, 1] - 0.5
    photo = cv2.remap(rgb.astype(np.float32) / 255.0, mapx, mapy, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)
    # above the brows the photo often shows hair (a fringe) rather than skin: keep skin-like
    # colours only (the hair asset draws the hair)
    from inference.colors import srgb_to_lab
    skin_lab = srgb_to_lab(np.array(hex_to_rgb(skin_hex))[None])[0]
    lab = srgb_to_lab(photo[mask].astype(np.float64))
    de = np.linalg.norm(lab - skin_lab, axis=1)
    skinlike = np.clip((HAIR_DELTA_E[1] - de) / (HAIR_DELTA_E[1] - HAIR_DELTA_E[0]), 0.0, 1.0)
    # outside the inner face (above the brows, the neck, the sides) only skin-like colours
    # count: the photo shows hair, collars and background there
    from matplotlib.path import Path as PolyPath
    oval = lm[sets["face_oval"]]
    centre = oval[:, [0, 2]].mean(0)
    ang = np.arctan2(oval[:, 2] - centre[1], oval[:, 0] - centre[0])
    ring = oval[np.argsort(ang)][:, [0, 2]]
    inner = PolyPath(ring).contains_points(surf[:, [0, 2]]) & (surf[:, 1] < oval[:, 1].mean())
    inner &= surf[:, 2] <= brows[:, 2].max()
    wt = np.where(inner, wt, wt * skinlike)
    weight = np.zeros((size, size), np.float32)
    weight[mask] = wt
    if remove_shading:
        photo = _remove_shading(photo, weight, size)
    photo, weight = _mirror_fill(photo, weight, mirror_x, mirror_y)
    # the fill colour: the skin as this texture shows it (the median of the well-seen skin),
    # so unseen parts match the face; the measured colour only when the photo shows too little
    seen = (weight > 0.8) & mask
    skin = np.median(photo[seen], axis=0).astype(np.float32) if seen.sum() > 500 else \
        np.array(hex_to_rgb(skin_hex), np.float32)
    k = np.clip(weight, 0.0, 1.0)[..., None]
    tex = photo * k + skin * (1.0 - k)
    tex = _bleed(tex, mask, 8)
    return Texture(np.clip(tex * 255.0 + 0.5, 0, 255).astype(np.uint8), weight, mask)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _remove_shading(photo: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """Divide out the photo's low-frequency luminance (normalised convolution over the
    texels the photo supplies), keeping the mean: shading and shadows -> albedo-like."""
    import cv2
    lum = photo @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    # low frequencies only: blur at 1/8 resolution, then upsample
    small = (size // 8, size // 8)
    sigma = SHADING_SIGMA * size / 8
    w_s = cv2.resize(weight, small, interpolation=cv2.INTER_AREA)
    lw_s = cv2.resize(lum * weight, small, interpolation=cv2.INTER_AREA)
    low_s = _blur(lw_s, sigma) / np.maximum(_blur(w_s, sigma), 1e-6)
    low = cv2.resize(low_s, (size, size), interpolation=cv2.INTER_LINEAR)
    good = weight > 0.5
    if not good.any():
        return photo
    mean = float(np.median(lum[good]))
    gain = np.clip(mean / np.maximum(low, 1e-4), 0.6, 1.6)
    return np.clip(photo * gain[..., None], 0.0, 1.0)


def _mirror_fill(photo, weight, mapx, mapy):
    """Where the mirror texel saw the surface better, take its colour."""
    import cv2
    mirrored = cv2.remap(photo, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mweight = cv2.remap(weight, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    take = mweight > weight
    out = np.where(take[..., None], mirrored, photo)
    return out, np.where(take, mweight, weight)


def _bleed(tex: np.ndarray, mask: np.ndarray, steps: int) -> np.ndarray:
    """Grow the texture past its UV islands so mip-mapping and filtering at seams see
    texture colours, not the background."""
    import cv2
    out = tex.copy()
    m = mask.astype(np.float32)
    kernel = np.ones((3, 3), np.float32)
    for _ in range(steps):
        s = cv2.filter2D(out * m[..., None], -1, kernel)
        c = cv2.filter2D(m, -1, kernel)
        grow = (m == 0) & (c > 0)
        out[grow] = s[grow] / c[grow][:, None]
        m = np.maximum(m, grow.astype(np.float32))
    return out


# -- fast stylization: palette rendering transfer --

def palette_from_image(rgb: np.ndarray, k: int = PALETTE_SIZE, seed: int = 0,
                       mask: np.ndarray | None = None) -> np.ndarray:
    """(k, 3) sRGB [0, 1] dominant colours by k-means in CIELAB (deterministic for a seed)."""
    from inference.colors import lab_to_srgb, srgb_to_lab
    px = rgb.reshape(-1, 3).astype(np.float64) / (255.0 if rgb.dtype == np.uint8 else 1.0)
    if mask is not None:
        px = px[mask.ravel()]
    if len(px) < k:
        raise UserError(f"the style reference has too few pixels for a {k}-colour palette")
    rng = np.random.default_rng(seed)
    if len(px) > 20000:
        px = px[rng.choice(len(px), 20000, replace=False)]
    lab = srgb_to_lab(px)
    centres = _kmeans(lab, k, rng)
    order = np.argsort(centres[:, 0])
    return np.clip(lab_to_srgb(centres[order]), 0.0, 1.0)


def _kmeans(x: np.ndarray, k: int, rng, iters: int = 25) -> np.ndarray:
    """Plain Lloyd's k-means with k-means++ seeding (numpy; deterministic for ``rng``)."""
    c = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min(((x[:, None, :] - np.array(c)[None]) ** 2).sum(-1), axis=1)
        c.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[rng.integers(len(x))])
    c = np.array(c)
    for _ in range(iters):
        lab = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([x[lab == j].mean(0) if (lab == j).any() else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def stylize_texture(tex: Texture, palette: np.ndarray, skin_hex: str, strength: float = 1.0, levels: int = 5,
                    seed: int = 0) -> np.ndarray:
    """Palette rendering transfer on a projected texture -> sRGB uint8 (S, S, 3).

    The texture is smoothed edge-preservingly and clustered into ``levels`` colours
    (k-means in CIELAB over the head's texels). The whole set is shifted so the skin
    colour lands on the palette's most skin-like colour (the reference's rendering of
    skin), and each cluster then takes its nearest palette colour: shading and features
    keep their order relative to the skin, in the reference's colours. ``strength`` 0
    keeps the texture, 1 gives flat palette colours (a cel look)."""
    import cv2
    from inference.avatar import hex_to_rgb
    from inference.colors import lab_to_srgb, srgb_to_lab
    if not 0.0 <= strength <= 2.0:
        raise UserError(f"texture strength {strength:g} is outside [0, 2]")
    pal = np.asarray(palette, dtype=np.float64)
    if pal.ndim != 2 or pal.shape[1] != 3 or len(pal) < 2 or not np.isfinite(pal).all():
        raise UserError("a palette needs at least two finite RGB colours")
    img = tex.rgb
    size = img.shape[0]
    # cel regions: work at a quarter resolution, smooth edge-preservingly, cluster, clean the
    # label map of speckles, and bring the labels back up
    small = cv2.resize(img, (size // 4, size // 4), interpolation=cv2.INTER_AREA)
    for _ in range(2):
        small = cv2.bilateralFilter(small, 9, 30, 5)
    lab_small = srgb_to_lab(small.reshape(-1, 3) / 255.0)
    m = cv2.resize(tex.mask.astype(np.uint8), (size // 4, size // 4), interpolation=cv2.INTER_NEAREST).ravel() > 0
    rng = np.random.default_rng(seed)
    sample = lab_small[m]
    if len(sample) > 20000:
        sample = sample[rng.choice(len(sample), 20000, replace=False)]
    centres = _kmeans(sample, levels, rng)
    label = np.argmin(((lab_small[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    label = cv2.medianBlur(label.reshape(size // 4, size // 4).astype(np.uint8), 5)
    # smooth region boundaries at full size: upsample each region's indicator, take the max
    soft = np.stack([cv2.resize((label == j).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
                     for j in range(levels)], axis=-1)
    label = np.argmax(soft, axis=-1).ravel()
    pal_lab = srgb_to_lab(pal)
    seen = (tex.weight > 0.8) & tex.mask
    skin_rgb = np.median(img[seen], axis=0) / 255.0 if seen.sum() > 500 else np.array(hex_to_rgb(skin_hex))
    skin = srgb_to_lab(np.asarray(skin_rgb, dtype=np.float64)[None])[0]
    # the palette's skin: near the skin's hue and chroma, not too dark or too light
    # (lightness weighs most: a palette must not lighten or darken a person's skin)
    score = np.linalg.norm((pal_lab - skin)[:, 1:], axis=1) + 1.5 * np.abs(pal_lab[:, 0] - skin[0])
    shift = pal_lab[np.argmin(score)] - skin
    choice = np.argmin((((centres + shift)[:, None, :] - pal_lab[None]) ** 2).sum(-1), axis=1)
    flat = lab_to_srgb(pal_lab[choice])[label].reshape(img.shape)
    s = min(strength, 1.0)
    out = img / 255.0 * (1.0 - s) + flat * s
    out = np.where(tex.mask[..., None], out, img / 255.0)
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


TEXTURE_MODES = ("auto", "none", "photo", "fast")   # and "exemplar" (inference.texture_exemplar)


def texture_plan(mode: str, style, exemplar_palette: list[str] | None = None):
    """(projection wanted, palette or None, strength) for a ``--texture`` mode and a style.

    ``auto``: identity gets no texture (flat measured colours: on the sample photos the
    eval's match task scores 1.00 untextured against 0.85 with the photo texture), any
    other style gets the fast palette transfer (the style image's palette for exemplars,
    else the preset's); ``photo`` forces the projected photo texture."""
    from inference.avatar import hex_to_rgb
    if mode not in TEXTURE_MODES:
        raise UserError(f"unknown texture mode {mode!r} (choose from {', '.join(TEXTURE_MODES)})")
    if mode == "none":
        return False, None, 0.0
    palette = None
    if exemplar_palette:
        palette = np.array([hex_to_rgb(h) for h in exemplar_palette])
    elif preset_palette(style) is not None:
        palette = preset_palette(style)
    if mode == "photo":
        return True, None, 0.0
    if palette is None:                 # auto or fast without a palette to transfer
        return mode == "fast", None, 0.0
    strength = float(style.shading.get("texture_strength", 1.0))
    return True, palette, strength


def preset_palette(style) -> np.ndarray | None:
    """A style preset's palette (``shading.palette``: sRGB hex list), or None."""
    from inference.avatar import hex_to_rgb
    hexes = style.shading.get("palette")
    return np.array([hex_to_rgb(h) for h in hexes]) if hexes else None
