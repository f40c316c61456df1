"""Quality metrics of DESIGN.md, computed from photos and their bundles (no bpy).

1. attributes: glasses, beard, hair length and hair colour against ``labels.csv``;
2. landmark NME: MediaPipe on ``render.png`` vs on the photo, over an expression-
   insensitive subset (eye corners, brows, nose, upper face oval), similarity-aligned,
   divided by the photo's outer-eye-corner distance; also for the unfitted default avatar;
3. match top-1 (AgileAvatar Table 1): each avatar picks the nearest among its photo and
   three others; the distance sums four terms (aligned landmarks, skin and hair CIELAB,
   head-and-hair silhouette), each divided by its median between different photos;
4. colour: CIEDE2000 between photo and render, skin and hair.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.colors import measure_colors

# expression-insensitive landmarks: eye corners, brows, nose, upper face oval
NME_SUBSET = np.array([33, 133, 362, 263,
                       70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
                       168, 6, 197, 195, 5, 4, 1, 98, 327,
                       10, 338, 297, 332, 284, 251, 389, 356, 454, 234, 127, 162, 21, 54, 103, 67, 109])
HAIR_COLOR_NAMES = {   # CIELAB references for the label vocabulary
    "black": (18.0, 1.0, 2.0), "brown": (35.0, 9.0, 18.0), "blonde": (68.0, 5.0, 28.0),
    "red": (42.0, 30.0, 32.0), "gray": (60.0, 0.0, 3.0), "white": (84.0, 0.0, 3.0),
}


@dataclass
class View:
    """What the metrics need from one image (a photo or a render)."""
    landmarks: np.ndarray
    skin_lab: np.ndarray
    hair_lab: np.ndarray
    silhouette: np.ndarray          # (G, G) samples of the person mask above the mouth
    outline_height: float | None = None   # head-and-hair outline above the eyes, eye distances


@dataclass
class EvalRow:
    file: str
    ok: bool
    error: str = ""
    seconds: float = 0.0
    predicted: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    nme: float = float("nan")               # front render.png vs photo
    nme_default: float = float("nan")
    nme_posed: float = float("nan")         # rendered at the photo's head pose vs photo
    nme_default_posed: float = float("nan")
    # the same avatar's front render against its posed one: how much of the front NME the
    # photo's head pose alone accounts for (a perfect face shape still scores about this)
    nme_pose_part: float = float("nan")
    skin_de: float = float("nan")
    hair_de: float = float("nan")
    pose: dict = field(default_factory=dict)
    sil_iou: float = float("nan")           # head-and-hair outline above the mouth, front render vs photo
    sil_iou_posed: float = float("nan")     # the same, rendered at the photo's pose
    sil_iou_default_posed: float = float("nan")
    outline_err_posed: float = float("nan")   # |outline height above the eyes|, posed render vs photo
    outline_err_default_posed: float = float("nan")
    why: dict = field(default_factory=dict)     # top-3 scores per asset slot, the hair region's figures


LABEL_VALUES = {"glasses": ("0", "1"), "beard": ("0", "1"), "hair_length": ("bald", "short", "medium", "long"),
                "hair_color": tuple(HAIR_COLOR_NAMES)}


def read_labels(path: Path) -> dict[str, dict[str, str]]:
    """``labels.csv`` -> {file: {attribute: value}}: a ``file`` column and any of the
    attributes of :data:`LABEL_VALUES` (blank = unlabelled). Values are trimmed and
    lower-cased; a value outside the vocabulary is an InputError naming its line, since
    a typo would otherwise count silently as a miss."""
    from inference.errors import InputError
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if "file" not in (reader.fieldnames or []):
                raise InputError(f"{path}: a labels file needs a 'file' column "
                                 f"(and any of {', '.join(LABEL_VALUES)})")
            labels = {}
            for row in reader:
                clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                for attr, allowed in LABEL_VALUES.items():
                    v = clean.get(attr, "").lower()
                    if v and v not in allowed:
                        raise InputError(f"{path} line {reader.line_num}: {attr} {clean[attr]!r} is not one "
                                         f"of {', '.join(allowed)} (or blank)")
                    clean[attr] = v
                labels[clean["file"]] = clean
            return labels
    except FileNotFoundError:
        raise InputError(f"{path}: no such labels file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a folder, not a labels file") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: not a readable CSV file ({e.__class__.__name__})") from None


def similarity_2d(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares 2D similarity mapping src onto dst; returns the mapped src."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    s_ = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        s_[-1] = -1
    r = u @ np.diag(s_) @ vt
    scale = (d * s_).sum() / (a ** 2).sum(1).mean()
    return scale * a @ r.T + md


def landmark_nme(render_lm: np.ndarray, photo_lm: np.ndarray) -> float:
    """Aligned NME over :data:`NME_SUBSET`, normalised by the photo's outer-eye distance."""
    src, dst = render_lm[NME_SUBSET, :2], photo_lm[NME_SUBSET, :2]
    mapped = similarity_2d(src, dst)
    iod = np.linalg.norm(photo_lm[33, :2] - photo_lm[263, :2])
    return float(np.linalg.norm(mapped - dst, axis=1).mean() / iod)


