"""Synthetic bald heads from short-haired photos: does the hair reading say ``bald``?

No sample photo shows a bald head, so the bald decision (scalp skin over a bare crown) has
never met one. Here each photo labelled short-haired gets its hair replaced by scalp: the
photo's own hair region (above the ears for the *horseshoe* variant, where a fringe stays
at the sides and back; all of it for *shaved*) is filled with the forehead's skin, its fine
texture as grain of the forehead's strength, shaded like a dome (darker toward the head's outline) and
lit by a soft highlight near the top, as a bald scalp looks in studio light. The photo is
analysed again and the row says whether the avatar's hair is ``bald``. Development tool
(not CI): ``python -m training.bald_variants PHOTOS [-o rows.jsonl] [--save DIR]``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def with_scalp(rgb: np.ndarray, hair: np.ndarray, lm: np.ndarray, horseshoe: bool,
               rng: np.random.Generator) -> np.ndarray:
    """The photo with ``hair`` (bool mask) painted over as bare scalp (uint8 RGB)."""
    import cv2
    from inference.colors import FOREHEAD, polygon_mask
    h, w = hair.shape
    iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
    m = cv2.dilate(hair.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if horseshoe:                           # a fringe stays below the temples
        m &= np.mgrid[0:h, 0:w][0] < float(lm[[33, 263], 1].mean()) - 0.55 * iod
    if not m.any():
        return rgb
    img = rgb.astype(np.float32) / 255.0
    fore = polygon_mask((h, w), lm[FOREHEAD])
    lin = img ** 2.2
    base = np.percentile(lin[fore], 40, axis=0)
    # fine texture: the forehead's own relative deviation from its blur, as noise of that size
    rel = lin[..., 1] / np.maximum(cv2.GaussianBlur(lin[..., 1], (0, 0), 3.0), 1e-4)
    grain = float(np.clip(np.std(rel[fore]), 0.02, 0.15))
    noise = 1.0 + grain * cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.7) * 1.8
    # dome shading: 0.95 of the forehead's light in the middle of the region, 0.6 at its outline
    dist = cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 5)
    shade = 0.6 + 0.35 * np.clip(dist / (0.5 * iod), 0, 1) ** 0.5
    cx = float(lm[[33, 263], 0].mean())
    top = np.nonzero(m.any(axis=1))[0].min()
    hy, hx = top + 0.35 * iod, cx + rng.uniform(-0.2, 0.2) * iod
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    spec = 0.6 * float(base.mean()) * np.exp(-(((yy - hy) / (0.25 * iod)) ** 2 + ((xx - hx) / (0.45 * iod)) ** 2))
    scalp = np.clip(base * (shade * noise + spec)[..., None], 0, 1)
    a = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.0)[..., None]
    out = (lin * (1 - a) + scalp * a) ** (1 / 2.2)
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    from training.variant_cli import report_row, tool_args, tool_labels, write_rows
    args = tool_args(__doc__, argv)
    from inference.photo_io import Photo, load_photo
    from inference.pipeline import Backend
    from rigs.catalogue import asset_catalogue
    from training.robustness import variants

    labels = tool_labels(args)
    length = {k: v["length"] for k, v in asset_catalogue()["hair"].items()}
    backend = Backend()
    rng = np.random.default_rng(0)
    rows = []
    for fname, lab in sorted(labels.items()):
        if lab.get("hair_length") != "short":
            continue
        photo = load_photo(args.photos / fname)
        base = backend.analyze(photo, texture="none")
        lm = backend.perceiver.observe(photo.rgb).landmarks
        for kind in ("horseshoe", "shaved"):
            bald = with_scalp(photo.rgb, base.hair_mask, lm, kind == "horseshoe", rng)
            obs = backend.perceiver.observe(bald)
            for v, img in variants(bald, obs.person_mask).items():
                if v not in ("original", "darker", "bg_white", "small"):
                    continue
                an = backend.analyze(Photo(img, photo.path, photo.sha256, photo.original_size), texture="none")
                hid = an.avatar.assets["hair"]
                region = an.report.get("hair_region", {})
                row = {"file": fname, "case": f"{kind}/{v}", "hair": hid, "length": length.get(hid),
                       "found": length.get(hid) == "bald", "crown_cover": region.get("crown_cover"),
                       "scalp_skin": region.get("scalp_skin"), "region": region.get("length")}
                report_row(args, rows, row, img, f"{Path(fname).stem}_{kind}_{v}")
    summary = {"bald_found": round(sum(r["found"] for r in rows) / max(len(rows), 1), 3), "heads": len(rows)}
    for kind in ("horseshoe", "shaved"):
        sub = [r for r in rows if r["case"].startswith(kind)]
        summary[f"found_{kind}"] = round(sum(r["found"] for r in sub) / max(len(sub), 1), 3)
    write_rows(args, rows)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
