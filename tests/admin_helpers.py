"""Console tests: admins made through the domain, and a browser-like sign-in with CSRF."""

from __future__ import annotations

import re

from tests.factories import make_partner
from widget_server.domain.accounts.admins import create_admin
from widget_server.extensions import db

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_admin(session, partner, email: str, role: str = "owner", password: str | None = PASSWORD):
    return create_admin(session, partner, email=email, role=role, password=password, actor="test")


def team(app, slug: str = "kc-chiefs", roles=("owner",)) -> dict:
    """A partner with one admin per role (email ROLE@SLUG.example); committed."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, slug)
        admins = {
            role: make_admin(session, partner, f"{role}@{slug}.example", role) for role in roles
        }
        return {"partner_id": partner.id, **{role: a.email for role, a in admins.items()}}


def csrf(client, path: str = "/admin/login") -> str:
    """The CSRF token of this client's session, read from a console page as a browser would."""
    page = client.get(path, follow_redirects=True)  # a password link leads to its form
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, f"no csrf_token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client, email: str, password: str = PASSWORD, **kwargs):
    """Submit the sign-in form; returns the response (302 to the console on success)."""
    token = csrf(client)
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token},
        **kwargs,
    )


def post(client, path: str, data: dict | None = None, *, page: str = "/admin/account", **kwargs):
    """POST to a console URL with the session's CSRF token (read from `page`)."""
    return client.post(path, data={"csrf_token": csrf(client, page), **(data or {})}, **kwargs)
