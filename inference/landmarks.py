"""MediaPipe face landmarks (478 points with iris) on an RGB image, fully offline.

Coordinates: pixels, x to the right, y down, origin at the top-left corner of the image;
``z`` is MediaPipe's relative depth scaled like x (pixels, smaller = closer to camera).

Landmark index sets used across the project (MediaPipe's canonical face-mesh numbering)
live here too, so the fitting, the eval and the rig's correspondences agree.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from inference.native_io import silenced_fd

os.environ.setdefault("GLOG_minloglevel", "2")       # keep MediaPipe's C++ logs quiet
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

N_LANDMARKS = 478


def quiet_native_stderr():
    """Silence fd 2 while MediaPipe's C++ side starts and runs: it logs 'Created TensorFlow
    Lite XNNPACK delegate' and absl warnings there, which would break the CLI's promise of
    one line per error."""
    return silenced_fd(2)


def _edge_vertices(edges) -> np.ndarray:
    a = np.array(sorted({i for e in edges for i in e}))
    a.setflags(write=False)
    return a


def landmark_sets() -> dict[str, np.ndarray]:
    """Named landmark index sets (face oval, eyes, brows, lips, irises, nose); a fresh dict
    over shared read-only arrays (the styles and texture steps ask for it per avatar)."""
    return dict(_landmark_sets())


@functools.lru_cache(maxsize=1)
def _landmark_sets() -> dict[str, np.ndarray]:
    from mediapipe.python.solutions import face_mesh_connections as c
    return {
        "face_oval": _edge_vertices(c.FACEMESH_FACE_OVAL),
        "left_eye": _edge_vertices(c.FACEMESH_LEFT_EYE),
        "right_eye": _edge_vertices(c.FACEMESH_RIGHT_EYE),
        "left_eyebrow": _edge_vertices(c.FACEMESH_LEFT_EYEBROW),
        "right_eyebrow": _edge_vertices(c.FACEMESH_RIGHT_EYEBROW),
        "lips": _edge_vertices(c.FACEMESH_LIPS),
        "left_iris": _edge_vertices(c.FACEMESH_LEFT_IRIS),
        "right_iris": _edge_vertices(c.FACEMESH_RIGHT_IRIS),
        "nose": _edge_vertices(c.FACEMESH_NOSE),
    }


@dataclass
class FaceLandmarks:
    """Landmarks of one face: ``points`` (478, 3) in pixels; ``image_size`` (width, height)."""
    points: np.ndarray
    image_size: tuple[int, int]


class LandmarkDetector:
    """Wraps ``mediapipe.solutions.face_mesh`` (iris refinement). Reuse one instance:
    constructing it loads the bundled models (~0.1 s). ``tracking``: frames of one video,
    in order; the face detector runs only when the landmark track is lost (faster)."""

    def __init__(self, max_faces: int = 4, min_confidence: float = 0.5, tracking: bool = False):
        with quiet_native_stderr():
            import mediapipe as mp
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=not tracking, refine_landmarks=True, max_num_faces=max_faces,
                min_detection_confidence=min_confidence, min_tracking_confidence=0.5)

    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        """All faces in an (H, W, 3) uint8 RGB image, largest first."""
        rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
        h, w = rgb.shape[:2]
        with quiet_native_stderr():
            res = self._mesh.process(rgb)
        faces = []
        for lm in res.multi_face_landmarks or []:
            p = np.array([(q.x * w, q.y * h, q.z * w) for q in lm.landmark], dtype=np.float64)
            faces.append(FaceLandmarks(p, (w, h)))
        faces.sort(key=lambda f: -np.ptp(f.points[:, 0]) * np.ptp(f.points[:, 1]))
        return faces

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
