"""The first dispatcher of tests/events/test_dispatcher_crash.py, in a process of its own: it
sets up an SQLite file database (tables, one webhook endpoint at the URL given, N events in
the outbox), then runs `rapport dispatch` until it is killed."""

import sys


class NoMigrations(dict):
    """Tables straight from the models: the same schema, in a fraction of migrate's time."""

    def __contains__(self, app_label):
        return True

    def __getitem__(self, app_label):
        return None


def main(url: str, count: int) -> None:
    import django
    from django.conf import settings

    settings.MIGRATION_MODULES = NoMigrations()
    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", run_syncdb=True, verbosity=0)
    from rapport.events.services import emit
    from rapport.events.webhooks import WebhookService
    from rapport.tenancy.actors import Actor
    from rapport.tenancy.services import TenantService

    tenant = TenantService.get_default()
    WebhookService.create_endpoint(actor=Actor.for_system(tenant, "tests"), url=url)
    with transaction.atomic():
        for number in range(count):
            emit(tenant, "customer.tagged", {"code": f"C-{number}", "tags": ["VIP"]})
    call_command("dispatch", "--interval", "0.1")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
