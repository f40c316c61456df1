"""The add-on's side of the backend process (protocol: :mod:`inference.server`).

The heavy stack (MediaPipe, SciPy) runs in a subprocess of a configured Python, never in
Blender's own. :class:`BackendClient` starts it on the first request (without waiting:
requests queue in the pipe while it loads), keeps it warm between requests, restarts it
when it has died, and ends it with Blender (``atexit``) or the add-on. Nothing here
blocks: a reader thread files events under their job, and the UI polls :meth:`Job.poll`
from a timer. Headless callers use :meth:`Job.wait`.
"""
from __future__ import annotations

import atexit
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from inference.errors import UserError

PACKAGE_ROOT = Path(__file__).resolve().parents[1]   # holds inference/ and rigs/ (repo or the zip's lib/)


def backend_env(extra: dict | None = None) -> dict:
    """The environment of a backend process: this package importable, output unbuffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class BackendError(UserError):
    """The backend could not do the job; the message is for a person."""
    exit_code = 1


class Job:
    """One request's events; ``state`` is running, done, error or cancelled."""

    def __init__(self, job_id: str):
        self.id = job_id
        self.events: queue.Queue = queue.Queue()
        self.state = "running"
        self.fraction, self.message = 0.0, "starting the backend"
        self.result: dict | None = None
        self.error: str = ""
        self.code = 0
        self.proc = None        # the backend process that owns this job

    def poll(self) -> str:
        """Take in the events that arrived; returns the state."""
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                return self.state
            kind = ev.get("event")
            if kind == "progress":
                self.fraction, self.message = float(ev.get("fraction", 0.0)), str(ev.get("message", ""))
            elif kind == "result":
                self.state, self.result, self.fraction, self.message = "done", ev, 1.0, "done"
            elif kind == "error":
                self.state, self.error, self.code = "error", str(ev.get("message", "")), int(ev.get("code", 1))
            elif kind == "cancelled":
                self.state, self.message = "cancelled", "cancelled"

    def wait(self, timeout: float = 300.0) -> dict:
        """Block until the job ends; returns the result event or raises :class:`BackendError`."""
        end = time.monotonic() + timeout
        while self.poll() == "running":
            if time.monotonic() > end:
                raise BackendError(f"the backend did not answer within {timeout:.0f} s")
            time.sleep(0.01)
        if self.state == "error":
            err = BackendError(self.error)
            err.exit_code = self.code or 1
            raise err
        if self.state == "cancelled":
            raise BackendError("cancelled")
        return self.result


class BackendClient:
    """A warm backend subprocess speaking JSON lines."""

    def __init__(self, python: str | os.PathLike | None = None, log_path: str | os.PathLike | None = None,
                 env: dict | None = None):
        self.python = str(python or sys.executable)
        self.log_path = Path(log_path) if log_path else None
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.jobs: dict[str, Job] = {}
        self.ready: dict | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        atexit.register(self.close)

    # -- process --
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _start(self) -> None:
        if os.path.isabs(self.python) and not Path(self.python).is_file():
            raise BackendError(f"the backend Python {self.python} does not exist; set it in the add-on "
                               "preferences or press 'Set up backend'")
        env = backend_env(self.extra_env)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen([self.python, "-m", "inference.server"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log, env=env, cwd=str(PACKAGE_ROOT),
                                         text=True, encoding="utf-8", bufsize=1)
        except OSError as e:
            raise BackendError(f"cannot start the backend Python {self.python} ({e.strerror})") from None
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        self.ready = None
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == "ready":
                self.ready = ev
                continue
            job = self.jobs.get(str(ev.get("id")))
            if job is not None:
                job.events.put(ev)
        code = proc.wait()
        where = f"; its log is {self.log_path}" if self.log_path else ""
        with self._lock:
            for job in self.jobs.values():
                if job.proc is proc and job.state == "running":
                    job.events.put({"event": "error", "code": 1, "message":
                                    f"the backend stopped unexpectedly (exit code {code}){where}; "
                                    "it restarts on the next request"})

    def _send(self, msg: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass    # the reader reports the death to every running job

    # -- requests --
    def submit(self, op: str, **params) -> Job:
        """Send a request (starting the backend if needed); returns its :class:`Job` at once."""
        with self._lock:
            self.jobs = {k: j for k, j in self.jobs.items() if j.state == "running"}
            if not self.alive():
                self._start()
            job = Job(str(next(self._ids)))
            job.proc = self.proc
            self.jobs[job.id] = job
        self._send({"id": job.id, "op": op, **params})
        return job

    def analyze(self, photo: str | os.PathLike, style: str = "identity",
                style_image: str | os.PathLike | None = None) -> Job:
        """Photo -> avatar job; its result holds ``avatar`` (avatar.json data), ``report`` and,
        for a geometric style, ``deformation`` (head offsets at strength 1)."""
        params = {"photo": str(Path(photo).resolve()), "style": style}
        if style_image:
            params["style_image"] = str(Path(style_image).resolve())
        return self.submit("analyze", **params)

    def cancel(self, job: Job) -> None:
        """Ask the backend to stop ``job`` (it ends with state ``cancelled``)."""
        if self.alive() and job.state == "running":
            self._send({"id": f"cancel-{job.id}", "op": "cancel", "target": job.id})

    def forget(self, job: Job) -> None:
        self.jobs.pop(job.id, None)

    def close(self, timeout: float = 3.0) -> None:
        """End the backend: ``shutdown``, then terminate if it does not leave."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            proc.stdin.write(json.dumps({"op": "shutdown"}) + "\n")
            proc.stdin.close()
            proc.wait(timeout)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


_CLIENTS: dict[str, BackendClient] = {}


def shared_client(python: str | os.PathLike | None = None, log_path=None) -> BackendClient:
    """The one warm client per backend Python in this Blender session."""
    key = str(python or sys.executable)
    client = _CLIENTS.get(key)
    if client is None:
        client = _CLIENTS[key] = BackendClient(key, log_path=log_path)
    return client


def close_all() -> None:
    """End every backend this session started (add-on unregister)."""
    for c in _CLIENTS.values():
        c.close()
    _CLIENTS.clear()
