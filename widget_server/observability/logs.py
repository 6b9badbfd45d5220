"""Structured logs: one JSON object per line, with the request id, and never a secret.

Every record passes through `redact()` before it is written, whatever module logged it and
whatever it interpolated: bearer tokens, client secrets, webhook secrets, Stripe keys, card
numbers, passwords and signed links are replaced, and a fan's email keeps only its first letter
and domain (`m***@example.com`), so logs can be kept and shipped without holding personal data.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

from widget_server.path_secrets import redact_paths

# (pattern, replacement). Order matters: whole tokens before the generic long-secret rule.
_RULES: list[tuple[re.Pattern, str]] = [
    # Authorization: Bearer xyz / Basic xyz
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 [redacted]"),
    # key=value or "key": "value" for names that hold secrets
    (
        re.compile(
            r"""(?ix)
            (["']?\b(?:[a-z_]*secret[a-z_]*|password|passwd|token|access_token|api_key|
            authorization|card_number|cvc|cvv|code_verifier|csrf_token|preview)\b["']?
            \s*[:=]\s*["']?)
            [^\s"'&,}]+"""
        ),
        r"\1[redacted]",
    ),
    # Provider keys and our own prefixed secrets
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]{6,}"), r"\1_\2_[redacted]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{8,}"), "whsec_[redacted]"),
    (re.compile(r"\b(pi|seti|pm|cus)_[A-Za-z0-9]{20,}_secret_[A-Za-z0-9]+"), r"\1_[redacted]"),
    # Tokens in URL paths are found by route: `path_secrets` (applied first, in `redact`).
]
# Card numbers: 13 to 19 digits, optionally grouped by spaces or dashes, passing Luhn's check
# (so timestamps and counts are left alone).
_CARD = re.compile(r"\b(?:\d[ \-]?){12,18}\d\b")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})\b")


def redact(text: str) -> str:
    """`text` with secrets (tokens in URL paths by route, see `path_secrets`), card numbers
    and the local part of emails removed."""
    text = redact_paths(text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = _CARD.sub(_card_or_digits, text)
    return _EMAIL.sub(r"\1***@\2", text)


def _card_or_digits(match: re.Match) -> str:
    digits = [int(c) for c in match.group() if c.isdigit()]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return "[card redacted]" if total % 10 == 0 else match.group()


_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, extra fields,
    exception; every string redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or _current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry and not key.startswith("_"):
                entry[key] = _redact_value(key, value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class RedactingTextFormatter(logging.Formatter):
    """Human-readable lines for a terminal (LOG_FORMAT=text), redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_SECRET_NAME = re.compile(
    r"(?i)secret|password|passwd|token|authorization|api_key|card_number|cvc|cvv"
)


def _redact_value(key: str, value):
    """An extra field: by its name when the name says secret, else by its content."""
    if _SECRET_NAME.search(key):
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict | list | tuple):
        text = json.dumps(value, default=str, ensure_ascii=False)
        cleaned = redact(text)
        if cleaned == text:
            return value
        try:
            return json.loads(cleaned)
        except ValueError:
            return cleaned
    return value


def _current_request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return None


def configure_logging(log_format: str = "json", level: str = "INFO", stream=None) -> None:
    """Send every logger's records to `stream` (default stderr) through the redacting
    formatter (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ridepledge", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._ridepledge = True  # type: ignore[attr-defined]
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            RedactingTextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel("WARNING")
    # gunicorn's own loggers and werkzeug's go through the same handler.
    for name in ("gunicorn.error", "gunicorn.access", "werkzeug", "huey"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True


access_log = logging.getLogger("ridepledge.access")


def init_app(app: Flask) -> None:
    """One access log line per request: method, route, status, duration, request id; the
    path is logged redacted (manage links carry tokens)."""

    @app.before_request
    def _start_timer() -> None:
        g._request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        log_access(
            request.method,
            request.path,
            request.url_rule.rule if request.url_rule else None,
            response.status_code,
            g.get("_request_started"),
            request.remote_addr,
        )
        return response


def log_access(
    method: str,
    path: str,
    route: str | None,
    status: int,
    started: float | None,
    client: str | None,
) -> None:
    """The access line of one request (`started`: its `time.perf_counter()` at the start)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    extra = {
        "method": method,
        "path": redact(path),
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "client": client,
    }
    access_log.info("%s %s %s", method, path, status, extra=extra)
