"""Expressions from other rigs in the scene, and onto the avatar.

:func:`track_from_shape_keys` samples another object's shape keys (whatever animates them:
an action, drivers, the NLA) frame by frame and maps their names onto ARKit's
(:mod:`inference.name_mapping`). :func:`apply_track` turns an
:class:`~inference.expression_track.ExpressionTrack` into Blender actions on an avatar: ARKit shape-key values on every mesh that has them (head, teeth, tongue, brows,
beard) and head/eye rotations on the armature, one keyframe per frame at the scene rate.

Keyframes are written in bulk (``keyframe_points.foreach_set``) into Blender 4.4+ layered
actions (one slot per animated ID), so a minute of 60 fps capture takes well under a
second.
"""
from __future__ import annotations

import bpy
import numpy as np

from inference.errors import InputError
from inference.expression_track import ExpressionTrack
from inference.name_mapping import map_names

from .avatar_build import AvatarObjects

# track rotation channel -> (bone, euler axis index in the bone's local XYZ)
BONE_CHANNELS = {"HeadYaw": ("head", 1), "HeadPitch": ("head", 0), "HeadRoll": ("head", 2),
                 "LeftEyeYaw": ("eye.L", 2), "LeftEyePitch": ("eye.L", 0),
                 "RightEyeYaw": ("eye.R", 2), "RightEyePitch": ("eye.R", 0)}


def track_from_shape_keys(obj: bpy.types.Object, table: dict[str, str] | None = None,
                          frame_start: int | None = None, frame_end: int | None = None) -> ExpressionTrack:
    """Sample ``obj``'s shape keys over a frame range (default: its action's range, else the
    scene's) into a track of the ARKit channels their names map to."""
    keys = obj.data.shape_keys if obj.type == "MESH" else None
    if keys is None:
        raise InputError(f"object {obj.name!r} has no shape keys to retarget from")
    mapping = map_names([kb.name for kb in keys.key_blocks[1:]], table)
    if not mapping:
        raise InputError(f"none of {obj.name!r}'s shape keys map to ARKit names "
                         "(pass a mapping table: their name -> ARKit name)")
    scene = bpy.context.scene
    act = keys.animation_data.action if keys.animation_data else None
    if frame_start is None or frame_end is None:
        lo, hi = (int(act.frame_range[0]), int(act.frame_range[1])) if act else (scene.frame_start, scene.frame_end)
        frame_start = lo if frame_start is None else frame_start
        frame_end = hi if frame_end is None else frame_end
    if frame_end < frame_start:
        raise InputError(f"frame range {frame_start}..{frame_end} is empty")
    frames = range(frame_start, frame_end + 1)
    values = {arkit: np.empty(len(frames)) for arkit in mapping.values()}
    current = scene.frame_current
    try:
        for i, f in enumerate(frames):
            scene.frame_set(f)
            for src, arkit in mapping.items():
                values[arkit][i] = keys.key_blocks[src].value
    finally:
        scene.frame_set(current)
    fps = scene.render.fps / scene.render.fps_base
    times = np.arange(len(frames)) / fps
    return ExpressionTrack(times, {k: np.clip(v, 0.0, 1.0) for k, v in values.items()}, {}, fps)


def _channelbag(id_data, name: str):
    """A fresh action with one slot and one keyframe strip assigned to ``id_data``."""
    act = bpy.data.actions.new(name)
    id_data.animation_data_create()
    slot = act.slots.new(id_type=id_data.id_type, name=name)
    id_data.animation_data.action = act
    id_data.animation_data.action_slot = slot
    strip = act.layers.new("retarget").strips.new(type="KEYFRAME")
    return act, strip.channelbag(slot, ensure=True)


def _fcurve(bag, path: str, frames: np.ndarray, values: np.ndarray, index: int = 0) -> None:
    fc = bag.fcurves.new(path, index=index)
    fc.keyframe_points.add(len(frames))
    co = np.empty(2 * len(frames), np.float32)
    co[0::2], co[1::2] = frames, values
    fc.keyframe_points.foreach_set("co", co)
    fc.keyframe_points.foreach_set("interpolation", np.full(len(frames), 2, np.int32))   # LINEAR
    fc.update()


def apply_track(objs: AvatarObjects, track: ExpressionTrack, fps: float | None = None,
                start_frame: int = 1, name: str = "retarget") -> list[bpy.types.Action]:
    """Key the track onto the avatar at ``fps`` (default: the scene's); returns the actions.
    ``objs`` may also hold another character's meshes (``armature`` None): their shape keys
    whose names map onto ARKit's are keyed, bones are not."""
    scene = bpy.context.scene
    fps = fps or scene.render.fps / scene.render.fps_base
    track = track.resampled(fps)
    frames = start_frame + np.arange(track.n_frames, dtype=np.float64)
    actions = []
    for obj in [*objs.parts.values(), *objs.assets.values()]:
        key = obj.data.shape_keys if obj.type == "MESH" else None
        if key is None:
            continue
        # a character's keys may be named another tool's way (EyeBlinkLeft, eyeBlink_L)
        blocks = {b: a for b, a in map_names([kb.name for kb in key.key_blocks[1:]]).items()
                  if a in track.weights}
        if not blocks:
            continue
        act, bag = _channelbag(key, f"{name}_{obj.name}")
        for block, arkit in blocks.items():
            _fcurve(bag, f'key_blocks["{block}"].value', frames, track.weights[arkit])
        actions.append(act)
    rot = {ch: v for ch, v in track.rotations.items() if ch in BONE_CHANNELS}
    if rot and objs.armature is not None:     # another character's bones: axes unknown, not keyed
        arm = objs.armature
        act, bag = _channelbag(arm, f"{name}_{arm.name}")
        per_bone: dict[str, dict[int, np.ndarray]] = {}
        for ch, v in rot.items():
            bone, axis = BONE_CHANNELS[ch]
            per_bone.setdefault(bone, {})[axis] = v
        for bone, axes in per_bone.items():
            arm.pose.bones[bone].rotation_mode = "XYZ"
            for axis in range(3):
                _fcurve(bag, f'pose.bones["{bone}"].rotation_euler', frames,
                        axes.get(axis, np.zeros(len(frames))), index=axis)
        actions.append(act)
    scene.frame_start, scene.frame_end = start_frame, int(frames[-1])
    scene.render.fps, scene.render.fps_base = int(round(fps)), int(round(fps)) / fps
    return actions
