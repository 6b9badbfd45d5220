"""Request ids: echoed when the caller sent a sane one, generated otherwise; on every response."""

from __future__ import annotations

import re
import secrets

from flask import Flask, g, request

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def init_app(app: Flask) -> None:
    @app.before_request
    def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else _new_request_id()

    @app.after_request
    def _send_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id") or _new_request_id()
        return response


def _new_request_id() -> str:
    return "req_" + secrets.token_hex(12)
