"""Production serving with gunicorn, configured in code (no config file to lose)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication
from werkzeug.serving import WSGIRequestHandler

SERVER_NAME = "RidePledge"


class DevRequestHandler(WSGIRequestHandler):
    """The development server's handler, without the Werkzeug and Python versions in `Server`
    (gunicorn sends a bare `gunicorn`, without its version)."""

    def version_string(self) -> str:
        return SERVER_NAME


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        from widget_server import create_app

        return create_app()


def serve(host: str, port: int, *, workers: int, threads: int) -> None:
    """Serve the app with gunicorn's threaded workers until interrupted."""
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "forwarded_allow_ips": "127.0.0.1",
        }
    ).run()
