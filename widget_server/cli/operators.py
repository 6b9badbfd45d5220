"""`ridepledge operators`: bus companies (operators) and their owners."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup, with_appcontext

from widget_server.cli.admins import set_password_link
from widget_server.extensions import db

operators_group = AppGroup("operators", help="Bus companies (operators) and their portal.")


@operators_group.command("create")
@click.option("--name", required=True, help="The company's name, as partners see it.")
@click.option("--slug", required=True, help="Lower-case letters, digits, dashes.")
@click.option("--email", required=True, help="The owner's email: signs in to /operator.")
@click.option("--password", default=None, help="Without it, a one-time link to set one.")
@click.option("--regions", default="", help='Service regions, e.g. "KS,MO".')
@click.option("--usdot", default=None, help="USDOT number (digits).")
@click.option("--insurance-expires", default=None, help="Insurance expiry, YYYY-MM-DD.")
@click.option("--stripe-account", default=None, help="Stripe Connect account for payouts.")
@with_appcontext
def operators_create(
    name: str,
    slug: str,
    email: str,
    password: str | None,
    regions: str,
    usdot: str | None,
    insurance_expires: str | None,
    stripe_account: str | None,
) -> None:
    """Create an operator and its owner; prints {"id", "slug"} as JSON. Without --password,
    also prints a one-time link (72 h) for the owner to set one."""
    from widget_server.domain.errors import DomainError
    from widget_server.domain.operators.operators import create_operator

    data = {
        "name": name,
        "slug": slug,
        "regions": [code.strip() for code in regions.split(",") if code.strip()],
        "usdot_number": usdot,
        "insurance_expires_on": insurance_expires,
        "stripe_account_id": stripe_account,
    }
    try:
        with db.transaction() as session:
            operator, owner = create_operator(
                session, data, owner_email=email, owner_password=password, actor="cli"
            )
    except DomainError as exc:
        click.echo(f"not created: {_explained(exc)}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"id": operator.id, "slug": operator.slug}))
    if password is None:
        link = set_password_link(owner)
        click.echo(f"set the password (link works once, for 72 hours): {link}", err=True)


# The command's option for each field the domain names in an error.
OPTIONS = {
    "name": "--name",
    "slug": "--slug",
    "regions": "--regions",
    "usdot_number": "--usdot",
    "insurance_expires_on": "--insurance-expires",
    "stripe_account_id": "--stripe-account",
    "email": "--email",
    "password": "--password",  # the option's name  # nosec B105
}


def _explained(exc) -> str:
    """The domain's refusal in the command's words: each field named by its option."""
    if not exc.errors:
        return exc.detail
    return "; ".join(
        f"{OPTIONS.get(field.split('.')[0], field)} {' '.join(messages)}"
        for field, messages in exc.errors.items()
    )
