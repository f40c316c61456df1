"""Strand shading for hair and beards: colour and coverage from the strand coordinates.

The generated hair and beard meshes carry a UV map of strand coordinates (``u`` across
the strands in centimetres, ``v`` from the root at 0 to the tip at 1; see
``rigs/asset_frame.py``). One shared node group turns them into

* **Color**: the hair colour, darker at the roots (``Roots``), a little lighter toward the
  tips, streaked strand by strand, with a share ``Grey`` of strands turned grey
  (salt-and-pepper);
* **Height**: a ridge per strand, for a bump in the PBR look;
* **Alpha**: 1 over the body of the hair; past ``TIP_START`` strands drop out one by one,
  so tips, cut edges and hairlines fray instead of ending on a polygon edge. ``Density``
  thins every strand out (sparse beards).

Stubble has no strand direction: its group draws fine dots of the darkened hair colour
over the skin, so it reads as stubble of that colour (not a grey-purple tint).
Both render in Cycles and keep their look in the toon and the PBR material.
"""
from __future__ import annotations

import bpy

STRANDS_GROUP = "P2A hair strands"
STUBBLE_GROUP = "P2A stubble"
TIP_START = 0.62          # v where strands start to drop out
STRANDS_PER_CM = 7.0      # streak frequency across the strands
GREY_RGBA = (0.62, 0.62, 0.60, 1.0)   # linear: the colour a grey strand turns to
STUBBLE_DOTS = 420.0      # dot frequency over the beard's generated coordinates


class _Builder:
    """Small helpers to wire a node tree without repeating socket plumbing."""

    def __init__(self, nt):
        self.nt = nt

    def node(self, kind, **props):
        n = self.nt.nodes.new(kind)
        for k, v in props.items():
            setattr(n, k, v)
        return n

    def link(self, a, b):
        self.nt.links.new(a, b)

    def math(self, op, *args, clamp=False):
        n = self.node("ShaderNodeMath", operation=op, use_clamp=clamp)
        for i, x in enumerate(args):
            if isinstance(x, (int, float)):
                n.inputs[i].default_value = float(x)
            else:
                self.link(x, n.inputs[i])
        return n.outputs[0]

    def mix_rgb(self, fac, a, b, blend="MIX"):
        n = self.node("ShaderNodeMix", data_type="RGBA", blend_type=blend)
        for sock, x in ((n.inputs["Factor"], fac), (n.inputs["A"], a), (n.inputs["B"], b)):
            if isinstance(x, (int, float)):
                sock.default_value = float(x)
            elif isinstance(x, tuple):
                sock.default_value = x
            else:
                self.link(x, sock)
        return n.outputs["Result"]


def _new_group(name: str):
    """An empty strand group with the shared interface (Color, Roots, Grey, Density in;
    Color, Alpha, Height out); returns its builder and its input and output nodes."""
    ng = bpy.data.node_groups.new(name, "ShaderNodeTree")
    for sock_name, kind, default in (("Color", "NodeSocketColor", (0.05, 0.03, 0.02, 1.0)),
                                     ("Roots", "NodeSocketFloat", 0.25), ("Grey", "NodeSocketFloat", 0.0),
                                     ("Density", "NodeSocketFloat", 1.0)):
        s = ng.interface.new_socket(sock_name, in_out="INPUT", socket_type=kind)
        s.default_value = default
    ng.interface.new_socket("Color", in_out="OUTPUT", socket_type="NodeSocketColor")
    ng.interface.new_socket("Alpha", in_out="OUTPUT", socket_type="NodeSocketFloat")
    ng.interface.new_socket("Height", in_out="OUTPUT", socket_type="NodeSocketFloat")
    b = _Builder(ng)
    return b, b.node("NodeGroupInput"), b.node("NodeGroupOutput")


