"""Live capture: the bundled clip (``samples/live/face_clip.mp4``, the default avatar
performing known expressions, rendered by ``samples/make_live_clip.py``) drives the
capture process end to end, and the add-on records it as actions on the avatar.

MediaPipe under-reads expressions on toon renders (see test_retarget's round trip), so the
expression checks are about *when* each channel moves and in which direction, with
bounds taken from what the solve measures on the clip."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from inference.expression_track import OneEuroStream, one_euro

bpy = pytest.importorskip("bpy")

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "samples" / "live" / "face_clip.mp4"
TRUTH = json.loads((ROOT / "samples" / "live" / "face_clip.json").read_text())


def _live(*args, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "inference.live_capture", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def stream():
    """Every event of one unpaced run over the clip."""
    r = _live("--video", str(CLIP), "--no-pace")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""            # MediaPipe's native logs stay out of the person's terminal
    return [json.loads(line) for line in r.stdout.splitlines()]


def _frames(events):
    return [e for e in events if e["event"] == "frame"]


def _segment(channel):
    t = np.array(TRUTH["weights"][channel])
    return t > 0.05, t


def test_stream_shape_ready_frames_end(stream):
    assert stream[0]["event"] == "ready" and "jawOpen" in stream[0]["channels"]
    assert stream[-1] == {"event": "end", "reason": "video ended", "frames": TRUTH["frames"],
                          "missing": TRUTH["face"].count(False)}
    frames = _frames(stream)
    assert [f["frame"] for f in frames] == list(range(TRUTH["frames"]))
    t = np.array([f["t"] for f in frames])
    assert (np.diff(t) >= 0).all()                        # capture timestamps in order
    assert np.allclose([f["media_t"] for f in frames], np.arange(len(frames)) / TRUTH["fps"], atol=1e-3)
    assert all(0.0 <= v <= 1.0 for f in frames for v in f["weights"].values())


def test_frames_without_a_face_hold_the_last_pose_and_say_so(stream):
    frames = _frames(stream)
    missing = [i for i, seen in enumerate(TRUTH["face"]) if not seen]
    warnings = [e for e in stream if e["event"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["frame"] == missing[0] and "holding" in warnings[0]["message"]
    before = frames[missing[0] - 1]
    for i in missing:
        assert frames[i]["face"] is False
        assert frames[i]["weights"] == before["weights"] and frames[i]["head"] == before["head"]
    assert frames[missing[-1] + 1]["face"] is True


@pytest.mark.parametrize("channel,rise", [("jawOpen", 0.25), ("mouthSmileLeft", 0.1), ("eyeBlinkLeft", 0.04)])
def test_each_performed_expression_peaks_where_it_was_performed(stream, channel, rise):
    """The solved channel follows the performance (correlation) and rises above its level
    outside the segment; measured on the clip: jaw 0.45 (keyed 0.8), smile 0.2 (0.9),
    blink 0.09 (1.0)."""
    frames = _frames(stream)
    inside, truth = _segment(channel)
    face = np.array(TRUTH["face"])
    solved = np.array([f["weights"][channel] for f in frames])
    assert np.corrcoef(solved[face], truth[face])[0, 1] > 0.7
    assert solved[inside].max() > solved[~inside & face].max() + rise / 2
    assert solved[int(truth.argmax())] > rise


def test_head_turn_is_read_in_the_convention_the_retarget_keys(stream):
    """The clip turns the avatar's head by HeadYaw +0.35 rad; the stream says +0.35 (it said
    -0.35 before the solve's yaw and roll were put in the bone's convention), so a take
    of the avatar played back onto it turns the same way."""
    frames = _frames(stream)
    yaw = np.array([f["head"]["HeadYaw"] for f in frames])
    truth = np.array(TRUTH["head_yaw"])
    assert np.corrcoef(yaw, truth)[0, 1] > 0.9
    assert yaw[int(truth.argmax())] == pytest.approx(truth.max(), abs=0.1)
    assert np.abs(yaw[truth == 0]).max() < 0.06


def test_latency_is_reported_per_frame(stream):
    lat = np.array([f["latency_ms"] for f in _frames(stream)])
    assert (lat > 0).all() and np.isfinite(lat).all()


def test_one_euro_stream_is_the_offline_filter_sample_by_sample():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(0, 0.05, (200, 4)), axis=0)
    f = OneEuroStream(min_cutoff=2.0, beta=0.5)
    streamed = np.array([f(row, i / 60.0) for i, row in enumerate(x)])
    for c in range(4):
        np.testing.assert_allclose(streamed[:, c], one_euro(x[:, c], 60.0, 2.0, beta=0.5))
    assert np.std(np.diff(streamed, axis=0)) < np.std(np.diff(x, axis=0))     # it smooths


def test_missing_camera_is_exit_10_with_one_line():
    r = _live("--camera", "9")
    assert r.returncode == 10
    assert r.stderr.count("\n") == 1 and "camera 9 is missing or busy" in r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["event"] == "error"


@pytest.mark.parametrize("args,code,words", [
    (("--video", "nope.mp4"), 4, "no such file"),
    (("--smoothing", "2"), 2, "--smoothing"),
    (("--fps", "0"), 2, "--fps"),
    (("--camera", "0", "--video", "x.mp4"), 2, "not allowed with"),
])
def test_bad_live_options(args, code, words):
    r = _live(*args)
    assert r.returncode == code and words in r.stderr
    assert "Traceback" not in r.stderr


def test_not_a_video_is_an_input_error(tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"not a video at all")
    r = _live("--video", str(bad))
    assert r.returncode == 4 and "cannot open the video" in r.stderr


# -- the add-on side --------------------------------------------------------------------


@pytest.fixture
def avatar(scene):
    from blender_addon import addon
    from blender_addon.avatar_build import build_avatar
    from inference.avatar import default_avatar
    addon.register()
    scene.render.fps = 30
    objs = build_avatar(default_avatar(), scene)
    yield objs
    addon.unregister()


def _fcurves(id_data):
    act = id_data.animation_data.action
    return {(fc.data_path, fc.array_index): fc for fc in act.layers[0].strips[0].channelbag(
        id_data.animation_data.action_slot).fcurves}


def test_recorded_take_from_the_clip_plays_back_on_the_avatar(avatar):
    """Start live on the clip with Record (headless: the whole clip, then keyed): the head's
    ARKit keys and the head bone get one keyframe per scene frame, and playing the scene
    back opens the jaw where the clip opened it and turns the head the way it turned."""
    assert bpy.ops.photo2avatar.live_start(source_kind="VIDEO", filepath=str(CLIP), record=True) == {"FINISHED"}
    scene = bpy.context.scene
    key = avatar.head.data.shape_keys
    curves = _fcurves(key)
    jaw = curves[('key_blocks["jawOpen"].value', 0)]
    assert len(jaw.keyframe_points) == pytest.approx(TRUTH["frames"], abs=2)      # 30 fps clip, 30 fps scene
    bone = _fcurves(avatar.armature)
    assert ('pose.bones["head"].rotation_euler', 1) in bone
    peak = int(np.argmax(TRUTH["weights"]["jawOpen"]))
    scene.frame_set(scene.frame_start + peak)
    assert key.key_blocks["jawOpen"].value > 0.25
    scene.frame_set(scene.frame_start + 5)
    assert key.key_blocks["jawOpen"].value < 0.1
    scene.frame_set(scene.frame_start + int(np.argmax(TRUTH["head_yaw"])))
    assert avatar.armature.pose.bones["head"].rotation_euler[1] > 0.2
    # the teeth and the brows follow too
    assert avatar.parts["teeth_lower"].data.shape_keys.animation_data.action is not None


def test_live_frames_pose_the_avatar_and_recording_starts_mid_take(avatar):
    """Without recording the avatar follows the newest frame; Record started mid-take keys
    only what came after, from the scene's current frame."""
    from blender_addon import preferences
    from blender_addon.live_session import LiveSession
    s = LiveSession(avatar, preferences.backend_python(), video=CLIP, paced=False)
    kb = avatar.head.data.shape_keys.key_blocks
    deadline = time.monotonic() + 60
    while s.frames_seen < 20 and time.monotonic() < deadline:
        s.poll()
        time.sleep(0.002)
    assert s.state == "live" and s.frames_seen >= 20
    assert kb["jawOpen"].value == pytest.approx(s.last_frame["weights"]["jawOpen"], abs=1e-6)
    assert kb["mouthSmileLeft"].value == pytest.approx(s.last_frame["weights"]["mouthSmileLeft"], abs=1e-6)
    bpy.context.scene.frame_current = 40
    s.start_recording()
    assert s.wait(60) == "ended"
    assert not s.recording and s.actions              # the end of the source keyed the take
    jaw = _fcurves(avatar.head.data.shape_keys)[('key_blocks["jawOpen"].value', 0)]
    first = jaw.keyframe_points[0].co[0]
    assert first == 40
    assert len(jaw.keyframe_points) < TRUTH["frames"] - 15
    s.stop()


