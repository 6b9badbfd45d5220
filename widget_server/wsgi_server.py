"""Production serving with gunicorn, configured in code from Settings (no config file to lose).

- `WEB_CONCURRENCY` worker processes, each with `WEB_THREADS` threads (gthread);
- `WEB_TIMEOUT`: a worker silent for that long is killed and replaced;
- `GRACEFUL_TIMEOUT`: on SIGTERM gunicorn stops accepting, lets in-flight requests finish for
  up to that long, then exits (a rolling deploy loses no request);
- forwarded headers are handled by the app (ProxyFix, `TRUSTED_PROXIES`), not by gunicorn;
- Prometheus multiprocess mode: every worker writes its counters under
  `PROMETHEUS_MULTIPROC_DIR`; a dead worker's live gauges are dropped.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication
from werkzeug.serving import WSGIRequestHandler

from widget_server.config import Settings

SERVER_NAME = "RidePledge"
_RESPONSE_BODY = "ridepledge.response_body"


def closing_when_dropped(app):
    """`app`, remembering each response body in its environ for `DevRequestHandler`."""

    def remembering(environ, start_response):
        body = app(environ, start_response)
        environ[_RESPONSE_BODY] = body
        return body

    return remembering


class DevRequestHandler(WSGIRequestHandler):
    """The development server's handler, without the Werkzeug and Python versions in `Server`
    (gunicorn sends a bare `gunicorn`, without its version).

    When a client hangs up in the middle of a response (a page navigating away while a script
    downloads), Werkzeug can skip closing the response body and so leaves a static file open;
    an app wrapped in `closing_when_dropped` gets it closed here."""

    def version_string(self) -> str:
        return SERVER_NAME

    def connection_dropped(self, error: BaseException, environ=None) -> None:
        body = (environ or {}).get(_RESPONSE_BODY)
        if hasattr(body, "close"):
            body.close()


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        from widget_server import create_app
        from widget_server.observability.logs import configure_logging

        settings = Settings.from_env()
        configure_logging(settings.log_format, settings.log_level)
        return create_app(settings)


def _child_exit(_server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def gunicorn_options(settings: Settings, host: str, port: int) -> dict:
    """The gunicorn settings `ridepledge serve` runs with."""
    options = {
        "bind": f"{host}:{port}",
        "workers": settings.web_concurrency,
        "threads": settings.web_threads,
        "worker_class": "gthread",
        "timeout": settings.web_timeout,
        "graceful_timeout": settings.graceful_timeout,
        "keepalive": 5,
        # The app logs each request itself (JSON, with the request id); no second access log.
        "accesslog": None,
        "errorlog": "-",
        # Only ProxyFix (TRUSTED_PROXIES) decides what forwarded headers mean.
        "forwarded_allow_ips": "",
        "proc_name": "ridepledge",
        # Never preload: each worker builds its app (and its database pool) after the fork.
        "preload_app": False,
        # Several servers may run on one host (benchmarks, blue/green): no shared control socket.
        "control_socket_disable": True,
    }
    if settings.prometheus_multiproc_dir:
        options["child_exit"] = _child_exit
    return options


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the app with gunicorn until SIGTERM/SIGINT (graceful) ."""
    _Gunicorn(gunicorn_options(settings, host, port)).run()
