"""The avatar engine in the real bpy module: build, update, rig, looks, render, export."""
from __future__ import annotations

import math

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from PIL import Image  # noqa: E402

from blender_addon import looks  # noqa: E402
from blender_addon.avatar_build import (build_avatar, evaluated_vertices, find_avatar,  # noqa: E402
                                        update_avatar)
from blender_addon.export import export_glb, save_blend  # noqa: E402
from blender_addon.render import render_avatar  # noqa: E402
from inference.avatar import default_avatar, hex_to_rgb  # noqa: E402
from rigs.arkit import ARKIT_NAMES  # noqa: E402
from rigs.catalogue import shape_catalogue  # noqa: E402


@pytest.fixture
def avatar_objs(scene):
    return build_avatar(default_avatar(), scene)


def _eval(obj):
    bpy.context.view_layer.update()
    return evaluated_vertices(obj)


def test_build_creates_rig_parts_and_keys(avatar_objs):
    o = avatar_objs
    assert o.armature.type == "ARMATURE"
    assert set(o.parts) == {"head", "eye_L", "eye_R", "teeth_upper", "teeth_lower", "tongue"}
    assert set(o.assets) == {"hair", "eyebrows"}      # the default: short crop, medium brows
    keys = o.head.data.shape_keys.key_blocks
    for n in ARKIT_NAMES:
        assert n in keys
    all_keys = {kb.name for p in o.parts.values() for kb in p.data.shape_keys.key_blocks}
    for p in shape_catalogue():
        assert (p.name in all_keys) or (f"{p.name}+" in all_keys and f"{p.name}-" in all_keys), p.name
    for obj in o.parts.values():
        assert obj.parent == o.armature and obj.modifiers["Armature"].object == o.armature
    assert len(o.armature.data.bones) == 64


def test_every_arkit_key_deforms(avatar_objs):
    head = avatar_objs.head
    kb = head.data.shape_keys.key_blocks
    rest = _eval(head)
    for n in ARKIT_NAMES:
        if n == "tongueOut":   # moves the tongue part, not the skin: see the next test
            continue
        kb[n].value = 1.0
        moved = np.linalg.norm(_eval(head) - rest, axis=1).max()
        kb[n].value = 0.0
        assert moved > 5e-4, f"{n} moves the head by only {moved * 1000:.3f} mm"


def test_tongue_out_moves_the_tongue(avatar_objs):
    t = avatar_objs.parts["tongue"]
    rest = _eval(t)
    t.data.shape_keys.key_blocks["tongueOut"].value = 1.0
    assert np.linalg.norm(_eval(t) - rest, axis=1).max() > 5e-3


def _pose_rotate(objs, bone, axis, degrees):
    pb = objs.armature.pose.bones[bone]
    pb.rotation_mode = "XYZ"
    rot = [0.0, 0.0, 0.0]
    rot["XYZ".index(axis)] = math.radians(degrees)
    pb.rotation_euler = rot


def test_jaw_bone_opens_the_mouth(avatar_objs):
    o = avatar_objs
    head, lower, upper = o.head, o.parts["teeth_lower"], o.parts["teeth_upper"]
    rest_head, rest_low, rest_up = _eval(head), _eval(lower), _eval(upper)
    front_mid = (np.abs(rest_head[:, 0]) < 0.01) & (rest_head[:, 1] < -0.09)
    chin = np.flatnonzero(front_mid)[np.argmin(rest_head[front_mid, 2])]
    _pose_rotate(o, "jaw", "X", 20)
    open_head, open_low, open_up = _eval(head), _eval(lower), _eval(upper)
    gap_rest = rest_up[:, 2].mean() - rest_low[:, 2].mean()
    gap_open = open_up[:, 2].mean() - open_low[:, 2].mean()
    assert gap_open > gap_rest + 0.005, "lower teeth must drop away from the upper teeth"
    assert np.abs(open_up - rest_up).max() < 1e-6, "upper teeth stay with the skull"
    assert open_head[chin, 2] < rest_head[chin, 2] - 0.005, "the chin drops"


