from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "rapport.ingest"
    label = "rapport_ingest"
    verbose_name = "Ingest"
    default_auto_field = "django.db.models.BigAutoField"
