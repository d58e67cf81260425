"""`rapport erase`: anonymize a person everywhere, after the operator types their code again."""

from django.core.management.base import BaseCommand, CommandError

from rapport.cli.shared import (
    add_tenant_argument,
    ask,
    command_error,
    require_app,
    system_actor,
)
from rapport.customers.selectors import customer_detail
from rapport.exceptions import RapportError


class Command(BaseCommand):
    help = (
        "Erase a customer's personal data in every app, as the API's erase does: the code and "
        "the shape of their history stay. It cannot be undone, so it asks for the code again."
    )
    stealth_options = ("stdin",)  # tests and scripts may hand the prompt another terminal

    def add_arguments(self, parser):
        parser.add_argument("code", metavar="CUSTOMER_CODE", help="The customer's code")
        parser.add_argument(
            "--request",
            metavar="REQUEST_ID",
            default=None,
            help="The open erasure request this answers; it is marked completed",
        )
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask for the code again (for scripts)"
        )
        add_tenant_argument(parser)

    def handle(self, *args, code, request, yes, tenant, **options):
        require_app("privacy")
        from rapport.privacy.services import DataSubjectRequestService, PrivacyService

        actor = system_actor(tenant)
        customer = customer_detail(tenant=actor.tenant, code=code)
        if customer is None:
            raise CommandError(f"No customer with code {code!r}")
        if customer.erased_at is not None:
            raise CommandError(f"The data of customer {customer.code!r} was already erased")
        try:
            answered = (
                DataSubjectRequestService.get_request(actor=actor, request_id=request)
                if request is not None
                else None
            )
            if not yes:
                self._confirm(code, customer, answered, options.get("stdin"))
            record = PrivacyService.erase_customer(
                actor=actor, code=customer.code, request_id=answered.uuid if answered else None
            )
        except RapportError as error:
            raise command_error(error) from None
        self._report(record, answered)

    def _confirm(self, code: str, customer, answered, stdin) -> None:
        """Mirror the API's rule: the erasure goes ahead only when the code is given again."""
        lines = []
        if code != customer.code:
            lines.append(f"{code} was merged into {customer.code}: it is one person.")
        lines += [
            f"Erase the personal data of customer {customer.code} ({customer.display_name}) "
            "and of any record merged into it.",
            "Names, contacts, addresses, notes and identifiers are anonymized in every app; "
            "this cannot be undone.",
        ]
        if answered is not None:
            lines.append(
                f"It answers {answered.get_kind_display().lower()} request {answered.uuid}, "
                f"received {answered.received_at.date().isoformat()}."
            )
        question = f"Type the customer's code ({customer.code}) to erase: "
        answer = ask(self, stdin, question, before=lines)
        if answer is None:
            raise CommandError(
                "Not erased: no terminal to confirm at; add --yes to erase without asking"
            )
        if answer != customer.code:
            raise CommandError("Not erased: the code typed does not match")

    def _report(self, record, answered) -> None:
        counts = ", ".join(f"{app} {count:,}" for app, count in sorted(record.counts.items()))
        lines = [
            f"Erased the personal data of customer {record.customer_code}.",
            f"  erasure    {record.uuid}",
        ]
        if answered is not None:
            lines.append(f"  request    {answered.uuid} (now completed)")
        lines += [
            f"  erased by  {record.erased_by}",
            f"  erased at  {record.erased_at.isoformat(timespec='seconds')}",
            f"  rows changed, by app: {counts}",
        ]
        for line in lines:
            self.stdout.write(line)
