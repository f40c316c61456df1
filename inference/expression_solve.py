"""Per-frame ARKit expression solve for video retargeting (no bpy).

Same model as :mod:`inference.fit` (landmarks linear in every blendshape weight), but
the identity sliders are fixed to the avatar's and every observable ARKit channel is a
free variable of its own (left and right apart: a wink is a wink). Per frame: one
weighted Umeyama for the head pose, one bounded least-squares solve for the weights
(``scipy.optimize.lsq_linear``), warm-started from the previous frame's pose.

Not solved: gaze (the eyeballs are separate meshes turned by bones) and the tongue (no
landmark on it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.fit import DEPTH_WEIGHT, M_RIG_TO_CAM, _euler, umeyama
from rigs.arkit import ARKIT_NAMES
from rigs.catalogue import target_weights
from rigs.rig_asset import load_correspondence, load_rig

UNSOLVED = ("eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeLookDownRight",
            "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight", "tongueOut")
PRIOR = 3e-3         # per-channel pull toward 0: MediaPipe noise otherwise lights up many channels
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


@dataclass
class FrameSolve:
    weights: np.ndarray           # (C,) in [0, 1], channel order of ExpressionSolver.channels
    yaw_pitch_roll: tuple[float, float, float]
    residual_norm: float


class ExpressionSolver:
    """Solve ARKit weights for an avatar with the given identity ``shape``."""

    def __init__(self, shape: dict[str, float] | None = None):
        rig = load_rig()
        corr = load_correspondence()
        verts = rig.deformed(target_weights(shape or {}))
        self.x0 = corr.points(verts) @ M_RIG_TO_CAM.T
        self.channels = tuple(n for n in ARKIT_NAMES if n not in UNSOLVED)
        basis = []
        for n in self.channels:
            d = np.zeros_like(rig.verts)
            idx, dd = rig.target(f"arkit/{n}")
            d[idx] = dd
            basis.append(corr.points(d) @ M_RIG_TO_CAM.T)
        self.basis = np.array(basis)                              # (C, 478, 3)
        w = np.ones(478)
        w[corr.contour] = 0.3
        w[468:] = 0.0
        self.keep = w > 0
        self.w = w
        sw = np.sqrt(w[self.keep])[:, None] * np.array([1.0, 1.0, DEPTH_WEIGHT])
        self._sw = sw
        a = (self.basis[:, self.keep] * sw).reshape(len(self.channels), -1).T
        self._a = np.vstack([a, np.eye(len(self.channels)) * PRIOR * np.sqrt(self.keep.sum())])
        # the design matrix never changes: solve the bounded problem on its (C x C) Cholesky
        # factor instead of the (3n x C) matrix, |A c - b|^2 = |R c - R^-T A^T b|^2 + const
        self._r = np.linalg.cholesky(self._a.T @ self._a).T
        self._prev = np.zeros(len(self.channels))

    def reset(self) -> None:
        """Forget the previous frame (the next solve starts from the neutral face)."""
        self._prev = np.zeros(len(self.channels))

    def solve(self, points: np.ndarray, iterations: int = 2) -> FrameSolve:
        """Weights and head pose from one frame's (478, 3) MediaPipe points (pixels)."""
        from scipy.linalg import solve_triangular
        from scipy.optimize import lsq_linear
        c = self._prev
        na = len(self._a) - len(self.channels)      # the prior rows have b = 0
        for _ in range(iterations):
            x = self.x0 + np.tensordot(c, self.basis, axes=1)
            s, r, t = umeyama(x[self.keep], points[self.keep], self.w[self.keep])
            target = ((points - t) @ r) / s
            b = ((target[self.keep] - self.x0[self.keep]) * self._sw).ravel()
            rhs = solve_triangular(self._r, self._a[:na].T @ b, trans="T")
            c = lsq_linear(self._r, rhs, bounds=(0.0, 1.0), method="bvls").x
        self._prev = c
        x = self.x0 + np.tensordot(c, self.basis, axes=1)
        pred = s * x @ r.T + t
        iod = np.linalg.norm(points[33, :2] - points[263, :2])
        res = float(np.median(np.linalg.norm(pred[self.keep, :2] - points[self.keep, :2], axis=1)) / iod)
        return FrameSolve(c, _euler(r), res)


# The solve's yaw and roll turn the other way from the head bone's axes the retarget
# keys (a render keyed HeadYaw +0.2 / HeadRoll +0.2 solves as -0.20 / -0.21, HeadPitch
# +0.2 as +0.15): tracks carry the bone's convention, so a video of the avatar played
# back onto it turns the same way.
HEAD_SIGNS = np.array([-1.0, 1.0, -1.0])


def head_rotation(yaw_pitch_roll_deg) -> np.ndarray:
    """(HeadYaw, HeadPitch, HeadRoll) in radians, in the convention tracks are keyed in,
    from a solve's camera-frame yaw, pitch and roll in degrees."""
    return np.radians(np.asarray(yaw_pitch_roll_deg, np.float64)) * HEAD_SIGNS


def frames_of(source: str | Path):
    """Yield (time in seconds, RGB frame) from a video file or a folder of images
    (sorted by name, at 30 fps)."""
    import cv2
    from inference.errors import InputError
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{source}: no images (png, jpg) in the folder")
        for i, f in enumerate(files):
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                raise InputError(f"{f}: not an image file")
            yield i / 30.0, cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise InputError(f"{source}: cannot open the video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    i = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield i / fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()


def frame_count(source: str | Path) -> int:
    """How many frames ``source`` holds (0 when a video does not say)."""
    source = Path(source)
    if source.is_dir():
        return sum(1 for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    import cv2
    cap = cv2.VideoCapture(str(source))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    finally:
        cap.release()


def track_from_frames(source, shape: dict[str, float] | None = None, progress=None):
    """An :class:`~inference.expression_track.ExpressionTrack` from a video or image folder.
    Frames without a face repeat the previous solve (and are counted in ``missing``).
    ``progress(frames_done, frames_total)`` is called every 10 frames (total 0: unknown)."""
    from inference.errors import FaceError
    from inference.expression_track import ExpressionTrack
    from inference.landmarks import LandmarkDetector
    solver = ExpressionSolver(shape)
    total = frame_count(source) if progress else 0
    times, rows, rots, missing = [], [], [], 0
    with LandmarkDetector(max_faces=1) as det:
        for i, (t, rgb) in enumerate(frames_of(source)):
            faces = det.detect(rgb)
            if faces:
                fs = solver.solve(faces[0].points)
                rows.append(fs.weights)
                rots.append(head_rotation(fs.yaw_pitch_roll))
            elif rows:
                rows.append(rows[-1])
                rots.append(rots[-1])
                missing += 1
            else:
                missing += 1
                continue
            times.append(t)
            if progress and i % 10 == 0:
                progress(i, total)
    if not rows:
        raise FaceError(f"{source}: no face found in any frame")
    w = np.array(rows)
    r = np.array(rots)
    weights = {n: w[:, j] for j, n in enumerate(solver.channels)}
    t = np.array(times) - times[0]
    fps = 1.0 / np.median(np.diff(t)) if len(t) > 1 else 30.0
    # pose relative to the first frame, so a head that starts turned is the rest pose
    rotations = {"HeadYaw": r[:, 0] - r[0, 0], "HeadPitch": r[:, 1] - r[0, 1], "HeadRoll": r[:, 2] - r[0, 2]}
    track = ExpressionTrack(t, weights, rotations, float(fps))
    track.missing_frames = missing
    return track
