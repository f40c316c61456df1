"""Hairstyles: shells over the scalp plus hanging hair, each conforming to the head."""
from __future__ import annotations

import numpy as np

from rigs.asset_frame import (HeadFrame, attach_free, blob, periodic, point_on_sphere,
                              region_shell, smoothstep, sphere_noise, tube)

# hairline: elevation (deg) of the hair's lower edge by azimuth; the ears are cut out
HAIRLINE = [(0, 23), (25, 25), (45, 21), (62, 14), (72, -6), (80, 22), (100, 24), (118, 5),
            (140, -22), (165, -34), (180, -36)]
HAIRLINE = HAIRLINE + [(-a, b) for a, b in HAIRLINE if 0 < a < 180]


def _hair_coverage(frame, line=HAIRLINE, soft=5.0, bald_top=None):
    def cov(p):
        a, b, _ = frame.polar(p)
        c = smoothstep((b - periodic(a, line)) / soft)
        if bald_top is not None:   # receding: a bald patch over the top/front
            ca, cb, rad = bald_top
            da = np.radians(a - ca)
            dist = np.degrees(np.arccos(np.clip(np.cos(np.radians(b)) * np.cos(np.radians(cb)) * np.cos(da)
                                                + np.sin(np.radians(b)) * np.sin(np.radians(cb)), -1, 1)))
            c = c * smoothstep((dist - rad) / 8.0)
        return c
    return cov


def _curtain(frame, length, flare, alpha_front=68.0, wave=0.0, curl=0.0, seed=0, top_out=0.009,
             cols=40, rows=16):
    """Hair hanging from the head's sides and back down to ``length`` metres below E.

    Each column follows the outward envelope of the head (ears included) plus a clearance
    that grows downward, so the curtain never cuts the skull, ears or neck."""
    alphas = np.linspace(alpha_front, 360 - alpha_front, cols)
    alphas = np.where(alphas > 180, alphas - 360, alphas)
    z_top = frame.E[2] + 0.085
    z_bot = frame.E[2] - length
    zs = np.linspace(z_top, z_bot, rows)
    # the envelope includes the ears at every extreme of the ear sliders: hair clears them
    cloud = frame.skin_with_ear_extremes()
    a_all, _, _ = frame.polar(cloud)
    rad_xy = np.hypot(*(cloud[:, :2] - frame.C[:2]).T)
    pts = np.zeros((rows, cols, 3))
    for j, a in enumerate(alphas):
        near = np.abs(((a_all - a + 180) % 360) - 180) < 12
        r_near, z_near = rad_xy[near], cloud[near, 2]
        for i, z in enumerate(zs):
            # envelope of the head from the crown down to this row: hair only falls outward
            env = r_near[z_near >= z - 0.015].max()
            t = i / (rows - 1)
            r = env + top_out + flare * t
            r += wave * np.sin(t * 5 * np.pi + j * 0.3) + curl * sphere_noise(np.array([a]), np.array([t * 90]), seed)[0]
            d = np.array([np.sin(np.radians(a)), -np.cos(np.radians(a))])
            pts[i, j, :2] = frame.C[:2] + r * d
            pts[i, j, 2] = z
    p = pts.reshape(-1, 3)
    # each vertex rides on the skin nearest to it, so head-shape changes carry the curtain
    anchor, weight = frame.nearest_skin(p, k=4)
    att = attach_free(frame, p, anchor, weight)
    polys = []
    for i in range(rows - 1):
        for j in range(cols - 1):
            k = i * cols + j
            polys.append([k, k + cols, k + cols + 1, k + 1])
    return att, polys


