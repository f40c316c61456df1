"""The backend process: JSON lines over stdin/stdout (DESIGN.md "Backend protocol").

    python -m inference.server          # Blender's add-on starts this with the backend Python

Every line in and out is one JSON object. The server announces itself, then answers
requests, one job at a time, in order::

    <- {"event": "ready", "protocol": 1, "version": "0.2.0", "styles": [...], "pid": 123}
    -> {"id": "7", "op": "analyze", "photo": "/path/face.jpg", "style": "identity",
        "style_image": "/path/painting.jpg"}                 # optional: exemplar style
    <- {"id": "7", "event": "progress", "fraction": 0.2, "message": "perceive"}
    <- {"id": "7", "event": "result", "avatar": {...avatar.json...}, "report": {...},
        "deformation": [...],       # head offsets at style strength 1, when the style moves any
        "texture_png": "..."}       # base64 PNG of the head texture, when one was made
    <- {"id": "7", "event": "error", "message": "face.jpg: no face found ...", "code": 7}
    -> {"id": "8", "op": "cancel", "target": "7"}     # the job ends with "cancelled"
    -> {"id": "9", "op": "ping"}                      # <- {"id": "9", "event": "pong"}
    -> {"id": "10", "op": "track", "source": "/path/take.mp4", "shape": {...}}
    <- progress events per 10 frames, then {"id": "10", "event": "result", "track": {...}}
    -> {"id": "11", "op": "apply_character", "blend": "/tmp/character.blend", "object": "Head",
        "photo": "/path/face.jpg", "style": "identity", "texture": true, "arkit": false}
    <- progress events, then {"id": "11", "event": "result", "edit": "/tmp/.../edit.npz",
        "report": {...}}            # what changed, for blender_addon.character_edit.write_edit
    -> {"id": "12", "op": "find_face", "blend": "/tmp/character.blend", "object": "Head"}
    <- {"id": "12", "event": "result", "pins": {"1": [x, y, z], ...}, "report": {...}}
                                                      # landmarks to place as pins (object frame);
                                                      # apply_character takes them back as "pins"
    -> {"op": "shutdown"}                             # or end of input: the server exits

Cancellation takes effect between pipeline stages (each well under a second). Stdout
carries protocol lines only: the real stdout is kept for them and file descriptor 1 is
pointed at stderr, so nothing a library prints can corrupt the stream. There is no
network port, so there is nothing to authenticate.
"""
from __future__ import annotations

import json
import os
import queue
import sys
import threading

import numpy as np

PROTOCOL = 1


class Cancelled(Exception):
    """The client cancelled the running job."""


class _Channel:
    """Write protocol lines to the private copy of the original stdout, thread-safely."""

    def __init__(self):
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)                     # stray prints from libraries land on stderr
        sys.stdout = sys.stderr
        self.out = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        self.lock = threading.Lock()

    def send(self, **msg) -> None:
        line = json.dumps(msg, ensure_ascii=False, allow_nan=False)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()


def _reader(requests: queue.Queue, cancelled: set, lock: threading.Lock) -> None:
    """Read stdin; cancels act at once, everything else queues for the worker loop."""
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            requests.put({"op": "_bad", "line": line[:200]})
            continue
        if msg.get("op") == "cancel":
            with lock:
                cancelled.add(str(msg.get("target")))
        requests.put(msg)
    requests.put({"op": "shutdown"})


def serve() -> int:
    """Run the server until ``shutdown`` or end of input; returns the exit code."""
    channel = _Channel()
    from inference.pipeline import VERSION, Backend
    from rigs.catalogue import style_names

    backend = Backend()
    requests: queue.Queue = queue.Queue()
    cancelled: set[str] = set()
    lock = threading.Lock()
    threading.Thread(target=_reader, args=(requests, cancelled, lock), daemon=True).start()
    channel.send(event="ready", protocol=PROTOCOL, version=VERSION, styles=style_names(), pid=os.getpid(),
                 startup_s=round(backend.startup_s, 3))
    while True:
        msg = requests.get()
        op, rid = msg.get("op"), str(msg.get("id", ""))
        if op == "shutdown":
            backend.close()
            return 0
        if op == "_bad":
            channel.send(event="error", message=f"not a JSON object: {msg['line']!r}", code=2)
        elif op == "cancel":
            channel.send(id=rid, event="ok")
        elif op == "ping":
            channel.send(id=rid, event="pong")
        elif op in _JOBS:
            with lock:
                if rid in cancelled:
                    cancelled.discard(rid)
                    channel.send(id=rid, event="cancelled")
                    continue
            _run_job(channel, rid, lock, cancelled, lambda: _JOBS[op](backend, msg, channel, rid, lock, cancelled))
        else:
            channel.send(id=rid, event="error", message=f"unknown op {op!r}", code=2)


