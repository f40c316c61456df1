"""Turn an :class:`~inference.expression_track.ExpressionTrack` into Blender actions on an
avatar: ARKit shape-key values on every mesh that has them (head, teeth, tongue, brows,
beard) and head/eye rotations on the armature, one keyframe per frame at the scene rate.

Keyframes are written in bulk (``keyframe_points.foreach_set``) into Blender 4.4+ layered
actions (one slot per animated ID), so a minute of 60 fps capture takes well under a
second.
"""
from __future__ import annotations

import bpy
import numpy as np

from inference.expression_track import ExpressionTrack

from .avatar_build import AvatarObjects

# track rotation channel -> (bone, euler axis index in the bone's local XYZ)
BONE_CHANNELS = {"HeadYaw": ("head", 1), "HeadPitch": ("head", 0), "HeadRoll": ("head", 2),
                 "LeftEyeYaw": ("eye.L", 2), "LeftEyePitch": ("eye.L", 0),
                 "RightEyeYaw": ("eye.R", 2), "RightEyePitch": ("eye.R", 0)}


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
    """Key the track onto the avatar at ``fps`` (default: the scene's); returns the actions."""
    scene = bpy.context.scene
    fps = fps or scene.render.fps / scene.render.fps_base
    track = track.resampled(fps)
    frames = start_frame + np.arange(track.n_frames, dtype=np.float64)
    actions = []
    for obj in [*objs.parts.values(), *objs.assets.values()]:
        key = obj.data.shape_keys
        if key is None:
            continue
        names = [n for n in track.weights if n in key.key_blocks]
        if not names:
            continue
        act, bag = _channelbag(key, f"{name}_{obj.name}")
        for n in names:
            _fcurve(bag, f'key_blocks["{n}"].value', frames, track.weights[n])
        actions.append(act)
    rot = {ch: v for ch, v in track.rotations.items() if ch in BONE_CHANNELS}
    if rot:
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
