"""The built extension zip installs into the bpy module, registers, runs and unregisters."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile

import pytest

import build_addon

pytest.importorskip("bpy")

SCRIPT = textwrap.dedent("""
    import os, sys
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert bpy.ops.extensions.package_install_files(
        filepath=sys.argv[1], repo="user_default", enable_on_install=True) == {"FINISHED"}
    import blender_addon
    assert "extensions" in blender_addon.__file__, blender_addon.__file__   # the zip's copy
    assert bpy.ops.photo2avatar.add_avatar() == {"FINISHED"}
    coll = bpy.data.collections["Avatar"]
    names = {o.name for o in coll.objects}
    assert {"Avatar_rig", "Avatar_head", "Avatar_hair", "Avatar_eyebrows"} <= names, names
    # Generate from photo: the backend process runs the zip's own inference package
    assert bpy.ops.photo2avatar.generate(filepath=sys.argv[2]) == {"FINISHED"}
    from blender_addon.backend_client import PACKAGE_ROOT
    assert "extensions" in str(PACKAGE_ROOT), PACKAGE_ROOT
    prefs = bpy.context.preferences.addons["bl_ext.user_default.photo2avatar"].preferences
    assert prefs.backend_python == "" and prefs.device == "auto"
    import addon_utils
    mod = "bl_ext.user_default.photo2avatar"
    for _ in range(2):   # unregister and register again, twice
        addon_utils.disable(mod, default_set=True)
        assert not hasattr(bpy.types, "P2A_PT_panel")
        addon_utils.enable(mod, default_set=True)
        assert hasattr(bpy.types, "P2A_PT_panel")
    print("ADDON-OK")
""")


def test_build_is_deterministic(tmp_path):
    a = build_addon.build(tmp_path / "a.zip")
    b = build_addon.build(tmp_path / "b.zip")
    assert a.read_bytes() == b.read_bytes()
    names = zipfile.ZipFile(a).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "lib/rigs/data/head_rig.npz" in names and "lib/rigs/data/assets.npz" in names
    assert "lib/inference/server.py" in names          # the backend process runs from the zip's lib/
    assert "lib/docs/assets/hair_bald.png" in names    # thumbnails for the asset pickers
    assert "lib/docs/styles/chibi.png" in names        # ... and the style picker


def test_zip_installs_enables_and_runs(tmp_path):
    zpath = build_addon.build(tmp_path / "photo2avatar.zip")
    script = tmp_path / "install.py"
    script.write_text(SCRIPT)
    env = {"PHOTO2AVATAR_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    boot = ("import sys; sys.argv = sys.argv[1:];"
            "from blender_addon.environment import contain_caches; contain_caches();"
            "sys.modules.pop('blender_addon.environment'); sys.modules.pop('blender_addon');"
            "exec(open(sys.argv[0]).read())")
    photo = build_addon.ROOT / "samples" / "photos" / "person_06.jpg"
    r = subprocess.run([sys.executable, "-c", boot, str(script), str(zpath), str(photo)], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300)
    assert "ADDON-OK" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
