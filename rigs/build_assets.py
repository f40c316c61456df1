"""Build the asset library (hair, eyebrows, beards, glasses) procedurally from the rig.

Every asset is generated from the neutral rig and attached to it (see
:mod:`rigs.asset_geometry`), so it conforms to any head shape. Nothing is downloaded:
the inputs are the rig asset, the MediaPipe landmarks read on the bare head
(``rigs/data/mediapipe_placement.npz``, to place brows, beard regions and glasses on the
face) and the style tables below.

The frame and shared primitives live in :mod:`rigs.asset_frame`, the hairstyles in
:mod:`rigs.hair_styles`, the beards in :mod:`rigs.beard_styles`; eyebrows and glasses here.

Writes ``rigs/data/assets.npz`` and the catalogue ``rigs/assets.json``. Deterministic.
Run: ``python -m rigs.build_assets``.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from rigs.asset_frame import (ASSETS_NPZ, BRIDGE, BROW_LOWER, BROW_UPPER, CATALOGUE_JSON, H_MIN,
                              AssetMesh, HeadFrame, attach_free, merge, smoothstep)
from rigs.asset_geometry import Attachment
from rigs.beard_styles import beard_styles
from rigs.hair_styles import hair_styles
from rigs.rig_asset import HeadRig, load_rig


# ---- eyebrows ----------------------------------------------------------------------------
BROW_STYLES = {
    # id: (name, width at inner/peak/tail (m), arch (m), height (m), jitter)
    "thin": ("Thin", (0.0035, 0.003, 0.0015), 0.0015, 0.0008, 0.0),
    "medium": ("Medium", (0.0065, 0.0055, 0.0025), 0.0015, 0.0011, 0.0),
    "thick": ("Thick", (0.0095, 0.008, 0.004), 0.001, 0.0015, 0.0),
    "straight": ("Straight", (0.007, 0.006, 0.0035), -0.001, 0.0012, 0.0),
    "arched": ("Arched", (0.006, 0.005, 0.0022), 0.0045, 0.0011, 0.0),
    "bushy": ("Bushy", (0.011, 0.0095, 0.006), 0.001, 0.0025, 0.0012),
}


def eyebrow(frame: HeadFrame, widths, arch, height, jitter, cols=14, rows=4):
    pieces = []
    for side in ("L", "R"):
        up = frame.L[BROW_UPPER[side]]
        lo = frame.L[BROW_LOWER[side]]
        mid = (up + lo) / 2 + np.array([0, 0, 0.001])   # guessed brows sit a touch high
        t = np.linspace(0, 1, cols)
        s_src = np.linspace(0, 1, len(mid))
        centre = np.stack([np.interp(t, s_src, mid[:, d]) for d in range(3)], 1)
        # the tail of the brow (t=0 outer) droops; the arch peaks at ~1/3 from the tail
        centre[:, 2] -= 0.002 * (1 - t) ** 2
        w = np.interp(t, [0, 0.35, 1], [widths[2], widths[1], widths[0]])
        # the arch lifts the upper edge only: every style keeps the same lower line, so
        # the brows MediaPipe reads on a render stay where the fit put them
        lift = arch * np.sin(np.pi * np.clip(t * 1.3, 0, 1))
        pts = []
        for i in range(rows):
            v = i / (rows - 1)
            jit = jitter * np.sin(37 * t + 11 * i) if jitter else 0.0
            pts.append(centre + np.array([0, 0, 1.0])[None] * ((v - 0.5) * w + v * lift + jit)[:, None])
        pts = np.concatenate(pts)
        anc, wts = frame.nearest_skin(pts, k=4)
        on_skin = np.einsum("nk,nkd->nd", wts, frame.V[anc])
        nrm = np.einsum("nk,nkd->nd", wts, frame.N[anc])
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        # project the ribbon onto the skin, then lift it `height` off it
        proj = pts - ((pts - on_skin) * nrm).sum(1, keepdims=True) * nrm
        hgt = np.full(len(pts), height)
        hgt[np.tile(np.arange(cols), rows) == 0] = H_MIN    # the tail tapers into the skin
        att = Attachment(anc.astype(np.int32), wts, hgt, np.zeros((len(pts), 3)))
        att.offset = (proj + hgt[:, None] * nrm) - att.evaluate(frame.V, frame.N)
        polys = [[i * cols + j, i * cols + j + 1, (i + 1) * cols + j + 1, (i + 1) * cols + j]
                 for i in range(rows - 1) for j in range(cols - 1)]
        pieces.append((att, polys))
    return merge(pieces)


# ---- glasses ----------------------------------------------------------------------------
def _lens_outline(kind: str, n=40) -> np.ndarray:
    """Lens outline in the lens plane (x outward from the nose, z up), metres, centred."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    if kind == "round":
        return np.stack([0.021 * c, 0.021 * s], 1)
    if kind in ("rectangular", "browline", "rimless"):
        e = 2 / 6   # superellipse
        return np.stack([0.026 * np.sign(c) * np.abs(c) ** e, 0.017 * np.sign(s) * np.abs(s) ** e], 1)
    if kind == "aviator":
        x = 0.026 * c
        z = np.where(s > 0, 0.018 * s, 0.027 * s * (1 - 0.35 * c))
        return np.stack([x, z + 0.002], 1)
    if kind == "cat_eye":
        x = 0.025 * c
        z = 0.016 * s + 0.009 * np.clip(c, 0, 1) ** 3 * (s > -0.2)
        return np.stack([x, z], 1)
    raise ValueError(kind)


