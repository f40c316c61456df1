"""The avatar's two looks, both renderable headless in Cycles (CPU) and Workbench.

* ``toon`` — the signature cel look. Cycles has no Shader-to-RGB, so shading is computed
  in the material: world-space normal · a fixed key-light direction -> constant Color
  Ramp (three bands) -> multiplied with the base colour -> Emission. An inverted-hull
  outline (Solidify with flipped normals) shows only its front faces via Backfacing.
* ``pbr`` — soft Principled BSDF (a little subsurface on skin), lit by the render rig.

Colours come from ``avatar.colors`` (sRGB hex, converted to linear for the sockets); the
same value is written to ``diffuse_color`` so Workbench shows it too.
"""
from __future__ import annotations

import bpy

from blender_addon import hair_material
from inference.avatar import Avatar, hex_to_rgb, srgb_to_linear

LOOKS = ("toon", "pbr")
KEY_LIGHT = (-0.3, -0.85, 0.45)   # toward the light, world space: upper front, avatar's right
OUTLINE_THICKNESS = 0.0012        # metres
# material slot name -> (colour key in avatar.colors, or a fixed sRGB hex)
SLOTS = {
    "skin": "skin", "lips": "lips", "mouth": "#3a1416", "teeth": "#efe9dc", "tongue": "#c4666a",
    "sclera": "#f4f1ec", "iris": "eyes", "pupil": "#0b0b0c",
    "hair": "hair", "eyebrows": "eyebrows", "beard": "hair", "frame": "glasses",
    "stubble": "hair",   # dots of the hair colour over the skin (blender_addon/hair_material.py)
}
STRAND_SLOTS = ("hair", "beard", "stubble")   # on meshes with strand UVs: strand shading
OUTLINED = ("head", "hair/")     # objects that get the inverted-hull outline
PART_SLOTS = {"head": ("skin", "mouth", "lips"), "teeth_upper": ("teeth",), "teeth_lower": ("teeth",),
              "tongue": ("tongue",), "eye_L": ("eye",), "eye_R": ("eye",)}
IRIS_V, PUPIL_V = 0.165, 0.075  # UV v of the iris and pupil edges (pole = v 0 = gaze)
HIGHLIGHT = (-0.045, 0.045, 0.028)  # catch-light centre (polar-UV x, y) and radius


def _rgba(avatar: Avatar, slot: str) -> tuple[float, float, float, float]:
    """Linear RGBA of a material slot: an avatar colour, a fixed colour, or a mix."""
    src = SLOTS[slot]
    if isinstance(src, tuple):           # (colour a, colour b, share of b), mixed in linear light
        a, b, t = src
        ca, cb = (srgb_to_linear(hex_to_rgb(avatar.colors[k])) for k in (a, b))
        return (*(x * (1 - t) + y * t for x, y in zip(ca, cb)), 1.0)
    hexv = avatar.colors[src] if not src.startswith("#") else src
    return (*srgb_to_linear(hex_to_rgb(hexv)), 1.0)


def _base_color_node(nt, avatar: Avatar, slot: str, highlight: bool = False, texture=None):
    """A node whose Color output is the slot's base colour (the eye: sclera/iris/pupil by UV;
    textured skin: the image through the UV map)."""
    if texture is not None and slot == "skin":
        uv = nt.nodes.new("ShaderNodeUVMap")
        img = nt.nodes.new("ShaderNodeTexImage")
        img.name = img.label = "texture:skin"
        img.image = texture
        img.interpolation = "Linear"
        nt.links.new(uv.outputs["UV"], img.inputs["Vector"])
        return img.outputs["Color"]
    if slot != "eye":
        rgb = nt.nodes.new("ShaderNodeRGB")
        rgb.name = rgb.label = f"color:{slot}"
        rgb.outputs[0].default_value = _rgba(avatar, slot)
        return rgb.outputs[0]
    uv = nt.nodes.new("ShaderNodeUVMap")
    sep = nt.nodes.new("ShaderNodeSeparateXYZ")
    nt.links.new(uv.outputs["UV"], sep.inputs[0])
    ramp = nt.nodes.new("ShaderNodeValToRGB")
    ramp.name = ramp.label = "color:eye"
    ramp.color_ramp.interpolation = "CONSTANT"
    els = ramp.color_ramp.elements
    els[0].position, els[0].color = 0.0, _rgba(avatar, "pupil")
    els[1].position, els[1].color = IRIS_V, _rgba(avatar, "sclera")
    mid = els.new(PUPIL_V)
    mid.color = _rgba(avatar, "iris")
    nt.links.new(sep.outputs["Y"], ramp.inputs["Fac"])
    if not highlight:
        return ramp.outputs["Color"]
    # toon catch-light: a white dot on the iris, up and toward the viewer's left, placed in
    # the sphere's polar UV (u = angle around the gaze, v = angle from it)
    def math(op, a, b=None):
        n = nt.nodes.new("ShaderNodeMath")
        n.operation = op
        for i, x in enumerate((a, b)):
            if x is None:
                continue
            if isinstance(x, float):
                n.inputs[i].default_value = x
            else:
                nt.links.new(x, n.inputs[i])
        return n.outputs[0]
    ang = math("MULTIPLY", sep.outputs["X"], 2 * 3.141592653589793)
    px = math("MULTIPLY", math("COSINE", ang), sep.outputs["Y"])
    py = math("MULTIPLY", math("SINE", ang), sep.outputs["Y"])
    dx = math("SUBTRACT", px, HIGHLIGHT[0])
    dy = math("SUBTRACT", py, HIGHLIGHT[1])
    dist = math("SQRT", math("ADD", math("MULTIPLY", dx, dx), math("MULTIPLY", dy, dy)))
    dot = math("LESS_THAN", dist, HIGHLIGHT[2])
    mix = nt.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    nt.links.new(dot, mix.inputs["Factor"])
    nt.links.new(ramp.outputs["Color"], mix.inputs["A"])
    mix.inputs["B"].default_value = (1.0, 1.0, 1.0, 1.0)
    return mix.outputs["Result"]


