"""`ridepledge demo` (what `make demo` runs): migrate, load the demo partners, seed their games,
run the production processes with their logs in a file, and print where everything is and how
to sign in, last, once the server answers. `ridepledge demo credentials` (`make demo-info`)
prints the sign-ins again."""

from __future__ import annotations

import os
import signal
import subprocess  # our own commands, no shell  # nosec B404
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from widget_server.cli.admins import set_password_link
from widget_server.cli.common import settings as current_settings
from widget_server.cli.partners import apply_partners
from widget_server.demo_credentials import (
    credential_lines,
    credentials_path,
    ensure_credentials,
    load_credentials,
    shell_exports,
)
from widget_server.extensions import db

LOG_FILE = "demo.log"
START_TIMEOUT = 90  # seconds for gunicorn to answer /healthz on a slow machine


@click.group("demo", cls=AppGroup, invoke_without_command=True)
@click.option(
    "--partners",
    "partners_path",
    default="partner_config",
    show_default=True,
    type=click.Path(path_type=Path),
)
@click.option("--no-serve", is_flag=True, help="Prepare the data and exit.")
@with_appcontext
def demo_group(partners_path: Path, no_serve: bool) -> None:
    """Migrate, load partners, seed demo trips, then serve at 127.0.0.1:$PORT (logs in
    instance/demo.log; the sign-ins are printed last)."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    settings = current_settings()
    log_path = settings.instance_path / LOG_FILE
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", buffering=1) as log_file:
        _log_to(log_file)
        try:
            kept, seeded = _prepare(partners_path)
            for line in seeded:
                click.echo(f"seeded {line}")
            if no_serve:
                _print_banner(log_path, kept, serving=False)
                return
            _run_demo_processes(settings, log_file, lambda: _print_banner(log_path, kept))
        finally:
            _log_to(None)  # back to stderr before the file closes


@demo_group.command("credentials")
@click.option("--shell", is_flag=True, help="`export` lines for the quickstarts.")
@with_appcontext
def demo_credentials(shell: bool) -> None:
    """Show the demo's console sign-ins and API client again."""
    data = load_credentials(credentials_path(current_settings().instance_path))
    if not data:
        click.echo("no demo sign-ins yet: run `make demo` (or `ridepledge demo`) first", err=True)
        sys.exit(1)
    lines = (
        shell_exports(db.session, data)
        if shell
        else credential_lines(db.session, data, set_password_link)
    )
    for line in lines:
        click.echo(line)


def _log_to(log_file) -> None:
    """This process's logs go to the demo's log file, as the server's and the worker's do
    (None: to stderr again)."""
    from widget_server.observability.logs import configure_logging

    configure_logging(_log_format(), current_settings().log_level, stream=log_file)


def _log_format() -> str:
    # The demo's log is read by a person (`tail -f instance/demo.log`) unless LOG_FORMAT says.
    return os.environ.get("LOG_FORMAT") or "text"


