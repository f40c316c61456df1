"""Synthetic glasses on photos without them: does the glasses reading see thin, light frames?

Two of the 13 sample photos wear glasses (a thick dark round frame, a thin metal one), too few
to say how the reading does on the frames a new photo brings. Here every photo labelled
without glasses gets each library frame drawn on it: projected through the photo's own
registration fit (the head hides what passes behind it), moved and scaled a little so the
drawn frame is not the exact shape the search tries, anti-aliased, in one of five frame
colours (black, tortoise, gold, silver, half-transparent amber) and two weights (as
modelled, and thinned to a wire). The photo is analysed again and the row says whether
glasses were found. The untouched photos,
darker and brighter and smaller, give the false-positive side. Development tool (not CI):
``python -m training.glasses_variants PHOTOS [-o rows.jsonl]``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

FRAME_COLOURS = {"black": (28, 26, 26), "tortoise": (92, 60, 38), "gold": (190, 160, 100),
                 "silver": (172, 172, 178), "amber": (200, 120, 50)}
FRAME_OPACITY = {"amber": 0.5}       # a translucent plastic frame; the others 0.95


def frame_mask(fit, shape_hw: tuple[int, int], glasses: str, rng: np.random.Generator,
               thin: bool) -> np.ndarray:
    """(H, W) float coverage of a library frame drawn on the photo through ``fit``, the head
    in front of what lies behind it; shifted up to 2 mm and scaled up to 4 % at random."""
    import cv2
    from inference.asset_search import FRAME, SKIN, Rasterizer, asset_triangles, fitted_head
    from rigs.asset_library import load_library
    lib = load_library()
    h, w = shape_hw
    ras = Rasterizer(fit, (0, 0, w, h), width=2 * w)     # twice the photo's size: anti-aliasing
    verts, normals, head_tris = fitted_head(fit)
    g = lib[f"glasses/{glasses}"].att.evaluate(verts, normals)
    centre = g.mean(0)
    g = centre + (g - centre) * rng.uniform(0.96, 1.04) + np.r_[rng.uniform(-0.002, 0.002, 3)]
    label = ras.draw([(verts, ras.facing(verts, head_tris, normals), SKIN),
                      (g, asset_triangles(f"glasses/{glasses}", material=0), FRAME)])
    m = (label == FRAME).astype(np.uint8)
    if thin:
        m = cv2.erode(m, np.ones((3, 3), np.uint8))
    m = cv2.resize(m.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(m, (0, 0), 0.6)


def with_glasses(rgb: np.ndarray, cover: np.ndarray, colour: str) -> np.ndarray:
    """The photo with the frame composited over it (uint8 RGB)."""
    a = np.clip(cover * FRAME_OPACITY.get(colour, 0.95), 0, 1)[..., None]
    return np.clip(rgb * (1 - a) + np.array(FRAME_COLOURS[colour], np.float32) * a, 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    from training.variant_cli import report_row, tool_args, tool_labels, write_rows
    args = tool_args(__doc__, argv)
    from inference.photo_io import Photo, load_photo
    from inference.pipeline import Backend
    from rigs.catalogue import asset_catalogue
    from training.robustness import variants

    labels = tool_labels(args)
    frames = [g for g in asset_catalogue()["glasses"] if g != "none"]
    backend = Backend()
    rng = np.random.default_rng(0)
    rows = []
    for fname, lab in sorted(labels.items()):
        if lab.get("glasses") != "0":
            continue
        photo = load_photo(args.photos / fname)
        base = backend.analyze(photo, texture="none")
        obs = backend.perceiver.observe(photo.rgb)
        cases = [(f"none/{v}", img) for v, img in variants(photo.rgb, obs.person_mask).items()
                 if v in ("original", "darker", "brighter", "small")]
        for gid in frames:
            for thin in (False, True):
                cover = frame_mask(base.registration, photo.rgb.shape[:2], gid, rng, thin)
                colour = list(FRAME_COLOURS)[rng.integers(len(FRAME_COLOURS))]
                cases.append((f"{gid}/{colour}/{'thin' if thin else 'modelled'}",
                              with_glasses(photo.rgb, cover, colour)))
        for name, img in cases:
            an = backend.analyze(Photo(img, photo.path, photo.sha256, photo.original_size), texture="none")
            scores = an.report["asset_scores"]["glasses"]
            truth = not name.startswith("none/")
            found = an.avatar.assets["glasses"] != "none"
            row = {"file": fname, "case": name, "truth": truth, "found": found,
                   "chosen": an.avatar.assets["glasses"],
                   "best": round(max(v for k, v in scores.items() if k != "none"), 3)}
            report_row(args, rows, row, img, f"{Path(fname).stem}_{name.replace('/', '_')}")
    pos = [r for r in rows if r["truth"]]
    neg = [r for r in rows if not r["truth"]]
    summary = {"frames_found": round(sum(r["found"] for r in pos) / max(len(pos), 1), 3), "frames": len(pos),
               "false_glasses": sum(r["found"] for r in neg), "bare": len(neg)}
    for kind in ("modelled", "thin"):
        sub = [r for r in pos if r["case"].endswith(kind)]
        summary[f"found_{kind}"] = round(sum(r["found"] for r in sub) / max(len(sub), 1), 3)
    for colour in FRAME_COLOURS:
        sub = [r for r in pos if f"/{colour}/" in r["case"]]
        summary[f"found_{colour}"] = round(sum(r["found"] for r in sub) / max(len(sub), 1), 3)
    write_rows(args, rows)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
