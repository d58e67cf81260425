from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "rapport.consent"
    label = "rapport_consent"
    verbose_name = "Consent"
    default_auto_field = "django.db.models.BigAutoField"
