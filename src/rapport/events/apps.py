from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "rapport.events"
    label = "rapport_events"
    verbose_name = "Events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import hooks
        from rapport.events.services import emit_customer_change, emit_customer_changes

        hooks.register(emit_customer_change, many=emit_customer_changes)

        from rapport.customers import personal_data
        from rapport.events.data_rights import OutboxData

        personal_data.register(OutboxData())
