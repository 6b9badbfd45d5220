"""The `ridepledge` command line: a Flask CLI group."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext

from widget_server import create_app
from widget_server.extensions import db
from widget_server.models.types import rfc3339
from widget_server.oauth.scopes import SCOPES

DEMO_PARTNER = "demo"
ALL_SCOPES = " ".join(SCOPES)


def _create_app(*_args, **_kwargs):
    from widget_server.config import Settings
    from widget_server.observability.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)


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

    from widget_server.wsgi_server import DevRequestHandler, closing_when_dropped

    app = current_app._get_current_object()
    run_simple(
        host,
        port,
        closing_when_dropped(app),
        use_reloader=debug,
        use_debugger=debug,
        threaded=True,
        request_handler=DevRequestHandler,
    )


@cli.command("serve", with_appcontext=False)
# A production server listens on every interface; the load balancer fronts it.
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104  # nosec B104
@click.option("--port", type=int, default=None, help="Default: $PORT or 8000.")
@click.option("--workers", type=int, default=None, help="Default: $WEB_CONCURRENCY or 2.")
@click.option("--threads", type=int, default=None, help="Default: $WEB_THREADS or 8.")
def serve_command(host: str, port: int | None, workers: int | None, threads: int | None) -> None:
    """Run the production server (gunicorn). No app is built here: each worker builds its own
    after the fork (its own database pool; metrics in multiprocess mode)."""
    from widget_server.config import Settings
    from widget_server.wsgi_server import serve

    settings = Settings.from_env()
    try:
        settings.enable_production()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if workers:
        settings.web_concurrency = workers
    if threads:
        settings.web_threads = threads
    _multiprocess_metrics(settings)
    serve(settings, host, port or settings.port)


def _multiprocess_metrics(settings) -> None:
    """With several workers, Prometheus counters are kept in files and summed when scraped.
    An operator's PROMETHEUS_MULTIPROC_DIR (shared with `ridepledge worker` on the host, so its
    counters show too) is used as is. Otherwise, with more than one worker, a fresh directory
    of this server's own is made. It must be set before prometheus_client is imported: here
    no app was built yet in this process."""
    if settings.prometheus_multiproc_dir:
        Path(settings.prometheus_multiproc_dir).mkdir(parents=True, exist_ok=True)
        return
    if settings.web_concurrency < 2:
        return
    directory = settings.instance_path / "prometheus" / f"serve-{os.getpid()}"
    fresh_metrics_dir(directory)
    settings.prometheus_multiproc_dir = str(directory)


def fresh_metrics_dir(directory: Path) -> None:
    """Make `directory` the (empty) Prometheus multiprocess directory of this process and the
    processes it starts."""
    import shutil

    if "prometheus_client" in sys.modules:
        raise RuntimeError("the metrics directory must be set before prometheus_client loads")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    # prometheus_client (and the children's Settings) read it from the environment.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


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
@click.option(
    "--force", is_flag=True, help="Overwrite partners whose live settings differ from the file."
)
@with_appcontext
def partners_apply(path: Path, force: bool) -> None:
    """Create the partners declared at PATH. A partner that exists already and differs from
    its file (changed through the API or the console since) is left as it is: its differences
    are shown, and the command exits 1 unless --force overwrites them. Idempotent."""
    if _apply_partners(path, force=force) and not force:
        sys.exit(1)


def _apply_partners(path: Path, *, force: bool = False) -> int:
    """Apply the files; returns how many existing partners differ and were left alone."""
    from widget_server.domain.partners import (
        load_partner_files,
        partner_differences,
        upsert_partner,
    )

    partners, problems = load_partner_files(path)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo("nothing applied: fix the problems above first", err=True)
        sys.exit(1)
    kept = 0
    with db.transaction() as session:
        for data in partners:
            differences = partner_differences(session, data)
            if differences and not force:
                kept += 1
                click.echo(f"{data['slug']}: differs from its file, kept (--force overwrites):")
                for field, (live, wanted) in differences.items():
                    click.echo(f"  {field}: {live!r} (live) -> {wanted!r} (file)")
                continue
            partner, outcome = upsert_partner(session, data, actor="cli")
            click.echo(f"{partner.slug}: {outcome}")
    return kept


@cli.group("clients")
def clients_group() -> None:
    """API clients (OAuth client credentials) of partners."""


def _partner_or_exit(session, slug: str):
    from sqlalchemy import select

    from widget_server.models import Partner

    partner = session.scalar(select(Partner).where(Partner.slug == slug))
    if partner is None:
        click.echo(
            f"no partner {slug!r}: apply its file first (ridepledge partners apply)", err=True
        )
        sys.exit(1)
    return partner


@clients_group.command("create")
@click.option("--partner", "slug", required=True, help="Partner slug.")
@click.option("--scope", required=True, help='Space separated, e.g. "events:read trips:read".')
@click.option("--name", default=None, help="What the client is for (shown in lists).")
@with_appcontext
def clients_create(slug: str, scope: str, name: str | None) -> None:
    """Create an API client; prints its id and secret as JSON (the secret is shown once)."""
    import json

    from widget_server.domain.clients import create_client
    from widget_server.domain.errors import ValidationFailed

    try:
        with db.transaction() as session:
            partner = _partner_or_exit(session, slug)
            client, secret = create_client(session, partner, scope, name, actor="cli")
    except ValidationFailed as exc:
        click.echo(f"invalid {exc.detail}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"client_id": client.id, "client_secret": secret, "scope": client.scope}))


@clients_group.command("list")
@click.option("--partner", "slug", required=True, help="Partner slug.")
@with_appcontext
def clients_list(slug: str) -> None:
    """List a partner's API clients as JSON (no secrets: they are not stored)."""
    import json

    from widget_server.domain.clients import list_clients

    partner = _partner_or_exit(db.session, slug)
    rows = [
        {
            "client_id": client.id,
            "name": client.name,
            "scope": client.scope,
            "created_at": _isoformat(client.created_at),
            "last_used_at": _isoformat(client.last_used_at),
            "revoked_at": _isoformat(client.revoked_at),
        }
        for client in list_clients(db.session, partner)
    ]
    click.echo(json.dumps(rows, indent=2))


