from django.apps import AppConfig


class PetsConfig(AppConfig):
    name = "rapport.pets"
    label = "rapport_pets"
    verbose_name = "Pets"
    default_auto_field = "django.db.models.BigAutoField"
