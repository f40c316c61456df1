"""Shared fixtures. The bpy module is one Blender session per process: every bpy test
starts from an empty factory scene through the ``scene`` fixture."""
from __future__ import annotations

import os
import tempfile

import pytest

# keep Blender/Mesa/matplotlib caches out of the home folder (before bpy is imported)
os.environ.setdefault("PHOTO2AVATAR_CACHE_DIR", os.path.join(tempfile.gettempdir(), "photo2avatar-test-cache"))
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()


@pytest.fixture
def scene():
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture(scope="session")
def rig():
    from rigs.rig_asset import load_rig
    return load_rig()
