"""Staff notes on a customer."""

from uuid import UUID

from ninja import Query, Router, Status

from rapport.customers import selectors
from rapport.customers.api.customers import customer_of
from rapport.customers.api.schemas import (
    NoteIn,
    NoteOut,
    NotePage,
)
from rapport.customers.services import NoteService
from rapport.pagination import BOOLEAN, DATETIME, paginate
from rapport.schemas import WRITE_ERRORS, PageQuery, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["notes"], auth=READ)

NOTE_ORDER = ["-is_pinned", "-created_at"]
NOTE_PARSERS = {"is_pinned": BOOLEAN, "created_at": DATETIME}


@router.get("/customers/{code}/notes", response=responses({200: NotePage}, 404))
def list_notes(request, code: str, query: Query[PageQuery]):
    """Notes on a customer, pinned first, then newest; others' private notes are hidden."""
    actor = actor_of(request)
    notes = selectors.customer_notes(actor=actor, customer=customer_of(request, code))
    return paginate(
        notes, ordering=NOTE_ORDER, parsers=NOTE_PARSERS, cursor=query.cursor, limit=query.limit
    )


@router.post(
    "/customers/{code}/notes", response=responses({201: NoteOut}, 404, *WRITE_ERRORS), auth=WRITE
)
def add_note(request, code: str, payload: NoteIn):
    """Write a note on a customer; a private one is seen only by its author and admins."""
    return Status(
        201, NoteService.add_note(actor=actor_of(request), code=code, **payload.model_dump())
    )


@router.post(
    "/customers/{code}/notes/{note_id}/pin",
    response=responses({200: NoteOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def pin_note(request, code: str, note_id: UUID):
    """Pin a note to the top of the customer's notes."""
    return NoteService.pin_note(actor=actor_of(request), code=code, note_id=note_id)


@router.post(
    "/customers/{code}/notes/{note_id}/unpin",
    response=responses({200: NoteOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def unpin_note(request, code: str, note_id: UUID):
    """Unpin a note."""
    return NoteService.pin_note(
        actor=actor_of(request), code=code, note_id=note_id, is_pinned=False
    )


@router.delete(
    "/customers/{code}/notes/{note_id}", response=responses({204: None}, 404), auth=WRITE
)
def delete_note(request, code: str, note_id: UUID):
    """Delete a note (its author or an admin only)."""
    NoteService.delete_note(actor=actor_of(request), code=code, note_id=note_id)
    return Status(204, None)
