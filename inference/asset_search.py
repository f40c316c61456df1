"""Choose the discrete assets by comparing every candidate with the photo, in image space.

AgileAvatar Sec 3.3: with the continuous parameters fixed, each discrete attribute is
searched over all its candidates, scoring each against the photo. Here a candidate is
projected through the fitted camera onto the photo (painter's-algorithm rasterization
of the head plus the candidate, so hair behind the head is hidden) and compared with an
*evidence map* computed from the photo once:

* hair: the photo's hair region (:mod:`inference.hair_segment`), compared as shares of
  regions anchored on the face (not on the ears); the region's length class and strand
  texture weigh the styles;
* beard: lower-face pixels less chromatic than the measured skin along its hue, at the same
  lightness (so neither a shadow nor a colour cast passes for a beard), lips and scalp hair
  excluded;
* glasses: colour-edge strength in a band around the eyes (the eyes and brows themselves
  excluded) and across the nose root, where every frame has its bridge.

Hair and beard use soft pixel agreement ``1 - mean|M - P|`` over the attribute's region,
so ``bald``/``none`` (an empty mask) competes on equal terms. Glasses use edge contrast
(mean evidence on the projected rims minus elsewhere) against a threshold for ``none``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from inference.colors import (BROW_L, BROW_R, EYE_L, EYE_R, FACE_OVAL, LIPS_OUTER, polygon_mask, robust_lab,
                              skin_region)
from inference.fit import M_RIG_TO_CAM, FitResult
from inference.hair_segment import HairSegmentation, segment_hair
from rigs.asset_geometry import vertex_normals
from rigs.asset_library import load_library
from rigs.catalogue import asset_catalogue, target_weights
from rigs.rig_asset import load_rig

WORK_WIDTH = 192          # evidence and candidates are compared at this resolution
DEPTH_LEVELS = 200        # depth resolution of the label images (the head's depth spans a third)
EMPTY = 255
# Glasses: colour-edge contrast on the projected rims plus BRIDGE_WEIGHT x the bridge's step
# must beat GLASSES_THRESHOLD. Set on synthetic frames (training/glasses_variants.py: the six
# library frames in four colours, as modelled and thinned, drawn on the 11 photos without
# glasses, and those photos darker, brighter and smaller): the threshold lies 0.04 above the
# highest bare face (a deeply lined one) and finds 97 % of the opaque drawn frames.
GLASSES_THRESHOLD = 0.42
BRIDGE_WEIGHT = 0.25
RIMLESS_MARGIN = 0.03
STUBBLE_LEVEL = 0.3       # a stubble mask counts as this much "beard"
DARK_RATIO = (0.75, 0.45)   # beard evidence from darkness: (L* + 16) as a share of the skin's, 0 .. 1
NONE_PRIOR = 0.03         # "no beard" wins unless a beard explains the lower face clearly
SPILL_MIN_CHROMA = 12.0  # backdrop chroma (C*ab) from which its spill on the hair is taken out
# Skin's b* / (L* + 16) under neutral light: 0.16 is the mean over the 13 sample photos (sd
# 0.037 from person to person). Shading scales b* and L* + 16 alike, and a warm or cool cast
# moves the ratio by 0.08-0.10 (linear light x[1.12, 1, 0.8] and x[0.88, 1, 1.15]): the
# departure from it is the cast (blonde read brown under cool light, white read blonde
# under warm light before it was taken out).
SKIN_B_RATIO = 0.16
# The length class is read from the hair region (where the hair ends); the search picks the
# style within it: on the sample photos the best style of the class read beats the best of
# any other by 0.38 or more with this bonus. No bonus where the region cannot tell.
LENGTH_BONUS = 0.5
# Hanging hair shows its strands: straight hair is not answered with locs or curls, nor
# coils and locs with a straight curtain (short cuts show too little strand to tell).
TEXTURE_WEIGHT = 0.15
# Below the chin the hair region is a lower bound: hair behind the shoulders is hidden, and
# the cut claims hair over clothes only where it is busier than the cloth. A style that hangs
# more hair there than the region shows is charged this share of the difference (less hair
# than the region shows, the whole of it).
BELOW_CHIN_EXCESS = 0.5
SKIN, HAIR, BEARD, FRAME, EAR = 1, 2, 3, 4, 5
# Styles whose defining part (back, crown, curls, a faded side) a front photo barely shows
# lose ties against the plain style they look like from the front.
STYLE_PRIOR = {"ponytail": 0.02, "bun": 0.02, "locs": 0.02, "braids": 0.02, "afro": 0.02, "short_afro": 0.015,
               "twa": 0.01, "curly_top": 0.01, "short_curly": 0.01, "shoulder_curly": 0.01, "long_curly": 0.01,
               "wavy_medium": 0.01, "long_wavy": 0.01, "thinning_crown": 0.005, "fade": 0.005, "pixie": 0.005,
               "quiff": 0.005, "side_part": 0.005}
# The same for beards: the beard region ends at the chin (below it a dark collar passes for
# hair), so a long beard's length is never compared and it loses ties to the short one.
BEARD_PRIOR = {"long_full": 0.02}


@dataclass
class AssetChoice:
    assets: dict[str, str]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    hair_lab: np.ndarray | None = None     # photo colour of the hair region, if any
    hair: HairSegmentation | None = None   # the hair region the search compared with


class Rasterizer:
    """Label images of projected triangle sets: per layer a depth image filled far to near
    at quantised depth (painter's), layers composed by nearest depth."""

    def __init__(self, fit: FitResult, roi: tuple[int, int, int, int], width: int = WORK_WIDTH):
        self.fit = fit
        self.x0, self.y0, x1, y1 = roi
        self.k = width / max(x1 - self.x0, 1)
        self.shape = (max(int((y1 - self.y0) * self.k), 1), width)
        self.z_range: tuple[float, float] | None = None
        self._cache: dict = {}

    def camera(self, pts: np.ndarray) -> np.ndarray:
        f = self.fit
        cam = f.scale * (pts @ M_RIG_TO_CAM.T) @ f.rotation.T + f.translation
        cam[:, 0] = (cam[:, 0] - self.x0) * self.k
        cam[:, 1] = (cam[:, 1] - self.y0) * self.k
        return cam

    def _depth_image(self, pts: np.ndarray, tris: np.ndarray) -> np.ndarray:
        """(H, W) uint8: the nearest depth level of the layer at each pixel (0 nearest;
        EMPTY where it draws nothing), triangles filled far to near."""
        import cv2
        tri = self.camera(pts)[tris]
        z = tri[:, :, 2].mean(1)
        if self.z_range is None:    # the first layer (the head) sets the depth scale
            lo, hi = z.min(), z.max()
            self.z_range = (lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo))
        lo, hi = self.z_range
        level = np.clip(((z - lo) / (hi - lo) * DEPTH_LEVELS).astype(int), 0, DEPTH_LEVELS - 1)
        order = np.argsort(-level, kind="stable")
        polys = np.round(tri[order, :, :2]).astype(np.int32)
        level = level[order]
        cuts = np.flatnonzero(np.diff(level)) + 1
        img = np.full(self.shape, EMPTY, np.uint8)
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(level)]):
            cv2.fillPoly(img, polys[a:b], int(level[a]))
        return img

    def draw(self, layers: list[tuple[np.ndarray, np.ndarray, int]]) -> np.ndarray:
        """Label image of layers (points (n, 3) rig metres, triangles (m, 3), label): at each
        pixel the nearest layer's label (a tie goes to the later layer, so an asset lying
        on the skin shows). A layer's depth image is computed once per rasterizer (the
        head is drawn under every candidate)."""
        label = np.zeros(self.shape, np.uint8)
        best = np.full(self.shape, EMPTY, np.uint8)
        for pts, tris, lab in layers:
            key = (id(pts), id(tris))
            if key not in self._cache:
                self._cache[key] = (pts, tris, self._depth_image(pts, tris))   # holds the arrays: ids stay valid
            z = self._cache[key][2]
            m = (z != EMPTY) & (z <= best)
            label[m], best[m] = lab, z[m]
        return label

    def facing(self, pts: np.ndarray, tris: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """The triangles of a closed surface that face the camera (with a margin for the
        silhouette); the others always lie behind them and need not be drawn."""
        f = self.fit
        n = normals[tris].sum(1) @ M_RIG_TO_CAM.T @ f.rotation.T
        return tris[n[:, 2] < 0.05 * np.linalg.norm(n, axis=1) + 1e-9]

    def resize(self, full: np.ndarray) -> np.ndarray:
        """Crop a full-resolution photo-space map to the ROI and resample it."""
        import cv2
        # ROI pixel (u, v) samples photo pixel (x0 + u / k, y0 + v / k)
        m = np.float32([[1 / self.k, 0, self.x0], [0, 1 / self.k, self.y0]])
        return cv2.warpAffine(full.astype(np.float32), m, (self.shape[1], self.shape[0]),
                              flags=cv2.WARP_INVERSE_MAP | cv2.INTER_AREA, borderValue=0)


def fitted_head(fit: FitResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rig as the photo shows it (fitted shape and expression): all its vertices, the
    head's vertex normals, and the triangles of the head and eyes (what hides an asset)."""
    rig = load_rig()
    weights = target_weights(fit.shape)
    for k, v in fit.expression.items():     # the photo still shows its expression
        weights[f"arkit/{k}"] = weights.get(f"arkit/{k}", 0.0) + v
    verts = rig.deformed(weights)
    head_tris = np.concatenate([rig.parts[p].triangles() for p in ("head", "eye_L", "eye_R")])
    return verts, vertex_normals(verts, rig.parts["head"].triangles()), head_tris


def _glasses_evidence(lab: np.ndarray, lm: np.ndarray, face: np.ndarray, iod: float,
                      ras: Rasterizer) -> tuple[np.ndarray, float]:
    """Edge evidence for a frame: (colour-edge map at the search's resolution, bridge strength).

    Edges are CIELAB gradient magnitudes (a gold or silver rim on pale skin differs in
    colour more than in grey level), over the face's 95th percentile, and max-pooled over
    one search pixel either way before resampling: a thin rim survives the 5x reduction
    and a frame that differs by a millimetre or two from the library's still lies on it.
    The bridge: the strongest step of the row profile across the nose root between the
    inner eye corners, where a bare face shades smoothly and every frame (rimless too)
    crosses."""
    import cv2
    h, w = face.shape
    x0, y0 = max(ras.x0, 0), max(ras.y0, 0)
    x1 = min(int(ras.x0 + ras.shape[1] / ras.k) + 1, w)
    y1 = min(int(ras.y0 + ras.shape[0] / ras.k) + 1, h)
    crop = lab[y0:y1, x0:x1].astype(np.float32)
    grad = np.sqrt(sum(cv2.Sobel(crop[..., c], cv2.CV_32F, 1, 0, ksize=3) ** 2
                       + cv2.Sobel(crop[..., c], cv2.CV_32F, 0, 1, ksize=3) ** 2 for c in range(3)))
    inside = face[y0:y1, x0:x1]
    norm = (np.percentile(grad[inside], 95) if inside.any() else grad.max()) + 1e-6
    reach = 2 * max(1, int(round(1 / ras.k))) + 1
    full = np.zeros((h, w), np.float32)
    full[y0:y1, x0:x1] = cv2.dilate(np.clip(grad / norm, 0, 1), np.ones((reach, reach), np.uint8))

    xi, xo = lm[133, 0], lm[362, 0]
    gap = xo - xi
    eye_y = lm[[33, 133, 362, 263], 1].mean()
    rows = slice(max(int(eye_y - 0.25 * iod), 0), min(int(eye_y + 0.12 * iod), h))
    cols = slice(max(int(xi + 0.2 * gap), 0), min(int(xo - 0.2 * gap), w))
    strip = lab[rows, cols].astype(np.float32)
    bridge = 0.0
    if strip.shape[0] > 4 and strip.shape[1] > 0:
        for c in range(3):
            prof = cv2.GaussianBlur(strip[..., c].mean(1).reshape(-1, 1), (1, 0), sigmaX=0.1,
                                    sigmaY=max(0.5, 0.01 * iod)).ravel()
            # x8: a step's slope in Sobel units (its 3x3 kernel weighs a unit slope 8)
            bridge = max(bridge, float(np.abs(prof[2:] - prof[:-2]).max()) / 2 * 8 / norm)
    return ras.resize(full), bridge


def _hair_regions(shape_hw, lm, iod, cx, chin_y, face):
    """(mask, weight) regions where hairstyles differ: above the forehead (bald or not),
    the temples, beside the cheeks (medium and long), beside the neck (long), and the
    forehead (fringe or not; last, after the order :func:`_continuous` reads)."""
    yy, xx = np.mgrid[0:shape_hw[0], 0:shape_hw[1]]
    top, eye_y = lm[10, 1], lm[[33, 263], 1].mean()
    brow_y = lm[[105, 334], 1].mean()
    dx = np.abs(xx - cx)
    half = np.abs(lm[[234, 454], 0] - cx).mean()          # face half-width at the cheekbones
    above = (yy > top - 0.75 * iod) & (yy < top - 0.3 * iod) & (dx < 0.45 * iod)
    temples = (yy > brow_y - 0.35 * iod) & (yy < eye_y) & ~face & (dx < half + 0.35 * iod)
    cheeks = (yy > eye_y) & (yy < chin_y) & ~face & (dx < half + 0.45 * iod)
    # beside the neck, but inside the shoulders' line where a collar or suit begins
    neck = (yy > chin_y) & (yy < chin_y + 0.5 * iod) & (dx > 0.45 * iod) & (dx < 0.95 * iod)
    shoulders = (yy > chin_y + 0.5 * iod) & (yy < chin_y + 1.1 * iod) & (dx > 0.45 * iod) & (dx < 1.1 * iod)
    # the forehead: a fringe covers it, a parted or swept-back cut shows skin
    forehead = face & (yy < brow_y - 0.15 * iod) & (dx < 0.6 * iod)
    return [(above, 2.0), (temples, 0.25), (cheeks, 1.5), (neck, 1.0), (shoulders, 1.0), (forehead, 1.0)]


def _continuous(f: np.ndarray) -> np.ndarray:
    """Hair below the chin counts only as far as hair above it leads there: long hair falls
    past the cheeks, a dark collar does not (order: above, temples, cheeks, neck, shoulders)."""
    f = f.copy()
    f[3] = min(f[3], 1.5 * f[2])
    f[4] = min(f[4], 1.5 * f[3])
    return f


@functools.lru_cache(maxsize=None)
def asset_triangles(name: str, material: int | None = None) -> np.ndarray:
    """(m, 3) fan triangulation of a library asset's polygons (of one material slot, or
    all); the library does not change while the process runs."""
    a = load_library()[name]
    start = a.loop_start.astype(np.int64)
    size = np.diff(np.r_[start, len(a.loop_vert)])
    keep = np.ones(len(start), bool) if material is None else a.poly_material == material
    start, size = start[keep], size[keep]
    n_tri = np.maximum(size - 2, 0)
    first = np.repeat(start, n_tri)                                 # each triangle's polygon start
    j = np.arange(n_tri.sum()) - np.repeat(np.cumsum(n_tri) - n_tri, n_tri) + 1
    lv = a.loop_vert.astype(np.int64)
    return np.stack([lv[first], lv[first + j], lv[first + j + 1]], 1).reshape(-1, 3)


@functools.lru_cache(maxsize=1)
def _ear_triangles() -> np.ndarray:
    """Head triangles with all three corners on the ears."""
    rig = load_rig()
    tris = rig.parts["head"].triangles()
    return tris[rig.ear_vertices()[tris].all(axis=1)]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def search_assets(rgb: np.ndarray, lm: np.ndarray, person_mask: np.ndarray, fit: FitResult,
                  skin_lab: np.ndarray, lab: np.ndarray | None = None,
                  hair: HairSegmentation | None = None) -> AssetChoice:
    """Best hair, beard and glasses for the photo (eyebrows by thickness of the brow strip).

    ``hair``: the photo's hair region (:func:`inference.hair_segment.segment_hair`); computed
    here when not given. Hairstyles are compared with it, and those of the length class it
    reads get :data:`LENGTH_BONUS`."""
    from inference.colors import srgb_to_lab
    lib = load_library()
    cat = asset_catalogue()
    lab = srgb_to_lab(rgb / 255.0) if lab is None else lab
    shape_hw = rgb.shape[:2]
    iod = np.linalg.norm(lm[33, :2] - lm[263, :2])
    cx = lm[[33, 263], 0].mean()
    chin_y = lm[152, 1]
    roi = (int(cx - 1.7 * iod), int(lm[10, 1] - 1.3 * iod), int(cx + 1.7 * iod), int(chin_y + 1.2 * iod))
    ras = Rasterizer(fit, roi)

    verts, normals, head_tris = fitted_head(fit)
    head_layer = (verts, ras.facing(verts, head_tris, normals), SKIN)

    def asset_layer(name, label, material=None):
        return lib[name].att.evaluate(verts, normals), asset_triangles(name, material), label

    scores: dict[str, dict[str, float]] = {"hair": {}, "beard": {}, "glasses": {}}
    face = polygon_mask(shape_hw, lm[FACE_OVAL], hull=False)
    brow_line = min(lm[BROW_L, 1].min(), lm[BROW_R, 1].min())
    yy = np.mgrid[0:shape_hw[0], 0:shape_hw[1]][0]

    # ---- hair ----
    # evidence: the photo's own hair region (skin, backdrop and clothes cut away), so
    # strands hanging over the shoulders are not rewarded where the photo shows a jacket
    if hair is None:
        hair = segment_hair(lab, lm, person_mask, skin_lab)
    p_hair = hair.prob
    # The MakeHuman cranium is taller than most real skulls, so pixelwise overlap on the
    # crown says more about skull size than about the hairstyle. Compare instead the
    # share of hair in regions anchored on the face, computed the same way on the
    # candidate's projection and on the photo's evidence.
    regions = _hair_regions(shape_hw, lm, iod, cx, chin_y, face)
    # Ears are skin, but in shade their colour passes for brown hair; where the fitted
    # head puts its ears the photo cannot tell hair from ear by colour, so no candidate
    # is judged there (a shaded ear made short brown hair read as a bob).
    not_ear = ras.draw([head_layer, (verts, _ear_triangles(), EAR)]) != EAR
    R = [ras.resize(r.astype(np.float32)) > 0.5 for r, _ in regions]
    R = [r & not_ear for r in R]
    wts = np.array([w for _, w in regions])
    P = ras.resize(p_hair)
    fP = _continuous(np.array([P[r].mean() if r.any() else 0.0 for r in R]))
    below_chin = np.array([False, False, False, True, True, False])    # neck, shoulders
    for hid in cat["hair"]:
        layers = [head_layer] + ([asset_layer(f"hair/{hid}", HAIR)] if f"hair/{hid}" in lib else [])
        M = (ras.draw(layers) == HAIR).astype(np.float32)
        fM = _continuous(np.array([M[r].mean() if r.any() else 0.0 for r in R]))
        err = np.where(below_chin & (fM > fP), BELOW_CHIN_EXCESS * (fM - fP), np.abs(fM - fP))
        scores["hair"][hid] = float(1.0 - (wts * err).sum() / wts.sum()
                                    - STYLE_PRIOR.get(hid, 0.0)
                                    + (LENGTH_BONUS if cat["hair"][hid]["length"] == hair.length else 0.0)
                                    - (TEXTURE_WEIGHT * abs(hair.texture - cat["hair"][hid].get("curl", 0.0))
                                       if cat["hair"][hid]["length"] in ("medium", "long") else 0.0))

    # ---- beard ----
    import cv2
    lips = polygon_mask(shape_hw, lm[LIPS_OUTER], hull=False)
    below_nose = yy > lm[2, 1]
    beard_region = face & below_nose & ~lips
    # facial hair, whatever its colour (black, brown, grey, white), is less chromatic than the
    # skin along the skin's own hue: the evidence is how far a pixel lies from the skin toward
    # neutral in a*b* (a white beard over pink skin differs in b* as much as in a*). Each
    # pixel is first taken to the skin's lightness (a*, b* x (L*skin + 16) / (L* + 16)):
    # shading scales a*, b* and L* + 16 alike, and a colour cast adds to a*, b* in proportion
    # to L* + 16, so a shadowed or tinted cheek keeps its place and stubble's shade is not read
    # as a beard; cheeks redder than the skin point away from neutral and count against
    to_skin = (skin_lab[0] + 16.0) / np.maximum(lab[..., 0] + 16.0, 1.0)
    hue = np.asarray(skin_lab[1:], np.float64) / max(float(np.hypot(*skin_lab[1:])), 1e-6)
    toward_neutral = (skin_lab[1] - lab[..., 1] * to_skin) * hue[0] + (skin_lab[2] - lab[..., 2] * to_skin) * hue[1]
    p_beard = _sigmoid((toward_neutral - 5.0) / 1.5)
    # ... but a brown or black beard has the skin's own hue (only darker): over light skin it
    # shows as darkness, (L* + 16) a small share of the skin's (DARK_RATIO), read as a local
    # mean (strands leave skin between them; coverage is what a beard is). Shade and a
    # five-o'clock shadow darken too, but smoothly: darkness counts in proportion to how much
    # busier the fine texture is than the skin's on the cheeks and forehead
    k = max(3, int(0.06 * iod)) | 1
    L = lab[..., 0].astype(np.float32)
    ratio = cv2.blur((L + 16.0) / (float(skin_lab[0]) + 16.0), (k, k))
    fine = L - cv2.GaussianBlur(L, (0, 0), max(0.7, 0.01 * float(iod)))
    busy = np.sqrt(np.maximum(cv2.blur(fine * fine, (k, k)), 0.0))
    textured = np.clip(busy / max(float(np.median(busy[skin_region(shape_hw, lm)])), 1e-3) - 1.0, 0.0, 1.0)
    dark = np.clip((DARK_RATIO[0] - ratio) / (DARK_RATIO[0] - DARK_RATIO[1]), 0.0, 1.0)
    p_beard = np.maximum(p_beard, dark * textured)
    # scalp hair hanging over the cheeks and jaw (curls, a bob) is not a beard
    p_beard = p_beard * (1.0 - hair.prob)
    P = ras.resize(p_beard)
    R = ras.resize(beard_region.astype(np.float32)) > 0.5
    for bid in cat["beard"]:
        if f"beard/{bid}" in lib:
            M = (ras.draw([head_layer, asset_layer(f"beard/{bid}", BEARD)]) == BEARD).astype(np.float32)
            if bid == "stubble":
                M *= STUBBLE_LEVEL
        else:
            M = np.zeros(ras.shape, np.float32)
        scores["beard"][bid] = (float(1.0 - np.abs(M - P)[R].mean()) if R.any() else 0.0) \
            + (NONE_PRIOR if bid == "none" else 0.0) - BEARD_PRIOR.get(bid, 0.0)

    # ---- glasses ----
    E, bridge = _glasses_evidence(lab, lm, face, iod, ras)
    feature = np.zeros(shape_hw, np.uint8)
    for ids in (EYE_L, EYE_R, BROW_L, BROW_R):
        feature |= polygon_mask(shape_hw, lm[ids], hull=True).astype(np.uint8)
    feature = cv2.dilate(feature, np.ones((max(3, int(0.08 * iod)),) * 2, np.uint8)).astype(bool)
    band = (yy > brow_line - 0.2 * iod) & (yy < lm[2, 1]) & ~feature
    R = ras.resize(band.astype(np.float32)) > 0.5
    scores["glasses"]["none"] = GLASSES_THRESHOLD
    for gid in cat["glasses"]:
        if f"glasses/{gid}" not in lib:
            continue
        M = ras.draw([head_layer, asset_layer(f"glasses/{gid}", FRAME, material=0)]) == FRAME
        M = cv2.dilate(M.astype(np.uint8), np.ones((2, 2), np.uint8)).astype(bool) & R
        rest = R & ~M
        contrast = float(E[M].mean() - E[rest].mean()) if M.any() and rest.any() else 0.0
        # thin wires cover few pixels: their mean edge strength is the noisiest reading
        scores["glasses"][gid] = contrast + BRIDGE_WEIGHT * bridge - (RIMLESS_MARGIN if gid == "rimless" else 0.0)

    best = {k: max(v, key=v.get) for k, v in scores.items()}
    return AssetChoice(best, scores, hair_colour(lab, hair, skin_lab), hair)


def hair_colour(lab: np.ndarray, hair: HairSegmentation, skin_lab: np.ndarray | None = None) -> np.ndarray | None:
    """Robust CIELAB of the photo's hair region, its rim left out (the cut's edge mixes
    in backdrop and skin); None when the photo shows too little hair to measure.

    The lit part of the hair decides: the shade between strands is dark whatever the hair's
    colour, so the darker 40 % of the region are left out (blonde read as brown with them).
    Light bounced off a coloured backdrop tints the hair (black hair before the usual blue
    studio backdrop read navy, b* -19): that spill is taken out first (:func:`despill`).
    With ``skin_lab``, a warm or cool cast of the whole photo is taken out of b* too
    (:data:`SKIN_B_RATIO`)."""
    import cv2
    m = hair.mask().astype(np.uint8)
    inner = cv2.erode(m, np.ones((5, 5), np.uint8)).astype(bool)
    px = lab[inner] if inner.sum() >= 200 else lab[m.astype(bool)]
    if len(px) < 50:
        return None
    out = robust_lab(despill(px, hair.backdrop_lab), 40, 95)
    if skin_lab is not None and out is not None:
        # a yellow or blue cast, read off the skin: b* / (L* + 16) is steady across people's
        # skin and a cast moves it in proportion; the hair loses the same share of its own
        out = out.copy()
        out[2] -= (skin_lab[2] / (skin_lab[0] + 16.0) - SKIN_B_RATIO) * (out[0] + 16.0)
    return out


def despill(px: np.ndarray, backdrop_lab: np.ndarray | None) -> np.ndarray:
    """Backdrop spill suppression, as a keyer does for a blue screen: each pixel's chroma
    loses its component along the backdrop's hue (never more than brings it to neutral).
    Only for a saturated backdrop whose hue is far from every natural hair hue (red to
    yellow, h 30-90 deg): on an orange backdrop it would grey real brown or red hair."""
    if backdrop_lab is None or np.hypot(*backdrop_lab[1:]) < SPILL_MIN_CHROMA:
        return px
    u = np.asarray(backdrop_lab[1:], np.float64) / np.hypot(*backdrop_lab[1:])
    hair_hue = np.array([np.cos(np.radians(60.0)), np.sin(np.radians(60.0))])
    if u @ hair_hue > np.cos(np.radians(75.0)):      # within 75 deg of the hair hues' middle
        return px
    out = np.array(px, np.float64)
    along = out[:, 1:] @ u
    out[:, 1:] -= np.maximum(along, 0.0)[:, None] * u
    return out


def choose_eyebrows(lm: np.ndarray, lab: np.ndarray, skin_lab: np.ndarray) -> str:
    """Eyebrow style from the brow strip: darkness against the skin (sparse or light brows
    read as thin), thickness relative to the eye distance, arch from the landmark curve."""
    iod = np.linalg.norm(lm[33, :2] - lm[263, :2])
    upper = lm[[70, 63, 105, 66, 107, 300, 293, 334, 296, 336], 1]
    lower = lm[[46, 53, 52, 65, 55, 276, 283, 282, 295, 285], 1]
    thickness = float(np.median(lower - upper) / iod)
    # arch: how far the middle rises above the line joining the ends, per side
    arch = []
    for ids in ([70, 105, 107], [300, 334, 336]):
        a, m, b = lm[ids, :2]
        arch.append(((a[1] + b[1]) / 2 - m[1]) / iod)
    arch = float(np.mean(arch))
    h, w = lab.shape[:2]
    brows = polygon_mask((h, w), lm[BROW_L], hull=False) | polygon_mask((h, w), lm[BROW_R], hull=False)
    contrast = float(skin_lab[0] - np.median(lab[brows][:, 0])) if brows.any() else 0.0
    # MediaPipe's brow points follow a template that barely changes with the brow's shape
    # (thickness 0.046-0.061, arch 0.051-0.082 of the eye distance on the sample photos),
    # so only clear cases leave "medium", the style the rig's landmarks were built with.
    if contrast < 14:
        return "thin"
    if contrast > 32 and thickness > 0.055:
        return "bushy" if thickness > 0.065 else "thick"
    if arch > 0.078:
        return "arched"
    if arch < 0.035:
        return "straight"
    return "medium"
