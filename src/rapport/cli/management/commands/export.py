"""`rapport export`: everything held on a customer, as the API's JSON export document."""

import json
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from rapport.cli.shared import add_tenant_argument, command_error, require_app, system_actor
from rapport.exceptions import RapportError


def _write_privately(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only, whole or not at all."""
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = (
        "Print everything every installed app holds on a customer as one JSON document, the "
        "same as the API's export (GET /api/v1/customers/{code}/export)."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", metavar="CUSTOMER_CODE", help="The customer's code")
        parser.add_argument(
            "-o",
            "--output",
            metavar="FILE",
            default=None,
            help="Write the document to FILE (readable by you only); - for stdout (the default)",
        )
        add_tenant_argument(parser)

    def handle(self, *args, code, output, tenant, **options):
        require_app("privacy")
        from rapport.privacy.services import PrivacyService

        actor = system_actor(tenant)
        if output not in (None, "-") and (not output.strip() or Path(output).is_dir()):
            raise CommandError(f"Cannot write the export to {output!r}: give a file name")
        try:
            document = PrivacyService.export_customer(actor=actor, code=code)
        except RapportError as error:
            raise command_error(error) from None
        text = json.dumps(document, indent=2, ensure_ascii=False)
        if output in (None, "-"):
            self.stdout.write(text)
            return
        path = Path(output)
        try:
            _write_privately(path, text + "\n")
        except OSError as error:
            raise CommandError(f"Cannot write the export to {output!r}: {error.strerror}") from None
        customer = document["customer"]["code"]
        self.stdout.write(
            f"Exported customer {customer} ({len(document['sections'])} sections, "
            f"{path.stat().st_size:,} bytes) to {path}"
        )
