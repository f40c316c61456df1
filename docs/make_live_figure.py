"""The README's live-capture figure: ``python docs/make_live_figure.py``.

Top row: frames of the bundled clip (``samples/live/face_clip.mp4``). Bottom row: an avatar
generated from a sample photo (person_03), posed by the take the live capture recorded from
that clip (the add-on's headless *Start live* with Record), rendered at the same frames.
Writes ``docs/images/live_take.png``.
"""
from __future__ import annotations

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

from blender_addon import addon  # noqa: E402
from blender_addon.avatar_build import build_avatar  # noqa: E402
from blender_addon.render import render_avatar  # noqa: E402
from inference.pipeline import Backend  # noqa: E402

CLIP = ROOT / "samples" / "live" / "face_clip.mp4"
PHOTO = ROOT / "samples" / "photos" / "person_03.jpg"
FRAMES = (5, 25, 44, 66, 84, 107)       # neutral, jaw, smile, blink, brows, head turn
TILE = 240


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    bpy.context.scene.render.fps = 30
    objs = build_avatar(Backend().analyze(PHOTO).avatar)
    assert bpy.ops.photo2avatar.live_start(source_kind="VIDEO", filepath=str(CLIP), record=True) == {"FINISHED"}
    cap = cv2.VideoCapture(str(CLIP))
    clip = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        clip.append(bgr)
    top, bottom = [], []
    scene = bpy.context.scene
    with tempfile.TemporaryDirectory() as tmp:
        for f in FRAMES:
            h, w = clip[f].shape[:2]
            top.append(cv2.resize(clip[f][:, (w - h) // 2:(w + h) // 2], (TILE, TILE), interpolation=cv2.INTER_AREA))
            scene.frame_set(scene.frame_start + f)
            png = Path(tmp) / f"f{f}.png"
            render_avatar(objs, png, size=TILE, neutral=False)
            bottom.append(cv2.imread(str(png)))
    sheet = np.vstack([np.hstack(top), np.hstack(bottom)])
    out = ROOT / "docs" / "images" / "live_take.png"
    cv2.imwrite(str(out), sheet)
    addon.unregister()
    print(out)


if __name__ == "__main__":
    main()