def test_eye_bones_turn_the_eyes(avatar_objs):
    o = avatar_objs
    eye = o.parts["eye_L"]
    rest = _eval(eye)
    centre = rest.mean(0)
    gaze0 = rest[np.argmin(rest[:, 1])] - centre  # the pole facing forward (-Y) is the iris
    _pose_rotate(o, "eye.L", "X", 25)
    _pose_rotate(o, "eye.R", "X", 25)
    turned = _eval(eye)
    gaze1 = turned[np.argmin(rest[:, 1])] - turned.mean(0)
    angle = math.degrees(math.acos(np.dot(gaze0, gaze1) / np.linalg.norm(gaze0) / np.linalg.norm(gaze1)))
    assert 20 < angle < 30
    assert np.linalg.norm(turned.mean(0) - centre) < 5e-4, "the eye turns about its own centre"


def test_update_changes_shape_bones_and_colours(avatar_objs):
    o = avatar_objs
    before = _eval(o.head)
    eye_head0 = np.array(o.armature.data.bones["eye.L"].head_local)
    av = default_avatar()
    av.shape["eye_spacing"] = 1.0
    av.colors["skin"] = "#8d5524"
    update_avatar(o, av)
    after = _eval(o.head)
    assert np.linalg.norm(after - before, axis=1).max() > 2e-3
    eye_head1 = np.array(o.armature.data.bones["eye.L"].head_local)
    assert eye_head1[0] - eye_head0[0] > 1e-3, "eye bone follows the wider eye spacing"
    eye = _eval(o.parts["eye_L"]).mean(0)
    assert np.linalg.norm(eye - eye_head1) < 4e-3, "the eyeball stays on its bone"
    assert o.avatar().shape["eye_spacing"] == 1.0
    skin = next(m for m in o.head.data.materials if m.get("photo2avatar_slot") == "skin")
    assert np.allclose(skin.diffuse_color[:3], [c ** 2.2 for c in hex_to_rgb("#8d5524")], atol=0.02)


def _dominant_face_colour(png, bg):
    im = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    fg = im[np.abs(im.astype(int) - bg).sum(1) > 30]
    vals, counts = np.unique(fg, axis=0, return_counts=True)
    return vals[np.argmax(counts)], fg


def test_toon_render_is_centred_and_shows_the_skin_colour(avatar_objs, tmp_path):
    av = default_avatar()
    av.colors["skin"] = "#c68642"
    update_avatar(avatar_objs, av)
    (png,) = render_avatar(avatar_objs, tmp_path / "front.png", size=256)
    im = np.asarray(Image.open(png).convert("RGB"))
    assert im.shape == (256, 256, 3)
    bg = np.array(hex_to_rgb("#e9e6e1")) * 255
    fg = np.abs(im.astype(int) - bg).sum(2) > 30
    ys, xs = np.nonzero(fg)
    assert abs(xs.mean() - 128) < 8, "face centred horizontally"
    assert 0.25 < fg.mean() < 0.7
    colour, _ = _dominant_face_colour(png, bg)
    # the broad lit band shows colors.skin unchanged (Standard view transform)
    expect = np.array(hex_to_rgb("#c68642")) * 255
    assert np.abs(colour - expect).max() <= 3, (colour, expect)


def test_pbr_and_workbench_views(avatar_objs, tmp_path):
    looks.apply_look(avatar_objs, default_avatar(), "pbr")
    front = render_avatar(avatar_objs, tmp_path / "pbr.png", size=128, samples=4)[0]
    side = render_avatar(avatar_objs, tmp_path / "wb.png", size=128, engine="BLENDER_WORKBENCH",
                         view="three-quarter")[0]
    turn = render_avatar(avatar_objs, tmp_path / "turn.png", size=64, engine="BLENDER_WORKBENCH",
                         view="turntable", turntable_frames=4)
    assert [p.name for p in turn] == [f"turn_{i:03d}.png" for i in range(4)]
    a = np.asarray(Image.open(front).convert("RGB")).astype(int)
    b = np.asarray(Image.open(side).convert("RGB")).astype(int)
    assert a.std() > 10 and b.std() > 10
    t0, t2 = (np.asarray(Image.open(turn[i]).convert("L")).astype(int) for i in (0, 2))
    assert np.abs(t0 - t2).mean() > 3, "front and back of the turntable differ"
    assert not list(tmp_path.glob(".*tmp*"))