def front_pose_offset(default_front_landmarks: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) that the likeness fit reads on the default avatar's own front render.
    Subtracted from a photo's fitted pose (:func:`posed_angles`) it gives the render angles
    that show an avatar as the photo shows the person (the eval's posed NME)."""
    from inference.avatar import default_avatar
    from inference.fit import fit_landmarks
    yaw, pitch, _ = fit_landmarks(default_front_landmarks, assets=default_avatar().assets).yaw_pitch_roll
    return yaw, pitch


def posed_angles(pose_deg: dict, offset: tuple[float, float]) -> tuple[float, float]:
    """Render (yaw, pitch) for a report's ``pose_deg``, corrected by :func:`front_pose_offset`."""
    return pose_deg["yaw"] - offset[0], pose_deg["pitch"] - offset[1]


def silhouette_samples(mask: np.ndarray, lm: np.ndarray, grid: int = 24) -> np.ndarray:
    """The person mask above the mouth, sampled on a grid aligned to the eyes and scaled
    by the eye distance (so photo and render are comparable)."""
    import cv2
    le, re = lm[33, :2], lm[263, :2]
    c = (le + re) / 2
    d = re - le
    iod = np.linalg.norm(d)
    ex, ey = d / iod, np.array([-d[1], d[0]]) / iod
    u = np.linspace(-1.8, 1.8, grid) * iod
    v = np.linspace(-2.4, 1.2, grid) * iod      # from well above the head to the mouth
    uu, vv = np.meshgrid(u, v)
    pts = c + uu[..., None] * ex + vv[..., None] * ey
    m = cv2.remap(mask.astype(np.float32), pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32),
                  cv2.INTER_LINEAR, borderValue=0)
    return m


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    """CIEDE2000 colour difference (Sharma, Wu, Dalal 2005)."""
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cm = (C1 + C2) / 2
    G = 0.5 * (1 - np.sqrt(Cm ** 7 / (Cm ** 7 + 25 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp, dCp = L2 - L1, C2p - C1p
    dh = h2p - h1p
    if C1p * C2p == 0:
        dh = 0.0
    elif dh > 180:
        dh -= 360
    elif dh < -180:
        dh += 360
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lm, Cmp = (L1 + L2) / 2, (C1p + C2p) / 2
    hs = h1p + h2p
    if C1p * C2p == 0:
        hm = hs
    elif abs(h1p - h2p) <= 180:
        hm = hs / 2
    else:
        hm = (hs + 360) / 2 if hs < 360 else (hs - 360) / 2
    T = (1 - 0.17 * np.cos(np.radians(hm - 30)) + 0.24 * np.cos(np.radians(2 * hm))
         + 0.32 * np.cos(np.radians(3 * hm + 6)) - 0.20 * np.cos(np.radians(4 * hm - 63)))
    dtheta = 30 * np.exp(-(((hm - 275) / 25) ** 2))
    Rc = 2 * np.sqrt(Cmp ** 7 / (Cmp ** 7 + 25 ** 7))
    Sl = 1 + 0.015 * (Lm - 50) ** 2 / np.sqrt(20 + (Lm - 50) ** 2)
    Sc, Sh = 1 + 0.045 * Cmp, 1 + 0.015 * Cmp * T
    Rt = -np.sin(np.radians(2 * dtheta)) * Rc
    return float(np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh)))


def hair_color_name(lab: np.ndarray) -> str:
    """Nearest label colour name in CIELAB."""
    return min(HAIR_COLOR_NAMES, key=lambda n: np.linalg.norm(np.asarray(HAIR_COLOR_NAMES[n]) - lab))


def hex_color_name(hex_colour: str) -> str:
    """:func:`hair_color_name` of an avatar colour (``#rrggbb``, sRGB)."""
    from inference.avatar import hex_to_rgb
    from inference.colors import srgb_to_lab
    return hair_color_name(srgb_to_lab(np.array(hex_to_rgb(hex_colour))))


def view_of(rgb: np.ndarray, perceiver) -> View | None:
    """Landmarks, colours and silhouette of an image, or None if no face is found."""
    try:
        obs = perceiver.observe(rgb)
    except Exception:   # noqa: BLE001 - a render or photo without a detectable face
        return None
    col = measure_colors(rgb, obs.landmarks, obs.person_mask)
    from inference.head_outline import photo_outline_height
    return View(obs.landmarks, col.lab["skin"], col.lab["hair"],
                silhouette_samples(obs.person_mask, obs.landmarks),
                photo_outline_height(obs.person_mask, obs.landmarks))


def outline_error(a: View | None, b: View | None) -> float:
    """How much taller or shorter one head-and-hair outline stands above the eyes than the
    other's, in eye distances (NaN when either is cut off by its frame)."""
    if a is None or b is None or a.outline_height is None or b.outline_height is None:
        return float("nan")
    return abs(a.outline_height - b.outline_height)


def silhouette_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Soft intersection over union of two :func:`silhouette_samples` grids: how closely the
    head-and-hair outlines above the mouth agree once the eyes are aligned (1 = the same)."""
    union = float(np.maximum(a, b).sum())
    return float(np.minimum(a, b).sum()) / union if union > 0 else float("nan")


def match_top1(avatars: list[View], photos: list[View]) -> tuple[float, list[dict]]:
    """AgileAvatar's match task: avatar i against photo i and three others (the next three
    in order). Returns the top-1 rate and per-avatar details."""
    n = len(photos)
    if n < 4:
        return float("nan"), []

    def terms(a: View, p: View):
        return np.array([landmark_nme(a.landmarks, p.landmarks), np.linalg.norm(a.skin_lab - p.skin_lab),
                         np.linalg.norm(a.hair_lab - p.hair_lab), np.abs(a.silhouette - p.silhouette).mean()])

    pairs = np.array([terms(photos[i], photos[j]) for i in range(n) for j in range(n) if i != j])
    med = np.median(pairs, axis=0) + 1e-9
    hits, details = 0, []
    for i in range(n):
        cands = [i] + [(i + k) % n for k in (1, 2, 3)]
        d = [float((terms(avatars[i], photos[j]) / med).sum()) for j in cands]
        pick = cands[int(np.argmin(d))]
        hits += pick == i
        details.append({"avatar": i, "candidates": cands, "distances": d, "picked": pick})
    return hits / n, details


FULL_BEARDS = ("short_full", "long_full")
# what the labels call no beard: "stubble counts as no", and "a moustache alone counts as 0"
# (samples/photos/SOURCES.md)
NOT_BEARDS = ("none", "stubble", "mustache")


def beard_label(beard_id: str) -> str:
    """The beard label ("1" or "0") an avatar's beard asset answers."""
    return "0" if beard_id in NOT_BEARDS else "1"


