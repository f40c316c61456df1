"""Batch runs as a pipeline TD meets them: counts, resume, kills, odd names, exports, Ray."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.batch_plan import BatchSettings, find_photos, job_key, safe_name, unique_names
from inference.bundle_io import recover_interrupted, write_bundle_files

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "photos"


# -- planning (no bpy) --

@pytest.mark.parametrize("rel", ["../../etc/passwd.jpg", "a/../../b.jpg", "..jpg", "/abs/x.png",
                                 "con:x?.jpg", ".hidden.png", "a b\tc\n.jpg", "\u202eevil.jpg"])
def test_safe_names_stay_inside_the_output_folder(rel, tmp_path):
    name = safe_name(rel)
    assert name and not name.startswith(".") and "/" not in name and "\\" not in name
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_unicode_names_survive_and_collisions_get_distinct_names():
    assert safe_name("Zoë Ångström.jpg") == "Zoë_Ångström"
    assert safe_name("日本/写真.png") == "日本__写真"
    names = unique_names(["a.jpg", "a.png", "A.jpg", "b.jpg"])
    assert len({n.casefold() for n in names.values()}) == 4
    assert names["b.jpg"] == "b"


def test_find_photos_recurses_skips_hidden_other_files_and_the_output(tmp_path):
    for rel in ["x.jpg", "sub/y.PNG", ".hidden.jpg", "notes.txt", "out/avatars/z/thumb.jpg", ".git/w.jpg"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert [e.rel for e in find_photos(tmp_path, exclude=tmp_path / "out")] == ["sub/y.PNG", "x.jpg"]


def test_job_key_changes_with_bytes_and_settings_not_with_argument_order():
    a = BatchSettings(views=("three-quarter", "front"), exports=("glb", "blend"))
    b = BatchSettings(views=("front", "three-quarter"), exports=("blend", "glb"))
    assert job_key("00", a) == job_key("00", b)
    assert job_key("00", a) != job_key("01", a)
    assert job_key("00", a) != job_key("00", BatchSettings(size=256))
    assert "avatar.glb" in a.expected_files() and "render_three_quarter.png" in a.expected_files()


def test_bundle_writes_refuse_traversal_and_recovery_restores_a_moved_bundle(tmp_path):
    with pytest.raises(ValueError):
        write_bundle_files(tmp_path / "b", {"../escape.txt": b"x"})
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "b").exists()
    write_bundle_files(tmp_path / "a", {"avatar.json": b"{}"})
    # a replace killed between its two renames: the old bundle is aside, the new one staged
    (tmp_path / "a").rename(tmp_path / ".a.old-123")
    (tmp_path / ".a.staging-xyz").mkdir()
    (tmp_path / ".a.staging-xyz" / "render.png").write_bytes(b"partial")
    assert recover_interrupted(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert (tmp_path / "a" / "avatar.json").read_bytes() == b"{}"


# -- real runs (bpy, MediaPipe) --

bpy = pytest.importorskip("bpy")


def _mixed_folder(root: Path, n_good: int = 2) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, n_good + 1):
        shutil.copy(SAMPLES / f"person_0{i}.jpg", root / f"person_0{i}.jpg")
    (root / "corrupt.jpg").write_bytes((SAMPLES / "person_05.jpg").read_bytes()[:2500])
    from PIL import Image
    Image.new("RGB", (320, 320), (120, 160, 200)).save(root / "no_face.png")
    (root / "README.txt").write_text("not a photo")
    return root


def _batch(*args, **kw):
    return subprocess.run([sys.executable, "-m", "blender_addon.cli", "batch", *map(str, args)],
                          capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    photos = _mixed_folder(base / "photos")
    run = _batch(photos, "-o", base / "out", "--export", "glb", "--render", "front,three-quarter")
    return photos, base / "out", run


def test_mixed_folder_gives_the_right_counts_and_exit_code(mixed_run):
    photos, out, run = mixed_run
    assert run.returncode == 8, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert (summary["total"], summary["ok"], summary["failed"], summary["skipped"]) == (4, 2, 2, 0)
    assert "Traceback" not in run.stderr
    assert "corrupt.jpg: the image data is damaged" in run.stderr
    assert "no_face.png: no face found" in run.stderr
    for name in ("person_01", "person_02"):
        b = out / "avatars" / name
        assert {"avatar.json", "render.png", "render_three_quarter.png", "avatar.glb", "thumb.jpg",
                "job.json", "report.json"} <= {p.name for p in b.iterdir()}
    assert sorted(p.name for p in (out / "failed").iterdir()) == ["corrupt.json", "no_face.json"]
    sheet = (out / "index.html").read_text()
    assert sheet.count("<tr>") == 5 and "avatars/person_01/render.png" in sheet and "no face found" in sheet
    assert not [p for p in (out / "avatars").iterdir() if p.name.startswith(".")]


def test_a_second_run_does_no_work(mixed_run):
    photos, out, _ = mixed_run
    before = {p: p.stat().st_mtime_ns for p in (out / "avatars").rglob("*")}
    run = _batch(photos, "-o", out, "--export", "glb", "--render", "three-quarter,front")
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert (summary["ok"], summary["failed"], summary["skipped"], summary["skipped_failed"]) == (0, 0, 2, 2)
    assert run.returncode == 8              # the folder still holds photos that failed
    assert before == {p: p.stat().st_mtime_ns for p in (out / "avatars").rglob("*")}


def test_changed_settings_or_photo_redo_only_what_changed(mixed_run, tmp_path):
    photos, out, _ = mixed_run
    work = tmp_path / "out"
    shutil.copytree(out, work)
    shutil.copy(SAMPLES / "person_03.jpg", photos / "person_02.jpg")   # a replaced photo
    try:
        run = _batch(photos, "-o", work, "--export", "glb", "--render", "front,three-quarter", "-q")
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        assert (summary["ok"], summary["skipped"], summary["skipped_failed"]) == (1, 1, 2)
        job = json.loads((work / "avatars" / "person_02" / "job.json").read_text())
        assert job["photo_sha256"] == json.loads(
            (work / "avatars" / "person_02" / "avatar.json").read_text())["source"]["photo_sha256"]
    finally:
        shutil.copy(SAMPLES / "person_02.jpg", photos / "person_02.jpg")


def test_glb_exports_reimport_with_shape_keys(mixed_run, scene):
    _, out, _ = mixed_run
    bpy.ops.import_scene.gltf(filepath=str(out / "avatars" / "person_01" / "avatar.glb"))
    keyed = [o for o in scene.objects if o.type == "MESH" and o.data.shape_keys]
    names = {k.name for o in keyed for k in o.data.shape_keys.key_blocks}
    assert {"jawOpen", "eyeBlinkLeft", "mouthSmileLeft"} <= names
    assert any(o.type == "ARMATURE" for o in scene.objects)


def test_a_run_killed_midway_resumes_without_corrupt_outputs(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(1, 7):
        shutil.copy(SAMPLES / f"person_{i:02d}.jpg", photos / f"p{i}.jpg")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "blender_addon.cli", "batch", str(photos), "-o", str(out),
                             "--workers", "2", "-q"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not list(out.glob("avatars/*/job.json")):
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)      # the driver and its workers, mid-write
    proc.wait()
    made = [p.parent.name for p in out.glob("avatars/*/job.json")]
    assert 1 <= len(made) < 6
    for b in (out / "avatars").iterdir():     # every visible bundle is complete
        if not b.name.startswith("."):
            assert (b / "job.json").exists() and (b / "render.png").stat().st_size > 1000
    run = _batch(photos, "-o", out, "--workers", "2", "-q")
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0, run.stderr
    assert summary["skipped"] == len(made) and summary["ok"] == 6 - len(made)
    assert sorted(p.name for p in (out / "avatars").iterdir()) == [f"p{i}" for i in range(1, 7)]


def test_a_dying_worker_fails_its_photos_and_the_pool_restarts_for_the_rest():
    from batch_faults import die_on_p2, no_init
    from blender_addon.batch import process_pool_results
    jobs = [(b"data", f"p{i}.jpg", {}) for i in range(1, 9)]
    results = {r.rel: r for r in process_pool_results(jobs, 1, run=die_on_p2, initializer=no_init)}
    assert set(results) == {j[1] for j in jobs}
    assert not results["p2.jpg"].ok and not results["p2.jpg"].final
    assert "worker process died" in results["p2.jpg"].message
    failed = {rel for rel, r in results.items() if not r.ok}
    assert len(failed) <= 2 and all(not results[rel].final for rel in failed)   # in flight: retried next run
    assert all(results[f"p{i}.jpg"].ok for i in range(4, 9))   # a fresh pool made the rest


def test_bad_arguments_give_one_line_and_their_codes(tmp_path):
    run = _batch(tmp_path / "missing", "-o", tmp_path / "o")
    assert run.returncode == 4 and run.stderr.strip().count("\n") == 0 and "no such folder" in run.stderr
    (tmp_path / "empty").mkdir()
    run = _batch(tmp_path / "empty", "-o", tmp_path / "o")
    assert run.returncode == 4 and "no photos" in run.stderr
    run = _batch(tmp_path / "empty", "-o", tmp_path / "o", "--render", "side")
    assert run.returncode == 2 and "unknown render view 'side'" in run.stderr
    run = _batch(tmp_path / "empty", "-o", tmp_path / "o", "--workers", "0")
    assert run.returncode == 2 and "at least 1" in run.stderr


def test_ray_adapter_on_a_local_instance(tmp_path):
    pytest.importorskip("ray")
    photos = _mixed_folder(tmp_path / "photos", n_good=1)
    run = _batch(photos, "-o", tmp_path / "out", "--ray", "--workers", "1", "-q")
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert (summary["ok"], summary["failed"], summary["executor"]) == (1, 2, "ray"), run.stderr
    job = json.loads((tmp_path / "out" / "avatars" / "person_01" / "job.json").read_text())
    assert job["key"] == job_key(job["photo_sha256"], BatchSettings())


def test_blender_entry_script_runs_the_batch_after_the_double_dash(tmp_path):
    from blender_addon.blender_entry import command_line
    assert command_line(["blender", "-b", "-P", "x.py", "--", "batch", "a", "-o", "b"]) == ["batch", "a", "-o", "b"]
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLES / "person_03.jpg", photos / "Zoë.jpg")
    entry = Path(__file__).resolve().parents[1] / "blender_addon" / "blender_entry.py"
    run = subprocess.run([sys.executable, str(entry), "--", "batch", str(photos), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "avatars" / "Zoë" / "render.png").exists()
    assert "W0000" not in run.stderr          # MediaPipe's native log goes to the cache log
