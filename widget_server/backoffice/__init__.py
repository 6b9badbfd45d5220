"""Owns what the two back offices share: the partner console (`/admin`) and the operator
portal (`/operator`). Each is a face with its own blueprint, cookie, pages and roles; both sign
their people in through domain/accounts with the same pages and rules, here:

- `faces`: what tells the two apart (`Face`: the blueprint, the side of the account, words);
- `sessions`: Flask-Login over server-side sessions, one cookie per face, the sign-in
  requirement, the role guard and the tenant's-object loader;
- `pages`: CSRF on every POST, the private-page headers, the 400/403/404 pages;
- `sign_in`: signing in (password, then the two-step code), out, password links;
- `forms`, `messages`: the account forms and the people's words for the domain's messages.

It imports no face; each face calls `setup(bp, face)` on its blueprint and `init_app(app)`,
then adds its own pages.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from widget_server.backoffice.faces import Face


def setup(bp: Blueprint, face: Face) -> None:
    """Give `bp` (a face's blueprint, once, where it is made) the shared sign-in machinery and
    page rules."""
    from widget_server.backoffice import pages, sessions, sign_in

    pages.guard(bp, face)
    sessions.require_sign_in(bp, face)
    sign_in.register(bp, face)


def init_app(app: Flask) -> None:
    """Once per app, whichever face asks first: the session cookies and the words filter."""
    from widget_server.backoffice import messages, sessions

    sessions.init_app(app)
    messages.init_app(app)
