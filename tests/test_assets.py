"""The asset library: catalogue, reproducible build, fit on every head shape, and the
assets in Blender (bound to the rig, exported, recoloured, swapped)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rigs import build_assets
from rigs.asset_check import check_assets, extreme_shapes, random_shapes
from rigs.asset_geometry import Attachment
from rigs.asset_library import ASSETS_PATH, AssetData, load_library
from rigs.catalogue import ASSET_CATALOGUE_PATH, RIGS_DIR, asset_catalogue

CAT = asset_catalogue()


def test_catalogue_covers_the_required_styles():
    hair = CAT["hair"]
    assert len(hair) >= 24
    for h in ("bald", "buzz", "crew_cut", "fade", "crop", "side_part", "quiff", "short_curly", "curly_top", "twa",
              "short_afro", "bob", "shoulder_straight", "shoulder_curly", "wavy_medium", "long_straight",
              "long_curly", "ponytail", "bun", "afro", "locs", "braids", "receding", "thinning_crown"):
        assert h in hair, h
    for entry in hair.values():
        assert entry["length"] in ("bald", "short", "medium", "long")
        assert entry["texture"] in ("straight", "wavy", "curly", "coily")
        assert {"name", "volume", "parting", "curl"} <= set(entry)
    assert {"thin", "medium", "thick", "straight", "arched", "bushy"} <= set(CAT["eyebrows"])
    assert {"none", "stubble", "mustache", "goatee", "short_boxed", "short_full", "long_full",
            "chin_strap"} <= set(CAT["beard"])
    assert {"none", "round", "rectangular", "browline", "aviator", "cat_eye", "rimless"} <= set(CAT["glasses"])
    # the fitting and the artist need every length class, and short and longer hair in
    # every texture
    classes = {(e["length"], e["texture"]) for e in hair.values()}
    assert {c for c, _ in classes} == {"bald", "short", "medium", "long"}
    for texture in ("straight", "wavy", "curly", "coily"):
        assert {c for c, t in classes if t == texture} - {"short"}, texture
    assert {t for c, t in classes if c == "short"} >= {"straight", "curly", "coily"}


def test_every_catalogue_entry_has_geometry_and_a_thumbnail():
    lib = load_library()
    root = RIGS_DIR.parent
    for kind, entries in CAT.items():
        if kind == "schema":
            continue
        for aid, entry in entries.items():
            if aid not in ("none", "bald"):
                assert f"{kind}/{aid}" in lib
            assert (root / entry["thumbnail"]).exists(), entry["thumbnail"]


def test_rebuild_matches_committed_library():
    assets, cat = build_assets.build_library()
    fresh = build_assets.to_arrays(assets)
    with np.load(ASSETS_PATH, allow_pickle=False) as z:
        assert sorted(z.files) == sorted(fresh)
        for k in z.files:
            if z[k].dtype.kind == "f":
                np.testing.assert_allclose(z[k], fresh[k], atol=1e-9, err_msg=k)
            else:
                assert (z[k] == fresh[k]).all(), k
    assert json.loads(ASSET_CATALOGUE_PATH.read_text()) == json.loads(json.dumps(cat))


def test_assets_stay_outside_the_head_across_shape_extremes(rig):
    """Default shape and every slider at both ends: no asset dips more than 1 mm into the
    skin, and none touches an ear."""
    report = check_assets(rig, load_library(), extreme_shapes(), tolerance=0.001)
    worst = report[0]
    assert worst.depth_mm < 1.0, worst


def test_hair_stays_outside_across_random_shapes_and_styles(rig):
    """Every hairstyle on heads with all sliders drawn at random over their ranges, and
    with the chibi, caricature and cartoon deformations (strength 1) on the default and a
    random head, combined as the Blender avatar combines its keys: no dip over 1 mm, no
    ear touched."""
    from inference.avatar import default_avatar
    from inference.styles import stylize
    from rigs.catalogue import target_weights
    shapes = dict(random_shapes(6, seed=3))
    for style in ("chibi", "caricature", "cartoon"):
        for base, sliders in (("default", {}), ("random0", shapes["random0"])):
            av = default_avatar()
            av.shape.update(sliders)
            av.style = {"name": style, "strength": 1.0}
            shapes[f"{style}+{base}"] = (sliders, stylize(av, rig.deformed(target_weights(sliders))).all, 1.0)
    hair = {k: a for k, a in load_library().items() if k.startswith("hair/")}
    worst = check_assets(rig, hair, shapes, tolerance=0.001)[0]
    assert worst.depth_mm < 1.0, worst


def test_the_check_catches_a_planted_intersection(rig):
    """Fault injection: the same eyebrows pushed 3 mm under the skin must be reported."""
    brow = load_library()["eyebrows/medium"]
    sunk = AssetData("eyebrows/sunk", Attachment(brow.att.anchor, brow.att.weight, brow.att.height - 0.004,
                                                 brow.att.offset), brow.loop_start, brow.loop_vert,
                     brow.poly_material, brow.materials, brow.rigid, brow.expressions)
    (hit,) = check_assets(rig, {"eyebrows/sunk": sunk}, {"default": {}})
    assert hit.depth_mm > 2.0 and hit.count > 10


# ---- in Blender ---------------------------------------------------------------------------
bpy = pytest.importorskip("bpy")

from blender_addon.avatar_build import build_avatar, evaluated_vertices, update_avatar  # noqa: E402
from blender_addon.export import export_glb  # noqa: E402
from inference.avatar import default_avatar, hex_to_rgb  # noqa: E402


def _with(**assets):
    av = default_avatar()
    av.assets.update(assets)
    return av


def _pose(objs, bone, degrees):
    import math
    pb = objs.armature.pose.bones[bone]
    pb.rotation_mode = "XYZ"
    pb.rotation_euler = (math.radians(degrees), 0.0, 0.0)
    bpy.context.view_layer.update()


@pytest.mark.parametrize("kind", ["hair", "eyebrows", "beard", "glasses"])
def test_every_asset_builds_and_binds(scene, kind):
    objs = build_avatar(default_avatar(), scene)
    n_meshes = len(bpy.data.meshes)
    for aid in CAT[kind]:
        update_avatar(objs, _with(**{kind: aid}))
        obj = objs.assets.get(kind)
        if aid in ("none", "bald"):
            assert obj is None
            continue
        assert obj["photo2avatar_asset"] == f"{kind}/{aid}"
        assert obj.parent == objs.armature and obj.modifiers["Armature"].object == objs.armature
        assert len(obj.vertex_groups) >= 1 and obj.data.shape_keys is not None
        assert len(obj.data.materials) >= 1
        if kind in ("hair", "beard"):
            # strand coordinates (root v=0 -> tip v=1) reach Blender as the UV map
            uv = np.empty(2 * len(obj.data.loops), np.float32)
            obj.data.uv_layers["UVMap"].data.foreach_get("uv", uv)
            assert 0.0 <= uv[1::2].min() < 0.5 and uv[1::2].max() > 0.9, aid
    # swapping never leaks meshes: one asset mesh replaced by another
    assert len(bpy.data.meshes) <= n_meshes + 1


def test_hair_and_glasses_follow_the_head_beard_follows_the_jaw(scene):
    objs = build_avatar(_with(hair="bob", beard="short_full", glasses="round"), scene)
    rest = {k: evaluated_vertices(o) for k, o in objs.assets.items()}
    _pose(objs, "jaw", 18)
    moved = {k: np.linalg.norm(evaluated_vertices(o) - rest[k], axis=1) for k, o in objs.assets.items()}
    assert moved["beard"].max() > 0.01, "the beard opens with the jaw"
    assert moved["hair"].max() < 1e-6 and moved["glasses"].max() < 1e-6
    _pose(objs, "jaw", 0)
    _pose(objs, "head", 20)
    rng = np.random.default_rng(0)
    for k, o in objs.assets.items():
        turned = evaluated_vertices(o)
        assert np.median(np.linalg.norm(turned - rest[k], axis=1)) > 5e-3, f"{k} turns with the head"
        if k in ("hair", "glasses"):   # rigidly: every distance within the asset is kept
            i, j = rng.integers(0, len(turned), (2, 500))
            before = np.linalg.norm(rest[k][i] - rest[k][j], axis=1)
            after = np.linalg.norm(turned[i] - turned[j], axis=1)
            assert np.abs(after - before).max() < 1e-5, f"{k} bends as the head turns"


def test_assets_follow_shape_changes(scene):
    objs = build_avatar(_with(hair="shoulder_straight", glasses="rectangular"), scene)
    before = {k: evaluated_vertices(o) for k, o in objs.assets.items()}
    av = _with(hair="shoulder_straight", glasses="rectangular")
    av.shape["head_width"] = 1.0
    update_avatar(objs, av)
    bpy.context.view_layer.update()
    for k, o in objs.assets.items():
        after = evaluated_vertices(o)
        wider = np.ptp(after[:, 0]) - np.ptp(before[k][:, 0])
        assert wider > 0.005, f"{k} widens with the head ({wider * 1000:.1f} mm)"


def test_asset_colours_come_from_the_avatar(scene):
    av = _with(beard="goatee")
    av.colors["hair"] = "#a0522d"
    av.colors["eyebrows"] = "#222222"
    objs = build_avatar(av, scene)
    lin = lambda h: [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in hex_to_rgb(h)]  # noqa: E731
    for kind, key in (("hair", "hair"), ("beard", "hair"), ("eyebrows", "eyebrows")):
        mat = objs.assets[kind].data.materials[0]
        np.testing.assert_allclose(mat.diffuse_color[:3], lin(av.colors[key]), atol=1e-4)
    av.colors["hair"] = "#f0e68c"
    update_avatar(objs, av)
    np.testing.assert_allclose(objs.assets["hair"].data.materials[0].diffuse_color[:3], lin("#f0e68c"), atol=1e-4)


def test_glb_keeps_assets_with_their_shape_keys(scene, tmp_path):
    objs = build_avatar(_with(hair="afro", beard="goatee", glasses="aviator"), scene)
    keys = {k: {kb.name for kb in o.data.shape_keys.key_blocks} - {"Basis"} for k, o in objs.assets.items()}
    path = export_glb(objs, tmp_path / "a.glb")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(path))
    imported = {o.name: o for o in bpy.data.objects if o.type == "MESH"}
    for kind in ("hair", "beard", "glasses"):
        o = imported[f"Avatar_{kind}"]
        got = {kb.name for kb in o.data.shape_keys.key_blocks}
        assert keys[kind] <= got
    assert "jawOpen" in keys["beard"] and "jawOpen" not in keys["hair"]


def test_tall_hair_is_framed_whole(scene, tmp_path):
    """An afro rises above the standard frame: the render widens the frame so the top row
    of the image is still backdrop, while a short cut keeps the standard framing."""
    from PIL import Image

    from blender_addon.render import FRAME_HEIGHT, face_centre, fitted_frame_height, render_avatar
    objs = build_avatar(_with(hair="crop"), scene)
    assert fitted_frame_height(objs, face_centre(objs)) == FRAME_HEIGHT
    update_avatar(objs, _with(hair="afro"))
    assert fitted_frame_height(objs, face_centre(objs)) > FRAME_HEIGHT
    (png,) = render_avatar(objs, tmp_path / "afro.png", size=96, background="#ffffff")
    top = np.asarray(Image.open(png).convert("RGB"))[0].astype(int)
    assert (top.min(axis=1) > 240).all(), "the hair reaches the top edge"
