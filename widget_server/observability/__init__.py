"""Owns operations: structured logs, Prometheus metrics, liveness and readiness."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from widget_server.observability import health, logs, metrics

    logs.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(health.bp)
