"""The photo's face blended into a character's own base-colour texture (bpy side of
:mod:`inference.character_texture`).

Their files are never changed: the face material gets a copy of its base-colour image
(``<image>.photo2avatar``, packed into the .blend) with the face blended in; a material
other objects share is copied for this object first, so nothing else in their scene
changes. A face material without an image texture gets a new image, filled with its base
colour, wired to the Principled BSDF's Base Color. A base colour driven by anything else
(a procedural, a mix of images) is left alone and the report says so.
"""
from __future__ import annotations

import bpy
import numpy as np

from inference.character_fit import SurfacePoints

NEW_IMAGE_SIZE = 2048
SUFFIX = ".photo2avatar"


def uv_triangles(obj: bpy.types.Object) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(vertex ids (T, 3), loop UVs (T, 3, 2), material index (T,)) of the mesh's loop
    triangles in its render UV map; None without a UV map."""
    me = obj.data
    if not me.uv_layers:
        return None
    layer = next((u for u in me.uv_layers if u.active_render), me.uv_layers.active)
    me.calc_loop_triangles()
    nt = len(me.loop_triangles)
    verts = np.empty(nt * 3, np.int64)
    loops = np.empty(nt * 3, np.int64)
    mat = np.empty(nt, np.int64)
    me.loop_triangles.foreach_get("vertices", verts)
    me.loop_triangles.foreach_get("loops", loops)
    me.loop_triangles.foreach_get("material_index", mat)
    uv = np.empty(len(me.loops) * 2, np.float64)
    layer.data.foreach_get("uv", uv)
    return verts.reshape(nt, 3), uv.reshape(-1, 2)[loops].reshape(nt, 3, 2), mat


def _principled(mat: bpy.types.Material):
    out = next((n for n in mat.node_tree.nodes if n.type == "OUTPUT_MATERIAL" and n.is_active_output), None)
    if out is not None and out.inputs["Surface"].is_linked:
        node = out.inputs["Surface"].links[0].from_node
        if node.type == "BSDF_PRINCIPLED":
            return node
    return next((n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED"), None)


def _face_material(obj: bpy.types.Object, slot_index: int, held: tuple = ()) -> bpy.types.Material:
    """The material of the face's slot, made this object's own (copied if shared), with nodes.
    ``held``: meshes of ours whose uses do not count (the copy kept for restoring)."""
    if not obj.material_slots:
        obj.data.materials.append(None)
        slot_index = 0
    slot = obj.material_slots[min(slot_index, len(obj.material_slots) - 1)]
    mat = slot.material
    if mat is None:
        mat = bpy.data.materials.new(f"{obj.name}{SUFFIX}")
        mat.use_nodes = True
        slot.material = mat
    elif mat.users > 1:
        users = sum(1 for s in obj.material_slots if s.material == mat)
        users += sum(1 for me in held for m in me.materials if m == mat)
        if mat.users - int(mat.use_fake_user) > users:         # another object (or a mesh copy) uses it too
            mat = mat.copy()
            mat.name = f"{slot.material.name}{SUFFIX}"
            slot.material = mat
    if not mat.use_nodes:
        mat.use_nodes = True
    return mat


def _srgb_from_linear(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def _linear_from_srgb(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, np.power((c + 0.055) / 1.055, 2.4))


def _target_image(mat: bpy.types.Material, bsdf) -> tuple[bpy.types.Image | None, str]:
    """A copy of the image feeding Base Color (or a new one filled with the base colour)
    wired in its place; (None, why) when the base colour is not a plain image."""
    base = bsdf.inputs["Base Color"]
    if base.is_linked:
        node = base.links[0].from_node
        if node.type != "TEX_IMAGE" or node.image is None:
            return None, f"the base colour of {mat.name!r} comes from a {node.type.lower()} node, not an image"
        src = node.image
        if src.name.endswith(SUFFIX):          # applied before: paint over our own copy
            return src, "existing"
        if src.size[0] > 0 and src.size[1] > 0:
            img = src.copy()
            img.name = f"{src.name}{SUFFIX}"
            node.image = img
            return img, "copied"
        why = "new (their image has no pixels: file missing?)"
        node.image = img = _filled_image(mat, (0.8, 0.8, 0.8, 1.0))
        return img, why
    img = _filled_image(mat, tuple(base.default_value))
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = img
    node.location = (bsdf.location[0] - 320, bsdf.location[1])
    mat.node_tree.links.new(node.outputs["Color"], base)
    return img, "new"


def _filled_image(mat: bpy.types.Material, linear_rgba) -> bpy.types.Image:
    img = bpy.data.images.new(f"{mat.name.removesuffix(SUFFIX)}{SUFFIX}", NEW_IMAGE_SIZE, NEW_IMAGE_SIZE, alpha=False)
    rgb = _srgb_from_linear(np.asarray(linear_rgba[:3], np.float64))
    px = np.empty((NEW_IMAGE_SIZE * NEW_IMAGE_SIZE, 4), np.float32)
    px[:, :3], px[:, 3] = rgb, 1.0
    img.pixels.foreach_set(px.ravel())
    return img


def apply_face_texture(obj: bpy.types.Object, surface: SurfacePoints, head_rgb: np.ndarray) -> dict:
    """Blend the photo's face (``head_rgb``: our head's UV texture, see
    :func:`inference.character_texture.character_head_texture`) into ``obj``'s base-colour
    texture through its UVs; returns report figures (``texture``: what was painted, or
    why nothing was)."""
    from inference.character_texture import transfer_texture

    from .character import rest_geometry
    tri = uv_triangles(obj)
    if tri is None:
        return {"texture": "skipped: the mesh has no UV map"}
    vids, uv, mat_index = tri
    # the face's material: the one most triangles at the landmarks use
    lm_verts = np.zeros(len(obj.data.vertices), bool)
    lm_verts[surface.tri[surface.valid].ravel()] = True
    at_face = lm_verts[vids].any(1)
    slot = int(np.bincount(mat_index[at_face]).argmax()) if at_face.any() else 0
    mat = _face_material(obj, slot)
    bsdf = _principled(mat)
    if bsdf is None:
        return {"texture": f"skipped: {mat.name!r} has no Principled BSDF"}
    img, how = _target_image(mat, bsdf)
    if img is None:
        return {"texture": f"skipped: {how}"}
    w, h = img.size
    if img.channels < 3:
        return {"texture": f"skipped: {img.name!r} is not an RGB image"}
    verts, _ = rest_geometry(obj)
    patch = transfer_texture(verts, vids, uv, surface, head_rgb, (w, h))
    ch = img.channels
    px = np.empty(w * h * ch, np.float32)
    img.pixels.foreach_get(px)
    px = px.reshape(h, w, ch)
    rgb = patch.rgb[::-1]                     # image rows start at the bottom (v = 0)
    a = patch.alpha[::-1, :, None]
    if img.is_float:                          # float buffers hold linear values
        rgb = _linear_from_srgb(rgb)
    px[..., :3] = px[..., :3] * (1.0 - a) + rgb * a
    img.pixels.foreach_set(px.ravel())
    img.update()
    img.pack()
    return {"texture": how, "texture_image": img.name, "texture_material": mat.name, **patch.info}
