"""Every write to the customer core: customers, tags, notes, addresses, contacts, identities."""

from rapport.customers.services.addresses import ADDRESS_FIELDS, AddressService
from rapport.customers.services.contact_points import ContactPointService
from rapport.customers.services.customers import (
    CODE_PATTERN,
    PROFILE_FIELDS,
    CustomerService,
    find_customer,
    generate_code,
)
from rapport.customers.services.external_identities import ExternalIdentityService
from rapport.customers.services.notes import NoteService, visible_notes_filter
from rapport.customers.services.tags import TagService

__all__ = [
    "ADDRESS_FIELDS",
    "CODE_PATTERN",
    "PROFILE_FIELDS",
    "AddressService",
    "ContactPointService",
    "CustomerService",
    "ExternalIdentityService",
    "NoteService",
    "TagService",
    "find_customer",
    "generate_code",
    "visible_notes_filter",
]
