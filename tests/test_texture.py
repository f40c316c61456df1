"""Head textures: projection geometry, palette transfer, determinism, errors, the bundle."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.errors import UserError
from inference.texture import (Texture, palette_from_image, project_photo, rasterize, reproject,
                               stylize_texture, texture_plan)

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "samples" / "photos"


def test_rasterize_covers_a_triangle_and_keeps_the_nearest():
    tri = np.array([[[0.0, 0.0], [40.0, 0.0], [0.0, 40.0]], [[0.0, 0.0], [40.0, 0.0], [0.0, 40.0]]])
    tid, bary = rasterize(tri, (50, 50), depth=np.array([[5.0] * 3, [1.0] * 3]))
    assert abs((tid >= 0).sum() - 800) < 45              # area 800 px, edge pixels either way
    assert set(np.unique(tid[tid >= 0])) == {1}            # the nearer triangle wins everywhere
    np.testing.assert_allclose(bary[tid >= 0].sum(-1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def observed():
    from inference.fit import register_landmarks
    from inference.perception import Perceiver
    from inference.photo_io import load_photo
    perceiver = Perceiver()
    out = {}
    for name in ("person_01", "person_02", "person_07"):
        photo = load_photo(PHOTOS / f"{name}.jpg")
        obs = perceiver.observe(photo.rgb)
        out[name] = (photo, obs, register_landmarks(obs.landmarks))
    perceiver.close()
    return out


def _psnr(a, b):
    mse = ((a.astype(float) - b.astype(float)) ** 2).mean()
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-9))


@pytest.mark.parametrize("name", ["person_01", "person_02", "person_07"])
def test_the_projected_texture_renders_back_to_the_photo(observed, name):
    """Before any stylization, the head textured with the projection and seen through the
    photo's fitted camera reproduces the photo where the photo saw the surface squarely.
    Bound: 25 dB. The face island of MakeHuman's UV map spans ~300 texels at 1024^2, so a
    larger face is downsampled, and the round trip resamples twice (bilinear); measured
    29.6-35.8 dB on these photos. A wrong camera, a flipped UV map or broken visibility
    lands below 21 dB (checked with the flipped texture)."""
    from inference.colors import polygon_mask
    from inference.landmarks import landmark_sets
    photo, obs, fit = observed[name]
    tex = project_photo(photo.rgb, fit, fit.shape, "#c09080", remove_shading=False)
    img, mask = reproject(tex.rgb, fit, fit.shape, photo.rgb.shape[:2])
    seen, _ = reproject((np.repeat(tex.weight[..., None], 3, -1) * 255).astype(np.uint8), fit, fit.shape,
                        photo.rgb.shape[:2])
    sets = landmark_sets()
    face = polygon_mask(photo.rgb.shape[:2], obs.landmarks[sets["face_oval"], :2])
    below_brows = np.arange(photo.rgb.shape[0])[:, None] > obs.landmarks[sets["left_eyebrow"], 1].max()
    sel = face & mask & below_brows & (seen[..., 0] > 230)
    assert sel.sum() > 3000
    assert _psnr(img[sel], photo.rgb[sel]) > 25.0
    flipped, _ = reproject(np.ascontiguousarray(tex.rgb[::-1]), fit, fit.shape, photo.rgb.shape[:2])
    assert _psnr(flipped[sel], photo.rgb[sel]) < 21.0


def test_texture_is_deterministic_and_fills_what_the_photo_cannot_see(observed):
    photo, obs, fit = observed["person_02"]
    a = project_photo(photo.rgb, fit, fit.shape, "#c09080")
    b = project_photo(photo.rgb, fit, fit.shape, "#c09080")
    assert np.array_equal(a.rgb, b.rgb)
    assert a.rgb.shape == (1024, 1024, 3) and a.mask.mean() > 0.15
    unseen = a.mask & (a.weight == 0)
    assert unseen.any()                                      # the back of the head ...
    fill = a.rgb[unseen].astype(int)
    assert np.abs(fill - fill[0]).max() <= 2                # ... takes one colour: the seen skin's median
    seen = a.rgb[(a.weight > 0.8) & a.mask].astype(int)
    assert np.abs(np.median(seen, axis=0) - fill[0]).max() <= 3
    pal = np.array([[0.1, 0.05, 0.05], [0.8, 0.6, 0.5], [0.95, 0.85, 0.75], [0.5, 0.3, 0.25]])
    s1 = stylize_texture(a, pal, "#c09080", seed=3)
    s2 = stylize_texture(a, pal, "#c09080", seed=3)
    assert np.array_equal(s1, s2)


def test_fast_stylized_colours_lie_in_the_palette(observed):
    photo, obs, fit = observed["person_07"]
    tex = project_photo(photo.rgb, fit, fit.shape, "#a07060")
    from PIL import Image
    palette = palette_from_image(np.asarray(Image.open(ROOT / "samples" / "styles" / "style_04.jpg").convert("RGB")))
    assert palette.shape == (20, 3)
    out = stylize_texture(tex, palette, "#a07060", strength=1.0)
    used = np.unique(out[tex.mask].reshape(-1, 3), axis=0).astype(int)
    pal8 = np.round(palette * 255).astype(int)
    dist = np.abs(used[:, None, :] - pal8[None]).max(-1).min(1)
    assert dist.max() <= 2                                   # every texel is a palette colour
    assert 2 <= len(used) <= 5
    half = stylize_texture(tex, palette, "#a07060", strength=0.0)
    assert np.array_equal(half[tex.mask], tex.rgb[tex.mask])  # strength 0 keeps the projection


def test_bad_palettes_modes_and_strengths_fail_clearly(observed):
    tex = Texture(np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64), np.float32), np.ones((64, 64), bool))
    with pytest.raises(UserError, match="at least two"):
        stylize_texture(tex, np.zeros((1, 3)), "#808080")
    with pytest.raises(UserError, match="outside"):
        stylize_texture(tex, np.zeros((4, 3)), "#808080", strength=3.0)
    with pytest.raises(UserError, match="too few pixels"):
        palette_from_image(np.zeros((3, 3, 3), np.uint8))
    from inference.styles import load_style
    with pytest.raises(UserError, match="unknown texture mode"):
        texture_plan("glossy", load_style("identity"))
    assert texture_plan("auto", load_style("identity"))[0] is False         # identity: flat colours
    assert texture_plan("photo", load_style("identity"))[:2] == (True, None)
    assert texture_plan("auto", load_style("cartoon"))[1] is not None       # presets: their palette


bpy = pytest.importorskip("bpy")


def test_bundle_carries_the_texture_and_the_skin_material_uses_it(tmp_path, scene):
    run = subprocess.run([sys.executable, "-m", "blender_addon.cli", "generate", PHOTOS / "person_05.jpg",
                          "-o", tmp_path / "b", "--style", "cartoon", "--blend", "-q"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    from PIL import Image
    tex = np.asarray(Image.open(tmp_path / "b" / "texture.png"))
    assert tex.shape == (1024, 1024, 3)
    assert json.loads((tmp_path / "b" / "report.json").read_text())["texture"]["mode"] == "fast"
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "b" / "avatar.blend"))
    head = next(o for o in bpy.data.objects if o.get("photo2avatar_part") == "head")
    skin = next(m for m in head.data.materials if m.get("photo2avatar_slot") == "skin")
    node = skin.node_tree.nodes["texture:skin"]
    assert node.image is not None and node.image.packed_file is not None and tuple(node.image.size) == (1024, 1024)
    run = subprocess.run([sys.executable, "-m", "blender_addon.cli", "generate", PHOTOS / "person_05.jpg",
                          "-o", tmp_path / "n", "--texture", "none", "-q"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and not (tmp_path / "n" / "texture.png").exists()


def test_exemplar_texture_optimisation_is_deterministic_and_moves_toward_the_style(observed):
    from inference.texture_exemplar import stylize_exemplar
    from rigs.catalogue import target_weights
    from rigs.rig_asset import load_rig
    photo, obs, fit = observed["person_02"]
    tex = project_photo(photo.rgb, fit, fit.shape, "#a07060", size=256)
    verts = load_rig().deformed(target_weights(fit.shape))
    style = np.zeros((96, 96, 3), np.uint8)
    style[..., 1] = 200                                      # a flat green "painting"
    kw = dict(iterations=30, seed=1, opt_size=128, view_size=64)
    a = stylize_exemplar(tex.rgb, verts, style, **kw)
    b = stylize_exemplar(tex.rgb, verts, style, **kw)
    assert np.array_equal(a, b)
    seen = tex.mask & (tex.weight > 0.5)
    green = lambda img: (img[seen][:, 1].astype(float) - img[seen][:, [0, 2]].mean(1)).mean()  # noqa: E731
    assert green(a) > green(tex.rgb) + 2                     # the visible skin turned greener
    with pytest.raises(UserError, match="at least 32x32"):
        stylize_exemplar(tex.rgb, verts, np.zeros((8, 8, 3), np.uint8), **kw)


def test_rerendering_a_bundle_keeps_its_texture(tmp_path):
    run = subprocess.run([sys.executable, "-m", "blender_addon.cli", "generate", PHOTOS / "person_04.jpg",
                          "-o", tmp_path / "b", "--style", "chibi", "-q"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    from PIL import Image
    cli = [sys.executable, "-m", "blender_addon.cli", "render", tmp_path / "b" / "avatar.json"]
    with_tex = subprocess.run([*cli, "-o", tmp_path / "a.png"], capture_output=True, text=True, timeout=300)
    without = subprocess.run([*cli, "-o", tmp_path / "n.png", "--texture-file", "none"], capture_output=True,
                             text=True, timeout=300)
    assert with_tex.returncode == 0 and without.returncode == 0, with_tex.stderr + without.stderr
    a, n, b = (np.asarray(Image.open(p).convert("RGB")).astype(int)
               for p in (tmp_path / "a.png", tmp_path / "n.png", tmp_path / "b" / "render.png"))
    assert np.abs(a - b).mean() < np.abs(n - b).mean()      # the bundle's look comes back with its texture
    bad = subprocess.run([*cli, "-o", tmp_path / "x.png", "--texture-file", tmp_path / "missing.png"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 4 and "no such texture file" in bad.stderr
