"""Contact-sheet helpers shared by the figure scripts in ``docs/``."""
from __future__ import annotations

from PIL import Image, ImageDraw

TILE = 256


def tile(im: Image.Image, label: str, size: int = TILE) -> Image.Image:
    """``im`` fitted into a square with a caption strip below."""
    im = im.convert("RGB")
    im.thumbnail((size, size))
    canvas = Image.new("RGB", (size, size + 22), "white")
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    ImageDraw.Draw(canvas).text((6, size + 4), label, fill="black")
    return canvas


def grid(rows: list[list[Image.Image]], size: int = TILE) -> Image.Image:
    """Rows of captioned tiles on one white sheet."""
    width = max(len(r) for r in rows) * size
    sheet = Image.new("RGB", (width, len(rows) * (size + 22)), "white")
    for y, row in enumerate(rows):
        for x, im in enumerate(row):
            sheet.paste(im, (x * size, y * (size + 22)))
    return sheet


def posed_studio(name: str):
    """(backend, bundle writer holding the default avatar, scratch folder, the pose offset)
    for figures that render avatars at a photo's head pose as the eval's posed renders do
    (:func:`inference.evaluate.posed_angles` takes the offset)."""
    from pathlib import Path

    import bpy
    import numpy as np

    from blender_addon.bundle import BundleWriter
    from blender_addon.render import render_avatar
    from inference.avatar import default_avatar
    from inference.evaluate import front_pose_offset
    from inference.pipeline import Analysis, Backend
    bpy.ops.wm.read_factory_settings(use_empty=True)
    backend, writer = Backend(), BundleWriter(size=512)
    tmp = Path(__file__).resolve().parents[1] / ".cache" / name
    tmp.mkdir(parents=True, exist_ok=True)
    writer._avatar_objects(Analysis(default_avatar()))
    (front,) = render_avatar(writer.objs, tmp / "default_front.png", size=512)
    offset = front_pose_offset(backend.perceiver.observe(np.asarray(Image.open(front).convert("RGB"))).landmarks)
    return backend, writer, tmp, offset
