"""The "add an endpoint" form of every back office (the console's developers, an operator's
owners): the URL checked with no transaction open, the events, a description; the endpoint
and its signing secret, or the form's errors naming each field."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, request

from widget_server.backoffice.sessions import actor
from widget_server.domain.errors import DomainError
from widget_server.domain.text import clean_text
from widget_server.extensions import db
from widget_server.webhooks import endpoints


@dataclass
class NewEndpoint:
    """What the form made: `endpoint_id` and the `secret` (shown once), or `errors` and the
    `status` to answer with; `values` to show the form again."""

    values: dict
    errors: dict = field(default_factory=dict)
    status: int = 201
    endpoint_id: str | None = None
    secret: str | None = None


def create_from_form(owner) -> NewEndpoint:
    """Create the endpoint the posted form describes for `owner` (a partner or an operator)."""
    values = {"url": request.form.get("url", ""), "events": request.form.getlist("events")}
    try:
        values["description"] = clean_text(request.form.get("description", ""), max_length=500)
    except ValueError as exc:
        return NewEndpoint(values, {"description": [str(exc)]}, 422)
    settings = current_app.config["SETTINGS"]
    try:
        db.end_reads()  # the host resolves with no transaction open
        url = endpoints.checked_url(values["url"], settings)
        with db.transaction() as session:
            endpoint, secret = endpoints.create_endpoint(
                session,
                owner,
                url=url,
                events=values["events"],
                description=values["description"],
                settings=settings,
                actor=actor(),
            )
    except DomainError as exc:
        return NewEndpoint(values, exc.errors or {"_form": [exc.detail]}, exc.status)
    return NewEndpoint(values, endpoint_id=endpoint.id, secret=secret)
