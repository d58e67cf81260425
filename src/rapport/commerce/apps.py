"""The commerce app's configuration: its personal-data handler and its segment fields."""

from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "rapport.commerce"
    label = "rapport_commerce"
    verbose_name = "Commerce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.commerce.personal_data import CommerceData
        from rapport.customers import personal_data

        personal_data.register(CommerceData())

        from rapport.commerce import segment_fields

        segment_fields.register()
