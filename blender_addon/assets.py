"""Attach library assets (hair, eyebrows, beard, glasses) to an avatar in Blender.

An asset becomes one mesh object parented to the avatar's armature, with an Armature
modifier and its own shape keys: the catalogue sliders (so it keeps fitting when the
face changes) and, for brows and beards, the ARKit expressions. Hair and glasses are
bound rigidly to the ``head`` bone; brows and beards take their anchors' skin weights,
so they follow the jaw.
"""
from __future__ import annotations

import bpy
import numpy as np

from rigs.arkit import ARKIT_NAMES
from rigs.asset_library import AssetData, default_key_basis, load_library
from rigs.catalogue import shape_key_targets
from rigs.rig_asset import HeadRig, load_rig

WEIGHT_STEP = 1 / 256   # skin weights are quantised so vertex groups fill in few calls


def asset_key(kind: str, asset_id: str) -> str:
    return f"{kind}/{asset_id}"


def _mesh(name: str, asset: AssetData, co: np.ndarray) -> bpy.types.Mesh:
    me = bpy.data.meshes.new(name)
    me.vertices.add(len(co))
    me.vertices.foreach_set("co", co.astype(np.float32).ravel())
    me.loops.add(len(asset.loop_vert))
    me.loops.foreach_set("vertex_index", asset.loop_vert)
    me.polygons.add(len(asset.loop_start))
    me.polygons.foreach_set("loop_start", asset.loop_start.astype(np.int32))
    me.update(calc_edges=True)
    me.validate(verbose=False)
    me.polygons.foreach_set("material_index", asset.poly_material.astype(np.int32))
    if asset.uv is not None:
        # strand coordinates drive the hair material (strands, frayed tips, root colour)
        layer = me.uv_layers.new(name="UVMap")
        layer.data.foreach_set("uv", asset.uv[asset.loop_vert].astype(np.float32).ravel())
    me.shade_smooth()
    return me


def _skin_weights(asset: AssetData, rig: HeadRig) -> np.ndarray:
    """(n, B) bone weights: the head bone for rigid assets, else blended from the anchors."""
    w = np.zeros((asset.n_verts, len(rig.bone_names)))
    if asset.rigid:
        w[:, rig.bone_names.index("head")] = 1.0
        return w
    att = asset.att
    for k in range(att.anchor.shape[1]):
        bones = rig.weight_bone[att.anchor[:, k]]
        vals = rig.weight_value[att.anchor[:, k]] * att.weight[:, k:k + 1]
        for j in range(bones.shape[1]):
            np.add.at(w, (np.arange(asset.n_verts), bones[:, j]), vals[:, j])
    return w


def attach_asset(objs, kind: str, asset_id: str, rig: HeadRig | None = None) -> bpy.types.Object | None:
    """Create the object of one asset for the avatar ``objs`` (None for ``none``/``bald``)."""
    lib = load_library()
    key = asset_key(kind, asset_id)
    if key not in lib:
        return None
    rig = rig or load_rig()
    asset = lib[key]
    basis = default_key_basis()
    names = [k for k in shape_key_targets() if asset.expressions or k not in ARKIT_NAMES]
    base, keyed = basis.asset_keys(asset, names)
    name = f"{objs.collection.name}_{kind}"
    obj = bpy.data.objects.new(name, _mesh(name, asset, base))
    objs.collection.objects.link(obj)
    obj.parent = objs.armature
    obj.shape_key_add(name="Basis", from_mix=False)
    for k, pos in keyed.items():
        kb = obj.shape_key_add(name=k, from_mix=False)
        kb.points.foreach_set("co", pos.astype(np.float32).ravel())
        kb.value = 0.0
    w = np.round(_skin_weights(asset, rig) / WEIGHT_STEP) * WEIGHT_STEP
    for b in np.flatnonzero(w.max(0) > 0):
        vg = obj.vertex_groups.new(name=rig.bone_names[b])
        col = w[:, b]
        for val in np.unique(col[col > 0]):
            vg.add(np.flatnonzero(col == val).tolist(), float(val), "REPLACE")
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = objs.armature
    obj["photo2avatar_asset"] = key
    return obj


def remove_asset(obj: bpy.types.Object) -> None:
    """Delete an asset object and the mesh it owned."""
    me = obj.data
    bpy.data.objects.remove(obj, do_unlink=True)
    if me is not None and me.users == 0:
        bpy.data.meshes.remove(me)
