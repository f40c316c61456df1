"""Live face capture: camera or video frames -> ARKit-52 weights and head pose, streamed
as JSON lines (no bpy).

``python -m inference.live_capture [--camera N | --video FILE]`` (also ``photo2avatar live``)
reads frames with ``cv2.VideoCapture``, finds the face with MediaPipe in tracking mode
(the detector runs only when the track is lost), solves the weights with the project's
:class:`~inference.expression_solve.ExpressionSolver`, filters every channel with a
streaming One Euro filter and writes one line per frame on stdout::

    {"event": "frame", "frame": 12, "t": 1764763200.123, "media_t": 0.4, "face": true,
     "latency_ms": 14.2, "weights": {"jawOpen": 0.31, ...},
     "head": {"HeadYaw": 0.02, "HeadPitch": -0.01, "HeadRoll": 0.0}}

``t`` is the wall-clock time the frame was captured (``time.time()``), ``media_t`` its time
in the source, ``latency_ms`` capture to coefficients. Before the frames comes
``{"event": "ready", ...}``; a run of frames without a face is announced once with
``{"event": "warning", ...}`` and those frames hold the last pose (``"face": false``); the
stream ends with ``{"event": "end", "reason": ...}``. A camera that is missing or busy is
exit code 10 with one line on stderr (and an ``error`` event on stdout for the add-on).

Head rotations are relative to the first frame with a face, as in a video retarget.
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.errors import CameraError, InputError, UserError
from inference.expression_solve import head_rotation
from inference.expression_track import OneEuroStream, min_cutoff_for
from inference.native_io import silenced_fd

HEAD_CHANNELS = ("HeadYaw", "HeadPitch", "HeadRoll")


@dataclass
class LiveFrame:
    """One solved frame."""
    frame: int
    t: float                     # capture wall-clock time (s)
    media_t: float               # time in the source (s)
    face: bool
    weights: dict[str, float]
    head: dict[str, float]       # radians, relative to the first frame with a face
    latency_ms: float

    def to_json(self) -> str:
        return json.dumps({"event": "frame", "frame": self.frame, "t": round(self.t, 4),
                           "media_t": round(self.media_t, 4), "face": self.face,
                           "latency_ms": round(self.latency_ms, 2),
                           "weights": {k: round(v, 4) for k, v in self.weights.items()},
                           "head": {k: round(v, 5) for k, v in self.head.items()}})


class LiveSolver:
    """Per-frame solve with state: tracking detector, warm-started solver, filter, held pose."""

    def __init__(self, shape: dict[str, float] | None = None, smoothing: float = 0.3):
        from inference.expression_solve import ExpressionSolver
        from inference.landmarks import LandmarkDetector
        self.solver = ExpressionSolver(shape)
        self.channels = self.solver.channels
        self.detector = LandmarkDetector(max_faces=1, tracking=True)
        # the first detection and the first solve (SciPy's imports) cost ~0.3 s and ~0.5 s:
        # spend them before the stream, the solve on the rig's own landmarks
        self.detector.detect(np.zeros((64, 64, 3), np.uint8))
        self.solver.solve(self.solver.x0 * [100.0, 100.0, 100.0] + [320.0, 240.0, 0.0])
        self.solver.reset()
        self.filter = OneEuroStream(min_cutoff_for(smoothing)) if smoothing > 0 else None
        self._rest: np.ndarray | None = None
        self._last: tuple[dict, dict] | None = None
        self.frames = self.missing = 0

    def process(self, rgb: np.ndarray, t_capture: float, media_t: float) -> LiveFrame:
        """Solve one RGB frame captured at ``t_capture`` (wall clock); a frame without a
        face holds the last pose (all zero before the first face)."""
        faces = self.detector.detect(rgb)
        i = self.frames
        self.frames += 1
        if not faces:
            self.missing += 1
            w, h = self._last or ({n: 0.0 for n in self.channels}, {n: 0.0 for n in HEAD_CHANNELS})
            return LiveFrame(i, t_capture, media_t, False, w, h, (time.time() - t_capture) * 1000.0)
        fs = self.solver.solve(faces[0].points)
        ypr = head_rotation(fs.yaw_pitch_roll)
        if self._rest is None:
            self._rest = ypr
        x = np.concatenate([fs.weights, ypr - self._rest])
        if self.filter is not None:
            x = self.filter(x, media_t)
        c = len(self.channels)
        weights = {n: float(np.clip(v, 0.0, 1.0)) for n, v in zip(self.channels, x[:c])}
        head = {n: float(v) for n, v in zip(HEAD_CHANNELS, x[c:])}
        self._last = (weights, head)
        return LiveFrame(i, t_capture, media_t, True, weights, head, (time.time() - t_capture) * 1000.0)

    def close(self) -> None:
        self.detector.close()


def open_source(camera: int | None = None, video: str | Path | None = None, fps: float = 30.0):
    """An opened ``cv2.VideoCapture`` of a camera index or a video file, and its frame rate.
    A camera that cannot be opened is a :class:`CameraError`; a video an InputError."""
    import cv2
    if video is not None:
        path = Path(video)
        if not path.is_file():
            raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
        with silenced_fd(2):
            cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise InputError(f"{path}: cannot open the video")
        return cap, float(cap.get(cv2.CAP_PROP_FPS) or fps)
    index = 0 if camera is None else camera
    with silenced_fd(2):        # OpenCV's backends log each probe they try on fd 2
        cap = cv2.VideoCapture(index)
        ok = cap.isOpened()
        if ok:
            cap.set(cv2.CAP_PROP_FPS, fps)
            ok, _ = cap.read()      # a busy camera opens but delivers nothing
    if not ok:
        cap.release()
        raise CameraError(f"camera {index} is missing or busy (no such device, or another program uses it); "
                          "use --camera N for another one, or --video FILE")
    return cap, fps


def frames(cap, rate: float, paced: bool, is_camera: bool):
    """Yield (capture wall-clock time, media time, RGB frame) until the source ends.
    ``paced``: a video is read no faster than ``rate`` frames a second, like a camera."""
    import cv2
    start, i = time.monotonic(), 0
    while True:
        if paced and not is_camera:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        ok, bgr = cap.read()
        t = time.time()
        if not ok:
            return
        media_t = (time.monotonic() - start) if is_camera else i / rate
        yield t, media_t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        i += 1


def run(camera: int | None, video: str | None, fps: float, smoothing: float, shape: dict | None,
        paced: bool, out=None, max_frames: int = 0) -> dict:
    """Stream the capture as JSON lines on ``out`` (default stdout); returns the end event."""
    out = out or sys.stdout

    def emit(obj_or_line):
        out.write((obj_or_line if isinstance(obj_or_line, str) else json.dumps(obj_or_line)) + "\n")
        out.flush()

    cap, rate = open_source(camera, video, fps)
    if camera is not None or video is None:
        rate = fps
    solver = LiveSolver(shape, smoothing)
    reason = "video ended" if video is not None else "camera stopped"
    emit({"event": "ready", "source": str(video) if video is not None else f"camera {camera or 0}",
          "fps": rate, "channels": list(solver.channels), "head": list(HEAD_CHANNELS)})
    holding = False
    try:
        for t, media_t, rgb in frames(cap, rate, paced, video is None):
            f = solver.process(rgb, t, media_t)
            if not f.face and not holding:
                emit({"event": "warning", "frame": f.frame,
                      "message": f"no face in frame {f.frame}: holding the last pose"})
            holding = not f.face
            emit(f.to_json())
            if max_frames and solver.frames >= max_frames:
                reason = "frame limit"
                break
    except KeyboardInterrupt:
        reason = "stopped"
    finally:
        cap.release()
        solver.close()
    end = {"event": "end", "reason": reason, "frames": solver.frames, "missing": solver.missing}
    emit(end)
    return end


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The live command's options (shared by ``photo2avatar live`` and ``-m``)."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=None, metavar="N", help="camera index (default 0)")
    src.add_argument("--video", default=None, metavar="FILE", help="a video file instead of a camera")
    p.add_argument("--fps", type=float, default=30.0, help="camera frame rate to ask for (default 30)")
    p.add_argument("--smoothing", type=float, default=0.3, help="One Euro smoothing 0..1 (default 0.3)")
    p.add_argument("--avatar", default=None, help="avatar.json or bundle whose identity the solve assumes")
    p.add_argument("--no-pace", action="store_true",
                   help="read a video as fast as it solves (default: at its frame rate, like a camera)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: until the source ends)")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_args(args) -> int:
    """Check the options, run, map errors to one line and an exit code."""
    from inference.errors import UsageError
    if not (args.fps > 0 and math.isfinite(args.fps)):
        raise UsageError(f"--fps must be above 0 (got {args.fps})")
    if not 0.0 <= args.smoothing <= 1.0:
        raise UsageError(f"--smoothing must be within 0..1 (got {args.smoothing})")
    if args.max_frames < 0:
        raise UsageError("--max-frames must be 0 or more")
    shape = None
    if args.avatar:
        from inference.avatar import load_avatar
        src = Path(args.avatar)
        shape = load_avatar(src / "avatar.json" if src.is_dir() else src).shape
    # the add-on stops a take with SIGTERM: end the stream cleanly (an "end" line)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run(args.camera, args.video, args.fps, args.smoothing, shape, not args.no_pace,
            max_frames=args.max_frames)
    except UserError as e:
        try:
            print(json.dumps({"event": "error", "code": e.exit_code, "message": str(e)}), flush=True)
        except BrokenPipeError:
            pass
        raise
    except BrokenPipeError:          # the reader went away: nothing left to tell
        return 0
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m inference.live_capture``: the add-on's live process (no bpy needed)."""
    import os
    from inference.native_io import route_native_stderr
    ap = argparse.ArgumentParser(prog="photo2avatar live", description=__doc__.split("\n\n")[0])
    add_arguments(ap)
    args = ap.parse_args(argv)
    if argv is None:     # our own process: MediaPipe's C++ logs go to the cache's log
        cache = os.environ.get("PHOTO2AVATAR_CACHE_DIR")
        route_native_stderr(Path(cache) / "native-stderr.log" if cache else os.devnull)
    try:
        return run_args(args)
    except UserError as e:
        print(f"photo2avatar: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
