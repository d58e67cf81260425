from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "rapport.identity"
    label = "rapport_identity"
    verbose_name = "Identity"
    default_auto_field = "django.db.models.BigAutoField"
