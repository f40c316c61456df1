"""The hair region (``inference.hair_segment``) and the decisions read from it: length
class, bald, hair colour. Real photos from ``samples/photos`` and real renders of the rig."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.evaluate import hair_color_name, read_labels

PHOTOS = Path(__file__).resolve().parents[1] / "samples" / "photos"


@pytest.fixture(scope="module")
def observed():
    """(labels, {file: (observation, CIELAB photo, skin Lab, HairSegmentation)})."""
    from inference.colors import measure_colors, srgb_to_lab
    from inference.hair_segment import segment_hair
    from inference.perception import Perceiver
    from inference.photo_io import load_photo
    labels = read_labels(PHOTOS / "labels.csv")
    p = Perceiver()
    out = {}
    for f in sorted(labels):
        obs = p.observe(load_photo(PHOTOS / f).rgb)
        lab = srgb_to_lab(obs.rgb / 255.0)
        skin = measure_colors(obs.rgb, obs.landmarks, obs.person_mask, lab).lab["skin"]
        out[f] = (obs, lab, skin, segment_hair(lab, obs.landmarks, obs.person_mask, skin, obs.shoulders))
    p.close()
    return labels, out


@pytest.fixture(scope="module")
def perceiver():
    from inference.perception import Perceiver
    p = Perceiver()
    yield p
    p.close()


def _segment(perceiver, rgb):
    """(CIELAB photo, hair segmentation) of an RGB image, as the pipeline reads it."""
    from inference.colors import measure_colors, srgb_to_lab
    from inference.hair_segment import segment_hair
    o = perceiver.observe(np.ascontiguousarray(rgb))
    lab = srgb_to_lab(o.rgb / 255.0)
    skin = measure_colors(o.rgb, o.landmarks, o.person_mask, lab).lab["skin"]
    return lab, segment_hair(lab, o.landmarks, o.person_mask, skin, o.shoulders)


def test_region_holds_neither_backdrop_nor_face(observed):
    """Hair pixels are person pixels above the mouth or beside the face, never the
    backdrop and never the face below the brows."""
    from inference.colors import FACE_OVAL, polygon_mask
    _, out = observed
    for f, (obs, _, _, seg) in out.items():
        m = seg.mask()
        assert m.sum() > 0, f
        assert (obs.person_mask[m] < 0.3).mean() < 0.02, f
        lm = obs.landmarks
        face = polygon_mask(m.shape, lm[FACE_OVAL], hull=False)
        yy = np.mgrid[0:m.shape[0], 0:m.shape[1]][0]
        lower_face = face & (yy > lm[[105, 334], 1].mean() + 0.1 * obs.interocular)
        assert (m & lower_face).sum() < 0.01 * lower_face.sum(), f


def test_region_matches_hand_drawn_masks(observed):
    """IoU with hand-drawn hair outlines (tests/data/hair_masks.json) of four photos:
    short black, long grey, medium black, white fringe around a bald crown. Measured
    0.85 / 0.68 / 0.79 / 0.45 (the person mask, the old evidence: 0.16 / 0.35 / 0.34 /
    0.06); the floors leave room for the outlines' own coarseness."""
    import json
    import cv2
    _, out = observed
    masks = json.loads((Path(__file__).parent / "data" / "hair_masks.json").read_text())["masks"]
    ious = {}
    for f, poly in masks.items():
        obs, _, _, seg = out[f]
        gt = np.zeros(obs.rgb.shape[:2], np.uint8)
        cv2.fillPoly(gt, [np.array(poly, np.int32)], 1)
        gt = gt.astype(bool)
        m, person = seg.mask(), obs.person_mask > 0.5
        ious[f] = ((m & gt).sum() / (m | gt).sum(), (person & gt).sum() / (person | gt).sum())
    assert np.mean([a for a, _ in ious.values()]) >= 0.6, ious
    for f, (iou, person_iou) in ious.items():
        assert iou >= 0.4 and iou > person_iou + 0.2, (f, iou, person_iou)


