"""Synthetic beards on photos without them: does the beard reading see dark beards on light skin?

The sample photos hold two beards (a black one on dark skin, a white one on pink skin) and
no brown or black beard on light skin, the commonest kind. Here every photo labelled
without a beard gets library beards drawn on it: the beard's outline projected through the
photo's own registration fit (the head hides what lies behind it), moved and scaled a
little, filled with thousands of short anti-aliased strands that run down and outward in
one of four hair colours (black, dark brown, mid brown, grey), each strand lit like the
skin under it (a beard in the shade of the jaw is darker, as on a real face). The photo is
analysed again and the row says whether a beard (not stubble, not a moustache) was chosen.
The untouched photos, darker, brighter, under a warm cast and with the jaw in shade, give
the false-beard side. Development tool (not CI):
``python -m training.beard_variants PHOTOS [-o rows.jsonl] [--save DIR]``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

BEARD_COLOURS = {"black": (30, 26, 24), "dark_brown": (62, 44, 32), "brown": (105, 76, 52),
                 "grey": (150, 146, 140)}
DRAWN = ("short_boxed", "short_full", "long_full", "goatee")


def beard_mask(fit, shape_hw: tuple[int, int], beard: str, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float coverage of a library beard's outline on the photo through ``fit``;
    shifted up to 2 mm and scaled up to 4 % at random."""
    import cv2
    from inference.asset_search import BEARD, SKIN, Rasterizer, asset_triangles, fitted_head
    from rigs.asset_library import load_library
    lib = load_library()
    h, w = shape_hw
    ras = Rasterizer(fit, (0, 0, w, h), width=w)
    verts, normals, head_tris = fitted_head(fit)
    b = lib[f"beard/{beard}"].att.evaluate(verts, normals)
    centre = b.mean(0)
    b = centre + (b - centre) * rng.uniform(0.96, 1.04) + np.r_[rng.uniform(-0.002, 0.002, 3)]
    label = ras.draw([(verts, ras.facing(verts, head_tris, normals), SKIN),
                      (b, asset_triangles(f"beard/{beard}"), BEARD)])
    m = cv2.resize((label == BEARD).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))     # mesh seams
    n, comp, stats, _ = cv2.connectedComponentsWithStats(m)
    if n > 1:       # the sideburns' tips poke out beside the ears as specks: leave them out
        area = stats[1:, cv2.CC_STAT_AREA]
        m = np.isin(comp, 1 + np.nonzero(area >= 0.15 * area.max())[0]).astype(np.uint8)
    return cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.0)


