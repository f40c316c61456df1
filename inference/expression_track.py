"""Expression tracks: ARKit-52 weights and head/eye rotations over time (no bpy).

Sources so far: Live Link Face CSV. Processing: resampling to a frame rate, One Euro
filtering, calibration against a neutral frame, per-channel gain and offset. The
Blender side (``blender_addon.retarget``) turns a track into an action.

Live Link Face CSV: a header ``Timecode, BlendShapeCount`` followed by 61 value columns
(the 52 ARKit shapes in PascalCase, then HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw,
LeftEyePitch, LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll); timecodes are
``HH:MM:SS:FF.fff`` (frames, then a sub-frame fraction).
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.errors import InputError
from inference.name_mapping import canonical_arkit
from rigs.arkit import ARKIT_NAMES

ROTATION_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                    "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LLF_VALUE_COLUMNS = tuple(n[0].upper() + n[1:] for n in ARKIT_NAMES) + ROTATION_COLUMNS   # 61
_TIMECODE = re.compile(r"^(\d+):(\d+):(\d+)[:;](\d+)(?:\.(\d+))?$")
STANDARD_RATES = (24, 25, 30, 48, 50, 60, 120)


@dataclass
class ExpressionTrack:
    """``times`` (n,) seconds from the first frame; ``weights`` name -> (n,) in [0, 1];
    ``rotations`` name -> (n,) radians (head/eye yaw, pitch, roll)."""
    times: np.ndarray
    weights: dict[str, np.ndarray]
    rotations: dict[str, np.ndarray] = field(default_factory=dict)
    source_fps: float = 60.0

    @property
    def n_frames(self) -> int:
        return len(self.times)

    def resampled(self, fps: float) -> "ExpressionTrack":
        """Linear resampling onto a regular grid at ``fps`` covering the same duration."""
        if self.n_frames < 2:
            return self
        t = np.arange(0.0, self.times[-1] + 1e-9, 1.0 / fps)
        res = lambda d: {k: np.interp(t, self.times, v) for k, v in d.items()}  # noqa: E731
        return ExpressionTrack(t, res(self.weights), res(self.rotations), fps)

    def filtered(self, strength: float, fps: float | None = None) -> "ExpressionTrack":
        """One Euro filter on every channel; ``strength`` 0 = off, 1 = strong smoothing."""
        if strength <= 0:
            return self
        rate = fps or self.source_fps
        names = [*self.weights, *self.rotations]
        if not names or self.n_frames == 0:
            return self
        x = np.stack([*self.weights.values(), *self.rotations.values()], axis=1)     # all channels at once
        y = one_euro(x, rate, min_cutoff_for(strength))
        cols = dict(zip(names, y.T))
        return ExpressionTrack(self.times, {k: cols[k] for k in self.weights},
                               {k: cols[k] for k in self.rotations}, self.source_fps)

    def prepared(self, neutral_frame: int | None, gain: dict[str, float], offset: dict[str, float],
                 smoothing: float) -> "ExpressionTrack":
        """Calibrate, scale per channel and filter, as a retarget does before keying;
        a neutral frame outside the track is a usage error."""
        from inference.errors import UsageError
        if neutral_frame is not None and not 0 <= neutral_frame < self.n_frames:
            raise UsageError(f"neutral frame {neutral_frame} is outside 0..{self.n_frames - 1}")
        return self.calibrated(neutral_frame, gain, offset).filtered(smoothing)

    def calibrated(self, neutral_frame: int | None = None, gain: dict[str, float] | None = None,
                   offset: dict[str, float] | None = None) -> "ExpressionTrack":
        """Subtract a neutral frame's weights, then ``w * gain + offset``, clipped to [0, 1]."""
        gain, offset = gain or {}, offset or {}
        out = {}
        for k, v in self.weights.items():
            base = v[neutral_frame] if neutral_frame is not None else 0.0
            out[k] = np.clip((v - base) * gain.get(k, 1.0) + offset.get(k, 0.0), 0.0, 1.0)
        rot = self.rotations
        if neutral_frame is not None:
            rot = {k: v - v[neutral_frame] for k, v in rot.items()}
        return ExpressionTrack(self.times, out, rot, self.source_fps)


    def to_dict(self) -> dict:
        """Plain JSON data (the backend sends tracks this way)."""
        r = lambda d: {k: np.round(v, 5).tolist() for k, v in d.items()}  # noqa: E731
        return {"times": np.round(self.times, 6).tolist(), "weights": r(self.weights),
                "rotations": r(self.rotations), "source_fps": self.source_fps}


def track_from_dict(d: dict) -> ExpressionTrack:
    """Inverse of :meth:`ExpressionTrack.to_dict`."""
    a = lambda m: {k: np.asarray(v, dtype=np.float64) for k, v in m.items()}  # noqa: E731
    return ExpressionTrack(np.asarray(d["times"], dtype=np.float64), a(d["weights"]), a(d.get("rotations", {})),
                           float(d.get("source_fps", 30.0)))


