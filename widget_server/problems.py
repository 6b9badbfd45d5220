"""RFC 9457 problem details: the one error format of every API path."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, jsonify, render_template, request
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from widget_server.domain.errors import DomainError, field_errors
from widget_server.requests_context import request_id

PROBLEM_BASE = "https://docs.ridepledge.dev/problems/"
API_PREFIXES = ("/v1", "/oauth", "/.well-known", "/stripe", "/healthz")

log = logging.getLogger(__name__)


def is_api_path(path: str) -> bool:
    """Paths that always answer JSON problems, never HTML error pages."""
    if path.startswith(API_PREFIXES):
        return True
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "d":  # the driver page's JSON: /d/<token>/checkins
        return True
    return len(parts) > 3 and parts[1] == "w" and parts[3] == "api"


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str | None = None,
    errors: dict | None = None,
    headers: dict | None = None,
    extra: dict | None = None,
):
    """A problem+json response; `extra` adds extension members (RFC 9457 section 3.2)."""
    body = {
        "type": PROBLEM_BASE + (type_ or _slug(title)),
        "title": title,
        "status": status,
        "detail": detail or title,
        "request_id": request_id(),
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _slug(title: str) -> str:
    return "-".join(title.lower().replace("'", "").split())


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        if _wants_html():
            page = render_template(
                "error.html", status=exc.status, title=exc.title, detail=exc.detail
            )
            return page, exc.status
        return problem(exc.status, exc.title, exc.detail, type_=exc.type, errors=exc.errors or None)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        headers = dict(exc.get_response().headers)
        headers.pop("Content-Type", None)
        headers.pop("Content-Length", None)
        errors = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
        if not _wants_html() and exc.code == 422:
            # Request parsing (webargs) errors look exactly like the domain's validation errors.
            return problem(
                422,
                "Validation failed",
                "some fields are missing or invalid",
                type_="validation-error",
                errors=_flatten_location(errors),
                headers=headers,
            )
        if not _wants_html():
            return problem(
                exc.code or 500,
                exc.name,
                exc.description,
                type_=getattr(exc, "problem_type", None),
                errors=_flatten_location(errors),
                headers=headers,
            )
        return (
            render_template("error.html", status=exc.code, title=exc.name, detail=exc.description),
            exc.code or 500,
            headers,
        )

    @app.errorhandler(SQLAlchemyTimeout)
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(RedisConnectionError)
    def _unavailable(exc: Exception):
        # The database or Redis is gone (restart, failover, full pool): nothing was committed,
        # so the client may retry; say so instead of a 500.
        log.warning(
            "dependency unavailable on %s %s: %s", request.method, request.path, exc, exc_info=True
        )
        _discard_session()
        return problem(
            503,
            "Service unavailable",
            "a backing service is briefly unavailable; nothing was saved, retry shortly",
            type_="service-unavailable",
            headers={"Retry-After": "2"},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _http_error(InternalServerError("Something went wrong on our side; it is logged."))


def _discard_session() -> None:
    from flask import g

    session = g.pop("db_session", None)
    if session is not None:
        # The connection may already be broken; closing it lets the pool drop it.
        with contextlib.suppress(Exception):
            session.close()


def _wants_html() -> bool:
    """HTML error pages only for pages a person opened; APIs always get problem+json."""
    if is_api_path(request.path):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def _flatten_location(messages: dict | None) -> dict | None:
    """flask-smorest nests errors under their location (json, query); partners want fields."""
    if not messages:
        return None
    located = [value for value in messages.values() if isinstance(value, dict)]
    return field_errors(located) if located else field_errors(messages)
