"""What rapport's customer commands share: the tenant option, the acting system, errors, prompts."""

import datetime as dt
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rapport.exceptions import RapportError
from rapport.tenancy.actors import Actor
from rapport.tenancy.services import TenantService

# How the commands sign their changes in timelines, merges and erasures: "system:cli".
ACTOR_NAME = "cli"


def one_line(text: str) -> str:
    return " ".join(text.split())


def aligned(rows: list[tuple[str, ...]], indent: str = "") -> list[str]:
    """Rows as text in columns, every column but the last padded to its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        (
            indent + "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        ).rstrip()
        for row in rows
    ]


def command_error(error: RapportError) -> CommandError:
    """A service's error as the one line a command prints, with what its fields add to it."""
    message = error.message.lower()
    detail = "; ".join(
        f"{name}: {problem}"
        for name, problem in error.fields.items()
        if problem.lower() not in message
    )
    return CommandError(one_line(f"{error.message} ({detail})" if detail else error.message))


def require_app(app: str) -> None:
    """Refuse to run a command whose optional app is not installed."""
    if not apps.is_installed(f"rapport.{app}"):
        raise CommandError(
            f"The {app} app is not installed: add rapport.{app} to INSTALLED_APPS to use this"
        )


def add_tenant_argument(parser) -> None:
    parser.add_argument("--tenant", default=None, help="Tenant slug (default: the default)")


def system_actor(tenant: str | None) -> Actor:
    """The command acting in the tenant with this slug (the default tenant when None)."""
    try:
        tenant_obj = TenantService.get_by_slug(tenant) if tenant else TenantService.get_default()
    except RapportError as error:
        raise command_error(error) from None
    return Actor.for_system(tenant_obj, ACTOR_NAME)


def ask(
    command: BaseCommand, stdin: TextIO | None, question: str, *, before: Iterable[str] = ()
) -> str | None:
    """The operator's answer to `question`, or None when no one is at a terminal to answer.

    The lines `before` and the question go to stderr, so stdout keeps what the command reports.
    """
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        return None
    for line in before:
        command.stderr.write(line, style_func=str)
    command.stderr.write(question, style_func=str, ending="")
    command.stderr.flush()
    return stdin.readline().strip()


def is_yes(answer: str | None) -> bool:
    return (answer or "").lower() in ("y", "yes")


def moment_option(option: str, text: str | None) -> dt.datetime | None:
    """An ISO 8601 date or time given to `option`; UTC when it has no offset."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} {text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def progress_bar(label: str) -> Progress:
    """A progress bar on stderr, shown only at a terminal: stdout keeps what a command reports."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
    )


def write_lines(path: Path, lines: Iterable[str], total: int, label: str) -> None:
    """Write an export readable by its owner only, whole or not at all, with a progress bar
    counting `total` rows (the header aside)."""
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    progress = progress_bar(label)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as output, progress:
            task = progress.add_task(label, total=total)
            for number, line in enumerate(lines):
                output.write(line)
                if number and number % 1000 == 0:
                    progress.update(task, completed=number)
            progress.update(task, completed=total)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
