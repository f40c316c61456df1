"""Silence a file descriptor around native code that prints to it directly (Blender's
render progress on stdout, MediaPipe's C++ logs on stderr). Python exceptions still
propagate; only the raw writes to the descriptor go to /dev/null."""
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
