"""The avatar vector: ``avatar.json`` (schema ``photo2avatar/avatar@1``) as plain data.

An :class:`Avatar` is what every stage exchanges: shape sliders from the rig's catalogue,
colours, discrete asset ids, the style, expression weights and provenance. Loading
validates everything and raises :class:`AvatarError` whose message names the field.

:class:`AvatarLayout` turns an avatar into a flat float vector and back. Discrete assets
use a *relaxed one-hot* block per attribute (AgileAvatar Sec 3.3 optimises in that form,
then searches); decoding takes the arg-max of each block.
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.errors import InputError, InvalidAvatar
from rigs.arkit import ARKIT_NAMES
from rigs.catalogue import asset_catalogue, shape_catalogue, style_names

SCHEMA = "photo2avatar/avatar@1"
# "glasses" (frame colour) is an optional addition to DESIGN.md's five colours
COLOR_KEYS = ("skin", "hair", "eyes", "lips", "eyebrows", "glasses")
ASSET_KEYS = ("hair", "eyebrows", "beard", "glasses")
STRENGTH_RANGE = (0.0, 2.0)
DEFAULT_COLORS = {"skin": "#d9a47f", "hair": "#3b2a20", "eyes": "#5b4632",
                  "lips": "#b8615c", "eyebrows": "#3b2a20", "glasses": "#1f1d22"}
DEFAULT_ASSETS = {"hair": "crop", "eyebrows": "medium", "beard": "none", "glasses": "none"}
# optional addition to DESIGN.md's avatar.json: how the hair colour is applied, each in [0, 1]
# (grey: share of grey strands, salt-and-pepper; roots: how much darker the roots are;
# beard_density: how many beard strands are drawn)
DEFAULT_HAIR = {"grey": 0.0, "roots": 0.25, "beard_density": 1.0}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class AvatarError(InvalidAvatar, ValueError):
    """An invalid avatar vector; ``field`` is the dotted path of the offending entry."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass
class Avatar:
    """One avatar. Missing entries take the defaults of :func:`default_avatar`."""
    shape: dict[str, float] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COLORS))
    assets: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ASSETS))
    hair: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_HAIR))
    style: dict = field(default_factory=lambda: {"name": "identity", "strength": 1.0})
    expression: dict[str, float] = field(default_factory=dict)
    source: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict with every catalogue slider present (defaults filled in)."""
        shape = {p.name: float(self.shape.get(p.name, p.default)) for p in shape_catalogue()}
        return {"schema": SCHEMA, "shape": shape, "colors": dict(self.colors),
                "assets": dict(self.assets), "hair": {k: float(v) for k, v in self.hair.items()},
                "style": dict(self.style),
                "expression": {k: float(v) for k, v in self.expression.items()},
                "source": dict(self.source)}

    def copy(self) -> "Avatar":
        return copy.deepcopy(self)


def default_avatar() -> Avatar:
    """The neutral average head: every slider at its default, bald, no accessories."""
    return Avatar(shape={p.name: p.default for p in shape_catalogue()})


def hex_to_rgb(value: str) -> tuple[float, float, float]:
    """``#rrggbb`` -> sRGB floats in [0, 1] (display-referred, not linear)."""
    return tuple(int(value[i:i + 2], 16) / 255.0 for i in (1, 3, 5))


def rgb_to_hex(rgb) -> str:
    """sRGB floats in [0, 1] -> ``#rrggbb`` (clipped)."""
    return "#" + "".join(f"{int(round(min(max(c, 0.0), 1.0) * 255)):02x}" for c in rgb)


