"""Liveness and readiness for load balancers and orchestrators.

- `/livez`: 200 while the process serves requests (no dependency is checked: restarting the
  process would not fix a database that is down).
- `/readyz`: 200 when the database answers, Redis answers (when REDIS_URL is set) and the
  schema is at the migrations' head; 503 with what is wrong otherwise, so a load balancer
  stops sending traffic to a host that cannot serve it and a deploy waits for migrations.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

from widget_server.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/livez")
def livez():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks = {"database": _database(), "redis": _redis(), "migrations": _migrations()}
    ready = all(value in ("ok", "not_configured") for value in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _database() -> str:
    from sqlalchemy import text

    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        return "down"
    return "ok"


def _redis() -> str:
    url = current_app.config["SETTINGS"].redis_url
    if not url:
        return "not_configured"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception:
        log.warning("readiness: Redis does not answer", exc_info=True)
        return "down"
    return "ok"


def _migrations() -> str:
    from widget_server.migrate import current_revisions, head_revisions

    try:
        with db.engine.connect() as connection:
            current = current_revisions(connection)
    except Exception:
        return "unknown"
    return "ok" if current == head_revisions() else "behind"
