"""Apply a photo to a character in a .blend: shared by ``photo2avatar apply`` and the
backend's ``apply_character`` request (which the add-on sends; :mod:`.character_edit`).
Runs where the full stack is (bpy module, MediaPipe, SciPy)."""
from __future__ import annotations

from pathlib import Path

from inference.errors import InputError


def open_character(src: str | Path, name: str):
    """Open ``src`` (a .blend) and return its mesh object ``name``; InputError otherwise."""
    import bpy

    from .render import quiet_stdout
    src = Path(src)
    if not src.is_file():
        raise InputError(f"{src}: no such file" if not src.exists() else f"{src}: not a file")
    if src.suffix.lower() != ".blend":
        raise InputError(f"{src}: not a .blend file")
    try:
        with quiet_stdout():
            bpy.ops.wm.open_mainfile(filepath=str(src.resolve()), load_ui=False)
    except RuntimeError as e:
        raise InputError(f"{src}: cannot open it as a .blend ({str(e).splitlines()[-1]})") from None
    obj = bpy.data.objects.get(name)
    if obj is None:
        meshes = ", ".join(sorted(o.name for o in bpy.data.objects if o.type == "MESH")[:8])
        raise InputError(f"{src}: no object named {name!r} (meshes: {meshes or 'none'})")
    return obj


def analyse_photo(backend, photo, style: str = "identity", texture: bool = True, progress=None):
    """(analysis, head texture or None) of a photo for a character."""
    from inference.photo_io import load_photo
    photo = load_photo(photo)
    analysis = backend.analyze(photo, style=style, progress=progress)
    head = None
    if texture:
        from inference.character_texture import character_head_texture
        head = character_head_texture(photo.rgb, analysis, style)
    return analysis, head


def apply_photo(obj, analysis, head_texture=None, arkit: bool = False, pins: dict | None = None) -> dict:
    """The analysed photo on ``obj`` (see :func:`.character.apply_to_character`)."""
    from .character import apply_to_character
    return apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape,
                              arkit=arkit, head_texture=head_texture, pins=pins)


def _pins_from(msg: dict) -> dict | None:
    """The request's ``pins`` ({landmark id: [x, y, z]}, object frame), or None."""
    pins = msg.get("pins")
    if pins is None:
        return None
    try:
        return {int(k): [float(c) for c in v][:3] for k, v in dict(pins).items()}
    except (TypeError, ValueError):
        raise InputError("pins must map landmark ids to [x, y, z]") from None


def find_face_job(msg: dict, progress) -> dict:
    """The server's ``find_face`` request: {blend, object} -> {pins: {landmark id: [x, y, z]}
    in the object's frame, report} (the add-on places them as empties to move)."""
    from .character import face_pins
    for key in ("blend", "object"):
        if not isinstance(msg.get(key), str) or not msg.get(key):
            raise InputError(f"find_face needs {key!r}")
    obj = open_character(msg["blend"], msg["object"])
    progress(0.1, "finding the face on the character")
    points, report = face_pins(obj)
    return {"pins": {str(k): [float(c) for c in v] for k, v in points.items()}, "report": report}


def backend_job(backend, msg: dict, progress) -> dict:
    """The server's ``apply_character`` request: {blend, object, photo, style, texture,
    arkit, pins, out_dir} -> {edit: path of the .npz, report}."""
    import tempfile

    from .character_edit import record_edit, state
    for key in ("blend", "object", "photo"):
        if not isinstance(msg.get(key), str) or not msg.get(key):
            raise InputError(f"apply_character needs {key!r}")
    style = str(msg.get("style", "identity"))
    analysis, head = analyse_photo(backend, msg["photo"], style, bool(msg.get("texture", True)),
                                   progress=lambda f, m: progress(0.6 * f, m))
    obj = open_character(msg["blend"], msg["object"])
    progress(0.65, "finding the face on the character")
    before = state(obj)
    report = apply_photo(obj, analysis, head, bool(msg.get("arkit", False)), _pins_from(msg))
    progress(0.95, "recording the change")
    out_dir = Path(msg.get("out_dir") or tempfile.mkdtemp(prefix="photo2avatar_edit_"))
    out_dir.mkdir(parents=True, exist_ok=True)
    return record_edit(obj, before, report, out_dir)