def _toon_material(name: str, avatar: Avatar, slot: str, texture=None, strands: bool = False
                   ) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    geo = nt.nodes.new("ShaderNodeNewGeometry")
    light = nt.nodes.new("ShaderNodeCombineXYZ")
    for i, c in enumerate(KEY_LIGHT):
        light.inputs[i].default_value = c
    norm = nt.nodes.new("ShaderNodeVectorMath")
    norm.operation = "NORMALIZE"
    nt.links.new(light.outputs[0], norm.inputs[0])
    dot = nt.nodes.new("ShaderNodeVectorMath")
    dot.operation = "DOT_PRODUCT"
    nt.links.new(geo.outputs["Normal"], dot.inputs[0])
    nt.links.new(norm.outputs[0], dot.inputs[1])
    bands = nt.nodes.new("ShaderNodeValToRGB")
    bands.name = "toon_bands"
    bands.color_ramp.interpolation = "CONSTANT"
    e = bands.color_ramp.elements
    # the broad lit band is exactly 1.0 so a render shows colors.* unchanged
    e[0].position, e[0].color = 0.0, (0.58, 0.53, 0.60, 1.0)   # core shadow, slightly cool
    e[1].position, e[1].color = 0.9, (1.12, 1.12, 1.12, 1.0)   # small highlight
    lit = e.new(0.12)
    lit.color = (1.0, 1.0, 1.0, 1.0)
    nt.links.new(dot.outputs["Value"], bands.inputs["Fac"])
    mix = nt.nodes.new("ShaderNodeMix")
    mix.data_type, mix.blend_type = "RGBA", "MULTIPLY"
    mix.inputs["Factor"].default_value = 1.0
    strand = hair_material.strand_node(nt, slot, _rgba(avatar, slot), avatar.hair) if strands else None
    base = strand.outputs["Color"] if strand else _base_color_node(nt, avatar, slot, highlight=True, texture=texture)
    nt.links.new(base, mix.inputs["A"])
    nt.links.new(bands.outputs["Color"], mix.inputs["B"])
    emit = nt.nodes.new("ShaderNodeEmission")
    nt.links.new(mix.outputs["Result"], emit.inputs["Color"])
    if strand:   # missing strands are clear
        clear = nt.nodes.new("ShaderNodeBsdfTransparent")
        cut = nt.nodes.new("ShaderNodeMixShader")
        nt.links.new(strand.outputs["Alpha"], cut.inputs["Fac"])
        nt.links.new(clear.outputs[0], cut.inputs[1])
        nt.links.new(emit.outputs[0], cut.inputs[2])
        nt.links.new(cut.outputs[0], out.inputs["Surface"])
    else:
        nt.links.new(emit.outputs[0], out.inputs["Surface"])
    mat.diffuse_color = _rgba(avatar, "iris" if slot == "eye" else slot)
    mat["photo2avatar_slot"] = slot
    return mat


