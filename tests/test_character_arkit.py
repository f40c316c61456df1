"""``apply --arkit``: ARKit's 52 keys on characters of other topologies and proportions
(``tests/characters.py``), carried from our rig by deformation transfer, moving their face
as each key moves ours, and driven by the project's retargeting."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from characters import make_character  # noqa: E402
from test_retarget import write_llf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "samples" / "photos" / "person_07.jpg"
RIGHT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173]


@pytest.fixture(scope="module")
def analysis():
    from inference.pipeline import Backend
    return Backend().analyze(PHOTO)


def _keys(obj):
    n = len(obj.data.vertices)
    out = {}
    for kb in obj.data.shape_keys.key_blocks:
        co = np.empty(n * 3)
        kb.data.foreach_get("co", co)
        out[kb.name] = co.reshape(n, 3)
    return out


@pytest.mark.parametrize("kind", ["lowpoly", "remeshed"])
def test_arkit_keys_move_their_face_as_they_move_ours(scene, analysis, kind):
    from blender_addon.character import apply_to_character, find_face
    from inference.character_arkit import landmark_motion_agreement
    from inference.character_fit import similarity_to
    from inference.name_mapping import map_names
    from rigs.arkit import ARKIT_NAMES
    from rigs.rig_asset import load_correspondence, load_rig
    obj = make_character(kind)
    n = len(obj.data.vertices)
    puff_before = _keys(obj)
    surface, _ = find_face(obj)            # its triangles and weights hold on the deformed basis
    report = apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape, arkit=True)
    keys = _keys(obj)
    assert len(obj.data.vertices) == n
    # all 52 present under Live Link Face's names; their own CheekPuff kept as they made it
    assert sorted(map_names(list(keys)).values()) == sorted(ARKIT_NAMES)
    assert report["arkit_keys_added"] == 51 and report["arkit_keys_kept"] == ["cheekPuff"]
    assert {"JawOpen", "EyeBlinkLeft", "MouthSmileRight", "TongueOut"} <= set(keys)
    basis = keys["Basis"]
    np.testing.assert_allclose(keys["CheekPuff"] - basis, puff_before["CheekPuff"] - puff_before["Basis"],
                               atol=1e-6)
    deltas = {a: keys[b] - basis for b, a in map_names(list(keys)[1:]).items() if a != "cheekPuff"}
    error = landmark_motion_agreement(basis, surface, deltas)
    assert len(error) >= 45                  # the keys that move skin landmarks on our rig
    assert np.median(list(error.values())) < 0.4 and max(error.values()) < 0.8, error
    # what an animator checks first: the jaw drops the chin, a left blink leaves the right eye
    rig, corr = load_rig(), load_correspondence()
    ours = corr.points(rig.verts)
    theirs = surface.points(basis)
    (s, r, _), _ = similarity_to(ours, theirs, surface.valid & corr.valid)
    down = r @ np.array([0.0, 0.0, -1.0])
    chin_ours = s * (corr.points(rig.verts + rig.target_dense("arkit/jawOpen")) - ours)[152] @ r.T
    chin = surface.points(basis + deltas["jawOpen"])[152] - theirs[152]
    assert chin @ down > 0.6 * (chin_ours @ down) > 0
    blink = np.linalg.norm(surface.points(basis + deltas["eyeBlinkLeft"]) - theirs, axis=1)
    # (our rig's eyeBlinkLeft, from MPFB's face units, itself moves a few vertices inside the
    # right eye's inner corner by up to 8 mm; on a fused sculpt they reach its lid)
    assert blink[RIGHT_EYE].max() < 0.25 * blink.max()


def test_a_live_link_face_take_drives_the_character(scene, analysis, tmp_path):
    from blender_addon.character import apply_to_character
    from blender_addon.live_session import character_objects
    from blender_addon.retarget import apply_track
    from inference.expression_track import read_live_link_csv
    obj = make_character("lowpoly")
    apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape, arkit=True)
    jaw = np.r_[np.zeros(30), np.ones(30)]
    track = read_live_link_csv(write_llf(tmp_path / "take.csv", n=60, jaw=jaw))
    scene.render.fps = 60
    apply_track(character_objects(obj), track, fps=60)
    keys = _keys(obj)
    delta = keys["JawOpen"] - keys["Basis"]
    chin = int(np.argmax(np.linalg.norm(delta, axis=1)))

    def pose(frame):
        scene.frame_set(frame)
        ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        return np.array(ev.data.vertices[chin].co), obj.data.shape_keys.key_blocks["JawOpen"].value

    (c0, w0), (c1, w1) = pose(5), pose(55)
    assert w0 == pytest.approx(0.0, abs=1e-3) and w1 == pytest.approx(1.0, abs=1e-3)
    assert np.linalg.norm(delta[chin]) > 0.01                  # the jaw key moves the chin a centimetre or more
    np.testing.assert_allclose(c1 - c0, delta[chin], atol=1e-4)
