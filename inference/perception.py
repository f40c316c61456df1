"""Perception: MediaPipe landmarks and person segmentation on a photo.

Produces a :class:`FaceObservation` (plain arrays) or raises a
:class:`~inference.errors.FaceError` whose message says what is wrong with the photo.
Image coordinates: pixels, x right, y down, origin top-left.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.errors import FaceError
from inference.landmarks import LandmarkDetector, quiet_native_stderr

MIN_FACE_PX = 60            # inter-ocular + margins: below this the landmarks are guesswork
EDGE_MARGIN = 0.02          # landmarks this close (fraction of the side) to the border: cut off


@dataclass
class FaceObservation:
    """What the photo shows: landmarks of the largest face, the person mask, warnings."""
    rgb: np.ndarray                  # (H, W, 3) uint8
    landmarks: np.ndarray            # (478, 3) pixels (z: MediaPipe relative depth, x scale)
    person_mask: np.ndarray          # (H, W) float32 in [0, 1] (selfie segmentation)
    n_faces: int
    warnings: list[str] = field(default_factory=list)
    shoulders: np.ndarray | None = None   # (2, 2) pixels of the shoulder joints (MediaPipe Pose), if seen

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]

    @property
    def interocular(self) -> float:
        """Outer-eye-corner distance in pixels (landmarks 33 and 263)."""
        return float(np.linalg.norm(self.landmarks[33, :2] - self.landmarks[263, :2]))


class Perceiver:
    """Keeps MediaPipe's models loaded between photos (the warm backend holds one)."""

    def __init__(self):
        self.detector = LandmarkDetector(max_faces=4)
        with quiet_native_stderr():
            import mediapipe as mp
            self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
            # the shoulders are where hair turns from medium to long (the full pose model
            # ships in the wheel; only its shoulder joints are used)
            self._pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)
            # its graph opens its models on worker threads, which log to fd 2 after this
            # block unless one frame has gone through while it is silenced
            self._pose.process(np.zeros((64, 64, 3), np.uint8))

    def observe(self, rgb: np.ndarray) -> FaceObservation:
        """Landmarks of the largest face plus the person mask; FaceError if unusable."""
        h, w = rgb.shape[:2]
        faces = self.detector.detect(rgb)
        if not faces:
            raise FaceError("no face found in the photo (a clear, front-facing portrait works best)")
        face = faces[0]
        warnings = []
        if len(faces) > 1:
            warnings.append(f"{len(faces)} faces found; using the largest")
        p = face.points
        extent = max(np.ptp(p[:, 0]), np.ptp(p[:, 1]))
        if extent < MIN_FACE_PX:
            raise FaceError(f"the face is too small ({extent:.0f} px across; at least {MIN_FACE_PX} "
                            "are needed): crop closer or use a larger photo")
        mx, my = EDGE_MARGIN * w, EDGE_MARGIN * h
        outside = ((p[:, 0] < -mx) | (p[:, 0] > w + mx) | (p[:, 1] < -my) | (p[:, 1] > h + my)).mean()
        if outside > 0.03:
            raise FaceError("the face is cut off by the edge of the photo")
        with quiet_native_stderr():
            mask = self._seg.process(np.ascontiguousarray(rgb)).segmentation_mask
        mask = np.zeros((h, w), np.float32) if mask is None else mask.astype(np.float32)
        return FaceObservation(rgb, p, mask, len(faces), warnings, self._shoulders(rgb))

    def _shoulders(self, rgb: np.ndarray) -> np.ndarray | None:
        """Both shoulder joints in pixels, or None when Pose does not see them clearly."""
        h, w = rgb.shape[:2]
        with quiet_native_stderr():
            res = self._pose.process(np.ascontiguousarray(rgb))
        if res.pose_landmarks is None:
            return None
        pts = [res.pose_landmarks.landmark[i] for i in (11, 12)]
        if min(q.visibility for q in pts) < 0.5:
            return None
        return np.array([[q.x * w, q.y * h] for q in pts])

    def close(self) -> None:
        self.detector.close()
        self._seg.close()
        self._pose.close()
