"""Alembic environment: migrates the engine handed over in config.attributes['connection']."""

from alembic import context

import widget_server.models  # noqa: F401  (registers every table on the metadata)
from widget_server.db import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