def glasses(frame: HeadFrame, kind: str):
    """Frame (rims, bridge, temples) and lenses; rimless keeps lenses and thin wires."""
    rig = frame.rig
    heads, _ = rig.bone_ends()
    eyes = {s: heads[rig.bone_names.index(f"eye.{s}")] for s in ("L", "R")}
    cornea_y = min(frame.V[rig.parts[f"eye_{s}"].vertex_ids, 1].min() for s in ("L", "R"))
    bridge = frame.L[BRIDGE]
    y_plane = min(cornea_y, bridge[1]) - 0.010
    rim_r = 0.0012 if kind == "rimless" else (0.0022 if kind != "browline" else 0.0018)
    pieces_frame, pieces_lens = [], []
    b_anc, b_w = frame.landmark_anchor(BRIDGE)
    outline = _lens_outline(kind)
    hinge = {}
    for s, sign in (("L", 1.0), ("R", -1.0)):
        c = np.array([eyes[s][0] + sign * 0.004, y_plane, eyes[s][2] - 0.002])
        ring = np.stack([c[0] + sign * outline[:, 0], np.full(len(outline), c[1]), c[2] + outline[:, 1]], 1)
        if kind != "rimless":
            path = np.r_[ring, ring[:1]]
            att, ps = _tube_local(path, rim_r, closed=True)
            pieces_frame.append((att, ps))
            if kind == "browline":   # the heavy top bar
                top = ring[(outline[:, 1] > 0.004)]
                top = top[np.argsort(sign * (top[:, 0] - c[0]))]
                pieces_frame.append(_tube_local(top + np.array([0, 0, 0.002]), 0.0032))
        # lens: a fan over the outline
        lp = np.r_[c[None], ring] + np.array([0, 0.0005, 0])
        lpolys = [[0, 1 + k, 1 + (k + 1) % len(ring)] for k in range(len(ring))]
        pieces_lens.append((lp, lpolys))
        outer = ring[np.argmax(sign * ring[:, 0])]
        hinge[s] = outer
    # bridge over the nose: an arc between the inner rims
    inner = {s: np.array([eyes[s][0] - (0.004 if s == "L" else -0.004) - (0.021 if s == "L" else -0.021) * 0.9,
                          y_plane, eyes[s][2] + 0.006]) for s in ("L", "R")}
    arc = np.array([inner["R"] * (1 - t) + inner["L"] * t + np.array([0, -0.0, 0.004 * np.sin(np.pi * t)])
                    for t in np.linspace(0, 1, 9)])
    pieces_frame.append(_tube_local(arc, rim_r if kind != "rimless" else 0.0012))
    # temples: from the hinge back along the side of the head to above the ear, then down
    temples = []
    for s, sign in (("L", 1.0), ("R", -1.0)):
        h = hinge[s]
        side = frame.skin_ids[(np.sign(frame.V[frame.skin_ids, 0]) == sign)]
        ys = np.linspace(h[1], frame.E[1] + 0.095, 14)
        path = np.c_[np.full(len(ys), h[0]), ys, np.full(len(ys), h[2])]
        tail = path[-1] + np.array([[0, 0.008 * t, -0.018 * t ** 1.5] for t in np.linspace(0.2, 1, 4)])
        path = np.r_[path, tail]
        for p in path:   # clear the skin (ears included) by 4 mm, never turning inward
            near = side[(np.abs(frame.V[side, 1] - p[1]) < 0.008) & (np.abs(frame.V[side, 2] - p[2]) < 0.012)]
            xmax = np.abs(frame.V[near, 0]).max() if len(near) else 0.0
            p[0] = sign * max(abs(h[0]), xmax + 0.004)
        path[:14, 0] = sign * np.maximum.accumulate(np.abs(path[:14, 0]))
        temples.append((path, s))
    # assemble with anchors: front on the nose bridge and temples; temples on the skin
    frame_pts, frame_polys, off = [], [], 0
    anchors, weights = [], []
    # the front scales with the face: a vertex at lateral fraction t of the hinge width
    # blends the bridge anchor (t = 0) with the skin at its side's temple (t = 1)
    temple_v = {s: frame.nearest_skin((hinge[s] + np.array([-np.sign(hinge[s][0]) * 0.004, 0.012, 0]))[None],
                                      k=1)[0][0, 0] for s in ("L", "R")}

    def front_anchor(pts):
        t = np.clip(np.abs(pts[:, 0] - bridge[0]) / abs(hinge["L"][0] - bridge[0]), 0, 1)
        side = np.where(pts[:, 0] >= bridge[0], temple_v["L"], temple_v["R"])
        anc = np.stack([np.full(len(pts), b_anc[0]), np.full(len(pts), b_anc[1]),
                        np.full(len(pts), b_anc[2]), side], 1)
        w = np.concatenate([b_w[None, :3] * (1 - t[:, None]), t[:, None]], 1)
        return anc, w

    def add(pts, polys, anc, w):
        nonlocal off
        frame_pts.append(pts)
        frame_polys.extend([i + off for i in p] for p in polys)
        anchors.append(anc)
        weights.append(w)
        off += len(pts)

    for a, polys in pieces_frame:
        add(a.offset, polys, *front_anchor(a.offset))
    for path, s in temples:
        att, ps = _tube_local(path, rim_r if kind != "rimless" else 0.0012)
        pts = att.offset
        f = np.clip((pts[:, 1] - path[0, 1]) / (path[-1, 1] - path[0, 1] + 1e-9), 0, 1)
        g = smoothstep(f / 0.3)[:, None]     # from the temple anchor to the skin it passes
        sk, sw = frame.nearest_skin(pts, k=3)
        ek, ew = frame.nearest_skin(pts, k=3, among=frame.ear_ids)
        on_ear = np.linalg.norm(pts - frame.V[ek[:, 0]], axis=1) < 0.012   # rests on the ear
        sk[on_ear], sw[on_ear] = ek[on_ear], ew[on_ear]
        add(pts, ps, np.concatenate([np.full((len(pts), 1), temple_v[s]), sk], 1),
            np.concatenate([1 - g, g * sw], 1))
    lens_start = off
    for lp, lpolys in pieces_lens:
        add(lp, lpolys, *front_anchor(lp))
    p = np.concatenate(frame_pts)
    att = attach_free(frame, p, np.concatenate(anchors), np.concatenate(weights))
    mats = [0 if max(poly) < lens_start else 1 for poly in frame_polys]
    return att, frame_polys, mats


