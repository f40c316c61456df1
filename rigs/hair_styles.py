"""Hairstyles: shells over the scalp, lock cards, ringlets, locs and braids.

Every style is built on the neutral head and attached to the skin (each vertex rides on
its nearest skin vertices), so it follows any slider setting and style. Hanging hair
never cuts the head: it is placed outside the head's *envelope*, the widest the head
(ears at every ear-slider extreme included) gets from the crown down to each height, at
each azimuth (:class:`Envelope`).

Looks by texture:
* straight / wavy — clusters of lock cards in two staggered layers, tapered at the tips,
  each lock a little longer or shorter than its neighbours (wavy: the locks undulate);
* curly — helical ringlets, and curl clumps over the crown for short curls;
* coily — a rounded, bumpy mass with a frayed outer edge (afro, TWA);
* locs — rope-twisted tubes; braids — thin plaited tubes.
The strand coordinates (``v`` root to tip) let the material fray every tip and hairline.
"""
from __future__ import annotations

import numpy as np

from rigs.asset_frame import (V_BODY, HeadFrame, Piece, attach_free, blob, merge, periodic, point_on_sphere,
                              region_shell, smoothstep, sphere_noise, tube)

# hairline: elevation (deg) of the hair's lower edge by azimuth; the ears are cut out
HAIRLINE = [(0, 23), (25, 25), (45, 21), (62, 14), (72, -6), (80, 22), (100, 24), (118, 5),
            (140, -22), (165, -34), (180, -36)]
HAIRLINE = HAIRLINE + [(-a, b) for a, b in HAIRLINE if 0 < a < 180]
TEXTURES = ("straight", "wavy", "curly", "coily")
CURL = {"straight": 0.0, "wavy": 0.4, "curly": 0.85, "coily": 1.0}   # the search's scalar


def _hair_coverage(frame, line=HAIRLINE, soft=5.0, bald_top=None):
    def cov(p):
        a, b, _ = frame.polar(p)
        c = smoothstep((b - periodic(a, line)) / soft)
        if bald_top is not None:   # receding: a bald patch over the top/front
            ca, cb, rad = bald_top
            c = c * smoothstep((_arc_deg(a, b, ca, cb) - rad) / 8.0)
        return c
    return cov


def _arc_deg(a, b, ca, cb):
    """Great-circle distance (deg) on the head sphere from (a, b) to (ca, cb)."""
    a, b, ca, cb = (np.radians(x) for x in (a, b, ca, cb))
    c = np.cos(b) * np.cos(cb) * np.cos(a - ca) + np.sin(b) * np.sin(cb)
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


class Envelope:
    """r_xy(alpha, z): the head's widest horizontal radius around ``C`` within 12 deg of
    azimuth ``alpha``, over everything from the crown down to 1.5 cm below height ``z``."""

    STEP_A, STEP_Z = 3.0, 0.005

    def __init__(self, frame: HeadFrame):
        cloud = frame.skin_with_ear_extremes()
        a_all, _, _ = frame.polar(cloud)
        r_all = np.hypot(*(cloud[:, :2] - frame.C[:2]).T)
        self.C = frame.C
        self.alphas = np.arange(-180.0, 180.0 + 1e-9, self.STEP_A)
        self.z_top = cloud[:, 2].max()
        self.zs = self.z_top - np.arange(0, 0.6, self.STEP_Z)
        table = np.zeros((len(self.alphas), len(self.zs)))
        for i, a in enumerate(self.alphas):
            near = np.abs(((a_all - a + 180) % 360) - 180) < 12
            z, r = cloud[near, 2], r_all[near]
            order = np.argsort(-z)
            z, r = z[order], np.maximum.accumulate(r[order])
            # points with height >= zq - 1.5 cm: a prefix of the descending order
            k = np.searchsorted(-z, -(self.zs - 0.015), side="right")
            table[i] = np.where(k > 0, r[np.maximum(k - 1, 0)], 0.0)
        self.table = table

    def __call__(self, alpha, z):
        alpha = (np.asarray(alpha, float) + 180) % 360 - 180
        ia = np.clip(np.round((alpha + 180) / self.STEP_A).astype(int), 0, len(self.alphas) - 1)
        iz = np.clip(np.ceil((self.z_top - np.asarray(z, float)) / self.STEP_Z).astype(int), 0, len(self.zs) - 1)
        # the neighbouring bins too: no lock edge between two samples dips in
        out = self.table[ia, iz]
        for d in (-1, 1):
            out = np.maximum(out, self.table[(ia + d) % len(self.alphas), iz])
        return out

    def point(self, alpha, z, r):
        a, z, r = np.broadcast_arrays(np.radians(alpha), z, r)
        return np.stack([self.C[0] + r * np.sin(a), self.C[1] - r * np.cos(a), z], -1)


