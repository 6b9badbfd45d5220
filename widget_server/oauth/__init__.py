"""Owns OAuth 2.0 for the partner API: issuing tokens and the bearer-token guard of views.

authlib's authorization server (client credentials only),
revocation, introspection, metadata (`server`, `routes`) and bearer-token protection of views
(`protect.require_scope`). The scopes themselves are the domain's (`domain/scopes.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Give `app` its authorization server and the `/oauth/*` and `/.well-known/*` routes."""
    from widget_server.oauth import routes, server

    app.extensions["ridepledge.oauth"] = server.create_server(app)
    app.register_blueprint(routes.bp)
