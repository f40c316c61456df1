"""Ray adapter for batch runs: the same :class:`~blender_addon.batch.PhotoJob` on Ray actors.

Each actor holds one warm backend and one Blender session (one CPU each); an
``ActorPool`` hands photos to idle actors, so at most one job per actor is in flight and
photo bytes travel through Ray's object store. Results come back as plain
:class:`~inference.batch_plan.JobResult` data and the driver writes them, so the cluster
nodes need the package installed but no shared filesystem.

``address``: ``"local"`` starts a private local instance with ``workers`` CPUs;
anything else (``"auto"``, ``"ray://head:10001"``) connects to an existing cluster.
"""
from __future__ import annotations

import os

from inference.batch_plan import JobResult
from inference.errors import UserError


class _RayPhotoJob:
    def __init__(self):
        from .environment import contain_caches
        contain_caches()
        from .batch import PhotoJob
        self.job = PhotoJob()

    def run(self, data: bytes, rel: str, settings: dict) -> JobResult:
        return self.job.run(data, rel, settings)


def ray_results(jobs, address: str, workers: int):
    """Yield a :class:`JobResult` per job, in completion order, computed on Ray actors."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise UserError("--ray needs the 'ray' package in this Python (pip install ray)") from None
    local = address in ("local", "", None)
    env = {"env_vars": {k: v for k, v in os.environ.items()
                        if k in ("PHOTO2AVATAR_CACHE_DIR", "PYTHONPATH")}}
    started = not ray.is_initialized()
    if started:
        try:
            if local:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR", configure_logging=True, runtime_env=env)
            else:
                ray.init(address=address, log_to_driver=False, logging_level="ERROR", runtime_env=env)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise UserError(f"cannot connect to the Ray cluster at {address!r} ({e})") from None
    try:
        actor = ray.remote(num_cpus=1)(_RayPhotoJob)
        pool = ActorPool([actor.remote() for _ in range(workers)])
        yield from _map(pool, jobs)
    finally:
        if started:
            ray.shutdown()


def _map(pool, jobs):
    """Like ``ActorPool.map_unordered``, but reads the next photo only when an actor is
    free (map_unordered would queue every photo's bytes up front)."""
    from ray.exceptions import RayActorError
    jobs = iter(jobs)
    while True:
        while pool.has_free():
            j = next(jobs, None)
            if j is None:
                break
            pool.submit(lambda a, job: a.run.remote(*job), j)
        if not pool.has_next():
            return
        try:
            yield pool.get_next_unordered()
        except RayActorError as e:
            raise UserError(f"a Ray worker died ({e}); rerun the batch to resume") from None
