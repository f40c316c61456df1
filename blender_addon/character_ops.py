"""The add-on's *Your character* panel: pick a mesh in the scene, apply a photo's face to it
through the backend, and restore it in one step (:mod:`.character_edit` does the work).

*Apply photo* is modal in the UI (progress in the status bar, Esc cancels and leaves the
character as it was) and blocking headless, like *Generate from photo*. The result is
written in one go at the end, inside the operator, so Blender's Undo takes it back in one
step too; *Restore* also works after later edits and after saving and reopening the file.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, PointerProperty, StringProperty

from inference.errors import UserError

from . import preferences
from .character_edit import RESTORE_KEY, export_character, restore, write_edit
from .character_pins import clear_pins, pin_objects, pins_of, place_pins
from .job_modal import BackendJobModal


def _mesh_poll(self, obj) -> bool:
    return obj.type == "MESH"


def _style_items(self, context):
    from .addon import _style_items as items
    return items(self, context)


def _character(context, name: str = ""):
    obj = bpy.data.objects.get(name) if name else context.scene.photo2avatar_character
    if obj is None:
        raise UserError(f"no object named {name!r}" if name else "pick the character's mesh first")
    if obj.type != "MESH":
        raise UserError(f"{obj.name!r} is a {obj.type.lower()}, not a mesh")
    return obj


class _CharacterJob(BackendJobModal):
    """A backend job on a copy of the picked character: the character is written to a
    temporary .blend the backend opens, the result comes back to the live object (which
    must still exist: ``_live``). Modal in the UI, blocking headless."""
    _tmp = None

    def _submit(self, context, op: str, fields=None):
        """Send request ``op`` for the character, with ``fields(obj)`` (a dict) when given."""
        try:
            obj = _character(context, self.object)
            self.object = obj.name
            from .backend_client import shared_client
            self._client = shared_client(preferences.backend_python(context), log_path=preferences.backend_log())
            self._tmp = tempfile.TemporaryDirectory(prefix="photo2avatar_character_")
            blend = Path(self._tmp.name) / "character.blend"
            export_character(obj, blend)
            self._job = self._client.submit(op, blend=str(blend), object=obj.name, out_dir=self._tmp.name,
                                            **(fields(obj) if fields else {}))
            if bpy.app.background or context.window is None:      # headless: block until done
                return self._apply_result(context, self._job.wait(self.timeout))
        except (UserError, ValueError, OSError) as e:
            self._cleanup()
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        return self.begin_modal(context)

    def _live(self, nothing_done: str):
        """The character, still in the scene after the backend's work."""
        obj = bpy.data.objects.get(self.object)
        if obj is None:
            raise UserError(f"{self.object!r} was deleted or renamed while the backend worked; {nothing_done}")
        return obj

    def _cleanup(self):
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _ended(self):
        if self._job is not None and self._job.state != "done":
            self._cleanup()


