"""Measure the avatar's colours (skin, hair, eyes, lips, eyebrows) from a photo.

Regions come from the landmarks (cheeks and forehead for skin, iris circles, the lip ring,
brow strips) and, for hair, from the person mask. Each colour is a robust statistic in
CIELAB: shadows and highlights are cut by lightness percentiles and chroma outliers by a
median-absolute-deviation test, because AgileAvatar's failure case is skin measured in
shadow. A white-balance cast is estimated from the brightest pixels of the eye whites and
reported, not removed: eye whites are not neutral enough (measured a*, b* of +5..+11 on
evenly lit portraits) to correct skin by them without making it grey.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.avatar import rgb_to_hex

# MediaPipe landmark ids
CHEEK_L = [50, 101, 36, 205, 187, 123, 117, 118]
CHEEK_R = [280, 330, 266, 425, 411, 352, 346, 347]
FOREHEAD = [107, 66, 69, 108, 151, 337, 299, 296, 336, 9]
LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
LIPS_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
BROW_R = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46]
BROW_L = [300, 293, 334, 296, 336, 285, 295, 282, 283, 276]
EYE_R = [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7]
EYE_L = [263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249]
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]


@dataclass
class MeasuredColors:
    hex: dict[str, str]                 # avatar.json colours
    lab: dict[str, np.ndarray]          # the same in CIELAB (D65)
    hair_fraction: float                # share of the hair region that looks like hair
    white_balance_ab: tuple[float, float]


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] -> CIELAB (L 0-100), D65."""
    import cv2
    a = np.asarray(rgb, np.float32).reshape(-1, 1, 3)
    return cv2.cvtColor(a, cv2.COLOR_RGB2LAB).reshape(np.shape(rgb)).astype(np.float64)


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    import cv2
    a = np.asarray(lab, np.float32).reshape(-1, 1, 3)
    return np.clip(cv2.cvtColor(a, cv2.COLOR_LAB2RGB).reshape(np.shape(lab)), 0, 1)


# The brightest pixels of a portrait (catchlights, skin speculars, a white collar, a lit
# backdrop) reach the top of the range when the camera exposed it right: the 99.9th percentile
# of the brightest channel is 240-255 on every sample photo and 182-194 when the same photos are
# darkened to x0.55 in linear light. How far it falls short is taken as underexposure.
WHITE_POINT_PERCENTILE = 99.9
MAX_EXPOSURE_GAIN = 2.5     # a portrait with nothing bright in it is not pushed further


def exposure_gain(rgb: np.ndarray) -> float:
    """Linear-light gain that brings the photo's white point (the 99.9th percentile of each
    pixel's brightest channel) to full scale; 1 for a photo exposed right, never below 1
    (clipped highlights cannot be told from a bright photo), at most
    :data:`MAX_EXPOSURE_GAIN`."""
    top = float(np.percentile(np.asarray(rgb).max(axis=-1), WHITE_POINT_PERCENTILE))
    if top <= 0:
        return MAX_EXPOSURE_GAIN
    return float(np.clip((255.0 / top) ** 2.2, 1.0, MAX_EXPOSURE_GAIN))


