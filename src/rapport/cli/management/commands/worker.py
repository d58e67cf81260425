"""`rapport worker`: run the queued background tasks, and enqueue the schedule's due runs.

The task loop is the database backend's own worker (django_tasks_db); the scheduler ticks in
a thread beside it. Any number of workers, on any number of machines, can share one database:
each task is claimed by one worker, and each due run of the schedule is enqueued once.
"""

import logging
import os
import signal
import socket
import threading
from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection, connections
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db import DatabaseBackend
from django_tasks_db.management.commands.db_worker import (
    Worker,
    valid_interval,
    validate_worker_id,
)

from rapport.jobs import schedule
from rapport.jobs.services import Scheduler

TICK_SECONDS = 1.0
LOGGERS = ("rapport.jobs", "django_tasks", "django_tasks_db")
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGQUIT") if hasattr(signal, name)
)


def interval(text: str) -> float:
    try:
        return valid_interval(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a number of seconds") from None


class Command(BaseCommand):
    help = (
        "Run background tasks from the database queue, and enqueue the periodic schedule's "
        "due runs. Start as many as you like, on as many machines as share the database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue",
            default="default",
            help="Queues to take tasks from, comma-separated; '*' for all (default: default)",
        )
        parser.add_argument(
            "--interval",
            type=interval,
            default=1.0,
            help="Seconds to wait when the queue is empty (default: 1)",
        )
        parser.add_argument(
            "--no-schedule", action="store_true", help="Only run tasks; enqueue no periodic runs"
        )
        parser.add_argument(
            "--once",
            "--batch",
            action="store_true",
            dest="once",
            help="Enqueue what the schedule has due, run every queued task, then exit",
        )
        parser.add_argument(
            "--worker-id",
            type=validate_worker_id,
            default=f"{socket.gethostname()}-{os.getpid()}"[:64],
            help="A name unique among the workers (default: host name and process id)",
        )

    def handle(self, *args, queue, interval, no_schedule, once, worker_id, **options):
        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        queues = [name.strip() for name in queue.split(",") if name.strip()]
        unknown = sorted(set(queues) - backend.queues - {"*"})
        if not queues or unknown:
            raise CommandError(
                f"--queue {queue!r}: the queues are {', '.join(sorted(backend.queues))} (or '*')"
            )
        restore_logging = self._configure_logging(options["verbosity"])
        previous_signals = {sig: signal.getsignal(sig) for sig in SIGNALS}
        try:
            scheduler = None if no_schedule else Scheduler(worker_id=worker_id)
            self._announce(backend, worker_id, queues, scheduler)
            if isinstance(backend, DatabaseBackend):
                self._work(backend, worker_id, queues, interval, scheduler, once)
            else:
                self._schedule_only(scheduler, once)
        finally:
            for sig, handler in previous_signals.items():
                signal.signal(sig, handler)
            restore_logging()

    def _work(self, backend, worker_id, queues, interval, scheduler, once):
        worker = Worker(
            queue_names=queues,
            interval=interval,
            batch=once,
            backend_name=backend.alias,
            startup_delay=not once,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        worker.configure_signals()  # the first signal lets the running task finish
        if once:
            if scheduler is not None:
                scheduler.tick()
            worker.run()
            return
        stop = threading.Event()
        ticking = threading.Thread(
            target=_tick_until, args=(scheduler, stop), name="scheduler", daemon=True
        )
        if scheduler is not None:
            ticking.start()
        try:
            worker.run()
        finally:
            stop.set()
            if ticking.is_alive():
                ticking.join(timeout=30)
            logging.getLogger("rapport.jobs").info("Worker %s stopped", worker_id)

    def _schedule_only(self, scheduler, once):
        """Tasks run where they are enqueued: all that is left here is the schedule."""
        if scheduler is None:
            raise CommandError(
                "The task backend runs tasks as they are enqueued and --no-schedule is given: "
                "this worker would have nothing to do"
            )
        if once:
            scheduler.tick()
            return
        stop = threading.Event()
        for sig in SIGNALS:
            signal.signal(sig, lambda signum, frame: stop.set())
        _tick_until(scheduler, stop)
        logging.getLogger("rapport.jobs").info("Worker stopped")

    def _announce(self, backend, worker_id, queues, scheduler):
        log = logging.getLogger("rapport.jobs")
        kind = "database" if isinstance(backend, DatabaseBackend) else "immediate"
        log.info(
            "Worker %s: %s task backend on %s, queues %s",
            worker_id,
            kind,
            connection.vendor,
            ",".join(queues),
        )
        if kind != "database":
            log.warning("Tasks run as they are enqueued (RAPPORT_TASKS_BACKEND=immediate)")
        if scheduler is None:
            log.info("Schedule: off (--no-schedule)")
            return
        entries, problems = schedule.read()
        for problem in problems:
            log.error("Schedule: %s", problem)
        for entry in entries:
            state = "skipped, its app is not installed" if entry.is_skipped() else entry.task_path
            log.info("Schedule: %s %s (%s)", entry.name, entry.cadence, state)

    def _configure_logging(self, verbosity: int):
        """Log lines on stdout while the worker runs; returns what puts things back."""
        level = {0: logging.CRITICAL, 1: logging.INFO}.get(verbosity, logging.DEBUG)
        handler = logging.StreamHandler(self.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        saved = []
        for name in LOGGERS:
            logger = logging.getLogger(name)
            saved.append((logger, logger.level, logger.propagate))
            logger.setLevel(level)
            logger.propagate = False
            logger.addHandler(handler)

        def restore() -> None:
            for logger, old_level, propagate in saved:
                logger.removeHandler(handler)
                logger.setLevel(old_level)
                logger.propagate = propagate

        return restore


def _tick_until(scheduler: Scheduler, stop: threading.Event) -> None:
    """Tick about once a second until `stop` is set; a failed tick is logged, not fatal."""
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                scheduler.tick()
            except Exception:
                logging.getLogger("rapport.jobs").exception("The scheduler's tick failed")
            stop.wait(TICK_SECONDS)
    finally:
        connections.close_all()
