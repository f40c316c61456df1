"""Shared fixtures. The bpy module is one Blender session per process: every bpy test
starts from an empty factory scene through the ``scene`` fixture."""
from __future__ import annotations

import pytest


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
