"""The add-on's Blender registration: operators, the sidebar panel, preferences.

Operators gather settings, call a service (``generate``, ``avatar_build``, ``edit_props``)
and report; with arguments instead of dialogs every one of them runs headless
(``blender -b``, the bpy module). *Generate from photo* is modal in the UI (progress in
the status bar and the panel, Esc or Cancel stops the backend job) and blocking headless.
"""
from __future__ import annotations

import json
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, StringProperty

from inference.errors import UserError

from . import character_ops, edit_props, live_ops, preferences
from .avatar_build import PROP
from .job_modal import BackendJobModal

LOOK_ITEMS = [("toon", "Toon", "Cel-shaded bands and an outline (fast in Cycles)"),
              ("pbr", "Soft PBR", "Principled skin, hair and eyes")]
EXPRESSION_GROUPS = ("brow", "eye", "cheek", "nose", "jaw", "mouth", "tongue")


def _report_errors(op, fn):
    try:
        return fn()
    except (UserError, ValueError, OSError) as e:
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}


_STYLE_ITEMS: list = []


def _style_items(self, context):
    """Style presets (the exemplar style is chosen by giving a style image)."""
    if not _STYLE_ITEMS:
        from rigs.catalogue import style_names
        from inference.styles import load_style
        for i, n in enumerate(n for n in style_names() if n != "exemplar"):
            st = load_style(n)
            _STYLE_ITEMS.append((n, st.label, st.description, edit_props.style_icon(n), i))
    return _STYLE_ITEMS


def active_avatar(context) -> bpy.types.Collection | None:
    """The avatar the panel edits: the active object's avatar, else the scene's first."""
    obj = context.active_object
    if obj is not None:
        for c in obj.users_collection:
            if PROP in c:
                return c
    for c in context.scene.collection.children_recursive:
        if PROP in c:
            return c
    return None


def target_avatar(context, name: str = "") -> bpy.types.Collection:
    """The avatar collection ``name``, or the active avatar; UserError when there is none."""
    coll = bpy.data.collections.get(name) if name else active_avatar(context)
    if coll is None or PROP not in coll:
        raise UserError(f"no photo2avatar avatar named {name!r}" if name else
                        "no avatar: add or select a photo2avatar avatar first")
    return coll


def _built(objs) -> None:
    edit_props.sync_from_avatar(objs.collection)
    bpy.context.view_layer.objects.active = objs.armature


def _build_new(op, context, avatar, message, name: str = "Avatar"):
    """Build ``avatar`` (or what the callable returns, errors reported) as a new avatar in
    the scene, select it and report ``message(collection name)``; the operator's result."""
    from .avatar_build import build_avatar

    def run():
        objs = build_avatar(avatar() if callable(avatar) else avatar, context.scene, look=op.look, name=name)
        _built(objs)
        op.report({"INFO"}, message(objs.collection.name))
        return {"FINISHED"}
    return _report_errors(op, run)


class P2A_OT_add_avatar(bpy.types.Operator):
    """Add the default photo2avatar head (rigged, with shape keys and assets)"""
    bl_idname = "photo2avatar.add_avatar"
    bl_label = "Add photo2avatar Head"
    bl_options = {"REGISTER", "UNDO"}
    look: EnumProperty(name="Look", items=LOOK_ITEMS, default="toon")

    def execute(self, context):
        from inference.avatar import default_avatar
        return _build_new(self, context, default_avatar, lambda n: f"added {n}")


class P2A_OT_load_avatar(bpy.types.Operator):
    """Build an avatar from an avatar.json file"""
    bl_idname = "photo2avatar.load_avatar"
    bl_label = "Load avatar.json"
    bl_options = {"REGISTER", "UNDO"}
    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})
    look: EnumProperty(name="Look", items=LOOK_ITEMS, default="toon")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from inference.avatar import load_avatar
        from .generate import avatar_name
        path = Path(self.filepath)
        name = avatar_name(path.parent.name if path.name == "avatar.json" else path)
        return _build_new(self, context, lambda: load_avatar(self.filepath),
                          lambda n: f"built {n} from {self.filepath}", name=name)


