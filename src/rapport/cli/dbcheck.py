"""Exit 0 when the database in DATABASE_URL answers, 1 otherwise (used by `make test`)."""

import sys

import dj_database_url
import psycopg


def main() -> int:
    import os

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    try:
        psycopg.connect(
            host=config["HOST"] or "127.0.0.1",
            port=config["PORT"] or 5432,
            user=config["USER"] or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as error:
        print(f"PostgreSQL: {error}".strip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
