"""Live capture in the add-on: Start / Stop live and Record, and their panel.

One take at a time. In the UI a timer on the main thread polls the
:class:`~blender_addon.live_session.LiveSession` 60 times a second, so the avatar follows
without blocking Blender; headless (``blender -b``, the bpy module) *Start live* with a
video runs the whole clip before it returns (with ``record`` set, the take is keyed).
"""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from inference.errors import UserError

from . import preferences

TICK_S = 1.0 / 60.0
LIVE_SOURCES = [("CAMERA", "Camera", "A webcam or capture device"),
                ("VIDEO", "Video file", "A video file played as if it were a camera")]
_LIVE: dict = {"session": None}


def current_session():
    """The running or last live session, or None."""
    return _LIVE["session"]


def _redraw() -> None:
    wm = bpy.context.window_manager
    for win in wm.windows if wm else ():
        for area in win.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def _undo_push(message: str) -> None:
    try:
        bpy.ops.ed.undo_push(message=message)
    except RuntimeError:      # no undo stack here (headless, or outside an editor)
        pass


def _tick():
    s = _LIVE["session"]
    if s is None:
        return None
    recording = s.recording
    s.poll()
    _redraw()
    if recording and not s.recording and s.actions:      # the source ended mid-take
        _undo_push("Record live take")
    return TICK_S if s.running() else None


def live_target(context, collection: str = "", object_name: str = ""):
    """What the capture drives: the named character mesh, else the named or active avatar,
    else the active object when its shape keys are named like ARKit's."""
    from .addon import active_avatar, target_avatar
    from .avatar_build import find_avatar
    from .live_session import character_objects
    if object_name:
        obj = bpy.data.objects.get(object_name)
        if obj is None:
            raise UserError(f"no object named {object_name!r}")
        return character_objects(obj)
    if collection or active_avatar(context) is not None:
        return find_avatar(target_avatar(context, collection))
    if context.active_object is not None:
        return character_objects(context.active_object)
    raise UserError("no avatar or character: select a photo2avatar avatar or a mesh with ARKit shape keys")


class P2A_OT_live_start(bpy.types.Operator):
    """Drive the active avatar live from a camera or a video file"""
    bl_idname = "photo2avatar.live_start"
    bl_label = "Start live"
    source_kind: EnumProperty(name="Source", items=LIVE_SOURCES, default="CAMERA")
    camera: IntProperty(name="Camera", default=0, min=0, description="Camera index (0: the first)")
    filepath: StringProperty(name="Video", subtype="FILE_PATH")
    fps: FloatProperty(name="FPS", default=30.0, min=1.0, max=240.0)
    smoothing: FloatProperty(name="Smoothing", default=0.3, min=0.0, max=1.0, description="One Euro filter strength")
    record: BoolProperty(name="Record", default=False, description="Record the take from the first frame")
    collection: StringProperty(name="Avatar", description="Avatar collection (default: the active avatar)")
    target_object: StringProperty(name="Character", description="Instead of an avatar: a mesh whose shape keys "
                                  "are named like ARKit's (jawOpen, EyeBlinkLeft, eyeBlink_L, ...)")
    timeout: FloatProperty(default=600.0, min=1.0, options={"HIDDEN"})

    def execute(self, context):
        from .live_session import LiveSession
        s = _LIVE["session"]
        if s is not None and s.running():
            self.report({"ERROR"}, "a live capture is running: stop it first")
            return {"CANCELLED"}
        try:
            objs = live_target(context, self.collection, self.target_object)
            video = None
            if self.source_kind == "VIDEO":
                video = bpy.path.abspath(self.filepath)
                if not video:
                    raise UserError("choose a video file for the live source")
            s = LiveSession(objs, preferences.backend_python(context), camera=self.camera, video=video,
                            fps=self.fps, smoothing=self.smoothing, log_path=preferences.backend_log())
        except UserError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        _LIVE["session"] = s
        if self.record:
            s.start_recording()
        if bpy.app.background or context.window is None:
            state = s.wait(self.timeout)
            s.stop()
            if state == "error":
                self.report({"ERROR"}, s.message)
                return {"CANCELLED"}
            self.report({"INFO"}, f"{s.frames_seen} frames from the capture; {s.message}")
            return {"FINISHED"}
        bpy.app.timers.register(_tick, first_interval=0.0)
        self.report({"INFO"}, "live capture starting")
        return {"FINISHED"}


