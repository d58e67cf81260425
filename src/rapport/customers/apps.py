from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "rapport.customers"
    label = "rapport_customers"
    verbose_name = "Customers"
    default_auto_field = "django.db.models.BigAutoField"
