"""The scoring package's plain strings are the model's choices, without importing Django there."""

from rapport.insights.models import Method, RfmGroup, RfmSegment, VisitPattern
from rapport.insights.scoring import lifetime, patterns, rfm


def test_segments_are_the_models_rfm_segments():
    assert list(rfm.SEGMENTS) == list(RfmSegment.values)


def test_groups_are_the_models_rfm_groups():
    assert list(rfm.GROUPS) == list(RfmGroup.values)


def test_visit_patterns_are_the_models_visit_patterns():
    ours = [patterns.REGULAR, patterns.SEASONAL, patterns.EMERGENCY_DRIVEN, patterns.NO_PATTERN]
    assert ours == list(VisitPattern.values)


def test_methods_are_the_models_methods():
    assert list(Method.values) == [lifetime.METHOD_MODEL, lifetime.METHOD_HEURISTIC]


def test_the_scoring_package_does_not_import_django():
    # Given a fresh interpreter, when the pure modules are imported, then Django is not.
    import subprocess
    import sys

    modules = "bgnbd, gamma_gamma, lifetime, patterns, rfm, score"
    code = (
        f"import sys; from rapport.insights.scoring import {modules}; "
        "print(any(name == 'django' or name.startswith('django.') for name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