def _isoformat(value) -> str | None:
    return rfc3339(value)


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


@cli.group("admins")
def admins_group() -> None:
    """Partner admins of the console."""


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
    from widget_server.domain.admins import create_admin
    from widget_server.domain.errors import DomainError

    try:
        with db.transaction() as session:
            partner = _partner_or_exit(session, slug)
            admin = create_admin(
                session, partner, email=email, role=role, password=password, actor="cli"
            )
    except DomainError as exc:
        click.echo(f"not created: {exc.detail}", err=True)
        sys.exit(1)
    click.echo(f"{admin.email} ({admin.role}) of {slug}: {admin.id}")
    if password is None:
        click.echo(f"set the password (link works once, for 72 hours): {_set_link(admin)}")


def _set_link(admin) -> str:
    from widget_server.domain.admins import password_token

    token = password_token(current_app.config["SECRET_KEY"], admin, "set")
    return f"{_settings().public_base_url}/admin/password/set/{token}"


@cli.group("fans")
def fans_group() -> None:
    """Fan data requests: export and erasure (docs/privacy.md)."""


@fans_group.command("export")
@click.option("--partner", "slug", required=True, help="Partner slug.")
@click.option("--email", required=True, help="The fan's email address.")
@with_appcontext
def fans_export(slug: str, email: str) -> None:
    """Print everything the partner holds about the fan, as JSON."""
    import json

    from widget_server.domain.privacy import export_fan_data

    partner = _partner_or_exit(db.session, slug)
    click.echo(json.dumps(export_fan_data(db.session, partner, _email_or_exit(email)), indent=2))


@fans_group.command("erase")
@click.option("--partner", "slug", required=True, help="Partner slug.")
@click.option("--email", required=True, help="The fan's email address.")
@with_appcontext
def fans_erase(slug: str, email: str) -> None:
    """Erase the fan's personal data; the financial records stay without the person."""
    import json

    from widget_server.domain.privacy import erase_fan

    address = _email_or_exit(email)
    with db.transaction() as session:
        partner = _partner_or_exit(session, slug)
        counts = erase_fan(session, partner, address, actor="cli")
    click.echo(json.dumps({"object": "fan_erasure", **counts}))


def _email_or_exit(value: str) -> str:
    from widget_server.domain.text import normalize_email

    try:
        return normalize_email(value)
    except ValueError as exc:
        click.echo(f"--email {exc}", err=True)
        sys.exit(1)


@cli.command("housekeeping")
@with_appcontext
def housekeeping_command() -> None:
    """Run housekeeping now: expired records, and fan data past FAN_DATA_RETENTION_DAYS."""
    import json

    from widget_server.jobs.tasks import housekeeping

    click.echo(json.dumps(housekeeping()))


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
    from widget_server.demo_site import allow_demo_site_origins, host_site_url
    from widget_server.migrate import upgrade

    upgrade(db.engine)
    # The demo's webhook receivers run on this machine (contract: the demo allows loopback).
    _settings().webhooks_allow_loopback = True
    _settings().enable_demo_mode()  # the landing page lists the demo's games and trips
    _apply_partners(partners_path)
    with db.transaction() as session:
        allow_demo_site_origins(session, host_site_url("demo"))
        for line in seed_demo(session, current_app.extensions["ridepledge.payments"]):
            click.echo(f"seeded {line}")
        credentials = _demo_credentials(session, _settings().public_base_url)
        credentials += _demo_console_sign_ins(session, _settings().public_base_url)
    settings = _settings()
    base = settings.public_base_url
    click.echo("")
    click.echo(f"RidePledge demo running at {base}/")
    click.echo(f"  landing page: {base}/")
    click.echo(f"  health:       {base}/healthz")
    click.echo(f"  embed loader: {base}/embed.js")
    for slug in ("demo", "demo-away"):
        click.echo(f"  partner site embedding the {slug} widget: {host_site_url(slug)}")
    for line in credentials:
        click.echo(f"  {line}")
    click.echo("")
    if no_serve:
        return
    _run_demo_processes(settings)


