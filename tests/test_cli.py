"""The command line as a user meets it: outputs, one-line errors and exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from inference.avatar import SCHEMA, default_avatar, save_avatar

pytest.importorskip("bpy")


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "blender_addon.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_render_an_edited_avatar_json(tmp_path):
    av = default_avatar()
    av.shape["jaw_width"] = 0.8
    save_avatar(av, tmp_path / "avatar.json")
    r = _cli("render", tmp_path / "avatar.json", "-o", tmp_path / "r.png", "--size", "128",
             "--engine", "workbench")
    assert r.returncode == 0, r.stderr
    from PIL import Image
    assert Image.open(tmp_path / "r.png").size == (128, 128)
    r2 = _cli("render", tmp_path / "avatar.json", "-o", tmp_path / "r.png", "--size", "128")
    assert r2.returncode == 5 and "--force" in r2.stderr


@pytest.mark.parametrize("content, words", [
    ("{broken", "not valid JSON"),
    (json.dumps({"schema": SCHEMA, "shape": {"nose_width": 9}}), "shape.nose_width: 9 is outside"),
])
def test_invalid_avatar_json_gives_one_line_and_code_3(tmp_path, content, words):
    (tmp_path / "a.json").write_text(content)
    r = _cli("render", tmp_path / "a.json", "-o", tmp_path / "out.png")
    assert r.returncode == 3
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "out.png").exists()


def test_missing_avatar_json(tmp_path):
    r = _cli("render", tmp_path / "nope.json", "-o", tmp_path / "out.png")
    assert r.returncode == 4 and "no such file" in r.stderr


def test_demo_writes_a_complete_bundle(tmp_path):
    out = tmp_path / "demo"
    r = _cli("demo", "-o", out, "--size", "128")
    assert r.returncode == 0, r.stderr
    names = {p.name for p in out.iterdir()}
    assert {"avatar.json", "render.png", "deformation.npy", "avatar.blend", "avatar.glb",
            "report.json"} <= names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder left"
    r2 = _cli("demo", "-o", out, "--size", "128")
    assert r2.returncode == 5


@pytest.mark.parametrize("command", ["generate", "render", "eval", "batch", "demo"])
@pytest.mark.parametrize("where", ["file_in_the_way", "proc"])
def test_unwritable_output_is_exit_9_before_any_work(tmp_path, command, where):
    """-o under a regular file, or on a file system that refuses new files: one line,
    exit 9, and nothing created."""
    from pathlib import Path
    if where == "proc":
        if not Path("/proc/self").exists():
            pytest.skip("no /proc here")
        out = Path("/proc") / f"photo2avatar-{tmp_path.name}"
    else:
        (tmp_path / "a_file").write_text("in the way")
        out = tmp_path / "a_file" / "out"
    photos = Path(__file__).resolve().parents[1] / "samples" / "photos"
    av = tmp_path / "avatar.json"
    save_avatar(default_avatar(), av)
    args = {"generate": [photos / "person_01.jpg"], "render": [av], "eval": [photos], "batch": [photos],
            "demo": []}[command]
    r = _cli(command, *args, "-o", out / "x.png" if command == "render" else out)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 9 and len(lines) == 1 and "cannot" in lines[0], r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["avatar.json"] + (["a_file"] if where == "file_in_the_way" else []))


@pytest.mark.parametrize("command, name, suffix", [("render", "x.jpg", ".png"), ("retarget", "anim.txt", ".blend")])
def test_output_with_the_wrong_file_type_is_a_usage_error(tmp_path, command, name, suffix):
    """render wrote PNG bytes into x.jpg and retarget a .blend into any name: refused."""
    save_avatar(default_avatar(), tmp_path / "avatar.json")
    args = [tmp_path / "avatar.json"] if command == "render" else [tmp_path / "t.csv", "--avatar",
                                                                    tmp_path / "avatar.json"]
    r = _cli(command, *args, "-o", tmp_path / name)
    assert r.returncode == 2 and f"writes a {suffix} file" in r.stderr
    assert not (tmp_path / name).exists()
