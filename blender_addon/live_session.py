"""A live capture take in Blender: the capture process, the avatar following it, the recording.

:class:`LiveSession` starts ``python -m inference.live_capture`` (the backend Python; no
MediaPipe in Blender's own), a reader thread queues its JSON lines, and :meth:`poll`,
called from a timer on the main thread, applies the newest frame to the avatar (ARKit
shape-key values on every part that has them, head rotation on the armature) and, while
recording, keeps every frame. A take becomes an action through the retarget's
:func:`~blender_addon.retarget.apply_track` when recording stops, when the source ends or
when the capture process dies: what was recorded is never lost.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import bpy
import numpy as np

from inference.expression_track import ExpressionTrack
from inference.name_mapping import map_names

from .avatar_build import AvatarObjects
from .backend_client import PACKAGE_ROOT, BackendError, backend_env
from .retarget import BONE_CHANNELS, apply_track


class LiveSession:
    """One capture process driving one avatar. ``state``: starting, live, ended, error."""

    def __init__(self, objs: AvatarObjects, python: str, camera: int | None = None,
                 video: str | os.PathLike | None = None, fps: float = 30.0, smoothing: float = 0.3,
                 log_path: str | os.PathLike | None = None, paced: bool = True):
        self.objs = objs
        self.state, self.message = "starting", "starting the capture"
        self.error_code = 0
        self.frames_seen = self.frames_without_face = 0
        self.latency_ms = 0.0
        self.last_frame: dict | None = None      # the newest frame applied to the avatar
        self.fps_measured = 0.0
        self.recording = False
        self.take: list[dict] = []
        self.actions: list[bpy.types.Action] = []
        self._queue: queue.Queue = queue.Queue()
        self._arrivals: list[float] = []
        self._targets = _shape_key_targets(objs)
        cmd = [python, "-m", "inference.live_capture", "--fps", str(fps), "--smoothing", str(smoothing)]
        self._avatar_file = None
        if "photo2avatar" in objs.collection:      # the solve assumes the avatar's identity
            self._avatar_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            json.dump(json.loads(objs.collection["photo2avatar"]), self._avatar_file)
            self._avatar_file.close()
            cmd += ["--avatar", self._avatar_file.name]
        cmd += ["--video", str(Path(video).resolve())] if video else ["--camera", str(camera or 0)]
        if not paced:
            cmd.append("--no-pace")
        if os.path.isabs(python) and not Path(python).is_file():
            raise BackendError(f"the backend Python {python} does not exist; set it in the add-on preferences")
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                         env=backend_env(), cwd=str(PACKAGE_ROOT), text=True,
                                         encoding="utf-8", bufsize=1)
        except OSError as e:
            raise BackendError(f"cannot start the capture with {python} ({e.strerror})") from None
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        threading.Thread(target=self._read, daemon=True).start()

    # -- the capture process --
    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self._queue.put(json.loads(line))
            except ValueError:
                continue
        self._queue.put({"event": "closed", "code": self.proc.wait()})

    def running(self) -> bool:
        return self.state in ("starting", "live")

    def poll(self) -> str:
        """Take in what arrived: apply the newest frame, record all of them; the state."""
        newest = None
        while True:
            try:
                ev = self._queue.get_nowait()
            except queue.Empty:
                break
            kind = ev.get("event")
            if kind == "frame":
                newest = ev
                self._count(ev)
                if self.recording:
                    self.take.append(ev)
            elif kind == "ready":
                self.state, self.message = "live", f"live from {ev.get('source')}"
            elif kind == "warning":
                self.message = str(ev.get("message", ""))
            elif kind == "error":
                self.state, self.message, self.error_code = "error", str(ev.get("message")), int(ev.get("code", 1))
            elif kind == "end":
                if self.state != "error":
                    self.state, self.message = "ended", f"capture ended ({ev.get('reason')})"
            elif kind == "closed":
                code = ev.get("code", 0)
                if self.state in ("starting", "live"):
                    self.state, self.error_code = "error", code or 1
                    self.message = f"the capture process stopped unexpectedly (exit code {code})"
        if newest is not None:
            apply_frame(self.objs, newest, self._targets)
            self.last_frame = newest
        if not self.running() and self.recording:
            self.stop_recording()
        return self.state

    def _count(self, ev: dict) -> None:
        self.frames_seen += 1
        self.frames_without_face += not ev.get("face", True)
        self.latency_ms = float(ev.get("latency_ms", 0.0))
        now = time.monotonic()
        self._arrivals = [t for t in self._arrivals if now - t < 1.0] + [now]
        self.fps_measured = float(len(self._arrivals))

    # -- recording --
    def start_recording(self) -> None:
        self.take, self.recording = [], True

    def stop_recording(self, start_frame: int | None = None) -> list[bpy.types.Action]:
        """Key the take onto the avatar (from ``start_frame``, default the scene's current
        frame); returns the actions (none for an empty take)."""
        self.recording = False
        track = take_track(self.take)
        self.take = []
        if track is None:
            return []
        scene = bpy.context.scene
        start = scene.frame_current if start_frame is None else start_frame
        self.actions = apply_track(self.objs, track, start_frame=start, name="live_take")
        return self.actions

    def stop(self, timeout: float = 3.0) -> None:
        """End the capture (what arrived is applied and a running recording is keyed)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:   # drain up to the end line
            self.poll()
            time.sleep(0.005)
        if self.state in ("starting", "live"):
            self.state, self.message = "ended", "stopped"
        if self.recording:
            self.stop_recording()
        if self._avatar_file is not None:
            try:
                os.unlink(self._avatar_file.name)
            except OSError:
                pass

    def wait(self, timeout: float = 60.0) -> str:
        """Headless: poll until the source ends (or ``timeout``); returns the state."""
        end = time.monotonic() + timeout
        while self.poll() in ("starting", "live"):
            if time.monotonic() > end:
                raise BackendError(f"the capture did not end within {timeout:.0f} s")
            time.sleep(0.005)
        return self.state