def _run_demo_processes(settings) -> None:
    """The production processes, as a host runs them: `ridepledge serve` (gunicorn) and
    `ridepledge worker`, started from this one command and stopped together (Ctrl-C or
    SIGTERM)."""
    import secrets
    import shutil
    import subprocess  # our own commands, no shell  # nosec B404
    import time

    metrics_dir = settings.instance_path / "prometheus" / "demo"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WEBHOOKS_ALLOW_LOOPBACK": "1",
        "PORT": str(settings.port),
        "PUBLIC_BASE_URL": settings.public_base_url,
        # Server and worker share one metrics directory, so /metrics shows both.
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        # `ridepledge serve` needs one: the operator's, or a new one for this demo run.
        "METRICS_TOKEN": settings.metrics_token or secrets.token_urlsafe(24),
    }
    bearer = f"Authorization: Bearer {env['METRICS_TOKEN']}"
    click.echo(f"  metrics: curl -H '{bearer}' {settings.public_base_url}/metrics")
    command = [sys.executable, "-m", "widget_server.cli"]
    children = [
        subprocess.Popen([*command, "worker", "--workers", "2"], env=env),  # noqa: S603  # nosec B603
        subprocess.Popen([*command, "serve", "--host", "127.0.0.1"], env=env),  # noqa: S603  # nosec B603
    ]
    click.echo("job worker and production server (gunicorn) starting; Ctrl-C stops both")

    def stop(*_args):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()  # both stop gracefully on SIGTERM
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


def _demo_credentials(session, base: str) -> list[str]:
    """Banner lines: a new all-scopes API client of the demo partner, unless it has one."""
    from sqlalchemy import select

    from widget_server.domain.clients import create_client, has_active_client
    from widget_server.models import Partner

    partner = session.scalar(select(Partner).where(Partner.slug == DEMO_PARTNER))
    if partner is None:
        return []
    if has_active_client(session, partner):
        return [
            "API credentials: the demo partner already has a client (its secret was shown once);",
            "  make another: ridepledge clients create "
            f'--partner {DEMO_PARTNER} --scope "{ALL_SCOPES}"',
        ]
    client, secret = create_client(session, partner, ALL_SCOPES, "demo", actor="cli")
    return [
        f"API credentials (shown once): client_id={client.id} client_secret={secret}",
        f"  get a token: curl -u {client.id}:{secret} -d grant_type=client_credentials "
        f"{base}/oauth/token",
    ]


def _demo_console_sign_ins(session, base: str) -> list[str]:
    """Banner lines: a console owner per demo partner; a new one gets a password shown once,
    an existing one a fresh one-time link to set a password."""
    import secrets

    from sqlalchemy import select

    from widget_server.domain.admins import create_admin, find_admin
    from widget_server.models import Partner

    lines = [f"partner console: {base}/admin/"]
    for slug in ("demo", "demo-away"):
        partner = session.scalar(select(Partner).where(Partner.slug == slug))
        if partner is None:
            continue
        email = f"owner@{slug}.example"
        admin = find_admin(session, email)
        if admin is None:
            password = secrets.token_urlsafe(12)
            create_admin(session, partner, email=email, password=password, actor="cli")
            lines.append(f"  {slug} console sign-in (shown once): {email} / {password}")
        else:
            session.flush()
            lines.append(f"  {slug} console: {email}; set a password: {_set_link(admin)}")
    return lines


def _consumer(workers: int):
    huey = current_app.extensions["ridepledge.huey"]
    # SIGTERM (what systemd, Kubernetes and `docker stop` send) is graceful: the running jobs
    # finish, nothing new starts. SIGINT stops at once.
    return huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, graceful_signal="TERM"
    )


@cli.command("worker")
@click.option("--workers", type=int, default=4, show_default=True, help="Worker threads.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run the job worker: charges, refunds, emails, webhooks, and the sweep once a minute
    across all workers. SIGTERM finishes the jobs in flight, then exits."""
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
