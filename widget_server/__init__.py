"""RidePledge widget server: create_app() wires config, extensions and blueprints together."""

from __future__ import annotations

from flask import Flask

from widget_server.config import Settings


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    """Build the app. Does no queries and starts nothing: wiring only."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(settings.to_flask())
    app.config.update(overrides)

    from widget_server import requests_context, site
    from widget_server.extensions import babel, db
    from widget_server.i18n import select_locale
    from widget_server.problems import register_error_handlers

    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    requests_context.init_app(app)
    register_error_handlers(app)
    app.register_blueprint(site.bp)
    return app
