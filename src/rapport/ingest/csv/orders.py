"""Importing orders: consecutive rows with one external_id make one order and its lines.

Customers are found a chunk at a time by code, email or phone, as identity resolution finds
them; one not found is created through identity (by email, else phone). Orders are written in
bulk by `OrderService.record_orders(publish=False)`: history only, so an import neither earns
loyalty points nor emits events or timeline entries. Importing a file again creates nothing.
"""

import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pycountry
from django.utils import timezone

from rapport.commerce.models import Channel
from rapport.commerce.money import EXPONENTS
from rapport.commerce.services import LineInput, OrderInput, OrderService
from rapport.customers.models import Customer
from rapport.customers.services import CustomerService
from rapport.exceptions import Conflict, InvalidInput, RapportError
from rapport.ingest.csv import values
from rapport.ingest.csv.directory import CustomerDirectory, identity_installed
from rapport.ingest.csv.engine import (
    Importer,
    Outcome,
    PartialFailure,
    RowError,
    RowProblem,
    Unit,
)
from rapport.ingest.csv.mapping import ColumnMap, Field
from rapport.ingest.csv.reading import Row

SOURCE = "import"
STATUSES = ("completed", "pending", "cancelled")
CHANNELS = tuple(Channel.values)
EXTERNAL_ID_LIMIT = 100
SOURCE_LIMIT = 50
LINES_LIMIT = 500
SERVICE_KEY = re.compile(r"^orders\[(\d+)\]\.(.+)$")
LINE_KEY = re.compile(r"^lines\[(\d+)\]\.?(.*)$")

FIELDS = (
    Field(
        "external_id",
        "The order's id in the system it comes from; rows sharing it, one after the other, "
        "are the lines of one order",
        (
            "order id",
            "order",
            "order number",
            "order no",
            "receipt",
            "receipt number",
            "invoice",
            "invoice number",
            "transaction id",
        ),
    ),
    Field("customer_code", "The customer's rapport code", ("customer", "code", "customer code")),
    Field("email", "The customer's email", ("e-mail", "customer email", "email address")),
    Field(
        "phone",
        "The customer's phone",
        ("customer phone", "phone number", "mobile", "mobile number", "telephone"),
    ),
    Field(
        "first_name", "For a customer created by the import", ("first name", "customer first name")
    ),
    Field("last_name", "For a customer created by the import", ("last name", "surname")),
    Field(
        "placed_at",
        "When it was placed: ISO 8601; without an offset, the tenant's local time; a date "
        "alone, its midnight",
        ("date", "order date", "placed at", "created at", "datetime", "time"),
    ),
    Field("completed_at", "When it was completed (default: placed_at)", ("completed at",)),
    Field(
        "total",
        "The order's total in currency units, e.g. 12.50",
        (
            "amount",
            "order total",
            "total amount",
        ),
    ),
    Field("total_q", "The order's total in minor units, e.g. 1250", ()),
    Field("currency", "ISO 4217 code (default: the tenant's)", ()),
    Field("channel", "pos (default), online, marketplace or phone", ()),
    Field("status", "completed (default), pending or cancelled", ("order status",)),
    Field("source", "The system the orders come from (default: import)", ("system",)),
    Field("sku", "The line's product code", ("product code", "item code", "product sku")),
    Field(
        "product",
        "The line's product name",
        (
            "name",
            "item",
            "product name",
            "item name",
            "description",
            "line",
        ),
    ),
    Field("category", "The line's product category", ("product category",)),
    Field("quantity", "The line's quantity, a whole number (default 1)", ("qty",)),
    Field(
        "unit_price",
        "The line's unit price in currency units",
        (
            "price",
            "unit price",
            "item price",
        ),
    ),
    Field("unit_price_q", "The line's unit price in minor units", ()),
)
# The order-level fields: every line row of an order repeats them or leaves them empty.
ORDER_FIELDS = (
    "customer_code", "email", "phone", "placed_at", "completed_at", "total", "total_q",
    "currency", "channel", "status", "source",
)  # fmt: skip


@dataclass
class OrderRecord:
    """One order, read from its rows."""

    external_id: str
    source: str
    first_row: int
    code: str = ""
    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    fields: dict = field(default_factory=dict)  # OrderInput's own fields
    lines: list[LineInput] = field(default_factory=list)
    line_rows: list[int] = field(default_factory=list)


