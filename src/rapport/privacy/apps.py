from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "rapport.privacy"
    label = "rapport_privacy"
    verbose_name = "Privacy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import personal_data
        from rapport.privacy.services import PrivacyData

        personal_data.register(PrivacyData())
