"""Request ids: echoed when the caller sent a sane one, generated otherwise; on every response."""

from __future__ import annotations

import re
import secrets

from flask import Flask, g, request

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id() -> str:
    """This request's id, decided on first use (URL preprocessors and error handlers may need
    it before any before_request function has run)."""
    if "request_id" not in g:
        g.request_id = request_id_for(request.headers.get("X-Request-Id", ""))
    return g.request_id


def request_id_for(incoming: str) -> str:
    """The id of a request that sent `incoming` as its X-Request-Id: that if sane, else new."""
    return incoming if _SAFE_REQUEST_ID.match(incoming) else _new_request_id()


def init_app(app: Flask) -> None:
    @app.before_request
    def _assign_request_id() -> None:
        request_id()  # (a before_request function that returned a value would end the request)

    @app.after_request
    def _send_request_id(response):
        response.headers["X-Request-Id"] = request_id()
        return response


def _new_request_id() -> str:
    return "req_" + secrets.token_hex(12)
