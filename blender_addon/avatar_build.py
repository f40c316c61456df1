"""Build and update an avatar in a Blender scene from an :class:`inference.avatar.Avatar`.

``build_avatar`` creates one collection holding an armature and one mesh object per rig
part (head, eyes, teeth, tongue), each with shape keys for every catalogue parameter
and, on the head, all 52 ARKit expressions, plus one object per library asset (hair,
eyebrows, beard, glasses; see :mod:`blender_addon.assets`). ``update_avatar`` applies a
changed avatar in place: shape-key values, bone rest positions (so eyes and jaw pivot
where the new face puts them), swapped assets, colours.

The avatar's JSON lives on the collection (custom property ``photo2avatar``), so a saved
.blend can be reopened and updated.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import bpy
import numpy as np

from inference.avatar import Avatar, avatar_from_dict
from rigs.arkit import ARKIT_NAMES
from rigs.asset_library import ASSET_KINDS
from rigs.catalogue import shape_key_targets, shape_key_values, target_weights
from rigs.rig_asset import HeadRig, load_rig

from . import looks
from .assets import asset_key, attach_asset, remove_asset
from .style_apply import STYLE_KEY, apply_style

PROP = "photo2avatar"
MIN_KEY_EFFECT = 1e-6  # metres; a target that moves a part less than this gets no key there


@dataclass
class AvatarObjects:
    """Handles to the Blender data of one avatar."""
    collection: bpy.types.Collection
    armature: bpy.types.Object
    parts: dict[str, bpy.types.Object]
    assets: dict[str, bpy.types.Object]     # kind -> object; absent for none/bald

    @property
    def head(self) -> bpy.types.Object:
        return self.parts["head"]

    def avatar(self) -> Avatar:
        """The avatar vector currently applied."""
        return avatar_from_dict(json.loads(self.collection[PROP]))


def _part_mesh(rig: HeadRig, part_name: str, verts: np.ndarray, name: str) -> bpy.types.Mesh:
    part = rig.parts[part_name]
    ids = part.vertex_ids
    me = bpy.data.meshes.new(name)
    me.vertices.add(len(ids))
    me.vertices.foreach_set("co", verts[ids].astype(np.float32).ravel())
    me.loops.add(len(part.loop_vert))
    me.loops.foreach_set("vertex_index", part.local_loops)
    me.polygons.add(len(part.loop_start))
    me.polygons.foreach_set("loop_start", part.loop_start.astype(np.int32))
    uv = me.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", part.loop_uv.astype(np.float32).ravel())
    me.update(calc_edges=True)
    me.validate(verbose=False)
    me.polygons.foreach_set("material_index", part.material.astype(np.int32))
    me.shade_smooth()
    return me


def _add_shape_keys(obj: bpy.types.Object, rig: HeadRig, part_name: str, always: set[str]) -> None:
    ids = rig.parts[part_name].vertex_ids
    basis = obj.shape_key_add(name="Basis", from_mix=False)
    basis_co = np.array(rig.verts[ids], dtype=np.float64)
    for key_name, targets in shape_key_targets().items():
        delta = np.zeros((len(ids), 3))
        for t in targets:
            delta += rig.target_dense(t)[ids]
        if key_name not in always and np.abs(delta).max(initial=0.0) < MIN_KEY_EFFECT:
            continue
        kb = obj.shape_key_add(name=key_name, from_mix=False)
        kb.points.foreach_set("co", (basis_co + delta).astype(np.float32).ravel())
        kb.value = 0.0
    obj.data.shape_keys.use_relative = True
    del basis


def _skin(obj: bpy.types.Object, rig: HeadRig, part_name: str) -> None:
    ids = rig.parts[part_name].vertex_ids
    groups = [obj.vertex_groups.new(name=b) for b in rig.bone_names]
    wb, wv = rig.weight_bone[ids], rig.weight_value[ids]
    for k in range(wb.shape[1]):
        for b in np.unique(wb[:, k]):
            sel = np.flatnonzero((wb[:, k] == b) & (wv[:, k] > 0))
            # one add() per distinct weight keeps the Python loop short
            for w in np.unique(wv[sel, k]):
                groups[int(b)].add(sel[wv[sel, k] == w].tolist(), float(w), "ADD")


def _set_bone_rest(arm_obj: bpy.types.Object, rig: HeadRig, verts: np.ndarray) -> None:
    heads, tails = rig.bone_ends(verts)
    view_layer = bpy.context.view_layer
    prev_active = view_layer.objects.active
    view_layer.objects.active = arm_obj
    prev = arm_obj.mode
    try:
        bpy.ops.object.mode_set(mode="EDIT")
        eb = arm_obj.data.edit_bones
        for i, name in enumerate(rig.bone_names):
            b = eb.get(name) or eb.new(name)
            b.head, b.tail, b.roll = heads[i], tails[i], float(rig.bone_roll[i])
        for i, name in enumerate(rig.bone_names):
            p = int(rig.bone_parent[i])
            eb[name].parent = eb[rig.bone_names[p]] if p >= 0 else None
            eb[name].use_connect = False
    finally:
        bpy.ops.object.mode_set(mode=prev if prev != "EDIT" else "OBJECT")
        view_layer.objects.active = prev_active


def _neutral_shape_verts(rig: HeadRig, avatar: Avatar) -> np.ndarray:
    return rig.deformed(target_weights(avatar.shape))


def build_avatar(avatar: Avatar, scene: bpy.types.Scene | None = None, name: str = "Avatar",
                 look: str = "toon", rig: HeadRig | None = None) -> AvatarObjects:
    """Create the avatar's collection in ``scene`` (default: the context scene)."""
    scene = scene or bpy.context.scene
    rig = rig or load_rig()
    coll = bpy.data.collections.new(name)
    scene.collection.children.link(coll)

    arm = bpy.data.armatures.new(f"{name}_rig")
    arm_obj = bpy.data.objects.new(f"{name}_rig", arm)
    coll.objects.link(arm_obj)
    verts = _neutral_shape_verts(rig, avatar)

    parts = {}
    for part_name in rig.parts:
        me = _part_mesh(rig, part_name, rig.verts, f"{name}_{part_name}")
        obj = bpy.data.objects.new(f"{name}_{part_name}", me)
        coll.objects.link(obj)
        obj.parent = arm_obj
        _add_shape_keys(obj, rig, part_name, always=set(ARKIT_NAMES) if part_name == "head" else set())
        _skin(obj, rig, part_name)
        mod = obj.modifiers.new("Armature", "ARMATURE")
        mod.object = arm_obj
        obj["photo2avatar_part"] = part_name
        parts[part_name] = obj

    objs = AvatarObjects(coll, arm_obj, parts, {})
    _sync_assets(objs, avatar, rig, replace_all=True)
    _set_bone_rest(arm_obj, rig, apply_style(objs, avatar, rig, verts, force=True))
    looks.apply_look(objs, avatar, look)
    _apply_values(objs, avatar)
    coll[PROP] = json.dumps(avatar.to_dict())
    coll["photo2avatar_look"] = look
    return objs