def load_gains(path: str | Path) -> tuple[dict[str, float], dict[str, float]]:
    """Per-channel gain and offset from JSON: ``{"jawOpen": 1.4}`` or
    ``{"eyeBlinkLeft": {"gain": 2.0, "offset": -0.05}}``; names go through the mapping."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read the gains ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object of channel -> gain")
    gain, offset = {}, {}
    for k, v in data.items():
        name = canonical_arkit(k)
        if name is None:
            raise InputError(f"{path}: {k!r} is not an ARKit channel")
        if isinstance(v, dict):
            g, o = v.get("gain", 1.0), v.get("offset", 0.0)
        else:
            g, o = v, 0.0
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (g, o)):
            raise InputError(f"{path}: {k!r}: gain and offset must be numbers")
        gain[name], offset[name] = float(g), float(o)
    return gain, offset


class OneEuroStream:
    """One Euro filter (Casiez, Roussel, Vogel 2012) over a vector of channels, one sample
    at a time with its own timestamp: the cutoff rises with each channel's speed, so slow
    drifts are smoothed and fast motion passes with little lag."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 1.0, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t = 0.0

    @staticmethod
    def _alpha(cutoff, dt):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self._x is None:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return self._x.copy()
        dt = max(t - self._t, 1e-4)
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = a_d * (x - self._x) / dt + (1 - a_d) * self._dx
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self._dx), dt)
        self._x = a * x + (1 - a) * self._x
        self._t = t
        return self._x.copy()


def min_cutoff_for(smoothing: float) -> float:
    """Smoothing 0..1 (0 = off) as the filter's minimum cutoff: 31.6 Hz .. 0.32 Hz."""
    return 10.0 ** (1.5 - 2.0 * min(max(smoothing, 0.0), 1.0))


def one_euro(x: np.ndarray, rate: float, min_cutoff: float = 1.0, beta: float = 1.0,
             d_cutoff: float = 1.0) -> np.ndarray:
    """One Euro filter along the first axis of ``x`` (one channel, or samples x channels)
    sampled at ``rate``: the streaming filter, sample by sample."""
    f = OneEuroStream(min_cutoff, beta, d_cutoff)
    x = np.asarray(x, dtype=np.float64)
    return np.array([f(v, i / rate) for i, v in enumerate(x)]).reshape(x.shape)


def parse_timecode(tc: str, fps: float) -> float:
    m = _TIMECODE.match(tc.strip())
    if not m:
        raise ValueError(f"bad timecode {tc!r} (expected HH:MM:SS:FF.fff)")
    h, mi, s, f = (int(g) for g in m.groups()[:4])
    sub = float("0." + m.group(5)) if m.group(5) else 0.0
    return h * 3600 + mi * 60 + s + (f + sub) / fps


def read_live_link_csv(path: str | Path) -> ExpressionTrack:
    """Parse a Live Link Face CSV; errors name the missing columns or the bad line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise InputError(f"{path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    by_canon = {}
    for i, h in enumerate(header):
        c = canonical_arkit(h)
        if c:
            by_canon[c] = i
    if "Timecode" not in header:
        raise InputError(f"{path}: no 'Timecode' column: not a Live Link Face CSV")
    missing = [n for n in ARKIT_NAMES if n not in by_canon]
    if missing:
        raise InputError(f"{path}: missing blendshape columns: {', '.join(missing[:6])}"
                         + (f" and {len(missing) - 6} more" if len(missing) > 6 else ""))
    rot_idx = {r: header.index(r) for r in ROTATION_COLUMNS if r in header}
    tc_i = header.index("Timecode")
    data, codes = [], []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise InputError(f"{path}: line {line_no} has {len(row)} values, the header has {len(header)}")
        try:
            vals = [float(row[by_canon[n]]) for n in ARKIT_NAMES] + [float(row[i]) for i in rot_idx.values()]
        except ValueError:
            raise InputError(f"{path}: line {line_no} has a value that is not a number") from None
        if not all(math.isfinite(v) for v in vals):
            raise InputError(f"{path}: line {line_no} has a value that is not finite")
        codes.append(row[tc_i])
        data.append(vals)
    if not data:
        raise InputError(f"{path}: no frames after the header")
    frames = [int(_TIMECODE.match(c.strip()).group(4)) if _TIMECODE.match(c.strip()) else None for c in codes]
    if None in frames:
        bad = frames.index(None) + 2
        raise InputError(f"{path}: line {bad}: bad timecode {codes[bad - 2]!r} (expected HH:MM:SS:FF.fff)")
    fps = next((r for r in STANDARD_RATES if r > max(frames)), float(max(frames) + 1))
    t = np.array([parse_timecode(c, fps) for c in codes])
    t -= t[0]
    if (np.diff(t) < 0).any():
        raise InputError(f"{path}: timecodes go backwards at line {int(np.argmax(np.diff(t) < 0)) + 3}")
    arr = np.array(data)
    weights = {n: np.clip(arr[:, i], 0.0, 1.0) for i, n in enumerate(ARKIT_NAMES)}
    rots = {r: arr[:, len(ARKIT_NAMES) + j] for j, r in enumerate(rot_idx)}
    return ExpressionTrack(t, weights, rots, float(fps))
