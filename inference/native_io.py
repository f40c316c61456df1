"""Keep native code's raw writes (Blender's render progress on stdout, MediaPipe's C++
logs on stderr) away from the person at the terminal: silence a descriptor around a
block, or route descriptor 2 to a log for a whole process. Python exceptions and
Python's own ``sys.stderr`` are untouched."""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def silenced_fd(fd: int):
    """Redirect descriptor ``fd`` (1 or 2) to /dev/null for the duration of the block."""
    (sys.stdout if fd == 1 else sys.stderr).flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        (sys.stdout if fd == 1 else sys.stderr).flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def route_native_stderr(log_path) -> None:
    """Keep Python's stderr on the terminal but send file descriptor 2, where MediaPipe's
    and TensorFlow Lite's C++ code logs (some of it flushed only at exit), to ``log_path``
    (created, appended to; ``os.devnull`` is fine): a person sees one line per error, a
    developer finds the native chatter in the log."""
    from pathlib import Path
    sys.stderr.flush()
    terminal = os.dup(2)
    sys.stderr = os.fdopen(terminal, "w", buffering=1)
    if str(log_path) != os.devnull:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
