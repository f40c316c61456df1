"""The whole avatar vector as Blender properties on the avatar's collection.

``collection.photo2avatar_edit`` holds one property per catalogue slider, asset, colour,
hair-colour parameter (grey, roots, beard density), ARKit expression and the style strength. Editing any of them writes the avatar vector
and runs the engine's :func:`~blender_addon.avatar_build.update_avatar` (milliseconds for
a slider), so the rig follows live; the avatar.json stored on the collection stays the
source of truth, and :func:`sync_from_avatar` copies it into the properties after a
build, a generate or a load. Both live on the collection, so undo restores them together.
"""
from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import EnumProperty, FloatProperty, FloatVectorProperty

from inference.avatar import (ASSET_KEYS, COLOR_KEYS, DEFAULT_COLORS, DEFAULT_HAIR, STRENGTH_RANGE, hex_to_rgb,
                              rgb_to_hex)
from rigs.arkit import ARKIT_NAMES
from rigs.catalogue import asset_catalogue, shape_catalogue

from .avatar_build import PROP, find_avatar, update_avatar

ROOT = Path(__file__).resolve().parents[1]
_SYNCING = [False]
_PREVIEWS: dict = {}
_ITEMS: dict[str, list] = {}          # enum items must stay referenced while Blender shows them


def _thumbnails():
    """Asset thumbnails as Blender preview icons (empty where previews are unavailable)."""
    if "assets" not in _PREVIEWS:
        from bpy.utils import previews
        pcoll = previews.new()
        for kind, items in asset_catalogue().items():
            if kind == "schema":
                continue
            for aid, info in items.items():
                path = ROOT / info.get("thumbnail", "")
                if path.is_file():
                    pcoll.load(f"{kind}/{aid}", str(path), "IMAGE")
        _PREVIEWS["assets"] = pcoll
    return _PREVIEWS["assets"]


def style_icon(name: str) -> int:
    """Preview icon id of a style preset's thumbnail (``docs/styles/<name>.png``), 0 if none."""
    if "styles" not in _PREVIEWS:
        from bpy.utils import previews
        pcoll = previews.new()
        for path in sorted((ROOT / "docs" / "styles").glob("*.png")):
            pcoll.load(path.stem, str(path), "IMAGE")
        _PREVIEWS["styles"] = pcoll
    pcoll = _PREVIEWS["styles"]
    return pcoll[name].icon_id if name in pcoll else 0


def _asset_items(kind: str):
    def items(self, context):
        if kind not in _ITEMS:
            pcoll = _thumbnails()
            _ITEMS[kind] = [(aid, info.get("name", aid), info.get("length", ""),
                             pcoll[f"{kind}/{aid}"].icon_id if f"{kind}/{aid}" in pcoll else 0, i)
                            for i, (aid, info) in enumerate(asset_catalogue()[kind].items())]
        return _ITEMS[kind]
    return items


def _on_edit(self, context) -> None:
    if _SYNCING[0]:
        return
    coll = self.id_data
    if PROP not in coll:
        return
    objs = find_avatar(coll)
    update_avatar(objs, props_to_avatar(self, objs.avatar()))


def _make_class():
    ann = {}
    for p in shape_catalogue():
        ann[f"s_{p.name}"] = FloatProperty(name=p.label, min=p.min, max=p.max, default=p.default,
                                           update=_on_edit, description=f"{p.group}: {p.name}")
    for kind in ASSET_KEYS:
        ann[f"a_{kind}"] = EnumProperty(name=kind.title(), items=_asset_items(kind), update=_on_edit)
    for key in COLOR_KEYS:
        ann[f"c_{key}"] = FloatVectorProperty(name=key.title(), subtype="COLOR_GAMMA", size=3, min=0.0,
                                              max=1.0, default=(0.5, 0.5, 0.5), update=_on_edit)
    hair_labels = {"grey": ("Grey", "Share of grey strands (salt-and-pepper)"),
                   "roots": ("Dark roots", "How much darker the hair is at the roots"),
                   "beard_density": ("Beard density", "How many beard strands are drawn")}
    for key, default in DEFAULT_HAIR.items():
        label, tip = hair_labels[key]
        ann[f"h_{key}"] = FloatProperty(name=label, description=tip, min=0.0, max=1.0, default=default,
                                        subtype="FACTOR", update=_on_edit)
    for name in ARKIT_NAMES:
        ann[f"e_{name}"] = FloatProperty(name=name, min=0.0, max=1.0, default=0.0, update=_on_edit)
    ann["style_strength"] = FloatProperty(name="Style strength", min=STRENGTH_RANGE[0], max=STRENGTH_RANGE[1],
                                          default=1.0, update=_on_edit)
    return type("P2A_AvatarEdit", (bpy.types.PropertyGroup,), {"__annotations__": ann})


AvatarEdit = _make_class()


def props_to_avatar(props, avatar):
    """The avatar vector with the values of ``props`` written into it (validated)."""
    from inference.avatar import avatar_from_dict
    data = avatar.to_dict()
    data["shape"] = {p.name: round(getattr(props, f"s_{p.name}"), 6) for p in shape_catalogue()}
    data["assets"] = {k: getattr(props, f"a_{k}") for k in ASSET_KEYS}
    data["colors"] = {k: rgb_to_hex(tuple(getattr(props, f"c_{k}"))) for k in COLOR_KEYS}
    data["hair"] = {k: round(getattr(props, f"h_{k}"), 6) for k in DEFAULT_HAIR}
    data["expression"] = {n: round(getattr(props, f"e_{n}"), 6) for n in ARKIT_NAMES
                          if getattr(props, f"e_{n}") > 0.0}
    data["style"] = {**data["style"], "strength": round(props.style_strength, 6)}
    return avatar_from_dict(data)


def sync_from_avatar(collection: bpy.types.Collection) -> None:
    """Copy the collection's stored avatar vector into its edit properties (no rebuild)."""
    objs = find_avatar(collection)
    av = objs.avatar()
    props = collection.photo2avatar_edit
    _SYNCING[0] = True
    try:
        for p in shape_catalogue():
            setattr(props, f"s_{p.name}", av.shape.get(p.name, p.default))
        for k in ASSET_KEYS:
            setattr(props, f"a_{k}", av.assets[k])
        for k in COLOR_KEYS:
            setattr(props, f"c_{k}", hex_to_rgb(av.colors.get(k, DEFAULT_COLORS[k])))
        for k in DEFAULT_HAIR:
            setattr(props, f"h_{k}", av.hair.get(k, DEFAULT_HAIR[k]))
        for n in ARKIT_NAMES:
            setattr(props, f"e_{n}", av.expression.get(n, 0.0))
        props.style_strength = av.style.get("strength", 1.0)
    finally:
        _SYNCING[0] = False


def register() -> None:
    bpy.utils.register_class(AvatarEdit)
    bpy.types.Collection.photo2avatar_edit = bpy.props.PointerProperty(type=AvatarEdit)


def unregister() -> None:
    del bpy.types.Collection.photo2avatar_edit
    bpy.utils.unregister_class(AvatarEdit)
    _ITEMS.clear()
    from bpy.utils import previews
    for key in list(_PREVIEWS):
        previews.remove(_PREVIEWS.pop(key))
