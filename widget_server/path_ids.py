"""Ids in URLs are checked before any view runs (after the blueprints' URL preprocessors).

Every route variable named `id` or ending in `_id` (`/v1/trips/<trip_id>`,
`/w/<partner>/trips/<trip_id>/pledge`, and every route added later) must have the shape of our
ids (`widget_server.ids.is_id`); anything else is 404 at once, so a NUL byte or a megabyte of
text in a path never reaches a query. The error is the same "no such object" a well-formed
unknown id gets: a malformed id tells nobody anything more.
"""

from __future__ import annotations

from flask import Flask, request

from widget_server.domain.errors import NotFound
from widget_server.ids import is_id


def is_id_variable(name: str) -> bool:
    """Whether a route variable holds one of our ids."""
    return name == "id" or name.endswith("_id")


def _check_ids() -> None:
    for name, value in (request.view_args or {}).items():
        if is_id_variable(name) and not is_id(value):
            raise NotFound(f"no such object: {name} is not an id this service gave out")


def init_app(app: Flask) -> None:
    # A before_request hook, not a URL value preprocessor: blueprints' preprocessors (the
    # widget's partner, which decides the 404 page's frame-ancestors) have run by then.
    app.before_request(_check_ids)
