from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "rapport.consent"
    label = "rapport_consent"
    verbose_name = "Consent"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.consent.personal_data import ConsentData
        from rapport.customers import personal_data

        personal_data.register(ConsentData())

        from rapport.consent import segment_fields

        segment_fields.register()
