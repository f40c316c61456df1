"""The learned reading of renders (``rigs/data/landmark_reading.npz``): it predicts where
MediaPipe finds the landmarks on an avatar's render better than the rig's own points do,
and the likeness fit built on it reads a front render as a front, neutral head."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from PIL import Image  # noqa: E402

from blender_addon.avatar_build import build_avatar, update_avatar  # noqa: E402
from blender_addon.render import render_avatar  # noqa: E402
from inference.avatar import default_avatar  # noqa: E402
from inference.fit import (M_RIG_TO_CAM, fit_landmarks, landmark_model, landmark_reading, pose_2d,  # noqa: E402
                           register_landmarks)
from inference.landmarks import LandmarkDetector  # noqa: E402
from training.reading_model import sample_avatars  # noqa: E402


@pytest.fixture(scope="module")
def detector():
    with LandmarkDetector(max_faces=1) as d:
        yield d


def _read(objs, detector, path, angles=(0.0, 0.0)) -> np.ndarray:
    render_avatar(objs, path, size=512, angles=angles)
    faces = detector.detect(np.asarray(Image.open(path).convert("RGB")))
    assert faces, "MediaPipe found no face on the render"
    return faces[0].points


def _error(points_rig: np.ndarray, reading: np.ndarray) -> float:
    """Mean image distance after the best 2D pose, over the fitted landmarks, / eye distance."""
    m = landmark_model()
    keep = m.weights > 0
    cam = points_rig @ M_RIG_TO_CAM.T
    s, r, t = pose_2d(cam[keep], reading[keep], m.weights[keep])
    pred = (s * cam @ r.T + t)[:, :2]
    iod = np.linalg.norm(reading[33, :2] - reading[263, :2])
    return float(np.linalg.norm(pred[keep] - reading[keep, :2], axis=1).mean() / iod)


def test_reading_predicts_mediapipe_on_unseen_renders(scene, detector, tmp_path):
    """Avatars from another seed than training: the learned reading is closer to what
    MediaPipe finds than the rig's landmark points (held-out at training: 0.017 vs 0.032;
    here 0.015-0.031 vs 0.035-0.061)."""
    m, rd = landmark_model(), landmark_reading()
    samples = sample_avatars(4, seed=1234)
    objs = build_avatar(samples[0][0])
    rig_err, read_err = [], []
    for av, v, yaw, pitch in samples:
        update_avatar(objs, av)
        reading = _read(objs, detector, tmp_path / "r.png", (yaw, pitch))
        rig_pts = m.x0 + np.tensordot(v, m.basis[:m.n_shape], axes=1)
        predicted = rd.reading_x0(av.assets) + np.tensordot(v, rd.read_basis[:m.n_shape], axes=1)
        rig_err.append(_error(rig_pts, reading))
        read_err.append(_error(predicted, reading))
    assert np.mean(read_err) < 0.8 * np.mean(rig_err), (read_err, rig_err)


def test_front_render_of_the_default_reads_front_and_neutral(scene, detector, tmp_path):
    """MediaPipe's depth template tilts a 3D registration by ~6 degrees on the rig's own
    front render; the likeness fit (image plane, learned reading) sees it as it was shot."""
    av = default_avatar()
    objs = build_avatar(av)
    reading = _read(objs, detector, tmp_path / "front.png")
    fit = fit_landmarks(reading, assets=av.assets)
    yaw, pitch, _ = fit.yaw_pitch_roll
    assert abs(yaw) < 2.5 and abs(pitch) < 2.5, fit.yaw_pitch_roll
    reg = register_landmarks(reading)
    rms = lambda f: float(np.sqrt(np.mean(np.square(list(f.shape.values())))))  # noqa: E731
    # measured: 0.157 (likeness) vs 0.193 (registration); 0.11 before the strand-shaded hair
    # library changed how MediaPipe reads the default's hairline (a regression, see README)
    assert rms(fit) < 0.18 and rms(fit) < 0.85 * rms(reg), (rms(fit), rms(reg))
    assert abs(pitch) < abs(reg.yaw_pitch_roll[1])


def test_training_script_writes_a_loadable_reading(tmp_path):
    out = tmp_path / "reading.npz"
    r = subprocess.run([sys.executable, "-m", "training.reading_model", "-n", "10", "--seed", "7",
                        "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    m = landmark_model()
    with np.load(out, allow_pickle=False) as z:
        assert z["offset"].shape == (478, 3)
        assert z["basis_delta"].shape == (m.n_shape, 478, 3)
        assert tuple(z["variables"]) == m.names[:m.n_shape]
        assert np.isfinite(z["basis_delta"]).all() and len(z["asset_id"]) == len(z["asset_offset"])
        assert set(z["asset_kind"]) == {"hair", "eyebrows", "beard", "glasses"}


@pytest.mark.parametrize("name", ["person_07", "person_11"])
def test_fitted_avatar_reads_closer_to_the_photo_than_the_default(scene, detector, tmp_path, name):
    """End to end on real photos, as the eval measures it: MediaPipe on the avatar rendered
    at the photo's pose lands nearer the photo's landmarks than on the default head
    (measured NME 0.021 vs 0.033 and 0.022 vs 0.041)."""
    from pathlib import Path

    from inference.evaluate import front_pose_offset, landmark_nme, posed_angles
    from inference.photo_io import load_photo
    from inference.pipeline import Backend

    backend = Backend()
    photo = load_photo(Path(__file__).resolve().parents[1] / "samples" / "photos" / f"{name}.jpg")
    analysis = backend.analyze(photo)
    photo_lm = detector.detect(photo.rgb)[0].points
    default = default_avatar()
    objs = build_avatar(default)
    angles = posed_angles(analysis.report["pose_deg"], front_pose_offset(_read(objs, detector, tmp_path / "front.png")))
    nme_default = landmark_nme(_read(objs, detector, tmp_path / "d.png", angles), photo_lm)
    update_avatar(objs, analysis.avatar)
    nme_fitted = landmark_nme(_read(objs, detector, tmp_path / "a.png", angles), photo_lm)
    assert nme_fitted < 0.85 * nme_default, (nme_fitted, nme_default)
    backend.close()
