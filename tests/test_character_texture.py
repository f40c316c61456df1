"""The photo's face painted into a character's own texture through its UVs: the face lands
where their face is (the moustache above their lip, skin on their cheeks), only the face
changes, and nothing of theirs is overwritten (their image is copied, a shared material
is copied for this object, a procedural base colour is left alone)."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from characters import make_character  # noqa: E402

from inference.colors import srgb_to_lab  # noqa: E402

PHOTO = "samples/photos/person_11.jpg"      # a dark moustache on light skin


@pytest.fixture(scope="module")
def photo_analysis():
    from inference.character_texture import character_head_texture
    from inference.photo_io import load_photo
    from inference.pipeline import Backend
    photo = load_photo(PHOTO)
    analysis = Backend().analyze(photo)
    return analysis, character_head_texture(photo.rgb, analysis, "identity")


def _pixels(img) -> np.ndarray:
    w, h = img.size
    px = np.empty(w * h * img.channels, np.float32)
    img.pixels.foreach_get(px)
    return px.reshape(h, w, img.channels)[..., :3]


def _landmark_texel(obj, surface, j: int, size) -> tuple[int, int]:
    """(row, column) of landmark j's point in the image (rows from the bottom, as bpy)."""
    from blender_addon.character_texture import uv_triangles
    vids, uv, _ = uv_triangles(obj)
    row = {tuple(t): i for i, t in enumerate(vids.tolist())}[tuple(surface.tri[j].tolist())]
    u, v = surface.bary[j] @ uv[row]
    return int(v * size[1]), int(u * size[0])


def test_the_face_lands_on_their_face_in_a_copy_of_their_image(scene, photo_analysis):
    from blender_addon.character import apply_to_character, find_face, rest_geometry
    from blender_addon.character_texture import uv_triangles
    from inference.avatar import hex_to_rgb
    from inference.texture import rasterize
    analysis, head = photo_analysis
    obj = make_character("body", textured=True)
    theirs = bpy.data.images["their_paint"]
    before = _pixels(theirs).copy()
    report = apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape,
                                head_texture=head)
    assert report["texture"] == "copied"
    node = obj.material_slots[0].material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].links[0].from_node
    painted = node.image
    assert painted.name == "their_paint.photo2avatar" and painted.packed_file is not None
    np.testing.assert_array_equal(_pixels(theirs), before)          # their image untouched
    after = _pixels(painted)
    changed = np.abs(after - before).max(-1) > 1.5 / 255
    assert changed.sum() > 2000
    # only texels of triangles near the face change (plus the few-texel gutter round them)
    surface, _ = find_face(obj)
    verts, _ = rest_geometry(obj)
    vids, uv, _ = uv_triangles(obj)
    lm = surface.points(verts)[surface.valid]
    radius = np.linalg.norm(lm - lm.mean(0), axis=1).max()
    near = (np.linalg.norm(verts - lm.mean(0), axis=1) < 1.8 * radius)[vids].all(1)
    h, w = after.shape[:2]
    tid, _ = rasterize(np.stack([uv[near, :, 0] * w, uv[near, :, 1] * h], axis=-1), (h, w))
    import cv2
    footprint = cv2.dilate((tid >= 0).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert not (changed & ~footprint).any()
    # the photo's face on theirs: skin at the cheeks, the moustache above the lip

    def lab_at(j):
        r, c = _landmark_texel(obj, surface, j, (w, h))
        return srgb_to_lab(after[r - 1:r + 2, c - 1:c + 2].reshape(-1, 3).astype(np.float64)).mean(0)
    skin = srgb_to_lab(np.array(hex_to_rgb(analysis.avatar.colors["skin"]))[None])[0]
    paint = srgb_to_lab(before[5, 5][None].astype(np.float64))[0]          # between the grid lines
    for cheek in (50, 280):
        assert np.linalg.norm(lab_at(cheek) - skin) < 20 and np.linalg.norm(lab_at(cheek) - paint) > 40
    for lip in (164, 167, 393):         # the philtrum and beside it, under the moustache
        assert lab_at(lip)[0] < min(lab_at(50)[0], lab_at(280)[0]) - 20


def test_shared_materials_are_copied_and_other_base_colours_left_alone(scene, photo_analysis):
    from blender_addon.character import find_face
    from blender_addon.character_texture import apply_face_texture
    _, head = photo_analysis
    obj = make_character("lowpoly")
    surface, _ = find_face(obj)
    # no material at all: a new image, filled and wired to Base Color
    report = apply_face_texture(obj, surface, head)
    assert report["texture"] == "new"
    mat = obj.material_slots[0].material
    base = mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"]
    assert base.is_linked and base.links[0].from_node.image.name == report["texture_image"]
    # a material another object shares: this object gets its own copy, the other keeps the original
    shared = bpy.data.materials.new("shared")
    shared.use_nodes = True
    other = bpy.data.objects.new("Other", bpy.data.meshes.new("Other"))
    other.data.materials.append(shared)
    obj.material_slots[0].material = shared
    report = apply_face_texture(obj, surface, head)
    assert obj.material_slots[0].material.name == "shared.photo2avatar" and other.data.materials[0] == shared
    assert not shared.node_tree.nodes["Principled BSDF"].inputs["Base Color"].is_linked
    # a procedural base colour: nothing is painted and the node tree stays as it was
    own = bpy.data.materials.new("procedural")
    own.use_nodes = True
    noise = own.node_tree.nodes.new("ShaderNodeTexNoise")
    own.node_tree.links.new(noise.outputs["Color"], own.node_tree.nodes["Principled BSDF"].inputs["Base Color"])
    obj.material_slots[0].material = own
    nodes = len(own.node_tree.nodes)
    report = apply_face_texture(obj, surface, head)
    assert report["texture"].startswith("skipped: the base colour of 'procedural' comes from a tex_noise node")
    assert len(own.node_tree.nodes) == nodes and obj.material_slots[0].material == own