def character_objects(obj: bpy.types.Object) -> AvatarObjects:
    """Another character's mesh as a live target: its shape keys whose names map onto
    ARKit's (``eyeBlinkLeft``, ``EyeBlinkLeft``, ``eyeBlink_L``...) follow the capture; its
    bones do not (their axes are the character's own)."""
    from inference.errors import UserError
    key = obj.data.shape_keys if obj.type == "MESH" else None
    if key is None or not map_names([kb.name for kb in key.key_blocks[1:]]):
        raise UserError(f"{obj.name!r} has no shape keys named like ARKit's (jawOpen, eyeBlinkLeft, ...)")
    coll = obj.users_collection[0] if obj.users_collection else bpy.context.scene.collection
    return AvatarObjects(coll, None, {obj.name: obj}, {})


def _shape_key_targets(objs: AvatarObjects) -> list[tuple[bpy.types.Key, dict[str, str]]]:
    """Every shape-key block of the target with {ARKit name: its key block's name}."""
    out = []
    for obj in [*objs.parts.values(), *objs.assets.values()]:
        key = obj.data.shape_keys if obj.type == "MESH" else None
        if key is not None:
            names = {a: b for b, a in map_names([kb.name for kb in key.key_blocks[1:]]).items()}
            if names:
                out.append((key, names))
    return out


def apply_frame(objs: AvatarObjects, ev: dict, targets=None) -> None:
    """Pose the target as one live frame: shape-key values and (an avatar's) head bone."""
    for key, names in targets if targets is not None else _shape_key_targets(objs):
        kbs = key.key_blocks
        for n, v in ev["weights"].items():
            block = names.get(n)
            if block is not None:
                kbs[block].value = v
    if objs.armature is None:
        return
    pose = objs.armature.pose.bones
    for ch, v in ev.get("head", {}).items():
        bone, axis = BONE_CHANNELS[ch]
        pb = pose[bone]
        pb.rotation_mode = "XYZ"
        pb.rotation_euler[axis] = v


def take_track(frames: list[dict]) -> ExpressionTrack | None:
    """The recorded frames as a track (times from the source, starting at 0)."""
    if not frames:
        return None
    t = np.array([f["media_t"] for f in frames], np.float64)
    t -= t[0]
    names = list(frames[0]["weights"])
    weights = {n: np.array([f["weights"][n] for f in frames]) for n in names}
    rots = {n: np.array([f["head"].get(n, 0.0) for f in frames]) for n in frames[0].get("head", {})}
    fps = 1.0 / float(np.median(np.diff(t))) if len(t) > 1 and np.median(np.diff(t)) > 0 else 30.0
    return ExpressionTrack(t, weights, rots, fps)
