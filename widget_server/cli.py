"""The `ridepledge` command line: a Flask CLI group."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext

from widget_server import create_app
from widget_server.extensions import db


def _create_app(*_args, **_kwargs):
    return create_app()


cli = FlaskGroup(
    create_app=_create_app,
    add_default_commands=False,
    load_dotenv=False,
    help="RidePledge widget server.",
)
cli.add_command(shell_command)
cli.add_command(routes_command)


def _settings():
    return current_app.config["SETTINGS"]


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $PORT or 8000.")
@click.option("--debug/--no-debug", default=False, help="Reloader and debugger.")
@with_appcontext
def run_command(host: str, port: int | None, debug: bool) -> None:
    """Run the development server."""
    _serve_dev(host, port or _settings().port, debug=debug)


def _serve_dev(host: str, port: int, *, debug: bool = False) -> None:
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


@cli.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 (a server listens)
@click.option("--port", type=int, default=None, help="Default: $PORT or 8000.")
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--threads", type=int, default=8, show_default=True)
@with_appcontext
def serve_command(host: str, port: int | None, workers: int, threads: int) -> None:
    """Run the production server (gunicorn)."""
    from widget_server.wsgi_server import serve

    serve(host, port or _settings().port, workers=workers, threads=threads)


@cli.group("db")
def db_group() -> None:
    """Database schema."""


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


@cli.group("partners")
def partners_group() -> None:
    """Partners declared as files."""


@partners_group.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
def partners_validate(path: Path) -> None:
    """Check partner file(s) at PATH; print every problem and exit 1 if there is any."""
    from widget_server.domain.partners import load_partner_files

    partners, problems = load_partner_files(path)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo(f"{len(partners)} partner file(s) valid: {', '.join(p['slug'] for p in partners)}")


@partners_group.command("apply")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def partners_apply(path: Path) -> None:
    """Create or update the partners declared at PATH (idempotent)."""
    _apply_partners(path)


def _apply_partners(path: Path) -> None:
    from widget_server.domain.partners import load_partner_files, upsert_partner

    partners, problems = load_partner_files(path)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo("nothing applied: fix the problems above first", err=True)
        sys.exit(1)
    with db.transaction() as session:
        for data in partners:
            partner, outcome = upsert_partner(session, data, actor="cli")
            click.echo(f"{partner.slug}: {outcome}")


@cli.command("demo")
@click.option(
    "--partners",
    "partners_path",
    default="partner_config",
    show_default=True,
    type=click.Path(path_type=Path),
)
@click.option("--no-serve", is_flag=True, help="Prepare the data and exit.")
@with_appcontext
def demo_command(partners_path: Path, no_serve: bool) -> None:
    """Migrate, load partners, seed demo trips, then serve at 127.0.0.1:$PORT."""
    from widget_server.demo_data import seed_demo
    from widget_server.migrate import upgrade

    upgrade(db.engine)
    _apply_partners(partners_path)
    with db.transaction() as session:
        for line in seed_demo(session):
            click.echo(f"seeded {line}")
    settings = _settings()
    base = settings.public_base_url
    click.echo("")
    click.echo(f"RidePledge demo running at {base}/")
    click.echo(f"  landing page: {base}/")
    click.echo(f"  health:       {base}/healthz")
    click.echo("")
    if no_serve:
        return
    consumer = _consumer(workers=2)
    consumer.start()  # job worker threads alongside the server, in this one process
    click.echo("job worker running (embedded queue)" if not settings.redis_url else "job worker")
    try:
        _serve_dev("127.0.0.1", settings.port)
    finally:
        consumer.stop(graceful=True)


def _consumer(workers: int):
    huey = current_app.extensions["ridepledge.huey"]
    return huey.create_consumer(workers=workers, worker_type="thread", periodic=True)


@cli.command("worker")
@click.option("--workers", type=int, default=4, show_default=True, help="Worker threads.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run the job worker: charges, refunds, emails, and the sweep every minute."""
    _consumer(workers).run()


@cli.command("settle")
@with_appcontext
def settle_command() -> None:
    """Run one settlement sweep now: deadlines, grace periods, lost charges, refunds, emails."""
    import json

    from widget_server.jobs.tasks import sweep

    click.echo(json.dumps(sweep()))


if __name__ == "__main__":
    cli()
