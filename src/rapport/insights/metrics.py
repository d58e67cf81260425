"""Per-customer metrics from the columns history reads, vectorized over every customer at once.

Each function takes the customers' ids (sorted) and the rows read for them, and returns arrays
aligned to those ids. A day is a calendar day on the tenant's wall clock.
"""

from dataclasses import dataclass

import numpy as np

from rapport.insights.history import CHANNELS, DAY, VISIT_STATUSES, Messages, Orders, Visits

HOUR = 3_600
# 1970-01-01 was a Thursday: day 0 is weekday 3 when Monday is 0.
EPOCH_WEEKDAY = 3
COMPLETED = VISIT_STATUSES.index("completed")
CANCELLED = VISIT_STATUSES.index("cancelled")
NO_SHOW = VISIT_STATUSES.index("no_show")


def _positions(customer_ids: np.ndarray, rows_customer: np.ndarray) -> np.ndarray:
    """For each row, the index of its customer in `customer_ids` (every row's customer is there)."""
    return np.searchsorted(customer_ids, rows_customer)


def _first_and_last(index: np.ndarray, values: np.ndarray, count: int):
    """Per customer, the first and last value of rows sorted by customer then time (-1: none)."""
    first = np.full(count, -1, dtype=np.int64)
    last = np.full(count, -1, dtype=np.int64)
    if len(index):
        boundaries = np.flatnonzero(np.diff(index)) + 1
        starts = np.concatenate(([0], boundaries))
        ends = np.concatenate((boundaries, [len(index)])) - 1
        first[index[starts]] = values[starts]
        last[index[ends]] = values[ends]
    return first, last


def _mode(index: np.ndarray, values: np.ndarray, count: int, size: int) -> np.ndarray:
    """Per customer, the most frequent of `values` (0 … size-1); ties go to the smallest; -1: none."""
    if len(index) == 0:
        return np.full(count, -1, dtype=np.int64)
    tallies = np.bincount(index * size + values, minlength=count * size).reshape(count, size)
    mode = tallies.argmax(axis=1)
    mode[tallies.max(axis=1) == 0] = -1
    return mode


@dataclass
class OrderMetrics:
    """Order metrics per customer: counts, money, purchase days, and the model inputs in days."""

    total_orders: np.ndarray
    total_spent_q: np.ndarray
    first_utc: np.ndarray  # seconds since 1970 UTC; -1 where no order
    last_utc: np.ndarray
    purchase_days: np.ndarray  # distinct days with an order
    first_day: np.ndarray  # -1 where no order
    last_day: np.ndarray
    repeat_spent_q: np.ndarray  # spent on days after the first purchase day
    preferred_weekday: np.ndarray  # -1 where no order
    preferred_hour: np.ndarray
    channels: np.ndarray  # (customers, len(CHANNELS) + 1) booleans


def order_metrics(customer_ids: np.ndarray, orders: Orders) -> OrderMetrics:
    """Order metrics for every customer of `customer_ids`; customers without orders get zeros."""
    count = len(customer_ids)
    index = _positions(customer_ids, orders.customer)
    days = orders.seconds // DAY
    total_orders = np.bincount(index, minlength=count)
    total_spent = np.bincount(index, weights=orders.net_q, minlength=count)
    first_utc, last_utc = _first_and_last(index, orders.utc_seconds, count)
    first_day, last_day = _first_and_last(index, days, count)
    new_day = np.ones(len(index), dtype=bool)
    if len(index) > 1:
        new_day[1:] = (index[1:] != index[:-1]) | (days[1:] != days[:-1])
    purchase_days = np.bincount(index, weights=new_day, minlength=count)
    on_first_day = days == first_day[index]
    first_day_spent = np.bincount(index, weights=orders.net_q * on_first_day, minlength=count)
    weekday = (days + EPOCH_WEEKDAY) % 7
    hour = (orders.seconds % DAY) // HOUR
    channel_size = len(CHANNELS) + 1
    used = np.bincount(index * channel_size + orders.channel, minlength=count * channel_size)
    return OrderMetrics(
        total_orders=total_orders.astype(np.int64),
        total_spent_q=np.rint(total_spent).astype(np.int64),
        first_utc=first_utc,
        last_utc=last_utc,
        purchase_days=np.rint(purchase_days).astype(np.int64),
        first_day=first_day,
        last_day=last_day,
        repeat_spent_q=np.rint(total_spent - first_day_spent).astype(np.int64),
        preferred_weekday=_mode(index, weekday, count, 7),
        preferred_hour=_mode(index, hour, count, 24),
        channels=used.reshape(count, channel_size) > 0,
    )


@dataclass
class VisitMetrics:
    total_visits: np.ndarray  # completed
    total_appointments: np.ndarray  # every visit or appointment, whatever became of it
    cancelled_appointments: np.ndarray
    no_show_count: np.ndarray
    first_utc: np.ndarray  # of completed visits, seconds since 1970 UTC; -1 where none
    last_utc: np.ndarray
    last_day: np.ndarray  # the day of the last completed visit; -1 where none


def visit_metrics(customer_ids: np.ndarray, visits: Visits) -> VisitMetrics:
    """Visit counts and the first and last completed visit of every customer."""
    count = len(customer_ids)
    index = _positions(customer_ids, visits.customer)
    completed = visits.status == COMPLETED
    first, last = _first_and_last(index[completed], visits.utc_seconds[completed], count)
    _, last_day = _first_and_last(index[completed], visits.seconds[completed] // DAY, count)
    return VisitMetrics(
        total_visits=np.bincount(index[completed], minlength=count),
        total_appointments=np.bincount(index, minlength=count),
        cancelled_appointments=np.bincount(index[visits.status == CANCELLED], minlength=count),
        no_show_count=np.bincount(index[visits.status == NO_SHOW], minlength=count),
        first_utc=first,
        last_utc=last,
        last_day=last_day,
    )


def completed_visit_days(customer_ids: np.ndarray, visits: Visits):
    """(position, days, is_emergency) of every completed visit, for the visit patterns."""
    completed = visits.status == COMPLETED
    index = _positions(customer_ids, visits.customer[completed])
    return index, visits.seconds[completed] // DAY, visits.is_emergency[completed]


@dataclass
class MessageMetrics:
    messages_sent: np.ndarray
    messages_responded: np.ndarray


def message_metrics(
    customer_ids: np.ndarray, messages: Messages, window_seconds: int
) -> MessageMetrics:
    """Messages sent to each customer, and those the customer's next interaction answered.

    An outbound message is answered when the customer's very next interaction (of any kind)
    is inbound and comes within the window.
    """
    count = len(customer_ids)
    index = _positions(customer_ids, messages.customer)
    sent = messages.is_outbound & messages.is_message
    answered = np.zeros(len(index), dtype=bool)
    if len(index) > 1:
        same_customer = index[1:] == index[:-1]
        next_inbound = ~messages.is_outbound[1:]
        soon = (messages.seconds[1:] - messages.seconds[:-1]) <= window_seconds
        answered[:-1] = sent[:-1] & same_customer & next_inbound & soon
    return MessageMetrics(
        messages_sent=np.bincount(index[sent], minlength=count),
        messages_responded=np.bincount(index[answered], minlength=count),
    )