def _prepare(partners_path: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Schema, partners, demo games and sign-ins. Returns the partners whose console changes
    were kept (slug -> fields) and what was seeded."""
    from widget_server.demo_data import seed_demo
    from widget_server.demo_site import allow_demo_site_origins, changes_made_live, host_site_url
    from widget_server.migrate import upgrade

    settings = current_settings()
    upgrade(db.engine)
    # The demo's webhook receivers run on this machine (contract: the demo allows loopback).
    settings.webhooks_allow_loopback = True
    settings.enable_demo_mode()  # the landing page lists the demo's games and trips
    kept = apply_partners(partners_path, show_differences=False, relevant=changes_made_live)
    with db.transaction() as session:
        allow_demo_site_origins(session, host_site_url("demo"))
        seeded = seed_demo(session, current_app.extensions["ridepledge.payments"])
        ensure_credentials(
            session,
            credentials_path(settings.instance_path),
            settings.public_base_url,
            current_app.config["SECRET_KEY"],
        )
    return kept, seeded


def _print_banner(log_path: Path, kept: dict[str, list[str]], *, serving: bool = True) -> None:
    """Where everything is, then the sign-ins: the last lines on the terminal."""
    from widget_server.demo_site import host_site_url

    settings = current_settings()
    base = settings.public_base_url
    command = _shown_path(Path(sys.executable).parent / "ridepledge")
    state = "running" if serving else "prepared (not serving: --no-serve)"
    lines = [
        "",
        f"RidePledge demo {state} at {base}/",
        f"  start at the landing page, it links every page: {base}/",
        "  partner sites embedding the widget: "
        + ", ".join(host_site_url(slug) for slug in ("demo", "demo-away")),
        f"  API docs: {base}/docs   sent emails: {base}/demo/outbox",
        f"  logs: {_shown_path(log_path)}   the ridepledge command: {command}",
    ]
    if kept:
        fields = "; ".join(f"{slug}: {', '.join(names)}" for slug, names in kept.items())
        lines.append(
            f"  kept the changes made in the console ({fields}); "
            f"`{command} partners apply partner_config --force` resets them"
        )
    lines.append("")
    with db.transaction() as session:
        data = load_credentials(credentials_path(settings.instance_path))
        lines += credential_lines(session, data, set_password_link)
    lines += [f"  (shown again by `make demo-info` or `{command} demo credentials`)"]
    if serving:
        lines.append("Ctrl-C stops the demo.")
    for line in lines:
        click.echo(line)


def _shown_path(path: Path) -> str:
    """`path` relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _run_demo_processes(settings, log_file, when_up) -> None:
    """The production processes, as a host runs them: `ridepledge serve` (gunicorn) and
    `ridepledge worker`, started from this one command, logging to `log_file`, and stopped
    together (Ctrl-C or SIGTERM). `when_up()` runs once the server answers."""
    import secrets
    import shutil

    if not _port_is_free(settings.port):
        click.echo(
            f"port {settings.port} is in use (another demo?): pick another one, "
            f"e.g. PORT={settings.port + 100} make demo",
            err=True,
        )
        sys.exit(1)
    metrics_dir = settings.instance_path / "prometheus" / "demo"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WEBHOOKS_ALLOW_LOOPBACK": "1",
        "PORT": str(settings.port),
        "PUBLIC_BASE_URL": settings.public_base_url,
        "LOG_FORMAT": _log_format(),
        # Server and worker share one metrics directory, so /metrics shows both.
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        # `ridepledge serve` needs one: the operator's, or a new one for this demo run.
        "METRICS_TOKEN": settings.metrics_token or secrets.token_urlsafe(24),
    }
    command = [sys.executable, "-m", "widget_server.cli"]
    output = {"stdout": log_file, "stderr": subprocess.STDOUT, "env": env}
    children = [
        subprocess.Popen([*command, "worker", "--workers", "2"], **output),  # noqa: S603  # nosec B603
        subprocess.Popen([*command, "serve", "--host", "127.0.0.1"], **output),  # noqa: S603  # nosec B603
    ]
    click.echo("starting the production server (gunicorn) and the job worker ...")

    def stop(*_args):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        if not _wait_until_up(settings.port, children):
            click.echo(
                f"the demo did not start; the end of {log_file.name}:\n{_tail(log_file.name)}",
                err=True,
            )
            sys.exit(1)
        bearer = f"Authorization: Bearer {env['METRICS_TOKEN']}"
        click.echo(f"  metrics: curl -H '{bearer}' {settings.public_base_url}/metrics")
        when_up()
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        click.echo(f"a demo process stopped; see {log_file.name}", err=True)
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


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        # As gunicorn binds: a port left in TIME_WAIT by the last demo is free, a listening
        # one is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_until_up(port: int, children) -> bool:
    """True once the server answers /healthz; False if a process ends first or it takes too
    long (the port is taken, the database cannot be opened...)."""
    deadline = time.monotonic() + START_TIMEOUT
    url = f"http://127.0.0.1:{port}/healthz"
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        try:
            with urlopen(url, timeout=2) as answer:  # noqa: S310  # nosec B310 (our own http URL)
                if answer.status == 200:
                    return True
        except (URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def _tail(path: str, lines: int = 20) -> str:
    with open(path, encoding="utf-8", errors="replace") as file:
        return "".join(file.readlines()[-lines:])
