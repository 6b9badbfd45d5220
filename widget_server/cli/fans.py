"""`ridepledge fans`: a fan's data requests, export and erasure (docs/privacy.md)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext

from widget_server.cli.common import email_or_exit, partner_or_exit
from widget_server.extensions import db

fans_group = AppGroup("fans", help="Fan data requests: export and erasure (docs/privacy.md).")


@fans_group.command("export")
@click.option("--partner", "slug", required=True, help="Partner slug.")
@click.option("--email", required=True, help="The fan's email address.")
@with_appcontext
def fans_export(slug: str, email: str) -> None:
    """Print everything the partner holds about the fan, as JSON."""
    from widget_server.domain.privacy import export_fan_data

    partner = partner_or_exit(db.session, slug)
    click.echo(json.dumps(export_fan_data(db.session, partner, email_or_exit(email)), indent=2))


@fans_group.command("erase")
@click.option("--partner", "slug", required=True, help="Partner slug.")
@click.option("--email", required=True, help="The fan's email address.")
@with_appcontext
def fans_erase(slug: str, email: str) -> None:
    """Erase the fan's personal data; the financial records stay without the person."""
    from widget_server.domain.privacy import erase_fan

    address = email_or_exit(email)
    with db.transaction() as session:
        partner = partner_or_exit(session, slug)
        counts = erase_fan(session, partner, address, actor="cli")
    click.echo(json.dumps({"object": "fan_erasure", **counts}))
