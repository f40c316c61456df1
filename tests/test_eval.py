"""The eval command is where every quality figure in the README comes from: its metrics
are checked against published reference data and against properties they must have, and
the command itself is run end to end on real photos."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.evaluate import (HAIR_COLOR_NAMES, NME_SUBSET, EvalRow, View, attribute_hits, bootstrap_interval,
                                ciede2000, hair_color_name, landmark_nme, match_top1, reduction, wilson_interval)

PHOTOS = Path(__file__).resolve().parents[1] / "samples" / "photos"

# Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula: implementation
# notes, supplementary test data, and mathematical observations", Table 1 (pairs 1-3,
# 7, 13-21, 25-34): the cases that exercise the hue wrap-around, a'=0 and the
# rotation term.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0010), 7.1792),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0011), 7.2195),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0012), 7.2195),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA)
def test_ciede2000_matches_the_published_test_data(lab1, lab2, expected):
    assert ciede2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)
    assert ciede2000(np.array(lab2), np.array(lab1)) == pytest.approx(expected, abs=1e-4)


def _face(seed=0):
    """478 landmark-like points: a real photo's, so the eye corners and subset are real."""
    rng = np.random.default_rng(seed)
    pts = rng.normal(0, 60, (478, 2)) + 300
    pts[33], pts[263] = (250, 300), (350, 300)             # outer eye corners 100 px apart
    return pts


def test_landmark_nme_ignores_a_similarity_transform_of_the_render():
    photo = _face()
    a = np.radians(17)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    render = 0.37 * photo @ rot.T + (41, -12)
    assert landmark_nme(render, photo) < 1e-9


def test_landmark_nme_measures_subset_error_in_eye_distances():
    photo = _face()
    render = photo.copy()
    outside = np.setdiff1d(np.arange(478), NME_SUBSET)
    render[outside] += 25.0                                 # the mouth and jaw: expression, not counted
    assert landmark_nme(render, photo) < 1e-9
    rng = np.random.default_rng(1)
    render[NME_SUBSET] += rng.normal(0, 3.0, (len(NME_SUBSET), 2))
    nme = landmark_nme(render, photo)
    assert 0.02 < nme < 0.05                                # ~3 px of jitter over a 100 px eye distance
    assert landmark_nme(2 * render, 2 * photo) == pytest.approx(nme)   # units cancel


def test_hair_colour_names_are_nearest_references():
    for name, lab in HAIR_COLOR_NAMES.items():
        assert hair_color_name(np.array(lab)) == name
    assert hair_color_name(np.array([10.0, 0.0, 0.0])) == "black"
    assert hair_color_name(np.array([95.0, 0.0, 0.0])) == "white"


def _row(file, beard="none", glasses="none", hair="buzz", hair_hex="#1a1614", labels=None, ok=True):
    return EvalRow(file, ok=ok, labels=labels or {},
                   predicted={"assets": {"beard": beard, "glasses": glasses, "hair": hair},
                              "colors": {"hair": hair_hex}})


def test_attribute_hits_follow_the_label_vocabulary():
    from rigs.catalogue import asset_catalogue
    cat = asset_catalogue()
    rows = [
        _row("a", beard="stubble", labels={"beard": "0", "glasses": "0", "hair_length": "short",
                                           "hair_color": "black"}),
        _row("b", beard="short_full", glasses="round", hair="long_straight", hair_hex="#d8d4cc",
             labels={"beard": "1", "glasses": "1", "hair_length": "medium", "hair_color": "white"}),
        _row("c", labels={"beard": "", "glasses": "", "hair_length": "", "hair_color": ""}),   # unlabelled
        _row("d", beard="goatee", ok=False, labels={"beard": "0"}),                           # failed: skipped
        _row("e", beard="mustache", labels={"beard": "0"}),
        _row("f", beard="goatee", labels={"beard": "0"}),
    ]
    hits = attribute_hits(rows, cat)
    # stubble and a moustache alone are "no beard" (the labels' own rule); a goatee and a
    # full beard are beards
    assert hits["beard"] == (3, 4)
    assert hits["glasses"] == (2, 2)
    assert hits["hair_length"] == (1, 2)      # long_straight is long, labelled medium
    assert hits["hair_color"] == (2, 2)


def test_wilson_interval_textbook_values():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(11, 13)
    assert (lo, hi) == pytest.approx((0.5776, 0.9567), abs=1e-4)
    lo2, hi2 = wilson_interval(2, 13)                     # mirror image
    assert (lo2, hi2) == pytest.approx((1 - hi, 1 - lo), abs=1e-9)
    w_small = np.diff(wilson_interval(11, 13))[0]
    w_big = np.diff(wilson_interval(110, 130))[0]
    assert w_big < w_small / 2.5                          # ~ 1/sqrt(n)


