"""The ingest door's configuration: it records orders through commerce, so it needs it."""

from django.apps import AppConfig, apps
from django.core.exceptions import ImproperlyConfigured


class IngestConfig(AppConfig):
    name = "rapport.ingest"
    label = "rapport_ingest"
    verbose_name = "Ingest"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Identity, loyalty and pets are used when installed; commerce cannot be done without.
        if not apps.is_installed("rapport.commerce"):
            raise ImproperlyConfigured(
                "rapport.ingest records orders and visits through rapport.commerce: add "
                "'rapport.commerce' to INSTALLED_APPS, or remove 'rapport.ingest'"
            )
