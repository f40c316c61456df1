"""Load the compact head-rig asset and evaluate it on plain numpy arrays.

Data form (all metres, Blender Z up, face toward -Y; ``N`` asset vertices):

| array | shape | meaning |
|---|---|---|
| ``verts`` | (N, 3) float64 | neutral vertex positions of every part (head, teeth, tongue, eyes) |
| targets (CSR) | ``target_ptr`` (T+1,), ``target_idx`` (nnz,), ``target_delta`` (nnz, 3) | sparse per-vertex offsets of each named target: MakeHuman ``<group>/<file>`` and ``arkit/<name>`` |
| bones | ``bone_names`` (B,), ``bone_parent`` (B,), ``bone_roll`` (B,) | MakeHuman neck/head subtree under a static ``spine01`` root |
| bone ends (CSR) | ``bone_ptr`` (2B+1,), ``bone_idx`` | head then tail of each bone as the mean of asset vertices, so bones follow the shape |
| skinning | ``weight_bone`` (N, 4) int16, ``weight_value`` (N, 4) float32 | top-4 influences, rows sum to 1 |
| parts | ``part/<name>/loop_start, loop_total, loop_vert, loop_uv, material`` | polygons of each object over asset vertex ids |
| ``mirror`` | (N,) | index of each vertex's left/right twin |

The file is ``.npz`` loaded with ``allow_pickle=False``: no code runs on load.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
ASSET_PATH = DATA_DIR / "head_rig.npz"


@dataclass(frozen=True)
class Part:
    """One object of the rig: polygons (Blender's loop layout) over asset vertex ids."""
    name: str
    loop_start: np.ndarray
    loop_total: np.ndarray
    loop_vert: np.ndarray
    loop_uv: np.ndarray
    material: np.ndarray

    @functools.cached_property
    def vertex_ids(self) -> np.ndarray:
        """Sorted asset vertex ids used by this part (its local vertex order)."""
        return np.unique(self.loop_vert)

    @functools.cached_property
    def local_loops(self) -> np.ndarray:
        """``loop_vert`` renumbered into this part's local vertex order."""
        return np.searchsorted(self.vertex_ids, self.loop_vert).astype(np.int32)

    @functools.cached_property
    def triangle_loops(self) -> tuple[np.ndarray, np.ndarray]:
        """Polygons fanned into triangles: (F, 3) loop indices and (F,) source polygon."""
        loops, poly = [], []
        for f, (s, n) in enumerate(zip(self.loop_start, self.loop_total)):
            for k in range(1, n - 1):
                loops.append((s, s + k, s + k + 1))
                poly.append(f)
        return np.array(loops, dtype=np.int64), np.array(poly, dtype=np.int64)

    def triangles(self) -> np.ndarray:
        """(F, 3) asset vertex ids, polygons fanned into triangles."""
        return self.loop_vert[self.triangle_loops[0]].astype(np.int64)


class HeadRig:
    """The rig asset in memory. Cheap to query; load once with :func:`load_rig`."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.verts: np.ndarray = arrays["verts"]
        self.mirror: np.ndarray = arrays["mirror"]
        self.target_names: list[str] = [str(s) for s in arrays["target_names"]]
        self._t_ptr = arrays["target_ptr"]
        self._t_idx = arrays["target_idx"]
        self._t_delta = arrays["target_delta"]
        self.target_index = {n: i for i, n in enumerate(self.target_names)}
        self.bone_names: list[str] = [str(s) for s in arrays["bone_names"]]
        self.bone_parent: np.ndarray = arrays["bone_parent"]
        self.bone_roll: np.ndarray = arrays["bone_roll"]
        self._b_ptr = arrays["bone_ptr"]
        self._b_idx = arrays["bone_idx"]
        self.weight_bone: np.ndarray = arrays["weight_bone"]
        self.weight_value: np.ndarray = arrays["weight_value"]
        self.parts: dict[str, Part] = {}
        for name in (str(s) for s in arrays["part_names"]):
            self.parts[name] = Part(name, *(arrays[f"part/{name}/{k}"] for k in
                                            ("loop_start", "loop_total", "loop_vert", "loop_uv", "material")))

    @property
    def n_verts(self) -> int:
        return len(self.verts)

    def target(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse target: (vertex ids, (k, 3) float32 offsets). KeyError names the target."""
        try:
            i = self.target_index[name]
        except KeyError:
            raise KeyError(f"rig has no target {name!r}") from None
        a, b = self._t_ptr[i], self._t_ptr[i + 1]
        return self._t_idx[a:b], self._t_delta[a:b]

    def target_dense(self, name: str) -> np.ndarray:
        """(N, 3) float64 offsets of one target."""
        out = np.zeros((self.n_verts, 3))
        idx, d = self.target(name)
        out[idx] = d
        return out

    def ear_displacement(self) -> np.ndarray:
        """(N,) metres each vertex moves under both ear-size targets (zero away from the ears)."""
        return np.linalg.norm(self.target_dense("ears/l-ear-scale-incr") + self.target_dense("ears/r-ear-scale-incr"),
                              axis=1)

    def ear_vertices(self) -> np.ndarray:
        """(N,) bool: the ears (vertices the ear-size targets move by more than 2 mm)."""
        return self.ear_displacement() > 2e-3

    def deformed(self, target_weights: dict[str, float]) -> np.ndarray:
        """Vertices with ``sum_t w_t * delta_t`` added (the linear blendshape model)."""
        v = self.verts.copy()
        for name, w in target_weights.items():
            if w:
                idx, d = self.target(name)
                v[idx] += w * d
        return v

    def bone_ends(self, verts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(B, 3) bone heads and tails for the given vertex positions (default neutral)."""
        v = self.verts if verts is None else verts
        ends = np.array([v[self._b_idx[a:b]].mean(0) for a, b in zip(self._b_ptr[:-1], self._b_ptr[1:])])
        return ends[0::2], ends[1::2]


@functools.lru_cache(maxsize=4)
def load_rig(path: str | Path = ASSET_PATH) -> HeadRig:
    """Load (and cache) the rig asset. Raises FileNotFoundError with the build command."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"rig asset {path} is missing: run `python -m rigs.build_rig`")
    with np.load(path, allow_pickle=False) as z:
        return HeadRig({k: z[k] for k in z.files})


CORRESPONDENCE_PATH = DATA_DIR / "mediapipe_correspondence.npz"
PLACEMENT_PATH = DATA_DIR / "mediapipe_placement.npz"


@dataclass(frozen=True)
class LandmarkCorrespondence:
    """Where each of MediaPipe's 478 landmarks lies on the rig surface.

    ``tri`` (478, 3) asset vertex ids and ``bary`` (478, 3) barycentric weights;
    ``contour`` marks face-oval (silhouette, sliding) landmarks; ``spread`` (metres) is how
    much the per-view estimates disagreed; ``valid`` is False where no view saw the point.
    Built by ``python -m training.landmark_correspondence``.
    """
    tri: np.ndarray
    bary: np.ndarray
    contour: np.ndarray
    spread: np.ndarray
    valid: np.ndarray

    def points(self, verts: np.ndarray) -> np.ndarray:
        """(478, 3) landmark positions on a mesh with the rig's vertex order."""
        return np.einsum("lk,lkd->ld", self.bary, verts[self.tri])


@functools.lru_cache(maxsize=2)
def load_correspondence(path: str | Path = CORRESPONDENCE_PATH) -> LandmarkCorrespondence:
    """Load the MediaPipe-landmark correspondence of the rig."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m training.landmark_correspondence`")
    with np.load(path, allow_pickle=False) as z:
        return LandmarkCorrespondence(z["tri"].astype(np.int64), z["bary"], z["contour"],
                                      z["spread"], z["part"] >= 0)
