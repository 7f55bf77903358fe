from post3_postgres.testing import (  # noqa: F401 - fixtures
    empty_postgres_database,
    new_postgres_database,
    postgres_backend,
    postgres_database,
    postgres_server,
)