def test_bootstrap_interval_is_reproducible_and_pairs_samples():
    rng = np.random.default_rng(3)
    x = rng.normal(0.03, 0.01, 13)
    iv = bootstrap_interval(np.median, x)
    assert iv == bootstrap_interval(np.median, x)         # same seed, same interval
    assert iv[0] <= np.median(x) <= iv[1]
    assert bootstrap_interval(np.median, np.full(9, 0.02)) == pytest.approx((0.02, 0.02))
    # paired: a fit that is always 30 % below the default has a tight interval around 0.3,
    # although both samples spread widely
    default = rng.uniform(0.02, 0.09, 13)
    lo, hi = bootstrap_interval(reduction, 0.7 * default, default)
    assert lo == pytest.approx(0.3) and hi == pytest.approx(0.3)
    # NaN rows (no face on a render) are dropped from every sample together
    with_nan = np.r_[x, np.nan]
    assert bootstrap_interval(np.median, with_nan) == iv


def test_match_top1_finds_each_photos_avatar():
    rng = np.random.default_rng(5)
    photos = [View(_face(i), rng.normal([60, 15, 15], 8), rng.normal([25, 5, 10], 10), rng.random((24, 24)))
              for i in range(6)]

    def near(v):
        return View(v.landmarks + rng.normal(0, 0.5, v.landmarks.shape), v.skin_lab + 0.5, v.hair_lab - 0.5,
                    np.clip(v.silhouette + 0.02, 0, 1))
    avatars = [near(p) for p in photos]
    assert match_top1(avatars, photos)[0] == 1.0
    assert match_top1(avatars[1:] + avatars[:1], photos)[0] == 0.0     # each avatar beside the wrong photo


def test_silhouette_iou_and_outline_error_compare_head_outlines():
    from inference.evaluate import outline_error, silhouette_iou
    a = np.zeros((24, 24))
    a[6:, 6:18] = 1.0
    b = a.copy()
    assert silhouette_iou(a, b) == 1.0
    b[6:9] = 0.0                                   # the same head, its top 3 rows lower
    assert silhouette_iou(a, b) == pytest.approx(15 / 18)
    face = _face(0)
    assert outline_error(View(face, None, None, a, 1.4), View(face, None, None, b, 1.25)) == pytest.approx(0.15)
    assert np.isnan(outline_error(View(face, None, None, a, None), View(face, None, None, b, 1.25)))


