"""`rapport serve`: the API and admin behind gunicorn."""

import os
import sys

from django.core.management.base import BaseCommand


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

    def handle(self, *args, host, port, workers, threads, reload, no_access_log, **options):
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
        os.execv(sys.executable, argv)
