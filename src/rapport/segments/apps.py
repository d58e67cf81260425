"""The segments app's configuration."""

from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "rapport.segments"
    label = "rapport_segments"
    verbose_name = "Segments"
    default_auto_field = "django.db.models.BigAutoField"
