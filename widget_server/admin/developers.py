"""API clients for the partner's developers: create with chosen scopes (the secret is shown
once), see when each was last used, roll the secret with an overlap, revoke."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.domain import clients
from widget_server.domain.errors import DomainError
from widget_server.domain.scopes import SCOPE_DESCRIPTIONS
from widget_server.domain.text import clean_text
from widget_server.extensions import db
from widget_server.models import ApiClient

# The overlaps an admin may choose when rolling a secret: how long the old one keeps working.
ROLL_OVERLAPS = {"now": timedelta(0), "1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def _page(errors=None, created=None, secret: str | None = None, status=200, rolled=False):
    page = render_template(
        "admin/clients.html",
        clients=clients.list_clients(db.session, g.partner),
        scopes=SCOPE_DESCRIPTIONS,
        errors=errors or {},
        created=created,
        secret=secret,
        rolled=rolled,
        token_url=current_app.config["SETTINGS"].public_base_url + "/oauth/token",
    )
    return page, status


@bp.get("/clients")
@requires("view")
def api_clients():
    return _page()


@bp.post("/clients")
@requires("developers")
def create_api_client():
    """A new client; its secret appears on this one answer only (it is stored hashed)."""
    scope = " ".join(request.form.getlist("scope"))
    try:
        name = clean_text(request.form.get("name", ""), max_length=200)
    except ValueError as exc:
        return _page({"name": [str(exc)]}, status=422)
    try:
        with db.transaction() as session:
            client, secret = clients.create_client(session, g.partner, scope, name, actor=actor())
    except DomainError as exc:
        return _page(exc.errors or {"_form": [exc.detail]}, status=exc.status)
    return _page(created=client, secret=secret, status=201)


@bp.post("/clients/<client_id>/roll")
@requires("developers")
def roll_api_client_secret(client_id: str):
    """A new secret shown once; the old one works until the chosen overlap ends."""
    client = owned(ApiClient, client_id)
    overlap = ROLL_OVERLAPS.get(request.form.get("overlap", ""))
    if overlap is None:
        return _page({"overlap": [_("Choose now, 1 hour or 24 hours.")]}, status=422)
    try:
        with db.transaction() as session:
            secret = clients.roll_secret(session, client, overlap, actor=actor())
    except DomainError as exc:
        return _page(exc.errors or {"_form": [exc.detail]}, status=exc.status)
    return _page(created=db.session.get(ApiClient, client_id), secret=secret, rolled=True)


@bp.post("/clients/<client_id>/revoke")
@requires("developers")
def revoke_api_client(client_id: str):
    client = owned(ApiClient, client_id)
    if client.revoked_at is None:
        with db.transaction() as session:
            tokens = clients.revoke_client(session, client, actor=actor())
        flash(
            _(
                "%(name)s is revoked; %(count)s live tokens stopped working.",
                name=client.name,
                count=tokens,
            )
        )
    return redirect(url_for("admin.api_clients"))
