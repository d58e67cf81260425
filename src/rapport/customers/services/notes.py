"""Staff notes on a customer, with their privacy rule."""

from django.db import transaction
from django.db.models import Q

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Note
from rapport.customers.services.customers import CustomerService, find_customer
from rapport.exceptions import InvalidInput, NotFound, PermissionDenied
from rapport.tenancy.actors import Actor


def visible_notes_filter(actor: Actor) -> Q:
    """Private notes show to their author and to admins only."""
    if actor.is_admin:
        return Q()
    mine = Q(author_api_key=actor.api_key) if actor.api_key is not None else Q(pk__in=[])
    if actor.user_id is not None:
        mine |= Q(author_user_id=actor.user_id)
    return Q(is_private=False) | mine


class NoteService:
    """Staff notes on a customer."""

    @staticmethod
    def get_note(*, actor: Actor, code: str, note_id) -> Note:
        """A note the actor may see; NotFound for others' private notes and other tenants."""
        note = (
            Note.objects.filter(visible_notes_filter(actor))
            .filter(tenant=actor.tenant, customer=find_customer(actor.tenant, code), uuid=note_id)
            .select_related("customer")
            .first()
        )
        if note is None:
            raise NotFound("No note with that id on this customer")
        return note

    @staticmethod
    def add_note(
        *, actor: Actor, code: str, content: str, is_pinned: bool = False, is_private: bool = False
    ) -> Note:
        """Write a note on a customer."""
        content = content.strip()
        if not content:
            raise InvalidInput("A note needs content", fields={"content": "Required"})
        if len(content) > 10_000:
            raise InvalidInput(
                "The note is too long", fields={"content": "At most 10,000 characters"}
            )
        with transaction.atomic():
            customer = CustomerService.get_customer(tenant=actor.tenant, code=code)
            note = Note.objects.create(
                tenant=actor.tenant,
                customer=customer,
                content=content,
                author=actor.label,
                author_user_id=actor.user_id,
                author_api_key=actor.api_key,
                is_pinned=is_pinned,
                is_private=is_private,
            )
            hooks.publish(
                CustomerChange(
                    kind="note_added",
                    customer=customer,
                    actor=actor,
                    # A private note's words stay out of the shared timeline.
                    detail={
                        "note": str(note.uuid),
                        "is_private": is_private,
                        "content": "" if is_private else content,
                    },
                )
            )
        return note

    @staticmethod
    def pin_note(*, actor: Actor, code: str, note_id, is_pinned: bool = True) -> Note:
        """Pin a note to the top of the customer's notes, or unpin it."""
        note = NoteService.get_note(actor=actor, code=code, note_id=note_id)
        if note.is_pinned != is_pinned:
            note.is_pinned = is_pinned
            note.save(update_fields=["is_pinned", "updated_at"])
        return note

    @staticmethod
    def delete_note(*, actor: Actor, code: str, note_id) -> None:
        """Delete a note; only its author or an admin may."""
        note = NoteService.get_note(actor=actor, code=code, note_id=note_id)
        is_author = (actor.api_key is not None and note.author_api_key_id == actor.api_key.pk) or (
            actor.user_id is not None and note.author_user_id == actor.user_id
        )
        if not (is_author or actor.is_admin):
            raise PermissionDenied("Only the note's author or an admin may delete it")
        note.delete()
