"""`rapport merge`: merge a duplicate customer into a survivor after showing what would happen."""

from django.core.management.base import BaseCommand, CommandError

from rapport.cli.shared import (
    add_tenant_argument,
    aligned,
    ask,
    command_error,
    is_yes,
    require_app,
    system_actor,
)
from rapport.exceptions import RapportError


def _value(value) -> str:
    return "—" if value is None or value == "" else str(value)


def _values(detail: dict) -> str:
    """The values a step compares: the survivor's and the duplicate's, or the tags it adds."""
    if "survivor" in detail and "duplicate" in detail:
        return f"{_value(detail['survivor'])} / {_value(detail['duplicate'])}"
    parts = []
    if detail.get("added"):
        parts.append("adds " + ", ".join(map(str, detail["added"])))
    if detail.get("already_on_survivor"):
        parts.append("has " + ", ".join(map(str, detail["already_on_survivor"])))
    return "; ".join(parts)


def _plan_table(plan) -> list[str]:
    """The preview's steps as aligned lines: app, what, action, the values, why."""
    rows = [("app", "what", "action", "survivor / duplicate", "why")]
    rows += [(step.app, step.what, step.action, _values(step.detail), step.reason) for step in plan]
    return aligned(rows, indent="  ")


class Command(BaseCommand):
    help = (
        "Merge a DUPLICATE customer into a SURVIVOR: shows the evidence and what moves, then "
        "asks. --undo MERGE_ID separates them again."
    )
    stealth_options = ("stdin",)  # tests and scripts may hand the prompt another terminal

    def add_arguments(self, parser):
        parser.add_argument("survivor", nargs="?", help="Code of the customer that stays")
        parser.add_argument("duplicate", nargs="?", help="Code of the customer merged into it")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would happen; change nothing"
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation")
        parser.add_argument(
            "--override-reason",
            default="",
            metavar="WHY",
            help="Merge without enough evidence, saying why (kept with the merge)",
        )
        parser.add_argument(
            "--undo", metavar="MERGE_ID", default=None, help="Undo this merge instead"
        )
        add_tenant_argument(parser)

    def handle(
        self, *args, survivor, duplicate, dry_run, yes, undo, override_reason, tenant, **options
    ):
        if undo is not None:
            if survivor or duplicate:
                raise CommandError("Give either SURVIVOR DUPLICATE or --undo MERGE_ID, not both")
            if dry_run or override_reason:
                raise CommandError("--dry-run and --override-reason are about a merge, not --undo")
        elif not (survivor and duplicate):
            raise CommandError(
                "Give the survivor's code and the duplicate's code, or --undo MERGE_ID"
            )
        require_app("identity")
        actor = system_actor(tenant)
        stdin = options.get("stdin")
        try:
            if undo is not None:
                self._undo(actor, undo, yes=yes, stdin=stdin)
            else:
                self._merge(
                    actor,
                    survivor,
                    duplicate,
                    override_reason=override_reason.strip(),
                    dry_run=dry_run,
                    yes=yes,
                    stdin=stdin,
                )
        except RapportError as error:
            raise command_error(error) from None

    def _merge(
        self, actor, survivor: str, duplicate: str, *, override_reason, dry_run, yes, stdin
    ) -> None:
        from rapport.identity.services import MergeService

        preview = MergeService.preview(actor=actor, survivor=survivor, duplicate=duplicate)
        kept, absorbed = preview.survivor, preview.duplicate
        evidence = "enough to merge" if preview.has_enough_evidence else "not enough to merge"
        lines = [
            f"Merge {absorbed.code} ({absorbed.display_name}) into "
            f"{kept.code} ({kept.display_name})",
            "",
            f"Evidence: score {preview.score:.2f}, {evidence} "
            f"(a merge needs {preview.threshold:.2f})",
            *(f"  - {reason}" for reason in preview.reasons or ["Nothing in common"]),
            "",
            f"What happens ({absorbed.code} is archived; its code then finds {kept.code}):",
            *_plan_table(preview.plan),
        ]
        for line in lines:
            self.stdout.write(line)
        if not (preview.has_enough_evidence or override_reason):
            message = (
                f"Not enough evidence that {absorbed.code} and {kept.code} are one person "
                f"(score {preview.score:.2f}, a merge needs {preview.threshold:.2f}); to merge "
                "them anyway, say why with --override-reason"
            )
            if dry_run:
                self.stdout.write(f"\nDry run: nothing was changed. {message}.")
                return
            raise CommandError(message)
        if dry_run:
            self.stdout.write(
                f"\nDry run: nothing was changed. Merge with: "
                f"rapport merge {kept.code} {absorbed.code}"
            )
            return
        if not yes:
            answer = ask(self, stdin, f"\nMerge {absorbed.code} into {kept.code}? [y/N] ")
            if answer is None:
                raise CommandError(
                    "Not merged: no terminal to confirm at; add --yes to merge without asking"
                )
            if not is_yes(answer):
                raise CommandError("Not merged: not confirmed")
        record = MergeService.merge(
            actor=actor,
            survivor=kept.code,
            duplicate=absorbed.code,
            override_reason=override_reason,
        )
        self.stdout.write(
            f"\nMerged {absorbed.code} into {kept.code} (merge {record.uuid}). "
            f"To undo: rapport merge --undo {record.uuid}"
        )

    def _undo(self, actor, merge_id: str, *, yes, stdin) -> None:
        from rapport.identity.services import MergeService

        record = MergeService.get_merge(tenant=actor.tenant, merge_id=merge_id)
        kept, absorbed = record.survivor, record.duplicate
        self.stdout.write(
            f"Merge {record.uuid}: {absorbed.code} into {kept.code}, by {record.merged_by} "
            f"at {record.merged_at.isoformat(timespec='seconds')}"
        )
        if record.undone_at is not None:
            raise CommandError(
                f"This merge was already undone, by {record.undone_by} at "
                f"{record.undone_at.isoformat(timespec='seconds')}"
            )
        if not yes:
            answer = ask(self, stdin, f"Separate {absorbed.code} from {kept.code} again? [y/N] ")
            if answer is None:
                raise CommandError(
                    "Not undone: no terminal to confirm at; add --yes to undo without asking"
                )
            if not is_yes(answer):
                raise CommandError("Not undone: not confirmed")
        record = MergeService.undo(actor=actor, merge_id=record.uuid)
        self.stdout.write(f"Undone: {absorbed.code} and {kept.code} are separate customers again.")