def attribute_hits(rows: list[EvalRow], catalogue: dict) -> dict[str, tuple[int, int]]:
    """(correct, labelled) per attribute; rows without a label or that failed are skipped.
    Stubble and a moustache alone count as no beard (the labels mark chin and jaw hair)."""
    out = {}
    for attr in ("glasses", "beard", "hair_length", "hair_color"):
        hits = total = 0
        for r in rows:
            if not r.ok or not r.labels.get(attr):
                continue
            av = r.predicted
            if attr == "glasses":
                pred = "1" if av["assets"]["glasses"] != "none" else "0"
            elif attr == "beard":
                pred = beard_label(av["assets"]["beard"])
            elif attr == "hair_length":
                pred = catalogue["hair"][av["assets"]["hair"]]["length"]
            else:
                pred = hex_color_name(av["colors"]["hair"])
            hits += pred == r.labels[attr]
            total += 1
        out[attr] = (hits, total)
    return out


def false_full_beards(rows: list[EvalRow]) -> int:
    """Photos labelled beard 0 whose avatar wears a full beard (the worst beard miss)."""
    return sum(1 for r in rows if r.ok and r.labels.get("beard") == "0"
               and r.predicted["assets"]["beard"] in FULL_BEARDS)


def majority_baseline(rows: list[EvalRow]) -> dict[str, float]:
    """Per attribute, the accuracy of always answering the commonest label of the folder:
    the figure an attribute reader has to beat to be worth anything."""
    out = {}
    for attr in ("glasses", "beard", "hair_length", "hair_color"):
        vals = [r.labels[attr] for r in rows if r.ok and r.labels.get(attr)]
        if vals:
            out[attr] = round(max(vals.count(v) for v in set(vals)) / len(vals), 4)
    return out


def top_scores(scores: dict[str, dict[str, float]], n: int = 3) -> dict[str, list[tuple[str, float]]]:
    """The ``n`` best candidates of each asset slot with their search scores, best first."""
    return {slot: sorted(v.items(), key=lambda kv: -kv[1])[:n] for slot, v in scores.items()}


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion (95 % for z = 1.96). Unlike the normal
    approximation it stays inside [0, 1] and is honest at 0/n, n/n and small n, which is
    what 13 labelled photos give."""
    if n == 0:
        return float("nan"), float("nan")
    p = hits / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return float(max(0.0, mid - half)), float(min(1.0, mid + half))


def bootstrap_interval(stat, *samples: np.ndarray, n_boot: int = 2000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat(*samples)``, resampling the photos (the
    same indices in every sample, so paired figures stay paired). NaN entries are
    dropped first, row-wise across the samples. Deterministic for a given ``seed``."""
    arrs = [np.asarray(a, dtype=np.float64) for a in samples]
    keep = np.all([np.isfinite(a) for a in arrs], axis=0)
    arrs = [a[keep] for a in arrs]
    n = len(arrs[0])
    if n == 0:
        return float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    vals = np.array([stat(*(a[i] for a in arrs)) for i in idx])
    lo, hi = np.percentile(vals, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def reduction(fitted: np.ndarray, default: np.ndarray) -> float:
    """1 - median(fitted) / median(default): how far below the default avatar's NME."""
    return float(1.0 - np.median(fitted) / np.median(default))