class P2A_OT_save_avatar(bpy.types.Operator):
    """Save the active avatar's vector (sliders, assets, colours, expression) as avatar.json"""
    bl_idname = "photo2avatar.save_avatar"
    bl_label = "Save avatar.json"
    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})
    collection: StringProperty(name="Avatar", description="Avatar collection (default: the active avatar)")

    @classmethod
    def poll(cls, context):
        return active_avatar(context) is not None

    def invoke(self, context, event):
        if not self.filepath:
            self.filepath = "avatar.json"
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from inference.avatar import save_avatar
        from .avatar_build import find_avatar

        def run():
            coll = target_avatar(context, self.collection)
            path = Path(bpy.path.abspath(self.filepath))
            save_avatar(find_avatar(coll).avatar(), path)
            self.report({"INFO"}, f"saved {path}")
            return {"FINISHED"}
        return _report_errors(self, run)


class P2A_OT_sync_edit(bpy.types.Operator):
    """Reload the panel's sliders from the avatar (after scripts changed it)"""
    bl_idname = "photo2avatar.sync_edit"
    bl_label = "Refresh sliders"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return active_avatar(context) is not None

    def execute(self, context):
        edit_props.sync_from_avatar(active_avatar(context))
        return {"FINISHED"}


class P2A_OT_generate(bpy.types.Operator):
    """Make an avatar from a face photo (the backend analyses it in its own process)"""
    bl_idname = "photo2avatar.generate"
    bl_label = "Generate from photo"
    bl_options = {"REGISTER", "UNDO"}
    filepath: StringProperty(name="Photo", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.jpg;*.jpeg;*.png;*.webp;*.bmp;*.tif;*.tiff", options={"HIDDEN"})
    style: EnumProperty(name="Style", items=_style_items)
    look: EnumProperty(name="Look", items=LOOK_ITEMS, default="toon")
    style_image: StringProperty(name="Style image", subtype="FILE_PATH",
                                description="Optional stylized portrait whose geometric exaggeration to copy")
    target: StringProperty(name="Replace", description="Avatar collection to regenerate in place "
                           "(empty: add a new avatar)")
    timeout: FloatProperty(name="Timeout", default=300.0, min=1.0, options={"HIDDEN"})

    _timer = None
    _task = None

    def invoke(self, context, event):
        if not self.filepath:
            context.window_manager.fileselect_add(self)
            return {"RUNNING_MODAL"}
        return self.execute(context)

    def _start(self, context):
        from .backend_client import shared_client
        from .generate import GenerateTask
        client = shared_client(preferences.backend_python(context), log_path=preferences.backend_log())
        return GenerateTask(client, bpy.path.abspath(self.filepath), style=self.style or "identity",
                            look=self.look, target=self.target,
                            style_image=bpy.path.abspath(self.style_image) if self.style_image else None).start()

    def execute(self, context):
        try:
            self._task = self._start(context)
        except UserError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        if bpy.app.background or context.window is None:      # headless: block until done
            return _report_errors(self, lambda: self._apply(context, wait=True))
        wm = context.window_manager
        wm.photo2avatar_busy, wm.photo2avatar_cancel = True, False
        wm.photo2avatar_progress, wm.photo2avatar_status = 0.0, "starting the backend"
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 100)
        return {"RUNNING_MODAL"}

    def _apply(self, context, wait=False):
        if wait:
            self._task.wait(self.timeout)
        objs = self._task.apply(context.scene)
        _built(objs)
        self.report({"INFO"}, f"generated {objs.collection.name} from {Path(self.filepath).name}")
        return {"FINISHED"}

    def _end(self, context):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        wm.photo2avatar_busy = False
        context.workspace.status_text_set(None)
        for area in context.screen.areas:
            area.tag_redraw()

    def modal(self, context, event):
        wm = context.window_manager
        if event.type == "ESC" or wm.photo2avatar_cancel:
            self._task.cancel()
            self._end(context)
            self.report({"WARNING"}, "generate cancelled; the scene is unchanged")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        state = self._task.poll()
        wm.photo2avatar_progress = self._task.fraction * 100.0
        wm.photo2avatar_status = self._task.message
        wm.progress_update(int(self._task.fraction * 100))
        context.workspace.status_text_set(
            f"photo2avatar: {self._task.message} {self._task.fraction:.0%} (Esc cancels)")
        for area in context.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()
        if state == "running":
            return {"RUNNING_MODAL"}
        self._end(context)
        if state == "error":
            self.report({"ERROR"}, self._task.job.error)
            return {"CANCELLED"}
        if state == "cancelled":
            return {"CANCELLED"}
        return _report_errors(self, lambda: self._apply(context))


