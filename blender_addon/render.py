"""Render an avatar headless: front, three-quarter or turntable, face centred.

The camera and lights live in a ``photo2avatar_studio`` collection that is created once
per scene and reused. Output colours use the ``Standard`` view transform so that a
toon render shows the avatar's colour parameters unchanged (AgX would shift them).
Files are written to a temp name and renamed, so a failed render leaves nothing behind.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

from inference.avatar import hex_to_rgb, srgb_to_linear
from inference.native_io import silenced_fd
from rigs.arkit import ARKIT_NAMES

from .avatar_build import AvatarObjects, evaluated_vertices

ENGINES = ("CYCLES", "BLENDER_WORKBENCH", "BLENDER_EEVEE")
VIEWS = {"front": 0.0, "three-quarter": 35.0}
MIN_SIZE, MAX_SIZE = 16, 8192   # pixels; the CLI checks the same range before loading bpy
STUDIO = "photo2avatar_studio"
LENS_MM, SENSOR_MM = 85.0, 36.0
FRAME_HEIGHT = 0.34          # metres of the subject visible vertically
FACE_DROP = 0.035            # frame centre sits this far below the eyes (face centre)


def quiet_stdout():
    """Send Blender's C-level progress lines (``Fra:...``, ``Saved:``) to /dev/null so a
    command's stdout carries only its own output."""
    return silenced_fd(1)


def face_centre(objs: AvatarObjects) -> Vector:
    """World-space point between the eye pivots, lowered to the middle of the face."""
    arm = objs.armature
    pb = arm.pose.bones
    mid = (arm.matrix_world @ pb["eye.L"].head + arm.matrix_world @ pb["eye.R"].head) / 2
    return mid - Vector((0.0, 0.0, FACE_DROP))


def fitted_frame_height(objs: AvatarObjects, centre: Vector) -> float:
    """:data:`FRAME_HEIGHT`, or, where the hair rises higher above the face centre than that
    frame shows (an afro, curls piled on the crown), enough to show it with 1 cm to spare."""
    hair = objs.assets.get("hair")
    if hair is None:
        return FRAME_HEIGHT
    rise = float(evaluated_vertices(hair)[:, 2].max()) - centre.z   # sliders, style and pose included
    return FRAME_HEIGHT if rise <= FRAME_HEIGHT / 2 else 2.0 * (rise + 0.01)


def _studio(scene: bpy.types.Scene):
    coll = bpy.data.collections.get(STUDIO)
    if coll is None:
        coll = bpy.data.collections.new(STUDIO)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    cam = coll.objects.get(f"{STUDIO}_camera")
    if cam is None:
        cam = bpy.data.objects.new(f"{STUDIO}_camera", bpy.data.cameras.new(f"{STUDIO}_camera"))
        coll.objects.link(cam)
        for name, energy, size, loc in (("key", 14.0, 0.6, (-0.7, -0.9, 0.6)),
                                        ("fill", 4.0, 1.0, (0.9, -0.7, 0.1)),
                                        ("rim", 8.0, 0.4, (0.3, 0.9, 0.5))):
            light = bpy.data.lights.new(f"{STUDIO}_{name}", "AREA")
            light.energy, light.size = energy, size
            lo = bpy.data.objects.new(f"{STUDIO}_{name}", light)
            lo["offset"] = loc
            coll.objects.link(lo)
    return coll, cam


def _aim(obj, target: Vector) -> None:
    obj.rotation_euler = (target - obj.location).to_track_quat("-Z", "Y").to_euler()


def _place_studio(coll, cam, centre: Vector, yaw_deg: float, pitch_deg: float = 0.0,
                  frame_height: float = FRAME_HEIGHT) -> None:
    cam.data.lens, cam.data.sensor_width, cam.data.sensor_fit = LENS_MM, SENSOR_MM, "VERTICAL"
    cam.data.sensor_height = SENSOR_MM
    dist = (frame_height / 2) / math.tan(math.atan(SENSOR_MM / 2 / LENS_MM))
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    cam.location = centre + dist * Vector((math.sin(yaw) * math.cos(pitch),
                                           -math.cos(yaw) * math.cos(pitch), math.sin(pitch)))
    _aim(cam, centre)
    cam.data.clip_start, cam.data.clip_end = 0.05, 10.0
    for lo in coll.objects:
        if lo.type == "LIGHT":
            lo.location = centre + Vector(lo["offset"])
            _aim(lo, centre)


