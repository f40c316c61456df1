"""Entry script for Blender binaries: any ``photo2avatar`` command inside ``blender -b``.

    blender -b --python-exit-code 1 -P blender_addon/blender_entry.py -- batch PHOTOS -o OUT

Arguments after ``--`` are the command line of :mod:`blender_addon.cli`; Blender exits
with the command's exit code (0, 8 when some photos of a batch failed, ...).
Blender's own Python has bpy and numpy but not the backend stack (MediaPipe, SciPy), so
the script appends the project's ``.venv`` site-packages (or
``$PHOTO2AVATAR_SITE_PACKAGES``) *after* Blender's paths: Blender keeps its bpy and numpy,
the rest comes from the venv. Both must be Python 3.11 (Blender 4.1-5.0).
The same script runs under a plain Python with the bpy module, which is how it is tested.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def command_line(argv: list[str]) -> list[str]:
    """The arguments meant for photo2avatar: everything after the first ``--``."""
    return argv[argv.index("--") + 1:] if "--" in argv else []


def _add_backend_packages() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    site = os.environ.get("PHOTO2AVATAR_SITE_PACKAGES") or str(
        ROOT / ".venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages")
    if Path(site).is_dir() and site not in sys.path:
        sys.path.append(site)


def run() -> int:
    _add_backend_packages()
    import bpy
    args = command_line(sys.argv)
    if not args:
        print("photo2avatar: pass the command after '--', e.g. "
              "blender -b -P blender_entry.py -- batch PHOTOS -o OUT", file=sys.stderr)
        return 2
    if bpy.app.binary_path and "--workers" in args:
        # spawned workers would start Blender's bare Python, which has no bpy module
        i = args.index("--workers")
        if i + 1 < len(args) and args[i + 1] != "1":
            print("photo2avatar: inside a Blender binary a batch runs one worker; start one Blender "
                  "per core on separate folders, or use the photo2avatar command for --workers",
                  file=sys.stderr)
            return 2
    from blender_addon.cli import main
    return main(args, own_process=True)


if __name__ == "__main__":
    sys.exit(run())
