"""The photo applied to characters of other topologies (``tests/characters.py``): the face
is found on their mesh, the head moves toward the photo, and everything else an artist
built stays as it was: vertex count, UVs, vertex groups, the armature's bones, their
shape keys (re-expressed on the new basis), the body below the neck."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from characters import make_character  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "samples" / "photos" / "person_02.jpg"


@pytest.fixture(scope="module")
def analysis():
    from inference.pipeline import Backend
    return Backend().analyze(PHOTO)


def _state(obj):
    me = obj.data
    n = len(me.vertices)
    uv = np.empty(len(me.loops) * 2)
    me.uv_layers.active.data.foreach_get("uv", uv)
    keys = {}
    for kb in me.shape_keys.key_blocks:
        co = np.empty(n * 3)
        kb.data.foreach_get("co", co)
        keys[kb.name] = co.reshape(n, 3)
    groups = {g.name: sorted((v.index, round(e.weight, 6)) for v in me.vertices for e in v.groups
                             if e.group == g.index) for g in obj.vertex_groups}
    arm = obj.find_armature()
    bones = {b.name: (np.array(b.head_local), np.array(b.tail_local)) for b in arm.data.bones}
    return {"n": n, "faces": len(me.polygons), "uv": uv, "keys": keys, "groups": groups, "bones": bones,
            "materials": len(me.materials), "modifiers": [m.type for m in obj.modifiers]}


@pytest.mark.parametrize("kind", ["lowpoly", "body"])
def test_apply_keeps_topology_and_rig_and_moves_the_face_like_the_photo(scene, analysis, kind):
    """Whether MediaPipe then reads their render closer to the photo is not asserted: it
    does in 5 of 8 measured cases (4 photos x 2 characters, README), the open part of the
    issue."""
    from blender_addon.character import apply_to_character, find_face
    obj = make_character(kind)
    before = _state(obj)
    report = apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape)
    after = _state(obj)
    for k in ("n", "faces", "materials", "modifiers"):
        assert after[k] == before[k], k
    np.testing.assert_array_equal(after["uv"], before["uv"])
    assert after["groups"] == before["groups"]
    assert after["bones"].keys() == before["bones"].keys()
    # the basis moved, and the character's own key keeps its own change on the new basis
    basis0, basis1 = before["keys"]["Basis"], after["keys"]["Basis"]
    moved = np.linalg.norm(basis1 - basis0, axis=1)
    assert moved.max() > 0.05 * report["scale"] * 0.01          # at least half a millimetre of face change
    np.testing.assert_allclose(after["keys"]["CheekPuff"] - basis1, before["keys"]["CheekPuff"] - basis0,
                               atol=1e-5 * report["scale"])
    # eyes re-seated with the face; the root joint (far below) stays
    assert set(report["bones_reseated"]) >= {"eye.L", "eye.R", "head"}
    if kind == "body":
        np.testing.assert_array_equal(after["bones"]["root"][0], before["bones"]["root"][0])
        torso = basis0[:, 2] < basis0[:, 2].max() - 35.0          # 35 cm below the crown: chest and below
        assert torso.sum() >= 48 and moved[torso].max() == 0.0      # the bottom ring of the torso
    # their landmarks moved as the photo moves ours: by the rig's change, in their frame
    from inference.character_fit import rig_landmark_change, similarity_to
    surface, _ = find_face(obj)
    l0, change, usable = rig_landmark_change(analysis.avatar, analysis.deformation, analysis.geometric_shape)
    keep = surface.valid & usable
    (s, r, _), keep = similarity_to(l0, surface.points(basis0), keep)
    want = s * change[keep] @ r.T
    got = surface.points(basis1)[keep] - surface.points(basis0)[keep]
    assert np.median(np.linalg.norm(got - want, axis=1)) < 0.25 * np.median(np.linalg.norm(want, axis=1))


def test_a_mesh_without_a_face_is_a_clear_error_and_stays_as_it_was(scene, analysis):
    from blender_addon.character import apply_to_character
    from inference.errors import FaceError
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    co = np.array([v.co for v in cube.data.vertices])
    with pytest.raises(FaceError, match="no face found on 'Cube'"):
        apply_to_character(cube, analysis.avatar)
    np.testing.assert_array_equal(np.array([v.co for v in cube.data.vertices]), co)


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "blender_addon.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd=ROOT)


def test_apply_command_writes_a_new_blend_and_never_the_input(scene, tmp_path):
    name = make_character("lowpoly").name
    src = tmp_path / "character.blend"
    bpy.ops.mesh.primitive_cube_add(location=(3, 0, 0))
    bpy.ops.wm.save_as_mainfile(filepath=str(src), copy=True)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / "out.blend"
    r = _cli("apply", str(PHOTO), "--character", str(src), "--object", name, "-o", str(out), "--arkit")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.splitlines()[-1])
    assert report["landmarks"] > 300 and out.is_file()
    assert report["arkit_keys_added"] == 51 and report["arkit_keys_kept"] == ["cheekPuff"]
    assert report["texture"] == "new" and report["texture_texels_painted"] > 1000
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest
    # the painted image travels inside the written .blend
    bpy.ops.wm.open_mainfile(filepath=str(out))
    img = bpy.data.images[report["texture_image"]]
    assert img.packed_file is not None and img.size[0] == img.size[1] == 2048
    # --no-texture: the shape only, their materials as they were
    plain = tmp_path / "plain.blend"
    r = _cli("apply", str(PHOTO), "--character", str(src), "--object", name, "-o", str(plain), "--no-texture")
    assert r.returncode == 0, r.stderr
    assert "texture" not in json.loads(r.stdout.splitlines()[-1])
    bpy.ops.wm.open_mainfile(filepath=str(plain))
    assert not [i for i in bpy.data.images if i.name.endswith(".photo2avatar")]
    assert not bpy.data.objects[name].data.materials
    # a mesh with no face: exit 7, one line, nothing written
    bad = tmp_path / "bad.blend"
    r = _cli("apply", str(PHOTO), "--character", str(src), "--object", "Cube", "-o", str(bad))
    assert r.returncode == 7 and "no face found on 'Cube'" in r.stderr and not bad.exists()
    assert "Traceback" not in r.stderr
    r = _cli("apply", str(PHOTO), "--character", str(src), "--object", "Nobody", "-o", str(bad))
    assert r.returncode == 4 and "no object named 'Nobody'" in r.stderr
    r = _cli("apply", str(PHOTO), "--character", str(src), "--object", name, "-o", str(src), "--force")
    assert r.returncode == 2 and hashlib.sha256(src.read_bytes()).hexdigest() == digest