def test_capture_killed_mid_take_keeps_what_was_recorded(avatar):
    from blender_addon import preferences
    from blender_addon.live_session import LiveSession
    s = LiveSession(avatar, preferences.backend_python(), video=CLIP, paced=True)
    s.start_recording()
    deadline = time.monotonic() + 60
    while len(s.take) < 15 and time.monotonic() < deadline:
        s.poll()
        time.sleep(0.005)
    os.kill(s.proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while s.running() and time.monotonic() < deadline:
        s.poll()
        time.sleep(0.005)
    assert s.state == "error" and "stopped unexpectedly" in s.message
    jaw = _fcurves(avatar.head.data.shape_keys)[('key_blocks["jawOpen"].value', 0)]
    assert len(jaw.keyframe_points) >= 15
    s.stop()


def test_start_live_without_a_camera_reports_the_error(avatar):
    """Headless Start live on a camera that is not there: the operator is cancelled with
    the capture's one-line reason, and the avatar is unchanged (no action)."""
    with pytest.raises(RuntimeError, match="camera 7 is missing or busy"):
        bpy.ops.photo2avatar.live_start(source_kind="CAMERA", camera=7)
    assert avatar.head.data.shape_keys.animation_data is None or \
        avatar.head.data.shape_keys.animation_data.action is None


def test_ui_timer_follows_until_the_source_ends(avatar):
    """The UI's timer callback: it asks to run again every 1/60 s while the capture is live
    and stops itself when the clip ends (the panel then shows why)."""
    from blender_addon import live_ops, preferences
    from blender_addon.live_session import LiveSession
    s = LiveSession(avatar, preferences.backend_python(), video=CLIP, paced=False)
    live_ops._LIVE["session"] = s
    try:
        intervals = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            nxt = live_ops._tick()
            intervals.append(nxt)
            if nxt is None:
                break
            time.sleep(0.002)
        assert intervals[-1] is None and set(intervals[:-1]) == {live_ops.TICK_S}
        assert s.state == "ended" and "video ended" in s.message and s.frames_seen == TRUTH["frames"]
    finally:
        live_ops.stop_all()


def test_a_character_with_arkit_named_keys_records_the_take(scene):
    """Not an avatar: a mesh whose shape keys are named the Live Link Face way (PascalCase)
    and the _L/_R way follows the capture, and its take is keyed on those keys."""
    from blender_addon import addon
    addon.register()
    try:
        bpy.ops.mesh.primitive_uv_sphere_add(segments=16, ring_count=8)
        obj = bpy.context.active_object
        obj.name = "Character"
        obj.shape_key_add(name="Basis")
        for n in ("JawOpen", "mouthSmile_L", "mouthSmile_R", "EyeBlinkLeft", "Wrinkle"):
            kb = obj.shape_key_add(name=n)
            for v in kb.data:
                v.co.z += 0.1
        scene.render.fps = 30
        assert bpy.ops.photo2avatar.live_start(source_kind="VIDEO", filepath=str(CLIP), record=True,
                                               target_object="Character") == {"FINISHED"}
        curves = _fcurves(obj.data.shape_keys)
        assert {p for p, _ in curves} == {f'key_blocks["{n}"].value' for n in
                                          ("JawOpen", "mouthSmile_L", "mouthSmile_R", "EyeBlinkLeft")}
        scene.frame_set(scene.frame_start + int(np.argmax(TRUTH["weights"]["jawOpen"])))
        assert obj.data.shape_keys.key_blocks["JawOpen"].value > 0.25
        with pytest.raises(RuntimeError, match="no shape keys named like ARKit"):
            bpy.ops.mesh.primitive_cube_add()
            bpy.context.active_object.shape_key_add(name="Basis")
            bpy.ops.photo2avatar.live_start(source_kind="VIDEO", filepath=str(CLIP),
                                            target_object=bpy.context.active_object.name)
    finally:
        addon.unregister()


def test_record_and_stop_buttons_on_a_running_capture(avatar):
    """Record, then Record again (Stop recording) keys what came between; Stop live ends
    the capture; both buttons are greyed out when nothing runs."""
    from blender_addon import live_ops, preferences
    from blender_addon.live_session import LiveSession
    assert not bpy.ops.photo2avatar.live_record.poll() and not bpy.ops.photo2avatar.live_stop.poll()
    s = LiveSession(avatar, preferences.backend_python(), video=CLIP, paced=True)
    live_ops._LIVE["session"] = s
    try:
        deadline = time.monotonic() + 60
        while s.frames_seen < 5 and time.monotonic() < deadline:
            s.poll()
            time.sleep(0.005)
        assert bpy.ops.photo2avatar.live_record() == {"FINISHED"} and s.recording
        while len(s.take) < 20 and time.monotonic() < deadline:
            s.poll()
            time.sleep(0.005)
        assert bpy.ops.photo2avatar.live_record() == {"FINISHED"} and not s.recording
        jaw = _fcurves(avatar.head.data.shape_keys)[('key_blocks["jawOpen"].value', 0)]
        assert 18 <= len(jaw.keyframe_points) < TRUTH["frames"]      # 20 frames, resampled to the scene rate
        assert bpy.ops.photo2avatar.live_stop() == {"FINISHED"} and not s.running()
        assert not bpy.ops.photo2avatar.live_stop.poll()
    finally:
        live_ops.stop_all()
