"""Hair region of a portrait, separated from skin, background and clothes.

No face-parsing network ships inside a wheel we can install (MediaPipe 0.10.21 bundles
selfie segmentation, which holds hair, neck, shoulders and clothes alike), so the hair
region is found by a graph cut (OpenCV's GrabCut) seeded from landmark-placed regions:

* certainly *not hair*: outside the person mask, pixels of the backdrop's colour, the
  face below the brows, the middle of the neck and chest (clothes or skin);
* certainly *hair*: person pixels in a band above the forehead whose colour is far from
  the face's skin (a* weighted up: skin is redder than hair of any colour, and blonde hair
  is close to fair skin in lightness);
* the rest of the head-and-shoulders area: *probably* hair where it is far from the skin,
  clothes and backdrop colours, *probably not* elsewhere; the cut settles these.

A head that shows no hair seeds above the forehead (bald, shaved) gets no cut at all:
an empty seed set is the evidence for ``bald``.

From the region the segmentation reads what an artist judges at a glance: how much of the
crown is covered, where the hair ends beside the face relative to the ear lobes and the
shoulder joints (MediaPipe Pose), hence the length class (:func:`length_class`), and how
its strands run (:func:`strand_texture`: straight or curly, coily, locs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.colors import BROW_L, BROW_R, FACE_OVAL, polygon_mask, robust_lab

WORK_IOD = 30.0          # the cut runs at this many pixels between the outer eye corners
SKIN_CHROMA = 12.0       # skin chroma (C*ab) below which the photo counts as desaturated
SEED_DIST = 18.0         # skin distance (weighted Lab) beyond which a crown pixel is hair
LAB_WEIGHTS = np.array([0.5, 2.0, 1.0])   # L, a*, b*: see the module docstring
MIN_SEED_SHARE = 0.12    # fewer hair seeds than this share of the crown band: no hair cut
TEXTURE_IOD = 60.0        # strand texture is read at this many pixels per eye distance
COHERENT, TURNING = 0.8, 0.4   # mean coherence of combed straight hair / of coils and locs
FIRM_PERSON = 0.9         # selfie-mask value above which a pixel is taken as the person's
DEFAULT_SHOULDERS = 0.75  # shoulder joints below the chin, eye distances (median of the samples)
NEAR_SHOULDERS = 0.2      # hair ending lower than this above the shoulder joints is long
JAW_RIM = 7               # work pixels (0.23 eye distances) around the jaw below the mouth: beard, not scalp hair


@dataclass
class HairSegmentation:
    """Hair probability in photo pixels plus the geometry it was read in."""
    prob: np.ndarray                  # (H, W) float32 in [0, 1]
    crown_cover: float | None         # share of the band above the forehead that is hair (None: out of frame)
    high_cover: float | None          # the same, higher up the crown (receding vs bald)
    side_end: float                   # lowest hair beside the face, in eye distances below the chin
    shoulder: float                   # the shoulder joints, in the same units
    side_cover: float                 # share of the temple/cheek strips beside the face that is hair
    length: str | None                # bald / short / medium / long; None: the photo cannot tell
    seeds: int                        # how many certain-hair pixels the cut started from
    texture: float = 0.0              # 0 straight .. 1 curly/coily/locs (strand_texture)
    temple_cover: float | None = None  # hair share beside the brows, when the upper crown is cut off
    scalp_skin: float = 0.0           # skin share of the crown bands (bald needs it)
    backdrop_lab: np.ndarray | None = None   # robust CIELAB of the backdrop, if enough of it shows

    def mask(self) -> np.ndarray:
        return self.prob > 0.5

    def summary(self) -> dict:
        """The figures the length class was read from (report.json, eval table)."""
        r3 = lambda v: None if v is None else round(v, 3)  # noqa: E731
        return {"length": self.length, "crown_cover": r3(self.crown_cover),
                "high_cover": r3(self.high_cover), "temple_cover": r3(self.temple_cover),
                "scalp_skin": r3(self.scalp_skin), "side_cover": round(self.side_cover, 3),
                "side_end_below_chin": round(self.side_end, 3),
                "shoulders_below_chin": round(self.shoulder, 3), "texture": round(self.texture, 3),
                "seeds": self.seeds}


def _wdist(lab: np.ndarray, ref: np.ndarray, weights: np.ndarray = LAB_WEIGHTS) -> np.ndarray:
    return np.linalg.norm((lab - ref) * weights, axis=-1)


def colour_weights(skin_lab: np.ndarray) -> np.ndarray:
    """The weighted-Lab metric for this photo. A desaturated or black-and-white photo
    shrinks every chroma difference (skin vs grey hair reads as skin vs skin): the chroma
    weights grow as the skin's chroma falls below :data:`SKIN_CHROMA`, and lightness
    gains weight with them, up to 3x and 2x."""
    gain = float(np.clip(SKIN_CHROMA / max(float(np.hypot(skin_lab[1], skin_lab[2])), 1e-3), 1.0, 3.0))
    return LAB_WEIGHTS * np.array([min(gain, 2.0), gain, gain])


def segment_hair(lab: np.ndarray, lm: np.ndarray, person_mask: np.ndarray,
                 skin_lab: np.ndarray, shoulders: np.ndarray | None = None) -> HairSegmentation:
    """Hair region of the photo (CIELAB image, landmarks in pixels, selfie mask, skin Lab,
    the shoulder joints in pixels when Pose found them)."""
    import cv2
    h, w = lab.shape[:2]
    iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
    cx = float(lm[[33, 263], 0].mean())
    top, chin = float(lm[10, 1]), float(lm[152, 1])
    x0, x1 = int(max(0, cx - 2.4 * iod)), int(min(w, cx + 2.4 * iod))
    y0, y1 = int(max(0, top - 1.6 * iod)), int(min(h, chin + 2.0 * iod))
    k = WORK_IOD / iod
    sw, sh = max(int((x1 - x0) * k), 8), max(int((y1 - y0) * k), 8)

    def crop(img, interp=cv2.INTER_AREA):
        return cv2.resize(np.ascontiguousarray(img[y0:y1, x0:x1]), (sw, sh), interpolation=interp)

    L = crop(lab.astype(np.float32))
    person = crop(person_mask.astype(np.float32))
    # landmark geometry in work pixels
    p = (lm[:, :2] - [x0, y0]) * k
    wiod, wcx, wtop, wchin = WORK_IOD, (cx - x0) * k, (top - y0) * k, (chin - y0) * k
    brow_y = float(min(p[BROW_L, 1].min(), p[BROW_R, 1].min()))
    half = float(np.abs(p[[234, 454], 0] - wcx).mean())   # face half-width at the cheekbones
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    dx = np.abs(xx - wcx)
    face = polygon_mask((sh, sw), p[FACE_OVAL], hull=False)

    wts = colour_weights(skin_lab)
    d_skin = _wdist(L, skin_lab, wts)
    outside = person < 0.3
    bg_px = L[(person < 0.05)]
    bg_lab = robust_lab(bg_px, 10, 90) if len(bg_px) > 50 else None
    d_bg = _wdist(L, bg_lab, wts) if bg_lab is not None else np.full((sh, sw), 99.0)
    # The backdrop's colour marks backdrop only where the person mask is soft (its edge
    # lets the backdrop in around hair); inside the firm mask, grey hair on a grey backdrop
    # or black hair on a black one is still hair.
    d_bg = np.where(person < FIRM_PERSON, d_bg, 99.0)
    # clothes: the chest below the neck and the far ends of the shoulders, where hair of
    # any length rarely reaches
    chest = (yy > wchin + 1.2 * wiod) & (dx < 0.6 * wiod) & (person > 0.7)
    shoulder = (yy > wchin + 1.4 * wiod) & (dx > 1.5 * wiod) & (person > 0.7)
    d_cloth = np.full((sh, sw), 99.0)
    for region in (chest, shoulder):
        if region.sum() > 30:
            d_cloth = np.minimum(d_cloth, _wdist(L, robust_lab(L[region], 10, 90), wts))

    gx = cv2.Sobel(L[..., 0], cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(L[..., 0], cv2.CV_32F, 0, 1, ksize=3)
    busy = cv2.blur(np.hypot(gx, gy), (5, 5))            # local gradient energy
    cloth_busy = float(np.median(busy[chest | shoulder])) if (chest | shoulder).any() else 1e9

    crown = (yy > wtop - 0.55 * wiod) & (yy < wtop - 0.1 * wiod) & (dx < 0.5 * wiod) & (person > 0.7)
    high = (yy > wtop - 1.0 * wiod) & (yy < wtop - 0.55 * wiod) & (dx < 0.5 * wiod) & (person > 0.7)
    # A photo cropped through the forehead does not show the whole crown: a band mostly
    # above the frame says nothing (it must not read bald), and the temples, beside the
    # brows, join the bands that carry the seeds and the bald test (a high hairline
    # leaves the lower crown band all forehead).
    seen = {name: (b - max(a, -y0 * k)) / (b - a) >= 0.5 for name, (a, b) in
            {"crown": (wtop - 0.55 * wiod, wtop - 0.1 * wiod), "high": (wtop - 1.0 * wiod, wtop - 0.55 * wiod)}.items()}
    temples = (yy > brow_y - 0.4 * wiod) & (yy < brow_y + 0.2 * wiod) & (dx > half - 0.1 * wiod) & \
        (dx < half + 0.35 * wiod) & ~face & (person > 0.7)
    bands = {n: b for n, b in (("crown", crown), ("high", high)) if seen[n]}
    if not seen["high"]:
        bands["temples"] = temples
    top_bands = np.logical_or.reduce(list(bands.values()))
    hairish = (d_skin > SEED_DIST) & (d_bg > 12.0)

    # under the mouth, within the chin's width, hangs a beard, not scalp hair
    mouth_y = float(p[14, 1])
    beard = (yy > mouth_y) & (dx < 0.6 * half)
    not_hair = outside | (d_bg < 8.0) | (face & (yy > brow_y)) | beard | \
        ((yy > wchin + 0.3 * wiod) & (dx < 0.4 * wiod)) | (shoulder & (d_cloth < 8.0))
    seeds = top_bands & hairish & ~not_hair
    n_seed, n_band = int(seeds.sum()), int(top_bands.sum())
    prob = np.zeros((sh, sw), np.float32)
    if n_band and n_seed >= max(MIN_SEED_SHARE * n_band, 20):
        gc = np.full((sh, sw), cv2.GC_PR_BGD, np.uint8)
        # hair of the clothes' colour (black hair, dark suit) is told apart by how busy it
        # is: strands and locs are, cloth is smooth
        likely = hairish & (person > 0.5) & ((d_cloth > 10.0) | (busy > 2.0 * cloth_busy))
        gc[likely] = cv2.GC_PR_FGD
        gc[not_hair] = cv2.GC_BGD
        gc[seeds] = cv2.GC_FGD
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        # the cut compares colours in a Lab with a* stretched like the seeds' metric (its
        # lightness keeps more weight than theirs: the cut also separates hair from cloth)
        img = np.clip(L * [1.275, 2.0, 1.0] + [0, 128, 128], 0, 255).astype(np.uint8)
        # GrabCut seeds its colour models' k-means from OpenCV's process-wide random state:
        # without a fixed seed the same photo's region (and length class) depended on what
        # the process had cut before it
        cv2.setRNGSeed(0)
        cv2.grabCut(img, gc, None, bgd, fgd, 4, cv2.GC_INIT_WITH_MASK)
        prob = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD))
        # The cut loses hair whose colour the clothes share (its background model holds
        # both). Beside the face, above the chin, nothing but hair has the seeds' colour;
        # below it, hair of that colour must also be busier than the cloth.
        seed_lab = robust_lab(L[seeds], 10, 90)
        tol = 14.0 + 0.2 * max(0.0, float(seed_lab[0]) - 40.0)
        d_seed = _wdist(L, seed_lab, wts)
        like_seeds = (d_seed < tol) & hairish & (person > 0.5) & ~not_hair
        # ... and below the chin the cut alone may not claim a jacket far from the hair's
        # colour: lightness and chroma each within reach (a navy jacket differs from grey
        # hair in lightness only, lit grey strands from shaded ones by less)
        near = (np.abs(L[..., 0] - seed_lab[0]) < 1.6 * tol) & \
            (np.linalg.norm(L[..., 1:] - seed_lab[1:], axis=-1) < 1.6 * tol)
        prob &= (yy < wchin) | near
        prob |= like_seeds & ((yy < wchin) | (busy > 1.5 * cloth_busy))
        # The cut also loses hair of the backdrop's colour (grey hair before a grey backdrop:
        # its background model holds the backdrop): where the selfie mask is firm the pixel is
        # the person's, so hair-coloured pixels unlike the clothes are hair below the chin too
        prob |= like_seeds & (person > FIRM_PERSON) & (d_cloth > 10.0)
        # a beard is not scalp hair: the rim around the jaw below the mouth (where a full
        # beard spreads past the face outline) is left out, so that a sideburn and beard
        # cannot lead the region into a jacket of their colour
        jaw = (yy > mouth_y) & cv2.dilate(face.astype(np.uint8), np.ones((JAW_RIM, JAW_RIM), np.uint8)).astype(bool)
        prob = (prob & ~jaw).astype(np.float32)
        # keep what connects to the crown: a dark lapel is not hair even if its colour is
        n, comp = cv2.connectedComponents(prob.astype(np.uint8), connectivity=8)
        keep = np.unique(comp[top_bands & (prob > 0)])
        prob = np.isin(comp, keep[keep > 0]).astype(np.float32)

    def cover(region):
        return float(prob[region].mean()) if region.any() else 0.0

    covers = {n: cover(b) for n, b in bands.items()}
    # bald needs the scalp itself: skin-coloured pixels over most of the bare bands (a hat,
    # or a photo whose colours cannot tell hair from skin, is no evidence of baldness)
    scalp = top_bands & ~(d_bg < 8.0)
    scalp_skin = float((d_skin[scalp] <= SEED_DIST).mean()) if scalp.any() else 0.0
    # beside the face: strips just outside the face oval, from the brows down
    sides = (dx > half) & (dx < half + 0.5 * wiod) & ~face
    side_cover = cover(sides & (yy > brow_y) & (yy < wchin))
    # each side on its own: hair swept to one shoulder still ends where it ends
    band = (dx > half - 0.1 * wiod) & (dx < half + 0.9 * wiod) & ~face
    ends = []
    for side in (xx < wcx, xx >= wcx):
        share = ((prob > 0) & band & side).sum(axis=1) / np.maximum((band & side).sum(axis=1), 1)
        ends.append(np.nonzero(share > 0.2)[0])
    hair_rows = np.concatenate(ends)
    side_end = float((hair_rows.max() - wchin) / wiod) if len(hair_rows) else -2.0
    shoulder = (shoulder_line(lm, shoulders) - chin) / iod
    full = cv2.resize(prob, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((h, w), np.float32)
    out[y0:y1, x0:x1] = full
    texture = strand_texture(lab[..., 0], out > 0.5, iod)
    top_cover = max(covers.values()) if covers else 0.0
    return HairSegmentation(out, covers.get("crown"), covers.get("high"), side_end, shoulder, side_cover,
                            length_class(top_cover, scalp_skin, side_end, shoulder), n_seed, texture,
                            covers.get("temples"), scalp_skin, bg_lab)


def strand_texture(lightness: np.ndarray, mask: np.ndarray, iod: float) -> float:
    """0 (straight, combed: strands run one way) .. 1 (curls, coils, locs, braids: the
    local orientation turns everywhere), from the coherence of the structure tensor
    inside the hair region, read at :data:`TEXTURE_IOD` pixels per eye distance. Means
    something for hair long enough to show strands (medium, long)."""
    import cv2
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return 0.0
    # only the region's box is resampled (a large photo with a small face would be
    # enlarged whole)
    pad = int(0.2 * iod) + 2
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, mask.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, mask.shape[1])
    k = TEXTURE_IOD / iod
    L = cv2.resize(np.ascontiguousarray(lightness[y0:y1, x0:x1], np.float32), None, fx=k, fy=k,
                   interpolation=cv2.INTER_AREA)
    m = cv2.resize(np.ascontiguousarray(mask[y0:y1, x0:x1], np.uint8), (L.shape[1], L.shape[0]),
                   interpolation=cv2.INTER_NEAREST)
    m = cv2.erode(m, np.ones((7, 7), np.uint8)).astype(bool)   # the region's rim is an edge, not texture
    if m.sum() < 50:
        return 0.0
    gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = (cv2.GaussianBlur(a, (0, 0), 3.0) for a in (gx * gx, gy * gy, gx * gy))
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (jxx + jyy + 1e-6)
    return float(np.clip((COHERENT - coherence[m].mean()) / (COHERENT - TURNING), 0.0, 1.0))


def shoulder_line(lm: np.ndarray, shoulders: np.ndarray | None) -> float:
    """Image row of the shoulder joints (MediaPipe Pose), or :data:`DEFAULT_SHOULDERS`
    eye distances below the chin when Pose did not see them."""
    if shoulders is not None:
        return float(np.mean(shoulders[:, 1]))
    iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
    return float(lm[152, 1] + DEFAULT_SHOULDERS * iod)


def length_class(top_cover: float, scalp_skin: float, side_end: float, shoulder: float) -> str | None:
    """Length class from where hair is (``top_cover``: hair share of the crown bands in the
    frame; ``scalp_skin``: skin share there; ``side_end``, ``shoulder``: eye distances below
    the chin): bare crown showing skin -> bald (bare but not skin: None, unknown); ends
    beside the face above the ear lobes (about 0.6 above the chin) -> short; ends above
    the shoulders -> medium; reaches the shoulder joints (which lie below the top of the
    shoulders) or falls past them -> long."""
    if top_cover < 0.25:
        return "bald" if scalp_skin >= 0.5 else None
    if side_end < -0.6:
        return "short"
    if side_end < shoulder - NEAR_SHOULDERS:
        return "medium"
    return "long"
