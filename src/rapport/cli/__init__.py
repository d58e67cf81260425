"""The `rapport` command: Django's management commands with rapport's settings."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError, ProgrammingError

    try:
        execute_from_command_line(["rapport", *(sys.argv[1:] if argv is None else argv)])
    except (OperationalError, ProgrammingError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else error
        sys.exit(f"rapport: the database is not ready ({first_line}); run `rapport migrate`")
