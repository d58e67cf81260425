from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "rapport.timeline"
    label = "rapport_timeline"
    verbose_name = "Timeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import hooks
        from rapport.timeline.services import record_customer_change, record_customer_changes

        hooks.register(record_customer_change, many=record_customer_changes)

        from rapport.customers import personal_data
        from rapport.timeline.data_rights import InteractionData, TimelineData

        personal_data.register(TimelineData())
        personal_data.register(InteractionData())

        from rapport.customers import personal_data
        from rapport.timeline.merging import TimelineMerging

        personal_data.register(TimelineMerging())
