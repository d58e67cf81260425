"""The limits of the segments app, read from settings when used so tests can override them."""

from django.conf import settings

# How far conditions may nest, and how many there may be: enough for any segment a person
# writes, and a bound on the SQL one request can make.
MAX_DEPTH = 8
MAX_CONDITIONS = 100
MAX_LIST_VALUES = 500  # values of one `in` / `not_in`
MAX_TEXT = 200
MAX_DAYS = 36_500  # a hundred years
MAX_NUMBER = 10**15
NAME_LIMIT = 100
DESCRIPTION_LIMIT = 2_000
MAX_CODES = 1_000  # customers added to a manual segment in one call

DEFAULT_SAMPLE_SIZE = 10  # customers a preview shows
DEFAULT_BATCH_SIZE = 1_000  # rows per INSERT / DELETE / outbox batch when memberships change


def sample_size() -> int:
    return int(getattr(settings, "RAPPORT_SEGMENTS_SAMPLE_SIZE", DEFAULT_SAMPLE_SIZE))


def batch_size() -> int:
    return int(getattr(settings, "RAPPORT_SEGMENTS_BATCH_SIZE", DEFAULT_BATCH_SIZE))