def test_dark_jackets_are_not_hair(observed):
    """Short-haired men in dark suits: the hair region ends above the chin (the selfie
    mask holds the jacket as well, which made hair hang over the shoulders)."""
    labels, out = observed
    short = [f for f in out if labels[f].get("hair_length") == "short" and labels[f].get("approx_gender") == "m"]
    assert len(short) >= 5
    for f in short:
        seg = out[f][3]
        assert seg.length == "short", (f, seg.summary())
        assert seg.side_end < -0.6, (f, seg.summary())


def test_length_class_agrees_with_the_labels(observed):
    labels, out = observed
    pairs = [(labels[f]["hair_length"], out[f][3].length) for f in out if labels[f].get("hair_length")]
    hits = sum(a == b for a, b in pairs)
    assert len(pairs) >= 12 and hits / len(pairs) >= 0.85, pairs


def test_long_grey_hair_reads_long(observed):
    """person_04: long straight grey hair over a dark jacket. The region follows the hair
    past the shoulders, not the jacket (the person mask made her hair read as locs)."""
    seg = observed[1]["person_04.jpg"][3]
    assert seg.length == "long"
    assert seg.side_cover > 0.5


def test_grey_hair_before_a_grey_backdrop_reads_long(perceiver):
    """person_04's long grey hair with the backdrop made grey like it (through the person
    mask; training/robustness.py): the cut's background model holds the hair's colour, and
    below the chin the region stopped at the jaw (medium). Hair-coloured pixels firmly inside
    the person and unlike the clothes are hair there too."""
    from inference.photo_io import load_photo
    from training.robustness import variants
    rgb = load_photo(PHOTOS / "person_04.jpg").rgb
    grey = variants(rgb, perceiver.observe(rgb).person_mask)["bg_grey"]
    _, seg = _segment(perceiver, grey)
    assert seg.length == "long", seg.summary()


def test_hair_colour_from_the_region(observed):
    """The lit part of the hair region names the labelled colour on at least 11 of the 13
    sample photos, and white hair over shaded temples reads white (the old measurement,
    under the chosen asset, read person_12 brown). Light grey vs white stays a knife edge:
    person_04 (labelled grey) reads L 74, the boundary lies near 72."""
    from inference.asset_search import hair_colour
    labels, out = observed
    names = {f: hair_color_name(hair_colour(lab, seg)) for f, (_, lab, _, seg) in out.items()}
    hits = sum(names[f] == labels[f]["hair_color"] for f in out if labels[f].get("hair_color"))
    assert hits >= 11, names
    assert names["person_12.jpg"] == "white"      # receding white hair, shaded temples
    assert names["person_01.jpg"] == "blonde"     # dark blonde: the shade between strands is not its colour


def test_backdrop_spill_leaves_dark_hair_neutral(observed):
    """Black hair before the blue studio backdrop reads black, not navy: the spill of the
    backdrop's light is taken out (person_06 read a*b* (4, -19) before, person_02 (2, -9)).
    The brown and blonde photos keep their warm chroma."""
    from inference.asset_search import hair_colour
    _, out = observed
    for f in ("person_02.jpg", "person_06.jpg", "person_08.jpg"):
        lab, seg = out[f][1], out[f][3]
        assert np.hypot(*seg.backdrop_lab[1:]) > 40, f           # a saturated blue backdrop
        assert np.hypot(*hair_colour(lab, seg)[1:]) < 5.0, f
    for f in ("person_01.jpg", "person_13.jpg"):
        lab, seg = out[f][1], out[f][3]
        assert hair_colour(lab, seg)[2] > 8.0, f


