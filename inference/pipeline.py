"""Photo -> avatar vector: the whole backend pipeline behind one warm object.

    photo --load--> RGB --perceive--> landmarks, person mask
          --register--> where the rig lies in the photo (pose, shape, expression)
          --measure--> colours --search--> hair, beard, glasses, eyebrows
          --likeness fit--> identity sliders whose render reads like the photo
                            (its expression reported, then removed) --> Avatar

:class:`Backend` keeps MediaPipe's models and the rig's landmark models loaded, so the
add-on, batch jobs and the eval pay the start-up cost once. Everything here is bpy-free;
rendering the bundle's ``render.png`` is the caller's job (``blender_addon``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from inference.avatar import Avatar, default_avatar
from inference.errors import FaceError, InputError
from rigs.catalogue import style_names

MAX_YAW = 45.0     # degrees: beyond this the far side of the face is guesswork
VERSION = "0.2.0"


@dataclass
class Analysis:
    """The avatar, its unit style deformation (head vertex offsets; None for none) and
    everything a report needs to explain it."""
    avatar: Avatar
    report: dict = field(default_factory=dict)
    deformation: np.ndarray | None = None
    texture: np.ndarray | None = None       # (S, S, 3) sRGB uint8 head texture, or None
    hair_mask: np.ndarray | None = None     # (H, W) bool: the photo's hair region (analysed size)
    # the registration fit's sliders: the rig's own surface fitted to the photo's landmarks
    # (geometry, not how MediaPipe reads our renders); what another character's head follows
    geometric_shape: dict | None = None
    # that fit itself (pose, scale, expression): the camera the photo's texture is projected from
    registration: object | None = None
    # the likeness fit (the avatar's sliders, and the camera its render is read with)
    likeness: object | None = None


class Backend:
    """Warm photo-to-avatar backend. Not thread-safe: one per worker."""

    def __init__(self):
        from inference.fit import landmark_reading
        from inference.perception import Perceiver
        from rigs.asset_library import load_library
        t = time.perf_counter()
        self.perceiver = Perceiver()
        landmark_reading()
        load_library()
        self.startup_s = time.perf_counter() - t

    def exemplar(self, style_image) -> dict:
        """A stylized portrait (path or decoded Photo) -> ``style.exemplar`` data: its
        geometric style as region warps, and its palette.

        Raises InputError for an unreadable file and StyleError when no face is found."""
        from inference.avatar import rgb_to_hex
        from inference.errors import FaceError
        from inference.photo_io import Photo, load_photo
        from inference.styles import StyleError, exemplar_ops, exemplar_style
        from inference.texture import palette_from_image
        img = style_image if isinstance(style_image, Photo) else load_photo(style_image)
        try:
            obs = self.perceiver.observe(img.rgb)
        except FaceError as e:
            raise StyleError(f"{img.path.name}: the style image shows no face MediaPipe can read "
                             f"({e}); use a portrait with a visible face") from None
        return {"image": img.path.name, "sha256": img.sha256, "ops": exemplar_ops(exemplar_style(obs.landmarks)),
                "palette": [rgb_to_hex(c) for c in palette_from_image(img.rgb)]}

    def analyze(self, photo, style: str = "identity", progress=None, style_image=None,
                exemplar: dict | None = None, texture: str = "auto") -> Analysis:
        """Photo file (path or decoded :class:`~inference.photo_io.Photo`) -> :class:`Analysis`.

        Raises InputError / FaceError for bad photos.

        ``progress(fraction, message)`` is called between stages when given. A
        ``style_image`` (or its precomputed ``exemplar`` data) selects the exemplar style.
        ``texture``: auto (identity: the photo's texture; other styles: palette-stylized),
        none, photo or fast (see :mod:`inference.texture`).
        """
        from inference.asset_search import choose_eyebrows, search_assets
        from inference.colors import expose, exposure_gain, measure_colors, srgb_to_lab
        from inference.fit import fit_landmarks, register_landmarks
        from inference.hair_segment import segment_hair
        from inference.head_outline import outline_observations
        from inference.photo_io import Photo, load_photo

        if style_image is not None or exemplar is not None:
            style = "exemplar"
        if style not in style_names():
            raise InputError(f"unknown style {style!r} (available: {', '.join(style_names())})")
        if texture == "exemplar" and style_image is None:
            raise InputError("--texture exemplar needs a style image (--style-image)")
        if style == "exemplar" and style_image is None and exemplar is None:
            raise InputError("the exemplar style needs a style image (--style-image)")
        report = {"timings_s": {}, "warnings": []}
        step = _Stopwatch(report["timings_s"], progress)

        with step("load", 0.05):
            if not isinstance(photo, Photo):
                photo = load_photo(photo)
        with step("perceive", 0.2):
            obs = self.perceiver.observe(photo.rgb)
        report["warnings"] += obs.warnings
        with step("fit", 0.45):
            reg = register_landmarks(obs.landmarks)     # where the rig lies in the photo
        yaw, pitch, roll = reg.yaw_pitch_roll
        if abs(yaw) > MAX_YAW:
            raise FaceError(f"the head is turned {abs(yaw):.0f} degrees; at most {MAX_YAW:.0f} can be "
                            "fitted (use a more frontal photo)")
        if abs(yaw) > 20 or abs(pitch) > 20:
            report["warnings"].append(f"head pose yaw {yaw:.0f}, pitch {pitch:.0f} degrees: "
                                      "a frontal photo gives a closer likeness")
        with step("colors", 0.6):
            # colours are read as if the photo were exposed right (an underexposed photo read
            # blonde hair as brown and white as grey); the landmarks do not need it
            gain = exposure_gain(photo.rgb)
            rgb = expose(photo.rgb, gain)
            lab = srgb_to_lab(rgb / 255.0)
            colors = measure_colors(rgb, obs.landmarks, obs.person_mask, lab)
        with step("hair", 0.7):
            hair = segment_hair(lab, obs.landmarks, obs.person_mask, colors.lab["skin"], obs.shoulders)
        with step("assets", 0.9):
            choice = search_assets(rgb, obs.landmarks, obs.person_mask, reg, colors.lab["skin"],
                                   lab, hair)
            brows = choose_eyebrows(obs.landmarks, lab, colors.lab["skin"])
        with step("likeness", 0.91):
            # the avatar whose render MediaPipe reads like the photo, wearing these assets
            worn = {**choice.assets, "eyebrows": brows}
            fit = fit_landmarks(obs.landmarks, assets=worn)
            # then again with the top of the skull, which no landmark sees, where the head's
            # outline puts it with the chosen hair (a second fit: the first gives its camera)
            seen, outline = outline_observations(obs.person_mask, obs.landmarks, fit, choice.assets["hair"])
            if seen:
                fit = fit_landmarks(obs.landmarks, assets=worn, outline=seen)
            yaw, pitch, roll = fit.yaw_pitch_roll

        av = default_avatar()
        av.shape.update(fit.shape)
        av.colors.update(colors.hex)
        if choice.hair_lab is not None:
            from inference.avatar import rgb_to_hex
            from inference.colors import lab_to_srgb
            av.colors["hair"] = rgb_to_hex(lab_to_srgb(choice.hair_lab))
        av.assets.update(choice.assets)
        av.assets["eyebrows"] = brows
        av.style = {"name": style, "strength": 1.0}
        style_photo = None
        if style_image is not None:
            with step("style_image", 0.92):
                style_photo = load_photo(style_image)    # once: the texture may need it too
                if exemplar is None:
                    av.style["exemplar"] = self.exemplar(style_photo)
        if exemplar is not None:                 # computed once for a whole batch
            av.style["exemplar"] = exemplar
        with step("style", 0.95):
            from inference.styles import stylize
            from rigs.catalogue import target_weights
            from rigs.rig_asset import load_rig
            shaped = load_rig().deformed(target_weights(av.shape))
            st = stylize(av, shaped)
            deformation = st.head if st.head.any() else None
        av.expression = {}                     # expression normalization: neutral avatar
        av.source = {"photo_sha256": photo.sha256, "version": VERSION, "photo": photo.path.name}
        report.update({
            "photo": {"file": str(photo.path), "sha256": photo.sha256,
                      "original_size": list(photo.original_size), "analysed_size": list(obs.size)},
            "pose_deg": {"yaw": yaw, "pitch": pitch, "roll": roll},
            "fit": {"residual_px": fit.residual_px, "residual_over_eye_distance": fit.residual_norm,
                    "registration_pose_deg": dict(zip(("yaw", "pitch", "roll"), reg.yaw_pitch_roll)),
                    "registration_residual_over_eye_distance": reg.residual_norm},
            "expression_removed": {k: round(v, 4) for k, v in fit.expression.items() if v > 0.01},
            "asset_scores": {k: {a: round(s, 4) for a, s in v.items()} for k, v in choice.scores.items()},
            "hair_region": hair.summary(),
            "head_outline": outline,
            "white_balance_ab": list(colors.white_balance_ab),
            "exposure_gain": round(gain, 3),
            "faces_found": obs.n_faces,
            "landmarks_px": np.round(obs.landmarks, 2).tolist(),
        })
        tex_rgb = None
        with step("texture", 0.97):
            from inference.styles import load_style
            from inference.texture import project_photo, stylize_texture, texture_plan
            pal = av.style.get("exemplar", {}).get("palette") if style == "exemplar" else None
            project, palette, strength = texture_plan("photo" if texture == "exemplar" else texture,
                                                      load_style(style), pal)
            if project:
                tex = project_photo(rgb, reg, reg.shape, av.colors["skin"], av.assets)
                tex_rgb = tex.rgb if palette is None else stylize_texture(tex, palette, av.colors["skin"], strength)
                mode = "photo" if palette is None else "fast"
                if texture == "exemplar":
                    from inference.texture_exemplar import stylize_exemplar
                    verts = shaped + st.all * av.style["strength"]
                    tex_rgb = stylize_exemplar(tex.rgb, verts, style_photo.rgb)
                    mode = "exemplar"
                report["texture"] = {"mode": mode,
                                     "photo_coverage": round(float((tex.weight > 0.5).sum() / tex.mask.sum()), 3)}
        if deformation is not None:
            report["style"] = {"name": style, "max_offset_mm": round(float(np.abs(deformation).max()) * 1000, 2)}
        if progress:
            progress(1.0, "done")
        return Analysis(av, report, deformation, tex_rgb, hair.mask(), dict(reg.shape), reg, fit)

    def close(self) -> None:
        self.perceiver.close()


class _Stopwatch:
    def __init__(self, timings: dict, progress):
        self.timings, self.progress = timings, progress

    def __call__(self, name: str, fraction: float):
        sw = self

        class _Ctx:
            def __enter__(self):
                if sw.progress:
                    sw.progress(fraction, name)
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                sw.timings[name] = round(time.perf_counter() - self.t, 4)
        return _Ctx()