def _attach(frame, pts, polys, uv) -> Piece:
    anchor, weight = frame.nearest_skin(pts, k=4)
    return Piece(attach_free(frame, pts, anchor, weight), polys, np.asarray(uv, float))


def lock_cards(frame, env: Envelope, length, flare=0.015, alpha_front=66.0, n_locks=30, layers=2,
               wave=0.0, wave_len=0.05, width=0.03, top_out=0.009, z_top=0.085, rows=12, seed=0,
               face_frame=0.0) -> Piece:
    """Hair falling from the crown over the sides and back as clusters of lock cards.

    ``length`` (m below the eyes) with +-12 % per lock; ``flare`` widens the hair toward
    the tips; ``wave`` (m) makes the locks undulate; two layers, the outer staggered by half
    a lock and shorter, hide the gaps. ``face_frame`` > 0 lets the front-most locks fall
    that far forward of the ear line (face-framing pieces)."""
    rng = np.random.default_rng(seed)
    pts, polys, uv = [], [], []
    n_done = 0
    zt = frame.E[2] + z_top
    for layer in range(layers):
        alphas = np.linspace(alpha_front, 360 - alpha_front, n_locks)
        if layer:
            alphas = (alphas[:-1] + alphas[1:]) / 2
        for j, a0 in enumerate(alphas):
            a0 = a0 - 360 if a0 > 180 else a0
            L = length * (0.88 + 0.24 * rng.random()) * (0.9 if layer else 1.0)
            phase = rng.uniform(0, 2 * np.pi)
            t = np.linspace(0, 1, rows)
            z = zt - (zt - (frame.E[2] - L)) * t
            grid = []
            for s in (-1.0, 0.0, 1.0):
                half = width / 2 * (1 - 0.65 * t ** 2)            # tapered tip
                r0 = env(a0, z)
                a = a0 + np.degrees(s * half / np.maximum(r0, 0.05))
                a = a + np.degrees(wave * np.sin(2 * np.pi * (zt - z) / wave_len + phase) / np.maximum(r0, 0.05))
                r = (env(a, z) + top_out + 0.004 * layer + flare * t ** 1.3
                     + wave * 0.5 * (1 + np.sin(2 * np.pi * (zt - z) / wave_len + phase + 1.3))
                     + (0.003 if s == 0 else 0.0) * np.sin(np.pi * np.clip(t * 1.5, 0, 1)))
                grid.append(env.point(a, z, r))
                uv.append(np.c_[np.radians(a) * 10.0 + 37.0 * layer, tip_v(t, zt - (frame.E[2] - L))])
            grid = np.stack(grid, 1)     # rows x 3
            pts.append(grid.reshape(-1, 3))
            for i in range(rows - 1):
                for c in range(2):
                    k = n_done + i * 3 + c
                    polys.append([k, k + 3, k + 4, k + 1])
            n_done += rows * 3
    pts = np.concatenate(pts)
    uv = _interleave(uv, rows)
    return _attach(frame, pts, polys, uv)