def _sync_assets(objs: AvatarObjects, avatar: Avatar, rig: HeadRig, replace_all: bool = False) -> list[str]:
    """Make the asset objects match ``avatar.assets``; returns the kinds that changed."""
    changed = []
    for kind in ASSET_KINDS:
        want = asset_key(kind, avatar.assets[kind])
        have = objs.assets.get(kind)
        if have is not None and have.get("photo2avatar_asset") == want and not replace_all:
            continue
        if have is not None:
            remove_asset(have)
            objs.assets.pop(kind)
        obj = attach_asset(objs, kind, avatar.assets[kind], rig)
        if obj is not None:
            objs.assets[kind] = obj
        changed.append(kind)
    return changed


def _apply_values(objs: AvatarObjects, avatar: Avatar) -> None:
    vals = shape_key_values(avatar.shape, avatar.expression)
    vals[STYLE_KEY] = float(avatar.style.get("strength", 1.0))
    for obj in [*objs.parts.values(), *objs.assets.values()]:
        for kb in obj.data.shape_keys.key_blocks[1:]:
            v = vals.get(kb.name)
            if v is not None and kb.value != v:
                kb.value = v


def update_avatar(objs: AvatarObjects, avatar: Avatar, rig: HeadRig | None = None) -> None:
    """Apply ``avatar`` to an existing build in place (no objects are recreated)."""
    rig = rig or load_rig()
    old = objs.avatar()
    changed = _sync_assets(objs, avatar, rig)
    if old.shape != avatar.shape or old.style != avatar.style or changed:
        rest = apply_style(objs, avatar, rig, _neutral_shape_verts(rig, avatar), force=bool(changed))
        if old.shape != avatar.shape or old.style != avatar.style:
            _set_bone_rest(objs.armature, rig, rest)
    if changed:
        looks.apply_look(objs, avatar, objs.collection.get("photo2avatar_look", "toon"),
                         only=[objs.assets[k] for k in changed if k in objs.assets])
    _apply_values(objs, avatar)
    if old.colors != avatar.colors or old.hair != avatar.hair:
        looks.set_colors(objs, avatar)
    objs.collection[PROP] = json.dumps(avatar.to_dict())


def refresh_style(objs: AvatarObjects, rig: HeadRig | None = None) -> None:
    """Recompute the style keys, carried expressions and bone rest from the stored avatar
    (after the backend delivered the deformation, or a bake)."""
    rig = rig or load_rig()
    avatar = objs.avatar()
    _set_bone_rest(objs.armature, rig, apply_style(objs, avatar, rig, _neutral_shape_verts(rig, avatar), force=True))
    _apply_values(objs, avatar)


def find_avatar(collection: bpy.types.Collection) -> AvatarObjects:
    """Recover the handles of an avatar built earlier (e.g. after reopening a .blend)."""
    if PROP not in collection:
        raise ValueError(f"collection {collection.name!r} is not a photo2avatar avatar")
    arm = next(o for o in collection.objects if o.type == "ARMATURE")
    parts = {o["photo2avatar_part"]: o for o in collection.objects if "photo2avatar_part" in o}
    assets = {o["photo2avatar_asset"].split("/")[0]: o for o in collection.objects
              if "photo2avatar_asset" in o}
    return AvatarObjects(collection, arm, parts, assets)


def evaluated_vertices(obj: bpy.types.Object) -> np.ndarray:
    """(V, 3) world-space vertex positions after shape keys and the armature, in the
    mesh's own vertex order (the toon outline shell is left out)."""
    outline = obj.modifiers.get("Outline")
    was = outline.show_viewport if outline else None
    if outline:
        outline.show_viewport = False
    try:
        depsgraph = bpy.context.evaluated_depsgraph_get()
        depsgraph.update()
        ev = obj.evaluated_get(depsgraph)
        me = ev.to_mesh()
        try:
            co = np.empty(len(me.vertices) * 3, dtype=np.float32)
            me.vertices.foreach_get("co", co)
            co = co.reshape(-1, 3).astype(np.float64)
            m = np.array(ev.matrix_world)
            return co @ m[:3, :3].T + m[:3, 3]
        finally:
            ev.to_mesh_clear()
    finally:
        if outline:
            outline.show_viewport = was
