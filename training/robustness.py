"""Label-preserving variants of labelled photos: does the attribute reading hold?

The sample photos share one studio look (a saturated blue backdrop, even light). A photo
the project has never seen differs in exactly those respects, so each labelled photo is
re-rendered with another backdrop (white, light grey, dark grey, warm beige: the person
mask decides what is backdrop), another exposure, another white balance and a smaller
size, and analysed again. A reading that flips under such a change is tuned to the look,
not to the person. Development tool (not CI): ``python -m training.robustness PHOTOS``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def variants(rgb: np.ndarray, mask: np.ndarray, lm: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Name -> variant image (uint8 RGB). ``mask``: the selfie mask in [0, 1]; with the
    photo's landmarks ``lm`` (pixels) also two tighter framings."""
    import cv2
    img = rgb.astype(np.float32)
    out = {"original": rgb}
    a = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.5)[..., None]
    for name, col in (("bg_white", (245, 245, 245)), ("bg_grey", (170, 170, 170)),
                      ("bg_dark", (55, 55, 58)), ("bg_beige", (215, 200, 175))):
        out[name] = np.clip(a * img + (1 - a) * np.array(col, np.float32), 0, 255).astype(np.uint8)
    lin = (img / 255.0) ** 2.2
    out["darker"] = np.clip((lin * 0.55) ** (1 / 2.2) * 255, 0, 255).astype(np.uint8)
    out["brighter"] = np.clip((lin * 1.6) ** (1 / 2.2) * 255, 0, 255).astype(np.uint8)
    out["warm"] = np.clip(((lin * [1.12, 1.0, 0.8]) ** (1 / 2.2)) * 255, 0, 255).astype(np.uint8)
    out["cool"] = np.clip(((lin * [0.88, 1.0, 1.15]) ** (1 / 2.2)) * 255, 0, 255).astype(np.uint8)
    h, w = rgb.shape[:2]
    k = 320.0 / max(h, w)
    if k < 1:
        out["small"] = cv2.resize(rgb, (int(w * k), int(h * k)), interpolation=cv2.INTER_AREA)
    if lm is not None:
        # the framings of a tight studio headshot: from the top of the hair to the collar,
        # and closer still, the top of the hair cut off by the frame
        iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
        cx, top, chin = float(lm[[33, 263], 0].mean()), float(lm[10, 1]), float(lm[152, 1])
        for name, (up, down, side) in (("tight", (1.1, 0.9, 1.9)), ("crown_cut", (0.55, 0.7, 1.7))):
            y0, y1 = max(int(top - up * iod), 0), min(int(chin + down * iod), h)
            x0, x1 = max(int(cx - side * iod), 0), min(int(cx + side * iod), w)
            out[name] = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("--labels", type=Path)
    ap.add_argument("-o", "--out", type=Path, help="write the rows as JSON lines here")
    ap.add_argument("--only", nargs="*", help="variant names to run")
    args = ap.parse_args(argv)
    from inference.evaluate import beard_label, hex_color_name, read_labels
    from inference.photo_io import Photo, load_photo
    from inference.pipeline import Backend
    from rigs.catalogue import asset_catalogue

    labels = read_labels(args.labels or args.photos / "labels.csv")
    cat = asset_catalogue()
    backend = Backend()
    rows, hits = [], {}
    for fname, lab in sorted(labels.items()):
        photo = load_photo(args.photos / fname)
        obs = backend.perceiver.observe(photo.rgb)
        for vname, rgb in variants(photo.rgb, obs.person_mask, obs.landmarks).items():
            if args.only and vname not in args.only:
                continue
            an = backend.analyze(Photo(rgb, photo.path, photo.sha256, photo.original_size), texture="none")
            av = an.avatar
            pred = {"hair_length": cat["hair"][av.assets["hair"]]["length"],
                    "hair_color": hex_color_name(av.colors["hair"]),
                    "beard": beard_label(av.assets["beard"]),
                    "glasses": "1" if av.assets["glasses"] != "none" else "0"}
            row = {"file": fname, "variant": vname, "hair": av.assets["hair"], "hair_hex": av.colors["hair"],
                   "beard_id": av.assets["beard"], **pred,
                   "region": an.report.get("hair_region", {}).get("length")}
            for k, v in pred.items():
                if lab.get(k):
                    ok = v == lab[k]
                    hits.setdefault((vname, k), []).append(ok)
                    if not ok:
                        row.setdefault("miss", []).append(f"{k}:{lab[k]}->{v}")
            rows.append(row)
            print(json.dumps(row), flush=True)
    backend.close()
    names = list(dict.fromkeys(v for v, _ in hits))
    print("\nvariant      " + "  ".join(f"{k:>11}" for k in ("hair_length", "hair_color", "beard", "glasses")))
    for v in names:
        print(f"{v:12s} " + "  ".join(f"{np.mean(hits.get((v, k), [np.nan])):11.2f}"
                                      for k in ("hair_length", "hair_color", "beard", "glasses")))
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
