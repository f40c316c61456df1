"""Put an avatar's geometry style on its Blender objects.

Every part and asset gets a shape key ``style`` holding the unit (strength 1) deformation;
its value is the style strength, so the artist dials it (0..2) and
:func:`bake_style` can make it the basis. The rig keeps working on the styled head: bone
rest positions follow the deformation (eyes, jaw and teeth stay seated) and the ARKit
keys of the head are carried through it (:mod:`rigs.deformation_transfer`), so a blink
still closes an enlarged eye.

The deformation comes from :func:`inference.styles.stylize` where SciPy is importable
(the bpy module: tests, batch, CLI); inside the Blender app the backend sends the head
offsets with the result and they are kept on the collection.
"""
from __future__ import annotations

import json

import numpy as np

from rigs.arkit import ARKIT_NAMES
from rigs.catalogue import shape_key_targets
from rigs.deformation_transfer import carry, local_jacobians, mesh_edges
from rigs.rig_asset import HeadRig

STYLE_KEY = "style"
OFFSETS_PROP = "photo2avatar_style_offsets"    # head offsets from the backend (Blender app)
STATE_PROP = "photo2avatar_style_state"


def _state(avatar) -> str:
    return json.dumps({"style": avatar.style, "shape": avatar.shape}, sort_keys=True)


def _stored_offsets(objs, rig: HeadRig, verts: np.ndarray) -> np.ndarray | None:
    """(N, 3) offsets from the head offsets kept on the collection, or None."""
    from inference.deform import reseat_parts
    stored = objs.collection.get(OFFSETS_PROP)
    if stored is None:
        return None
    return reseat_parts(rig, verts, np.asarray(stored, dtype=np.float64).reshape(-1, 3))


def unit_offsets(objs, avatar, rig: HeadRig, verts: np.ndarray) -> np.ndarray | None:
    """(N, 3) strength-1 offsets of every rig vertex, or None for no geometric style."""
    from inference.styles import load_style, stylize
    if load_style(avatar.style.get("name", "identity")).is_identity:
        return None
    try:
        st = stylize(avatar, verts)
    except ImportError:           # Blender's own Python (no SciPy): use what the backend sent
        return _stored_offsets(objs, rig, verts)
    if not st.head.any():
        return None
    objs.collection[OFFSETS_PROP] = st.head.astype(np.float32).ravel().tolist()
    return st.all


def _set_key(obj, co: np.ndarray | None) -> None:
    keys = obj.data.shape_keys
    kb = keys.key_blocks.get(STYLE_KEY) if keys else None
    if co is None:
        if kb is not None:
            obj.shape_key_remove(kb)
        return
    if kb is None:
        kb = obj.shape_key_add(name=STYLE_KEY, from_mix=False)
        kb.slider_max = 2.0
    kb.points.foreach_set("co", co.astype(np.float32).ravel())


def _carry_expressions(head_obj, rig: HeadRig, shaped: np.ndarray, styled: np.ndarray | None) -> None:
    ids = rig.parts["head"].vertex_ids
    tris = np.searchsorted(ids, rig.parts["head"].triangles())
    jac = None
    if styled is not None:
        jac = local_jacobians(shaped[ids], styled[ids], mesh_edges(tris))
    base = rig.verts[ids]
    keys = head_obj.data.shape_keys.key_blocks
    targets = shape_key_targets()
    for name in ARKIT_NAMES:
        kb = keys.get(name)
        if kb is None:
            continue
        delta = np.zeros((len(ids), 3))
        for t in targets[name]:
            delta += rig.target_dense(t)[ids]
        if jac is not None:
            delta = carry(jac, delta)
        kb.points.foreach_set("co", (base + delta).astype(np.float32).ravel())


def apply_style(objs, avatar, rig: HeadRig, shaped: np.ndarray, force: bool = False) -> np.ndarray:
    """Make the objects' style keys match ``avatar``; returns the rest vertices the bones
    should follow (shaped + strength x offsets)."""
    if not force and objs.collection.get(STATE_PROP) == _state(avatar):
        u = _stored_offsets(objs, rig, shaped)
        return shaped if u is None else shaped + avatar.style.get("strength", 1.0) * u
    u = unit_offsets(objs, avatar, rig, shaped)
    strength = float(avatar.style.get("strength", 1.0))
    for part, obj in objs.parts.items():
        ids = rig.parts[part].vertex_ids
        _set_key(obj, None if u is None else rig.verts[ids] + u[ids])
    for obj in objs.assets.values():
        _set_key(obj, None if u is None else _asset_style(obj, rig, u))
    if u is not None or objs.collection.get("photo2avatar_expr_carried"):
        _carry_expressions(objs.head, rig, shaped, None if u is None else shaped + strength * u)
        objs.collection["photo2avatar_expr_carried"] = u is not None
    objs.collection[STATE_PROP] = _state(avatar)
    if u is None:
        objs.collection.pop(OFFSETS_PROP, None)
        return shaped
    return shaped + strength * u


def _asset_style(obj, rig: HeadRig, u: np.ndarray) -> np.ndarray:
    from rigs.asset_geometry import vertex_normals
    from rigs.asset_library import load_library
    asset = load_library()[obj["photo2avatar_asset"]]
    tris = rig.parts["head"].triangles()
    v = rig.verts + u
    return asset.att.evaluate(v, vertex_normals(v, tris))


def bake_style(objs) -> None:
    """Make the current style part of every object's basis (the ``style`` key is removed)."""
    for obj in [*objs.parts.values(), *objs.assets.values()]:
        keys = obj.data.shape_keys
        kb = keys.key_blocks.get(STYLE_KEY) if keys else None
        if kb is None:
            continue
        basis = keys.key_blocks[0]
        n = len(basis.data)
        b = np.empty(n * 3, np.float32)
        s = np.empty(n * 3, np.float32)
        basis.points.foreach_get("co", b)
        kb.points.foreach_get("co", s)
        d = (s - b) * kb.value
        for other in keys.key_blocks:
            if other is kb:
                continue
            co = np.empty(n * 3, np.float32)
            other.points.foreach_get("co", co)
            other.points.foreach_set("co", co + d)
        obj.data.vertices.foreach_set("co", b + d)
        obj.shape_key_remove(kb)
    objs.collection["photo2avatar_style_baked"] = True
