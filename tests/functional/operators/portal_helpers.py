"""Operator portal tests: an operator with one person per role, and a browser-like sign-in."""

from __future__ import annotations

from tests.admin_helpers import PASSWORD, csrf
from tests.factories import make_operator
from widget_server.domain.accounts.admins import create_admin
from widget_server.extensions import db


def crew(app, slug: str = "prairie-coach", roles=("owner", "dispatcher", "viewer")) -> dict:
    """An operator with one person per role (ROLE@SLUG.example, password PASSWORD; the
    factory's owner@ gets PASSWORD too); committed."""
    with app.app_context(), db.transaction() as session:
        operator = make_operator(session, slug)
        people = {}
        for role in roles:
            email = f"{role}@{slug}.example"
            if role != "owner":
                create_admin(session, operator, email=email, role=role, actor="test")
            people[role] = email
        from widget_server.domain.accounts.admins import find_admin, set_password

        for email in people.values():
            set_password(session, find_admin(session, email), PASSWORD, actor="test")
        return {"operator_id": operator.id, **people}


def portal_sign_in(client, email: str, password: str = PASSWORD):
    token = csrf(client, "/operator/login")
    return client.post(
        "/operator/login", data={"email": email, "password": password, "csrf_token": token}
    )


def portal_post(client, path: str, data: dict | None = None, *, page: str = "/operator/"):
    return client.post(path, data={"csrf_token": csrf(client, page), **(data or {})})
