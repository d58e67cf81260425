from django.apps import AppConfig


class PreferencesConfig(AppConfig):
    name = "rapport.preferences"
    label = "rapport_preferences"
    verbose_name = "Preferences"
    default_auto_field = "django.db.models.BigAutoField"
