"""The shape-parameter catalogue (``rigs/shape_catalogue.json``) and the asset catalogue.

A shape parameter is a named, bounded slider. A value ``x`` in ``[min, max]`` drives the
MakeHuman targets listed under ``incr`` with weight ``max(x, 0)`` and those under
``decr`` with weight ``max(-x, 0)``; symmetric parameters list the left and right target
under the same side, so one slider moves both.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

RIGS_DIR = Path(__file__).resolve().parent
SHAPE_CATALOGUE_PATH = RIGS_DIR / "shape_catalogue.json"
ASSET_CATALOGUE_PATH = RIGS_DIR / "assets.json"
STYLES_DIR = RIGS_DIR / "styles"


@dataclass(frozen=True)
class ShapeParameter:
    name: str
    label: str
    group: str
    region: str
    min: float
    max: float
    default: float
    decr: tuple[str, ...]
    incr: tuple[str, ...]

    def target_weights(self, value: float) -> dict[str, float]:
        """MakeHuman target name -> weight for one slider value (0 weights omitted)."""
        out: dict[str, float] = {}
        for names, w in ((self.incr, max(value, 0.0)), (self.decr, max(-value, 0.0))):
            if w:
                for n in names:
                    out[n] = out.get(n, 0.0) + w
        return out


@dataclass(frozen=True)
class Region:
    """An axis-aligned box in the eye-centred frame (metres; origin between the eye
    joints, x to the avatar's left, y backward, z up) that a parameter may move."""
    name: str
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]


@functools.lru_cache(maxsize=1)
def shape_catalogue() -> tuple[ShapeParameter, ...]:
    """All shape parameters, in catalogue order."""
    data = json.loads(SHAPE_CATALOGUE_PATH.read_text())
    return tuple(ShapeParameter(p["name"], p["label"], p["group"], p["region"], float(p["min"]),
                                float(p["max"]), float(p["default"]), tuple(p["targets"]["decr"]),
                                tuple(p["targets"]["incr"])) for p in data["parameters"])


@functools.lru_cache(maxsize=1)
def shape_regions() -> dict[str, Region]:
    """Named regions of the face that parameters declare they move."""
    data = json.loads(SHAPE_CATALOGUE_PATH.read_text())
    return {n: Region(n, tuple(r["lo"]), tuple(r["hi"])) for n, r in data.get("regions", {}).items()}


def shape_parameter_map() -> dict[str, ShapeParameter]:
    return {p.name: p for p in shape_catalogue()}


def target_weights(shape: dict[str, float]) -> dict[str, float]:
    """Sum the MakeHuman target weights of a whole ``shape`` section."""
    params = shape_parameter_map()
    out: dict[str, float] = {}
    for name, value in shape.items():
        for t, w in params[name].target_weights(value).items():
            out[t] = out.get(t, 0.0) + w
    return out


@functools.lru_cache(maxsize=1)
def asset_catalogue() -> dict[str, dict[str, dict]]:
    """``{"hair": {id: {...}}, "eyebrows": ..., "beard": ..., "glasses": ...}``."""
    return json.loads(ASSET_CATALOGUE_PATH.read_text())


@functools.lru_cache(maxsize=1)
def style_names() -> tuple[str, ...]:
    """Names of the style presets in ``rigs/styles/*.json``."""
    return tuple(sorted(p.stem for p in STYLES_DIR.glob("*.json")))


def shape_key_targets() -> dict[str, tuple[str, ...]]:
    """Every shape key of the rig -> the targets it sums: ``<param>+``/``<param>-`` for
    two-sided sliders, ``<param>`` for one-sided ones, then the 52 ARKit names."""
    from rigs.arkit import ARKIT_NAMES
    keys: dict[str, tuple[str, ...]] = {}
    for p in shape_catalogue():
        if p.min < 0:
            keys[f"{p.name}+"], keys[f"{p.name}-"] = p.incr, p.decr
        else:
            keys[p.name] = p.incr
    keys.update({n: (f"arkit/{n}",) for n in ARKIT_NAMES})
    return keys


def shape_key_values(shape: dict[str, float], expression: dict[str, float]) -> dict[str, float]:
    """Shape-key name -> value for a ``shape`` section and an ``expression`` section."""
    from rigs.arkit import ARKIT_NAMES
    vals = {}
    for p in shape_catalogue():
        x = float(shape.get(p.name, p.default))
        if p.min < 0:
            vals[f"{p.name}+"], vals[f"{p.name}-"] = max(x, 0.0), max(-x, 0.0)
        else:
            vals[p.name] = x
    for n in ARKIT_NAMES:
        vals[n] = float(expression.get(n, 0.0))
    return vals
