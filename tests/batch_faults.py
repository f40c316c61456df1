"""Faults injected into batch worker processes on purpose (importable without bpy, since
spawned workers unpickle these functions by module name)."""
from __future__ import annotations

import os

from inference.batch_plan import JobResult


def die_on_p2(data: bytes, rel: str, settings: dict) -> JobResult:
    """A worker that crashes hard (no exception, no cleanup) on one photo."""
    if rel == "p2.jpg":
        os._exit(3)
    return JobResult(rel, True, files={"x": data[:4]})


def no_init() -> None:
    """No warm backend: these workers only exercise the pool."""