def test_transparent_render_and_neutral_expression(avatar_objs, tmp_path):
    o = avatar_objs
    o.head.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    (a,) = render_avatar(o, tmp_path / "neutral.png", size=128, transparent=True)
    assert o.head.data.shape_keys.key_blocks["jawOpen"].value == 1.0, "expression restored"
    (b,) = render_avatar(o, tmp_path / "open.png", size=128, transparent=True, neutral=False)
    ia, ib = np.asarray(Image.open(a)), np.asarray(Image.open(b))
    assert ia.shape[2] == 4 and ia[0, 0, 3] == 0 and ia[64, 64, 3] == 255
    assert np.abs(ia.astype(int) - ib.astype(int)).sum() > 0


def test_bad_render_arguments(avatar_objs, tmp_path):
    with pytest.raises(ValueError, match="unknown engine"):
        render_avatar(avatar_objs, tmp_path / "x.png", engine="OPENGL")
    with pytest.raises(ValueError, match="unknown view"):
        render_avatar(avatar_objs, tmp_path / "x.png", view="top")
    with pytest.raises(ValueError, match="unknown look"):
        looks.apply_look(avatar_objs, default_avatar(), "sketch")
    assert not (tmp_path / "x.png").exists()


def test_glb_reimports_with_shape_keys_and_armature(avatar_objs, tmp_path):
    names = {kb.name for kb in avatar_objs.head.data.shape_keys.key_blocks}
    path = export_glb(avatar_objs, tmp_path / "avatar.glb")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(path))
    meshes = [o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys]
    head = max(meshes, key=lambda o: len(o.data.vertices))
    got = {kb.name for kb in head.data.shape_keys.key_blocks}
    assert names - {"Basis"} <= got
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(arms) == 1 and {"jaw", "eye.L", "eye.R", "head", "neck01"} <= set(arms[0].data.bones.keys())


def test_blend_reopens_and_updates(avatar_objs, tmp_path):
    av = default_avatar()
    av.shape["nose_width"] = 0.7
    update_avatar(avatar_objs, av)
    path = save_blend(tmp_path / "avatar.blend")
    bpy.ops.wm.open_mainfile(filepath=str(path))
    objs = find_avatar(bpy.data.collections["Avatar"])
    assert objs.avatar().shape["nose_width"] == 0.7
    assert objs.head.data.shape_keys.key_blocks["nose_width+"].value == pytest.approx(0.7)
    av.shape["nose_width"] = -0.3
    update_avatar(objs, av)
    kb = objs.head.data.shape_keys.key_blocks
    assert kb["nose_width+"].value == 0.0 and kb["nose_width-"].value == pytest.approx(0.3)


def test_blender_mesh_equals_the_rig_model(scene, rig):
    """Every part, evaluated in Blender, equals the numpy blendshape model of rigs/."""
    from rigs.catalogue import target_weights
    rng = np.random.default_rng(7)
    av = default_avatar()
    for p in shape_catalogue():
        av.shape[p.name] = float(rng.uniform(p.min, p.max))
    objs = build_avatar(av, scene)
    bpy.context.view_layer.update()
    expected = rig.deformed(target_weights(av.shape))
    for name, obj in objs.parts.items():
        got = evaluated_vertices(obj)
        np.testing.assert_allclose(got, expected[rig.parts[name].vertex_ids], atol=2e-5, err_msg=name)


def test_render_shows_the_avatar_alone(avatar_objs, tmp_path):
    """Blender's startup file puts a 2 m cube and a light where avatars are built; the
    Python example in the README (build, then render) rendered the inside of that cube.
    The studio render hides what is not the avatar, and gives it back afterwards."""
    (clean,) = render_avatar(avatar_objs, tmp_path / "clean.png", size=96, engine="BLENDER_WORKBENCH")
    mesh = bpy.data.meshes.new("cube")
    import bmesh
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=2.0)
    bm.to_mesh(mesh)
    bm.free()
    cube = bpy.data.objects.new("Cube", mesh)
    bpy.context.scene.collection.objects.link(cube)
    lamp = bpy.data.objects.new("Light", bpy.data.lights.new("Light", "POINT"))
    bpy.context.scene.collection.objects.link(lamp)
    (busy,) = render_avatar(avatar_objs, tmp_path / "busy.png", size=96, engine="BLENDER_WORKBENCH")
    a = np.asarray(Image.open(clean).convert("RGB"), float)
    b = np.asarray(Image.open(busy).convert("RGB"), float)
    assert np.abs(a - b).mean() < 1.0
    assert not cube.hide_render and not lamp.hide_render