SOURCE_ITEMS = [("CSV", "Live Link Face CSV", "A Live Link Face capture (.csv)"),
                ("VIDEO", "Video or frames", "A video file or a folder of frames (analysed by the backend)"),
                ("OBJECT", "Object", "Another object's shape keys in this scene, through the name mapping")]


class P2A_OT_retarget(BackendJobModal, bpy.types.Operator):
    """Key expressions from a capture, a video or another rig onto the active avatar"""
    bl_idname = "photo2avatar.retarget"
    bl_label = "Retarget expressions"
    bl_options = {"REGISTER", "UNDO"}
    source_kind: EnumProperty(name="Source", items=SOURCE_ITEMS, default="CSV")
    filepath: StringProperty(name="File", subtype="FILE_PATH", description="CSV, video file or frame folder")
    source_object: StringProperty(name="Object", description="Object whose shape keys to follow")
    collection: StringProperty(name="Avatar", description="Avatar collection (default: the active avatar)")
    smoothing: FloatProperty(name="Smoothing", default=0.3, min=0.0, max=1.0, description="One Euro filter strength")
    neutral_frame: bpy.props.IntProperty(name="Neutral frame", default=-1, min=-1,
                                         description="Calibrate against this source frame (-1: none)")
    gains: StringProperty(name="Gains", subtype="FILE_PATH", description="JSON of per-channel gain and offset")
    mapping: StringProperty(name="Mapping", subtype="FILE_PATH", description="JSON of source name -> ARKit name")
    timeout: FloatProperty(default=600.0, min=1.0, options={"HIDDEN"})
    JOB_LABEL, UNCHANGED = "retarget", "the avatar is unchanged"

    _coll = None

    def _finish(self, context, track):
        from inference.expression_track import load_gains
        from .avatar_build import find_avatar
        from .retarget import apply_track
        gain, offset = load_gains(bpy.path.abspath(self.gains)) if self.gains else ({}, {})
        track = track.prepared(self.neutral_frame if self.neutral_frame >= 0 else None, gain, offset,
                               self.smoothing)
        apply_track(find_avatar(self._coll), track)
        self.report({"INFO"}, f"retargeted {track.n_frames} frames onto {self._coll.name}")
        return {"FINISHED"}

    def execute(self, context):
        def run():
            from inference.expression_track import read_live_link_csv
            from inference.name_mapping import load_table
            from .avatar_build import find_avatar
            from .retarget import track_from_shape_keys
            self._coll = target_avatar(context, self.collection)
            if self.source_kind == "CSV":
                return self._finish(context, read_live_link_csv(bpy.path.abspath(self.filepath)))
            if self.source_kind == "OBJECT":
                obj = bpy.data.objects.get(self.source_object)
                if obj is None:
                    raise UserError(f"no object named {self.source_object!r}")
                table = load_table(bpy.path.abspath(self.mapping)) if self.mapping else None
                return self._finish(context, track_from_shape_keys(obj, table))
            from .backend_client import shared_client
            client = shared_client(preferences.backend_python(context), log_path=preferences.backend_log())
            source = Path(bpy.path.abspath(self.filepath))
            if not source.exists():
                raise UserError(f"{source}: no such file or folder")
            self._job = client.submit("track", source=str(source.resolve()),
                                      shape=find_avatar(self._coll).avatar().shape)
            self._client = client
            if bpy.app.background or context.window is None:
                return self._apply_result(context, self._job.wait(self.timeout))
            return self.begin_modal(context)
        return _report_errors(self, run)

    def _apply_result(self, context, result):
        from inference.expression_track import track_from_dict
        return self._finish(context, track_from_dict(result["track"]))


class P2A_PT_retarget(bpy.types.Panel):
    bl_label = "Retarget expressions"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "photo2avatar"
    bl_parent_id = "P2A_PT_panel"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return active_avatar(context) is not None

    def draw(self, context):
        wm = context.window_manager
        col = self.layout.column()
        col.prop(wm, "photo2avatar_retarget_kind", text="")
        if wm.photo2avatar_retarget_kind == "OBJECT":
            col.prop_search(wm, "photo2avatar_retarget_object", context.scene, "objects", text="")
        else:
            col.prop(wm, "photo2avatar_retarget_file", text="")
        op = col.operator(P2A_OT_retarget.bl_idname, icon="ANIM")
        op.source_kind = wm.photo2avatar_retarget_kind
        op.filepath = wm.photo2avatar_retarget_file
        op.source_object = wm.photo2avatar_retarget_object