def _tube_local(path: np.ndarray, radius: float, sides=8, closed=False):
    """Tube vertices (in ``offset``, rest space) and quads; anchors are filled in later."""
    n = len(path)
    tang = np.gradient(path, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    pts = []
    prev_x = None
    for i in range(n):
        ref = np.array([0.0, 0.0, 1.0]) if abs(tang[i][2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        x = np.cross(tang[i], ref) if prev_x is None else prev_x - (prev_x @ tang[i]) * tang[i]
        x /= np.linalg.norm(x)
        prev_x = x
        y = np.cross(tang[i], x)
        for k in range(sides):
            th = 2 * np.pi * k / sides
            pts.append(path[i] + radius * (np.cos(th) * x + np.sin(th) * y))
    polys = []
    for i in range(n - 1):
        for k in range(sides):
            a, b = i * sides + k, i * sides + (k + 1) % sides
            polys.append([a, b, b + sides, a + sides])
    pts = np.array(pts)
    return Attachment(np.zeros((len(pts), 4), np.int32), np.zeros((len(pts), 4)), np.zeros(len(pts)), pts), polys


GLASSES = {"round": "Round", "rectangular": "Rectangular", "browline": "Browline",
           "aviator": "Aviator", "cat_eye": "Cat-eye", "rimless": "Rimless"}


# ---------------------------------------------------------------------------------------
def build_library(rig: HeadRig | None = None) -> tuple[dict[str, AssetMesh], dict]:
    """Generate every asset; returns ({"<kind>/<id>": AssetMesh}, catalogue dict)."""
    frame = HeadFrame(rig or load_rig())
    assets: dict[str, AssetMesh] = {}
    cat = {"schema": "photo2avatar/assets@1",
           "hair": {"bald": {"name": "Bald", "length": "bald", "texture": "straight", "volume": 0.0,
                             "parting": "none", "curl": 0.0}},
           "eyebrows": {"none": {"name": "None"}},
           "beard": {"none": {"name": "None", "coverage": 0.0}},
           "glasses": {"none": {"name": "None"}}}
    for hid, (meta, pieces) in hair_styles(frame).items():
        piece = merge(pieces)
        assets[f"hair/{hid}"] = AssetMesh(piece.att, piece.polys, ["hair"], [0] * len(piece.polys), rigid=True,
                                          expressions=False, uv=piece.uv)
        cat["hair"][hid] = meta
    for bid, (name, widths, arch, height, jitter) in BROW_STYLES.items():
        brow = eyebrow(frame, widths, arch, height, jitter)
        att, polys = brow.att, brow.polys
        assets[f"eyebrows/{bid}"] = AssetMesh(att, polys, ["eyebrows"], [0] * len(polys), rigid=False,
                                              expressions=True)
        cat["eyebrows"][bid] = {"name": name, "thickness": round(widths[1] * 1000, 1), "arch": round(arch * 1000, 1)}
    for bid, (meta, pieces, mat) in beard_styles(frame).items():
        piece = merge(pieces)
        assets[f"beard/{bid}"] = AssetMesh(piece.att, piece.polys, [mat], [0] * len(piece.polys), rigid=False,
                                           expressions=True, uv=piece.uv)
        cat["beard"][bid] = meta
    for gid, name in GLASSES.items():
        att, polys, mats = glasses(frame, gid)
        assets[f"glasses/{gid}"] = AssetMesh(att, polys, ["frame", "lens"], mats, rigid=True, expressions=False)
        cat["glasses"][gid] = {"name": name, "rim": "none" if gid == "rimless" else "full"}
    for kind in ("hair", "eyebrows", "beard", "glasses"):
        for aid, entry in cat[kind].items():
            entry["thumbnail"] = f"docs/assets/{kind}_{aid}.png"
    return assets, cat


def to_arrays(assets: dict[str, AssetMesh]) -> dict[str, np.ndarray]:
    out = {"names": np.array(sorted(assets))}
    for name in sorted(assets):
        a = assets[name]
        sizes = np.array([len(p) for p in a.polys], np.int64)
        out[f"{name}/anchor"] = a.att.anchor.astype(np.int32)
        # rounded to 1e-10 (m / weight units): the last bits vary with BLAS threading, and
        # identical inputs should give identical files
        out[f"{name}/weight"] = np.round(a.att.weight.astype(np.float64), 10)
        out[f"{name}/height"] = np.round(a.att.height.astype(np.float64), 10)
        out[f"{name}/offset"] = np.round(a.att.offset.astype(np.float64), 10)
        out[f"{name}/loop_start"] = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        out[f"{name}/loop_vert"] = np.concatenate(a.polys).astype(np.int32)
        out[f"{name}/poly_material"] = np.array(a.poly_material, np.int16)
        out[f"{name}/materials"] = np.array(a.materials)
        out[f"{name}/flags"] = np.array([a.rigid, a.expressions])
        if a.uv is not None:
            out[f"{name}/uv"] = np.round(a.uv.astype(np.float32), 5)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.parse_args(argv)
    from rigs.build_rig import write
    assets, cat = build_library()
    write(to_arrays(assets), ASSETS_NPZ)
    tmp = CATALOGUE_JSON.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(cat, indent=1) + "\n")
    tmp.replace(CATALOGUE_JSON)
    print(f"wrote {ASSETS_NPZ} ({ASSETS_NPZ.stat().st_size / 1e6:.1f} MB, {len(assets)} assets) and {CATALOGUE_JSON}")


if __name__ == "__main__":
    main()