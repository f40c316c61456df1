"""Synthetic hair colours on real photos: does the avatar's hair keep its colour class and style?

The sample photos hold black, brown, grey, white and one blonde head, and no red one: too few
to say how the colour reading and the style search do on the hair a new photo brings. Here
the hair inside the hand-drawn outlines of ``tests/data/hair_masks.json`` (the person mask
trims their coarse edge) is given another colour in linear light: each pixel keeps its
luminance relative to the hair's median (its strands, shade and highlights) times a colour
class's albedo, before the photo's own backdrop and (``--backdrops``) before the four
backdrops of :mod:`training.robustness` (a colour against a backdrop of its own shade). The
photo is analysed again; the row says which colour class and which style the avatar got.
The albedos are this tool's own choice of a typical hair of each class (a reading against
them says the classes are told apart, not where real hair's borders lie). Development tool
(not CI): ``python -m training.hair_colour_variants PHOTOS [--backdrops] [-o rows.jsonl]``.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

# linear-light sRGB albedos: a typical hair of each class, lit as the photo's own hair was
ALBEDOS = {"black": (0.018, 0.016, 0.015), "brown": (0.09, 0.055, 0.033), "blonde": (0.45, 0.36, 0.22),
           "red": (0.25, 0.08, 0.035), "gray": (0.2, 0.2, 0.19), "white": (0.62, 0.61, 0.58)}
# Dark hair's highlights and its rim (mixed with a lit backdrop) stand many times above its
# median: scaled as they are onto a light albedo they clip to white fringes
MAX_SCALE = 2.5
MASKS = Path(__file__).resolve().parent.parent / "tests" / "data" / "hair_masks.json"


def hair_cover(polygon: list, person_mask: np.ndarray) -> np.ndarray:
    """(H, W) float hair coverage: a hand-drawn outline (photo pixels) trimmed to the person
    mask (the outline's coarse edge runs into the backdrop), softened by a pixel."""
    import cv2
    m = np.zeros(person_mask.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.array(polygon, np.int32)], 1)
    return cv2.GaussianBlur((m * (person_mask > 0.5)).astype(np.float32), (0, 0), 1.0)


def recolour(rgb: np.ndarray, hair: np.ndarray, albedo) -> np.ndarray:
    """The photo with the hair (float mask in [0, 1]) given ``albedo`` (linear RGB): each
    pixel's luminance over the hair's median luminance (at most :data:`MAX_SCALE`), times
    the albedo."""
    lin = (rgb.astype(np.float64) / 255.0) ** 2.2
    lum = lin @ np.array([0.2126, 0.7152, 0.0722])
    scale = np.minimum(lum / max(float(np.median(lum[hair > 0.5])), 1e-4), MAX_SCALE)
    a = hair[..., None]
    out = a * (scale[..., None] * np.asarray(albedo)) + (1.0 - a) * lin
    return (np.clip(out, 0.0, 1.0) ** (1 / 2.2) * 255.0 + 0.5).astype(np.uint8)


def main(argv=None) -> int:
    from training.variant_cli import report_row, tool_args, tool_labels, write_rows
    backdrops = ("--backdrops", {"action": "store_true", "help": "also before white, grey, dark and beige backdrops"})
    args = tool_args(__doc__, argv, extra=(backdrops,))
    from inference.evaluate import hex_color_name
    from inference.photo_io import Photo, load_photo
    from inference.pipeline import Backend
    from rigs.catalogue import asset_catalogue
    from training.robustness import variants

    labels = tool_labels(args)
    outlines = json.loads(MASKS.read_text())["masks"]
    cat = asset_catalogue()["hair"]
    backend = Backend()
    rows = []
    for fname in sorted(outlines):
        photo = load_photo(args.photos / fname)
        obs = backend.perceiver.observe(photo.rgb)
        hair = hair_cover(outlines[fname], obs.person_mask)
        base = backend.analyze(photo, texture="none").avatar.assets["hair"]
        for colour, albedo in ALBEDOS.items():
            recoloured = recolour(photo.rgb, hair, albedo)
            cases = {"original": recoloured}
            if args.backdrops:
                cases.update({k: v for k, v in variants(recoloured, obs.person_mask).items() if k.startswith("bg_")})
            for backdrop, img in cases.items():
                an = backend.analyze(Photo(img, photo.path, photo.sha256, photo.original_size), texture="none")
                av = an.avatar
                row = {"file": fname, "colour": colour, "backdrop": backdrop, "read": hex_color_name(av.colors["hair"]),
                       "hair_hex": av.colors["hair"], "style": av.assets["hair"], "style_as_shot": base,
                       "length": cat[av.assets["hair"]]["length"],
                       "length_label": labels.get(fname, {}).get("hair_length", "")}
                report_row(args, rows, row, img, f"{Path(fname).stem}_{colour}_{backdrop}")
    backend.close()
    summary = {"colour_right": round(float(np.mean([r["read"] == r["colour"] for r in rows])), 3),
               "style_as_shot": round(float(np.mean([r["style"] == r["style_as_shot"] for r in rows])), 3),
               "length_right": round(float(np.mean([r["length"] == r["length_label"] for r in rows
                                                    if r["length_label"]])), 3), "variants": len(rows)}
    for backdrop in dict.fromkeys(r["backdrop"] for r in rows):
        sub = [r for r in rows if r["backdrop"] == backdrop]
        summary[f"colour_right_{backdrop}"] = round(float(np.mean([r["read"] == r["colour"] for r in sub])), 3)
        summary[f"length_right_{backdrop}"] = round(float(np.mean([r["length"] == r["length_label"] for r in sub
                                                                    if r["length_label"]])), 3)
    for colour in ALBEDOS:
        summary[f"read_{colour}"] = dict(sorted(Counter(r["read"] for r in rows if r["colour"] == colour).items()))
    write_rows(args, rows)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