def tip_v(t, length, fray=0.05):
    """Strand v along a lock of ``length`` m at fractions ``t``: the body up to the last
    ``fray`` m, then the tip zone where strands drop out (``TIP_START`` of the material,
    0.62, to 1). A short tip zone keeps renders fast: fewer see-through layers."""
    f = min(0.38, fray / max(length, 1e-6))
    return np.where(t < 1 - f, 0.62 * t / (1 - f), 0.62 + 0.38 * (t - (1 - f)) / f)


def _interleave(uv_cols, rows):
    """Per-lock UV columns (3 per lock, each rows long) into the vertex order row x col."""
    out = []
    for j in range(0, len(uv_cols), 3):
        out.append(np.stack(uv_cols[j:j + 3], 1).reshape(-1, 2))
    return np.concatenate(out)


def ringlets(frame, env: Envelope, length, n=13, alpha_front=66.0, coil_r=0.006, pitch=0.034,
             tube_r=0.0068, top=0.045, flare=0.02, seed=0, sides=3) -> Piece:
    """Curly hair: helical ringlets hanging from under the crown's curls."""
    rng = np.random.default_rng(seed)
    parts = []
    zt = frame.E[2] + top
    for layer in range(2):
        alphas = np.linspace(alpha_front, 360 - alpha_front, n)
        if layer:
            alphas = (alphas[:-1] + alphas[1:]) / 2
        for a in alphas:
            a = a - 360 if a > 180 else a
            L = length * (0.8 + 0.3 * rng.random()) * (0.85 if layer else 1.0)
            steps = max(int((zt - frame.E[2] + L) / (pitch / 6)), 8)   # 6 points a turn
            t = np.linspace(0, 1, steps)
            z = zt - (zt - (frame.E[2] - L)) * t
            rr = coil_r * (0.6 + 0.6 * t)
            r = env(a, z) + 0.006 + rr + tube_r + flare * t + 0.006 * layer
            phi = 2 * np.pi * (zt - z) / pitch + rng.uniform(0, 2 * np.pi)
            c = env.point(a, z, r)
            ar = np.radians(a)
            radial = np.array([np.sin(ar), -np.cos(ar), 0.0])
            tang = np.array([np.cos(ar), np.sin(ar), 0.0])
            path = c + rr[:, None] * (np.cos(phi)[:, None] * tang + np.sin(phi)[:, None] * radial)
            parts.append(tube(frame, path, tube_r * (1 - 0.4 * t ** 2), sides=sides))
    return merge(parts)


def curl_clumps(frame, cov, thick_fn, n=60, radius=0.0065, seed=0, min_inner=0.7) -> Piece:
    """Small bumpy curl clumps sitting on a shell of coverage ``cov`` and thickness
    ``thick_fn``, only where the shell is at (nearly) full thickness."""
    rng = np.random.default_rng(seed)
    parts, tries = [], 0
    while len(parts) < n and tries < n * 40:
        tries += 1
        a, b = rng.uniform(-180, 180), np.degrees(np.arcsin(rng.uniform(-0.2, 1.0)))
        skin = point_on_sphere(frame, a, b, 0.0)[None]
        anchor, weight = frame.nearest_skin(skin, k=4)
        inner = smoothstep((cov(skin)[0] * (weight @ frame.ear_keep[anchor[0]]) - 0.5) / 0.4)
        if inner < min_inner:
            continue
        r = radius * (0.8 + 0.4 * rng.random())
        # sunk a quarter into the shell and clear of the skin by 2.5 mm more, as the clump
        # rides on offsets from the skin, not on its normals (a forehead bulge tilts them)
        c = point_on_sphere(frame, a, b, thick_fn(skin)[0] * inner + r * 0.75 + 0.0025)
        parts.append(blob(frame, c, np.array([r, r, r * 0.8]), segments=7, rings=5, bumps=0.25,
                          seed=int(rng.integers(1 << 30))))
    return merge(parts)