def expose(rgb: np.ndarray, gain: float) -> np.ndarray:
    """The uint8 sRGB photo with its linear light multiplied by ``gain`` (clipped)."""
    if gain == 1.0:
        return rgb
    lin = (np.asarray(rgb, np.float32) / 255.0) ** 2.2 * gain
    return np.clip(lin ** (1 / 2.2) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def skin_region(shape_hw, lm: np.ndarray) -> np.ndarray:
    """Where the face's own skin is measured: both cheeks and the forehead."""
    return polygon_mask(shape_hw, lm[CHEEK_L]) | polygon_mask(shape_hw, lm[CHEEK_R]) | \
        polygon_mask(shape_hw, lm[FOREHEAD])


def polygon_mask(shape_hw, points: np.ndarray, hull: bool = True) -> np.ndarray:
    """Boolean mask of a landmark polygon (convex hull by default)."""
    import cv2
    m = np.zeros(shape_hw, np.uint8)
    pts = np.round(points[:, :2]).astype(np.int32)
    if hull:
        pts = cv2.convexHull(pts)
    cv2.fillPoly(m, [pts.reshape(-1, 2)], 1)
    return m.astype(bool)


def robust_lab(lab_pixels: np.ndarray, lo: float = 35, hi: float = 90) -> np.ndarray | None:
    """Median Lab of pixels inside a lightness percentile band, chroma outliers removed."""
    if len(lab_pixels) < 8:
        return None
    L = lab_pixels[:, 0]
    keep = (L >= np.percentile(L, lo)) & (L <= np.percentile(L, hi))
    px = lab_pixels[keep] if keep.sum() >= 4 else lab_pixels
    med = np.median(px, axis=0)
    dev = np.linalg.norm(px[:, 1:] - med[1:], axis=1)
    mad = np.median(dev) + 1e-6
    px = px[dev < 3 * 1.4826 * mad] if (dev < 3 * 1.4826 * mad).sum() >= 4 else px
    return np.median(px, axis=0)


def measure_colors(rgb: np.ndarray, lm: np.ndarray, person_mask: np.ndarray,
                   lab: np.ndarray | None = None) -> MeasuredColors:
    """All five colours from an RGB photo, its landmarks and the person mask (``lab``: the
    photo already in CIELAB, when the caller has it)."""
    h, w = rgb.shape[:2]
    lab = srgb_to_lab(rgb.astype(np.float64) / 255.0) if lab is None else lab
    hw = (h, w)

    # white balance from the eye whites: bright, low-chroma pixels inside the eye contours
    eyes = polygon_mask(hw, lm[EYE_L], hull=False) | polygon_mask(hw, lm[EYE_R], hull=False)
    ew = lab[eyes]
    wb = np.zeros(2)
    if len(ew) > 30:
        bright = ew[ew[:, 0] >= np.percentile(ew[:, 0], 80)]
        if len(bright) >= 5 and np.median(bright[:, 0]) > 45:
            wb = np.clip(np.median(bright[:, 1:], axis=0), -12, 12) * 0.5
    lab_c = lab

    skin_m = skin_region(hw, lm)
    # the middle of the lightness distribution: highlights on oily or dark skin and the
    # shadow side of the face both pull a mean away from the skin's own colour
    skin = robust_lab(lab_c[skin_m], 25, 80)

    lips_m = polygon_mask(hw, lm[LIPS_OUTER], hull=False) & ~polygon_mask(hw, lm[LIPS_INNER], hull=False)
    lp = lab_c[lips_m]
    lips = robust_lab(lp[lp[:, 1] >= np.median(lp[:, 1])], 20, 90) if len(lp) > 16 else None  # the redder half

    brows_m = polygon_mask(hw, lm[BROW_L], hull=False) | polygon_mask(hw, lm[BROW_R], hull=False)
    bp = lab_c[brows_m]
    brows = robust_lab(bp[bp[:, 0] <= np.percentile(bp[:, 0], 50)], 0, 100) if len(bp) > 16 else None

    iris_px = []
    for c_id, ring in ((468, [469, 470, 471, 472]), (473, [474, 475, 476, 477])):
        c = lm[c_id, :2]
        r = np.mean(np.linalg.norm(lm[ring, :2] - c, axis=1))
        yy, xx = np.mgrid[0:h, 0:w]
        d = np.hypot(xx - c[0], yy - c[1])
        iris_px.append(lab_c[(d < 0.85 * r) & (d > 0.35 * r)])
    ip = np.concatenate(iris_px)
    eyes_lab = robust_lab(ip, 10, 80) if len(ip) else None

    hair_lab, frac = _hair(lab_c, lm, person_mask, skin)

    fallback = {"skin": np.array([70.0, 14.0, 20.0]), "lips": np.array([50.0, 35.0, 15.0]),
                "eyebrows": np.array([25.0, 5.0, 10.0]), "eyes": np.array([35.0, 5.0, 15.0]),
                "hair": np.array([25.0, 5.0, 10.0])}
    labs = {"skin": skin, "hair": hair_lab, "eyes": eyes_lab, "lips": lips, "eyebrows": brows}
    labs = {k: (v if v is not None else fallback[k]) for k, v in labs.items()}
    hexes = {k: rgb_to_hex(lab_to_srgb(v)) for k, v in labs.items()}
    return MeasuredColors(hexes, labs, frac, (float(wb[0]), float(wb[1])))


def hair_region(shape_hw, lm: np.ndarray) -> np.ndarray:
    """Where scalp hair shows in a portrait: above the brows and around the face oval,
    excluding the face itself."""
    h, w = shape_hw
    iod = np.linalg.norm(lm[33, :2] - lm[263, :2])
    face = polygon_mask(shape_hw, lm[FACE_OVAL], hull=False)
    top = lm[10, 1]
    cx = lm[[33, 263], 0].mean()
    yy, xx = np.mgrid[0:h, 0:w]
    box = (yy > top - 1.1 * iod) & (yy < lm[152, 1]) & (np.abs(xx - cx) < 1.5 * iod)
    return box & ~face


def _hair(lab, lm, person_mask, skin):
    """Hair colour, preferably from the band just above the forehead (hair on almost every
    head that has any), else from the whole region around the face. Returns the colour and
    the share of the region that is person and not skin (small = bald or very short)."""
    h, w = lab.shape[:2]
    iod = np.linalg.norm(lm[33, :2] - lm[263, :2])
    cx, top = lm[[33, 263], 0].mean(), lm[10, 1]
    yy, xx = np.mgrid[0:h, 0:w]
    person = person_mask > 0.5
    band = person & (yy > top - 0.75 * iod) & (yy < top - 0.2 * iod) & (np.abs(xx - cx) < 0.5 * iod)
    region = hair_region(lab.shape[:2], lm) & person
    px = lab[region]
    if len(px) < 30:
        return None, 0.0
    skin_like = lambda q: np.linalg.norm(q - skin, axis=1) <= 14 if skin is not None else np.zeros(len(q), bool)  # noqa: E731
    frac = float(1.0 - skin_like(px).mean())
    bp = lab[band]
    if len(bp) >= 30 and (1.0 - skin_like(bp).mean()) > 0.4:
        hair = bp[~skin_like(bp)]
    else:
        hair = px[~skin_like(px)]
    if len(hair) < 30:
        return None, frac
    return robust_lab(hair, 15, 85), frac
