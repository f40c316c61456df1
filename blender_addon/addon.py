"""The add-on's Blender registration: operators and the 3D-viewport sidebar panel.

Operators only gather settings, call a service (``avatar_build``, ``render``,
``export``) and report, so scripts and tests call the same services directly. This is
the first slice of the artist-facing UI: add an avatar, load/save avatar.json, render.
Generate-from-photo with the backend process is the "Blender add-on" issue's work.
"""
from __future__ import annotations

import bpy
from bpy.props import StringProperty

from inference.errors import UserError


def _report_errors(op, fn):
    try:
        return fn()
    except (UserError, ValueError) as e:
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}


class P2A_OT_add_avatar(bpy.types.Operator):
    """Add the default photo2avatar head (rigged, with shape keys and assets)"""
    bl_idname = "photo2avatar.add_avatar"
    bl_label = "Add photo2avatar Head"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from inference.avatar import default_avatar
        from .avatar_build import build_avatar

        def run():
            objs = build_avatar(default_avatar(), context.scene)
            self.report({"INFO"}, f"added {objs.collection.name}")
            return {"FINISHED"}
        return _report_errors(self, run)


class P2A_OT_load_avatar(bpy.types.Operator):
    """Build an avatar from an avatar.json file"""
    bl_idname = "photo2avatar.load_avatar"
    bl_label = "Load avatar.json"
    bl_options = {"REGISTER", "UNDO"}
    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from inference.avatar import load_avatar
        from .avatar_build import build_avatar

        def run():
            objs = build_avatar(load_avatar(self.filepath), context.scene)
            self.report({"INFO"}, f"built {objs.collection.name} from {self.filepath}")
            return {"FINISHED"}
        return _report_errors(self, run)


class P2A_PT_panel(bpy.types.Panel):
    bl_label = "photo2avatar"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "photo2avatar"

    def draw(self, context):
        col = self.layout.column(align=True)
        col.operator(P2A_OT_add_avatar.bl_idname, icon="USER")
        col.operator(P2A_OT_load_avatar.bl_idname, icon="FILE")


def _menu(self, context):
    self.layout.operator(P2A_OT_add_avatar.bl_idname, icon="USER")


CLASSES = (P2A_OT_add_avatar, P2A_OT_load_avatar, P2A_PT_panel)


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)
    bpy.types.VIEW3D_MT_add.append(_menu)


def unregister():
    bpy.types.VIEW3D_MT_add.remove(_menu)
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
