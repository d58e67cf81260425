from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "rapport.cli"
    label = "rapport_cli"
    verbose_name = "Command line"
