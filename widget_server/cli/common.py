"""What several command modules share: the settings, and a partner, operator or email from an option
(a wrong one ends the command with a message, never a traceback)."""

from __future__ import annotations

import sys

import click
from flask import current_app


def settings():
    """The running app's `Settings`."""
    return current_app.config["SETTINGS"]


def partner_or_exit(session, slug: str):
    """The partner with `slug`, or exit 1 saying how to create it."""
    from sqlalchemy import select

    from widget_server.models import Partner

    partner = session.scalar(select(Partner).where(Partner.slug == slug))
    if partner is None:
        click.echo(
            f"no partner {slug!r}: apply its file first (ridepledge partners apply)", err=True
        )
        sys.exit(1)
    return partner


def operator_or_exit(session, slug: str):
    """The operator with `slug`, or exit 1 saying how to create it."""
    from sqlalchemy import select

    from widget_server.models import Operator

    operator = session.scalar(select(Operator).where(Operator.slug == slug))
    if operator is None:
        click.echo(f"no operator {slug!r}: create it first (ridepledge operators create)", err=True)
        sys.exit(1)
    return operator


def email_or_exit(value: str) -> str:
    """`value` normalised as an email address, or exit 1 naming `--email`."""
    from widget_server.domain.text import normalize_email

    try:
        return normalize_email(value)
    except ValueError as exc:
        click.echo(f"--email {exc}", err=True)
        sys.exit(1)
