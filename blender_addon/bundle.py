"""Write an avatar bundle (DESIGN.md contract) from a backend :class:`Analysis`.

Bundle files: ``avatar.json``, ``render.png`` (toon by default, front, neutral, face
centred), ``deformation.npy`` (per-vertex offsets of the head mesh; zeros for the
``identity`` style), ``report.json`` (timings per stage, warnings, pose, landmarks).

Atomic: everything is written into a hidden staging folder beside the target and renamed
into place at the end; a failure removes the staging folder, and an existing bundle is
only replaced with ``force`` (moved aside first, deleted after the rename).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np

from inference.avatar import save_avatar, write_text_atomic
from inference.errors import OutputExists
from inference.pipeline import Analysis
from rigs.rig_asset import load_rig

from .avatar_build import AvatarObjects, build_avatar, update_avatar
from .render import render_avatar


class BundleWriter:
    """Renders and writes bundles, reusing one avatar in one scene between photos."""

    def __init__(self, look: str = "toon", size: int = 512, engine: str = "CYCLES"):
        self.look, self.size, self.engine = look, size, engine
        self.objs: AvatarObjects | None = None

    def _avatar_objects(self, analysis: Analysis) -> AvatarObjects:
        if self.objs is None or self.objs.collection.name not in bpy.data.collections:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            self.objs = build_avatar(analysis.avatar, look=self.look)
        else:
            update_avatar(self.objs, analysis.avatar)
        return self.objs

    def write(self, analysis: Analysis, out_dir: str | Path, force: bool = False) -> Path:
        """Write the bundle for ``analysis`` into ``out_dir``; returns the folder."""
        out = Path(out_dir)
        if out.exists() and not force:
            raise OutputExists(f"{out} already exists; pass --force to replace it")
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            t = time.perf_counter()
            objs = self._avatar_objects(analysis)
            analysis.report["timings_s"]["build"] = round(time.perf_counter() - t, 4)
            t = time.perf_counter()
            render_avatar(objs, stage / "render.png", size=self.size, engine=self.engine)
            analysis.report["timings_s"]["render"] = round(time.perf_counter() - t, 4)
            save_avatar(analysis.avatar, stage / "avatar.json")
            np.save(stage / "deformation.npy",
                    np.zeros((len(load_rig().parts["head"].vertex_ids), 3), np.float32))
            write_text_atomic(stage / "report.json", json.dumps(analysis.report, indent=1) + "\n")
            old = None
            if out.exists():
                old = out.with_name(f".{out.name}.old-{int(time.time() * 1000)}")
                out.rename(old)
            stage.rename(out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
        return out