def hair_styles(frame: HeadFrame) -> dict[str, tuple[dict, list]]:
    """id -> (catalogue entry, list of (Attachment, polys) pieces)."""
    cov = _hair_coverage(frame)

    def thick(base, top=0.0, front=0.0, noise=0.0, seed=1, part=None):
        def f(p):
            a, b, _ = frame.polar(p)
            t = base + top * smoothstep((b - 20) / 50) + front * np.exp(-((a / 35) ** 2) - ((b - 40) / 18) ** 2)
            if noise:
                t = t + noise * (0.5 + 0.5 * sphere_noise(a, b, seed))
            if part is not None:  # a parting groove along azimuth `part`, front to crown
                t = t * (1 - 0.75 * np.exp(-(((a - part) / 5) ** 2)) * (b > 15))
            return t
        return f

    def shell(c, t, level=2):
        return region_shell(frame, c, t, level=level, exclude_mouth=True)

    fringe_line = [(a, (b - 12 if abs(a) < 50 else b)) for a, b in HAIRLINE]
    S = {}
    S["buzz"] = ({"name": "Buzz cut", "length": "short", "volume": 0.05, "parting": "none", "curl": 0.0},
                 [shell(cov, thick(0.0015))])
    S["crop"] = ({"name": "Short crop", "length": "short", "volume": 0.2, "parting": "none", "curl": 0.0},
                 [shell(cov, thick(0.005, top=0.005))])
    S["side_part"] = ({"name": "Side part", "length": "short", "volume": 0.35, "parting": "side", "curl": 0.0},
                      [shell(cov, thick(0.007, top=0.009, part=-28))])
    S["quiff"] = ({"name": "Quiff", "length": "short", "volume": 0.45, "parting": "none", "curl": 0.0},
                  [shell(cov, thick(0.005, top=0.006, front=0.025))])
    S["short_curly"] = ({"name": "Short curly", "length": "short", "volume": 0.5, "parting": "none", "curl": 0.8},
                        [shell(cov, thick(0.008, top=0.006, noise=0.008, seed=3), level=3)])
    S["receding"] = ({"name": "Receding, thinning crown", "length": "short", "volume": 0.1,
                      "parting": "none", "curl": 0.0},
                     [shell(_hair_coverage(frame, bald_top=(0, 62, 38)), thick(0.003))])
    S["bob"] = ({"name": "Bob with fringe", "length": "medium", "volume": 0.55, "parting": "none", "curl": 0.0},
                [shell(_hair_coverage(frame, fringe_line), thick(0.012, top=0.006)),
                 _curtain(frame, length=0.085, flare=0.012, alpha_front=62)])
    S["shoulder_straight"] = ({"name": "Shoulder-length straight", "length": "medium", "volume": 0.45,
                               "parting": "center", "curl": 0.0},
                              [shell(cov, thick(0.010, top=0.004, part=0)),
                               _curtain(frame, length=0.16, flare=0.018)])
    S["wavy_medium"] = ({"name": "Medium wavy", "length": "medium", "volume": 0.6, "parting": "side", "curl": 0.4},
                        [shell(cov, thick(0.012, top=0.006, part=-28)),
                         _curtain(frame, length=0.15, flare=0.03, wave=0.006)])
    S["long_straight"] = ({"name": "Long straight", "length": "long", "volume": 0.5, "parting": "center", "curl": 0.0},
                          [shell(cov, thick(0.010, top=0.004, part=0)),
                           _curtain(frame, length=0.26, flare=0.03, rows=22)])
    S["long_curly"] = ({"name": "Long curly", "length": "long", "volume": 0.85, "parting": "none", "curl": 0.9},
                       [shell(cov, thick(0.016, top=0.01, noise=0.01, seed=5), level=3),
                        _curtain(frame, length=0.25, flare=0.06, curl=0.012, seed=6, rows=22, cols=56)])
    # ponytail: slicked cap + a tapered tube from the back of the crown
    p0 = point_on_sphere(frame, 180, 12, 0.029)   # the tube's radius clears the scalp
    path = np.array([p0 + np.array([0, 0.012 * t, -0.2 * t ** 1.4]) + np.array([0, 0.03 * np.sin(t * 2), 0])
                     for t in np.linspace(0, 1, 14)])
    S["ponytail"] = ({"name": "Ponytail", "length": "long", "volume": 0.3, "parting": "none", "curl": 0.0},
                     [shell(cov, thick(0.004)), tube(frame, path, 0.022 * (1 - 0.7 * np.linspace(0, 1, 14) ** 2)
                                                      + 0.004)])
    pb = point_on_sphere(frame, 180, 40, 0.033)
    S["bun"] = ({"name": "Bun / updo", "length": "long", "volume": 0.4, "parting": "none", "curl": 0.0},
                [shell(cov, thick(0.005)), blob(frame, pb, np.array([0.036, 0.028, 0.03]))])
    centre = frame.C + np.array([0.0, 0.005, 0.03])

    def rounded(p):
        # the afro's outer surface is a bumpy sphere around the crown, not an offset skull
        a, b, _ = frame.polar(p)
        r = np.linalg.norm(p - centre, axis=1)
        return np.maximum(0.142 + 0.006 * sphere_noise(a, b, 9) - r, 0.01)
    S["afro"] = ({"name": "Afro", "length": "medium", "volume": 1.0, "parting": "none", "curl": 1.0},
                 [region_shell(frame, _hair_coverage(frame, soft=14.0), rounded, level=3, ramp=0.5)])
    locs = []
    for k, a in enumerate(np.linspace(70, 290, 12)):
        a = a if a <= 180 else a - 360
        start = point_on_sphere(frame, a, 5 if abs(a) > 120 else 18, 0.006)
        outward = np.r_[(start - frame.C)[:2] / np.linalg.norm((start - frame.C)[:2]), 0.0]
        path = np.array([start + outward * (0.004 + 0.012 * t) + np.array([0, 0, -0.22 * t])
                         for t in np.linspace(0, 1, 12)])
        locs.append(tube(frame, path, np.full(12, 0.0055)))
    # locs: rope-twisted coils; from the front their strands turn like curls (strand texture)
    S["locs"] = ({"name": "Braids / locs", "length": "long", "volume": 0.6, "parting": "none", "curl": 0.8},
                 [shell(cov, thick(0.007, noise=0.003, seed=11), level=2)] + locs)
    return S

