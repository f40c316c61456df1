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