def test_despill_only_removes_the_backdrop_hue():
    """Pixels tinted toward a blue backdrop lose that tint and nothing else; warm (brown)
    pixels are untouched; an orange backdrop, close to the hair hues, changes nothing."""
    from inference.asset_search import despill
    blue = np.array([55.0, 20.0, -60.0])
    px = np.array([[20.0, 4.0, -19.0], [35.0, 9.0, 18.0], [70.0, 0.0, 0.0]])
    out = despill(px, blue)
    u = blue[1:] / np.hypot(*blue[1:])
    assert abs(out[0, 1:] @ u) < 1e-9 and np.hypot(*out[0, 1:]) < np.hypot(*px[0, 1:])
    np.testing.assert_allclose(out[1:], px[1:])
    np.testing.assert_allclose(out[:, 0], px[:, 0])
    np.testing.assert_allclose(despill(px, np.array([60.0, 25.0, 45.0])), px)
    np.testing.assert_allclose(despill(px, np.array([80.0, 2.0, 4.0])), px)     # grey backdrop
    np.testing.assert_allclose(despill(px, None), px)


def test_bald_scalp_gives_no_hair(observed):
    """A photo whose crown shows skin has no hair seeds: the cut is not run, the region
    is empty and the class is bald. Made from a real photo by painting the hair region
    with the face's own skin texture (the forehead, tiled)."""
    import cv2
    from inference.colors import measure_colors, srgb_to_lab
    from inference.hair_segment import segment_hair
    obs, _, _, seg = observed[1]["person_10.jpg"]
    rgb = obs.rgb.copy()
    lm = obs.landmarks
    iod = obs.interocular
    x, y = int(lm[9, 0]), int(lm[9, 1])
    r = max(int(0.12 * iod), 4)
    patch = rgb[y - r:y + r, x - r:x + r]
    h, w = rgb.shape[:2]
    tiled = np.tile(patch, (h // (2 * r) + 1, w // (2 * r) + 1, 1))[:h, :w]
    hair = cv2.dilate(seg.mask().astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    rgb[hair] = tiled[hair]
    lab = srgb_to_lab(rgb / 255.0)
    skin = measure_colors(rgb, lm, obs.person_mask, lab).lab["skin"]
    bald = segment_hair(lab, lm, obs.person_mask, skin, obs.shoulders)
    assert bald.length == "bald", bald.summary()
    assert bald.mask().sum() == 0


@pytest.fixture(scope="module")
def backend():
    from inference.pipeline import Backend
    b = Backend()
    yield b
    b.close()


@pytest.mark.parametrize("hair,length", [("bald", "bald"), ("crop", "short"), ("bob", "medium"),
                                          ("long_straight", "long")])
def test_renders_read_back_their_hair_length(scene, backend, tmp_path, hair, length):
    """A render of the rig wearing a known hairstyle, analysed as a photo, reads back that
    style's length class, and the search answers with a style of that class. The person
    mask alone made these bald -> receding, bob -> afro, long straight -> locs."""
    from blender_addon.avatar_build import build_avatar
    from blender_addon.render import render_avatar
    from inference.avatar import default_avatar
    from rigs.catalogue import asset_catalogue
    av = default_avatar()
    av.assets["hair"] = hair
    av.colors["hair"] = "#3a2a20"
    objs = build_avatar(av, look="pbr")
    path = tmp_path / f"{hair}.png"
    render_avatar(objs, path, size=512)
    a = backend.analyze(path, texture="none")
    assert a.report["hair_region"]["length"] == length, a.report["hair_region"]
    assert asset_catalogue()["hair"][a.avatar.assets["hair"]]["length"] == length
    if hair == "bald":
        assert a.avatar.assets["hair"] == "bald"



@pytest.mark.parametrize("change", ["mirror", "smaller", "jpeg50"])
def test_reading_survives_what_a_camera_changes(observed, perceiver, change):
    """The same person mirrored, at 0.6 of the size, or re-saved as a quality-50 JPEG reads
    the same length class and hair colour name: the decisions rest on the hair, not on a
    pixel count or a side."""
    import cv2
    from inference.asset_search import hair_colour
    _, out = observed
    for f in ("person_01.jpg", "person_03.jpg", "person_04.jpg", "person_09.jpg", "person_10.jpg"):
        obs, lab0, _, seg0 = out[f]
        rgb = obs.rgb
        if change == "mirror":
            rgb = rgb[:, ::-1]
        elif change == "smaller":
            rgb = cv2.resize(rgb, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
        else:
            rgb = cv2.imdecode(cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, 50])[1], cv2.IMREAD_UNCHANGED)
        lab, seg = _segment(perceiver, rgb)
        assert seg.length == seg0.length, (f, seg.summary(), seg0.summary())
        assert hair_color_name(hair_colour(lab, seg)) == hair_color_name(hair_colour(lab0, seg0)), f


@pytest.mark.parametrize("photo,grey", [("person_03.jpg", 30), ("person_10.jpg", 40), ("person_09.jpg", 215)])
def test_hair_on_a_backdrop_of_its_own_colour(observed, perceiver, photo, grey):
    """Studio backdrops are often grey, black or white: the same person composited (by the
    selfie mask) onto a backdrop of the hair's own shade keeps the length class and most of
    the crown (black hair on black read short and lost half its crown when every pixel of
    the backdrop's colour was taken for backdrop)."""
    obs, _, _, seg0 = observed[1][photo]
    a = np.clip(obs.person_mask, 0, 1)[..., None]
    _, seg = _segment(perceiver, (obs.rgb * a + grey * (1 - a)).astype(np.uint8))
    assert seg.length == seg0.length, (seg.summary(), seg0.summary())
    assert seg.crown_cover > 0.8 * seg0.crown_cover and seg.high_cover > 0.8 * seg0.high_cover, seg.summary()


@pytest.mark.parametrize("photo,margin", [("person_03.jpg", 0.1), ("person_07.jpg", 0.1), ("person_10.jpg", 0.1),
                                          ("person_12.jpg", 0.5), ("person_13.jpg", 0.4)])
def test_a_crop_through_the_forehead_is_not_bald(observed, perceiver, photo, margin):
    """Tight head shots cut the crown off: with the frame's top edge ``margin`` eye
    distances above the forehead landmark, the bands out of the photo say nothing and the
    temples join the seeds. The length class stays as in the full photo: it read bald
    (a high hairline leaves the lower band all forehead: person_12, person_13)."""
    obs, _, _, seg0 = observed[1][photo]
    y = int(obs.landmarks[10, 1] - margin * obs.interocular)
    _, seg = _segment(perceiver, obs.rgb[y:])
    assert seg.length == seg0.length != "bald", (seg.summary(), seg0.summary())


def test_the_region_does_not_depend_on_what_was_cut_before(observed):
    """GrabCut draws from OpenCV's process-wide random state: the same photo cut again after
    other work (here a draw from that state) gives the same region, so a warm backend gives a
    photo the same avatar whatever it processed before (it did not: person_04 read medium or
    long by the order of the test run)."""
    import cv2

    from inference.hair_segment import segment_hair
    _, out = observed
    obs, lab, skin, _ = out["person_04.jpg"]
    first = segment_hair(lab, obs.landmarks, obs.person_mask, skin, obs.shoulders)
    cv2.randu(np.zeros((64, 64), np.float32), 0.0, 1.0)
    again = segment_hair(lab, obs.landmarks, obs.person_mask, skin, obs.shoulders)
    assert np.array_equal(first.prob, again.prob) and first.summary() == again.summary()


def test_a_beard_does_not_lead_the_region_into_the_jacket(observed, perceiver):
    """person_08 (short hair, full black beard, navy jacket) under a cool white balance: the
    cut ran from a sideburn down the beard into the jacket and read long (a ponytail). The
    rim around the jaw below the mouth is beard, not scalp hair."""
    from training.robustness import variants
    _, out = observed
    obs = out["person_08.jpg"][0]
    _, seg = _segment(perceiver, variants(obs.rgb, obs.person_mask)["cool"])
    assert seg.length == "short", seg.summary()