def srgb_to_linear(rgb) -> tuple[float, float, float]:
    """sRGB-encoded [0, 1] -> linear light, the space Blender's colour sockets use."""
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AvatarError(where, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise AvatarError(where, f"{value!r} is not a finite number")
    return float(value)


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise AvatarError(where, f"expected an object, got {type(value).__name__}")
    return value


def avatar_from_dict(data) -> Avatar:
    """Validate a parsed ``avatar.json`` and return an :class:`Avatar`.

    Unknown keys, values outside a slider's range, malformed colours and unknown asset
    or style ids raise :class:`AvatarError` naming the field.
    """
    data = _mapping(data, "")
    known = {"schema", "shape", "colors", "assets", "hair", "style", "expression", "source"}
    for k in data:
        if k not in known:
            raise AvatarError(k, f"unknown section (expected one of {', '.join(sorted(known))})")
    if data.get("schema") != SCHEMA:
        raise AvatarError("schema", f"expected {SCHEMA!r}, got {data.get('schema')!r}")
    av = default_avatar()

    params = {p.name: p for p in shape_catalogue()}
    for k, v in _mapping(data.get("shape", {}), "shape").items():
        if k not in params:
            raise AvatarError(f"shape.{k}", "not a parameter of the shape catalogue")
        x = _number(v, f"shape.{k}")
        p = params[k]
        if not p.min - 1e-9 <= x <= p.max + 1e-9:
            raise AvatarError(f"shape.{k}", f"{x:g} is outside [{p.min:g}, {p.max:g}]")
        av.shape[k] = x

    for k, v in _mapping(data.get("colors", {}), "colors").items():
        if k not in COLOR_KEYS:
            raise AvatarError(f"colors.{k}", f"unknown colour (expected one of {', '.join(COLOR_KEYS)})")
        if not isinstance(v, str) or not _HEX.match(v):
            raise AvatarError(f"colors.{k}", f"expected '#rrggbb', got {v!r}")
        av.colors[k] = v.lower()

    cat = asset_catalogue()
    for k, v in _mapping(data.get("assets", {}), "assets").items():
        if k not in ASSET_KEYS:
            raise AvatarError(f"assets.{k}", f"unknown attribute (expected one of {', '.join(ASSET_KEYS)})")
        if not isinstance(v, str) or v not in cat[k]:
            raise AvatarError(f"assets.{k}", f"{v!r} is not in the asset catalogue "
                                             f"(known: {', '.join(sorted(cat[k]))})")
        av.assets[k] = v

    for k, v in _mapping(data.get("hair", {}), "hair").items():
        if k not in DEFAULT_HAIR:
            raise AvatarError(f"hair.{k}", f"unknown key (expected one of {', '.join(DEFAULT_HAIR)})")
        x = _number(v, f"hair.{k}")
        if not 0.0 <= x <= 1.0:
            raise AvatarError(f"hair.{k}", f"{x:g} is outside [0, 1]")
        av.hair[k] = x

    style = _mapping(data.get("style", {}), "style")
    for k in style:
        if k not in ("name", "strength", "exemplar"):
            raise AvatarError(f"style.{k}", "unknown key (expected name, strength, exemplar)")
    if "name" in style:
        if style["name"] not in style_names():
            raise AvatarError("style.name", f"{style['name']!r} is not a style preset "
                                            f"(known: {', '.join(style_names())})")
        av.style["name"] = style["name"]
    if "strength" in style:
        s = _number(style["strength"], "style.strength")
        if not STRENGTH_RANGE[0] <= s <= STRENGTH_RANGE[1]:
            raise AvatarError("style.strength", f"{s:g} is outside [0, 2]")
        av.style["strength"] = s
    if "exemplar" in style:
        av.style["exemplar"] = _exemplar(style["exemplar"])
    if av.style.get("name") == "exemplar" and "exemplar" not in av.style:
        raise AvatarError("style.exemplar", "style 'exemplar' needs the exemplar's data "
                                            "(generate with --style-image)")

    arkit = set(ARKIT_NAMES)
    for k, v in _mapping(data.get("expression", {}), "expression").items():
        if k not in arkit:
            raise AvatarError(f"expression.{k}", "not an ARKit blendshape name")
        x = _number(v, f"expression.{k}")
        if not 0.0 <= x <= 1.0:
            raise AvatarError(f"expression.{k}", f"{x:g} is outside [0, 1]")
        av.expression[k] = x

    av.source = dict(_mapping(data.get("source", {}), "source"))
    return av


EXEMPLAR_REGIONS = ("left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "nose", "lips", "jaw")


def _floats(value, n: int, lo: float, hi: float, where: str) -> list[float]:
    if not (isinstance(value, list) and len(value) == n):
        raise AvatarError(where, f"expected {n} numbers")
    out = [_number(v, where) for v in value]
    if not all(math.isfinite(v) and lo <= v <= hi for v in out):
        raise AvatarError(where, f"values must lie in [{lo:g}, {hi:g}]")
    return out


def _exemplar(value) -> dict:
    """Validate ``style.exemplar``: the warps (per face region) that summarise a stylized
    portrait's geometric style, with the image's name and hash."""
    ex = _mapping(value, "style.exemplar")
    for k in ex:
        if k not in ("image", "sha256", "ops", "palette"):
            raise AvatarError(f"style.exemplar.{k}", "unknown key (expected image, sha256, ops, palette)")
    palette = ex.get("palette", [])
    if not (isinstance(palette, list) and all(isinstance(c, str) and _HEX.match(c) for c in palette)):
        raise AvatarError("style.exemplar.palette", "expected a list of '#rrggbb' colours")
    ops = ex.get("ops")
    if not isinstance(ops, list) or not ops:
        raise AvatarError("style.exemplar.ops", "expected a list of region warps")
    clean = []
    for i, op in enumerate(ops):
        where = f"style.exemplar.ops[{i}]"
        op = _mapping(op, where)
        if op.get("region") not in EXEMPLAR_REGIONS:
            raise AvatarError(f"{where}.region", f"expected one of {', '.join(EXEMPLAR_REGIONS)}")
        clean.append({"region": op["region"],
                      "scale": _floats(op.get("scale"), 3, 0.5, 2.0, f"{where}.scale"),
                      "translate": _floats(op.get("translate"), 3, -0.03, 0.03, f"{where}.translate"),
                      "radius": _floats(op.get("radius"), 2, 0.0, 0.2, f"{where}.radius")})
    out = {"image": str(ex.get("image", "")), "sha256": str(ex.get("sha256", "")), "ops": clean}
    if palette:
        out["palette"] = [c.lower() for c in palette]
    return out


def load_avatar(path: str | os.PathLike) -> Avatar:
    """Read and validate ``avatar.json``; errors name the file and the field.

    Raises :class:`InputError` when the file cannot be read, :class:`AvatarError` when
    its content is invalid."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected an avatar.json file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AvatarError("", f"{path}: not valid JSON ({e})") from None
    try:
        return avatar_from_dict(data)
    except AvatarError as e:
        raise AvatarError(e.field, f"{path}: {e}") from None


def save_avatar(avatar: Avatar, path: str | os.PathLike) -> None:
    """Write ``avatar.json`` atomically (temp file then rename)."""
    write_text_atomic(Path(path), json.dumps(avatar.to_dict(), indent=1) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class AvatarLayout:
    """Flat-vector layout of the identity part of an avatar.

    Slots, in order: every shape slider (raw value), each colour as three sRGB floats,
    one relaxed one-hot block per asset attribute (catalogue order), style strength.
    Expression and provenance are not part of the identity vector.
    """

    def __init__(self):
        self.shape_names = [p.name for p in shape_catalogue()]
        self.asset_ids = {k: sorted(asset_catalogue()[k]) for k in ASSET_KEYS}
        names = list(self.shape_names)
        names += [f"colors.{c}.{ch}" for c in COLOR_KEYS for ch in "rgb"]
        for k in ASSET_KEYS:
            names += [f"assets.{k}={i}" for i in self.asset_ids[k]]
        names.append("style.strength")
        self.names = names
        self.slices = {}
        i = len(self.shape_names) + 3 * len(COLOR_KEYS)
        for k in ASSET_KEYS:
            self.slices[k] = slice(i, i + len(self.asset_ids[k]))
            i += len(self.asset_ids[k])

    def __len__(self) -> int:
        return len(self.names)

    def to_vector(self, avatar: Avatar) -> np.ndarray:
        """Avatar -> float64 vector; assets become exact one-hot blocks."""
        v = np.zeros(len(self))
        params = {p.name: p for p in shape_catalogue()}
        for i, n in enumerate(self.shape_names):
            v[i] = avatar.shape.get(n, params[n].default)
        o = len(self.shape_names)
        for j, c in enumerate(COLOR_KEYS):
            v[o + 3 * j:o + 3 * j + 3] = hex_to_rgb(avatar.colors[c])
        for k in ASSET_KEYS:
            v[self.slices[k].start + self.asset_ids[k].index(avatar.assets[k])] = 1.0
        v[-1] = avatar.style.get("strength", 1.0)
        return v

    def from_vector(self, v: np.ndarray, base: Avatar | None = None) -> Avatar:
        """Vector -> Avatar, clipping sliders to their ranges and taking each asset
        block's arg-max (a relaxed block may hold any non-negative scores)."""
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (len(self),):
            raise AvatarError("", f"vector has shape {v.shape}, layout needs ({len(self)},)")
        if not np.isfinite(v).all():
            raise AvatarError(self.names[int(np.flatnonzero(~np.isfinite(v))[0])], "not finite")
        av = (base or default_avatar()).copy()
        for p, x in zip(shape_catalogue(), v[:len(self.shape_names)]):
            av.shape[p.name] = float(np.clip(x, p.min, p.max))
        o = len(self.shape_names)
        for j, c in enumerate(COLOR_KEYS):
            av.colors[c] = rgb_to_hex(v[o + 3 * j:o + 3 * j + 3])
        for k in ASSET_KEYS:
            av.assets[k] = self.asset_ids[k][int(np.argmax(v[self.slices[k]]))]
        av.style["strength"] = float(np.clip(v[-1], *STRENGTH_RANGE))
        return av
