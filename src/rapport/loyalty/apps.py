"""The loyalty app's configuration: it hands its personal-data handler to the registry."""

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
