"""Beard and mustache styles: regions of the lower face read from the landmarks on the
bare head, covered by shells (and, for the long beard, a bib hanging from the jaw)."""
from __future__ import annotations

import numpy as np

from rigs.asset_frame import (CHIN, JAW_OVAL, LIPS_OUTER, LOWER_LIP, MOUTH_CORNERS, NOSE_BASE,
                              UPPER_LIP, V_BODY, HeadFrame, Piece, attach_free, periodic, region_shell,
                              smoothstep)

def _polygon_contains(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Even-odd rule point-in-polygon for 2D points."""
    inside = np.zeros(len(pts), bool)
    x, y = pts[:, 0], pts[:, 1]
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0)):
        cross = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / (y1 - y0 + 1e-12) + x0)
        inside ^= cross
    return inside


def beard_regions(frame: HeadFrame):
    """Coverage functions (point -> [0, 1]) on the lower face, built from landmarks."""
    L = frame.L
    lips = L[LIPS_OUTER][:, [0, 2]]
    lip_c = lips.mean(0)
    lips_grown = lip_c + (lips - lip_c) * 1.12
    nose_z, ulip_z, llip_z, chin = L[NOSE_BASE, 2], L[UPPER_LIP, 2], L[LOWER_LIP, 2], L[CHIN]
    mouth_w = abs(L[MOUTH_CORNERS[0], 0] - L[MOUTH_CORNERS[1], 0]) / 2

    def not_lips(p):
        return (~_polygon_contains(lips_grown, p[:, [0, 2]])).astype(float)

    def front(p):  # in front of the ears
        return (p[:, 1] < frame.E[1] + 0.075).astype(float)

    def full_region(cheek_lift=0.0, neck=0.045, edge=4.0):
        """The whole beard area; ``cheek_lift`` (deg) raises the cheek line, ``neck`` (m
        below the chin) is where it stops on the neck, ``edge`` (deg) how soft its rim is."""
        def full(p):
            a, b, _ = frame.polar(p)
            upper = periodic(a, [(0, -27), (20, -24), (40, -20), (60, -8), (75, 5), (85, 8)])
            upper = np.where(np.abs(a) > 85, 8.0, upper) + cheek_lift * smoothstep((np.abs(a) - 15) / 25)
            c = smoothstep((upper - b) / edge) * front(p) * not_lips(p)
            c *= smoothstep((p[:, 2] - (chin[2] - neck)) / 0.01)       # stops on the upper neck
            return c * (np.abs(a) < 80)
        return full
    full = full_region()

    def mustache(p):
        x, z = p[:, 0], p[:, 2]
        c = (smoothstep((nose_z - 0.002 - z) / 0.003) * smoothstep((z - ulip_z + 0.001) / 0.002)
             * smoothstep((mouth_w + 0.006 - np.abs(x)) / 0.004))
        return c * not_lips(p) * (p[:, 1] < frame.E[1] + 0.0)

    def goatee(p):
        x, z = p[:, 0], p[:, 2]
        chin_part = (smoothstep((llip_z - 0.002 - z) / 0.003) * smoothstep((0.024 - np.abs(x)) / 0.006)
                     * smoothstep((z - (chin[2] - 0.02)) / 0.006))
        return np.maximum(chin_part * (p[:, 1] < frame.E[1] + 0.02), mustache(p)) * not_lips(p)

    def chin_strap(p):
        jaw = L[JAW_OVAL]
        from scipy.spatial import cKDTree
        # distance to the jawline polyline, sampled densely
        s = np.concatenate([np.linspace(jaw[i], jaw[i + 1], 8) for i in range(len(jaw) - 1)])
        d, _ = cKDTree(s).query(p)
        return smoothstep((0.011 - d) / 0.004) * full(p)

    return {"full": full, "full_high": full_region(cheek_lift=5.0, neck=0.05), "boxed": full_region(edge=2.0, neck=0.035),
            "mustache": mustache, "goatee": goatee, "chin_strap": chin_strap}


def beard_styles(frame: HeadFrame):
    R = beard_regions(frame)
    const = lambda t: (lambda p: np.full(len(p), t))  # noqa: E731
    chin_z, eye_z = frame.L[CHIN][2], frame.E[2]

    def toward_chin(cheek, chin):
        """Thickness growing from ``cheek`` on the upper cheeks to ``chin`` below the jaw."""
        return lambda p: cheek + (chin - cheek) * smoothstep((eye_z - 0.06 - p[:, 2]) / (eye_z - 0.06 - chin_z))
    out = {
        "stubble": ({"name": "Stubble", "coverage": 0.6}, [region_shell(frame, R["full"], const(0.0003), level=1, smooth_edge=False,
                                                                           h_min=0.0006)], "stubble"),
        "mustache": ({"name": "Mustache", "coverage": 0.1}, [region_shell(frame, R["mustache"], const(0.004), level=2, smooth_edge=False)],
                     "beard"),
        "goatee": ({"name": "Goatee", "coverage": 0.25}, [region_shell(frame, R["goatee"], const(0.004), level=2, smooth_edge=False)],
                   "beard"),
        "short_full": ({"name": "Short full beard", "coverage": 0.8},
                       [region_shell(frame, R["full_high"], toward_chin(0.005, 0.011), level=2, smooth_edge=False)],
                       "beard"),
        "short_boxed": ({"name": "Short boxed beard", "coverage": 0.7},
                        [region_shell(frame, R["boxed"], toward_chin(0.004, 0.007), level=2, smooth_edge=False,
                                      ramp=0.2)], "beard"),
        "chin_strap": ({"name": "Chin strap", "coverage": 0.35},
                       [region_shell(frame, R["chin_strap"], const(0.004), level=2, smooth_edge=False)], "beard"),
    }
    # long full beard: a thicker shell plus a bib hanging from the chin
    chin = frame.L[CHIN]
    jaw = frame.L[JAW_OVAL[3:-3]]
    cols = len(jaw)
    rows = 7
    pts = []
    for i in range(rows):
        t = i / (rows - 1)
        drop = np.array([0, -0.004 - 0.012 * t, -0.075 * t])
        row = jaw + drop + np.array([0, -0.008, 0.0])
        row[:, 0] *= (1 - 0.45 * t ** 1.5)
        row[:, 0] += 0.0 * chin[0]
        pts.append(row)
    pts = np.concatenate(pts)
    # every bib column hangs from its own point of the jaw
    top_anc, top_w = frame.nearest_skin(jaw + np.array([0, -0.008, 0.0]), k=4)
    anc = np.tile(top_anc, (rows, 1))
    wts = np.tile(top_w, (rows, 1))
    bib_polys = [[i * cols + j, i * cols + j + 1, (i + 1) * cols + j + 1, (i + 1) * cols + j]
                 for i in range(rows - 1) for j in range(cols - 1)]
    # strands run down the bib: u across (cm), v from the jaw (body) to the frayed tip
    t = np.repeat(np.linspace(0, 1, rows), cols)
    u = np.tile(np.cumsum(np.r_[0, np.linalg.norm(np.diff(jaw, axis=0), axis=1)]) * 100, rows)
    bib = Piece(attach_free(frame, pts, anc, wts), bib_polys, np.c_[u, V_BODY + (1 - V_BODY) * t ** 2])
    out["long_full"] = ({"name": "Long full beard", "coverage": 1.0},
                        [region_shell(frame, R["full_high"], toward_chin(0.007, 0.012), level=2, smooth_edge=False),
                         bib], "beard")
    return out