def _has_oidn() -> bool:
    try:
        import _cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def _configure(scene, engine: str, look: str, size: int, samples: int | None,
               transparent: bool, background: str) -> None:
    r = scene.render
    r.engine = engine
    r.resolution_x = r.resolution_y = size
    r.resolution_percentage = 100
    r.film_transparent = transparent
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGBA" if transparent else "RGB"
    r.image_settings.color_depth = "8"
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure, scene.view_settings.gamma = 0.0, 1.0
    world = scene.world or bpy.data.worlds.new("World")
    scene.world = world
    bg = world.node_tree.nodes.get("Background") if world.node_tree else None
    col = (*srgb_to_linear(hex_to_rgb(background)), 1.0)
    if bg is not None:
        bg.inputs["Color"].default_value = col
        bg.inputs["Strength"].default_value = 1.0
    world.color = col[:3]
    if engine == "CYCLES":
        c = scene.cycles
        c.device = "CPU"
        toon = look == "toon"
        c.samples = samples or (4 if toon else 16)
        c.use_adaptive_sampling = False
        c.max_bounces = 0 if toon else 4
        c.diffuse_bounces, c.glossy_bounces = (0, 0) if toon else (2, 2)
        c.transmission_bounces = 0 if toon else 4   # glasses lenses are glass in PBR
        c.volume_bounces = 0
        c.transparent_max_bounces = 8
        c.use_denoising = (not toon) and _has_oidn()
        c.pixel_filter_type = "BLACKMAN_HARRIS"
        # the outline material is see-through from inside; no caustics or light tricks needed
        c.caustics_reflective = c.caustics_refractive = False
    elif engine == "BLENDER_WORKBENCH":
        sh = scene.display.shading
        sh.light, sh.color_type = "STUDIO", "MATERIAL"
        sh.show_cavity = False
        scene.display.render_aa = "8"
    elif engine == "BLENDER_EEVEE":
        scene.eevee.taa_render_samples = samples or 16


def render_avatar(objs: AvatarObjects, path: str | os.PathLike, size: int = 512,
                  engine: str = "CYCLES", view: str = "front", neutral: bool = True,
                  transparent: bool = False, background: str = "#e9e6e1",
                  samples: int | None = None, turntable_frames: int = 8,
                  scene: bpy.types.Scene | None = None,
                  angles: tuple[float, float] | None = None,
                  frame_height: float | None = None) -> list[Path]:
    """Render ``objs`` to PNG; returns the written files.

    ``view`` is ``front``, ``three-quarter`` or ``turntable`` (``turntable_frames`` images
    named ``<stem>_000.png``...). ``neutral`` zeroes the expression keys for the render
    and restores them afterwards. ``angles`` = (yaw, pitch) in degrees places the camera
    explicitly (yaw turns toward the avatar's left, pitch looks from above), overriding
    ``view``. ``frame_height`` (m) is how much of the subject the frame shows vertically
    (default: :func:`fitted_frame_height`, more for tall hair). After the call ``scene.camera`` holds the last camera pose, so
    :func:`projection_matrix` maps world points onto the written image.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (expected one of {', '.join(ENGINES)})")
    if view not in (*VIEWS, "turntable"):
        raise ValueError(f"unknown view {view!r} (expected front, three-quarter or turntable)")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size {size} is outside {MIN_SIZE}..{MAX_SIZE} pixels")
    scene = scene or bpy.context.scene
    look = objs.collection.get("photo2avatar_look", "toon")
    _configure(scene, engine, look, size, samples, transparent, background)
    coll, cam = _studio(scene)
    scene.camera = cam
    # the studio shows the avatar alone: other avatars, and whatever else the scene holds (the
    # startup file's cube sits where avatars are built; its light would add to the studio's),
    # stay out of this render
    own = {o.name for o in objs.collection.all_objects} | {o.name for o in coll.all_objects}
    hidden = [o for o in scene.objects if o.name not in own and not o.hide_render]
    for o in hidden:
        o.hide_render = True
    saved = {}
    if neutral:
        kb = objs.head.data.shape_keys.key_blocks
        for n in ARKIT_NAMES:
            if kb[n].value:
                saved[n] = kb[n].value
                kb[n].value = 0.0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if angles is not None:
        poses = [tuple(angles)]
    elif view == "turntable":
        poses = [(360.0 * i / turntable_frames, 0.0) for i in range(turntable_frames)]
    else:
        poses = [(VIEWS[view], 0.0)]
    written = []
    try:
        centre = face_centre(objs)
        if frame_height is None:
            frame_height = fitted_frame_height(objs, centre)
        for i, (yaw, pitch) in enumerate(poses):
            out = path if len(poses) == 1 else path.with_name(f"{path.stem}_{i:03d}.png")
            _place_studio(coll, cam, centre, yaw, pitch, frame_height)
            tmp = out.with_name(f".{out.stem}.tmp.png")
            scene.render.filepath = str(tmp)
            with quiet_stdout():
                bpy.ops.render.render(write_still=True, scene=scene.name)
            os.replace(tmp, out)
            written.append(out)
    finally:
        for n, v in saved.items():
            objs.head.data.shape_keys.key_blocks[n].value = v
        for o in hidden:
            o.hide_render = False
    return written


def projection_matrix(scene: bpy.types.Scene) -> np.ndarray:
    """3x4 matrix mapping world points to pixel coordinates (x right, y down, origin at the
    top-left corner) for the scene camera at the current render size."""
    cam = scene.camera
    r = scene.render
    w, h = r.resolution_x, r.resolution_y
    f = cam.data.lens / cam.data.sensor_height * h if cam.data.sensor_fit == "VERTICAL" \
        else cam.data.lens / cam.data.sensor_width * w
    k = np.array([[f, 0, w / 2], [0, -f, h / 2], [0, 0, 1]])
    view = np.array(cam.matrix_world.inverted())[:3]
    # Blender's camera looks down -Z: flip z so depth is positive
    view[2] *= -1
    return k @ view
