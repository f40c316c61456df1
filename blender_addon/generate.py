"""Generate from photo: a backend job, then one transactional change to the scene.

:class:`GenerateTask` is the operator's engine without the UI: start the backend job,
poll it, cancel it, and apply the finished avatar. Nothing in the scene changes before
:meth:`GenerateTask.apply`, which builds a new avatar or updates the target one in place.
"""
from __future__ import annotations

import re
from pathlib import Path

import bpy

from inference.avatar import avatar_from_dict
from inference.errors import InputError

from .avatar_build import PROP, AvatarObjects, build_avatar, find_avatar, refresh_style, update_avatar
from .backend_client import BackendClient, BackendError, Job
from .looks import TEXTURE_PROP, set_texture
from .style_apply import OFFSETS_PROP, STYLE_KEY


def avatar_name(photo: str | Path) -> str:
    """A collection name for the avatar of ``photo`` (Blender adds .001 on clashes)."""
    stem = re.sub(r"[^\w\-]+", "_", Path(photo).stem).strip("_") or "Avatar"
    return stem[:40]


class GenerateTask:
    """One photo -> avatar request against a warm :class:`BackendClient`."""

    def __init__(self, client: BackendClient, photo: str | Path, style: str = "identity", look: str = "toon",
                 target: str = "", style_image: str | Path | None = None):
        self.client, self.photo, self.style, self.look, self.target = client, Path(photo), style, look, target
        self.style_image = Path(style_image) if style_image else None
        self.job: Job | None = None

    def start(self) -> "GenerateTask":
        for p in (self.photo, self.style_image):
            if p is not None and not p.is_file():
                raise InputError(f"{p}: no such file")
        self.job = self.client.analyze(self.photo, style=self.style, style_image=self.style_image)
        return self

    def poll(self) -> str:
        """running, done, error or cancelled."""
        return self.job.poll()

    @property
    def fraction(self) -> float:
        return self.job.fraction if self.job else 0.0

    @property
    def message(self) -> str:
        return self.job.message if self.job else ""

    def cancel(self) -> None:
        if self.job is not None:
            self.client.cancel(self.job)

    def wait(self, timeout: float = 300.0) -> None:
        self.job.wait(timeout)

    def apply(self, scene: bpy.types.Scene) -> AvatarObjects:
        """Put the finished avatar into ``scene``: update the target avatar in place, or build
        a new one. Raises BackendError when the job did not finish."""
        if self.job.state == "error":
            raise BackendError(self.job.error)
        if self.job.state != "done":
            raise BackendError(f"the backend job is {self.job.state}")
        avatar = avatar_from_dict(self.job.result["avatar"])
        self.client.forget(self.job)
        coll = bpy.data.collections.get(self.target) if self.target else None
        if coll is not None and PROP in coll:
            objs = find_avatar(coll)
            if coll.get("photo2avatar_look") != self.look:
                from . import looks
                coll["photo2avatar_look"] = self.look
                looks.apply_look(objs, avatar, self.look)
            update_avatar(objs, avatar)
        else:
            objs = build_avatar(avatar, scene, name=avatar_name(self.photo), look=self.look)
        offsets = self.job.result.get("deformation")
        if offsets and STYLE_KEY not in objs.head.data.shape_keys.key_blocks:
            # Blender's own Python cannot solve the deformation: use the backend's
            objs.collection[OFFSETS_PROP] = [float(x) for x in offsets]
            refresh_style(objs)
        png = self.job.result.get("texture_png")
        if png or TEXTURE_PROP in objs.collection:
            set_texture(objs, _decode_png(png) if png else None, avatar)
        objs.collection["photo2avatar_photo"] = str(self.photo)
        return objs


def _decode_png(b64: str):
    """A base64 PNG from the backend -> (H, W, 3) uint8 (Blender's own loader, no PIL needed)."""
    import base64
    import os
    import tempfile
    import numpy as np
    fd, path = tempfile.mkstemp(suffix=".png")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64decode(b64))
        img = bpy.data.images.load(path)
        try:
            w, h = img.size
            px = np.empty(w * h * 4, np.float32)
            img.pixels.foreach_get(px)
        finally:
            bpy.data.images.remove(img)
    finally:
        os.unlink(path)
    return np.clip(px.reshape(h, w, 4)[::-1, :, :3] * 255.0 + 0.5, 0, 255).astype(np.uint8)
