"""Photo -> avatar: the loader's input handling, the fit, the CLI's bad-input contract,
and a real generate on a shared photo."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.errors import FaceError, InputError
from inference.photo_io import MAX_SIDE, load_photo

PHOTOS = Path(__file__).resolve().parents[1] / "samples" / "photos"
FACE = PHOTOS / "person_10.jpg"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "blender_addon.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


# ---- loading --------------------------------------------------------------------------
def test_loader_normalises_modes(tmp_path):
    src = Image.open(FACE)
    variants = {
        "rgba.png": src.convert("RGBA"),
        "gray.png": src.convert("L"),
        "cmyk.jpg": src.convert("CMYK"),
        "p16.png": Image.fromarray((np.asarray(src.convert("L"), np.uint16) * 257)),
        "palette.png": src.convert("P"),
    }
    for name, im in variants.items():
        im.save(tmp_path / name)
        photo = load_photo(tmp_path / name)
        assert photo.rgb.dtype == np.uint8 and photo.rgb.shape == (src.height, src.width, 3), name
        assert 20 < photo.rgb.mean() < 235, name


def test_exif_orientation_is_applied(tmp_path):
    src = Image.open(FACE)
    exif = Image.Exif()
    exif[0x0112] = 6     # "rotate 90 CW to display"
    src.rotate(90, expand=True).save(tmp_path / "rot.jpg", exif=exif)
    photo = load_photo(tmp_path / "rot.jpg")
    assert photo.rgb.shape[:2] == (src.height, src.width)


def test_huge_image_is_downscaled_while_decoding(tmp_path):
    big = Image.open(FACE).resize((12000, 9000))
    big.save(tmp_path / "huge.jpg", quality=70)
    del big
    photo = load_photo(tmp_path / "huge.jpg")
    assert max(photo.rgb.shape[:2]) <= MAX_SIDE
    assert photo.original_size == (12000, 9000)


@pytest.mark.parametrize("make, words", [
    (lambda p: p, "no such file"),
    (lambda p: (p.mkdir(), p)[1], "is a directory"),
    (lambda p: (p.write_bytes(FACE.read_bytes()[:3000]), p)[1], "damaged or truncated"),
    (lambda p: (p.write_text("hello, not an image"), p)[1], "not an image"),
    (lambda p: (Image.new("RGB", (40, 30), "gray").save(p, "PNG"), p)[1], "at least 64"),
    (lambda p: (p.write_bytes(b""), p)[1], "empty"),
])
def test_loader_rejects_bad_files(tmp_path, make, words):
    path = make(tmp_path / "input.jpg")
    with pytest.raises(InputError, match=words):
        load_photo(path)


# ---- faces ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def backend():
    from inference.pipeline import Backend
    b = Backend()
    yield b
    b.close()


def _landscape(path):
    y, x = np.mgrid[0:480, 0:640]
    img = np.zeros((480, 640, 3), np.uint8)
    img[..., 2] = 200 - y // 4
    img[..., 1] = 120 + (y > 300 + 30 * np.sin(x / 40)) * 60
    img[..., 0] = 90
    Image.fromarray(img).save(path)


def test_face_errors(tmp_path, backend):
    _landscape(tmp_path / "landscape.png")
    with pytest.raises(FaceError, match="no face"):
        backend.analyze(tmp_path / "landscape.png")
    small = Image.new("RGB", (1600, 1200), (120, 130, 140))
    small.paste(Image.open(FACE).resize((40, 49)), (800, 600))
    small.save(tmp_path / "small.png")
    with pytest.raises(FaceError):
        backend.analyze(tmp_path / "small.png")
    src = Image.open(FACE)
    src.crop((0, 0, src.width, int(src.height * 0.42))).save(tmp_path / "cut.png")
    with pytest.raises(FaceError):
        backend.analyze(tmp_path / "cut.png")


def test_several_faces_use_the_largest_and_warn(tmp_path, backend):
    a, b = Image.open(PHOTOS / "person_02.jpg"), Image.open(PHOTOS / "person_07.jpg").resize((200, 245))
    canvas = Image.new("RGB", (a.width + 220, a.height), (200, 200, 200))
    canvas.paste(a, (0, 0))
    canvas.paste(b, (a.width + 10, 60))
    canvas.save(tmp_path / "two.png")
    analysis = backend.analyze(tmp_path / "two.png")
    assert analysis.report["faces_found"] == 2
    assert any("largest" in w for w in analysis.report["warnings"])
    lm = np.array(analysis.report["landmarks_px"])
    assert lm[:, 0].max() < a.width      # the larger face, on the left


def test_smiling_photo_gives_a_neutral_avatar(backend):
    analysis = backend.analyze(PHOTOS / "person_06.jpg")     # a broad smile
    removed = analysis.report["expression_removed"]
    assert removed.get("mouthSmileLeft", 0) > 0.2
    assert analysis.avatar.expression == {}


@pytest.mark.parametrize("through", ["rig", "reading"])
def test_fit_recovers_a_known_shape(through):
    """Synthetic round trip: landmarks of a shaped head under a known pose -> the fit finds
    the pose and moves the sliders toward the truth. ``rig``: the rig's own points and
    the registration; ``reading``: the points MediaPipe is predicted to read on the
    render, and the likeness fit."""
    from inference.fit import M_RIG_TO_CAM, fit_landmarks, landmark_model, landmark_reading, register_landmarks
    from scipy.spatial.transform import Rotation
    m = landmark_model()
    # sliders MediaPipe reads well on renders (it barely sees a toon nose's width)
    truth = {"nose_length+": 0.8, "mouth_width-": 0.6, "eye_spacing+": 0.7}
    c = np.zeros(len(m.names))
    for k, v in truth.items():
        c[m.names.index(k)] = v
    if through == "rig":
        x0, basis, fit_fn = m.x0, m.basis, register_landmarks
    else:
        rd = landmark_reading()
        x0, basis, fit_fn = rd.reading_x0({"hair": "bob"}), rd.read_basis, \
            lambda p: fit_landmarks(p, assets={"hair": "bob"})
    x = (x0 + np.tensordot(c, basis, axes=1)) @ M_RIG_TO_CAM.T
    r = Rotation.from_euler("yxz", [8, -5, 3], degrees=True).as_matrix()
    pts = 2500.0 * x @ r.T + np.array([300.0, 350.0, 0.0])
    fit = fit_fn(pts)
    assert fit.residual_norm < 0.01
    for k, v in truth.items():         # the prior shrinks, but at most to 40% of the truth
        value = fit.shape[k[:-1]] * (1 if k.endswith("+") else -1)
        assert value > 0.4 * v, (k, fit.shape[k[:-1]])
    assert fit.yaw_pitch_roll[0] > 4 and fit.yaw_pitch_roll[1] < -2


def _through_reading(values: dict) -> np.ndarray:
    """MediaPipe-like points (pixels) of what the reading model predicts for ``values``."""
    from inference.fit import M_RIG_TO_CAM, landmark_model, landmark_reading
    m, rd = landmark_model(), landmark_reading()
    c = np.zeros(len(m.names))
    for k, v in values.items():
        c[m.names.index(k)] = v
    x = (rd.reading_x0({}) + np.tensordot(c, rd.read_basis, axes=1)) @ M_RIG_TO_CAM.T
    return 2500.0 * x + np.array([300.0, 350.0, 0.0])


def test_a_smile_is_explained_as_expression_not_identity():
    """Expression normalization inside the model: a smile made with the rig's own units
    goes to the (removed) expression, not to the mouth sliders the avatar keeps
    (measured: 0.70 smile, mouth corners 0.05; at the registration's prior 0.36 and 0.59)."""
    from inference.fit import fit_landmarks
    fit = fit_landmarks(_through_reading({"expr:mouthSmile": 0.8, "expr:cheekSquint": 0.4}))
    assert fit.expression["mouthSmileLeft"] > 0.6 and fit.expression["mouthSmileRight"] > 0.6
    assert abs(fit.shape["mouth_corners"]) < 0.2 and abs(fit.shape["mouth_width"]) < 0.2


@pytest.mark.parametrize("trait", [{"mouth_width+": 0.6, "mouth_corners+": 0.5}, {"eye_size-": 0.7},
                                   {"lower_lip+": 0.7, "upper_lip+": 0.6}, {"mouth_height-": 0.7}])
def test_identity_traits_do_not_turn_into_expressions(trait):
    """The converse: a neutral face with a wide, upturned mouth, small eyes, full lips or a
    low mouth keeps those as identity and shows no expression to remove."""
    from inference.fit import fit_landmarks
    fit = fit_landmarks(_through_reading(trait))
    assert max(fit.expression.values()) < 0.1, {k: v for k, v in fit.expression.items() if v >= 0.1}
    for k, v in trait.items():       # kept as identity (MediaPipe reads lips weakly: >= 0.08)
        assert fit.shape[k[:-1]] * (1 if k.endswith("+") else -1) > 0.05, (k, fit.shape[k[:-1]])


# ---- the CLI contract -------------------------------------------------------------------
@pytest.mark.parametrize("setup, code, words", [
    (lambda d: d / "missing.jpg", 4, "no such file"),
    (lambda d: d, 4, "is a directory"),
    (lambda d: (d / "t.jpg").write_bytes(FACE.read_bytes()[:2500]) and d / "t.jpg", 4, "truncated"),
    (lambda d: (d / "n.jpg").write_text("not a photo") and d / "n.jpg", 4, "not an image"),
    (lambda d: (_landscape(d / "l.png"), d / "l.png")[1], 7, "no face"),
])
def test_generate_bad_input_one_line_distinct_code_no_output(tmp_path, setup, code, words):
    src = setup(tmp_path)
    out = tmp_path / "bundle"
    r = _cli("generate", src, "-o", out, "-q")
    assert r.returncode == code, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]


