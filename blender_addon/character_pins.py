"""Pins on the artist's character: the face landmarks the search found, as empties the artist
can move in the viewport to correct the correspondence before applying a photo.

Each pin is an empty parented to the character's mesh, carrying the MediaPipe landmark id it
stands for; Apply photo reads the pins (their place in the mesh's own frame), snaps them onto
the surface and corrects the found landmarks with them
(:func:`inference.character_fit.pin_targets`). The CLI reads the same pins from the .blend.
"""
from __future__ import annotations

import bpy
import numpy as np

from inference.character_fit import SurfacePoints, pin_targets

PIN_PROP = "photo2avatar_landmark"
# landmarks an artist can place by eye (MediaPipe face mesh ids; .R / .L are the face's own sides)
PIN_LANDMARKS = {
    "forehead": 10, "brow.R": 105, "brow.L": 334, "eye_outer.R": 33, "eye_inner.R": 133,
    "eye_inner.L": 362, "eye_outer.L": 263, "nose_bridge": 168, "nose_tip": 1, "cheek.R": 234,
    "cheek.L": 454, "mouth_corner.R": 61, "mouth_corner.L": 291, "upper_lip": 0, "lower_lip": 17,
    "chin": 152,
}


def pin_objects(obj: bpy.types.Object) -> list[bpy.types.Object]:
    """The pins parented to ``obj``."""
    return [c for c in obj.children if PIN_PROP in c]


def pins_of(obj: bpy.types.Object) -> dict[int, np.ndarray]:
    """Landmark id -> the pin's position in ``obj``'s own (object) frame (from the parenting
    itself, so it holds before the depsgraph has updated the pin's world matrix)."""
    return {int(p[PIN_PROP]): np.array((p.matrix_parent_inverse @ p.matrix_basis).translation)
            for p in pin_objects(obj)}


def clear_pins(obj: bpy.types.Object) -> int:
    """Remove ``obj``'s pins; returns how many there were."""
    pins = pin_objects(obj)
    for p in pins:
        bpy.data.objects.remove(p, do_unlink=True)
    return len(pins)


def place_pins(obj: bpy.types.Object, points: dict[int, np.ndarray]) -> list[bpy.types.Object]:
    """Replace ``obj``'s pins by empties at ``points`` (landmark id -> object-frame position)."""
    clear_pins(obj)
    names = {v: k for k, v in PIN_LANDMARKS.items()}
    pts = np.array(list(points.values())) if points else np.zeros((1, 3))
    size = max(float(np.ptp(pts, axis=0).max()) * 0.03, 1e-4)
    coll = obj.users_collection[0] if obj.users_collection else bpy.context.scene.collection
    made = []
    for lid, p in points.items():
        e = bpy.data.objects.new(f"{obj.name}.pin.{names.get(int(lid), lid)}", None)
        e.empty_display_type = "SPHERE"
        e.empty_display_size = size
        e.show_in_front = True
        e[PIN_PROP] = int(lid)
        coll.objects.link(e)
        e.parent = obj
        e.matrix_parent_inverse.identity()
        e.location = [float(v) for v in p]
        made.append(e)
    return made


def pinned_surface(verts: np.ndarray, tris: np.ndarray, surface: SurfacePoints,
                   pins: dict[int, np.ndarray]) -> tuple[SurfacePoints, int]:
    """``surface`` corrected by the pins (object frame): each target of
    :func:`~inference.character_fit.pin_targets` snapped to the nearest point of the mesh.
    Returns the corrected points and how many pins were used."""
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree

    from .character import _barycentric
    pins = {int(k): np.asarray(v, np.float64) for k, v in pins.items() if 0 <= int(k) < len(surface.valid)}
    if not pins:
        return surface, 0
    targets, valid = pin_targets(surface.points(verts), surface.valid, pins)
    tree = BVHTree.FromPolygons(verts.tolist(), tris.tolist())
    tri, bary = surface.tri.copy(), surface.bary.copy()
    for j in np.flatnonzero(valid):
        loc, _, idx, _ = tree.find_nearest(Vector(targets[j]))
        if loc is None:
            valid[j] = False
            continue
        t = tris[idx]
        tri[j], bary[j] = t, _barycentric(np.array(loc), verts[t])
    return SurfacePoints(tri, bary, valid), len(pins)