class P2A_OT_apply_character(_CharacterJob, bpy.types.Operator):
    """Shape the picked character's face like the photo (any topology: its UVs, vertex groups,
    armature and shape keys are kept), paint the face into its texture, optionally add ARKit keys"""
    bl_idname = "photo2avatar.apply_character"
    bl_label = "Apply photo to character"
    bl_options = {"REGISTER", "UNDO"}
    filepath: StringProperty(name="Photo", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.jpg;*.jpeg;*.png;*.webp;*.bmp;*.tif;*.tiff", options={"HIDDEN"})
    object: StringProperty(name="Object", description="Mesh to apply to (default: the panel's pick)")
    style: EnumProperty(name="Style", items=_style_items)
    texture: BoolProperty(name="Paint the face", default=True,
                          description="Blend the photo's face into a copy of the character's base-colour image")
    arkit: BoolProperty(name="ARKit keys", default=False,
                        description="Add the 52 ARKit shape keys (Live Link Face names)")
    timeout: FloatProperty(default=600.0, min=1.0, options={"HIDDEN"})
    JOB_LABEL, UNCHANGED = "apply", "the character is unchanged"

    def invoke(self, context, event):
        if not self.filepath:
            context.window_manager.fileselect_add(self)
            return {"RUNNING_MODAL"}
        return self.execute(context)

    def execute(self, context):
        photo = Path(bpy.path.abspath(self.filepath))
        if not photo.is_file():
            self.report({"ERROR"}, f"{photo}: no such photo")
            return {"CANCELLED"}
        return self._submit(context, "apply_character", lambda obj: {
            "photo": str(photo.resolve()), "style": self.style or "identity", "texture": self.texture,
            "arkit": self.arkit, "pins": {str(k): [float(c) for c in v] for k, v in pins_of(obj).items()}})

    def _apply_result(self, context, result):
        try:
            report = write_edit(self._live("nothing applied"), result["edit"])
        finally:
            self._cleanup()
        what = ["face shaped"]
        if str(report.get("texture", "")).startswith(("copied", "new", "existing")):
            what.append("face painted")
        if report.get("arkit_keys_added"):
            what.append(f"{report['arkit_keys_added']} ARKit keys")
        self.report({"INFO"}, f"{self.object}: {', '.join(what)} ({report.get('landmarks', 0)} landmarks)")
        return {"FINISHED"}


class P2A_OT_place_pins(_CharacterJob, bpy.types.Operator):
    """Find the face on the picked character and mark its landmarks with pins (empties) that you
    can move to correct where eyes, nose, mouth and chin are; Apply photo follows the pins"""
    bl_idname = "photo2avatar.place_pins"
    bl_label = "Place face pins"
    bl_options = {"REGISTER", "UNDO"}
    object: StringProperty(name="Object", description="Mesh to place pins on (default: the panel's pick)")
    timeout: FloatProperty(default=300.0, min=1.0, options={"HIDDEN"})
    JOB_LABEL, UNCHANGED = "face pins", "no pins placed"

    def execute(self, context):
        return self._submit(context, "find_face")

    def _apply_result(self, context, result):
        try:
            obj = self._live("no pins placed")
            made = place_pins(obj, {int(k): v for k, v in result["pins"].items()})
        finally:
            self._cleanup()
        self.report({"INFO"}, f"{obj.name}: {len(made)} pins placed; move any that sit off their feature, "
                              "then Apply photo")
        return {"FINISHED"}


class _OnCharacter:
    """An immediate operator on the panel's character (or ``object``): resolves it, reports
    a one-line error when there is none, else runs :meth:`run`."""

    def execute(self, context):
        try:
            obj = _character(context, self.object)
        except UserError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        return self.run(obj)


class P2A_OT_clear_pins(_OnCharacter, bpy.types.Operator):
    """Remove the character's face pins (Apply photo then uses the landmarks it finds)"""
    bl_idname = "photo2avatar.clear_pins"
    bl_label = "Clear pins"
    bl_options = {"REGISTER", "UNDO"}
    object: StringProperty(name="Object", description="Mesh whose pins to remove (default: the panel's pick)")

    def run(self, obj):
        self.report({"INFO"}, f"{obj.name}: {clear_pins(obj)} pins removed")
        return {"FINISHED"}


class P2A_OT_restore_character(_OnCharacter, bpy.types.Operator):
    """Put the character back as it was before the first Apply photo (mesh, bones, texture)"""
    bl_idname = "photo2avatar.restore_character"
    bl_label = "Restore character"
    bl_options = {"REGISTER", "UNDO"}
    object: StringProperty(name="Object", description="Mesh to restore (default: the panel's pick)")

    def run(self, obj):
        if not restore(obj):
            self.report({"WARNING"}, f"{obj.name}: no photo was applied to it")
            return {"CANCELLED"}
        self.report({"INFO"}, f"{obj.name}: restored")
        return {"FINISHED"}


class P2A_PT_character(bpy.types.Panel):
    bl_label = "Your character"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "photo2avatar"
    bl_parent_id = "P2A_PT_panel"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        col = self.layout.column()
        col.prop(context.scene, "photo2avatar_character", text="")
        obj = context.scene.photo2avatar_character
        busy = context.window_manager.photo2avatar_busy
        row = col.row()
        row.enabled = obj is not None and not busy
        pins = pin_objects(obj) if obj is not None else []
        row.operator(P2A_OT_place_pins.bl_idname, icon="PINNED",
                     text=f"Place face pins ({len(pins)} placed)" if pins else "Place face pins")
        if pins:
            col.operator(P2A_OT_clear_pins.bl_idname, icon="X")
        row = col.row()
        row.enabled = obj is not None and not busy
        row.operator(P2A_OT_apply_character.bl_idname, icon="USER")
        if obj is not None and RESTORE_KEY in obj:
            col.operator(P2A_OT_restore_character.bl_idname, icon="LOOP_BACK")


CLASSES = (P2A_OT_apply_character, P2A_OT_place_pins, P2A_OT_clear_pins, P2A_OT_restore_character,
           P2A_PT_character)


def register() -> None:
    for c in CLASSES:
        bpy.utils.register_class(c)
    bpy.types.Scene.photo2avatar_character = PointerProperty(
        name="Character", type=bpy.types.Object, poll=_mesh_poll,
        description="Your own character's mesh (any topology) to apply a photo's face to")


def unregister() -> None:
    del bpy.types.Scene.photo2avatar_character
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
