"""Add-on preferences: which Python runs the backend, and *Set up backend*.

The backend Python is, in order: the preference, ``$PHOTO2AVATAR_BACKEND_PYTHON``, this
very interpreter when the add-on runs inside the bpy module (tests, batch: it has the
stack), else the venv that *Set up backend* creates in Blender's user data folder.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

ADDON_MODULE = {"name": "blender_addon"}   # set by register() to the add-on's module name
LIB = Path(__file__).resolve().parents[1]
# what inference.server imports, with requirements.txt's pins (no bpy, torch or ray)
BACKEND_REQUIREMENTS = ("numpy<2", "scipy", "pillow", "mediapipe==0.10.21", "opencv-contrib-python==4.11.0.86",
                        "jax==0.7.1", "jaxlib==0.7.1", "ml_dtypes==0.5.4")


def preferences(context=None):
    addon = (context or bpy.context).preferences.addons.get(ADDON_MODULE["name"])
    return addon.preferences if addon else None


def data_dir() -> Path:
    """Where the add-on keeps its backend venv and logs."""
    cache = os.environ.get("PHOTO2AVATAR_CACHE_DIR")
    base = Path(cache) if cache else Path(bpy.utils.user_resource("DATAFILES", path="photo2avatar", create=True))
    base.mkdir(parents=True, exist_ok=True)
    return base


def default_venv() -> Path:
    return data_dir() / "backend-venv"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def backend_python(context=None) -> str:
    """The interpreter that runs ``python -m inference.server``."""
    prefs = preferences(context)
    if prefs is not None and prefs.backend_python:
        return bpy.path.abspath(prefs.backend_python)
    if os.environ.get("PHOTO2AVATAR_BACKEND_PYTHON"):
        return os.environ["PHOTO2AVATAR_BACKEND_PYTHON"]
    if not bpy.app.binary_path:      # the bpy module: this interpreter has the whole stack
        return sys.executable
    return str(venv_python(default_venv()))


def backend_log() -> Path:
    return data_dir() / "backend.log"


class SetupJob:
    """Create a venv and pip-install the backend stack into it, in a thread; ``lines``
    collects pip's output for the progress display."""

    def __init__(self, venv: Path, requirements: list[str]):
        self.venv, self.requirements = venv, requirements
        self.lines: list[str] = []
        self.step, self.steps = 0, 2 + len(requirements)
        self.returncode: int | None = None
        self.proc: subprocess.Popen | None = None
        self.cancelled = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "SetupJob":
        self.thread.start()
        return self

    def _call(self, cmd: list[str]) -> int:
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in self.proc.stdout:
            line = line.rstrip()
            if line:
                self.lines.append(line)
                if line.startswith(("Collecting", "Installing collected", "Successfully")):
                    self.step = min(self.step + 1, self.steps - 1)
        return self.proc.wait()

    def _run(self) -> None:
        python = venv_python(self.venv)
        self.lines.append(f"creating {self.venv}")
        code = 0 if python.exists() else self._call([sys.executable, "-m", "venv", str(self.venv)])
        self.step = 1
        if code == 0 and self.requirements and not self.cancelled:
            code = self._call([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                               *self.requirements])
        self.returncode = 1 if self.cancelled else code

    def cancel(self) -> None:
        self.cancelled = True
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()

    @property
    def done(self) -> bool:
        return self.returncode is not None

    @property
    def fraction(self) -> float:
        return 1.0 if self.done else self.step / self.steps


class P2A_OT_setup_backend(bpy.types.Operator):
    """Create a Python environment with the backend's packages (MediaPipe, SciPy, ...) in
    Blender's user data folder; needs the network once"""
    bl_idname = "photo2avatar.setup_backend"
    bl_label = "Set up backend"
    venv: StringProperty(name="Folder", description="Where to create the environment (default: "
                         "Blender's user data folder)", default="")
    requirements: StringProperty(name="Packages", description="Space-separated pip requirements",
                                 default=" ".join(BACKEND_REQUIREMENTS))

    _timer = None
    _job: SetupJob | None = None

    def _venv(self) -> Path:
        return Path(bpy.path.abspath(self.venv)) if self.venv else default_venv()

    def execute(self, context):
        self._job = SetupJob(self._venv(), self.requirements.split()).start()
        if bpy.app.background or context.window is None:
            self._job.thread.join()
            return self._finish(context)
        self._timer = context.window_manager.event_timer_add(0.2, window=context.window)
        context.window_manager.modal_handler_add(self)
        context.window_manager.progress_begin(0, 1)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC":
            job.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        context.window_manager.progress_update(job.fraction)
        last = job.lines[-1][:90] if job.lines else ""
        context.workspace.status_text_set(f"photo2avatar backend set-up {job.fraction:.0%}: {last} (Esc cancels)")
        if not job.done:
            return {"RUNNING_MODAL"}
        context.window_manager.event_timer_remove(self._timer)
        context.window_manager.progress_end()
        context.workspace.status_text_set(None)
        return self._finish(context)

    def _finish(self, context):
        job = self._job
        if job.returncode != 0:
            tail = job.lines[-1] if job.lines else ""
            self.report({"ERROR"}, f"backend set-up failed: {tail}" if not job.cancelled else "backend set-up cancelled")
            return {"CANCELLED"}
        prefs = preferences(context)
        python = str(venv_python(job.venv))
        if prefs is not None:
            prefs.backend_python = python
        else:
            os.environ["PHOTO2AVATAR_BACKEND_PYTHON"] = python
        self.report({"INFO"}, f"backend ready: {python}")
        return {"FINISHED"}


class P2A_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = "blender_addon"      # replaced at registration by the real module name

    backend_python: StringProperty(
        name="Backend Python", subtype="FILE_PATH", default="",
        description="Python 3.11 with MediaPipe, SciPy and Pillow that runs the photo analysis "
                    "(empty: the environment made by 'Set up backend')")
    device: EnumProperty(name="Device", default="auto", items=[
        ("auto", "Auto", "CUDA, else Apple MPS, else CPU"), ("cpu", "CPU", ""),
        ("cuda", "CUDA", ""), ("mps", "Apple MPS", "")],
        description="Where learned modules run (the default path is CPU-only and fast)")

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "backend_python")
        col.label(text=f"In use: {backend_python(context)}", icon="CONSOLE")
        col.prop(self, "device")
        col.operator(P2A_OT_setup_backend.bl_idname, icon="IMPORT")
