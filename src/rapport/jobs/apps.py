from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "rapport.jobs"
    label = "rapport_jobs"
    verbose_name = "Background jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.jobs import checks  # noqa: F401  (registers the schedule checks)
