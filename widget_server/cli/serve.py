"""The processes a host runs: `ridepledge run` (development server), `ridepledge serve`
(gunicorn) and `ridepledge worker` (the job queue's consumer)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from widget_server.cli.common import settings as current_settings


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $PORT or 8000.")
@click.option("--debug/--no-debug", default=False, help="Reloader and debugger.")
@with_appcontext
def run_command(host: str, port: int | None, debug: bool) -> None:
    """Run the development server."""
    serve_dev(host, port or current_settings().port, debug=debug)


def serve_dev(host: str, port: int, *, debug: bool = False) -> None:
    """The current app on werkzeug's development server."""
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


@click.command("serve")
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


def _consumer(workers: int):
    huey = current_app.extensions["ridepledge.huey"]
    # SIGTERM (what systemd, Kubernetes and `docker stop` send) is graceful: the running jobs
    # finish, nothing new starts. SIGINT stops at once.
    return huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, graceful_signal="TERM"
    )


@click.command("worker")
@click.option("--workers", type=int, default=4, show_default=True, help="Worker threads.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run the job worker: charges, refunds, emails, webhooks, and the sweep once a minute
    across all workers. SIGTERM finishes the jobs in flight, then exits."""
    _consumer(workers).run()
