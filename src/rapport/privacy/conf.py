"""How long a business has to answer a data-subject request, by the country it operates in.

Read lazily through `response_time(country)`, so a project (or a test) can override them with
the Django setting RAPPORT_PRIVACY_RESPONSE_TIMES = {"BR": {"days": 15}, …}.
"""

from django.conf import settings

# GDPR art. 12(3): without undue delay and at the latest within one month of receipt; most
# other laws (the UK's, Nigeria's NDPA) follow it.
DEFAULT_RESPONSE_TIME = {"months": 1}

# Countries whose law sets another deadline. LGPD art. 19 (Brazil): 15 days.
RESPONSE_TIMES = {"BR": {"days": 15}}

# The export document's format; a change that breaks readers raises it.
EXPORT_FORMAT_VERSION = 1


def response_time(country: str) -> dict[str, int]:
    """The deadline for a tenant in `country`: {"months": n} or {"days": n}."""
    overrides = getattr(settings, "RAPPORT_PRIVACY_RESPONSE_TIMES", {})
    times = {**RESPONSE_TIMES, **overrides}
    return times.get(
        country.upper(),
        getattr(settings, "RAPPORT_PRIVACY_DEFAULT_RESPONSE_TIME", DEFAULT_RESPONSE_TIME),
    )