def test_eval_command_end_to_end(tmp_path):
    """Four real photos: a table, a JSON line equal to metrics.json's summary with its
    intervals, bundles, posed renders and a contact sheet; an existing output folder is
    kept without --force; a folder without photos is a one-line error."""
    pytest.importorskip("bpy")
    photos = tmp_path / "photos"
    photos.mkdir()
    chosen = ["person_01.jpg", "person_08.jpg", "person_09.jpg", "person_13.jpg"]
    for f in chosen:
        shutil.copy(PHOTOS / f, photos / f)
    with open(PHOTOS / "labels.csv", newline="") as src, open(photos / "labels.csv", "w", newline="") as dst:
        rd = csv.DictReader(src)
        wr = csv.DictWriter(dst, rd.fieldnames)
        wr.writeheader()
        wr.writerows(r for r in rd if r["file"] in chosen)
    out = tmp_path / "eval"
    cmd = [sys.executable, "-m", "blender_addon.cli", "eval", str(photos), "-o", str(out), "--size", "256"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["summary"] == summary
    assert summary["photos"] == summary["generated"] == 4
    # person_08 and person_09 are labelled bearded, 01 and 13 not: a beard detector that
    # answered one way for everyone would score 0.5
    assert summary["acc_beard"] == 1.0
    for key in ("acc_glasses", "acc_beard", "acc_hair_length", "acc_hair_color", "nme_posed_median",
                "nme_front_median", "nme_posed_reduction_vs_default", "match_top1", "skin_de2000_median"):
        lo, hi = summary["ci95"][key]
        assert lo <= summary[key] <= hi, key
    assert 0.0 < summary["nme_front_median"] < summary["nme_default_front_median"] < 0.2
    # the pose's part of the front NME follows the photo's turn: person_13 (yaw 15 degrees)
    # against person_01 (under 2)
    part = {row["file"]: row["nme_pose_part"] for row in saved["rows"]}
    assert 0 < part["person_01.jpg"] < 0.5 * part["person_13.jpg"] < 0.1
    assert 0.5 < summary["silhouette_iou_posed_median"] <= 1.0 and summary["outline_error_posed_median"] < 0.3
    assert {p.name for p in (out / "bundles").iterdir()} == {Path(f).stem for f in chosen}
    assert len(list((out / "posed").glob("*.png"))) == 8
    from PIL import Image
    assert Image.open(out / "contact_sheet.png").size[1] > 100
    assert Image.open(out / "hair_regions.png").size[1] > 100
    assert "acc_hair_color" in r.stdout and "95 % interval" in r.stdout
    # why each asset was picked: the hair region's reading and the top-3 of every slot
    assert "top-3 hair / beard / glasses" in r.stdout
    for row in saved["rows"]:
        assert row["why"]["hair_region"]["length"] in ("bald", "short", "medium", "long")
        for slot in ("hair", "beard", "glasses"):
            top = row["why"]["top3"][slot]
            assert len(top) == 3 and top[0][0] == row["predicted"]["assets"][slot]
            assert top[0][1] >= top[1][1] >= top[2][1]
    assert summary["false_full_beards"] == 0
    assert summary["majority_baseline"]["beard"] == 0.5

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 5 and "--force" in again.stderr and "Traceback" not in again.stderr

    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run([sys.executable, "-m", "blender_addon.cli", "eval", str(empty), "-o", str(tmp_path / "e")],
                         capture_output=True, text=True, timeout=120)
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert bad.returncode == 4 and len(lines) == 1 and "no photos" in lines[0]


def test_labels_are_normalised_and_checked(tmp_path):
    from inference.errors import InputError
    from inference.evaluate import read_labels
    f = tmp_path / "labels.csv"
    f.write_text("\ufefffile,glasses,hair_length,hair_color\na.jpg, 1 ,Short,\nb.jpg,,,WHITE\n", encoding="utf-8")
    labels = read_labels(f)
    assert labels["a.jpg"]["glasses"] == "1" and labels["a.jpg"]["hair_length"] == "short"
    assert labels["a.jpg"]["hair_color"] == "" and labels["b.jpg"]["hair_color"] == "white"
    f.write_text("file,hair_color\na.jpg,black\nb.jpg,blond\n")
    with pytest.raises(InputError, match="line 3: hair_color 'blond'"):
        read_labels(f)


def _eval_cli(*args):
    return subprocess.run([sys.executable, "-m", "blender_addon.cli", "eval", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("content, words", [
    (None, "no such labels file"),
    (b"name,glasses\nx.jpg,1\n", "needs a 'file' column"),
    (b"file,beard\nperson_01.jpg,yes\n", "line 2: beard 'yes' is not one of 0, 1"),
    (b"\xff\xfe\x00\x01garbage", "not a readable CSV file"),
])
def test_bad_labels_file_is_a_one_line_error(tmp_path, content, words):
    pytest.importorskip("bpy")
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(PHOTOS / "person_01.jpg", photos)
    labels = tmp_path / "labels.csv"
    if content is not None:
        labels.write_bytes(content)
    r = _eval_cli(photos, "--labels", labels, "-o", tmp_path / "out")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 4 and len(lines) == 1 and words in lines[0], r.stderr
    assert not (tmp_path / "out").exists()


def test_eval_without_labels_prints_strict_json(tmp_path):
    """No labels.csv beside the photos: the accuracies are null (not NaN, which strict
    JSON parsers reject) and everything else is measured."""
    pytest.importorskip("bpy")
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(PHOTOS / "person_10.jpg", photos)
    r = _eval_cli(photos, "-o", tmp_path / "out", "--size", "256")
    assert r.returncode == 0, r.stderr

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    summary = json.loads(r.stdout.strip().splitlines()[-1], parse_constant=no_constants)
    json.loads((tmp_path / "out" / "metrics.json").read_text(), parse_constant=no_constants)
    assert summary["acc_glasses"] is None and summary["ci95"]["acc_glasses"] == [None, None]
    assert summary["match_top1"] is None                     # needs four photos
    assert 0 < summary["nme_front_median"] < 0.2


@pytest.mark.parametrize("command", ["generate", "eval"])
def test_render_size_out_of_range_is_a_usage_error(tmp_path, command):
    src = PHOTOS / "person_01.jpg" if command == "generate" else PHOTOS
    r = subprocess.run([sys.executable, "-m", "blender_addon.cli", command, str(src), "-o", str(tmp_path / "o"),
                        "--size", "0"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "from 16 to 8192" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()
