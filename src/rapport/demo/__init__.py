"""Demo data: realistic, reproducible customers for trying rapport and for benchmarks.

The rows are written straight into the tables (COPY on PostgreSQL, multi-row INSERT on
SQLite) and so bypass the services on purpose: a million customers through
`CustomerService.create_customer` would take hours. What the services would have added is
written alongside (the "Customer created", "Tagged …" and "Note added" timeline events), except
outbox events: demo data must not wake up webhooks. Tags are created through `TagService`.

Each customer may also have interactions staff logged (`rapport.demo.interactions`). Where the
optional apps are installed, customers also get consents with their history, identifiers
(WhatsApp numbers, social handles) and preferences (`rapport.demo.optional_apps`), an order
history and, at clinics, visits (`rapport.demo.commerce`), and pets (`rapport.demo.pets`),
each as the app's service would have written it; without the apps, none of it is written.

The generator (`rapport.demo.generator`) needs no database and no Django setup, so the
benchmark can work out the customers' codes from the seed; `rapport.demo.loader` writes them.
"""

from rapport.demo.generator import CodeSequence, customer_code

__all__ = ["CodeSequence", "customer_code"]
