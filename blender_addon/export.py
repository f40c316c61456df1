"""Save an avatar as .blend or glTF binary (.glb), atomically.

Both writers go to a temp file in the target folder and rename it, so a failure never
leaves a half-written file. The .glb keeps the armature, skin weights and every shape
key (catalogue sliders and the 52 ARKit expressions) under their names.
"""
from __future__ import annotations

import os
from pathlib import Path

import bpy

from .avatar_build import AvatarObjects
from .render import quiet_stdout


def _tmp_for(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


def save_blend(path: str | os.PathLike) -> Path:
    """Save the whole current file as a copy at ``path`` (the session keeps its own name)."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_for(path)
    try:
        with quiet_stdout():
            bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, check_existing=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def export_glb(objs: AvatarObjects, path: str | os.PathLike) -> Path:
    """Export the avatar's armature, parts and assets (shape keys, skin) to a .glb file."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_for(path)
    view_layer = bpy.context.view_layer
    selected = [o for o in view_layer.objects if o.select_get()]
    for o in selected:
        o.select_set(False)
    members = [objs.armature, *objs.parts.values(), *objs.assets.values()]
    for o in members:
        o.select_set(True)
    try:
        with bpy.context.temp_override(active_object=objs.armature, selected_objects=members), \
                quiet_stdout():
            bpy.ops.export_scene.gltf(filepath=str(tmp), export_format="GLB", use_selection=True,
                                      export_morph=True, export_skins=True, export_apply=False,
                                      export_animations=False, export_yup=True)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
        for o in members:
            o.select_set(False)
        for o in selected:
            o.select_set(True)
    return path
