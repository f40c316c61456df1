"""Render the bundled capture clip: ``python samples/make_live_clip.py``.

``samples/live/face_clip.mp4`` stands in for a webcam in the live-capture tests and the
latency benchmark: 640x480 at 30 fps, the default avatar (toon look) performing one
expression at a time, keyed through the project's own retarget (``apply_track``), with a
few frames that show no face. ``samples/live/face_clip.json`` holds what each frame was
keyed with (ARKit weights, head yaw in radians, whether the face is in the frame), so
tests can check that the live solve reads back what was performed.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()

import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from blender_addon.avatar_build import build_avatar  # noqa: E402
from blender_addon.render import render_avatar  # noqa: E402
from blender_addon.retarget import apply_track  # noqa: E402
from inference.avatar import default_avatar  # noqa: E402
from inference.expression_track import ExpressionTrack  # noqa: E402

OUT = ROOT / "samples" / "live"
FPS, WIDTH, HEIGHT = 30, 640, 480
# (first frame, frames, {channel: peak}) - each expression rises and falls once
PERFORMANCE = [
    (15, 20, {"jawOpen": 0.8}),
    (35, 20, {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9}),
    (60, 14, {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}),
    (75, 20, {"browInnerUp": 0.9, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8}),
]
YAW = (95, 25, 0.35)            # first frame, frames, peak head yaw (rad, toward the avatar's left)
NO_FACE = range(55, 60)         # frames with the avatar out of the picture
N_FRAMES = 120


def performance() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-frame weights and head yaw of the clip."""
    weights: dict[str, np.ndarray] = {}
    for start, n, peaks in PERFORMANCE:
        bump = np.zeros(N_FRAMES)
        bump[start:start + n] = np.sin(np.linspace(0.0, np.pi, n))
        for ch, peak in peaks.items():
            weights[ch] = weights.get(ch, np.zeros(N_FRAMES)) + peak * bump
    start, n, peak = YAW
    yaw = np.zeros(N_FRAMES)
    yaw[start:start + n] = peak * np.sin(np.linspace(0.0, np.pi, n))
    return weights, yaw


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    objs = build_avatar(default_avatar())
    weights, yaw = performance()
    times = np.arange(N_FRAMES) / FPS
    apply_track(objs, ExpressionTrack(times, weights, {"HeadYaw": yaw}, FPS), fps=FPS)
    OUT.mkdir(parents=True, exist_ok=True)
    video = OUT / ".face_clip.tmp.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    scene = bpy.context.scene
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "frame.png"
        for i in range(N_FRAMES):
            scene.frame_set(1 + i)
            if i in NO_FACE:
                frame = np.full((HEIGHT, WIDTH, 3), (225, 230, 233), np.uint8)   # the backdrop, empty
            else:
                render_avatar(objs, png, size=HEIGHT, neutral=False)
                img = cv2.imread(str(png), cv2.IMREAD_COLOR)
                pad = (WIDTH - HEIGHT) // 2
                frame = cv2.copyMakeBorder(img, 0, 0, pad, WIDTH - HEIGHT - pad, cv2.BORDER_REPLICATE)
            writer.write(frame)
            print(f"frame {i + 1}/{N_FRAMES}", end="\r", file=sys.stderr)
    writer.release()
    video.replace(OUT / "face_clip.mp4")
    truth = {"fps": FPS, "frames": N_FRAMES, "face": [i not in NO_FACE for i in range(N_FRAMES)],
             "weights": {k: np.round(v, 4).tolist() for k, v in weights.items()},
             "head_yaw": np.round(yaw, 4).tolist()}
    (OUT / "face_clip.json").write_text(json.dumps(truth, indent=1) + "\n")
    print(f"\n{OUT / 'face_clip.mp4'}", file=sys.stderr)


if __name__ == "__main__":
    main()
