"""The insights app's configuration: it needs commerce's orders and adds fields to segments."""

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class InsightsConfig(AppConfig):
    name = "rapport.insights"
    label = "rapport_insights"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        if not apps.is_installed("rapport.commerce"):
            raise ImproperlyConfigured(
                "rapport.insights reads orders and visits: add rapport.commerce to INSTALLED_APPS"
            )
        from rapport.customers import personal_data
        from rapport.insights.personal_data import InsightData

        personal_data.register(InsightData())

        from rapport.insights import segment_fields

        segment_fields.register()
