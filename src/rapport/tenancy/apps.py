from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "rapport.tenancy"
    label = "rapport_tenancy"
    verbose_name = "Tenancy"
    default_auto_field = "django.db.models.BigAutoField"
