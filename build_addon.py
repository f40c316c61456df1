"""Build the installable Blender extension: ``python build_addon.py [-o dist/photo2avatar.zip]``.

The zip holds ``blender_manifest.toml`` (Blender >= 4.2 extension) and a thin
``__init__.py`` at its root, and under ``lib/`` the packages: ``blender_addon``,
``inference`` (Blender's Python imports only its data types; the backend process runs the
rest with ``lib/`` on its path), ``rigs`` with the rig asset, the asset library and the
catalogues, and the asset and style thumbnails the pickers show. Deterministic: fixed file order
and timestamps, so the same sources give the same bytes.
"""
from __future__ import annotations

import argparse
import os
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VERSION = "0.2.0"
MANIFEST = f"""schema_version = "1.0.0"
id = "photo2avatar"
version = "{VERSION}"
name = "photo2avatar"
tagline = "One face photo to a stylized, rigged, animatable avatar"
maintainer = "photo2avatar developers"
type = "add-on"
blender_version_min = "4.2.0"
license = ["SPDX:GPL-3.0-or-later"]
copyright = ["2026 photo2avatar developers", "MakeHuman/MPFB2 data: CC0-1.0"]
tags = ["Add Mesh", "Rigging", "Animation"]

[permissions]
files = "Read photos and avatar.json, write renders and exports"
"""
INIT = '''"""photo2avatar extension entry point: puts the bundled packages on the path and
delegates registration to blender_addon.addon."""
import os
import sys

_LIB = os.path.join(os.path.dirname(__file__), "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)


def register():
    from blender_addon import addon
    addon.register(__name__)


def unregister():
    from blender_addon import addon
    addon.unregister()
'''


def _thumbnails():
    import json
    catalogue = json.loads((ROOT / "rigs" / "assets.json").read_text())
    return sorted({ROOT / info["thumbnail"] for kind, items in catalogue.items() if kind != "schema"
                   for info in items.values() if info.get("thumbnail")})


def _files():
    for pkg in ("blender_addon", "inference", "rigs"):
        for path in sorted((ROOT / pkg).rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            if path.suffix not in (".py", ".json", ".npz", ".md"):
                continue
            yield path, "lib/" + path.relative_to(ROOT).as_posix()
    for path in [*_thumbnails(), *sorted((ROOT / "docs" / "styles").glob("*.png"))]:
        yield path, "lib/" + path.relative_to(ROOT).as_posix()


def build(out: Path) -> Path:
    """Write the extension zip atomically; returns its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    stamp = (2026, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("blender_manifest.toml", MANIFEST), ("__init__.py", INIT),
                           ("LICENSE", (ROOT / "LICENSE").read_text())):
            z.writestr(zipfile.ZipInfo(name, stamp), text)
        for path, arc in _files():
            info = zipfile.ZipInfo(arc, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
    os.replace(tmp, out)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "dist" / f"photo2avatar-{VERSION}.zip")
    args = ap.parse_args(argv)
    path = build(args.output)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
