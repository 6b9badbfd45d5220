"""`ridepledge clients`: partners' and operators' API clients (OAuth client credentials)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup, with_appcontext

from widget_server.cli.common import operator_or_exit, partner_or_exit
from widget_server.extensions import db
from widget_server.models.types import rfc3339

clients_group = AppGroup(
    "clients", help="API clients (OAuth client credentials) of partners and operators."
)


@clients_group.command("create")
@click.option("--partner", "slug", default=None, help="Partner slug.")
@click.option("--operator", "operator_slug", default=None, help="Or an operator's slug.")
@click.option("--scope", required=True, help='Space separated, e.g. "events:read trips:read".')
@click.option("--name", default=None, help="What the client is for (shown in lists).")
@with_appcontext
def clients_create(
    slug: str | None, operator_slug: str | None, scope: str, name: str | None
) -> None:
    """Create an API client of a partner (--partner) or of an operator (--operator, operator
    scopes only); prints its id and secret as JSON (the secret is shown once)."""
    from widget_server.domain.clients import create_client
    from widget_server.domain.errors import ValidationFailed

    if (slug is None) == (operator_slug is None):
        click.echo("name either --partner or --operator", err=True)
        sys.exit(2)
    try:
        with db.transaction() as session:
            if operator_slug is not None:
                tenant = operator_or_exit(session, operator_slug)
            else:
                tenant = partner_or_exit(session, slug)
            client, secret = create_client(session, tenant, scope, name, actor="cli")
    except ValidationFailed as exc:
        click.echo(f"invalid {exc.detail}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"client_id": client.id, "client_secret": secret, "scope": client.scope}))


@clients_group.command("list")
@click.option("--partner", "slug", required=True, help="Partner slug.")
@with_appcontext
def clients_list(slug: str) -> None:
    """List a partner's API clients as JSON (no secrets: they are not stored)."""
    from widget_server.domain.clients import list_clients

    partner = partner_or_exit(db.session, slug)
    rows = [
        {
            "client_id": client.id,
            "name": client.name,
            "scope": client.scope,
            "created_at": rfc3339(client.created_at),
            "last_used_at": rfc3339(client.last_used_at),
            "revoked_at": rfc3339(client.revoked_at),
        }
        for client in list_clients(db.session, partner)
    ]
    click.echo(json.dumps(rows, indent=2))


@clients_group.command("revoke")
@click.argument("client_id")
@with_appcontext
def clients_revoke(client_id: str) -> None:
    """Revoke an API client: it gets no more tokens and its tokens stop working."""
    from widget_server.domain.clients import revoke_client
    from widget_server.models import ApiClient

    with db.transaction() as session:
        client = session.get(ApiClient, client_id)
        if client is None:
            click.echo(f"no API client {client_id!r}", err=True)
            sys.exit(1)
        if client.revoked_at is not None:
            click.echo(f"{client_id} was already revoked")
            return
        tokens = revoke_client(session, client, actor="cli")
    click.echo(f"{client_id} revoked ({tokens} live token(s) revoked with it)")