class _WhileLive:
    """Operators that act on a running capture."""

    @classmethod
    def poll(cls, context):
        s = _LIVE["session"]
        return s is not None and s.running()


class P2A_OT_live_stop(_WhileLive, bpy.types.Operator):
    """Stop the live capture (a running recording is keyed first)"""
    bl_idname = "photo2avatar.live_stop"
    bl_label = "Stop live"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = _LIVE["session"]
        was_recording = s.recording
        s.stop()
        msg = f"live stopped after {s.frames_seen} frames"
        if was_recording and s.actions:
            msg += f"; the take is keyed ({len(s.actions)} actions)"
        self.report({"INFO"}, msg)
        return {"FINISHED"}


class P2A_OT_live_record(_WhileLive, bpy.types.Operator):
    """Start recording the live take, or stop and key it onto the avatar (one undo step)"""
    bl_idname = "photo2avatar.live_record"
    bl_label = "Record"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = _LIVE["session"]
        if not s.recording:
            s.start_recording()
            self.report({"INFO"}, "recording")
            return {"FINISHED"}
        s.poll()                                  # what arrived until now belongs to the take
        n = len(s.take)
        actions = s.stop_recording()
        if not actions:
            self.report({"WARNING"}, "nothing recorded (no frames arrived)")
            return {"CANCELLED"}
        self.report({"INFO"}, f"recorded {n} frames into {len(actions)} actions")
        return {"FINISHED"}


class P2A_PT_live(bpy.types.Panel):
    bl_label = "Live capture"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "photo2avatar"
    bl_parent_id = "P2A_PT_panel"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        from .addon import active_avatar
        obj = context.active_object
        return active_avatar(context) is not None or (
            obj is not None and obj.type == "MESH" and obj.data.shape_keys is not None)

    def draw(self, context):
        wm = context.window_manager
        col = self.layout.column()
        s = _LIVE["session"]
        if s is not None and s.running():
            row = col.row(align=True)
            row.operator(P2A_OT_live_stop.bl_idname, icon="PAUSE")
            row.operator(P2A_OT_live_record.bl_idname, text="Stop recording" if s.recording else "Record",
                         icon="REC", depress=s.recording)
            col.label(text=f"{s.fps_measured:.0f} fps, {s.latency_ms:.0f} ms, {s.frames_seen} frames"
                      + (f", {len(s.take)} recorded" if s.recording else ""))
        else:
            col.prop(wm, "photo2avatar_live_kind", text="")
            if wm.photo2avatar_live_kind == "CAMERA":
                col.prop(wm, "photo2avatar_live_camera")
            else:
                col.prop(wm, "photo2avatar_live_file", text="")
            op = col.operator(P2A_OT_live_start.bl_idname, icon="PLAY")
            op.source_kind = wm.photo2avatar_live_kind
            op.camera = wm.photo2avatar_live_camera
            op.filepath = wm.photo2avatar_live_file
        if s is not None and s.message:
            col.label(text=s.message, icon="ERROR" if s.state == "error" else "INFO")


CLASSES = (P2A_OT_live_start, P2A_OT_live_stop, P2A_OT_live_record, P2A_PT_live)
WM_PROPS = {
    "photo2avatar_live_kind": lambda: EnumProperty(name="Live source", items=LIVE_SOURCES, default="CAMERA"),
    "photo2avatar_live_camera": lambda: IntProperty(name="Camera", default=0, min=0),
    "photo2avatar_live_file": lambda: StringProperty(name="Live video", subtype="FILE_PATH"),
}


def stop_all() -> None:
    """End a running capture (add-on unregister)."""
    s = _LIVE["session"]
    if s is not None and s.running():
        s.stop()
    _LIVE["session"] = None
