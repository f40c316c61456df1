"""Batch headless: a folder of photos -> avatar bundles, renders, exports and a contact sheet.

    OUT/avatars/<name>/   one bundle per photo (+ thumb.jpg, job.json, renders, exports)
    OUT/failed/<name>.json  why a photo failed (same key: skipped on rerun)
    OUT/index.html        contact sheet: photo | renders | key parameters
    OUT/summary.json      counts and mean seconds per stage
    OUT/batch.log         one line per photo, tracebacks of internal errors

Workers run :class:`PhotoJob`, a pure function of (photo bytes, settings, versions) that
returns the bundle's files as bytes; only this driver writes, one atomic rename per
bundle, so a run killed at any moment leaves complete bundles or none, and the same job
maps onto a process pool or a Ray cluster (:mod:`blender_addon.batch_ray`).
"""
from __future__ import annotations

import html
import json
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from inference.avatar import write_text_atomic
from inference.batch_plan import (JOB_FILE, PHOTO_SUFFIXES, BatchSettings, JobResult, PhotoEntry, bundle_complete,
                                  find_photos, hash_file, job_key, read_json, versions)
from inference.bundle_io import recover_interrupted, write_bundle_files
from inference.errors import InputError, UsageError, UserError

BATCH_INCOMPLETE = 8     # exit code: the batch finished, some photos failed
THUMB_SIDE = 256
STAGES = ("load", "perceive", "fit", "colors", "assets", "build", "render", "export", "job")


class PhotoJob:
    """One warm backend and one Blender scene; photo bytes -> bundle file bytes."""

    def __init__(self):
        from inference.pipeline import Backend
        self.backend = Backend()
        self.writers: dict = {}

    def _writer(self, settings: BatchSettings):
        from .bundle import BundleWriter
        key = (settings.look, settings.size)
        if key not in self.writers:
            self.writers.clear()            # one avatar per scene: the new writer rebuilds it
            self.writers[key] = BundleWriter(look=settings.look, size=settings.size)
        return self.writers[key]

    def run(self, data: bytes, rel: str, settings: dict) -> JobResult:
        """Make the bundle files for one photo; never raises for a bad photo."""
        from inference.photo_io import decode_photo
        t = time.perf_counter()
        try:
            s = BatchSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
            photo = decode_photo(data, rel)
            decoded = time.perf_counter() - t
            analysis = self.backend.analyze(photo, style=s.style, texture=s.texture,
                                            exemplar=json.loads(s.exemplar) if s.exemplar else None)
            analysis.report["timings_s"]["load"] = round(decoded, 4)
            with tempfile.TemporaryDirectory(prefix="photo2avatar-job-") as tmp:
                self._writer(s).write_into(analysis, tmp, views=s.views, exports=s.exports)
                _write_thumb(photo.rgb, Path(tmp) / "thumb.jpg")
                files = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())
                         if p.is_file() and not p.name.startswith(".")}
            timings = dict(analysis.report["timings_s"])
            timings["job"] = round(time.perf_counter() - t, 4)
            return JobResult(rel, True, files=files, timings=timings)
        except UserError as e:
            msg = str(e) if str(e).startswith(rel) else f"{rel}: {e}"
            return JobResult(rel, False, msg, e.exit_code, timings={"job": time.perf_counter() - t})
        except Exception as e:      # a bug: this photo fails, the batch goes on, the log keeps the trace
            return JobResult(rel, False, f"{rel}: internal error ({type(e).__name__}: {e})\n"
                             f"{traceback.format_exc()}",
                             1, timings={"job": time.perf_counter() - t}, final=False)


def _write_thumb(rgb, path: Path) -> None:
    from PIL import Image
    im = Image.fromarray(rgb)
    im.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.LANCZOS)
    im.save(path, quality=85)


# -- executors: an iterable of (bytes, rel, settings) in, JobResults out (completion order) --

def in_process_results(jobs, workers: int = 1):
    """Run every job in this process with one warm :class:`PhotoJob`."""
    job = PhotoJob()
    try:
        for j in jobs:
            yield job.run(*j)
    finally:
        job.backend.close()


_WORKER: PhotoJob | None = None


def _init_worker() -> None:
    global _WORKER
    from .environment import contain_caches
    contain_caches()
    _WORKER = PhotoJob()


