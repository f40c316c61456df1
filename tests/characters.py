"""Characters of other topologies for the apply tests and benchmark, made in Blender from
the rig's head by changing its topology (no file of ours is reused as is):

* ``lowpoly``: head and eyeballs decimated to a third (about 1,900 vertices), new UVs.
* ``body``: head and eyeballs subdivided once (about 20,000 vertices) on a cylinder torso,
  in centimetres and away from the origin, as a full-body character might come.
* ``remeshed``: other proportions (wider skull, narrower jaw, longer nose, bigger eyes),
  then voxel-remeshed into one closed surface (eyes and lips fused, as a sculpt comes).

Each has an armature (root, neck, head, jaw, eye.L, eye.R) with vertex groups and an
Armature modifier, a UV map, and a shape key ``CheekPuff`` of its own; on request a
base-colour image of its own.
"""
from __future__ import annotations

import bpy
import numpy as np


def _rig_head_mesh(name: str) -> bpy.types.Object:
    from rigs.rig_asset import load_rig
    rig = load_rig()
    parts = [rig.parts[n] for n in ("head", "eye_L", "eye_R")]
    ids = np.concatenate([p.vertex_ids for p in parts])
    tris = np.concatenate([np.searchsorted(ids, p.triangles()) for p in parts])
    me = bpy.data.meshes.new(name)
    me.from_pydata(rig.verts[ids].tolist(), [], tris.tolist())
    me.shade_smooth()
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _apply(obj, kind: str, **settings) -> None:
    mod = obj.modifiers.new("topology", kind)
    for k, v in settings.items():
        setattr(mod, k, v)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.modifier_apply(modifier=mod.name)


def _uv_and_select(obj) -> None:
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.object.mode_set(mode="EDIT")
    bpy.ops.mesh.select_all(action="SELECT")
    bpy.ops.uv.smart_project()
    bpy.ops.object.mode_set(mode="OBJECT")


def _rig(obj, scale: float) -> bpy.types.Object:
    """An armature with a few bones, vertex groups by nearest joint, an Armature modifier."""
    v = np.array([vv.co for vv in obj.data.vertices])
    lo, hi = v.min(0), v.max(0)
    h = hi[2] - lo[2]
    top = hi[2]
    head_h = 0.25 * scale             # the head's height in the mesh's units
    cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
    joints = {"root": ((cx, cy, lo[2]), (cx, cy, lo[2] + 0.1 * h)),
              "neck": ((cx, cy, top - 1.1 * head_h), (cx, cy, top - 0.8 * head_h)),
              "head": ((cx, cy, top - 0.8 * head_h), (cx, cy, top)),
              "jaw": ((cx, cy, top - 0.6 * head_h), (cx, cy - 0.35 * head_h, top - 0.75 * head_h)),
              "eye.L": ((cx + 0.13 * head_h, cy - 0.3 * head_h, top - 0.45 * head_h),
                        (cx + 0.13 * head_h, cy - 0.4 * head_h, top - 0.45 * head_h)),
              "eye.R": ((cx - 0.13 * head_h, cy - 0.3 * head_h, top - 0.45 * head_h),
                        (cx - 0.13 * head_h, cy - 0.4 * head_h, top - 0.45 * head_h))}
    arm = bpy.data.objects.new(obj.name + "_rig", bpy.data.armatures.new(obj.name + "_rig"))
    bpy.context.scene.collection.objects.link(arm)
    arm.matrix_world = obj.matrix_world.copy()
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for name, (a, b) in joints.items():
        eb = arm.data.edit_bones.new(name)
        eb.head, eb.tail = a, b
    for name in ("neck", "head"):
        arm.data.edit_bones[name].parent = arm.data.edit_bones["root" if name == "neck" else "neck"]
    bpy.ops.object.mode_set(mode="OBJECT")
    heads = {n: np.array(a) for n, (a, _) in joints.items()}
    names = list(heads)
    nearest = np.argmin([np.linalg.norm(v - heads[n], axis=1) for n in names], axis=0)
    for i, n in enumerate(names):
        g = obj.vertex_groups.new(name=n)
        g.add(np.flatnonzero(nearest == i).tolist(), 1.0, "REPLACE")
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    return arm


