"""`ridepledge admins`: partner admins of the console."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup, with_appcontext

from widget_server.cli.common import partner_or_exit
from widget_server.extensions import db

admins_group = AppGroup("admins", help="Partner admins of the console.")


@admins_group.command("create")
@click.option("--partner", "slug", required=True, help="Partner slug.")
@click.option("--email", required=True)
@click.option("--password", default=None, help="Without it, a one-time link to set one.")
@click.option(
    "--role",
    type=click.Choice(["owner", "editor", "developer", "viewer"]),
    default="owner",
    show_default=True,
)
@with_appcontext
def admins_create(slug: str, email: str, password: str | None, role: str) -> None:
    """Create a console admin; without --password, print a one-time link to set it (72 h)."""
    from widget_server.domain.accounts.admins import create_admin
    from widget_server.domain.errors import DomainError

    try:
        with db.transaction() as session:
            partner = partner_or_exit(session, slug)
            admin = create_admin(
                session, partner, email=email, role=role, password=password, actor="cli"
            )
    except DomainError as exc:
        click.echo(f"not created: {exc.detail}", err=True)
        sys.exit(1)
    click.echo(f"{admin.email} ({admin.role}) of {slug}: {admin.id}")
    if password is None:
        click.echo(f"set the password (link works once, for 72 hours): {set_password_link(admin)}")


def set_password_link(admin) -> str:
    """A one-time link for `admin` to set a password (72 hours), on the console or, for an
    operator's person, on the operator portal."""
    from widget_server.notifications.admin_emails import password_link

    return password_link(admin, "set")
