"""Read a photo safely into an 8-bit sRGB array, whatever the file holds.

EXIF orientation is applied; alpha is composited on white; grayscale, palette, CMYK and
16-bit images become 8-bit RGB; huge images are decoded at reduced size (JPEG draft
mode) and downscaled to :data:`MAX_SIDE` before any full-size buffer exists. Every
failure is an :class:`~inference.errors.InputError` with a one-line reason.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.errors import InputError

MAX_SIDE = 1600          # photos are analysed at most this large (long side, pixels)
MIN_SIDE = 64            # smaller images cannot show a face MediaPipe can read
MAX_PIXELS = 400_000_000  # refuse decompression bombs outright


@dataclass
class Photo:
    """An RGB photo (H, W, 3) uint8, its source path and the SHA-256 of the file bytes."""
    rgb: np.ndarray
    path: Path
    sha256: str
    original_size: tuple[int, int]   # (width, height) as stored, before orientation/downscale


def load_photo(path: str | os.PathLike) -> Photo:
    """Load ``path`` as RGB; raises :class:`InputError` for anything that is not a usable image."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a photo file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    return decode_photo(data, path)


def decode_photo(data: bytes, path: str | os.PathLike) -> Photo:
    """Decode photo file bytes; ``path`` only names the photo in messages and reports.

    Batch workers use this directly: a job is a pure function of the bytes it is given.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not data:
        raise InputError(f"{path}: the file is empty")
    sha = hashlib.sha256(data).hexdigest()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        im = Image.open(io.BytesIO(data))
        original = im.size
        if im.format == "JPEG" and max(im.size) > 2 * MAX_SIDE:
            im.draft("RGB", (MAX_SIDE, MAX_SIDE))     # decode at 1/2..1/8 scale: no huge buffer
        im.load()
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image file PIL can read") from None
    except Image.DecompressionBombError:
        raise InputError(f"{path}: image is too large to open safely") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{path}: the image data is damaged or truncated ({e})") from None
    im = ImageOps.exif_transpose(im)
    im = _to_rgb(im)
    if min(im.size) < MIN_SIDE:
        raise InputError(f"{path}: image is {im.size[0]}x{im.size[1]} pixels; at least "
                         f"{MIN_SIDE} pixels per side are needed to see a face")
    if max(im.size) > MAX_SIDE:
        scale = MAX_SIDE / max(im.size)
        im = im.resize((round(im.size[0] * scale), round(im.size[1] * scale)), Image.LANCZOS)
    return Photo(np.asarray(im, dtype=np.uint8).copy(), path, sha, original)


def _to_rgb(im):
    from PIL import Image
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if a.max() > 255 else 255.0
        im = Image.fromarray(np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        a = (a - a.min()) / max(np.ptp(a), 1e-9)
        im = Image.fromarray((a * 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    if im.mode == "CMYK":
        im = im.convert("RGB")
    if im.mode != "RGB":
        im = im.convert("RGB")
    return im
