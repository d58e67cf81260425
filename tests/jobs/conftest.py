"""Fixtures of the jobs tests: the database backend, for the tests of the queue itself."""

import pytest

from tests.jobs.helpers import DATABASE


@pytest.fixture
def database_tasks(settings):
    """Tasks wait in the database until a worker runs them, as outside the tests."""
    settings.TASKS = {"default": {"BACKEND": DATABASE, "QUEUES": ["default"]}}
