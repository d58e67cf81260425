"""What each app holds on a customer, and how it exports, erases and merges it.

The core cannot import the apps built on it, yet exporting a person's data, erasing them or
merging two records must reach every installed app. So each app registers its handlers here in
its `AppConfig.ready()`, and the privacy and identity services walk the registry:

    personal_data.register(ConsentData())

A handler implements the `PersonalData` protocol, or the part of it its app needs: `export`
and `erase`, or the four merge methods. An app may register one handler for each part. Every
method runs inside the caller's transaction with the customers' rows locked, and must not
commit on its own.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from rapport.customers.models import Customer
from rapport.tenancy.actors import Actor


@dataclass
class Erasure:
    """What an erasure knows: who acts, and the values to scrub from free text."""

    actor: Actor
    # The person's name, emails, phones and handles as they were: free text (notes, timeline
    # titles, event payloads) that contains any of them is replaced by `placeholder`.
    originals: list[str]
    placeholder: str = "[erased]"

    def scrub(self, text: str) -> str:
        """`text` with every original value (case-insensitive) replaced by the placeholder."""
        lowered = text.lower()
        if not any(value.lower() in lowered for value in self.originals):
            return text
        for value in sorted(self.originals, key=len, reverse=True):
            text = _replace_case_insensitive(text, value, self.placeholder)
        return text


def _replace_case_insensitive(text: str, old: str, new: str) -> str:
    if not old:
        return text
    parts, lowered, needle, start = [], text.lower(), old.lower(), 0
    while (found := lowered.find(needle, start)) != -1:
        parts.extend([text[start:found], new])
        start = found + len(old)
    parts.append(text[start:])
    return "".join(parts)


@dataclass
class MergeStep:
    """One line of a merge preview: what happens to a kind of data, and why."""

    app: str  # the handler's name: "customers", "consent", …
    what: str  # "3 notes", "email", "consent on whatsapp"
    action: str  # "move", "keep survivor's", "take duplicate's", "combine", "drop duplicate's"
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


class PersonalData(Protocol):
    """An app's handlers for one customer's data.

    `name` is the app's key in the export document and in a merge's journal; an app's export
    handler and merge handler share it.
    """

    name: str

    def export(self, customer: Customer) -> Any:
        """Everything this app holds on the customer, as JSON-ready data."""

    def originals(self, customer: Customer) -> list[str]:
        """Values this app holds that name or reach the person (handles, ids, phones in E.164),
        for the erasure to scrub from every app's free text. Asked before any app erases."""

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Anonymize the customer's data in place; returns how many rows changed."""

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """What merging `duplicate` into `survivor` would do to this app's data; writes nothing."""

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's data to the survivor; returns the JSON journal `undo` needs."""

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """Why the merge can no longer be undone (newer data depends on it); [] if it can."""

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Put back what `merge` moved, as its journal says."""


_handlers: list[Any] = []


def register(handler: Any) -> Any:
    """Add an app's handler once. It implements export and erase, or the merge methods, or all."""
    if all(type(known) is not type(handler) for known in _handlers):
        _handlers.append(handler)
    return handler


def handlers(method: str) -> list[Any]:
    """The registered handlers that implement `method`, in the order apps became ready."""
    return [handler for handler in _handlers if callable(getattr(handler, method, None))]
