"""The photo applied to a character inside the artist's open Blender, and undone in one step.

The artist's Blender has neither SciPy nor MediaPipe, so the work happens in the backend
process (which has the bpy module): the add-on writes the character (mesh object, its
armature, materials and images) to a temporary .blend (:func:`export_character`), the
backend applies the photo to its copy there exactly as ``photo2avatar apply`` does and
records what changed (:func:`record_edit`: vertex offsets, re-seated bones, new shape
keys, the painted image) in an ``.npz`` (no pickles) and a PNG, and the add-on writes that
into the live object (:func:`write_edit`). Before writing, it keeps what it will change
(the mesh datablock, the bones' rest positions, the image a material used), so
:func:`restore` brings the character back as it was in one step, whatever was done since
in between with Blender's own undo.

Only bpy and NumPy are used here: the module runs in the artist's Blender.
"""
from __future__ import annotations

import json
from pathlib import Path

import bpy
import numpy as np

RESTORE_KEY = "photo2avatar_restore"     # custom property on the object: what restore needs (JSON)


def export_character(obj: bpy.types.Object, path: str | Path) -> None:
    """Write ``obj`` with its armature, materials and their images to a .blend of its own
    (absolute paths: the backend reads it from elsewhere)."""
    blocks = {obj, obj.data}
    arm = obj.find_armature()
    if arm is not None:
        blocks |= {arm, arm.data}
    for slot in obj.material_slots:
        if slot.material is not None:
            blocks.add(slot.material)
            if slot.material.node_tree is not None:
                blocks |= {n.image for n in slot.material.node_tree.nodes
                           if n.type == "TEX_IMAGE" and n.image is not None}
    bpy.data.libraries.write(str(path), blocks, path_remap="ABSOLUTE", fake_user=True)


def _basis(obj) -> np.ndarray:
    me = obj.data
    co = np.empty(len(me.vertices) * 3)
    (me.shape_keys.reference_key.data if me.shape_keys is not None else me.vertices).foreach_get("co", co)
    return co.reshape(-1, 3)


def _key_coords(obj) -> dict[str, np.ndarray]:
    me = obj.data
    out = {}
    for kb in (me.shape_keys.key_blocks if me.shape_keys is not None else []):
        co = np.empty(len(me.vertices) * 3)
        kb.data.foreach_get("co", co)
        out[kb.name] = co.reshape(-1, 3)
    return out


def _bones(obj) -> dict[str, list[float]]:
    arm = obj.find_armature()
    if arm is None:
        return {}
    return {b.name: [*b.head_local, *b.tail_local] for b in arm.data.bones}


def state(obj: bpy.types.Object) -> dict:
    """What :func:`record_edit` compares against: the basis, the keys' names, the bones."""
    return {"basis": _basis(obj), "keys": list(_key_coords(obj)), "bones": _bones(obj),
            "images": {i.name for i in bpy.data.images}}


