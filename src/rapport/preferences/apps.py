from django.apps import AppConfig


class PreferencesConfig(AppConfig):
    name = "rapport.preferences"
    label = "rapport_preferences"
    verbose_name = "Preferences"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import personal_data
        from rapport.preferences.personal_data import PreferenceData

        personal_data.register(PreferenceData())