class P2A_OT_cancel_generate(bpy.types.Operator):
    """Stop the running Generate from photo; the scene stays as it was"""
    bl_idname = "photo2avatar.cancel_generate"
    bl_label = "Cancel"

    def execute(self, context):
        context.window_manager.photo2avatar_cancel = True
        return {"FINISHED"}


class P2A_PT_panel(bpy.types.Panel):
    bl_label = "photo2avatar"
    bl_idname = "P2A_PT_panel"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "photo2avatar"

    def draw(self, context):
        wm = context.window_manager
        layout = self.layout
        box = layout.box()
        box.prop(wm, "photo2avatar_photo", text="")
        box.template_icon_view(wm, "photo2avatar_style", show_labels=True, scale=4.0, scale_popup=4.0)
        row = box.row(align=True)
        row.prop(wm, "photo2avatar_style", text="")
        row.prop(wm, "photo2avatar_look", text="")
        box.prop(wm, "photo2avatar_style_image", text="Style image")
        if wm.photo2avatar_busy:
            box.progress(factor=wm.photo2avatar_progress / 100.0, text=wm.photo2avatar_status or "working")
            box.operator(P2A_OT_cancel_generate.bl_idname, icon="CANCEL")
        else:
            active = active_avatar(context)
            buttons = [("", "Generate from photo", "OUTLINER_OB_ARMATURE")]
            if active is not None:
                buttons.append((active.name, f"Regenerate {active.name}", "FILE_REFRESH"))
            for target, label, icon in buttons:
                op = box.operator(P2A_OT_generate.bl_idname, text=label, icon=icon)
                op.filepath = wm.photo2avatar_photo
                op.style = wm.photo2avatar_style
                op.look = wm.photo2avatar_look
                op.style_image = wm.photo2avatar_style_image
                op.target = target
        col = layout.column(align=True)
        col.operator(P2A_OT_add_avatar.bl_idname, icon="USER")
        row = col.row(align=True)
        row.operator(P2A_OT_load_avatar.bl_idname, icon="FILE")
        row.operator(P2A_OT_save_avatar.bl_idname, icon="FILE_TICK")
        coll = active_avatar(context)
        if coll is not None:
            layout.label(text=f"Editing: {coll.name}", icon="OUTLINER_COLLECTION")


