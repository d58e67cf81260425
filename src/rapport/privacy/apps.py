from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "rapport.privacy"
    label = "rapport_privacy"
    verbose_name = "Privacy"
    default_auto_field = "django.db.models.BigAutoField"
