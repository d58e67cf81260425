"""The pets app's configuration: personal data, the customer-deletion listener, segment fields."""

from django.apps import AppConfig


class PetsConfig(AppConfig):
    name = "rapport.pets"
    label = "rapport_pets"
    verbose_name = "Pets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import hooks, personal_data
        from rapport.pets.personal_data import PetData
        from rapport.pets.services import forget_orphaned_pets

        personal_data.register(PetData())
        hooks.register(forget_orphaned_pets)

        from rapport.pets import segment_fields

        segment_fields.register()
