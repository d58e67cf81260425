"""Visit patterns: emergency-driven, regular, seasonal, or none, at their edges."""

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from rapport.insights.scoring import patterns
from rapport.insights.scoring.patterns import is_emergency_service, visit_pattern


def every(days: int, count: int, start: date = date(2024, 1, 10)) -> list[date]:
    return [start + timedelta(days=days * i) for i in range(count)]


def calm(visits: list[date]) -> list[bool]:
    return [False] * len(visits)


@pytest.mark.parametrize(
    "name",
    [
        "Emergency consult",
        "URGENCIA 24h",
        "Urgência",
        "Atendimento de urgência",
        "Urgent care",
        "Accident follow-up",
        "Acidente",
        "Trauma room",
        "Notfall-Sprechstunde",
        "After-hours emergencies",
    ],
)
def test_emergency_services_by_their_names(name):
    assert is_emergency_service(name)


@pytest.mark.parametrize("name", ["Vaccination", "Surgery", "Insurgent grooming", "Check-up", ""])
def test_other_services_are_not_emergencies(name):
    assert not is_emergency_service(name)


def test_fewer_than_three_visits_have_no_pattern():
    assert visit_pattern([], []) == ""
    assert visit_pattern(every(30, 2), [True, True]) == ""


def test_half_the_visits_emergencies_is_emergency_driven():
    visits = every(30, 4)
    assert visit_pattern(visits, [True, False, True, False]) == patterns.EMERGENCY_DRIVEN


def test_fewer_than_half_emergencies_is_not_emergency_driven():
    visits = every(30, 5)
    assert visit_pattern(visits, [True, True, False, False, False]) == patterns.REGULAR


def test_even_gaps_are_regular():
    assert visit_pattern(every(30, 3), calm(every(30, 3))) == patterns.REGULAR
    # Gaps of 20, 40 and 30 days: a coefficient of variation of 0.27.
    visits = [date(2024, 1, 1), date(2024, 1, 21), date(2024, 3, 1), date(2024, 3, 31)]
    assert visit_pattern(visits, calm(visits)) == patterns.REGULAR


def test_a_gap_variation_of_exactly_one_half_is_regular_and_above_it_is_not():
    # Gaps of 10 and 30 days: mean 20, standard deviation 10.
    at_edge = [date(2024, 1, 1), date(2024, 1, 11), date(2024, 2, 10)]
    assert visit_pattern(at_edge, calm(at_edge)) == patterns.REGULAR
    # Gaps of 10 and 31 days: just above.
    above = [date(2024, 1, 1), date(2024, 1, 11), date(2024, 2, 11)]
    assert visit_pattern(above, calm(above)) == ""


def test_visits_on_one_day_count_once_for_the_gaps():
    visits = [
        datetime(2024, 1, 1, 9),
        datetime(2024, 1, 1, 17),
        date(2024, 1, 31),
        date(2024, 3, 1),
    ]
    assert visit_pattern(visits, calm(visits)) == patterns.REGULAR


def test_visits_on_fewer_than_three_days_have_no_pattern():
    visits = [date(2024, 1, 1), date(2024, 1, 1), date(2024, 2, 1)]
    assert visit_pattern(visits, calm(visits)) == ""


def test_summers_in_two_years_are_seasonal():
    visits = [
        date(2023, 6, 5),
        date(2023, 6, 20),
        date(2023, 7, 30),
        date(2024, 6, 10),
        date(2024, 7, 1),
        date(2024, 7, 8),
    ]
    assert visit_pattern(visits, calm(visits)) == patterns.SEASONAL


def test_recurrence_allows_45_days_either_side_of_a_year():
    # 2 March 2023 to 14 April 2024 is 409 days, a year and 43.8 days.
    near = [date(2023, 3, 1), date(2023, 3, 2), date(2024, 4, 14), date(2024, 4, 15)]
    assert visit_pattern(near, calm(near)) == patterns.SEASONAL
    # 2 March 2023 to 17 April 2024 is 412 days, a year and 46.8 days.
    far = [date(2023, 3, 1), date(2023, 3, 2), date(2024, 4, 17), date(2024, 4, 18)]
    assert visit_pattern(far, calm(far)) == ""


def test_one_burst_in_one_year_is_not_seasonal():
    visits = [date(2024, 6, 1), date(2024, 6, 2), date(2024, 7, 20), date(2024, 7, 21)]
    assert visit_pattern(visits, calm(visits)) == ""


def test_visits_spread_over_seven_months_are_not_seasonal():
    visits = [
        date(2023, 1, 3),
        date(2023, 1, 4),
        date(2023, 3, 9),
        date(2023, 5, 30),
        date(2023, 7, 2),
        date(2024, 1, 5),
        date(2024, 3, 10),
        date(2024, 9, 1),
        date(2024, 11, 15),
    ]
    assert visit_pattern(visits, calm(visits)) == ""


def test_emergencies_come_before_regularity():
    visits = every(30, 4)
    assert visit_pattern(visits, [True, True, False, False]) == patterns.EMERGENCY_DRIVEN


def test_one_flag_per_visit():
    with pytest.raises(ValueError, match="one emergency flag per visit"):
        visit_pattern(every(30, 3), [False])


def test_day_numbers_since_1970_serve_as_well_as_dates():
    visits = [date(2023, 6, 5), date(2023, 6, 20), date(2024, 6, 10), date(2024, 7, 1)]
    day_numbers = np.array([(d - date(1970, 1, 1)).days for d in visits])
    assert visit_pattern(day_numbers, np.zeros(4, dtype=bool)) == patterns.SEASONAL
    assert visit_pattern(visits, calm(visits)) == patterns.SEASONAL
