"""The CSV import's tunables, read from settings when used so tests can override them."""

from django.conf import settings

DEFAULT_MAX_UPLOAD_MB = 100
DEFAULT_CHUNK_ROWS = 5_000


def max_upload_bytes() -> int:
    """The largest file the upload endpoint accepts (RAPPORT_IMPORT_MAX_MB, default 100)."""
    return int(getattr(settings, "RAPPORT_IMPORT_MAX_MB", DEFAULT_MAX_UPLOAD_MB)) * 1024 * 1024


def chunk_rows() -> int:
    """Rows written per transaction (RAPPORT_IMPORT_CHUNK_ROWS, default 5,000)."""
    return max(1, int(getattr(settings, "RAPPORT_IMPORT_CHUNK_ROWS", DEFAULT_CHUNK_ROWS)))
