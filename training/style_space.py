"""Build the normal-face landmark space for exemplar styles: ``rigs/data/style_space.npz``.

Seed 002 (Sec 4.1) splits a face's landmarks into content (the normal face shape) and
style (the exaggeration beyond it) in a PCA space of landmark shapes learned from 6k
photos. Here the normal-face shapes come from the rig itself: its landmark points are
linear in the identity sliders, so random slider settings (each ~N(0, 0.4), clipped to
its range) give frontal landmark shapes of plausible people. PCA of those (aligned by a
similarity on stable points) gives the mean, the components that keep 99.5% of the
variance and their standard deviations. MediaPipe reads real faces with a systematic
offset from the rig's own points; its median over the sample photos, frontalized like
exemplars (:func:`inference.styles.frontal_landmarks`), is the "style" a plain photo
would otherwise carry: it is stored too and subtracted from every exemplar.

Run: ``python -m training.style_space`` (deterministic; ~15 s, MediaPipe on the photos).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rigs.rig_asset import load_correspondence, load_rig

OUT = Path(__file__).resolve().parents[1] / "rigs" / "data" / "style_space.npz"
PHOTOS = Path(__file__).resolve().parents[1] / "samples" / "photos"
N_SAMPLES = 800
SLIDER_SD = 0.4
KEEP_VARIANCE = 0.995


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=OUT)
    args = ap.parse_args(argv)
    from inference.fit import landmark_model
    from inference.styles import STABLE, align2d, frontal
    from rigs.build_rig import write as write_npz

    rng = np.random.default_rng(0)
    model = landmark_model()
    corr = load_correspondence()
    rig = load_rig()
    ref = frontal(corr.points(rig.verts))
    basis = model.basis[:model.n_shape]
    names = model.names[:model.n_shape]
    shapes = []
    for _ in range(N_SAMPLES):
        c = np.zeros(len(names))
        for i, n in enumerate(names):
            s = float(np.clip(rng.normal(0.0, SLIDER_SD), -1.0, 1.0))
            if n.endswith("+"):
                c[i] = max(s, 0.0)
            elif n.endswith("-"):
                c[i] = max(-s, 0.0)
            else:
                c[i] = abs(s)
        x = model.x0 + np.tensordot(c, basis, axes=1)
        shapes.append(align2d(frontal(x), ref).ravel())
    shapes = np.array(shapes)
    mean = shapes.mean(0)
    _, sv, vt = np.linalg.svd(shapes - mean, full_matrices=False)
    var = sv ** 2 / (len(shapes) - 1)
    k = int(np.searchsorted(np.cumsum(var) / var.sum(), KEEP_VARIANCE) + 1)

    # the systematic offset of MediaPipe on real photos from the rig's normal faces
    from inference.perception import Perceiver
    from inference.photo_io import load_photo
    from inference.styles import StyleSpace, frontal_landmarks
    space = StyleSpace(mean.reshape(-1, 2), vt[:k], np.sqrt(var[:k]), np.zeros((len(ref), 2)))
    perceiver = Perceiver()
    residuals = []
    for p in sorted(PHOTOS.glob("*.jpg")):
        pts = perceiver.observe(load_photo(p).rgb).landmarks
        residuals.append(space.style(frontal_landmarks(pts)))
    perceiver.close()
    offset = np.median(np.array(residuals), axis=0)
    write_npz({"mean": mean.reshape(-1, 2), "components": vt[:k], "sigma": np.sqrt(var[:k]),
               "photo_offset": offset, "stable": np.array(STABLE)}, args.output)
    print(f"{args.output}: {k} components keep {KEEP_VARIANCE:.1%} of {N_SAMPLES} rig faces; "
          f"photo offset median {np.median(np.linalg.norm(offset, axis=1)) * 1000:.2f} mm "
          f"from {len(residuals)} photos")


if __name__ == "__main__":
    main()
