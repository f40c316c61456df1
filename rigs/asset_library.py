"""The generated asset library (``rigs/data/assets.npz``) and its evaluation on any head.

Each asset is stored as an :class:`~rigs.asset_geometry.Attachment` plus polygons,
material slots and, for hair and beards, per-vertex strand coordinates (see
``rigs/asset_frame.py``). :class:`KeyBasis` evaluates, once per
process, the head's vertices and normals under every shape key, so an asset's own shape
keys (it follows the catalogue sliders and, for brows and beards, the ARKit expressions)
are computed in a few milliseconds when it is attached.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rigs.asset_geometry import Attachment, vertex_normals
from rigs.rig_asset import HeadRig, load_rig

ASSETS_PATH = Path(__file__).resolve().parent / "data" / "assets.npz"
ASSET_KINDS = ("hair", "eyebrows", "beard", "glasses")


@dataclass(frozen=True)
class AssetData:
    name: str                 # "<kind>/<id>"
    att: Attachment
    loop_start: np.ndarray
    loop_vert: np.ndarray
    poly_material: np.ndarray
    materials: tuple[str, ...]
    rigid: bool
    expressions: bool
    uv: np.ndarray | None = None    # (n, 2) per-vertex strand coordinates (hair, beards)

    @property
    def n_verts(self) -> int:
        return len(self.att.height)


@functools.lru_cache(maxsize=2)
def load_library(path: str | Path = ASSETS_PATH) -> dict[str, AssetData]:
    """All assets by ``"<kind>/<id>"``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m rigs.build_assets`")
    out = {}
    with np.load(path, allow_pickle=False) as z:
        for name in (str(n) for n in z["names"]):
            g = lambda k: z[f"{name}/{k}"]  # noqa: E731
            flags = g("flags")
            out[name] = AssetData(name, Attachment(g("anchor"), g("weight"), g("height"), g("offset")),
                                  g("loop_start"), g("loop_vert"), g("poly_material"),
                                  tuple(str(m) for m in g("materials")), bool(flags[0]), bool(flags[1]),
                                  g("uv") if f"{name}/uv" in z.files else None)
    return out


class KeyBasis:
    """Head vertices and normals under each shape key (key name -> target names)."""

    def __init__(self, rig: HeadRig, keys: dict[str, tuple[str, ...]]):
        self.rig = rig
        self.tris = rig.parts["head"].triangles()
        self.V0 = rig.verts
        self.N0 = vertex_normals(self.V0, self.tris)
        self.keys = keys
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def shaped(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vertices, normals and the mask of head vertices the key moves or turns."""
        if key not in self._cache:
            v = self.V0.copy()
            for t in self.keys[key]:
                idx, d = self.rig.target(t)
                v[idx] += d
            n = vertex_normals(v, self.tris)
            changed = (np.abs(v - self.V0).max(1) > 0) | (np.abs(n - self.N0).max(1) > 1e-9)
            self._cache[key] = (v, n, changed)
        return self._cache[key]

    def asset_keys(self, asset: AssetData, names, min_effect: float = 1e-6):
        """Basis positions and {key: positions} for the keys that move this asset."""
        att = asset.att
        W = att.blend_matrix(len(self.V0))
        base = att.evaluate(self.V0, self.N0, W)
        out = {}
        for k in names:
            v, n, changed = self.shaped(k)
            if not changed[att.anchor].any():
                continue
            p = att.evaluate(v, n, W)
            if np.abs(p - base).max() >= min_effect:
                out[k] = p
        return base, out


@functools.lru_cache(maxsize=1)
def default_key_basis() -> KeyBasis:
    """The key basis for the rig's shape keys (catalogue sliders and ARKit names)."""
    from rigs.catalogue import shape_key_targets
    return KeyBasis(load_rig(), shape_key_targets())
