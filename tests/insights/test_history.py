"""The recalculation's reads: wall-clock times and the favourite products."""

import datetime as dt
import zoneinfo

import numpy as np
import pytest

from rapport.insights.history import _most_bought, wall_clock


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "UTC"]
)
def test_wall_clock_agrees_with_zoneinfo_across_clock_changes(zone):
    # Three years of moments, with every hour of the nights the clocks change
    moments = np.random.default_rng(7).integers(1_640_995_200, 1_735_689_600, size=5_000)
    moments = np.concatenate([moments, np.arange(1_711_846_800 - 7_200, 1_711_846_800 + 7_200, 60)])
    info = zoneinfo.ZoneInfo(zone)

    expected = [
        int(dt.datetime.fromtimestamp(int(moment), info).replace(tzinfo=dt.UTC).timestamp())
        for moment in moments
    ]

    assert wall_clock(moments, zone).tolist() == expected


def test_no_moments_no_wall_clock():
    assert wall_clock(np.zeros(0, dtype=np.int64), "Africa/Lagos").tolist() == []


def test_most_bought_sums_an_item_over_rows_and_ties_go_by_name():
    customer = np.array([1, 1, 1, 1, 2, 2])
    items = ["Tea", "Cake", "Tea", "Bun", "", "Soup"]
    bought = np.array([1, 2, 2, 2, 9, 1])

    favourites = _most_bought(customer, items, bought, keep=2)

    # Tea 3, then Bun and Cake tied at 2: Bun first by name; a blank item is no item
    assert favourites == {1: ["Tea", "Bun"], 2: ["Soup"]}


def test_most_bought_of_only_blank_items_is_empty():
    assert _most_bought(np.array([1, 2]), ["", ""], np.array([1, 1]), keep=3) == {}
