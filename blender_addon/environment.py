"""Keep the bpy module's and its neighbours' caches out of the user's home.

Blender writes its config and caches under ``XDG_CONFIG_HOME``/``XDG_CACHE_HOME``
(default ``~/.config``, ``~/.cache``), Mesa its shader cache, matplotlib (imported by
MediaPipe) its font list. Headless entry points call :func:`contain_caches` before the
first ``import bpy`` so all of it lands in one documented folder:
``$PHOTO2AVATAR_CACHE_DIR``, default ``~/.cache/photo2avatar``. Variables a user has set
explicitly are left alone.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The project's cache folder (``$PHOTO2AVATAR_CACHE_DIR`` or ``~/.cache/photo2avatar``)."""
    env = os.environ.get("PHOTO2AVATAR_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "photo2avatar"


def contain_caches() -> Path:
    """Point XDG, Mesa and matplotlib caches into :func:`cache_dir`; returns it."""
    root = cache_dir()
    for var, sub in (("XDG_CACHE_HOME", "xdg-cache"), ("XDG_CONFIG_HOME", "xdg-config"),
                     ("MESA_SHADER_CACHE_DIR", "mesa"), ("MPLCONFIGDIR", "matplotlib")):
        if var not in os.environ:
            path = root / sub
            path.mkdir(parents=True, exist_ok=True)
            os.environ[var] = str(path)
    return root
