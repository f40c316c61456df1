"""Expression retargeting, first slice: Live Link Face CSV, name mapping, filtering,
and the action playing on the avatar."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from inference.errors import InputError
from inference.expression_track import (LLF_VALUE_COLUMNS, ExpressionTrack, one_euro, parse_timecode,
                                        read_live_link_csv)
from inference.name_mapping import canonical_arkit, load_table, map_names, save_table
from rigs.arkit import ARKIT_NAMES


def write_llf(path, n=90, fps=60, jaw=None, bad_line=None, drop=()):
    cols = [c for c in LLF_VALUE_COLUMNS if c not in drop]
    lines = [",".join(["Timecode", "BlendShapeCount", *cols])]
    for i in range(n):
        vals = {c: 0.0 for c in cols}
        if "JawOpen" in vals:
            vals["JawOpen"] = jaw[i] if jaw is not None else 0.5 + 0.5 * np.sin(i / 10)
        vals["HeadYaw"] = 0.2 * np.sin(i / 20)
        sec, fr = divmod(i, fps)
        tc = f"13:04:{18 + sec:02d}:{fr:02d}.250"
        row = [tc, "61", *(f"{vals[c]:.4f}" for c in cols)]
        if bad_line is not None and i == bad_line:
            row[5] = "oops"
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_real_column_set_is_parsed(tmp_path):
    assert len(LLF_VALUE_COLUMNS) == 61
    track = read_live_link_csv(write_llf(tmp_path / "take.csv"))
    assert track.source_fps == 60 and track.n_frames == 90
    assert set(track.weights) == set(ARKIT_NAMES)
    np.testing.assert_allclose(track.times[:3], [0, 1 / 60, 2 / 60], atol=1e-9)
    assert track.weights["jawOpen"].max() > 0.9 and "HeadYaw" in track.rotations


@pytest.mark.parametrize("kwargs, words", [
    ({"drop": ("JawOpen", "TongueOut")}, "missing blendshape columns: jawOpen, tongueOut"),
    ({"bad_line": 4}, "line 6 has a value that is not a number"),
])
def test_bad_csv_gives_clear_errors(tmp_path, kwargs, words):
    with pytest.raises(InputError, match=words):
        read_live_link_csv(write_llf(tmp_path / "bad.csv", **kwargs))


def test_empty_and_foreign_csv(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        read_live_link_csv(tmp_path / "e.csv")
    (tmp_path / "f.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="Timecode"):
        read_live_link_csv(tmp_path / "f.csv")


def test_timecode():
    assert parse_timecode("00:00:01:30.5", 60) == pytest.approx(1.5 + 0.5 / 60)
    with pytest.raises(ValueError):
        parse_timecode("1.2.3", 60)


def test_name_mapping_conventions_and_table_round_trip(tmp_path):
    for name in ("eyeBlinkLeft", "EyeBlinkLeft", "eyeBlink_L", "EYE_BLINK_LEFT", "eyeblink.l",
                 "Faceit_eyeBlinkLeft"):
        assert canonical_arkit(name) == "eyeBlinkLeft", name
    assert canonical_arkit("_neutral") is None and canonical_arkit("HeadYaw") is None
    assert canonical_arkit("mouthLeft") == "mouthLeft"
    table = {"Blink_Left_Custom": "eyeBlinkLeft", "AA": "jawOpen"}
    save_table(table, tmp_path / "map.json")
    assert load_table(tmp_path / "map.json") == table
    assert map_names(["aa", "EyeWideRight", "nothing"], table) == {"aa": "jawOpen", "EyeWideRight": "eyeWideRight"}
    with pytest.raises(ValueError):
        save_table({"x": "notAShape"}, tmp_path / "bad.json")


def test_filter_resample_calibrate():
    rng = np.random.default_rng(0)
    t = np.arange(120) / 60
    clean = 0.5 + 0.4 * np.sin(2 * np.pi * 0.25 * t)
    noisy = clean + rng.normal(0, 0.05, len(t))
    smooth = one_euro(noisy, 60, min_cutoff=2.0)
    assert np.abs(smooth - clean)[20:].mean() < np.abs(noisy - clean)[20:].mean() * 0.7
    tr = ExpressionTrack(t, {"jawOpen": noisy}, {}, 60.0)
    assert tr.resampled(30).n_frames == 60
    cal = tr.calibrated(neutral_frame=0, gain={"jawOpen": 2.0})
    assert cal.weights["jawOpen"][0] == 0.0 and cal.weights["jawOpen"].max() <= 1.0


bpy = pytest.importorskip("bpy")


def test_action_plays_on_the_avatar(scene, tmp_path):
    from blender_addon.avatar_build import build_avatar, evaluated_vertices
    from blender_addon.retarget import apply_track
    from inference.avatar import default_avatar
    objs = build_avatar(default_avatar(), scene)
    jaw = np.r_[np.zeros(30), np.ones(30), np.zeros(30)]
    track = read_live_link_csv(write_llf(tmp_path / "take.csv", jaw=jaw))
    actions = apply_track(objs, track, fps=30)
    assert actions and scene.frame_end == 45
    kb = objs.head.data.shape_keys.key_blocks["jawOpen"]
    scene.frame_set(5)
    assert kb.value == pytest.approx(0.0, abs=1e-6)
    closed = evaluated_vertices(objs.head)
    scene.frame_set(23)
    assert kb.value == pytest.approx(1.0, abs=1e-6)
    opened = evaluated_vertices(objs.head)
    assert np.linalg.norm(opened - closed, axis=1).max() > 0.01, "the mouth opens on the played frame"
    head_rot = objs.armature.pose.bones["head"].rotation_euler[1]
    assert head_rot == pytest.approx(0.2 * np.sin(((23 - 1) * 2) / 20), abs=1e-3)


def test_retarget_cli(tmp_path):
    from inference.avatar import default_avatar, save_avatar
    save_avatar(default_avatar(), tmp_path / "avatar.json")
    csv_path = write_llf(tmp_path / "take.csv")
    out = tmp_path / "anim.blend"
    r = subprocess.run([sys.executable, "-m", "blender_addon.cli", "retarget", str(csv_path), "--avatar",
                        str(tmp_path / "avatar.json"), "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.exists()
    bad = write_llf(tmp_path / "bad.csv", drop=("JawOpen",))
    r = subprocess.run([sys.executable, "-m", "blender_addon.cli", "retarget", str(bad), "--avatar",
                        str(tmp_path / "avatar.json"), "-o", str(tmp_path / "x.blend")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 4 and "missing blendshape columns: jawOpen" in r.stderr
    assert not (tmp_path / "x.blend").exists()


def test_synthetic_round_trip_from_rendered_frames(scene, tmp_path):
    """Render the avatar with known ARKit weights, read the frames back with MediaPipe and
    solve. MediaPipe under-reads expressions on toon renders (a full blink moves its
    upper-lid point 4.6 mm where the rig moves 12 mm), so the bounds are the measured
    behaviour: small error overall, the driven channels rise clearly above neutral."""
    from blender_addon.avatar_build import build_avatar
    from blender_addon.render import render_avatar
    from inference.avatar import default_avatar
    from inference.expression_solve import track_from_frames
    objs = build_avatar(default_avatar(), scene)
    kb = objs.head.data.shape_keys.key_blocks
    truth = [{}, {"jawOpen": 0.6}, {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
             {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8}]
    for i, t in enumerate(truth):
        for n in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight"):
            kb[n].value = t.get(n, 0.0)
        render_avatar(objs, tmp_path / f"f{i:03d}.png", size=512, neutral=False)
    track = track_from_frames(tmp_path)
    w = track.weights
    err = np.mean([abs(w[k][i] - t.get(k, 0.0)) for i, t in enumerate(truth) for k in w])
    assert err < 0.05, err
    assert w["jawOpen"][1] > w["jawOpen"][0] + 0.15
    assert w["eyeBlinkLeft"][2] > w["eyeBlinkLeft"][0] + 0.05
    assert w["mouthSmileLeft"][3] + w["mouthSmileRight"][3] > w["mouthSmileLeft"][0] + w["mouthSmileRight"][0] + 0.1


def _source_rig(scene, names, n_frames=20):
    """Another character: a mesh whose shape keys (named the other tool's way) are keyed."""
    import bpy
    me = bpy.data.meshes.new("src")
    me.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new("OtherRig", me)
    scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis")
    for n in names:
        kb = obj.shape_key_add(name=n)
        for f in range(1, n_frames + 1):
            kb.value = (f - 1) / (n_frames - 1)
            kb.keyframe_insert("value", frame=f)
    scene.frame_start, scene.frame_end = 1, n_frames
    return obj


def test_another_rigs_shape_keys_retarget_through_the_name_mapping(scene, tmp_path):
    from blender_addon.avatar_build import build_avatar
    from blender_addon.retarget import apply_track, track_from_shape_keys
    from inference.avatar import default_avatar
    from inference.name_mapping import save_table
    src = _source_rig(scene, ["EyeBlink_L", "Faceit_jawOpen", "MySmile"])
    track = track_from_shape_keys(src)
    assert set(track.weights) == {"eyeBlinkLeft", "jawOpen"} and track.n_frames == 20
    np.testing.assert_allclose(track.weights["jawOpen"], np.linspace(0, 1, 20), atol=1e-6)
    save_table({"MySmile": "mouthSmileLeft"}, tmp_path / "map.json")
    from inference.name_mapping import load_table
    track = track_from_shape_keys(src, load_table(tmp_path / "map.json"))
    assert "mouthSmileLeft" in track.weights
    scene.render.fps = 24
    objs = build_avatar(default_avatar(), scene)
    apply_track(objs, track.calibrated(gain={"jawOpen": 0.5}), fps=24)
    scene.frame_set(20)
    keys = objs.head.data.shape_keys.key_blocks
    assert keys["jawOpen"].value == pytest.approx(0.5, abs=1e-3)
    assert keys["eyeBlinkLeft"].value == pytest.approx(1.0, abs=1e-3)
    assert keys["mouthSmileLeft"].value == pytest.approx(1.0, abs=1e-3)


def test_retarget_cli_from_a_blend_with_gains(scene, tmp_path):
    import bpy
    from inference.avatar import default_avatar, save_avatar
    _source_rig(scene, ["jawOpen"])
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "src.blend"), copy=True)
    save_avatar(default_avatar(), tmp_path / "avatar.json")
    (tmp_path / "gains.json").write_text('{"JawOpen": {"gain": 0.5, "offset": 0.1}}')
    out = tmp_path / "anim.blend"
    cmd = [sys.executable, "-m", "blender_addon.cli", "retarget", str(tmp_path / "src.blend"), "--avatar",
           str(tmp_path / "avatar.json"), "-o", str(out), "--smoothing", "0"]
    r = subprocess.run(cmd + ["--source-object", "OtherRig", "--gains", str(tmp_path / "gains.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    bpy.ops.wm.open_mainfile(filepath=str(out))
    head = next(o for o in bpy.data.objects if o.name.endswith("_head"))
    bpy.context.scene.frame_set(bpy.context.scene.frame_end)
    assert head.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(0.6, abs=0.02)
    r = subprocess.run(cmd + ["--force"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--source-object" in r.stderr
    (tmp_path / "bad.json").write_text('{"notAChannel": 2}')
    r = subprocess.run(cmd + ["--force", "--source-object", "OtherRig", "--gains", str(tmp_path / "bad.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 4 and "not an ARKit channel" in r.stderr


@pytest.mark.parametrize("option, value, words", [
    ("--fps", "0", "at least 1"), ("--fps", "-5", "at least 1"),
    ("--smoothing", "5", "from 0 to 1"), ("--smoothing", "nan", "from 0 to 1"),
])
def test_retarget_options_out_of_range_are_usage_errors(tmp_path, option, value, words):
    """A negative frame rate crashed deep in the baking and a smoothing of 5 was taken
    silently; both are refused up front, nothing written."""
    out = tmp_path / "anim.blend"
    r = subprocess.run([sys.executable, "-m", "blender_addon.cli", "retarget", str(tmp_path / "any.csv"),
                        "--avatar", str(tmp_path / "avatar.json"), "-o", str(out), option, value],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
