"""`rapport serve`: the API and admin behind gunicorn, with `--with-worker` a worker beside it."""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

# How long the server and the worker get to stop after a signal before they are killed.
STOP_SECONDS = 30


class Command(BaseCommand):
    help = "Serve rapport with gunicorn (http://127.0.0.1:8000 by default)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=None, help="Worker processes (default: 2 * cores + 1)"
        )
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument("--reload", action="store_true", help="Restart when code changes")
        parser.add_argument(
            "--no-access-log", action="store_true", help="Do not print a line per request"
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="Also run `rapport worker` for background and periodic tasks; both stop together",
        )

    def handle(
        self, *args, host, port, workers, threads, reload, no_access_log, with_worker, **options
    ):
        workers = workers or (2 * (os.cpu_count() or 1) + 1)
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "rapport.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
        if not no_access_log:
            argv += ["--access-logfile", "-"]
        if reload:
            argv.append("--reload")
        self.stdout.write(f"rapport serving on http://{host}:{port} ({workers} workers)")
        self.stdout.flush()
        if not with_worker:
            os.execv(sys.executable, argv)
        worker = [sys.executable, "-m", "rapport.cli", "worker"]
        sys.exit(supervise([argv, worker]))


def supervise(commands: list[list[str]]) -> int:
    """Run the commands side by side until a signal comes or one of them ends; then stop all.

    The children get process groups of their own, so a Ctrl-C reaches them once, from here, as
    a SIGTERM: the worker finishes its running task and gunicorn its requests. A second Ctrl-C
    is passed on too (the worker then stops at once); after STOP_SECONDS, whatever still runs
    is killed. The exit status is 0 after a signal, else that of the command which ended.
    """
    children: list[subprocess.Popen] = []
    signalled: list[int] = []

    def stop_all() -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def on_signal(signum, frame) -> None:
        signalled.append(signum)
        stop_all()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for command in commands:
            if not signalled:
                children.append(subprocess.Popen(command, process_group=0))
        while not signalled and all(child.poll() is None for child in children):
            time.sleep(0.2)
        ended = None if signalled else next(c for c in children if c.poll() is not None)
        stop_all()
        deadline = time.monotonic() + STOP_SECONDS
        while any(child.poll() is None for child in children):
            if time.monotonic() > deadline:
                for child in children:
                    if child.poll() is None:
                        child.kill()
            time.sleep(0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if ended is None:
        return 0
    print(f"rapport: {' '.join(ended.args[1:4])} ended; stopped the rest", file=sys.stderr)
    return abs(ended.returncode) or 1
