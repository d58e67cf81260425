"""The loyalty races on an SQLite file database, run in a process of its own by
tests/loyalty/test_concurrency.py: it migrates, runs each race and prints their outcomes."""

import json


def main() -> None:
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0)
    from rapport.customers.services import CustomerService
    from rapport.tenancy.actors import Actor
    from rapport.tenancy.services import TenantService
    from tests.loyalty import races

    actor = Actor.for_system(TenantService.get_default(), "race")
    for code in ("RACE-1", "RACE-2", "RACE-3"):
        CustomerService.create_customer(actor=actor, code=code, first_name="Race")
    outcomes = {
        "vendor": connection.vendor,
        "earns_and_redeems": races.earns_and_redeems(actor, "RACE-1"),
        "one_reference": races.one_reference(actor, "RACE-2"),
        "first_earnings": races.first_earnings(actor, "RACE-3"),
    }
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
