from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "rapport.customers"
    label = "rapport_customers"
    verbose_name = "Customers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import personal_data
        from rapport.customers.data_rights import CustomerData

        personal_data.register(CustomerData())

        from rapport.customers.merging import CustomerMerging

        personal_data.register(CustomerMerging())

        from rapport.customers import segment_fields

        segment_fields.register(*segment_fields.PROFILE_FIELDS)
