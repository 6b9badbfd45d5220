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
        admin,
        api,
        demo_outbox,
        demo_site,
        driver,
        i18n,
        jobs,
        json_body,
        oauth,
        observability,
        operator,
        path_ids,
        path_secrets,
        payments,
        public,
        ratelimits,
        requests_context,
        security_headers,
        site,
    )
    from widget_server.extensions import babel, db
    from widget_server.fan import assets as widget_assets
    from widget_server.fan import logos as widget_logos
    from widget_server.inbound import stripe as stripe_webhook
    from widget_server.problems import register_error_handlers
    from widget_server.widget import api as widget_api
    from widget_server.widget import blueprint as widget_pages
    from widget_server.widget import boarding as _boarding_routes  # noqa: F401 (routes on the bp)
    from widget_server.widget import manage as _manage_routes  # noqa: F401 (routes on the bp)
    from widget_server.widget import pages as _page_routes  # noqa: F401 (routes on the bp)
    from widget_server.widget import stop_requests as _stop_request_routes  # noqa: F401 (bp routes)
    from widget_server.widget import waitlist as _waitlist_routes  # noqa: F401 (routes on the bps)

    # First: after_request functions run in reverse order, so this one sees the final response.
    security_headers.init_app(app)
    db.init_app(app)
    from widget_server.public_cache import TTLCache

    app.extensions["ridepledge.public_cache"] = TTLCache(settings.public_cache_seconds)
    payments.init_app(app)
    jobs.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    requests_context.init_app(app)
    observability.init_app(app)
    json_body.init_app(app)  # strict JSON bodies (depth, duplicates, size, type) everywhere
    path_ids.init_app(app)  # ids in URLs have the shape of ids, else 404 before any query
    ratelimits.init_app(app)
    oauth.init_app(app)
    api.init_app(app)
    app.register_blueprint(site.bp)
    app.register_blueprint(widget_api.bp)
    app.register_blueprint(stripe_webhook.bp)
    app.register_blueprint(widget_pages.bp)
    app.register_blueprint(widget_assets.bp)
    app.register_blueprint(widget_logos.bp)
    app.register_blueprint(demo_site.bp)
    app.register_blueprint(demo_outbox.bp)
    admin.init_app(app)
    operator.init_app(app)
    app.register_blueprint(driver.bp)
    app.register_blueprint(driver.worker_bp)
    app.register_blueprint(public.bp)
    path_secrets.init_app(app)  # every route is known now: tokens in paths never logged
    register_error_handlers(app)  # last, so problem+json wins over flask-smorest's handlers
    if settings.trusted_proxies:
        # Client address and scheme from X-Forwarded-For/-Proto, trusting exactly that many
        # hops (the right-most ones, which our own load balancers appended); rate limits then
        # key on the real client. With 0, forwarded headers are ignored: anyone can send them.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    return app
