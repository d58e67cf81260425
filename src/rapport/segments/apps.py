"""The segments app's configuration: default segments for new tenants, and personal data."""

from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "rapport.segments"
    label = "rapport_segments"
    verbose_name = "Segments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import personal_data
        from rapport.segments.personal_data import SegmentData
        from rapport.segments.services import give_default_segments
        from rapport.tenancy import hooks

        hooks.register(give_default_segments)
        personal_data.register(SegmentData())
