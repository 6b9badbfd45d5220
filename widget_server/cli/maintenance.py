"""`ridepledge settle` and `ridepledge housekeeping`: what the worker's periodic sweeps do,
once, now (each prints what it did as JSON)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext


@click.command("settle")
@with_appcontext
def settle_command() -> None:
    """Run one settlement sweep now: deadlines, grace periods, lost charges, refunds, emails."""
    from widget_server.jobs.tasks import sweep

    click.echo(json.dumps(sweep()))


@click.command("housekeeping")
@with_appcontext
def housekeeping_command() -> None:
    """Run housekeeping now: expired records, and fan data past FAN_DATA_RETENTION_DAYS."""
    from widget_server.jobs.tasks import housekeeping

    click.echo(json.dumps(housekeeping()))
