"""What a batch run has to do: photos, safe output names, job keys, completeness (no bpy).

A batch job is a pure function of (photo bytes, settings, versions); its key hashes the
three. A bundle is complete when its ``job.json`` carries the same key and every file
the settings ask for exists, so a rerun skips it. Failures that depend only on the
input (unreadable photo, no face) are recorded under the same key and skipped too,
unless the user asks to retry them.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
VIEWS = ("front", "three-quarter", "turntable")
EXPORTS = ("blend", "glb")
TURNTABLE_FRAMES = 8
MAX_NAME = 80
JOB_FILE = "job.json"


@dataclass(frozen=True)
class BatchSettings:
    """Everything besides the photo that changes a batch job's output."""
    style: str = "identity"
    look: str = "toon"
    size: int = 512
    views: tuple[str, ...] = ("front",)
    exports: tuple[str, ...] = ()
    exemplar: str = ""          # JSON of style.exemplar (from --style-image, computed once)
    texture: str = "auto"

    def __post_init__(self):
        from inference.errors import UsageError as UserError
        bad = [v for v in self.views if v not in VIEWS]
        if bad:
            raise UserError(f"unknown render view {bad[0]!r} (choose from {', '.join(VIEWS)})")
        bad = [e for e in self.exports if e not in EXPORTS]
        if bad:
            raise UserError(f"unknown export {bad[0]!r} (choose from {', '.join(EXPORTS)})")
        if self.texture == "exemplar":
            raise UserError("--texture exemplar is for single avatars (generate): ~20 s each")
        if self.texture not in ("auto", "none", "photo", "fast"):
            raise UserError(f"unknown texture mode {self.texture!r} (choose from auto, none, photo, fast)")
        if not 64 <= self.size <= 4096:
            raise UserError(f"render size {self.size} is outside 64..4096 pixels")
        # canonical order: the same request always hashes the same
        object.__setattr__(self, "views", tuple(v for v in VIEWS if v in self.views or v == "front"))
        object.__setattr__(self, "exports", tuple(e for e in EXPORTS if e in self.exports))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def _makes_texture(self) -> bool:
        from inference.styles import load_style
        from inference.texture import texture_plan
        palette = json.loads(self.exemplar).get("palette") if self.exemplar else None
        return texture_plan(self.texture, load_style(self.style), palette)[0]

    def expected_files(self) -> list[str]:
        """The files a complete bundle for these settings holds."""
        files = ["avatar.json", "render.png", "report.json", "deformation.npy", "thumb.jpg", JOB_FILE]
        if "three-quarter" in self.views:
            files.append("render_three_quarter.png")
        if "turntable" in self.views:
            files += [f"turntable_{i:03d}.png" for i in range(TURNTABLE_FRAMES)]
        files += [f"avatar.{e}" for e in self.exports]
        if self._makes_texture():
            files.append("texture.png")
        return files


@dataclass
class PhotoEntry:
    """One input photo: its path, its path relative to the batch folder, its output name."""
    path: Path
    rel: str
    name: str
    sha256: str = ""
    key: str = ""


@dataclass
class JobResult:
    """What a worker sends back for one photo: plain data, picklable, Ray-friendly."""
    rel: str
    ok: bool
    message: str = ""
    exit_code: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    final: bool = True          # False: the failure was the worker's, worth a retry


def find_photos(root: str | os.PathLike, exclude: str | os.PathLike | None = None) -> list[PhotoEntry]:
    """Photos under ``root`` (recursively, hidden files and ``exclude`` skipped), sorted,
    each with a unique, filesystem-safe output name."""
    root = Path(root)
    skip = Path(exclude).resolve() if exclude else None
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and (skip is None or (here / d).resolve() != skip))
        for f in sorted(filenames):
            if not f.startswith(".") and Path(f).suffix.lower() in PHOTO_SUFFIXES:
                found.append((here / f).relative_to(root).as_posix())
    found.sort()
    names = unique_names(found)
    return [PhotoEntry(root / rel, rel, names[rel]) for rel in found]


def safe_name(rel: str) -> str:
    """A folder name for the photo at relative path ``rel``: unicode letters kept, path
    separators and anything a filesystem or shell could trip on replaced; never hidden,
    never empty, never ``..``."""
    stem = rel.rsplit(".", 1)[0] if "." in Path(rel).name else rel
    stem = unicodedata.normalize("NFC", stem).replace("/", "__").replace("\\", "__")
    stem = re.sub(r"[^\w.\-]+", "_", stem, flags=re.UNICODE)
    stem = stem.strip("._-") or "photo"
    encoded = stem.encode("utf-8")[:MAX_NAME]
    return encoded.decode("utf-8", errors="ignore").rstrip("._-") or "photo"


def unique_names(rels: list[str]) -> dict[str, str]:
    """:func:`safe_name` for each path; paths that would share a name (``a.jpg`` and
    ``a.png``, case-folding filesystems) get a short hash of the path appended."""
    base = {rel: safe_name(rel) for rel in rels}
    counts: dict[str, int] = {}
    for n in base.values():
        counts[n.casefold()] = counts.get(n.casefold(), 0) + 1
    out = {}
    for rel, n in base.items():
        if counts[n.casefold()] > 1:
            n = f"{n}-{hashlib.sha256(rel.encode('utf-8')).hexdigest()[:8]}"
        out[rel] = n
    return out


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Code and data versions that change a job's output."""
    from inference.fit import READING_PATH
    from inference.pipeline import VERSION
    from inference.styles import STYLE_SPACE_PATH
    from rigs.asset_library import ASSETS_PATH
    from rigs.rig_asset import ASSET_PATH, CORRESPONDENCE_PATH
    h = hashlib.sha256()
    for p in (ASSET_PATH, ASSETS_PATH, CORRESPONDENCE_PATH, READING_PATH, STYLE_SPACE_PATH):
        h.update(Path(p).read_bytes())
    return {"photo2avatar": VERSION, "data": h.hexdigest()[:16]}


def job_key(photo_sha256: str, settings: BatchSettings) -> str:
    """Hash of (photo bytes, settings, versions): equal keys mean equal outputs."""
    blob = json.dumps({"photo": photo_sha256, "settings": settings.to_dict(), "versions": versions()},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path: Path) -> dict | None:
    """A JSON file's content, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def bundle_complete(bundle: Path, key: str, settings: BatchSettings) -> bool:
    """True when ``bundle`` was made for ``key`` and holds every expected file."""
    job = read_json(bundle / JOB_FILE)
    return (job is not None and job.get("key") == key
            and all((bundle / f).is_file() for f in settings.expected_files()))