def test_generate_writes_a_complete_bundle_and_keeps_it_without_force(tmp_path):
    out = tmp_path / "bundle"
    r = _cli("generate", FACE, "-o", out, "-q", "--size", "256")
    assert r.returncode == 0, r.stderr
    assert {"avatar.json", "render.png", "report.json", "deformation.npy"} <= {p.name for p in out.iterdir()}
    av = json.loads((out / "avatar.json").read_text())
    assert av["schema"] == "photo2avatar/avatar@1" and av["expression"] == {}
    report = json.loads((out / "report.json").read_text())
    for stage in ("load", "perceive", "fit", "colors", "hair", "assets", "likeness", "render",
                  "backend_startup", "process_start"):
        assert stage in report["timings_s"], stage
    # where a cold run's time goes: Python's start and imports come before every stage
    assert 0.1 < report["timings_s"]["process_start"] < 60
    assert report["hair_region"]["length"] == "short"          # person_10: short black hair
    assert len(report["landmarks_px"]) == 478
    assert Image.open(out / "render.png").size == (256, 256)
    before = (out / "avatar.json").read_bytes()
    r2 = _cli("generate", PHOTOS / "person_02.jpg", "-o", out, "-q")
    assert r2.returncode == 5 and (out / "avatar.json").read_bytes() == before