class _EditPanel(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "photo2avatar"
    bl_parent_id = "P2A_PT_panel"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return active_avatar(context) is not None


class P2A_PT_shape(_EditPanel):
    bl_label = "Face shape"

    def draw(self, context):
        from rigs.catalogue import shape_catalogue
        props = active_avatar(context).photo2avatar_edit
        groups: dict[str, list] = {}
        for p in shape_catalogue():
            groups.setdefault(p.group, []).append(p)
        for group, params in groups.items():
            header, body = self.layout.panel(f"p2a_shape_{group}", default_closed=True)
            header.label(text=group.title())
            if body:
                col = body.column(align=True)
                for p in params:
                    col.prop(props, f"s_{p.name}", slider=True)
        self.layout.operator(P2A_OT_sync_edit.bl_idname, icon="FILE_REFRESH")


class P2A_PT_assets(_EditPanel):
    bl_label = "Hair and accessories"

    def draw(self, context):
        props = active_avatar(context).photo2avatar_edit
        for kind in ("hair", "eyebrows", "beard", "glasses"):
            self.layout.label(text=kind.title())
            self.layout.template_icon_view(props, f"a_{kind}", show_labels=True, scale=5.0, scale_popup=4.0)


class P2A_PT_colors(_EditPanel):
    bl_label = "Colours and style"

    def draw(self, context):
        props = active_avatar(context).photo2avatar_edit
        col = self.layout.column(align=True)
        for key in ("skin", "hair", "eyes", "lips", "eyebrows", "glasses"):
            col.prop(props, f"c_{key}")
        hair = self.layout.column(align=True)
        for key in ("grey", "roots", "beard_density"):
            hair.prop(props, f"h_{key}", slider=True)
        coll = active_avatar(context)
        style = json.loads(coll[PROP]).get("style", {}).get("name", "identity")
        self.layout.label(text=f"Style: {style}", icon="MOD_LATTICE")
        self.layout.prop(props, "style_strength", slider=True)
        self.layout.operator(P2A_OT_bake_style.bl_idname, icon="CHECKMARK")


class P2A_OT_bake_style(bpy.types.Operator):
    """Make the style deformation at its current strength part of the mesh (removes the
    'style' shape key; later style edits no longer apply)"""
    bl_idname = "photo2avatar.bake_style"
    bl_label = "Bake style into the mesh"
    bl_options = {"REGISTER", "UNDO"}
    collection: StringProperty(name="Avatar", description="Avatar collection (default: the active avatar)")

    @classmethod
    def poll(cls, context):
        return active_avatar(context) is not None

    def execute(self, context):
        from .avatar_build import find_avatar
        from .style_apply import bake_style
        def run():
            coll = target_avatar(context, self.collection)
            bake_style(find_avatar(coll))
            self.report({"INFO"}, f"baked the style of {coll.name}")
            return {"FINISHED"}
        return _report_errors(self, run)


class P2A_PT_expression(_EditPanel):
    bl_label = "Expression (ARKit)"

    def draw(self, context):
        from rigs.arkit import ARKIT_NAMES
        props = active_avatar(context).photo2avatar_edit
        for group in EXPRESSION_GROUPS:
            header, body = self.layout.panel(f"p2a_expr_{group}", default_closed=True)
            header.label(text=group.title())
            if body:
                col = body.column(align=True)
                for n in ARKIT_NAMES:
                    if n.lower().startswith(group):
                        col.prop(props, f"e_{n}", slider=True)


def _menu(self, context):
    self.layout.operator(P2A_OT_add_avatar.bl_idname, icon="USER")
    self.layout.operator(P2A_OT_generate.bl_idname, icon="OUTLINER_OB_ARMATURE")


CLASSES = (preferences.P2A_OT_setup_backend, preferences.P2A_AddonPreferences, P2A_OT_add_avatar,
           P2A_OT_load_avatar, P2A_OT_save_avatar, P2A_OT_sync_edit, P2A_OT_generate, P2A_OT_cancel_generate,
           P2A_OT_bake_style, P2A_OT_retarget, P2A_PT_panel, P2A_PT_retarget, P2A_PT_shape, P2A_PT_assets, P2A_PT_colors, P2A_PT_expression,
           *live_ops.CLASSES)

_WM_PROPS = {
    "photo2avatar_photo": lambda: StringProperty(name="Photo", subtype="FILE_PATH",
                                                 description="Face photo to generate from"),
    "photo2avatar_style": lambda: EnumProperty(name="Style", items=_style_items),
    "photo2avatar_look": lambda: EnumProperty(name="Look", items=LOOK_ITEMS, default="toon"),
    "photo2avatar_style_image": lambda: StringProperty(
        name="Style image", subtype="FILE_PATH",
        description="Optional stylized portrait (painting, cartoon): its geometric exaggeration is applied"),
    "photo2avatar_retarget_kind": lambda: EnumProperty(name="Source", items=SOURCE_ITEMS, default="CSV"),
    "photo2avatar_retarget_file": lambda: StringProperty(name="Source file", subtype="FILE_PATH"),
    "photo2avatar_retarget_object": lambda: StringProperty(name="Source object"),
    "photo2avatar_busy": lambda: BoolProperty(default=False, options={"SKIP_SAVE"}),
    "photo2avatar_cancel": lambda: BoolProperty(default=False, options={"SKIP_SAVE"}),
    "photo2avatar_progress": lambda: FloatProperty(default=0.0, min=0.0, max=100.0, subtype="PERCENTAGE"),
    "photo2avatar_status": lambda: StringProperty(default=""),
    **live_ops.WM_PROPS,
}


def register(module_name: str = "blender_addon"):
    """Register everything; ``module_name`` is the add-on's module (preferences key)."""
    preferences.ADDON_MODULE["name"] = module_name
    preferences.P2A_AddonPreferences.bl_idname = module_name
    edit_props.register()
    for c in CLASSES:
        bpy.utils.register_class(c)
    for name, make in _WM_PROPS.items():
        setattr(bpy.types.WindowManager, name, make())
    character_ops.register()
    bpy.types.VIEW3D_MT_add.append(_menu)


def unregister():
    from .backend_client import close_all
    close_all()
    live_ops.stop_all()
    bpy.types.VIEW3D_MT_add.remove(_menu)
    character_ops.unregister()
    for name in _WM_PROPS:
        delattr(bpy.types.WindowManager, name)
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
    edit_props.unregister()
    _STYLE_ITEMS.clear()
