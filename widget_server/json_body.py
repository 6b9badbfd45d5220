"""Strict JSON request bodies, decided once for every JSON route (`/v1`, `/w/<partner>/api`).

`init_app` makes the app's JSON provider refuse what the standard library lets through and a
partner's tools would read differently:

- a body nested deeper than `MAX_DEPTH` (the stdlib parser recurses: thousands of levels are a
  `RecursionError`), checked on the text before parsing;
- a member name that appears twice in one object (the stdlib silently keeps the last): 422
  naming the member;
- `NaN`, `Infinity`, `-Infinity` (not JSON), and bodies that are not UTF-8.

On the JSON routes a write must say `Content-Type: application/json` (or `+json`) when it has a
body or a content type at all (else 415), and its body is at most `JSON_MAX_BYTES` (413).
Everything that reads a body (flask-smorest's parser through `StrictFlaskParser`, the widget
API through `request.get_json()`) goes through `request.get_json()`, so the rules hold
everywhere. Every refusal is a problem+json with `errors` naming `_body`, `Content-Type` or the
duplicated member.
"""

from __future__ import annotations

import json
import re
from functools import wraps
from typing import Any

from flask import Flask, Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import (
    BadRequest,
    RequestEntityTooLarge,
    UnprocessableEntity,
    UnsupportedMediaType,
)

MAX_DEPTH = 20
JSON_MAX_BYTES = 256 * 1024
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A JSON string literal, possessive so an unterminated one cannot make the scan backtrack.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")


class BodyRefused(ValueError):
    """A body the strict parser will not read; `field` is what the problem's `errors` names."""

    def __init__(self, message: str, field: str = "_body"):
        super().__init__(message)
        self.message = message
        self.field = field


class DuplicateMember(BodyRefused):
    """The same member name twice in one JSON object."""


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """How deep the arrays and objects of `text` nest (stops counting past `limit`)."""
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for char in skeleton:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result = {}
    for name, value in pairs:
        if name in result:
            raise DuplicateMember("appears more than once in the same JSON object", name)
        result[name] = value
    return result


def _refuse_constant(name: str):
    raise BodyRefused(f"{name} is not a JSON number")


def strict_loads(data: str | bytes | bytearray) -> Any:
    """`json.loads` under the rules above; `BodyRefused` (a ValueError) otherwise."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BodyRefused("is not UTF-8 text") from None
    if nesting_depth(data) > MAX_DEPTH:
        raise BodyRefused(f"nests arrays and objects deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(
            data, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except RecursionError:  # belt and braces: the depth scan should make this unreachable
        raise BodyRefused(f"nests deeper than {MAX_DEPTH} levels") from None
    except BodyRefused:
        raise
    except ValueError as exc:
        raise BodyRefused(f"is not valid JSON ({exc})") from None


class StrictJSONProvider(DefaultJSONProvider):
    """The app's JSON provider: the default for output, `strict_loads` for input."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s)


class InvalidJSON(BadRequest):
    problem_type = "invalid-json"


class JSONRequest(Request):
    """Turns every JSON loading failure into a problem naming what was wrong."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:  # get_json() on a body that is not declared JSON
            raise _unsupported_media_type()
        if isinstance(e, DuplicateMember):
            raise _unprocessable(e) from e
        if isinstance(e, BodyRefused):
            raise _invalid(e.field, f"the body {e.message}") from e
        raise _invalid("_body", f"the body is not valid JSON ({e})") from e


def _with_messages(exc, field: str, message: str):
    exc.data = {"messages": {field: [message]}}
    return exc


def _invalid(field: str, message: str) -> InvalidJSON:
    return _with_messages(InvalidJSON(message), field, message)


def _unprocessable(e: DuplicateMember) -> UnprocessableEntity:
    return _with_messages(UnprocessableEntity(f"{e.field}: {e.message}"), e.field, e.message)


def _unsupported_media_type() -> UnsupportedMediaType:
    message = "must be application/json"
    exc = UnsupportedMediaType("This endpoint takes JSON: send Content-Type: application/json.")
    return _with_messages(exc, "Content-Type", message)


def is_json_route(path: str) -> bool:
    """The route families whose writes take JSON bodies only."""
    if path.startswith("/v1/"):
        return True
    parts = path.split("/")
    return len(parts) > 3 and parts[1] == "w" and parts[3] == "api"


def _check_json_write() -> None:
    """Before a JSON route's write runs: its content type and size."""
    if request.method not in WRITE_METHODS or not is_json_route(request.path):
        return
    limit = current_app.config.get("JSON_MAX_BYTES", JSON_MAX_BYTES)
    request.max_content_length = limit  # also bounds chunked bodies while they are read
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    has_body = bool(request.content_length) or chunked
    if (has_body or request.content_type) and not request.is_json:
        raise _unsupported_media_type()
    if request.content_length and request.content_length > limit:
        message = f"must be at most {limit} bytes"
        raise _with_messages(RequestEntityTooLarge(f"The body {message}."), "_body", message)


def refuse_members() -> None:
    """For an operation that takes no body: none, or an empty JSON object. Anything else (a
    member the operation would silently ignore) is a 422 naming `_body`."""
    if request.method not in WRITE_METHODS or not request.get_data(cache=True):
        return
    if request.get_json() != {}:  # parsed strictly: depth, duplicates; not JSON is a 415
        message = "this operation takes no body: send none, or {}"
        raise _with_messages(UnprocessableEntity(message), "_body", message)


def takes_no_body(view):
    """Decorator for views that read no body (actions, DELETE): see `refuse_members`."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        refuse_members()
        return view(*args, **kwargs)

    return wrapper


def reads_json_body(view) -> bool:
    """Whether a flask-smorest view parses a JSON body (`@blp.arguments(Schema)`)."""
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(parameter.get("location", "json") == "json" for parameter in parameters)


def init_app(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
    app.request_class = JSONRequest
    app.config.setdefault("JSON_MAX_BYTES", JSON_MAX_BYTES)
    app.before_request(_check_json_write)


class StrictFlaskParser(FlaskParser):
    """webargs' parser reading JSON bodies through `request.get_json()` (the strict provider)
    instead of its own `json.loads`."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        if not req.get_data(cache=True):
            return core.missing  # as webargs does: an empty body is "no fields"
        return req.get_json()
