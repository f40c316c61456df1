"""Apply the photo to an artist's own character: find the face on their mesh, deform it.

:func:`find_face` renders the mesh's rest shape alone (a temporary scene: their scene is not
touched) from the front and turned 15 degrees each way, reads MediaPipe's landmarks in each
view and casts every landmark's pixel back onto the surface (a BVH of their triangles). A
landmark is kept where the turned views agree with the front view; the result is a
triangle and barycentric weights per landmark, so it follows the mesh as it deforms.

:func:`apply_to_character` moves the head region by
:func:`inference.character_fit.character_offsets` and writes the result without touching
the topology: the basis and every shape key get the same offsets (each key keeps its own
change on the new basis), UVs, vertex groups, materials and modifiers stay as they were,
and bones whose joints lie in the moved region (eyes, jaw, head) are re-seated by the
offsets around them. :func:`add_arkit_keys` then gives the new face ARKit's 52 keys.
"""
from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Vector

from inference.character_fit import SurfacePoints, character_offsets, on_skin, rig_landmark_change
from inference.errors import FaceError

VIEW_YAWS = (0.0, 15.0, -15.0)     # degrees, the camera turned around the face's vertical axis
VIEW_SIZE = 384                     # pixels: the face-framed front view, whose landmarks are kept
CHECK_SIZE = 256                    # the search view and the turned views (only located / compared) ...
CHECK_SAMPLES = 1                   # ... rendered with 1 sample, not 4: 3x faster, the kept landmarks the same
AGREE = 0.06                        # a side view's hit must lie this close to the front's (face radii)
FRAMINGS = (1.0, 0.4, 0.15)         # the top share of the mesh's height framed, tried in turn
SKIN = (0.55, 0.42, 0.36)


