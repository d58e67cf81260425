from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "rapport.commerce"
    label = "rapport_commerce"
    verbose_name = "Commerce"
    default_auto_field = "django.db.models.BigAutoField"