def _strands_group():
    ng = bpy.data.node_groups.get(STRANDS_GROUP)
    if ng is not None:
        return ng
    b, gin, gout = _new_group(STRANDS_GROUP)
    uv = b.node("ShaderNodeUVMap", uv_map="UVMap")
    sep = b.node("ShaderNodeSeparateXYZ")
    b.link(uv.outputs["UV"], sep.inputs[0])
    u, v = sep.outputs["X"], sep.outputs["Y"]
    # strands: bands of constant id across u, wavering a little along v; each strand
    # draws its own random numbers (uniform in [0, 1]) for shade, grey and length
    vec = b.node("ShaderNodeCombineXYZ")
    b.link(b.math("MULTIPLY", u, 2.0), vec.inputs["X"])
    b.link(b.math("MULTIPLY", v, 1.5), vec.inputs["Y"])
    waver = b.node("ShaderNodeTexNoise", noise_dimensions="2D")
    waver.inputs["Scale"].default_value = 1.0
    waver.inputs["Detail"].default_value = 0.0
    b.link(vec.outputs[0], waver.inputs["Vector"])
    across = b.math("MULTIPLY_ADD", u, STRANDS_PER_CM, b.math("MULTIPLY", waver.outputs["Fac"], 3.0))
    sid = b.math("FLOOR", across)

    def rand(offset):
        n = b.node("ShaderNodeTexWhiteNoise", noise_dimensions="1D")
        b.link(b.math("ADD", sid, offset), n.inputs["W"])
        return n.outputs["Value"]
    r_shade, r_len = rand(0.0), rand(0.71)
    # grey strands are finer than the streaks (3 a streak), and the rest of the hair is
    # blended toward grey too: salt-and-pepper reads as a lighter tone, not as stripes
    fine = b.node("ShaderNodeTexWhiteNoise", noise_dimensions="1D")
    b.link(b.math("FLOOR", b.math("MULTIPLY", across, 3.0)), fine.inputs["W"])
    is_grey = b.math("LESS_THAN", fine.outputs["Value"], gin.outputs["Grey"])
    is_grey = b.math("MULTIPLY_ADD", is_grey, 0.55, b.math("MULTIPLY", gin.outputs["Grey"], 0.45))
    # colour: roots darker (over the first 30 % of v), tips lighter, strand by strand
    root_t = b.math("MULTIPLY", v, 1 / 0.3, clamp=True)
    root_dark = b.math("MULTIPLY", b.math("SUBTRACT", 1.0, root_t), gin.outputs["Roots"])
    shade = b.math("SUBTRACT", 1.0, root_dark)
    tip_t = b.math("MULTIPLY", b.math("SUBTRACT", v, TIP_START), 1 / (1 - TIP_START), clamp=True)
    shade = b.math("ADD", shade, b.math("MULTIPLY", tip_t, 0.15))
    shade = b.math("MULTIPLY", shade, b.math("MULTIPLY_ADD", r_shade, 0.24, 0.88))   # 0.88 .. 1.12
    col = b.mix_rgb(is_grey, gin.outputs["Color"], GREY_RGBA)
    shade_rgb = b.node("ShaderNodeCombineXYZ")
    for k in ("X", "Y", "Z"):
        b.link(shade, shade_rgb.inputs[k])
    col = b.mix_rgb(1.0, col, shade_rgb.outputs[0], blend="MULTIPLY")
    b.link(col, gout.inputs["Color"])
    # alpha: each strand ends somewhere between TIP_START and past the tip; Density keeps
    # that share of the strands
    end = b.math("MULTIPLY_ADD", r_len, 1.08 - TIP_START, TIP_START)
    reaches = b.math("LESS_THAN", v, end)
    kept = b.math("LESS_THAN", rand(0.53), gin.outputs["Density"])
    b.link(b.math("MULTIPLY", reaches, kept), gout.inputs["Alpha"])
    # height: each strand a rounded ridge of its own height, for a bump that breaks up
    # the PBR highlight along the strands
    f = b.math("FRACT", across)
    ridge = b.math("MULTIPLY", b.math("MULTIPLY", f, b.math("SUBTRACT", 1.0, f)), 4.0)
    b.link(b.math("MULTIPLY_ADD", ridge, 0.6, b.math("MULTIPLY", r_shade, 0.4)), gout.inputs["Height"])
    return b.nt


def _stubble_group():
    ng = bpy.data.node_groups.get(STUBBLE_GROUP)
    if ng is not None:
        return ng
    b, gin, gout = _new_group(STUBBLE_GROUP)
    tc = b.node("ShaderNodeTexCoord")
    dots = b.node("ShaderNodeTexVoronoi", feature="F1")
    dots.inputs["Scale"].default_value = STUBBLE_DOTS
    dots.inputs["Randomness"].default_value = 1.0
    b.link(tc.outputs["Generated"], dots.inputs["Vector"])
    # a dot where the distance to the nearest cell point is small; density widens the dots
    radius = b.math("MULTIPLY", gin.outputs["Density"], 0.42)
    dot = b.math("LESS_THAN", dots.outputs["Distance"], radius)
    uv = b.node("ShaderNodeUVMap", uv_map="UVMap")
    sep = b.node("ShaderNodeSeparateXYZ")
    b.link(uv.outputs["UV"], sep.inputs[0])
    # the region's edge (v -> 1) thins out like a hairline
    edge = b.math("MULTIPLY", b.math("SUBTRACT", 1.0, sep.outputs["Y"]), 1 / (1 - 0.3), clamp=True)
    b.link(b.math("MULTIPLY", dot, b.math("MULTIPLY", edge, 0.85)), gout.inputs["Alpha"])
    grey = b.mix_rgb(gin.outputs["Grey"], gin.outputs["Color"], GREY_RGBA)
    b.link(b.mix_rgb(0.25, grey, (0.0, 0.0, 0.0, 1.0)), gout.inputs["Color"])
    return b.nt


def strand_node(nt, slot: str, color_rgba, hair: dict):
    """A group node in ``nt`` with Color and Alpha outputs for a ``hair``/``beard``/``stubble``
    slot; ``hair`` is ``avatar.hair`` (grey, roots, beard_density)."""
    node = nt.nodes.new("ShaderNodeGroup")
    node.node_tree = _stubble_group() if slot == "stubble" else _strands_group()
    node.name = node.label = f"strands:{slot}"
    set_strand_inputs(node, slot, color_rgba, hair)
    return node


def set_strand_inputs(node, slot: str, color_rgba, hair: dict) -> None:
    """Write colour and the avatar's hair parameters into a strand group node."""
    node.inputs["Color"].default_value = color_rgba
    node.inputs["Roots"].default_value = hair["roots"]
    node.inputs["Grey"].default_value = hair["grey"]
    node.inputs["Density"].default_value = hair["beard_density"] if slot in ("beard", "stubble") else 1.0