def _checkpoint(channel, rid, lock, cancelled, fraction: float, message: str) -> None:
    """Between stages: stop if the client cancelled, else report progress."""
    with lock:
        if rid in cancelled:
            raise Cancelled()
    channel.send(id=rid, event="progress", fraction=round(fraction, 3), message=message)


def _analyze(backend, msg, channel, rid, lock, cancelled) -> dict:
    photo = msg.get("photo")
    if not isinstance(photo, str) or not photo:
        raise _usage("analyze needs 'photo': the path of a photo file")
    a = backend.analyze(photo, style=str(msg.get("style", "identity")),
                        progress=lambda f, m: _checkpoint(channel, rid, lock, cancelled, f, m),
                        style_image=msg.get("style_image") or None, texture=str(msg.get("texture", "auto")))
    out = {"avatar": a.avatar.to_dict(), "report": a.report}
    if a.deformation is not None:          # head offsets at strength 1 (Blender has no SciPy)
        out["deformation"] = np.round(a.deformation, 6).ravel().tolist()
    if a.texture is not None:              # the head texture as a base64 PNG
        out["texture_png"] = _png_base64(a.texture)
    return out


def _track(backend, msg, channel, rid, lock, cancelled) -> dict:
    from inference.expression_solve import track_from_frames

    def frames_done(i: int, total: int) -> None:
        _checkpoint(channel, rid, lock, cancelled, i / total if total else 0.0,
                    f"frame {i}" + (f" of {total}" if total else ""))
    track = track_from_frames(str(msg.get("source", "")), msg.get("shape") or {}, progress=frames_done)
    return {"track": track.to_dict(), "missing_frames": track.missing_frames}


def _need_bpy(what: str) -> None:
    # character work needs the bpy module in this Python (the add-on's Blender has no SciPy or MediaPipe)
    try:
        import bpy  # noqa: F401
    except ImportError:
        from inference.errors import UserError
        raise UserError(f"{what} needs the bpy module in the backend's Python "
                        "(pip install bpy==5.0.1 into it, Python 3.11; the project's .venv has it)") from None


def _apply_character(backend, msg, channel, rid, lock, cancelled) -> dict:
    _need_bpy("applying a photo to your own character")
    from blender_addon.character_job import backend_job
    return backend_job(backend, msg, lambda f, m: _checkpoint(channel, rid, lock, cancelled, f, m))


def _find_face(backend, msg, channel, rid, lock, cancelled) -> dict:
    _need_bpy("finding the face on your own character")
    from blender_addon.character_job import find_face_job
    return find_face_job(msg, lambda f, m: _checkpoint(channel, rid, lock, cancelled, f, m))


_JOBS = {"analyze": _analyze, "track": _track, "apply_character": _apply_character, "find_face": _find_face}


def _run_job(channel, rid, lock, cancelled, job) -> None:
    """Run one request; it ends with exactly one result, error or cancelled event."""
    from inference.errors import UserError
    try:
        channel.send(id=rid, event="result", **job())
    except Cancelled:
        channel.send(id=rid, event="cancelled")
    except UserError as e:
        channel.send(id=rid, event="error", message=str(e), code=e.exit_code)
    except Exception as e:       # a bug: report it, keep serving
        import traceback
        traceback.print_exc()
        channel.send(id=rid, event="error", message=f"internal error in the backend ({type(e).__name__}: {e})",
                     code=1)
    finally:
        with lock:
            cancelled.discard(rid)


def _png_base64(rgb: np.ndarray) -> str:
    import base64
    import io
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _usage(message: str):
    from inference.errors import UserError
    e = UserError(message)
    e.exit_code = 2
    return e


def main() -> int:
    try:
        return serve()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
