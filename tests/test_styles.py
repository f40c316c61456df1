"""Geometry styles: the deformation meets its targets, keeps the rest of the head, stays
symmetric, scales with strength, and the rig still animates; bad exemplars fail clearly."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.avatar import avatar_from_dict, default_avatar
from inference.deform import head_deformer
from inference.styles import StyleError, align2d, handle_targets, reference_shape, stylize
from rigs.catalogue import style_names
from rigs.rig_asset import load_correspondence, load_rig

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ("cartoon", "chibi", "caricature")


def _avatar(style: str, strength: float = 1.0, **shape):
    av = default_avatar()
    av.shape.update({"jaw_width": -0.4, "nose_width": 0.5, "eye_size": 0.3, **shape})
    av.style = {"name": style, "strength": strength}
    return av


def test_presets_exist_as_data():
    assert {"identity", "cartoon", "chibi", "caricature", "exemplar"} <= set(style_names())
    for name in style_names():
        data = json.loads((ROOT / "rigs" / "styles" / f"{name}.json").read_text())
        assert data["schema"] == "photo2avatar/style@1" and "geometry" in data and "shading" in data


@pytest.mark.parametrize("style", ["cartoon", "chibi"])
def test_landmark_vertices_reach_their_targets_and_the_rest_keeps_its_laplacian(style):
    d = head_deformer()
    rig = load_rig()
    verts = rig.deformed({})
    targets = handle_targets(_avatar(style), verts, d)
    u = d.solve(targets)
    lm = d.handles.kind == 0
    err = np.linalg.norm(u[d.local] - targets, axis=1)
    assert np.abs(targets).max() > 0.005                # the style moves landmarks by millimetres
    assert err[lm].max() < 2e-4                          # ... and they get there (0.2 mm)
    free = np.ones(len(d.head_ids), bool)
    free[d.local] = False
    lap_before = np.linalg.norm(d.laplacian @ verts[d.head_ids], axis=1)
    lap_change = np.linalg.norm(d.laplacian @ u, axis=1)
    assert np.median(lap_change[free]) < 0.15 * np.median(lap_before[free])
    # the exact minimiser: any perturbation raises the energy
    e = d.energy(u, targets)
    rng = np.random.default_rng(0)
    assert d.energy(u + 1e-5 * rng.standard_normal(u.shape), targets) > e


@pytest.mark.parametrize("style", PRESETS)
def test_symmetric_input_gives_a_symmetric_result(style):
    rig = load_rig()
    st = stylize(_avatar(style))
    flip = np.array([-1.0, 1.0, 1.0])
    skin = np.concatenate([rig.parts[p].vertex_ids for p in ("head", "teeth_upper", "teeth_lower", "tongue")])
    # MakeHuman's own targets are symmetric to ~10 micrometres
    assert np.abs(st.all[rig.mirror[skin]] * flip - st.all[skin]).max() < 1e-4
    eye_l, eye_r = (st.all[rig.parts[p].vertex_ids].mean(0) for p in ("eye_L", "eye_R"))
    assert np.abs(eye_l - eye_r * flip).max() < 1e-4      # eyeballs re-seated alike
    assert np.abs(st.head).max() > 1e-3


@pytest.mark.parametrize("style", [n for n in style_names() if n != "exemplar"])
def test_identity_changes_nothing_and_presets_do(style):
    if style == "identity":
        for s in (0.0, 1.0, 2.0):
            assert not stylize(_avatar("identity", s)).head.any()
    else:
        assert stylize(_avatar(style)).head.any()


def test_offsets_are_linear_in_the_targets():
    d = head_deformer()
    targets = handle_targets(_avatar("cartoon"), load_rig().deformed({}), d)
    np.testing.assert_allclose(d.solve(2 * targets), 2 * d.solve(targets), atol=1e-12)


def test_caricature_exaggerates_the_persons_own_deviation():
    plain = stylize(_avatar("caricature", jaw_width=0.0, nose_width=0.0, eye_size=0.0))
    wide = stylize(_avatar("caricature", nose_width=0.8))
    assert np.abs(plain.head).max() < np.abs(wide.head).max()


def test_degenerate_exemplar_landmarks_raise_clear_errors():
    ref = reference_shape()
    bad = ref.copy()
    bad[5] = np.nan
    with pytest.raises(StyleError, match="not finite"):
        align2d(bad, ref)
    line = np.c_[np.linspace(0, 1, len(ref)), np.zeros(len(ref))]
    with pytest.raises(StyleError, match="collinear"):
        align2d(line, ref)
    with pytest.raises(StyleError, match="mirrored"):
        align2d(ref * np.array([-1.0, 1.0]), ref)
    assert np.abs(align2d(ref * 1.7 + 3.0, ref) - ref).max() < 1e-9


def test_exemplar_ops_round_trip_through_avatar_json():
    av = default_avatar().to_dict()
    op = {"region": "left_eye", "scale": [1.2, 1.0, 1.2], "translate": [0.0, 0.0, 0.001], "radius": [0.014, 0.032]}
    av["style"] = {"name": "exemplar", "strength": 1.0, "exemplar": {"image": "x.jpg", "sha256": "ab", "ops": [op]}}
    back = avatar_from_dict(json.loads(json.dumps(av)))
    assert back.style["exemplar"]["ops"] == [op]
    assert np.abs(stylize(back).head).max() > 1e-3
    av["style"]["exemplar"]["ops"][0]["scale"] = [9, 1, 1]
    with pytest.raises(ValueError, match="style.exemplar.ops"):
        avatar_from_dict(av)
    av["style"] = {"name": "exemplar"}
    with pytest.raises(ValueError, match="style.exemplar"):
        avatar_from_dict(av)


# -- with MediaPipe and Blender --

bpy = pytest.importorskip("bpy")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "blender_addon.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_a_non_face_style_image_gives_one_line_and_code_7(tmp_path):
    from PIL import Image
    Image.new("RGB", (400, 400), (200, 180, 120)).save(tmp_path / "plain.png")
    run = _cli("generate", ROOT / "samples" / "photos" / "person_01.jpg", "-o", tmp_path / "b",
               "--style-image", tmp_path / "plain.png", "-q")
    assert run.returncode == 7, run.stderr
    assert "style image shows no face" in run.stderr and run.stderr.strip().count("\n") == 0
    assert not (tmp_path / "b").exists()


def test_exemplar_generate_writes_the_warps_and_the_deformation(tmp_path):
    run = _cli("generate", ROOT / "samples" / "photos" / "person_01.jpg", "-o", tmp_path / "b",
               "--style-image", ROOT / "samples" / "styles" / "style_02.jpg", "-q")
    assert run.returncode == 0, run.stderr
    av = json.loads((tmp_path / "b" / "avatar.json").read_text())
    assert av["style"]["name"] == "exemplar" and av["style"]["exemplar"]["image"] == "style_02.jpg"
    d = np.load(tmp_path / "b" / "deformation.npy")
    expected = stylize(avatar_from_dict(av)).head
    np.testing.assert_allclose(d, expected, atol=1e-6)
    assert np.abs(d).max() > 5e-4


def _lid_gap(verts_full, corr, up, down):
    p = corr.points(verts_full)
    return float(np.linalg.norm(p[up] - p[down]))


def _full(objs, rig):
    from blender_addon.avatar_build import evaluated_vertices
    v = rig.verts.copy()
    v[rig.parts["head"].vertex_ids] = evaluated_vertices(objs.head)
    return v


def test_the_rig_still_animates_after_a_style(scene):
    from blender_addon.avatar_build import build_avatar, update_avatar
    rig = load_rig()
    corr = load_correspondence()
    av = _avatar("chibi")
    objs = build_avatar(av)
    open_eye = _lid_gap(_full(objs, rig), corr, 159, 145)
    closed = av.copy()
    closed.expression = {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}
    update_avatar(objs, closed)
    assert _lid_gap(_full(objs, rig), corr, 159, 145) < 0.3 * open_eye      # the bigger eye closes
    update_avatar(objs, av)
    chin = corr.points(_full(objs, rig))[152]
    mouth = av.copy()
    mouth.expression = {"jawOpen": 1.0}
    update_avatar(objs, mouth)
    assert chin[2] - corr.points(_full(objs, rig))[152][2] > 0.015          # jawOpen drops the chin


def test_strength_dials_the_style_key_and_zero_is_the_unstyled_head(scene):
    from blender_addon.avatar_build import build_avatar, evaluated_vertices, update_avatar
    from blender_addon.style_apply import bake_style
    plain = build_avatar(_avatar("identity"), name="Plain")
    base = evaluated_vertices(plain.head)
    objs = build_avatar(_avatar("cartoon", 0.0))
    assert "style" in objs.head.data.shape_keys.key_blocks
    np.testing.assert_allclose(evaluated_vertices(objs.head), base, atol=1e-6)
    update_avatar(objs, _avatar("cartoon", 1.0))
    one = evaluated_vertices(objs.head) - base
    update_avatar(objs, _avatar("cartoon", 2.0))
    two = evaluated_vertices(objs.head) - base
    assert np.abs(one).max() > 1e-3
    np.testing.assert_allclose(two, 2 * one, atol=2e-5)
    styled = evaluated_vertices(objs.head)
    bake_style(objs)
    assert "style" not in objs.head.data.shape_keys.key_blocks
    np.testing.assert_allclose(evaluated_vertices(objs.head), styled, atol=1e-5)
