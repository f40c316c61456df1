"""Write an avatar bundle (DESIGN.md contract) from a backend :class:`Analysis`.

Bundle files: ``avatar.json``, ``render.png`` (toon by default, front, neutral, face
centred), ``deformation.npy`` (per-vertex offsets of the head mesh at style strength 1, in the
head part's vertex order; zeros for ``identity``), ``texture.png`` (the head's UV texture,
when one was made), ``report.json`` (timings per stage, warnings, pose, landmarks).

Atomic (:mod:`inference.bundle_io`): everything is written into a hidden staging folder
beside the target and renamed into place at the end; a failure removes the staging
folder, and an existing bundle is only replaced with ``force``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import bpy
import numpy as np

from inference.avatar import save_avatar, write_text_atomic
from inference.bundle_io import staged_bundle
from inference.pipeline import Analysis
from rigs.rig_asset import load_rig

from .avatar_build import AvatarObjects, build_avatar, update_avatar
from .looks import TEXTURE_PROP, set_texture
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

    def write_into(self, analysis: Analysis, folder: str | Path, views=("front",),
                   exports=()) -> list[Path]:
        """Write the bundle files for ``analysis`` into an existing ``folder`` (no staging).

        ``views`` adds ``render_three_quarter.png`` and ``turntable_NNN.png`` frames to the
        front ``render.png``; ``exports`` may hold ``blend`` and ``glb``.
        """
        from .export import export_glb, save_blend

        folder = Path(folder)
        timings = analysis.report.setdefault("timings_s", {})
        t = time.perf_counter()
        objs = self._avatar_objects(analysis)
        if analysis.texture is not None or TEXTURE_PROP in objs.collection:
            set_texture(objs, analysis.texture, analysis.avatar)
        timings["build"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        written = render_avatar(objs, folder / "render.png", size=self.size, engine=self.engine)
        for view in views:
            if view == "three-quarter":
                written += render_avatar(objs, folder / "render_three_quarter.png", size=self.size,
                                         engine=self.engine, view=view)
            elif view == "turntable":
                written += render_avatar(objs, folder / "turntable.png", size=self.size,
                                         engine=self.engine, view=view)
        timings["render"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        if "blend" in exports:
            written.append(save_blend(folder / "avatar.blend"))
        if "glb" in exports:
            written.append(export_glb(objs, folder / "avatar.glb"))
        if exports:
            timings["export"] = round(time.perf_counter() - t, 4)
        if analysis.texture is not None:
            from PIL import Image
            Image.fromarray(analysis.texture).save(folder / "texture.png", optimize=False)
        save_avatar(analysis.avatar, folder / "avatar.json")
        deformation = analysis.deformation
        if deformation is None:
            deformation = np.zeros((len(load_rig().parts["head"].vertex_ids), 3))
        np.save(folder / "deformation.npy", np.asarray(deformation, np.float32))
        write_text_atomic(folder / "report.json", json.dumps(analysis.report, indent=1) + "\n")
        return [*written, folder / "avatar.json", folder / "deformation.npy", folder / "report.json"]

    def write(self, analysis: Analysis, out_dir: str | Path, force: bool = False,
              views=("front",), exports=()) -> Path:
        """Write the bundle for ``analysis`` as the folder ``out_dir``, atomically."""
        out = Path(out_dir)
        with staged_bundle(out, force=force) as stage:
            self.write_into(analysis, stage, views=views, exports=exports)
        return out
