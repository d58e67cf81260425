from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "rapport.cli"
    label = "rapport_cli"
    verbose_name = "Command line"

    def ready(self) -> None:
        from rapport.cli import checks  # noqa: F401  (registers the deploy checks)