def _run_in_worker(data: bytes, rel: str, settings: dict) -> JobResult:
    return _WORKER.run(data, rel, settings)


def process_pool_results(jobs, workers: int, run=_run_in_worker, initializer=_init_worker):
    """Run jobs on ``workers`` spawned processes, each with its own warm backend and Blender
    session. A worker that dies fails only the photos in flight (retried on the next run);
    the pool is restarted for the rest. ``run``/``initializer`` are module-level functions
    (replaceable to inject faults)."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    jobs = iter(jobs)
    pending: dict = {}
    pool = None
    exhausted = False
    try:
        while True:
            if pool is None:
                pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                           initializer=initializer)
            while not exhausted and len(pending) < 2 * workers:
                j = next(jobs, None)
                if j is None:
                    exhausted = True
                    break
                pending[pool.submit(run, *j)] = j[1]
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for f in done:
                rel = pending.pop(f)
                try:
                    yield f.result()
                except BrokenProcessPool:
                    broken = True
                    yield JobResult(rel, False, "the worker process died while making this avatar",
                                    1, final=False)
            if broken:
                for f, rel in list(pending.items()):
                    yield JobResult(rel, False, "the worker process died while making this avatar",
                                    1, final=False)
                pending.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# -- progress --

class BatchProgress:
    """A bar with ETA on a terminal, one plain line per photo otherwise; both go to the log."""

    def __init__(self, total: int, todo: int, stream=None, log_path: Path | None = None, quiet=False):
        self.total, self.todo, self.quiet = total, todo, quiet
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.counts = {"ok": 0, "failed": 0, "skipped": 0}
        self.done = 0
        self.t0 = time.perf_counter()

    def _log(self, line: str) -> None:
        if self.log:
            self.log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
            self.log.flush()

    def note(self, line: str) -> None:
        self._log(line)
        if not self.quiet:
            if self.tty:
                self.stream.write("\r\033[K")
            print(line, file=self.stream, flush=True)

    def skipped(self, entry: PhotoEntry, why: str) -> None:
        self.counts["skipped"] += 1
        self._log(f"skipped {entry.rel}: {why}")

    def finished(self, rel: str, result: JobResult) -> None:
        self.done += 1
        self.counts["ok" if result.ok else "failed"] += 1
        n = sum(self.counts.values())
        first = result.message.splitlines()[0] if result.message else ""
        line = (f"[{n}/{self.total}] " + (f"ok      {rel} ({result.timings.get('job', 0):.1f} s)"
                                          if result.ok else f"failed  {first}"))
        self._log(line if result.ok or "\n" not in result.message else f"{line}\n{result.message}")
        if self.quiet:
            return
        if not self.tty:
            print(line, file=self.stream, flush=True)
            return
        if not result.ok:
            self.stream.write("\r\033[K" + line + "\n")
        elapsed = time.perf_counter() - self.t0
        rate = elapsed / max(self.done, 1)
        eta = rate * (self.todo - self.done)
        width = 28
        fill = round(width * n / max(self.total, 1))
        self.stream.write(f"\r\033[K[{'#' * fill}{'.' * (width - fill)}] {n}/{self.total}  "
                          f"ok {self.counts['ok']}  failed {self.counts['failed']}  "
                          f"skipped {self.counts['skipped']}  {rate:.1f} s/photo  "
                          f"ETA {int(eta // 60)}:{int(eta % 60):02d}")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")
        if self.log:
            self.log.close()


# -- the driver --

@dataclass
class BatchSummary:
    """Counts, times and failures of one run (also written as ``summary.json``)."""
    total: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_failed: int = 0
    seconds: float = 0.0
    avatars_per_minute: float = 0.0
    stage_mean_s: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    workers: int = 1
    executor: str = "in-process"

    @property
    def exit_code(self) -> int:
        return BATCH_INCOMPLETE if self.failed or self.skipped_failed else 0


def run_batch(photos_dir, out_dir, settings: BatchSettings = BatchSettings(), workers: int = 1,
              ray_address: str | None = None, retry_failed: bool = False, quiet: bool = False,
              stream=None) -> BatchSummary:
    """Make an avatar bundle for every photo under ``photos_dir`` into ``out_dir``.

    Resumable: photos whose bundle is complete for the same (bytes, settings, versions)
    are skipped, as are photos that failed for the same key (unless ``retry_failed``).
    ``ray_address`` (``"local"`` for a local instance) runs the jobs on Ray actors.
    """
    photos_dir, out = Path(photos_dir), Path(out_dir)
    if not photos_dir.is_dir():
        raise InputError(f"{photos_dir}: no such folder")
    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    avatars, failed_dir = out / "avatars", out / "failed"
    entries = [e for e in find_photos(photos_dir, exclude=out)
               if avatars.resolve() not in e.path.resolve().parents]
    if not entries:
        raise InputError(f"{photos_dir}: no photos ({', '.join(PHOTO_SUFFIXES)}) in this folder")
    avatars.mkdir(parents=True, exist_ok=True)
    failed_dir.mkdir(exist_ok=True)
    recovered = recover_interrupted(avatars)

    summary = BatchSummary(total=len(entries), settings=settings.to_dict(), versions=versions(),
                           workers=workers,
                           executor="ray" if ray_address else ("processes" if workers > 1 else "in-process"))
    todo, skips = [], []
    for e in entries:
        e.sha256 = hash_file(e.path)
        e.key = job_key(e.sha256, settings)
        if bundle_complete(avatars / e.name, e.key, settings):
            summary.skipped += 1
            skips.append((e, "complete"))
            continue
        record = read_json(failed_dir / f"{e.name}.json")
        if record and record.get("key") == e.key and not retry_failed:
            summary.skipped_failed += 1
            first = record.get("message", "").splitlines()[:1]
            summary.failures.append({"photo": e.rel, "message": "".join(first), "earlier": True})
            skips.append((e, "failed before with the same input"))
            continue
        todo.append(e)

    progress = BatchProgress(len(entries), len(todo), stream=stream, log_path=out / "batch.log", quiet=quiet)
    progress.note(f"photo2avatar batch: {len(entries)} photos, {len(todo)} to make, "
                  f"{summary.skipped} complete, {summary.skipped_failed} failed before"
                  + (f", {recovered} interrupted writes cleaned up" if recovered else "")
                  + f" ({summary.executor}, {workers} worker{'s' if workers > 1 else ''})")
    for e, why in skips:
        progress.skipped(e, why)
    by_rel = {e.rel: e for e in todo}
    sdict = settings.to_dict()
    jobs = ((e.path.read_bytes(), e.rel, sdict) for e in todo)
    if ray_address:
        from .batch_ray import ray_results
        results = ray_results(jobs, ray_address, workers)
    elif workers > 1:
        results = process_pool_results(jobs, workers)
    else:
        results = in_process_results(jobs)

    stage_sum: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        for r in results:
            e = by_rel[r.rel]
            if r.ok:
                _commit(avatars / e.name, e, r, settings)
                (failed_dir / f"{e.name}.json").unlink(missing_ok=True)
                summary.ok += 1
                for k, v in r.timings.items():
                    stage_sum[k] = stage_sum.get(k, 0.0) + v
            else:
                summary.failed += 1
                summary.failures.append({"photo": e.rel, "message": r.message.splitlines()[0]})
                if r.final:
                    write_text_atomic(failed_dir / f"{e.name}.json", json.dumps(
                        {"key": e.key, "photo": e.rel, "message": r.message, "exit_code": r.exit_code},
                        indent=1, ensure_ascii=False) + "\n")
            progress.finished(e.rel, r)
    finally:
        if hasattr(results, "close"):
            results.close()
        summary.seconds = round(time.perf_counter() - t0, 3)
        summary.avatars_per_minute = round(60.0 * summary.ok / summary.seconds, 2) if summary.ok else 0.0
        summary.stage_mean_s = {k: round(stage_sum[k] / summary.ok, 4) for k in STAGES
                                if k in stage_sum and summary.ok}
        progress.close()
        write_text_atomic(out / "summary.json", json.dumps(asdict(summary), indent=1, ensure_ascii=False) + "\n")
        write_contact_sheet(out / "index.html", entries, avatars, failed_dir, summary)
    return summary


def _commit(bundle: Path, e: PhotoEntry, r: JobResult, settings: BatchSettings) -> None:
    job = {"key": e.key, "photo": e.rel, "photo_sha256": e.sha256, "settings": settings.to_dict(),
           "versions": versions(), "timings_s": r.timings,
           "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    files = dict(r.files)
    files[JOB_FILE] = (json.dumps(job, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    write_bundle_files(bundle, files, force=True)


# -- the contact sheet --

_CSS = """body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:6px;vertical-align:top;text-align:left}
img{height:160px;border-radius:4px;background:#eee}.strip img{height:64px}
.sw{display:inline-block;width:14px;height:14px;border:1px solid #888;vertical-align:middle;margin-right:3px}
.fail{color:#b00020}.small{color:#666;font-size:12px}code{font-size:12px}"""


def write_contact_sheet(path: Path, entries: list[PhotoEntry], avatars: Path, failed_dir: Path,
                        summary: BatchSummary) -> None:
    """``index.html``: one row per photo (photo | renders | key parameters), failures in red."""
    esc = html.escape
    rows = []
    for e in entries:
        b = avatars / e.name
        link = "avatars/" + quote(e.name)
        job, avatar = read_json(b / JOB_FILE), read_json(b / "avatar.json")
        if job and avatar:
            report = read_json(b / "report.json") or {}
            renders = "".join(f'<img src="{link}/{f}" alt="{f}">' for f in
                              ("render.png", "render_three_quarter.png") if (b / f).exists())
            frames = sorted(p.name for p in b.glob("turntable_*.png"))
            if frames:
                renders += '<div class="strip">' + "".join(f'<img src="{link}/{f}" alt="">' for f in frames) + "</div>"
            rows.append(f"<tr><td><img src=\"{link}/thumb.jpg\" alt=\"photo\"><br>{esc(e.rel)}</td>"
                        f"<td>{renders}</td><td>{_parameters_html(avatar, report, link, b)}</td></tr>")
        else:
            rec = read_json(failed_dir / f"{e.name}.json")
            msg = rec["message"].splitlines()[0] if rec else "not made yet"
            rows.append(f'<tr><td>{esc(e.rel)}</td><td class="fail" colspan="2">{esc(msg)}</td></tr>')
    s = summary
    head = (f"<h1>photo2avatar batch</h1><p>{s.total} photos: {s.ok} made, {s.skipped} already complete, "
            f"{s.failed + s.skipped_failed} failed &middot; style <b>{esc(s.settings.get('style', ''))}</b>, "
            f"look {esc(s.settings.get('look', ''))}, {s.settings.get('size')} px &middot; "
            f"<span class=small>versions {esc(json.dumps(s.versions))}</span></p>")
    doc = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>photo2avatar batch</title>"
           f"<style>{_CSS}</style></head><body>{head}<table><tr><th>photo</th><th>avatar</th>"
           f"<th>parameters</th></tr>{''.join(rows)}</table></body></html>\n")
    write_text_atomic(path, doc)


def _parameters_html(avatar: dict, report: dict, link: str, bundle: Path) -> str:
    esc = html.escape
    a = avatar.get("assets", {})
    parts = [" &middot; ".join(f"{k} <b>{esc(str(v))}</b>" for k, v in a.items())]
    parts.append("".join(f'<span class="sw" style="background:{esc(c)}" title="{esc(k)} {esc(c)}"></span>'
                         for k, c in avatar.get("colors", {}).items()))
    shape = sorted(avatar.get("shape", {}).items(), key=lambda kv: -abs(kv[1]))[:4]
    parts.append("<span class=small>" + ", ".join(f"{esc(k)} {v:+.2f}" for k, v in shape if abs(v) > 0.01)
                 + "</span>")
    pose = report.get("pose_deg")
    if pose:
        parts.append(f"<span class=small>yaw {pose['yaw']:.0f}&deg; pitch {pose['pitch']:.0f}&deg;</span>")
    for w in report.get("warnings", []):
        parts.append(f'<span class="small fail">{esc(w)}</span>')
    files = [f for f in ("avatar.json", "avatar.glb", "avatar.blend") if (bundle / f).exists()]
    parts.append(" ".join(f'<a href="{link}/{f}">{f}</a>' for f in files))
    return "<br>".join(p for p in parts if p)