def _cheek_puff(obj, scale: float) -> None:
    obj.shape_key_add(name="Basis")
    kb = obj.shape_key_add(name="CheekPuff")
    v = np.array([vv.co for vv in obj.data.vertices])
    n = np.array([vv.normal for vv in obj.data.vertices])
    top = v[:, 2].max()
    cheek = (np.abs(v[:, 0] - v[:, 0].mean()) > 0.04 * scale) & (v[:, 2] < top - 0.14 * scale) & \
        (v[:, 2] > top - 0.2 * scale) & (v[:, 1] < v[:, 1].mean())
    co = v + n * (0.004 * scale) * cheek[:, None]
    kb.data.foreach_set("co", co.ravel())


def _stylize(obj) -> None:
    """Other proportions: a wider skull, a narrower jaw, a longer nose, bigger eyes."""
    v = np.array([vv.co for vv in obj.data.vertices])
    lo, hi = v.min(0), v.max(0)
    c = (lo + hi) / 2
    h = (v[:, 2] - lo[2]) / (hi[2] - lo[2])                 # 0 at the neck, 1 at the crown
    x = v[:, 0] - c[0]
    v[:, 0] = c[0] + x * (0.85 + 0.3 * h)                   # narrow chin, wide skull
    front = np.clip((c[1] - v[:, 1]) / (c[1] - lo[1]), 0.0, 1.0)
    nose = np.exp(-((x / 0.02) ** 2 + ((h - 0.55) / 0.08) ** 2)) * front ** 4
    v[:, 1] -= 0.012 * nose                                 # up to 12 mm longer nose
    for side in (1.0, -1.0):                                 # eyes (and their sockets) 20% larger
        eye = np.array([c[0] + side * 0.032, lo[1] + 0.03, lo[2] + 0.62 * (hi[2] - lo[2])])
        d = v - eye
        w = np.exp(-(np.linalg.norm(d, axis=1) / 0.025) ** 2)[:, None]
        v = v + 0.2 * w * d
    obj.data.vertices.foreach_set("co", v.ravel())
    obj.data.update()


def _their_texture(obj, rgb=(0.30, 0.52, 0.78)) -> bpy.types.Image:
    """A packed 1024 base-colour image (their own paint: a flat colour with grid lines) on a
    Principled material."""
    img = bpy.data.images.new("their_paint", 1024, 1024, alpha=False)
    px = np.empty((1024, 1024, 4), np.float32)
    px[...] = (*rgb, 1.0)
    px[::64, :, :3] = px[:, ::64, :3] = 0.1
    img.pixels.foreach_set(px.ravel())
    img.pack()
    mat = bpy.data.materials.new("their_material")
    mat.use_nodes = True
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = img
    mat.node_tree.links.new(node.outputs["Color"], mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"])
    obj.data.materials.append(mat)
    return img


def make_character(kind: str, textured: bool = False) -> bpy.types.Object:
    """A character mesh (with its armature) in the current scene; ``textured``: with a
    base-colour image of its own (:func:`_their_texture`)."""
    if kind == "lowpoly":
        obj = _rig_head_mesh("LowPolyHead")
        _apply(obj, "DECIMATE", ratio=0.35)
        scale = 1.0
    elif kind == "body":
        obj = _rig_head_mesh("BodyCharacter")
        _apply(obj, "SUBSURF", levels=1, render_levels=1)
        v = np.array([vv.co for vv in obj.data.vertices])
        neck_z = v[:, 2].min()
        bpy.ops.mesh.primitive_cylinder_add(vertices=48, radius=0.16, depth=0.6,
                                            location=(v[:, 0].mean(), v[:, 1].mean(), neck_z - 0.3))
        torso = bpy.context.active_object
        bpy.ops.object.select_all(action="DESELECT")
        torso.select_set(True)
        obj.select_set(True)
        bpy.context.view_layer.objects.active = obj
        bpy.ops.object.join()
        obj.scale = (100.0, 100.0, 100.0)           # centimetres
        bpy.ops.object.transform_apply(location=False, rotation=False, scale=True)
        obj.location = (40.0, -25.0, 80.0)
        scale = 100.0
    elif kind == "remeshed":
        obj = _rig_head_mesh("StylizedHead")
        _stylize(obj)
        _apply(obj, "REMESH", mode="SMOOTH", octree_depth=6, scale=0.9, use_remove_disconnected=False)
        scale = 1.0
    else:
        raise ValueError(kind)
    _uv_and_select(obj)
    if textured:
        _their_texture(obj)
    _cheek_puff(obj, scale)
    _rig(obj, scale)
    bpy.context.view_layer.update()
    return obj