def _pbr_material(name: str, avatar: Avatar, slot: str, texture=None, strands: bool = False
                  ) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    nt = mat.node_tree
    bsdf = nt.nodes["Principled BSDF"]
    if strands:
        strand = hair_material.strand_node(nt, slot, _rgba(avatar, slot), avatar.hair)
        nt.links.new(strand.outputs["Color"], bsdf.inputs["Base Color"])
        nt.links.new(strand.outputs["Alpha"], bsdf.inputs["Alpha"])
        bump = nt.nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = 0.5
        bump.inputs["Distance"].default_value = 0.0015
        nt.links.new(strand.outputs["Height"], bump.inputs["Height"])
        nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    else:
        nt.links.new(_base_color_node(nt, avatar, slot, texture=texture), bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = {"eye": 0.08, "teeth": 0.3, "hair": 0.5}.get(slot, 0.5)
    if slot == "skin":
        bsdf.inputs["Subsurface Weight"].default_value = 0.12
        bsdf.inputs["Subsurface Radius"].default_value = (0.8, 0.35, 0.2)
        bsdf.inputs["Subsurface Scale"].default_value = 0.004
    mat.diffuse_color = _rgba(avatar, "iris" if slot == "eye" else slot)
    mat["photo2avatar_slot"] = slot
    return mat


def _emission_and_clear(nt, color, emission_first: bool):
    """A node tree of just an Emission of ``color`` mixed with a Transparent BSDF; returns
    the Mix Shader (its Fac picks the second input: clear if ``emission_first``)."""
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    emit = nt.nodes.new("ShaderNodeEmission")
    emit.inputs["Color"].default_value = color
    clear = nt.nodes.new("ShaderNodeBsdfTransparent")
    mix = nt.nodes.new("ShaderNodeMixShader")
    first, second = (emit, clear) if emission_first else (clear, emit)
    nt.links.new(first.outputs[0], mix.inputs[1])
    nt.links.new(second.outputs[0], mix.inputs[2])
    nt.links.new(mix.outputs[0], out.inputs["Surface"])
    return mix


def _outline_material(name: str, avatar: Avatar | None = None) -> bpy.types.Material:
    """Ink for the inverted hull; given ``avatar``, the hull of strand-shaded hair, inked
    only where the strands are (its tips fray like the hair's)."""
    mat = bpy.data.materials.new(name)
    nt = mat.node_tree
    mix = _emission_and_clear(nt, (0.02, 0.015, 0.015, 1.0), emission_first=True)
    geo = nt.nodes.new("ShaderNodeNewGeometry")
    if avatar is None:
        nt.links.new(geo.outputs["Backfacing"], mix.inputs["Fac"])   # ink on front faces only
    else:
        strand = hair_material.strand_node(nt, "hair", _rgba(avatar, "hair"), avatar.hair)
        front = nt.nodes.new("ShaderNodeMath")
        front.operation = "SUBTRACT"
        front.inputs[0].default_value = 1.0
        nt.links.new(geo.outputs["Backfacing"], front.inputs[1])
        ink = nt.nodes.new("ShaderNodeMath")
        ink.operation = "MULTIPLY"
        nt.links.new(front.outputs[0], ink.inputs[0])
        nt.links.new(strand.outputs["Alpha"], ink.inputs[1])
        clear = nt.nodes.new("ShaderNodeMath")
        clear.operation = "SUBTRACT"
        clear.inputs[0].default_value = 1.0
        nt.links.new(ink.outputs[0], clear.inputs[1])
        nt.links.new(clear.outputs[0], mix.inputs["Fac"])
    mat.diffuse_color = (0.02, 0.015, 0.015, 1.0)
    mat["photo2avatar_slot"] = "outline"
    return mat


def _lens_material(name: str, look: str) -> bpy.types.Material:
    """Nearly clear lenses: a faint tint in toon, thin glass in PBR."""
    mat = bpy.data.materials.new(name)
    nt = mat.node_tree
    if look == "pbr":
        bsdf = nt.nodes["Principled BSDF"]
        bsdf.inputs["Transmission Weight"].default_value = 1.0
        bsdf.inputs["Roughness"].default_value = 0.02
        bsdf.inputs["IOR"].default_value = 1.1   # thin lens: little refraction
    else:
        mix = _emission_and_clear(nt, (0.85, 0.92, 1.0, 1.0), emission_first=False)
        mix.inputs["Fac"].default_value = 0.12
    mat.diffuse_color = (0.85, 0.92, 1.0, 0.15)
    mat["photo2avatar_slot"] = "lens"
    return mat


def _assign_materials(mesh: bpy.types.Mesh, mats: list) -> None:
    # Mesh.materials.clear() resets every polygon's material_index, so replace slot by slot;
    # the materials this replaces are freed when nothing else uses them.
    old = list(mesh.materials)
    while len(mesh.materials) > len(mats):
        mesh.materials.pop(index=len(mesh.materials) - 1)
    for i, m in enumerate(mats):
        if i < len(mesh.materials):
            mesh.materials[i] = m
        else:
            mesh.materials.append(m)
    for m in old:
        if m is not None and m.users == 0:
            bpy.data.materials.remove(m)


def _slots_of(obj) -> tuple[str, ...]:
    if "photo2avatar_part" in obj:
        return PART_SLOTS[obj["photo2avatar_part"]]
    from rigs.asset_library import load_library
    return load_library()[obj["photo2avatar_asset"]].materials


def _label(obj) -> str:
    return obj.get("photo2avatar_part") or obj.get("photo2avatar_asset")


def apply_look(objs, avatar: Avatar, look: str, only=None) -> None:
    """(Re)assign the materials of every part and asset (or of ``only``) for ``look``."""
    if look not in LOOKS:
        raise ValueError(f"unknown look {look!r} (expected one of {', '.join(LOOKS)})")
    make = _toon_material if look == "toon" else _pbr_material
    prefix = objs.collection.name
    targets = only if only is not None else [*objs.parts.values(), *objs.assets.values()]
    outline = None
    texture = bpy.data.images.get(objs.collection.get(TEXTURE_PROP, "")) if TEXTURE_PROP in objs.collection else None
    for obj in targets:
        label = _label(obj)
        slots = _slots_of(obj)
        tex = texture if obj.get("photo2avatar_part") == "head" else None
        has_uv = "photo2avatar_asset" in obj and "UVMap" in obj.data.uv_layers
        mats = [_lens_material(f"{prefix}_{look}_lens", look) if slot == "lens"
                else make(f"{prefix}_{look}_{slot}_{label}", avatar, slot, texture=tex,
                          strands=has_uv and slot in STRAND_SLOTS) for slot in slots]
        outlined = look == "toon" and label.startswith(OUTLINED)
        if outlined and has_uv:
            mats.append(_outline_material(f"{prefix}_outline_{label}", avatar))
        elif outlined:
            outline = outline or bpy.data.materials.get(f"{prefix}_outline") or _outline_material(f"{prefix}_outline")
            mats.append(outline)
        _assign_materials(obj.data, mats)
        old = obj.modifiers.get("Outline")
        if old:
            obj.modifiers.remove(old)
        if outlined:
            mod = obj.modifiers.new("Outline", "SOLIDIFY")
            mod.thickness = OUTLINE_THICKNESS
            mod.offset = 1.0
            mod.use_flip_normals = True
            mod.use_rim = False
            mod.material_offset = len(slots)
    objs.collection["photo2avatar_look"] = look


TEXTURE_PROP = "photo2avatar_texture"


def set_texture(objs, rgb, avatar: Avatar) -> bpy.types.Image | None:
    """Give the head's skin the (S, S, 3) sRGB uint8 texture ``rgb`` (None removes it) and
    rebuild the head's materials for the current look; the image is packed into the .blend."""
    import numpy as np
    coll = objs.collection
    old = bpy.data.images.get(coll.get(TEXTURE_PROP, "")) if TEXTURE_PROP in coll else None
    img = None
    if rgb is not None:
        rgb = np.asarray(rgb)
        h, w = rgb.shape[:2]
        if old is not None and tuple(old.size) == (w, h):
            img = old
        else:
            img = bpy.data.images.new(f"{coll.name}_skin_texture", w, h, alpha=False)
        img.colorspace_settings.name = "sRGB"
        px = np.ones((h, w, 4), np.float32)
        px[..., :3] = rgb[::-1] / 255.0                 # Blender's rows start at the bottom
        img.pixels.foreach_set(px.ravel())
        img.pack()
        coll[TEXTURE_PROP] = img.name
    elif TEXTURE_PROP in coll:
        del coll[TEXTURE_PROP]
    apply_look(objs, avatar, coll.get("photo2avatar_look", "toon"), only=[objs.head])
    if old is not None and old is not img and old.users == 0:
        bpy.data.images.remove(old)
    return img


def set_colors(objs, avatar: Avatar) -> None:
    """Write ``avatar.colors`` and ``avatar.hair`` into the existing materials (no node rebuild)."""
    for obj in [*objs.parts.values(), *objs.assets.values()]:
        for mat in obj.data.materials:
            slot = mat.get("photo2avatar_slot")
            if slot is None or slot == "lens":
                continue
            nodes = mat.node_tree.nodes
            strand = next((n for n in nodes if n.name.startswith("strands:")), None)
            if strand is not None:
                s = strand.name.split(":", 1)[1]
                hair_material.set_strand_inputs(strand, s, _rgba(avatar, s), avatar.hair)
                if slot != "outline":
                    mat.diffuse_color = _rgba(avatar, slot)
            elif slot == "outline":
                continue
            elif slot == "eye":
                ramp = nodes["color:eye"].color_ramp
                for el in ramp.elements:
                    if abs(el.position - PUPIL_V) < 1e-6:
                        el.color = _rgba(avatar, "iris")
                mat.diffuse_color = _rgba(avatar, "iris")
            elif f"color:{slot}" in nodes:
                nodes[f"color:{slot}"].outputs[0].default_value = _rgba(avatar, slot)
                mat.diffuse_color = _rgba(avatar, slot)