def hair_styles(frame: HeadFrame) -> dict[str, tuple[dict, list]]:
    """id -> (catalogue entry, list of pieces)."""
    cov = _hair_coverage(frame)
    env = Envelope(frame)

    def thick(base, top=0.0, front=0.0, noise=0.0, seed=1, part=None, sides=1.0, freq=1.0):
        def f(p):
            a, b, _ = frame.polar(p)
            t = base + top * smoothstep((b - 20) / 50) + front * np.exp(-((a / 35) ** 2) - ((b - 40) / 18) ** 2)
            if sides != 1.0:   # short back and sides: thinner below the temples
                t = t * (sides + (1 - sides) * smoothstep((b - 5) / 30))
            if noise:
                t = t + noise * (0.5 + 0.5 * sphere_noise(a, b, seed, scale=freq))
            if part is not None:  # a parting groove along azimuth `part`, front to crown
                t = t * (1 - 0.75 * np.exp(-(((a - part) / 5) ** 2)) * (b > 15))
            return t
        return f

    def shell(c, t, level=2, **kw):
        return region_shell(frame, c, t, level=level, exclude_mouth=True, **kw)

    def faded(low, high):
        """Strand v rising toward 1 below elevation ``high`` (deg): the hair thins into the skin."""
        return lambda p: V_BODY + (1 - V_BODY) * (1 - smoothstep((frame.polar(p)[1] - low) / (high - low)))

    def meta(name, length, texture, volume, parting="none", curl=None):
        return {"name": name, "length": length, "texture": texture, "volume": volume, "parting": parting,
                "curl": CURL[texture] if curl is None else curl}

    fringe_line = [(a, (b - 12 if abs(a) < 50 else b)) for a, b in HAIRLINE]
    pixie_line = [(a, (b - 8 if abs(a) < 60 else b - 4)) for a, b in HAIRLINE]
    def top_only(p):   # the hair cover over the top only (a faded cut's curls)
        a, b, _ = frame.polar(p)
        return cov(p) * smoothstep((b - np.where(np.abs(a) < 60, 14, 26)) / 6)
    S = {}
    # ---- short --------------------------------------------------------------------------
    S["buzz"] = (meta("Buzz cut", "short", "straight", 0.05), [shell(cov, thick(0.0015))])
    S["crew_cut"] = (meta("Crew cut", "short", "straight", 0.15),
                     [shell(cov, thick(0.003, top=0.006, front=0.004, sides=0.5))])
    S["fade"] = (meta("Fade", "short", "straight", 0.2),
                 [shell(cov, thick(0.002, top=0.008, sides=0.25), fray_fn=faded(0, 28))])
    S["crop"] = (meta("Short crop", "short", "straight", 0.2), [shell(cov, thick(0.005, top=0.005))])
    S["side_part"] = (meta("Side part", "short", "straight", 0.35, "side"),
                      [shell(cov, thick(0.007, top=0.009, part=-28))])
    S["quiff"] = (meta("Quiff", "short", "straight", 0.45), [shell(cov, thick(0.005, top=0.006, front=0.025))])
    S["pixie"] = (meta("Pixie cut", "short", "straight", 0.4, "side"),
                  [shell(_hair_coverage(frame, pixie_line), thick(0.009, top=0.007, front=0.006, part=-30))])
    t_sc = thick(0.007, top=0.004, noise=0.006, seed=3)
    S["short_curly"] = (meta("Short curly", "short", "curly", 0.5),
                        [shell(cov, t_sc, level=2), curl_clumps(frame, cov, t_sc, n=70, seed=4)])
    t_ct = thick(0.002, top=0.01, sides=0.2)
    S["curly_top"] = (meta("Curly top, faded sides", "short", "curly", 0.45),
                      [shell(cov, t_ct, fray_fn=faded(0, 26)),
                       curl_clumps(frame, top_only, t_ct, n=60, radius=0.0075, seed=5)])
    S["twa"] = (meta("TWA (short coily)", "short", "coily", 0.35),
                [shell(_hair_coverage(frame, soft=9.0), thick(0.009, top=0.004, noise=0.006, seed=7, freq=2.2),
                       level=3),
                 shell(_hair_coverage(frame, soft=9.0), thick(0.011, top=0.004, noise=0.005, seed=8, freq=2.6),
                       level=2, lift=0.0015),
                 curl_clumps(frame, cov, thick(0.01, top=0.004), n=80, radius=0.0045, seed=9)])
    S["receding"] = (meta("Receding hairline", "short", "straight", 0.1),
                     [shell(_hair_coverage(frame, bald_top=(0, 62, 38)), thick(0.003))])

    # the temples recede a little; the crown thins out to scalp
    temples = [(a, b + 10 * np.exp(-(((abs(a) - 40) / 15) ** 2))) for a, b in HAIRLINE]

    def crown_thin(p):
        a, b, _ = frame.polar(p)
        return V_BODY + (1 - V_BODY) * (1 - smoothstep((_arc_deg(a, b, 180, 62) - 10) / 22))
    S["thinning_crown"] = (meta("Thinning crown", "short", "straight", 0.12),
                           [shell(_hair_coverage(frame, temples), thick(0.003), fray_fn=crown_thin)])
    # ---- coily volume -------------------------------------------------------------------
    centre = frame.C + np.array([0.0, 0.005, 0.03])

    def rounded(radius, bump, seed, freq=1.0):
        # the outer surface is a bumpy sphere around the crown, not an offset skull
        def f(p):
            a, b, _ = frame.polar(p)
            r = np.linalg.norm(p - centre, axis=1)
            t = np.maximum(radius + bump * sphere_noise(a, b, seed, scale=freq) - r, 0.008)
            # rounded off toward the hairline, not a cliff (the mushroom-cap look)
            return t * (0.3 + 0.7 * smoothstep((b - periodic(a, HAIRLINE)) / 28))
        return f
    soft = _hair_coverage(frame, soft=14.0)
    t_sa, t_af = rounded(0.118, 0.004, 12, 2.0), rounded(0.142, 0.006, 9, 1.6)
    S["short_afro"] = (meta("Short afro", "short", "coily", 0.6),
                       [shell(soft, t_sa, level=3, ramp=0.5),
                        shell(soft, rounded(0.118, 0.004, 13, 2.4), level=2, ramp=0.5, lift=0.002),
                        curl_clumps(frame, soft, t_sa, n=70, radius=0.007, seed=14)])
    S["afro"] = (meta("Afro", "medium", "coily", 1.0),
                 [shell(soft, t_af, level=3, ramp=0.5),
                  shell(soft, rounded(0.142, 0.005, 10, 2.0), level=2, ramp=0.5, lift=0.003),
                  curl_clumps(frame, soft, t_af, n=80, radius=0.0095, seed=15)])
    # ---- medium and long: lock cards ----------------------------------------------------
    S["bob"] = (meta("Bob with fringe", "medium", "straight", 0.55),
                [shell(_hair_coverage(frame, fringe_line), thick(0.012, top=0.006)),
                 lock_cards(frame, env, 0.085, flare=0.012, alpha_front=62, n_locks=30, seed=21)])
    S["shoulder_straight"] = (meta("Shoulder-length straight", "medium", "straight", 0.45, "center"),
                              [shell(cov, thick(0.010, top=0.004, part=0)),
                               lock_cards(frame, env, 0.16, flare=0.018, seed=22)])
    S["wavy_medium"] = (meta("Medium wavy", "medium", "wavy", 0.6, "side"),
                        [shell(cov, thick(0.012, top=0.006, part=-28)),
                         lock_cards(frame, env, 0.15, flare=0.03, wave=0.006, seed=23)])
    def curl_backing(length, seed):
        """Crinkled lock cards under the ringlets: no see-through gaps between the curls."""
        return lock_cards(frame, env, length, flare=0.02, alpha_front=78, n_locks=22, layers=1, wave=0.006,
                          wave_len=0.03, rows=10, seed=seed)
    t_shc = thick(0.012, top=0.008, noise=0.008, seed=24)
    S["shoulder_curly"] = (meta("Shoulder-length curls", "medium", "curly", 0.75),
                           [shell(cov, t_shc, level=2), curl_clumps(frame, cov, t_shc, n=45, radius=0.009, seed=25),
                            ringlets(frame, env, 0.13, seed=26), curl_backing(0.11, 34)])
    S["long_straight"] = (meta("Long straight", "long", "straight", 0.5, "center"),
                          [shell(cov, thick(0.010, top=0.004, part=0)),
                           lock_cards(frame, env, 0.26, flare=0.03, rows=16, seed=27)])
    S["long_wavy"] = (meta("Long wavy", "long", "wavy", 0.65, "side"),
                      [shell(cov, thick(0.011, top=0.006, part=-28)),
                       lock_cards(frame, env, 0.25, flare=0.045, wave=0.008, wave_len=0.06, rows=18, seed=28)])
    t_lc = thick(0.016, top=0.01, noise=0.01, seed=5)
    S["long_curly"] = (meta("Long curly", "long", "curly", 0.85, curl=0.9),
                       [shell(cov, t_lc, level=2), curl_clumps(frame, cov, t_lc, n=45, radius=0.010, seed=29),
                        curl_backing(0.2, 35),
                        ringlets(frame, env, 0.24, coil_r=0.011, flare=0.04, seed=30)])
    # ---- tied up ------------------------------------------------------------------------
    p0 = point_on_sphere(frame, 180, 12, 0.029)   # the tube's radius clears the scalp
    path = np.array([p0 + np.array([0, 0.012 * t, -0.2 * t ** 1.4]) + np.array([0, 0.03 * np.sin(t * 2), 0])
                     for t in np.linspace(0, 1, 14)])
    S["ponytail"] = (meta("Ponytail", "long", "straight", 0.3),
                     [shell(cov, thick(0.004)),
                      tube(frame, path, 0.022 * (1 - 0.7 * np.linspace(0, 1, 14) ** 2) + 0.004, sides=12,
                           twist=0.5, ridges=5, ridge_depth=0.08)])
    pb = point_on_sphere(frame, 180, 40, 0.033)
    S["bun"] = (meta("Bun / updo", "long", "straight", 0.4),
                [shell(cov, thick(0.005)), blob(frame, pb, np.array([0.036, 0.028, 0.03]), bumps=0.06, seed=31)])
    # ---- locs and braids ----------------------------------------------------------------
    def hanging(n, radius, length, ridges, ridge_depth, twist, seed, rows=2):
        rng = np.random.default_rng(seed)
        parts = []
        for layer in range(rows):
            for a in np.linspace(68, 292, n) + (180 / n) * layer:
                a = a if a <= 180 else a - 360
                b0 = (5 if abs(a) > 120 else 18) + 14 * layer
                start = point_on_sphere(frame, a, b0, radius + 0.004)
                L = length * (0.85 + 0.3 * rng.random())
                zt = start[2]
                steps = max(int(L / 0.012), 10)
                z = zt - L * np.linspace(0, 1, steps) ** 1.0
                r = env(a, z) + radius + 0.004 + 0.005 * layer + 0.012 * np.linspace(0, 1, steps)
                path = env.point(a, z, np.maximum(r, np.hypot(*(start[:2] - frame.C[:2]))))
                path[0] = start
                parts.append(tube(frame, path, radius, sides=8 if ridges else 6, twist=twist, ridges=ridges,
                                  ridge_depth=ridge_depth))
        return parts
    S["locs"] = (meta("Locs", "long", "coily", 0.6, curl=0.8),
                 [shell(cov, thick(0.007, noise=0.003, seed=11), level=2)]
                 + hanging(15, 0.0058, 0.22, ridges=2, ridge_depth=0.22, twist=1.1, seed=32))
    S["braids"] = (meta("Box braids", "long", "coily", 0.55, curl=0.7),
                   [shell(cov, thick(0.005, noise=0.002, seed=12), level=2)]
                   + hanging(18, 0.0042, 0.24, ridges=3, ridge_depth=0.3, twist=2.1, seed=33))
    return S