def with_beard(rgb: np.ndarray, cover: np.ndarray, colour: str, iod: float, cx: float,
               skin_l: float, rng: np.random.Generator) -> np.ndarray:
    """The photo with strands drawn inside ``cover``: each strand a short anti-aliased line
    (about 0.12 eye distances) running down and away from the face's middle, its colour
    scaled by the photo's lightness under it relative to the skin's (lit like the face)."""
    import cv2
    h, w = cover.shape
    ys, xs = np.nonzero(cover > 0.3)
    if len(xs) == 0:
        return rgb
    n = int(len(xs) * 0.15)       # strands overlap: about 80 % of the skin is covered
    pick = rng.integers(0, len(xs), n)
    length = 0.12 * iod * rng.uniform(0.6, 1.4, n)
    side = np.where(xs[pick] < cx, -1.0, 1.0)
    out = np.radians(rng.uniform(0, 35, n))                 # from straight down to 35 deg outward
    x0, y0 = xs[pick].astype(np.float64), ys[pick].astype(np.float64)
    x1, y1 = x0 + side * np.sin(out) * length, y0 + np.cos(out) * length
    from inference.colors import srgb_to_lab
    L = srgb_to_lab(rgb / 255.0)[..., 0]
    light = np.clip(((L + 16) / (skin_l + 16)) ** 3, 0.2, 1.3)[..., None]     # relative linear light
    col_lin = (np.array(BEARD_COLOURS[colour], np.float32) / 255.0) ** 2.2
    out_img = rgb.astype(np.float32)
    # strands in three tones (shade, base, sheen), each group composited over the last
    tone = rng.choice([0.6, 1.0, 1.5], n, p=[0.3, 0.5, 0.2])
    for t in (0.6, 1.0, 1.5):
        img = np.zeros((h * 4, w * 4), np.uint8)            # 4x supersampled, then averaged
        for a, b, c, d in zip(x0[tone == t] * 4, y0[tone == t] * 4, x1[tone == t] * 4, y1[tone == t] * 4):
            cv2.line(img, (int(a), int(b)), (int(c), int(d)), 255, 2, cv2.LINE_AA)
        alpha = (cv2.resize(img.astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_AREA)
                 * np.clip(cover, 0, 1))[..., None]
        beard = np.clip(col_lin * t * light, 0, 1) ** (1 / 2.2) * 255
        out_img = out_img * (1 - alpha) + beard * alpha
    return np.clip(out_img, 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    from training.variant_cli import report_row, tool_args, tool_labels, write_rows
    args = tool_args(__doc__, argv)
    from inference.evaluate import NOT_BEARDS
    from inference.photo_io import Photo, load_photo
    from inference.pipeline import Backend
    from training.robustness import variants

    labels = tool_labels(args)
    backend = Backend()
    rng = np.random.default_rng(0)
    rows = []
    for fname, lab in sorted(labels.items()):
        if lab.get("beard") != "0":
            continue
        photo = load_photo(args.photos / fname)
        base = backend.analyze(photo, texture="none")
        obs = backend.perceiver.observe(photo.rgb)
        lm = obs.landmarks
        iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
        from inference.colors import measure_colors
        skin_l = float(measure_colors(photo.rgb, lm, obs.person_mask).lab["skin"][0])
        shade = jaw_in_shade(photo.rgb, lm)
        cases = [(f"none/{v}", img) for v, img in variants(photo.rgb, obs.person_mask).items()
                 if v in ("original", "darker", "brighter", "warm")] + [("none/jaw_in_shade", shade)]
        for bid in DRAWN:
            cover = beard_mask(base.registration, photo.rgb.shape[:2], bid, rng)
            colour = list(BEARD_COLOURS)[rng.integers(len(BEARD_COLOURS))]
            cases.append((f"{bid}/{colour}", with_beard(photo.rgb, cover, colour, iod, float(lm[1, 0]),
                                                        skin_l, rng)))
        for name, img in cases:
            an = backend.analyze(Photo(img, photo.path, photo.sha256, photo.original_size), texture="none")
            scores = an.report["asset_scores"]["beard"]
            truth = not name.startswith("none/")
            found = an.avatar.assets["beard"] not in NOT_BEARDS
            row = {"file": fname, "case": name, "truth": truth, "found": found,
                   "chosen": an.avatar.assets["beard"],
                   "lead": round(max(v for k, v in scores.items() if k not in NOT_BEARDS)
                                 - max(scores[k] for k in NOT_BEARDS), 3)}
            report_row(args, rows, row, img, f"{Path(fname).stem}_{name.replace('/', '_')}")
    pos = [r for r in rows if r["truth"]]
    neg = [r for r in rows if not r["truth"]]
    summary = {"beards_found": round(sum(r["found"] for r in pos) / max(len(pos), 1), 3), "beards": len(pos),
               "false_beards": sum(r["found"] for r in neg), "bare": len(neg)}
    for colour in BEARD_COLOURS:
        sub = [r for r in pos if r["case"].endswith(f"/{colour}")]
        summary[f"found_{colour}"] = round(sum(r["found"] for r in sub) / max(len(sub), 1), 3)
    write_rows(args, rows)
    print(json.dumps(summary))
    return 0


def jaw_in_shade(rgb: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The photo with linear light falling to x0.45 from the nose tip to the chin."""
    yy = np.mgrid[0:rgb.shape[0], 0:rgb.shape[1]][0].astype(np.float32)
    k = 1 - 0.55 * np.clip((yy - lm[2, 1]) / (lm[152, 1] - lm[2, 1]), 0, 1)
    return np.clip(((rgb / 255.0) ** 2.2 * k[..., None]) ** (1 / 2.2) * 255, 0, 255).astype(np.uint8)


if __name__ == "__main__":
    sys.exit(main())
