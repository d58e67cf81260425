import base64
import datetime as dt

import orjson
import pytest
from django.utils import timezone

from rapport.customers.models import Customer, Note
from rapport.customers.services import NoteService
from rapport.exceptions import InvalidInput
from rapport.pagination import BOOLEAN, DATETIME, MAX_LIMIT, TEXT, paginate, sort_order

CUSTOMER_PARSERS = {"created_at": DATETIME, "last_name": TEXT}
NOTE_PARSERS = {"is_pinned": BOOLEAN, "created_at": DATETIME}


def _walk(queryset, ordering, parsers, limit):
    """Every page's primary keys, following next_cursor to the end."""
    pages, cursor = [], None
    while True:
        page = paginate(queryset, ordering=ordering, parsers=parsers, cursor=cursor, limit=limit)
        pages.append([row.pk for row in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


def _expected(queryset, ordering):
    tie_breaker = "-pk" if ordering[-1].startswith("-") else "pk"
    return list(queryset.order_by(*ordering, tie_breaker).values_list("pk", flat=True))


@pytest.fixture
def customers_with_ties(make_customer):
    """Eleven customers over four creation instants and three surnames, ties everywhere."""
    base = timezone.now() - dt.timedelta(days=3)
    surnames = ["Okafor", "Adeyemi", "Okafor", "Bello"]
    for index in range(11):
        customer = make_customer(first_name=f"C{index}", last_name=surnames[index % 4])
        Customer.objects.filter(pk=customer.pk).update(
            created_at=base + dt.timedelta(hours=(index * 7) % 4)
        )
    return Customer.objects.all()


@pytest.mark.parametrize(
    "ordering", [["created_at"], ["-created_at"], ["last_name"], ["-last_name"]]
)
@pytest.mark.parametrize("limit", [1, 2, 3, 4, 11, 50])
def test_every_row_comes_exactly_once_in_order(customers_with_ties, ordering, limit):
    pages = _walk(customers_with_ties, ordering, CUSTOMER_PARSERS, limit)

    walked = [pk for page in pages for pk in page]
    assert walked == _expected(customers_with_ties, ordering)
    assert len(set(walked)) == 11
    assert all(len(page) == limit for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit


def test_a_page_that_holds_everything_has_no_next_cursor(customers_with_ties):
    page = paginate(
        customers_with_ties,
        ordering=["created_at"],
        parsers=CUSTOMER_PARSERS,
        cursor=None,
        limit=11,
    )

    assert len(page.items) == 11
    assert page.next_cursor is None


def test_an_empty_list_is_one_empty_page(db):
    page = paginate(
        Customer.objects.none(),
        ordering=["created_at"],
        parsers=CUSTOMER_PARSERS,
        cursor=None,
        limit=5,
    )

    assert (page.items, page.next_cursor) == ([], None)


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_pinned_first_then_newest_pages_through_every_note_once(make_customer, system_actor, limit):
    # given notes, some pinned, several written at the very same instant
    customer = make_customer(first_name="Ada")
    base = timezone.now() - dt.timedelta(days=1)
    for index in range(9):
        note = NoteService.add_note(
            actor=system_actor, code=customer.code, content=f"n{index}", is_pinned=index % 3 == 0
        )
        Note.objects.filter(pk=note.pk).update(created_at=base + dt.timedelta(minutes=index % 2))
    notes = Note.objects.filter(customer=customer)
    ordering = ["-is_pinned", "-created_at"]

    # when every page is read
    pages = _walk(notes, ordering, NOTE_PARSERS, limit)

    # then each note comes once, the pinned ones first
    walked = [pk for page in pages for pk in page]
    assert walked == _expected(notes, ordering)
    assert len(walked) == 9
    pinned = set(notes.filter(is_pinned=True).values_list("pk", flat=True))
    assert set(walked[:3]) == pinned


def test_a_row_deleted_before_the_cursor_does_not_shift_the_next_page(customers_with_ties):
    first = paginate(
        customers_with_ties,
        ordering=["-created_at"],
        parsers=CUSTOMER_PARSERS,
        cursor=None,
        limit=4,
    )
    expected_rest = _expected(customers_with_ties, ["-created_at"])[4:]
    Customer.objects.filter(pk=first.items[0].pk).delete()

    second = paginate(
        customers_with_ties,
        ordering=["-created_at"],
        parsers=CUSTOMER_PARSERS,
        cursor=first.next_cursor,
        limit=4,
    )

    assert [row.pk for row in second.items] == expected_rest[:4]


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "é",
        "AAAA",
        _cursor({"created_at": "2024-01-01T00:00:00+00:00"}),
        _cursor(["2024-01-01T00:00:00+00:00"]),
        _cursor(["2024-01-01T00:00:00+00:00", 5, 6]),
        _cursor(["2024-01-01T00:00:00+00:00", "5"]),
        _cursor(["2024-01-01T00:00:00+00:00", True]),
        _cursor(["yesterday", 5]),
        _cursor([20240101, 5]),
        _cursor([None, 5]),
        # Python can express these instants but UTC, and so the database, cannot.
        _cursor(["0001-01-01T00:00:00+05:00", 5]),
        _cursor(["9999-12-31T23:59:59-05:00", 5]),
    ],
)
def test_a_bad_cursor_is_invalid_input(customers_with_ties, cursor):
    with pytest.raises(InvalidInput) as error:
        paginate(
            customers_with_ties,
            ordering=["created_at"],
            parsers=CUSTOMER_PARSERS,
            cursor=cursor,
            limit=5,
        )

    assert error.value.fields == {"cursor": "Use a next_cursor as given"}


def test_a_cursor_from_another_ordering_is_invalid_input(make_customer, system_actor):
    customer = make_customer(first_name="Ada")
    for index in range(3):
        NoteService.add_note(actor=system_actor, code=customer.code, content=f"n{index}")
    notes = Note.objects.all()
    page = paginate(
        notes, ordering=["-is_pinned", "-created_at"], parsers=NOTE_PARSERS, cursor=None, limit=1
    )

    with pytest.raises(InvalidInput):
        paginate(
            notes,
            ordering=["-created_at"],
            parsers=NOTE_PARSERS,
            cursor=page.next_cursor,
            limit=1,
        )


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_a_limit_out_of_range_is_invalid_input(db, limit):
    with pytest.raises(InvalidInput) as error:
        paginate(
            Customer.objects.all(),
            ordering=["created_at"],
            parsers=CUSTOMER_PARSERS,
            cursor=None,
            limit=limit,
        )

    assert error.value.fields == {"limit": f"From 1 to {MAX_LIMIT}"}


def test_the_largest_limit_is_allowed(customers_with_ties):
    page = paginate(
        customers_with_ties,
        ordering=["created_at"],
        parsers=CUSTOMER_PARSERS,
        cursor=None,
        limit=MAX_LIMIT,
    )

    assert len(page.items) == 11


def test_sort_order_accepts_the_listed_fields_either_way():
    assert sort_order("-created_at", CUSTOMER_PARSERS) == ["-created_at"]
    assert sort_order("last_name", CUSTOMER_PARSERS) == ["last_name"]


@pytest.mark.parametrize("order_by", ["email", "", "-", "--created_at", "created_at "])
def test_sort_order_rejects_other_fields(order_by):
    with pytest.raises(InvalidInput) as error:
        sort_order(order_by, CUSTOMER_PARSERS)

    assert list(error.value.fields) == ["order_by"]


def test_a_cursor_with_text_the_database_cannot_hold_is_invalid_input(customers_with_ties):
    with pytest.raises(InvalidInput) as error:
        paginate(
            customers_with_ties,
            ordering=["last_name"],
            parsers=CUSTOMER_PARSERS,
            cursor=_cursor(["Ok\u0000afor", 5]),
            limit=5,
        )

    assert error.value.fields == {"cursor": "Use a next_cursor as given"}


def test_a_cursor_time_is_compared_in_utc_whatever_its_offset(customers_with_ties):
    # PostgreSQL refuses offsets beyond ±15:59; the same instant in UTC is fine everywhere.
    first = customers_with_ties.order_by("created_at", "pk").first()
    instant = first.created_at.astimezone(dt.timezone(-dt.timedelta(hours=21, minutes=27)))

    page = paginate(
        customers_with_ties,
        ordering=["created_at"],
        parsers=CUSTOMER_PARSERS,
        cursor=_cursor([instant.isoformat(), first.pk]),
        limit=50,
    )

    assert [row.pk for row in page.items] == _expected(customers_with_ties, ["created_at"])[1:]
