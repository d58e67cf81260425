"""`rapport check --deploy`: what a production installation is still missing."""

import os

from django.conf import settings
from django.core.checks import Info, Tags, Warning, register


@register(Tags.security, deploy=True)
def production_readiness(app_configs, **kwargs):
    messages = []
    if not os.environ.get("RAPPORT_SECRET_KEY"):
        messages.append(
            Warning(
                "RAPPORT_SECRET_KEY is not set, so a public development key signs sessions.",
                hint="Set RAPPORT_SECRET_KEY to 50+ random characters.",
                id="rapport.W001",
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        messages.append(
            Info(
                "The database is SQLite: right for one shop and one server process.",
                hint="Set DATABASE_URL to a PostgreSQL database for gunicorn workers and load.",
                id="rapport.I001",
            )
        )
    if not os.environ.get("EMAIL_URL"):
        messages.append(
            Info(
                "EMAIL_URL is not set, so email is printed to the console, not sent.",
                hint="Set EMAIL_URL, e.g. submission://user:password@smtp.example.com:587.",
                id="rapport.I002",
            )
        )
    return messages
