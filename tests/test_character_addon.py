"""*Your character* in the add-on, driven headless through the real backend subprocess:
pick a mesh, apply a photo (the face shaped, painted and given ARKit keys in the artist's
own Blender, which has neither SciPy nor MediaPipe), restore it in one step; a failed job
leaves it untouched."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from characters import make_character  # noqa: E402

from blender_addon import addon  # noqa: E402
from blender_addon.character_edit import RESTORE_KEY  # noqa: E402

PHOTO = Path(__file__).resolve().parents[1] / "samples" / "photos" / "person_11.jpg"


@pytest.fixture(scope="module")
def registered():
    addon.register()
    yield
    addon.unregister()


def _look(obj) -> dict:
    me = obj.data
    keys = {}
    for kb in me.shape_keys.key_blocks:
        co = np.empty(len(me.vertices) * 3)
        kb.data.foreach_get("co", co)
        keys[kb.name] = co.reshape(-1, 3)
    arm = obj.find_armature()
    node = obj.material_slots[0].material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].links[0].from_node
    return {"keys": keys, "bones": {b.name: np.r_[b.head_local, b.tail_local] for b in arm.data.bones},
            "image": node.image.name, "material": obj.material_slots[0].material.name}


def test_apply_photo_to_the_picked_character_then_restore_it(registered, scene):
    obj = make_character("lowpoly", textured=True)
    mesh_name = obj.data.name
    before = _look(obj)
    paint = np.empty(1024 * 1024 * 4, np.float32)
    bpy.data.images["their_paint"].pixels.foreach_get(paint)
    scene.photo2avatar_character = obj
    assert bpy.ops.photo2avatar.apply_character(filepath=str(PHOTO), arkit=True) == {"FINISHED"}
    after = _look(obj)
    moved = np.linalg.norm(after["keys"]["Basis"] - before["keys"]["Basis"], axis=1)
    assert moved.max() > 5e-4 and len(after["keys"]["Basis"]) == len(before["keys"]["Basis"])
    np.testing.assert_allclose(after["keys"]["CheekPuff"] - after["keys"]["Basis"],
                               before["keys"]["CheekPuff"] - before["keys"]["Basis"], atol=1e-6)
    assert len(after["keys"]) == len(before["keys"]) + 51 and "JawOpen" in after["keys"]
    jaw = np.linalg.norm(after["keys"]["JawOpen"] - after["keys"]["Basis"], axis=1)
    assert jaw.max() > 5e-3                                   # the key opens the jaw by millimetres
    assert not np.allclose(after["bones"]["eye.L"], before["bones"]["eye.L"])    # eyes re-seated
    assert after["image"] == "their_paint.photo2avatar" and after["material"] == before["material"]
    now = np.empty_like(paint)
    bpy.data.images["their_paint"].pixels.foreach_get(now)
    np.testing.assert_array_equal(now, paint)                 # their own image untouched
    bpy.data.images["their_paint.photo2avatar"].pixels.foreach_get(now)
    assert (np.abs(now - paint) > 2 / 255).sum() > 3000        # the painted copy differs at the face
    # restore: one step back to exactly how it came
    assert bpy.ops.photo2avatar.restore_character() == {"FINISHED"}
    back = _look(obj)
    assert back["keys"].keys() == before["keys"].keys()
    for name, co in before["keys"].items():
        np.testing.assert_array_equal(back["keys"][name], co)
    for name, b in before["bones"].items():
        np.testing.assert_allclose(back["bones"][name], b, atol=1e-6)
    assert back["image"] == "their_paint" and RESTORE_KEY not in obj
    assert obj.data.name == mesh_name and not [m for m in bpy.data.meshes if m.name.endswith(".before_photo2avatar")]
    assert bpy.ops.photo2avatar.restore_character() == {"CANCELLED"}      # nothing left to restore


def test_a_photo_without_a_face_leaves_the_character_untouched(registered, scene, tmp_path):
    import cv2
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((400, 300, 3), 180, np.uint8))
    obj = make_character("lowpoly")
    before = _look_basis(obj)
    scene.photo2avatar_character = obj
    with pytest.raises(RuntimeError, match="no face found in the photo"):     # the report, as an artist sees it
        bpy.ops.photo2avatar.apply_character(filepath=str(blank))
    np.testing.assert_array_equal(_look_basis(obj), before)
    assert RESTORE_KEY not in obj and not obj.data.materials


def _look_basis(obj) -> np.ndarray:
    co = np.empty(len(obj.data.vertices) * 3)
    obj.data.shape_keys.reference_key.data.foreach_get("co", co)
    return co
