"""Regenerate the README's landmark figure: ``python docs/make_landmark_sheet.py``.

Per photo: the avatar rendered at the photo's head pose (as the eval's posed NME does),
then MediaPipe's expression-insensitive landmarks (the NME subset) of the photo (green)
and of the render, similarity-aligned onto the photo (red), for the unfitted default head
and for the likeness-fitted avatar, with their NME: ``docs/images/landmark_sheet.png``.
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
from inference.avatar import default_avatar  # noqa: E402
from inference.evaluate import NME_SUBSET, landmark_nme, posed_angles, similarity_2d  # noqa: E402
from inference.photo_io import load_photo  # noqa: E402

OUT = ROOT / "docs" / "images" / "landmark_sheet.png"
PHOTOS = ("person_03", "person_09", "person_11", "person_12")


def _overlay(rgb: np.ndarray, photo_lm: np.ndarray, render_lm: np.ndarray | None) -> Image.Image:
    """The photo's face with its subset landmarks (green) and the aligned render's (red)."""
    pts = photo_lm[NME_SUBSET, :2]
    lo, hi = pts.min(0), pts.max(0)
    c, half = (lo + hi) / 2, 0.75 * (hi - lo).max()
    box = (int(c[0] - half), int(c[1] - half), int(c[0] + half), int(c[1] + half))
    im = Image.fromarray(rgb).crop(box)
    k = 256 / im.width
    im = im.resize((256, 256))
    draw = ImageDraw.Draw(im)

    def dots(p, colour):
        for x, y in (p - np.array(box[:2])) * k:
            draw.ellipse((x - 2.5, y - 2.5, x + 2.5, y + 2.5), fill=colour)
    if render_lm is not None:
        mapped = similarity_2d(render_lm[NME_SUBSET, :2], pts)
        for a, b in zip((pts - np.array(box[:2])) * k, (mapped - np.array(box[:2])) * k):
            draw.line((*a, *b), fill=(255, 255, 255), width=1)
        dots(mapped, (220, 40, 40))
    dots(pts, (30, 200, 60))
    return im


def main() -> None:
    backend, writer, tmp, offset = posed_studio("landmark_sheet")
    default = default_avatar()
    read = lambda p: backend.perceiver.observe(np.asarray(Image.open(p).convert("RGB"))).landmarks  # noqa: E731
    rows = []
    for name in PHOTOS:
        photo = load_photo(ROOT / "samples" / "photos" / f"{name}.jpg")
        analysis = backend.analyze(photo)
        photo_lm = backend.perceiver.observe(photo.rgb).landmarks
        angles = posed_angles(analysis.report["pose_deg"], offset)
        row = [tile(_overlay(photo.rgb, photo_lm, None), f"{name}: photo (green)")]
        for label, av in (("default head", default), ("likeness fit", analysis.avatar)):
            update_avatar(writer.objs, av)
            (png,) = render_avatar(writer.objs, tmp / f"{name}_{label[0]}.png", size=512, angles=angles)
            lm = read(png)
            row.append(tile(Image.open(png), f"{label}, posed"))
            row.append(tile(_overlay(photo.rgb, photo_lm, lm), f"{label}: NME {landmark_nme(lm, photo_lm):.3f}"))
        rows.append(row)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    grid(rows).save(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
