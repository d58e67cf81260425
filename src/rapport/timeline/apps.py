from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "rapport.timeline"
    label = "rapport_timeline"
    verbose_name = "Timeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.customers import hooks
        from rapport.timeline.services import record_customer_change

        hooks.register(record_customer_change)

        from rapport.customers import personal_data
        from rapport.timeline.data_rights import TimelineData

        personal_data.register(TimelineData())

        from rapport.customers import personal_data
        from rapport.timeline.merging import TimelineMerging

        personal_data.register(TimelineMerging())