class OrdersImporter(Importer):
    """Orders in bulk; their customers found (or created) through identity resolution."""

    kind = "orders"
    fields = FIELDS

    @classmethod
    def check_columns(cls, columns: ColumnMap) -> None:
        errors = {}
        for name in ("external_id", "placed_at"):
            if name not in columns:
                errors[name] = "Required: map a column to it"
        if not any(name in columns for name in ("customer_code", "email", "phone")):
            errors["customer_code"] = "Map customer_code, email or phone to find the customer"
        for whole, minor in (("total", "total_q"), ("unit_price", "unit_price_q")):
            if whole in columns and minor in columns:
                errors[minor] = f"Map {whole} or {minor}, not both"
        has_line = any(name in columns for name in ("product", "sku"))
        has_price = any(name in columns for name in ("unit_price", "unit_price_q"))
        if has_line and not has_price:
            errors["unit_price"] = "Lines need a unit price: map unit_price or unit_price_q"
        if not has_line and not any(name in columns for name in ("total", "total_q")):
            errors["total"] = "Map total (or total_q), or the lines' product and unit_price"
        if errors:
            raise InvalidInput("The column mapping is not valid", fields=errors)

    def __init__(self, actor, columns: ColumnMap) -> None:
        super().__init__(actor, columns)
        self.normalizer = values.Normalizer(self.tenant.default_phone_region)
        self.zone = zoneinfo.ZoneInfo(self.tenant.timezone)
        self.currencies: dict[str, str | None] = {}

    # Reading

    def units(self, rows: Iterable[Row]) -> Iterator[Unit]:
        group: list[tuple[int, dict[str, str]]] = []
        key = None
        for row in rows:
            cells = self.values(row)
            row_key = (cells.get("source", "").lower() or SOURCE, cells.get("external_id", ""))
            if group and (row_key != key or not row_key[1]):
                yield self._unit(group)
                group = []
            group.append((row.number, cells))
            key = row_key
        if group:
            yield self._unit(group)

    def _unit(self, rows: list[tuple[int, dict[str, str]]]) -> Unit:
        unit = Unit([number for number, _ in rows])
        first_number, first = rows[0]
        try:
            unit.value = self._order(first_number, first)
        except RowProblem as problem:
            unit.errors.append(RowError(first_number, problem.field, problem.message))
        currency = unit.value.fields["currency"] if unit.value else self.tenant.currency
        for number, cells in rows:
            if cells is not first:
                for name in ORDER_FIELDS:
                    other = cells.get(name)
                    if other and other != first.get(name):
                        unit.errors.append(
                            RowError(
                                number, name, f"Differs from row {first_number} of the same order"
                            )
                        )
            try:
                line = self._line(cells, currency)
            except RowProblem as problem:
                unit.errors.append(RowError(number, problem.field, problem.message))
                continue
            if line is not None and unit.value is not None:
                unit.value.lines.append(line)
                unit.value.line_rows.append(number)
        record = unit.value
        if record is not None and not unit.errors:
            if not record.lines and "total_q" not in record.fields:
                unit.errors.append(
                    RowError(first_number, "total", "An order needs a total or a line")
                )
            elif len(record.lines) > LINES_LIMIT:
                unit.errors.append(
                    RowError(first_number, "", f"An order has at most {LINES_LIMIT} lines")
                )
        return unit

    def _currency(self, text: str) -> str:
        code = text.upper() if text else self.tenant.currency
        known = self.currencies.get(code, False)
        if known is False:
            valid = len(code) == 3 and code.isascii() and pycountry.currencies.get(alpha_3=code)
            known = self.currencies[code] = code if valid else None
        if known is None:
            raise RowProblem("currency", f"{text!r} is not an ISO 4217 currency code")
        return known

    def _amount(
        self, cells: dict[str, str], name: str, minor_name: str, currency: str
    ) -> int | None:
        """An amount from the units column or the minor-units one; None when both are empty."""
        text = cells.get(name)
        if text:
            amount = values.decimal(name, text)
            amount_q = values.to_minor_units(name, amount, EXPONENTS.get(currency, 2))
            field_name = name
        else:
            text = cells.get(minor_name)
            if not text:
                return None
            amount = values.decimal(minor_name, text)
            if amount != amount.to_integral_value():
                raise RowProblem(minor_name, f"{text!r} is not a whole number of minor units")
            amount_q, field_name = int(amount), minor_name
        if amount_q < 0:
            raise RowProblem(field_name, "Must not be negative")
        return amount_q

    def _order(self, number: int, cells: dict[str, str]) -> OrderRecord:
        cell = cells.get
        external_id = cell("external_id", "")
        if not external_id:
            raise RowProblem("external_id", "Required: the order's id")
        if len(external_id) > EXTERNAL_ID_LIMIT:
            raise RowProblem("external_id", f"At most {EXTERNAL_ID_LIMIT} characters")
        source = cell("source", "").lower() or SOURCE
        if len(source) > SOURCE_LIMIT:
            raise RowProblem("source", f"At most {SOURCE_LIMIT} characters")
        record = OrderRecord(external_id=external_id, source=source, first_row=number)
        record.code = cell("customer_code", "")
        record.email = self.normalizer.email("email", cell("email", ""))
        record.phone = self.normalizer.phone("phone", cell("phone", ""))
        if not (record.code or record.email or record.phone):
            raise RowProblem("customer_code", "Give the customer's code, email or phone")
        record.first_name = cell("first_name", "")[:100]
        record.last_name = cell("last_name", "")[:100]
        placed_text = cell("placed_at")
        if not placed_text:
            raise RowProblem("placed_at", "Required: when the order was placed")
        fields = record.fields
        fields["placed_at"] = values.moment("placed_at", placed_text, self.zone)
        if cell("completed_at"):
            fields["completed_at"] = values.moment("completed_at", cell("completed_at"), self.zone)
        currency = self._currency(cell("currency", ""))
        fields["currency"] = currency
        total_q = self._amount(cells, "total", "total_q", currency)
        if total_q is not None:
            fields["total_q"] = total_q
        channel = cell("channel", "").lower() or "pos"
        if channel not in CHANNELS:
            raise RowProblem("channel", f"{channel!r} is not one of {', '.join(CHANNELS)}")
        fields["channel"] = channel
        status = cell("status", "").lower() or "completed"
        if status not in STATUSES:
            raise RowProblem("status", f"{status!r} is not one of {', '.join(STATUSES)}")
        fields["status"] = status
        return record

    def _line(self, cells: dict[str, str], currency: str) -> LineInput | None:
        cell = cells.get
        name, sku = cell("product", ""), cell("sku", "")
        if not (name or sku or cell("unit_price") or cell("unit_price_q")):
            return None
        unit_price_q = self._amount(cells, "unit_price", "unit_price_q", currency)
        if unit_price_q is None:
            raise RowProblem("unit_price", "A line needs its unit price")
        quantity_text = cell("quantity")
        quantity = 1
        if quantity_text:
            if quantity_text.isdigit():
                quantity = int(quantity_text)
            else:
                amount = values.decimal("quantity", quantity_text)
                if amount != amount.to_integral_value():
                    raise RowProblem("quantity", f"{quantity_text!r} is not a whole number")
                quantity = int(amount)
            if quantity < 1:
                raise RowProblem("quantity", f"{quantity_text!r} is not a whole number above 0")
        if len(name or sku) > 200:
            raise RowProblem("product", "At most 200 characters")
        return LineInput(
            name=name or sku,
            unit_price_q=unit_price_q,
            quantity=quantity,
            sku=sku[:100],
            category=cell("category", "")[:100],
        )

    # Writing

    def write(self, units: list[Unit]) -> list[Outcome | list[RowError]]:
        records: list[OrderRecord] = [unit.value for unit in units]
        directory = CustomerDirectory(self.tenant).load(
            codes=[r.code for r in records],
            emails=[r.email for r in records],
            phones=[r.phone for r in records],
        )
        failed: dict[int, list[RowError]] = {}
        seen: dict[tuple[str, str], int] = {}
        inputs: list[OrderInput] = []
        positions: list[int] = []  # the unit of each input
        for position, record in enumerate(records):
            key = (record.source, record.external_id)
            if key in seen:
                failed[position] = [
                    RowError(
                        record.first_row,
                        "external_id",
                        f"Order {record.external_id!r} already came at row {seen[key]}: "
                        "an order's rows follow one another",
                    )
                ]
                continue
            seen[key] = record.first_row
            try:
                customer = self._customer(record, directory)
            except RapportError as error:
                failed[position] = self._errors(record, error.fields, error.message)
                continue
            inputs.append(
                OrderInput(
                    customer=customer,
                    external_id=record.external_id,
                    source=record.source,
                    lines=tuple(record.lines),
                    **record.fields,
                )
            )
            positions.append(position)
        if failed:
            raise PartialFailure(failed)
        started = timezone.now()
        try:
            recorded = OrderService.record_orders(actor=self.actor, orders=inputs, publish=False)
        except (InvalidInput, Conflict) as error:
            failed = self._service_errors(error, records, positions)
            if not failed:
                raise
            raise PartialFailure(failed) from None
        outcomes: dict[tuple[str, str], Outcome] = {
            (order.source, order.external_id): Outcome.CREATED for order in recorded.created
        }
        for order in recorded.existing:
            moved = order.updated_at is not None and order.updated_at >= started
            outcomes[(order.source, order.external_id)] = (
                Outcome.UPDATED if moved else Outcome.UNCHANGED
            )
        return [outcomes[(record.source, record.external_id)] for record in records]

    def _customer(self, record: OrderRecord, directory: CustomerDirectory) -> Customer:
        """The order's customer: by code, else email, else phone; created when not found."""
        if record.code:
            customer = directory.by_code(record.code)
            if customer is None:
                raise InvalidInput(
                    "Unknown customer",
                    fields={"customer_code": f"No customer with code {record.code!r}"},
                )
            return customer
        customer = directory.by_email(record.email) or directory.by_phone(record.phone)
        if customer:
            return customer
        defaults = {
            "first_name": record.first_name,
            "last_name": record.last_name,
            "email": record.email,
            "phone": record.phone,
            "source": SOURCE,
        }
        defaults = {name: value for name, value in defaults.items() if value}
        if identity_installed():
            from rapport.identity.services import IdentifierService

            type, value = ("email", record.email) if record.email else ("phone", record.phone)
            customer, _ = IdentifierService.find_or_create_customer(
                actor=self.actor, type=type, value=value, defaults=defaults, source=SOURCE
            )
        else:
            customer = CustomerService.create_customer(actor=self.actor, **defaults)
        directory.remember(customer, email=record.email, phone=record.phone)
        return customer

    def _errors(self, record: OrderRecord, fields: dict[str, str], message: str) -> list[RowError]:
        """A service's field errors about one order as errors on its rows."""
        if not fields:
            return [RowError(record.first_row, "", message)]
        errors = []
        for name, problem in fields.items():
            row, column = record.first_row, name
            line = LINE_KEY.match(name)
            if line:
                index = int(line.group(1))
                if index < len(record.line_rows):
                    row = record.line_rows[index]
                column = line.group(2) or "product"
                if column == "unit_price_q" and "unit_price" in self.columns:
                    column = "unit_price"
                elif column == "name":
                    column = "product"
            elif name == "total_q" and "total_q" not in self.columns:
                column = "total"
            elif name == "customer":
                column = next(
                    (c for c in ("customer_code", "email", "phone") if c in self.columns), name
                )
            errors.append(RowError(row, column, problem))
        return errors

    def _service_errors(
        self, error: RapportError, records: list[OrderRecord], positions: list[int]
    ) -> dict[int, list[RowError]]:
        """The units record_orders named, by position; empty when it named none."""
        by_unit: dict[int, dict[str, str]] = {}
        for key, problem in error.fields.items():
            match = SERVICE_KEY.match(key)
            if match is None or int(match.group(1)) >= len(positions):
                return {}
            by_unit.setdefault(positions[int(match.group(1))], {})[match.group(2)] = problem
        if isinstance(error, Conflict):
            by_unit = {
                position: {
                    name: f"The order was recorded before with other data: {problem}"
                    for name, problem in fields.items()
                }
                for position, fields in by_unit.items()
            }
        return {
            position: self._errors(records[position], fields, error.message)
            for position, fields in by_unit.items()
        }

    def failure(self, unit: Unit, error: Exception) -> list[RowError]:
        if isinstance(error, RapportError) and unit.value is not None:
            return self._errors(unit.value, error.fields, error.message)
        return super().failure(unit, error)