def test_profile_beyond_the_fit_is_refused(tmp_path):
    """A render of the avatar turned 70 degrees: MediaPipe may still find it, the fit must refuse."""
    pytest.importorskip("bpy")
    import bpy
    from blender_addon.avatar_build import build_avatar
    from blender_addon.render import render_avatar
    from inference.avatar import default_avatar
    bpy.ops.wm.read_factory_settings(use_empty=True)
    objs = build_avatar(default_avatar())
    (png,) = render_avatar(objs, tmp_path / "profile.png", size=512, angles=(70, 0))
    r = _cli("generate", png, "-o", tmp_path / "b", "-q")
    assert r.returncode == 7 and "Traceback" not in r.stderr
    assert not (tmp_path / "b").exists()


def test_perceiver_keeps_mediapipe_quiet():
    """The Python API prints nothing of MediaPipe's native log, also from the Pose graph's
    worker threads, which open their models after the constructor returns."""
    code = ("import time; from inference.perception import Perceiver; from inference.photo_io import load_photo; "
            f"p = Perceiver(); time.sleep(0.5); p.observe(load_photo(r'{PHOTOS / 'person_03.jpg'}').rgb); "
            "time.sleep(0.5); p.close()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "W0000" not in run.stderr and "XNNPACK" not in run.stderr, run.stderr
