"""Exemplar texture stylization (seed 002, Sec 5): optimise the UV texture so that renders
of the head from many views carry the style image's look, while keeping the content.

Texture-only multi-view optimisation (Sec 5.1): the geometry is fixed, so every view's
pixel -> UV lookup is rasterised once; a render is then ``grid_sample(texture, lookup)``,
differentiable with respect to the texture. Each step renders a random view (yaw within
+-30 degrees, pitch within +-20) and takes one Adam step on the loss of Sec 5.2 (after
STROTSS, Kolkin et al. 2019): a relaxed earth mover's distance between the render's and
the style image's feature vectors plus a moment term (style), and the L1 difference of
the cosine self-similarity matrices of the render and of the same view rendered with the
starting texture (content).

Features. The seed uses a pretrained VGG, which cannot be installed here. We use a fixed
random three-layer convolutional network (3x3 kernels, 32/64/64 channels, ReLU, average
pooling; He-initialised from a fixed seed) sampled as hypercolumns together with the
pixel colour. Random shallow networks are known to carry enough local statistics for
texture synthesis (Ustyuzhaninov et al., "Texture synthesis using shallow convolutional
networks with random filters", 2016); what they lack is semantics, which the content
self-similarity term and the start from the projected photo texture supply here. The
result and its timing are in README and ``benchmarks/bench_texture.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.errors import UserError

OPT_SIZE = 512           # the texture is optimised at this size, then upsampled into the 1024^2 one
VIEW_SIZE = 192
N_VIEWS = 16
N_SAMPLES = 1024         # feature vectors per image for the style and content terms
CONTENT_WEIGHT = 6.0
PYRAMID_LEVELS = 6       # 512, 256, ... 16 texels
TV_WEIGHT = 20.0         # total variation of the change: paint areas, not per-texel speckle
COLOR_WEIGHT = 3.0       # colour hypercolumn scale (the moments see it; the REMD uses RGB distance)


@dataclass
class ViewLookup:
    grid: np.ndarray     # (H, W, 2) in [-1, 1] texture coordinates for grid_sample
    mask: np.ndarray     # (H, W) bool


def view_lookups(verts: np.ndarray, n_views: int = N_VIEWS, size: int = VIEW_SIZE, seed: int = 0) -> list[ViewLookup]:
    """Pixel -> UV lookups of the head (rig vertices ``verts``) from random views within
    +-30 degrees yaw and +-20 degrees pitch, orthographic, head filling the frame."""
    from inference.texture import head_uv, rasterize
    huv = head_uv()
    rng = np.random.default_rng(seed)
    pts = verts[np.unique(huv.verts)]
    centre = pts.mean(0)
    radius = np.linalg.norm(pts - centre, axis=1).max()
    out = []
    for i in range(n_views):
        yaw, pitch = (0.0, 0.0) if i == 0 else (rng.uniform(-30, 30), rng.uniform(-20, 20))
        y, p = np.radians(yaw), np.radians(pitch)
        ry = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
        rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
        v = (verts - centre) @ (rx @ ry).T
        # screen: x right (rig x), y down (-rig z), depth toward the back (+rig y)
        scr = np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1) / (radius * 1.05)
        scr[:, :2] = (scr[:, :2] + 1.0) * 0.5 * size
        tri = scr[huv.verts]
        tid, bary = rasterize(tri[:, :, :2], (size, size), tri[:, :, 2])
        mask = tid >= 0
        uv = np.zeros((size, size, 2))
        uv[mask] = (bary[mask][:, :, None].astype(np.float64) * huv.uv[tid[mask]]).sum(1)
        grid = np.stack([uv[..., 0] * 2 - 1, (1 - uv[..., 1]) * 2 - 1], axis=-1)   # image rows run down
        out.append(ViewLookup(grid.astype(np.float32), mask))
    return out


class _RandomFeatures:
    """Fixed random conv features (see the module docstring), as hypercolumns."""

    def __init__(self, seed: int = 0):
        import torch
        g = torch.Generator().manual_seed(seed)
        shapes = [(32, 3), (64, 32), (64, 64)]
        self.weights = [torch.randn(o, i, 3, 3, generator=g) * np.sqrt(2.0 / (9 * i)) for o, i in shapes]

    def __call__(self, img):
        """(1, 3, H, W) in [0, 1] -> list of feature maps (colour first)."""
        import torch.nn.functional as F
        feats = [img]
        x = img - 0.5
        for k, w in enumerate(self.weights):
            x = F.relu(F.conv2d(x, w, padding=1))
            feats.append(x)
            if k < len(self.weights) - 1:
                x = F.avg_pool2d(x, 2)
        return feats


def _hypercolumns(feats, xy):
    """Sample every feature map at normalised positions ``xy`` (N, 2) in [-1, 1] -> (N, C)."""
    import torch
    import torch.nn.functional as F
    grid = xy.view(1, 1, -1, 2)
    cols = [F.grid_sample(f, grid, align_corners=False).view(f.shape[1], -1) for f in feats]
    cols = [c / (c.norm(dim=0, keepdim=True).mean() + 1e-6) for c in cols]    # balance the layers
    cols[0] = cols[0] * COLOR_WEIGHT         # colour counts as much as the texture statistics
    return torch.cat(cols, 0).t()


def _cos_dist(a, b):
    a = a / (a.norm(dim=1, keepdim=True) + 1e-6)
    b = b / (b.norm(dim=1, keepdim=True) + 1e-6)
    return 1.0 - a @ b.t()


def _style_loss(x, y):
    """Relaxed EMD (max of the two one-sided nearest-neighbour costs) plus mean/cov moments.

    The ground cost is the cosine distance of the texture features plus the Euclidean
    distance of the colours (a cosine alone ignores brightness)."""
    import torch
    c = _cos_dist(x[:, 3:], y[:, 3:]) + torch.cdist(x[:, :3], y[:, :3]) / COLOR_WEIGHT
    remd = torch.maximum(c.min(1)[0].mean(), c.min(0)[0].mean())
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    cx, cy = xc.t() @ xc / len(x), yc.t() @ yc / len(y)
    moment = (mx - my).abs().mean() + (cx - cy).abs().mean()
    return remd + moment


def _content_loss(x, x0):
    """L1 between the normalised cosine self-similarity matrices of render and content."""
    dx, d0 = _cos_dist(x, x), _cos_dist(x0, x0)
    dx = dx / (dx.sum(0, keepdim=True) + 1e-6)
    d0 = d0 / (d0.sum(0, keepdim=True) + 1e-6)
    return (dx - d0).abs().mean() * len(x)


def stylize_exemplar(texture_rgb: np.ndarray, verts: np.ndarray, style_rgb: np.ndarray, iterations: int = 300,
                     seed: int = 0, opt_size: int = OPT_SIZE, view_size: int = VIEW_SIZE,
                     progress=None) -> np.ndarray:
    """Optimise ``texture_rgb`` (S, S, 3) uint8 toward the look of ``style_rgb`` over views of
    the head ``verts``; returns the stylized (S, S, 3) uint8 texture (deterministic per seed).
    ``progress(fraction, message)`` is called every 10 iterations."""
    import cv2
    import torch
    import torch.nn.functional as F
    style = np.asarray(style_rgb)
    if style.ndim != 3 or style.shape[2] != 3 or min(style.shape[:2]) < 32:
        raise UserError("the style image must be an RGB image of at least 32x32 pixels")
    torch.manual_seed(seed)
    size = texture_rgb.shape[0]
    views = view_lookups(verts, seed=seed, size=view_size)
    feat = _RandomFeatures(seed)
    s_img = cv2.resize(style, (256, int(256 * style.shape[0] / style.shape[1])), interpolation=cv2.INTER_AREA)
    s_t = torch.from_numpy(s_img.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        s_feats = feat(s_t)
        s_xy = torch.rand(N_SAMPLES, 2, generator=g) * 2 - 1
        style_cols = _hypercolumns(s_feats, s_xy)
    start = cv2.resize(texture_rgb, (opt_size, opt_size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    tex0 = torch.from_numpy(start).permute(2, 0, 1)[None]
    # a Laplacian-pyramid parameterisation (as STROTSS): coarse levels move broad colour
    # areas, so the optimisation paints regions rather than per-texel noise
    levels = [torch.zeros(1, 3, opt_size >> k, opt_size >> k, requires_grad=True)
              for k in range(PYRAMID_LEVELS) if opt_size >> k >= 8]

    def residual():
        return sum(F.interpolate(p, size=(opt_size, opt_size), mode="bilinear", align_corners=False)
                   if p.shape[-1] != opt_size else p for p in levels)

    def texture():
        return (tex0 + residual()).clamp(0, 1)
    opt = torch.optim.Adam(levels, lr=0.004)
    grids = [torch.from_numpy(v.grid)[None] for v in views]
    masks = [torch.from_numpy(v.mask) for v in views]
    for it in range(iterations):
        k = int(torch.randint(len(views), (1,), generator=g))
        with torch.no_grad():
            ys, xs = torch.nonzero(masks[k], as_tuple=True)
            pick = torch.randint(len(ys), (N_SAMPLES,), generator=g)
            xy = torch.stack([(xs[pick].float() + 0.5) / view_size * 2 - 1,
                              (ys[pick].float() + 0.5) / view_size * 2 - 1], 1)
            content = _hypercolumns(feat(F.grid_sample(tex0, grids[k], align_corners=False)), xy)
        render = F.grid_sample(texture(), grids[k], align_corners=False)
        cols = _hypercolumns(feat(render), xy)
        r = residual()
        tv = (r[..., 1:, :] - r[..., :-1, :]).abs().mean() + (r[..., :, 1:] - r[..., :, :-1]).abs().mean()
        loss = (CONTENT_WEIGHT * _content_loss(cols, content) + _style_loss(cols, style_cols)) / (1 + CONTENT_WEIGHT) \
            + TV_WEIGHT * tv
        opt.zero_grad()
        loss.backward()
        opt.step()
        if progress and it % 10 == 0:
            progress(it / iterations, f"exemplar texture {it}/{iterations}")
    with torch.no_grad():
        out = texture()[0].permute(1, 2, 0).numpy()
    delta = cv2.resize(out - start, (size, size), interpolation=cv2.INTER_LINEAR)
    result = texture_rgb.astype(np.float32) / 255.0 + delta
    return np.clip(result * 255.0 + 0.5, 0, 255).astype(np.uint8)
