"""Texture speed: one JSON line of figures.

Projection of a photo onto the 1024^2 head UV map (warm: the UV rasterisation is cached
per size) and the fast palette stylization, median over the sample photos. Reference
formulation in the same run: the stylization's clustering and labelling done at full
resolution (what the quarter-resolution cel regions replace). The exemplar optimisation
(300 steps) on one photo. Targets: fast stylization <= 0.5 s at 1024^2, exemplar <= 60 s.
Run: ``.venv/bin/python benchmarks/bench_texture.py``.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _full_res_reference(tex, palette, skin_hex, levels=5, seed=0):
    """The same transfer without the quarter-resolution trick (the reference formulation)."""
    import cv2
    from inference.avatar import hex_to_rgb
    from inference.colors import lab_to_srgb, srgb_to_lab
    from inference.texture import _kmeans
    smooth = cv2.bilateralFilter(tex.rgb, 9, 30, 5)
    lab = srgb_to_lab(smooth.reshape(-1, 3) / 255.0)
    rng = np.random.default_rng(seed)
    sample = lab[tex.mask.ravel()]
    sample = sample[rng.choice(len(sample), min(20000, len(sample)), replace=False)]
    centres = _kmeans(sample, levels, rng)
    label = np.argmin(((lab[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    pal_lab = srgb_to_lab(palette)
    skin = srgb_to_lab(np.array(hex_to_rgb(skin_hex))[None])[0]
    shift = pal_lab[np.argmin(np.linalg.norm((pal_lab - skin)[:, 1:], axis=1))] - skin
    choice = np.argmin((((centres + shift)[:, None, :] - pal_lab[None]) ** 2).sum(-1), axis=1)
    return lab_to_srgb(pal_lab[choice])[label]


def main() -> None:
    from inference.fit import register_landmarks
    from inference.perception import Perceiver
    from inference.photo_io import load_photo
    from inference.styles import load_style
    from inference.texture import preset_palette, project_photo, stylize_texture, uv_raster
    perceiver = Perceiver()
    t = time.perf_counter()
    uv_raster(1024)
    out = {"bench": "texture", "size": 1024, "uv_raster_once_s": time.perf_counter() - t}
    palette = preset_palette(load_style("cartoon"))
    proj, fast, ref = [], [], []
    for p in sorted((ROOT / "samples" / "photos").glob("*.jpg")):
        photo = load_photo(p)
        obs = perceiver.observe(photo.rgb)
        fit = register_landmarks(obs.landmarks)
        t = time.perf_counter()
        tex = project_photo(photo.rgb, fit, fit.shape, "#c09080")
        proj.append(time.perf_counter() - t)
        t = time.perf_counter()
        stylize_texture(tex, palette, "#c09080")
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        _full_res_reference(tex, palette, "#c09080")
        ref.append(time.perf_counter() - t)
    out.update({"projection_s": statistics.median(proj), "fast_stylize_s": statistics.median(fast),
                "full_res_reference_s": statistics.median(ref)})
    out["fast_vs_reference_speedup"] = out["full_res_reference_s"] / out["fast_stylize_s"]
    # the exemplar path (one photo: it takes seconds), against the seed's 255 s on a V100
    from PIL import Image
    from inference.texture_exemplar import stylize_exemplar
    from rigs.catalogue import target_weights
    from rigs.rig_asset import load_rig
    style = np.asarray(Image.open(ROOT / "samples" / "styles" / "style_02.jpg").convert("RGB"))
    verts = load_rig().deformed(target_weights(fit.shape))
    t = time.perf_counter()
    stylize_exemplar(tex.rgb, verts, style)
    out["exemplar_s"] = time.perf_counter() - t
    out["exemplar_vs_seed_v100_255s"] = 255.0 / out["exemplar_s"]
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
