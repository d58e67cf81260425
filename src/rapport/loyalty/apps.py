"""The loyalty app's configuration: its personal-data handler and its segment fields."""

from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "rapport.loyalty"
    label = "rapport_loyalty"
    verbose_name = "Loyalty"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import personal_data
        from rapport.loyalty.personal_data import LoyaltyData

        personal_data.register(LoyaltyData())

        from rapport.loyalty import segment_fields

        segment_fields.register()
