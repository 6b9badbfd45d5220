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

    from widget_server import (
        api,
        demo_site,
        driver,
        i18n,
        jobs,
        json_body,
        oauth,
        path_ids,
        payments,
        public,
        requests_context,
        site,
    )
    from widget_server.extensions import babel, db, limiter
    from widget_server.payments import stripe_webhook
    from widget_server.problems import register_error_handlers
    from widget_server.widget import api as widget_api
    from widget_server.widget import assets as widget_assets
    from widget_server.widget import pages as widget_pages

    db.init_app(app)
    payments.init_app(app)
    jobs.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    requests_context.init_app(app)
    json_body.init_app(app)  # strict JSON bodies (depth, duplicates, size, type) everywhere
    path_ids.init_app(app)  # ids in URLs have the shape of ids, else 404 before any query
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "ridepledge")
    # A moving window: no double burst at a window edge, and tests never straddle a reset.
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)
    oauth.init_app(app)
    api.init_app(app)
    app.register_blueprint(site.bp)
    app.register_blueprint(widget_api.bp)
    app.register_blueprint(stripe_webhook.bp)
    app.register_blueprint(widget_pages.bp)
    app.register_blueprint(widget_assets.bp)
    app.register_blueprint(demo_site.bp)
    app.register_blueprint(driver.bp)
    app.register_blueprint(public.bp)
    register_error_handlers(app)  # last, so problem+json wins over flask-smorest's handlers
    return app
