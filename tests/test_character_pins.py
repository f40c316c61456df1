"""Face pins on the artist's character: the landmarks the search found, as empties the artist
moves to correct the correspondence; apply follows them (in-process, the CLI's .blend, and
the add-on through the real backend subprocess)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from characters import make_character  # noqa: E402

from inference.character_fit import pin_targets  # noqa: E402

PHOTO = Path(__file__).resolve().parents[1] / "samples" / "photos" / "person_11.jpg"


def test_pin_targets_move_the_pinned_landmark_and_fade_across_the_face():
    rng = np.random.default_rng(0)
    found = rng.normal(size=(478, 3)) * 0.05
    valid = np.ones(478, bool)
    valid[7] = False
    # pins where the landmarks were found change nothing
    same, ok = pin_targets(found, valid, {61: found[61], 152: found[152]})
    np.testing.assert_allclose(same, found, atol=1e-12)
    assert np.array_equal(ok, valid)
    shift = np.array([0.0, 0.0, -0.01])
    t, ok = pin_targets(found, valid, {61: found[61] + shift, 7: np.zeros(3)})
    np.testing.assert_allclose(t[61], found[61] + shift)
    assert ok[7] and np.allclose(t[7], 0.0)                     # a pin makes a missed landmark usable
    d = np.linalg.norm(found - found[61], axis=1)
    moved = np.linalg.norm(t - found, axis=1)
    radius = np.linalg.norm(found[valid] - found[valid].mean(0), axis=1).max()
    near, far = (d > 0) & (d < 0.1 * radius), d > 0.8 * radius
    assert moved[near].min() > 0.9 * 0.01                      # neighbours come along
    assert moved[far & (np.arange(478) != 7)].max() < 0.03 * 0.01   # the far side of the face stays


@pytest.fixture
def pinned(scene):
    from blender_addon.character import face_pins
    from blender_addon.character_pins import PIN_LANDMARKS, place_pins
    obj = make_character("lowpoly")
    points, report = face_pins(obj)
    assert set(points) <= set(PIN_LANDMARKS.values()) and len(points) >= 14
    pins = place_pins(obj, points)
    return obj, points, pins


def test_placed_pins_sit_on_the_found_landmarks_and_a_moved_pin_moves_its_landmark(pinned):
    from blender_addon.character import find_face, rest_geometry
    from blender_addon.character_pins import PIN_PROP, pinned_surface, pins_of
    obj, points, pins = pinned
    assert all(p.parent is obj and PIN_PROP in p for p in pins)
    read = pins_of(obj)
    for k, v in points.items():
        np.testing.assert_allclose(read[k], v, atol=1e-5)
    verts, tris = rest_geometry(obj)
    surface, _ = find_face(obj)
    # the artist drags the right mouth corner 8 mm down, onto the chin side
    corner = next(p for p in pins if p[PIN_PROP] == 61)
    corner.location.z -= 0.008
    bpy.context.view_layer.update()
    fixed, used = pinned_surface(verts, tris, surface, pins_of(obj))
    assert used == len(pins)
    before, after = surface.points(verts), fixed.points(verts)
    assert after[61, 2] < before[61, 2] - 0.005                 # on the surface, where the pin went
    assert np.linalg.norm(after[146] - before[146]) > 0.002     # the lip point beside it follows
    assert np.linalg.norm(after[291] - before[291]) < 1e-4      # the other corner, pinned, stays


def test_apply_follows_the_pins_it_finds_in_the_blend(pinned, tmp_path):
    from blender_addon.character import apply_to_character
    from inference.pipeline import Backend
    obj, points, pins = pinned
    analysis = Backend().analyze(PHOTO)
    report = apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape)
    assert report["pins_used"] == len(pins)
    assert apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape,
                              pins={})["pins_used"] == 0


@pytest.fixture(scope="module")
def registered():
    from blender_addon import addon
    addon.register()
    yield
    addon.unregister()


def test_place_pins_and_clear_them_in_the_addon_through_the_backend(registered, scene):
    from blender_addon.character_pins import pin_objects
    obj = make_character("lowpoly")
    scene.photo2avatar_character = obj
    assert bpy.ops.photo2avatar.place_pins() == {"FINISHED"}
    pins = pin_objects(obj)
    assert len(pins) >= 14 and all(p.name.startswith(obj.name + ".pin.") for p in pins)
    nose = next(p for p in pins if p.name.endswith("nose_tip"))
    assert nose.location.y == min(p.location.y for p in pins)    # the nose tip is the pin nearest the viewer (-Y)
    assert bpy.ops.photo2avatar.clear_pins() == {"FINISHED"}
    assert pin_objects(obj) == []
