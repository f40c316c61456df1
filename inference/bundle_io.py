"""Atomic bundle folders: build in a hidden staging folder, rename into place.

A bundle is either complete or absent. Writers stage into ``.<name>.staging-*`` beside the
target; replacing an existing bundle moves it aside to ``.<name>.old-*`` first and deletes
it after the rename. :func:`recover_interrupted` cleans up after a process killed midway
(and puts back a bundle that was moved aside but never replaced).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from inference.errors import OutputError, OutputExists

STAGING = ".staging-"
OLD = ".old-"


def check_writable(path) -> None:
    """Raise :class:`OutputError` unless ``path`` (a file or folder to create) could be
    written: a probe file is made and removed in its nearest existing ancestor folder
    (permission bits alone say nothing for root or on read-only and virtual file
    systems). Checked before the work starts, so a typo in ``-o`` costs no minutes of
    analysis and leaves nothing behind."""
    path = Path(path).absolute()
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: cannot create it, {parent} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".photo2avatar-probe-"):
            pass
    except OSError as e:
        raise OutputError(f"{path}: cannot write into {parent} ({e.strerror or e})") from None


@contextmanager
def staged_bundle(out: str | os.PathLike, force: bool = False):
    """Yield an empty staging folder; on a clean exit it becomes ``out`` in one rename."""
    out = Path(out)
    if out.exists() and not force:
        raise OutputExists(f"{out} already exists; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGING}", dir=out.parent))
    try:
        yield stage
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}{OLD}{time.time_ns()}")
            out.rename(old)
        stage.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def write_bundle_files(out: str | os.PathLike, files: dict[str, bytes], force: bool = False) -> Path:
    """Write ``{relative name: bytes}`` as the bundle folder ``out``, atomically."""
    out = Path(out)
    with staged_bundle(out, force=force) as stage:
        for name, data in files.items():
            target = (stage / name).resolve()
            if stage.resolve() not in target.parents:
                raise ValueError(f"bundle file name {name!r} leaves the bundle folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return out


def recover_interrupted(folder: str | os.PathLike) -> int:
    """Remove staging leftovers in ``folder`` and restore bundles moved aside by a killed
    replace; returns how many leftovers were handled."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    for p in sorted(folder.iterdir()):
        if not (p.name.startswith(".") and p.is_dir()):
            continue
        if STAGING in p.name:
            shutil.rmtree(p, ignore_errors=True)
            n += 1
        elif OLD in p.name:
            original = folder / p.name[1:p.name.index(OLD)]
            if original.exists():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.rename(original)
            n += 1
    return n
