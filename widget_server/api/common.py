"""What every /v1 resource shares: the problem schema, scope protection with its OpenAPI
documentation, cursor pagination and the audit actor."""

from __future__ import annotations

import re
from functools import wraps

import flask_smorest
from flask import g
from marshmallow import Schema, fields, validate
from sqlalchemy import Select

from widget_server.api.idempotency import replayable
from widget_server.domain.errors import NotFound, ValidationFailed
from widget_server.domain.numbers import DigitsInteger
from widget_server.domain.scopes import OPERATOR_SCOPES
from widget_server.extensions import db
from widget_server.json_body import StrictFlaskParser, reads_json_body, takes_no_body
from widget_server.oauth.protect import require_scope

MAX_LIMIT = 100
PROBLEM_JSON = "application/problem+json"


class Blueprint(flask_smorest.Blueprint):
    """Every /v1 resource's blueprint: bodies are read by the strict JSON parser
    (`widget_server.json_body`: depth, duplicate members, size)."""

    ARGUMENTS_PARSER = StrictFlaskParser()


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(
        required=True,
        metadata={"format": "uri", "example": "https://docs.ridepledge.dev/problems/not-found"},
    )
    title = fields.String(required=True)
    status = fields.Integer(required=True, validate=validate.Range(400, 599))
    detail = fields.String(required=True)
    request_id = fields.String(required=True, allow_none=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Validation errors: field name -> messages."},
    )
    # A refused token (401, 403) also says it the OAuth way (RFC 6750 section 3.1).
    error = fields.String(
        metadata={
            "description": "OAuth error code of a refused token.",
            "enum": ["invalid_token", "insufficient_scope", "invalid_request"],
        }
    )
    error_description = fields.String(metadata={"description": "The same as `detail`."})


# The shape of every id `widget_server.ids.new_id` makes, which is what a list cursor is.
CURSOR_PATTERN = r"^[a-z]{1,8}_[0-9a-hjkmnp-tv-z]{26}$"
CURSOR = re.compile(CURSOR_PATTERN)
_CURSOR_HELP = "`next_cursor` of the previous page; opaque, pass it back unchanged."


def cursor_field(pattern: str = CURSOR_PATTERN) -> fields.String:
    """The `cursor` query parameter (its pattern is documented and enforced)."""
    return fields.String(
        load_default=None, metadata={"pattern": pattern, "description": _CURSOR_HELP}
    )


class ListArgs(Schema):
    limit = DigitsInteger(load_default=20, validate=validate.Range(1, MAX_LIMIT))
    cursor = cursor_field()


def list_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The `{"object": "list", "data": [...], "has_more", "next_cursor"}` envelope."""
    return type(
        name,
        (Schema,),
        {
            "object": fields.Constant("list"),
            "data": fields.List(fields.Nested(item_schema)),
            "has_more": fields.Boolean(),
            "next_cursor": fields.String(allow_none=True),
        },
    )


def problem_doc(blp, status: int, description: str):
    """Document a problem+json error response of an operation."""
    return blp.alt_response(
        status, schema=ProblemSchema, description=description, content_type=PROBLEM_JSON
    )


def protected(blp, scope: str | None, *, not_found: bool = True, operator: bool = False):
    """Require a bearer token with `scope` and document it (security, 401/403/429 problems).
    An `Idempotency-Key` replay is answered only after the token and the scope are checked.
    `operator`: a route of the operator API (`/v1/operator`), for operators' clients only;
    there `scope` None takes any operator scope."""

    def decorator(view):
        reads_body = reads_json_body(view)
        checked = view if reads_body else takes_no_body(view)
        guarded = require_scope(scope, operator=operator)(replayable(checked))
        if reads_body:  # what the strict JSON reader (widget_server.json_body) answers
            guarded = problem_doc(blp, 400, "Not JSON, or nested deeper than 20 levels")(guarded)
            guarded = problem_doc(blp, 413, "The body is larger than 256 KiB")(guarded)
            guarded = problem_doc(blp, 415, "The body is not application/json")(guarded)
        alternatives = [scope] if scope is not None else list(OPERATOR_SCOPES)
        security = [{"oauth2": [name]} for name in alternatives]
        guarded = blp.doc(security=security, operationId=view.__name__)(guarded)
        guarded = problem_doc(blp, 401, "Missing, invalid, expired or revoked token")(guarded)
        lacking = f"The token lacks the `{scope}` scope" if scope else "The token has no scope"
        lacking += ", or is not an operator client's" if operator else ", or is an operator's"
        guarded = problem_doc(blp, 403, lacking)(guarded)
        guarded = problem_doc(blp, 429, "Rate limited; see Retry-After")(guarded)
        if not_found:
            guarded = problem_doc(blp, 404, "No such object")(guarded)
        return guarded

    return decorator


def actor() -> str:
    """Who does this write, for the audit log."""
    return f"client:{g.client_id}"


def encode_cursor(value: str) -> str:
    """The `next_cursor` after an object: its id (lists are ordered by id; see `page`)."""
    return value


def decode_cursor(cursor: str) -> str:
    """The position a cursor names. Every value of the documented pattern is a position (one
    this API gave out or not), so a schema-valid cursor is never refused; anything else is."""
    if not CURSOR.fullmatch(cursor):
        raise ValidationFailed.field("cursor", "is not a cursor this API gave out")
    return cursor


def page(query: Select, id_column, *, limit: int, cursor: str | None) -> dict:
    """Newest first by (time-ordered) id; the cursor is the last id seen, so objects created
    while a client pages never cause duplicates or gaps in what it has not yet read."""
    if cursor is not None:
        query = query.where(id_column < decode_cursor(cursor))
    rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {
        "object": "list",
        "data": rows,
        "has_more": has_more,
        "next_cursor": encode_cursor(rows[-1].id) if has_more else None,
    }


def owned(model, object_id: str):
    """The partner's own object, or 404 (never 403, never a hint that it exists elsewhere)."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.partner_id != g.partner.id:
        raise NotFound(f"no {model.__name__.lower()} {object_id}")
    return obj


def owned_first(model, argument: str):
    """Decorator (put it before `blp.arguments`): 404 for another partner's object before the
    body is read, so a 422 never tells an intruder that the id exists."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            owned(model, kwargs[argument])
            return view(*args, **kwargs)

        return wrapper

    return decorator


def created(location: str):
    """Decorator for creating views: 201 with a Location header."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            result = view(*args, **kwargs)
            return result, 201, {"Location": location.format(id=result.id)}

        return wrapper

    return decorator