def rest_geometry(obj: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """(object-space rest vertices, triangles) of a mesh object (the basis shape)."""
    me = obj.data
    n = len(me.vertices)
    co = np.empty(n * 3, np.float64)
    if me.shape_keys is not None:
        me.shape_keys.reference_key.data.foreach_get("co", co)
    else:
        me.vertices.foreach_get("co", co)
    me.calc_loop_triangles()
    tris = np.empty(len(me.loop_triangles) * 3, np.int64)
    me.loop_triangles.foreach_get("vertices", tris)
    return co.reshape(n, 3), tris.reshape(-1, 3)


class _FaceStudio:
    """A temporary scene holding a copy of the rest mesh, a camera and lights."""

    def __init__(self, verts_world: np.ndarray, tris: np.ndarray):
        self.scene = bpy.data.scenes.new("photo2avatar_face_search")
        me = bpy.data.meshes.new("photo2avatar_face_search")
        me.from_pydata(verts_world.tolist(), [], tris.tolist())
        me.shade_smooth()
        self.obj = bpy.data.objects.new("photo2avatar_face_search", me)
        self.scene.collection.objects.link(self.obj)
        self.cam = bpy.data.objects.new("photo2avatar_face_cam", bpy.data.cameras.new("photo2avatar_face_cam"))
        self.cam.data.type = "ORTHO"
        self.scene.collection.objects.link(self.cam)
        self.scene.camera = self.cam
        sc = self.scene
        # Cycles on the CPU, a few samples, no bounces: 2x faster here than Workbench
        # (software OpenGL), and plain diffuse skin under a key light reads as a face
        sc.render.engine = "CYCLES"
        sc.cycles.device, sc.cycles.samples, sc.cycles.max_bounces = "CPU", 4, 0
        sc.cycles.use_adaptive_sampling = sc.cycles.use_denoising = False
        sc.render.resolution_x = sc.render.resolution_y = VIEW_SIZE
        sc.render.resolution_percentage = 100
        sc.render.image_settings.file_format = "PNG"
        sc.view_settings.view_transform = "Standard"
        self.material = bpy.data.materials.new("photo2avatar_face_search")
        self.material.diffuse_color = (*SKIN, 1.0)
        bsdf = self.material.node_tree.nodes.get("Principled BSDF")
        bsdf.inputs["Base Color"].default_value = (*SKIN, 1.0)
        bsdf.inputs["Roughness"].default_value = 0.8
        me.materials.append(self.material)
        self.world = bpy.data.worlds.new("photo2avatar_face_search")
        self.world.color = (0.35, 0.35, 0.35)
        sc.world = self.world
        self.sun = bpy.data.objects.new("photo2avatar_face_sun", bpy.data.lights.new("photo2avatar_face_sun", "SUN"))
        self.sun.data.energy = 3.0
        self.scene.collection.objects.link(self.sun)

    def render(self, centre: np.ndarray, scale: float, yaw_deg: float, path: str,
               size: int = VIEW_SIZE, samples: int = 4) -> np.ndarray:
        """RGB image (``size`` pixels square, ``samples`` per pixel) of the mesh seen along +Y
        turned by ``yaw_deg`` about the vertical."""
        import cv2
        yaw = math.radians(yaw_deg)
        fwd = np.array([-math.sin(yaw), math.cos(yaw), 0.0])     # front faces look toward -Y
        dist = 10.0 * scale
        self._view = (np.asarray(centre, np.float64), scale, fwd, size)
        self.scene.render.resolution_x = self.scene.render.resolution_y = size
        self.scene.cycles.samples = samples
        self.cam.location = Vector(centre - fwd * dist)
        self.cam.rotation_euler = (math.pi / 2, 0.0, yaw)
        self.sun.rotation_euler = (math.radians(50.0), 0.0, yaw + math.radians(20.0))   # from above, a little aside
        self.cam.data.ortho_scale = scale
        self.cam.data.clip_start, self.cam.data.clip_end = 0.01 * scale, 20.0 * scale
        self.scene.render.filepath = path
        from .render import quiet_stdout
        with quiet_stdout():
            bpy.ops.render.render(write_still=True, scene=self.scene.name)
        return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def rays(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World ray origins and the shared direction of image pixels (x right, y down)."""
        centre, s, fwd, size = self._view    # (matrix_world is stale until a depsgraph update)
        up = np.array([0.0, 0.0, 1.0])
        right = np.cross(fwd, up)
        u = pixels[:, 0] / size - 0.5
        v = 0.5 - pixels[:, 1] / size
        origins = (centre - fwd * 10.0 * s)[None] + u[:, None] * s * right + v[:, None] * s * up
        return origins, fwd

    def close(self) -> None:
        me, cam, sun = self.obj.data, self.cam.data, self.sun.data
        for o in (self.obj, self.cam, self.sun):
            bpy.data.objects.remove(o)
        bpy.data.meshes.remove(me)
        bpy.data.cameras.remove(cam)
        bpy.data.lights.remove(sun)
        bpy.data.materials.remove(self.material)
        bpy.data.worlds.remove(self.world)
        bpy.data.scenes.remove(self.scene)


def _barycentric(p: np.ndarray, tri_pts: np.ndarray) -> np.ndarray:
    a, b, c = tri_pts
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11, d20, d21 = v0 @ v0, v0 @ v1, v1 @ v1, v2 @ v0, v2 @ v1
    den = d00 * d11 - d01 * d01
    if abs(den) < 1e-30:
        return np.array([1.0, 0.0, 0.0])
    y = (d11 * d20 - d01 * d21) / den
    z = (d00 * d21 - d01 * d20) / den
    return np.clip([1.0 - y - z, y, z], 0.0, 1.0)


def find_face(obj: bpy.types.Object) -> tuple[SurfacePoints, dict]:
    """Where MediaPipe's landmarks lie on ``obj``'s rest surface; FaceError if no view
    shows a face. ``info["front_landmarks"]``: the (478, 3) landmarks of the front view."""
    import tempfile
    from pathlib import Path

    from mathutils.bvhtree import BVHTree

    from inference.landmarks import LandmarkDetector
    verts, tris = rest_geometry(obj)
    mw = np.array(obj.matrix_world)
    world = verts @ mw[:3, :3].T + mw[:3, 3]
    tree = BVHTree.FromPolygons(world.tolist(), tris.tolist())
    lo, hi = world.min(0), world.max(0)
    studio = _FaceStudio(world, tris)
    hits = np.full((len(VIEW_YAWS), 478, 3), np.nan)
    tri_of = np.full((len(VIEW_YAWS), 478), -1)
    try:
        with tempfile.TemporaryDirectory() as tmp, LandmarkDetector(max_faces=1) as det:
            path = str(Path(tmp) / "view.png")
            face = None
            for share in FRAMINGS:                  # whole mesh, then its top (a head on a body)
                top = hi[2] - share * (hi[2] - lo[2])
                sel = world[world[:, 2] >= top]
                centre = (sel.min(0) + sel.max(0)) / 2
                scale = 1.15 * max(np.ptp(sel[:, 0]), hi[2] - top)
                faces = det.detect(studio.render(centre, scale, 0.0, path, CHECK_SIZE, CHECK_SAMPLES))
                if faces:
                    face = faces[0]
                    break
            if face is None:
                raise FaceError(f"no face found on {obj.name!r}: MediaPipe sees no face in its front view "
                                "(the face must look toward -Y)")
            # frame the face itself: MediaPipe places landmarks better on a face that fills the view
            px = face.points[:, :2]
            mid = (px.min(0) + px.max(0)) / 2
            extent = float(np.ptp(px, axis=0).max()) / CHECK_SIZE * scale
            right = np.array([1.0, 0.0, 0.0])
            centre = centre + (mid[0] / CHECK_SIZE - 0.5) * scale * right + \
                (0.5 - mid[1] / CHECK_SIZE) * scale * np.array([0.0, 0.0, 1.0])
            scale = 1.5 * extent
            faces = det.detect(studio.render(centre, scale, 0.0, path))
            if faces:
                face = faces[0]
            front_landmarks = face.points
            for vi, yaw in enumerate(VIEW_YAWS):
                if vi:
                    found = det.detect(studio.render(centre, scale, yaw, path, CHECK_SIZE, CHECK_SAMPLES))
                    if not found:
                        continue
                    face = found[0]
                origins, fwd = studio.rays(face.points[:, :2])
                for j, o in enumerate(origins):
                    loc, _, idx, _ = tree.ray_cast(Vector(o), Vector(fwd))
                    if loc is not None:
                        hits[vi, j], tri_of[vi, j] = loc, idx
    finally:
        studio.close()
    front = hits[0]
    ok = np.isfinite(front).all(1)
    radius = float(np.linalg.norm(front[ok] - front[ok].mean(0), axis=1).max())
    agree = np.zeros(478, bool)
    for vi in range(1, len(VIEW_YAWS)):
        d = np.linalg.norm(hits[vi] - front, axis=1)
        agree |= np.nan_to_num(d, nan=np.inf) < AGREE * radius
    valid = ok & agree
    tri = np.zeros((478, 3), np.int64)
    bary = np.zeros((478, 3))
    for j in np.flatnonzero(valid):
        t = tris[tri_of[0, j]]
        tri[j], bary[j] = t, _barycentric(front[j], world[t])
    surface = on_skin(SurfacePoints(tri, bary, valid), len(verts), tris)
    return surface, {"landmarks_found": int(ok.sum()), "landmarks_agreed": int(valid.sum()),
                     "landmarks_on_skin": int(surface.valid.sum()),
                     "framing_share": share, "front_landmarks": front_landmarks}


def _set_coords(obj: bpy.types.Object, offsets: np.ndarray) -> None:
    me = obj.data
    n = len(me.vertices)
    flat = np.empty(n * 3, np.float64)
    keys = me.shape_keys.key_blocks if me.shape_keys is not None else []
    for kb in keys:
        kb.data.foreach_get("co", flat)
        kb.data.foreach_set("co", (flat.reshape(n, 3) + offsets).ravel())
    me.vertices.foreach_get("co", flat)
    me.vertices.foreach_set("co", (flat.reshape(n, 3) + offsets).ravel())
    me.update()


def _reseat_bones(obj: bpy.types.Object, verts: np.ndarray, offsets: np.ndarray, reach: float) -> list[str]:
    """Move the rest joints that lie in the moved region by the offsets around them."""
    arm = obj.find_armature()
    moved = np.linalg.norm(offsets, axis=1) > 0
    if arm is None or not moved.any():
        return []
    to_mesh = np.array(obj.matrix_world.inverted() @ arm.matrix_world)
    to_arm = np.linalg.inv(to_mesh)

    def offset_at(p_arm):
        p = to_mesh[:3, :3] @ p_arm + to_mesh[:3, 3]
        d = np.linalg.norm(verts - p, axis=1)
        w = np.exp(-(d / reach) ** 2)
        if w[moved].sum() < 1e-6 * max(w.sum(), 1e-30) or w.sum() < 1e-12:
            return None
        return to_arm[:3, :3] @ ((w @ offsets) / w.sum())

    view_layer = bpy.context.view_layer
    active = view_layer.objects.active
    linked = arm.name in view_layer.objects
    if not linked:
        bpy.context.scene.collection.objects.link(arm)
    view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    names = []
    try:
        for eb in arm.data.edit_bones:
            off = offset_at(np.array(eb.head))
            if off is None or np.linalg.norm(off) < 1e-9:
                continue
            eb.head = Vector(np.array(eb.head) + off)
            eb.tail = Vector(np.array(eb.tail) + off)
            names.append(eb.name)
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = active
        if not linked:
            bpy.context.scene.collection.objects.unlink(arm)
    return names


def add_arkit_keys(obj: bpy.types.Object, surface: SurfacePoints) -> dict:
    """Give ``obj`` the 52 ARKit shape keys (Live Link Face's names) carried over from our
    rig (:func:`inference.character_arkit.arkit_deltas`) on its current basis. Keys it
    already has under an ARKit name (any naming :mod:`inference.name_mapping` knows) are
    kept as the artist made them."""
    from inference.character_arkit import arkit_deltas, landmark_motion_agreement, live_link_name
    from inference.name_mapping import map_names
    me = obj.data
    if me.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
    have = set(map_names([kb.name for kb in me.shape_keys.key_blocks]).values())
    verts, tris = rest_geometry(obj)
    from rigs.arkit import ARKIT_NAMES
    todo = [n for n in ARKIT_NAMES if n not in have]
    deltas, info = arkit_deltas(verts, tris, surface, todo)
    for name in todo:
        kb = obj.shape_key_add(name=live_link_name(name), from_mix=False)
        kb.data.foreach_set("co", (verts + deltas[name]).ravel())
        kb.value = 0.0
    me.update()
    agreement = landmark_motion_agreement(verts, surface, deltas)
    return {**info, "arkit_keys_added": len(todo), "arkit_keys_kept": sorted(have),
            "arkit_landmark_motion_error_median": float(np.median(list(agreement.values()))) if agreement else None}


def face_pins(obj: bpy.types.Object) -> tuple[dict[int, np.ndarray], dict]:
    """The landmarks an artist places by eye (:data:`.character_pins.PIN_LANDMARKS`) where
    :func:`find_face` puts them, in ``obj``'s own frame, and the search's figures."""
    from .character_pins import PIN_LANDMARKS
    surface, found = find_face(obj)
    pts = surface.points(rest_geometry(obj)[0])
    ids = [i for i in PIN_LANDMARKS.values() if surface.valid[i]]
    return {i: pts[i] for i in ids}, {k: v for k, v in found.items() if k != "front_landmarks"}


def apply_to_character(obj: bpy.types.Object, avatar, deformation: np.ndarray | None = None,
                       shape: dict | None = None, arkit: bool = False,
                       head_texture: np.ndarray | None = None, pins: dict | None = None) -> dict:
    """Give ``obj`` (a mesh, any topology) the face of ``avatar`` (``shape``: other sliders
    to take the face from, see :func:`inference.character_fit.rig_landmark_change`), with
    ``head_texture`` (the photo on our head's UV map) its face painted into their texture
    (:mod:`blender_addon.character_texture`) and, with ``arkit``, the 52 ARKit keys on the
    new face; returns a report. ``pins`` (landmark id -> object-frame position) correct the
    landmarks found on the mesh; by default the pins parented to ``obj``
    (:mod:`.character_pins`), if any."""
    from .character_pins import pinned_surface, pins_of
    if obj.type != "MESH":
        raise FaceError(f"{obj.name!r} is a {obj.type.lower()}, not a mesh")
    surface, found = find_face(obj)
    found = {k: v for k, v in found.items() if k != "front_landmarks"}
    verts, tris = rest_geometry(obj)
    surface, found["pins_used"] = pinned_surface(verts, tris, surface, pins_of(obj) if pins is None else pins)
    if surface.valid.sum() < 100:
        raise FaceError(f"only {int(surface.valid.sum())} face landmarks could be placed on {obj.name!r} "
                        "(need 100): is the face complete and facing -Y?")
    l0, change, usable = rig_landmark_change(avatar, deformation, shape)
    u, info = character_offsets(verts, tris, surface, l0, change, usable)
    _set_coords(obj, u)
    radius = info["face_radius"]            # the deformer's: the landmarks' spread on their mesh
    bones = _reseat_bones(obj, verts, u, 0.15 * radius)
    report = {**found, **info, "bones_reseated": bones,
              "max_offset_of_face_radius": float(np.linalg.norm(u, axis=1).max() / radius)}
    # the landmarks' triangles and weights hold on the deformed basis
    if head_texture is not None:
        from .character_texture import apply_face_texture
        report.update(apply_face_texture(obj, surface, head_texture))
    if arkit:
        report.update(add_arkit_keys(obj, surface))
    return report
