"""Importing orders from CSV: lines, customers found or created, bad rows, idempotency, speed."""

import io

import pytest

from rapport.commerce.models import Order, OrderLine
from rapport.commerce.services import OrderInput, OrderService
from rapport.customers.models import Customer
from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput
from rapport.ingest.csv.jobs import import_file
from rapport.loyalty.models import LoyaltyTransaction
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent

HEADER = "Order ID,Date,Email,Phone,First name,Product,SKU,Qty,Price,Channel,Status"


def run(tenant, text: str, **options):
    actor = Actor.for_system(tenant, "tests")
    return import_file(actor=actor, kind="orders", file=io.BytesIO(text.encode()), **options)


def lines(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_consecutive_rows_with_one_id_are_one_order_with_its_lines(tenant):
    text = lines(
        "1001,2025-01-05,ada@example.com,,Ada,Bread,B1,2,1.50,pos,",
        "1001,2025-01-05,,,,Milk,M1,1,0.80,,",
        "1002,2025-01-06T10:30:00+00:00,ada@example.com,,,Cake,C1,1,5,online,pending",
    )

    report = run(tenant, text)

    assert (report.created, report.error_rows, report.processed_rows) == (2, 0, 3)
    first = Order.objects.get(external_id="1001")
    assert (first.source, first.channel, first.status) == ("import", "pos", "completed")
    assert (first.total_q, first.currency) == (380, "NGN")
    assert [(line.name, line.sku, line.quantity, line.unit_price_q) for line in
            OrderLine.objects.filter(order=first).order_by("position")] == [
        ("Bread", "B1", 2, 150), ("Milk", "M1", 1, 80),
    ]  # fmt: skip
    # A date alone is the tenant's midnight (Africa/Lagos is UTC+1)
    assert first.placed_at.isoformat() == "2025-01-04T23:00:00+00:00"
    second = Order.objects.get(external_id="1002")
    assert (second.status, second.channel, second.total_q) == ("pending", "online", 500)
    assert first.customer_id == second.customer_id


def test_totals_follow_the_currency_exponent(tenant):
    header = "external_id,placed_at,email,total,currency"
    text = lines(
        "J1,2025-01-05,a@example.com,1200,JPY",
        "K1,2025-01-05,a@example.com,1.250,KWD",
        'N1,2025-01-05,a@example.com,"1,250.50",',
        "J2,2025-01-05,a@example.com,12.5,JPY",
        header=header,
    )

    report = run(tenant, text)

    totals = dict(Order.objects.values_list("external_id", "total_q"))
    assert totals == {"J1": 1200, "K1": 1250, "N1": 125050}
    assert [(e.row, e.field) for e in report.errors] == [(5, "total")]
    assert "more than 0 decimals" in report.errors[0].message


def test_customers_are_found_by_code_email_or_phone_and_created_once(tenant, make_customer):
    ada = make_customer(email="ada@example.com", first_name="Ada")
    chi = make_customer(phone="+2348031234599", first_name="Chi")
    coded = make_customer(code="K-1", first_name="Kay")
    header = "external_id,placed_at,customer_code,email,phone,first_name,total"
    text = lines(
        "1,2025-01-05,,ADA@example.com,,,10",
        "2,2025-01-05,,,0803 123 4599,,10",
        "3,2025-01-05,K-1,,,,10",
        "4,2025-01-05,,new@example.com,,Nkem,10",
        "5,2025-01-05,,new@example.com,,,10",
        "6,2025-01-05,NOPE,,,,10",
        header=header,
    )

    report = run(tenant, text)

    owners = dict(Order.objects.values_list("external_id", "customer__code"))
    new = Customer.objects.get(email="new@example.com")
    assert owners == {"1": ada.code, "2": chi.code, "3": coded.code, "4": new.code, "5": new.code}
    assert (new.first_name, new.source) == ("Nkem", "import")
    assert [(e.row, e.field, e.message) for e in report.errors] == [
        (7, "customer_code", "No customer with code 'NOPE'")
    ]


def test_bad_rows_are_reported_by_row_and_the_others_imported(tenant):
    text = lines(
        "1,2025-01-05,a@example.com,,,Tea,T1,1,-3,pos,",
        "2,2025-01-05,a@example.com,,,Tea,T1,1,3,teleport,",
        "3,2025-13-05,a@example.com,,,Tea,T1,1,3,pos,",
        ",2025-01-05,a@example.com,,,Tea,T1,1,3,pos,",
        "5,2025-01-05,a@-example,,,Tea,T1,1,3,pos,",
        "6,2025-01-05,a@example.com,,,Tea,T1,1,3,pos,refunded",
        "7,2025-01-05,a@example.com,,,Tea,T1,1,3,pos,",
        "8,2999-01-05,a@example.com,,,Tea,T1,1,3,pos,",
    )

    report = run(tenant, text)

    assert (report.created, report.error_rows) == (1, 7)
    assert [(e.row, e.field) for e in report.errors] == [
        (2, "unit_price"),
        (3, "channel"),
        (4, "placed_at"),
        (5, "external_id"),
        (6, "email"),
        (7, "status"),
        (9, "placed_at"),
    ]
    assert report.errors[0].message == "Must not be negative"
    assert report.errors[6].message == "Is in the future"
    assert list(Order.objects.values_list("external_id", flat=True)) == ["7"]


def test_an_order_with_a_bad_line_row_is_not_imported_at_all(tenant):
    text = lines(
        "1,2025-01-05,a@example.com,,,Tea,T1,1,3,pos,",
        "1,2025-01-05,,,,Jam,J1,x,3,,",
        "1,2025-01-05,,,,Honey,H1,1,4,,",
        "2,2025-01-05,a@example.com,,,Tea,T1,1,3,pos,",
        "2,2025-01-06,,,,Jam,J1,1,3,,",
    )

    report = run(tenant, text)

    assert (report.created, report.error_rows) == (0, 5)
    assert [(e.row, e.field) for e in report.errors] == [
        (2, ""), (3, "quantity"), (4, ""), (5, ""), (6, "placed_at"),
    ]  # fmt: skip
    assert report.errors[0].message == "Not imported: it goes with row 3, which has an error"
    assert report.errors[4].message == "Differs from row 5 of the same order"
    assert not Order.objects.exists()
    assert not Customer.objects.exists()  # the customer was only needed by the failed orders


def test_importing_the_same_file_again_creates_nothing(tenant):
    text = lines(
        "1,2025-01-05,a@example.com,,,Tea,T1,1,3,pos,",
        "1,2025-01-05,,,,Jam,J1,2,3,,",
        "2,2025-01-05,b@example.com,,,Tea,T1,1,3,pos,pending",
    )
    run(tenant, text)

    again = run(tenant, text)
    # The pending order has since completed: a later export says so
    completed = run(tenant, text.replace("pos,pending", "pos,completed"))

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (completed.created, completed.updated, completed.unchanged) == (0, 1, 1)
    assert Order.objects.count() == 2
    assert OrderLine.objects.count() == 3
    assert Customer.objects.count() == 2


def test_an_order_stored_with_other_data_is_reported_and_the_rest_imported(tenant):
    run(tenant, lines("1,2025-01-05,a@example.com,,,Tea,T1,1,3,pos,"))
    text = lines(
        "1,2025-01-05,a@example.com,,,Tea,T1,1,4,pos,",
        "2,2025-01-05,a@example.com,,,Tea,T1,1,3,pos,",
    )

    report = run(tenant, text)

    assert (report.created, report.error_rows) == (1, 1)
    assert {(e.row, e.field) for e in report.errors} == {(2, "total"), (2, "lines")}
    assert report.errors[0].message.startswith("The order was recorded before with other data")
    assert Order.objects.get(external_id="1").total_q == 300


def test_an_import_is_history_it_earns_no_points_and_emits_no_order_events(tenant):
    from rapport.loyalty.services import LoyaltyProgramService

    LoyaltyProgramService.configure_program(
        actor=Actor.for_system(tenant, "tests"), preset="nigerian_retail"
    )
    run(tenant, lines("1,2025-01-05,a@example.com,,,Tea,T1,1,3000,pos,"))

    assert Order.objects.count() == 1
    assert not LoyaltyTransaction.objects.exists()
    assert not OutboxEvent.objects.filter(type__startswith="order.").exists()
    assert not TimelineEvent.objects.filter(event_type="order").exists()


def test_a_dry_run_counts_what_a_real_run_would_do_and_writes_nothing(tenant, make_customer):
    make_customer(email="a@example.com")
    OrderService.record_orders(
        actor=Actor.for_system(tenant, "tests"),
        orders=[
            OrderInput(
                customer=Customer.objects.get(),
                external_id="1",
                source="import",
                placed_at=Order._meta.get_field("placed_at").to_python("2025-01-05T10:00:00Z"),
                total_q=300,
            )
        ],
        publish=False,
    )
    header = "external_id,placed_at,email,total,channel"
    text = lines(
        "1,2025-01-05T11:00:00+01:00,a@example.com,3,pos",
        "2,2025-01-05,new@example.com,3,pos",
        "3,2025-01-05,new@example.com,3,pos",
        "4,2025-01-05,new@example.com,3,nowhere",
        header=header,
    )

    report = run(tenant, text, dry_run=True, chunk_rows=2)

    assert (report.created, report.updated, report.unchanged, report.error_rows) == (2, 0, 1, 1)
    assert Order.objects.count() == 1
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("header", "fields"),
    [
        ("placed_at,email,total\n", {"external_id"}),
        ("external_id,email,total\n", {"placed_at"}),
        ("external_id,placed_at,first_name,total\n", {"customer_code"}),
        ("external_id,placed_at,email,product\n", {"unit_price"}),
        ("external_id,placed_at,email\n", {"total"}),
        ("external_id,placed_at,email,total,total_q\n", {"total_q"}),
    ],
)
def test_a_mapping_missing_what_an_order_needs_is_refused(tenant, header, fields):
    with pytest.raises(InvalidInput) as caught:
        run(tenant, header + "1,2,3,4,5\n")

    assert set(caught.value.fields) == fields


def orders_csv(count: int, customers: int) -> str:
    rows = [
        f"{n},2025-01-05,c{n % customers}@example.com,,,Tea,T1,1,3,pos,\n"
        f"{n},2025-01-05,,,,Jam,J1,2,1.5,,"
        for n in range(count)
    ]
    return lines(*rows)


@pytest.mark.parametrize("orders", [100, 400])
def test_the_queries_of_a_chunk_do_not_grow_with_its_rows(
    tenant, make_customer, django_assert_max_num_queries, orders
):
    # Given customers that exist: the import only finds them
    for n in range(20):
        make_customer(email=f"c{n}@example.com")
    text = orders_csv(orders, 20)

    with django_assert_max_num_queries(25):
        report = run(tenant, text, chunk_rows=orders * 2)

    assert report.created == orders
    assert OrderLine.objects.count() == orders * 2
