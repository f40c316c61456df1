"""Regenerate the README's head-outline figure: ``python docs/make_outline_figure.py``.

Per photo: the photo, then the avatar rendered at the photo's head pose without and with
the outline observation in the likeness fit (:mod:`inference.head_outline`), each with the
photo's outline height above the eyes drawn as a line and the height MediaPipe reads on
the render: ``docs/images/head_outline.png``.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from sheet import grid, posed_studio, tile  # noqa: E402

from blender_addon.avatar_build import update_avatar  # noqa: E402
from blender_addon.render import render_avatar  # noqa: E402
from inference.evaluate import posed_angles  # noqa: E402
from inference.fit import fit_landmarks  # noqa: E402
from inference.head_outline import photo_outline_height  # noqa: E402
from inference.photo_io import load_photo  # noqa: E402

OUT = ROOT / "docs" / "images" / "head_outline.png"
PHOTOS = ("person_03", "person_06", "person_10", "person_12")


def _marked(rgb: np.ndarray, lm: np.ndarray, height: float | None, label_h: float | None) -> Image.Image:
    """The image cropped around the head, with a line at ``height`` eye distances above the
    eyes (the photo's outline) and the image's own outline height in the corner."""
    iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
    cx, ey = lm[[33, 263], :2].mean(axis=0)
    half = 2.0 * iod
    box = (int(cx - half), int(ey - 2.3 * iod), int(cx + half), int(ey - 2.3 * iod + 2 * half))
    im = Image.fromarray(rgb).crop(box).resize((256, 256))
    k = 256 / (2 * half)
    draw = ImageDraw.Draw(im)
    if height is not None:
        y = (ey - height * iod - box[1]) * k
        draw.line((0, y, 256, y), fill=(40, 200, 60), width=2)
    if label_h is not None:
        draw.text((6, 236), f"outline {label_h:.2f}", fill=(255, 255, 255))
    return im


def main() -> None:
    backend, writer, tmp, offset = posed_studio("outline_figure")
    rows = []
    for name in PHOTOS:
        photo = load_photo(ROOT / "samples" / "photos" / f"{name}.jpg")
        analysis = backend.analyze(photo, texture="none")
        obs = backend.perceiver.observe(photo.rgb)
        target = photo_outline_height(obs.person_mask, obs.landmarks)
        row = [tile(_marked(photo.rgb, obs.landmarks, target, target), f"{name}: photo (green: its outline)")]
        before = analysis.avatar.copy()
        before.shape.update(fit_landmarks(obs.landmarks, assets=dict(analysis.avatar.assets)).shape)
        angles = posed_angles(analysis.report["pose_deg"], offset)
        for label, av in (("without the outline", before), ("with the outline", analysis.avatar)):
            update_avatar(writer.objs, av)
            (png,) = render_avatar(writer.objs, tmp / f"{name}_{label[:4]}.png", size=512, angles=angles)
            rgb = np.asarray(Image.open(png).convert("RGB"))
            o = backend.perceiver.observe(rgb)
            row.append(tile(_marked(rgb, o.landmarks, target, photo_outline_height(o.person_mask, o.landmarks)),
                            label))
        rows.append(row)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    grid(rows).save(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
