"""Does applying a photo bring a character's face toward the person? ``python docs/measure_character_nme.py``.

For each test character of another topology (``tests/characters.py``) and each sample photo:
MediaPipe's landmarks on the character's own face-framed front view (the view the face
search renders, plain grey skin) against the photo's, as the eval's aligned NME, before and
after ``apply`` (identity style, no texture). Prints one row per case and the medians.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from blender_addon.environment import contain_caches  # noqa: E402

contain_caches()

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from blender_addon.character import apply_to_character, find_face  # noqa: E402
from characters import make_character  # noqa: E402
from inference.evaluate import landmark_nme  # noqa: E402
from inference.photo_io import load_photo  # noqa: E402
from inference.pipeline import Backend  # noqa: E402

PHOTOS = ("person_02", "person_05", "person_11", "person_13")
CHARACTERS = ("lowpoly", "body", "remeshed")


def main() -> None:
    backend = Backend()
    rows = []
    for name in PHOTOS:
        photo = load_photo(ROOT / "samples" / "photos" / f"{name}.jpg")
        photo_lm = backend.perceiver.observe(photo.rgb).landmarks
        analysis = backend.analyze(photo, texture="none")
        for kind in CHARACTERS:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            obj = make_character(kind)
            before = landmark_nme(find_face(obj)[1]["front_landmarks"], photo_lm)
            apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape)
            after = landmark_nme(find_face(obj)[1]["front_landmarks"], photo_lm)
            rows.append((name, kind, before, after))
            print(f"{name} {kind:9s} NME {before:.4f} -> {after:.4f}", flush=True)
    b, a = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    print(f"lower in {int((a < b).sum())} of {len(rows)}; median {np.median(b):.4f} -> {np.median(a):.4f}")


if __name__ == "__main__":
    main()
