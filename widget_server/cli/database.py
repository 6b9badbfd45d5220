"""`ridepledge db`: the database schema (Alembic migrations)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from widget_server.extensions import db

db_group = AppGroup("db", help="Database schema.")


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from widget_server.migrate import upgrade

    upgrade(db.engine, revision)
    click.echo(f"database at {revision}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    from widget_server.migrate import revision

    revision(db.engine, message)
