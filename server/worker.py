"""Background workers: the RQ worker class, and a pool of worker processes.

`MemoryWorker` is an RQ SimpleWorker: jobs run in the worker process instead of a fork
per job, so the embedding model and tokenizers load once, not once per job (onnxruntime's
thread pool does not survive a fork either). Because of that, one process runs one job
at a time; concurrency comes from more processes (`run_pool`), each loading the model once.

The redelivery timeout (the seed's `--redelivery-timeout`, from its Docket workers) maps
onto RQ like this: every job the worker runs gets that many seconds (RQ's job timeout; a
job that runs longer is stopped and retried under its retry policy), and a job whose worker
died is redelivered (RQ's abandoned-job cleanup) once that timeout plus 60 seconds pass,
found by the next maintenance pass of any worker, which then runs every that many seconds.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any

import django_rq
from django.conf import settings
from rq import Queue
from rq.job import Job
from rq.worker import SimpleWorker

from memoryserver.config import BASE_DIR
from memoryserver.observability.request_id import current_request_id
from memoryserver.queues import note_queue_depth
from memoryserver.repositories.jobs import count_job_failure
from memoryserver.startup import check_redis

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2


class MemoryWorker(SimpleWorker):
    """Runs jobs in-process, with an optional fixed job timeout; counts failures for /metrics."""

    def __init__(self, *args: Any, job_timeout: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job_timeout = job_timeout

    def execute_job(self, job: Job, queue: Queue) -> None:
        if self.job_timeout is not None:
            # Before the job is registered as started: its registry entry lives timeout + 60 s.
            job.timeout = self.job_timeout
        note_queue_depth(queue, -1)  # one job fewer waiting, for the console's chart of the last hour
        # The job id stands in for a request id in every log line the job writes.
        token = current_request_id.set(f"job:{job.id}")
        try:
            super().execute_job(job, queue)
        finally:
            current_request_id.reset(token)

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        try:
            count_job_failure(self.connection, job.origin)
        except Exception as error:  # counting must never hide the job's own failure
            log.warning("Job failure not counted: %s", type(error).__name__)
        super().handle_exception(job, *exc_info)


def run_worker(*, burst: bool, redelivery_timeout: int | None) -> bool:
    """Work on every task queue in this process; True if any job ran.

    The process first lowers its CPU priority by WORKER_NICENESS: background work (entity
    tagging of a large ingest, summaries) then takes only the CPU the web processes and
    Redis leave, instead of slowing the requests on a small machine.
    """
    check_redis()
    if settings.WORKER_NICENESS:
        os.nice(settings.WORKER_NICENESS)
    options: dict[str, Any] = {"job_timeout": redelivery_timeout}
    if redelivery_timeout is not None:
        options["maintenance_interval"] = redelivery_timeout
    worker = django_rq.get_worker(*settings.TASK_QUEUES, worker_class=f"{__name__}.MemoryWorker", **options)
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level=level))


def run_pool(count: int, child_options: list[str]) -> int:
    """Run `count` worker processes until they all stop; returns the first failing exit status.

    Each child is `django worker --concurrency 1 ...` in a session of its own, so a Ctrl+C
    reaches it once, forwarded by this process (RQ treats a second signal as "stop now").
    When a child fails, the others are stopped too, and a supervisor may restart the pool.
    """
    command = [sys.executable, "-m", "django", "worker", "--concurrency", "1", *child_options]
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "memoryserver.settings")
    # The project's packages, when it runs from a checkout rather than an install.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BASE_DIR), os.environ.get("PYTHONPATH")) if p)
    children = [subprocess.Popen(command, env=env, start_new_session=True) for _ in range(count)]
    log.info("Started %d worker processes: %s", count, " ".join(str(child.pid) for child in children))

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _wait_for(children)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def _wait_for(children: list[subprocess.Popen[bytes]]) -> int:
    while True:
        codes = [child.poll() for child in children]
        failed = [code for code in codes if code not in (None, 0)]
        if failed:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                child.wait()
            code = failed[0]
            return code if code > 0 else 128 - code  # killed by a signal: 128 + its number
        if all(code == 0 for code in codes):
            return 0
        time.sleep(POLL_SECONDS)
