"""Prometheus metrics (prometheus-client): what operators watch on game day.

- `ridepledge_http_request_duration_seconds{method,route,status}`: latency by route (the URL
  rule, never the raw path, so ids do not explode the label set);
- `ridepledge_pledges_total{outcome}`, `ridepledge_charges_total{outcome}`;
- `ridepledge_webhook_attempts_total{outcome}` (failures have `outcome!="succeeded"`);
- `ridepledge_queue_depth`, `ridepledge_oldest_due_work_age_seconds{kind}`,
  `ridepledge_sweep_lag_seconds`: read when scraped (queue and database), so every process
  reports the same shared truth.

`/metrics` is not public: it needs `Authorization: Bearer $METRICS_TOKEN`, or, when no token is
set and the process does not serve production (`ridepledge serve` refuses to start without a
token), a loopback client. With several gunicorn workers (or the worker process on the same host)
the counters are kept in files under `PROMETHEUS_MULTIPROC_DIR` and summed when scraped
(prometheus-client's multiprocess mode; `ridepledge serve` sets it up).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

REQUEST_LATENCY = Histogram(
    "ridepledge_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PLEDGES = Counter("ridepledge_pledges_total", "Pledge attempts by outcome.", ["outcome"])
CHARGES = Counter("ridepledge_charges_total", "Charge attempts by outcome.", ["outcome"])
WEBHOOK_ATTEMPTS = Counter(
    "ridepledge_webhook_attempts_total", "Webhook delivery attempts by outcome.", ["outcome"]
)
SWEEPS = Counter("ridepledge_sweeps_total", "Minute sweeps by what happened.", ["result"])


def multiprocess_dir() -> str | None:
    """The directory prometheus-client's multiprocess mode uses, when it is on. (The library
    itself reads this variable at import; this only tells whether it did.)"""
    return current_app.config["SETTINGS"].prometheus_multiproc_dir


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start() -> None:
        g._metrics_started = time.perf_counter()

    @app.teardown_request
    def _observe(_exc) -> None:
        started = g.pop("_metrics_started", None)
        if started is None:
            return
        route = request.url_rule.rule if request.url_rule else "(unmatched)"
        observe_request(request.method, route, g.get("_metrics_status", 500), started)

    @app.after_request
    def _status(response):
        g._metrics_status = response.status_code
        return response


def observe_request(method: str, route: str, status: int, started: float) -> None:
    """One request's latency (`started`: its `time.perf_counter()` at the start)."""
    REQUEST_LATENCY.labels(method, route, str(status)).observe(time.perf_counter() - started)


def _allowed() -> bool:
    settings = current_app.config["SETTINGS"]
    token = settings.metrics_token
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    if settings.production:
        # Never by address in production: behind TRUSTED_PROXIES a client that reaches the
        # app port directly can name any address in X-Forwarded-For.
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics():
    """Prometheus text format; bearer METRICS_TOKEN, or loopback clients when it is unset."""
    if not _allowed():
        from widget_server.problems import problem

        return problem(
            401,
            "Unauthorized",
            "metrics need the METRICS_TOKEN bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    shared = CollectorRegistry()
    shared.register(_SharedState(current_app._get_current_object()))
    body += generate_latest(shared)
    return Response(body, mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class _SharedState:
    """Gauges read at scrape time from the queue and the database (the same on every host)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from widget_server.observability.state import queue_depth, sweep_lag_seconds, work_ages

        depth = GaugeMetricFamily(
            "ridepledge_queue_depth", "Jobs waiting in the queue (ready and scheduled).", None
        )
        ages = GaugeMetricFamily(
            "ridepledge_oldest_due_work_age_seconds",
            "How long the oldest due piece of work has waited, by kind.",
            labels=["kind"],
        )
        lag = GaugeMetricFamily(
            "ridepledge_sweep_lag_seconds", "Seconds since the last minute sweep started.", None
        )
        try:
            depth.add_metric([], queue_depth(self.app))
        except Exception:
            log.warning("metrics: queue depth unavailable", exc_info=True)
        try:
            for kind, age in work_ages().items():
                ages.add_metric([kind], age)
            seconds = sweep_lag_seconds()
            if seconds is not None:
                lag.add_metric([], seconds)
        except Exception:
            log.warning("metrics: database gauges unavailable", exc_info=True)
        yield depth
        yield ages
        yield lag