def record_edit(obj: bpy.types.Object, before: dict, report: dict, out_dir: str | Path) -> dict:
    """After the photo was applied to ``obj``: write what changed since ``before``
    (:func:`state`) to ``out_dir``; returns the result message's fields."""
    out_dir = Path(out_dir)
    basis = _basis(obj)
    keys = _key_coords(obj)
    arrays = {"offsets": (basis - before["basis"]).astype(np.float32)}
    new_keys = [k for k in keys if k not in before["keys"]]
    for i, name in enumerate(new_keys):
        d = keys[name] - basis
        moved = np.flatnonzero(np.abs(d).max(1) > 0)
        arrays[f"key{i}_ids"] = moved.astype(np.int32)
        arrays[f"key{i}_deltas"] = d[moved].astype(np.float32)
    bones = {n: v for n, v in _bones(obj).items() if not np.allclose(v, before["bones"].get(n, v), atol=0)}
    meta = {"vertices": len(basis), "new_keys": new_keys, "bones": bones, "report": report}
    painted = report.get("texture_image")
    if painted and painted in bpy.data.images:
        import cv2                         # the backend's (the artist's Blender has no OpenCV)
        img = bpy.data.images[painted]
        w, h = img.size
        px = np.empty(w * h * img.channels, np.float32)
        img.pixels.foreach_get(px)
        rgb = px.reshape(h, w, img.channels)[::-1, :, :3]
        if img.is_float:
            from .character_texture import _srgb_from_linear
            rgb = _srgb_from_linear(rgb)
        png = out_dir / "texture.png"
        cv2.imwrite(str(png), cv2.cvtColor(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
        meta["texture_png"] = str(png)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path = out_dir / "edit.npz"
    np.savez_compressed(path, **arrays)
    return {"edit": str(path), "report": report}


def read_edit(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, arrays) of an edit file; ValueError for a file that is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"{path}: not a photo2avatar character edit ({e})") from None
    return meta, arrays


def write_edit(obj: bpy.types.Object, path: str | Path) -> dict:
    """Write the edit at ``path`` (:func:`record_edit`) into ``obj``, keeping what
    :func:`restore` needs; returns the backend's report."""
    from .character import _set_coords
    meta, arrays = read_edit(path)
    me = obj.data
    if meta["vertices"] != len(me.vertices):
        raise ValueError(f"{obj.name!r} has {len(me.vertices)} vertices, the edit was made for "
                         f"{meta['vertices']}: it changed since; apply the photo again")
    keep = {"mesh": None, "bones": {}, "images": []}
    if RESTORE_KEY not in obj:          # applied again: restore still goes back to the very first state
        saved = me.copy()
        saved.name = f"{me.name}.before_photo2avatar"
        saved.use_fake_user = True
        keep["mesh"] = saved.name
        keep["bones"] = _bones(obj)
    else:
        keep = json.loads(obj[RESTORE_KEY])
    _set_coords(obj, arrays["offsets"].astype(np.float64))
    if meta["bones"]:
        _set_bone_rest(obj, meta["bones"])
    if meta["new_keys"]:
        if me.shape_keys is None:
            obj.shape_key_add(name="Basis", from_mix=False)
        basis = _basis(obj)
        for i, name in enumerate(meta["new_keys"]):
            if name in me.shape_keys.key_blocks:
                continue
            kb = obj.shape_key_add(name=name, from_mix=False)
            co = basis.copy()
            co[arrays[f"key{i}_ids"]] += arrays[f"key{i}_deltas"]
            kb.data.foreach_set("co", co.ravel())
            kb.value = 0.0
    if meta.get("texture_png"):
        saved = bpy.data.meshes.get(keep["mesh"] or "")
        keep["images"] += _paint(obj, meta, () if saved is None else (saved,))
    me.update()
    obj[RESTORE_KEY] = json.dumps(keep)
    return meta["report"]


def _set_bone_rest(obj, bones: dict[str, list[float]]) -> None:
    from mathutils import Vector
    arm = obj.find_armature()
    view_layer = bpy.context.view_layer
    active, linked = view_layer.objects.active, arm.name in view_layer.objects
    if not linked:
        bpy.context.scene.collection.objects.link(arm)
    view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        for name, v in bones.items():
            eb = arm.data.edit_bones.get(name)
            if eb is not None:
                eb.head, eb.tail = Vector(v[:3]), Vector(v[3:])
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = active
        if not linked:
            bpy.context.scene.collection.objects.unlink(arm)


def _paint(obj, meta: dict, held: tuple) -> list[list[str]]:
    """Put the backend's painted image where :mod:`blender_addon.character_texture` puts it
    on the live object; returns (material, node, image before) for each node it re-pointed."""
    from .character_texture import SUFFIX, _face_material, _principled, _target_image
    name = meta["report"].get("texture_material", "")
    slot = next((i for i, s in enumerate(obj.material_slots)
                 if s.material is not None and s.material.name in (name, name.removesuffix(SUFFIX))), 0)
    before = {s.material.name: s.material for s in obj.material_slots if s.material is not None}
    mat = _face_material(obj, slot, held)
    bsdf = _principled(mat)
    if bsdf is None:
        return []
    base = bsdf.inputs["Base Color"]
    old = base.links[0].from_node.image.name if base.is_linked and base.links[0].from_node.type == "TEX_IMAGE" \
        and base.links[0].from_node.image is not None else ""
    img, _ = _target_image(mat, bsdf)
    if img is None:
        return []
    src = bpy.data.images.load(meta["texture_png"], check_existing=False)
    try:
        if tuple(src.size) != tuple(img.size):
            src.scale(*img.size)
        px = np.empty(img.size[0] * img.size[1] * 4, np.float32)
        src.pixels.foreach_get(px)
        if img.is_float:                   # float buffers hold linear values
            from .character_texture import _linear_from_srgb
            px = px.reshape(-1, 4)
            px[:, :3] = _linear_from_srgb(px[:, :3])
            px = px.ravel()
        if img.channels == 4:
            img.pixels.foreach_set(px)
        else:
            img.pixels.foreach_set(px.reshape(-1, 4)[:, :img.channels].ravel())
        img.update()
        img.pack()
    finally:
        bpy.data.images.remove(src)
    node = base.links[0].from_node
    return [[mat.name, node.name, old, "" if mat.name in before else "new"]]


def restore(obj: bpy.types.Object) -> bool:
    """Bring ``obj`` back to how it was before the first :func:`write_edit`; False if there
    is nothing to restore."""
    if RESTORE_KEY not in obj:
        return False
    keep = json.loads(obj[RESTORE_KEY])
    saved = bpy.data.meshes.get(keep["mesh"] or "")
    if saved is not None:
        edited, name = obj.data, obj.data.name
        obj.data = saved
        saved.use_fake_user = False
        if edited.users == 0:
            bpy.data.meshes.remove(edited)
        saved.name = name                  # its own name back (free once the edited mesh is gone)
    if keep["bones"]:
        _set_bone_rest(obj, keep["bones"])
    for mat_name, node_name, old_image, made in reversed(keep["images"]):   # latest first
        mat = bpy.data.materials.get(mat_name)
        if mat is None or mat.node_tree is None:
            continue
        node = mat.node_tree.nodes.get(node_name)
        if node is None:
            continue
        if old_image and old_image in bpy.data.images:
            node.image = bpy.data.images[old_image]
        elif not old_image and made != "new":      # a node we added to their own material
            mat.node_tree.nodes.remove(node)
    del obj[RESTORE_KEY]
    return True
