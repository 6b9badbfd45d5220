"""Owns the REST API face (`/v1` for partners, `/v1/operator` for operators), its OpenAPI
document and the /docs page.

flask-smorest resources, OpenAPI at /v1/openapi.json, human docs at /docs (Swagger UI served
from this server, no CDN), idempotency, ETags, rate limits."""

from __future__ import annotations

import http

from flask import Blueprint, Flask, make_response, render_template, request, send_from_directory
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from swagger_ui_bundle import swagger_ui_path

from widget_server.api import idempotency
from widget_server.api.common import PROBLEM_JSON, ProblemSchema
from widget_server.api.common import Blueprint as StrictBlueprint
from widget_server.api.openapi import RidePledgePlugin, field_properties
from widget_server.ratelimits import api_limits
from widget_server.security_headers import docs_policy

API_DESCRIPTION = """The RidePledge partner API. Authenticate with OAuth 2.0 client credentials
(`POST /oauth/token`), then send `Authorization: Bearer <token>`. JSON, snake_case, ids are
opaque prefixed strings, money is integer minor units with an ISO 4217 `currency`, times are
RFC 3339 UTC. Errors are RFC 9457 `application/problem+json`. Every `POST` accepts an
`Idempotency-Key`. Lists are newest first, with `limit` (1-100) and `cursor`."""

docs = Blueprint("api_docs", __name__)


class RidePledgeApi(Api):
    """flask-smorest's Api, with every documented error a problem+json `ProblemSchema`, no
    catch-all `default` response (each operation lists the statuses it answers), and the
    constraints, headers and links of `api.openapi`."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _init_spec(self, **options):
        self.links = RidePledgePlugin()
        options["extra_plugins"] = [*(options.get("extra_plugins") or ()), self.links]
        super()._init_spec(**options)
        self.ma_plugin.converter.add_attribute_function(field_properties)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)


@docs.get("/docs")
def human_docs():
    response = make_response(render_template("api_docs.html"))
    response.headers["Content-Security-Policy"] = docs_policy()
    return response


@docs.get("/docs/assets/<path:filename>")
def docs_assets(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def init_app(app: Flask) -> None:
    from widget_server.api.demand.routes import blp as demand
    from widget_server.api.events.routes import blp as events
    from widget_server.api.fans.routes import blp as fans
    from widget_server.api.operator import operator_blueprint
    from widget_server.api.partner.routes import blp as partner
    from widget_server.api.pledges.routes import blp as pledges
    from widget_server.api.trip_requests.routes import blp as trip_requests
    from widget_server.api.trips.routes import blp as trips
    from widget_server.api.webhook_endpoints.routes import blp as webhooks
    from widget_server.oauth.protect import SECURITY_SCHEMES

    app.config.update(
        API_TITLE="RidePledge partner API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = RidePledgeApi(
        app,
        spec_kwargs={
            "info": {"description": API_DESCRIPTION},
            "servers": [{"url": app.config["SETTINGS"].public_base_url}],
        },
    )
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    operator = operator_blueprint()
    blueprints = (partner, events, trips, trip_requests, pledges, demand, webhooks, fans, operator)
    for blueprint in blueprints:
        # Only the API's own Blueprint reads bodies through the strict JSON parser.
        if not isinstance(blueprint, StrictBlueprint):
            raise TypeError(f"{blueprint.name}: use widget_server.api.common.Blueprint")
        api_limits(blueprint)
        api.register_blueprint(blueprint)
    api.links.finish()
    app.register_blueprint(docs)
    idempotency.init_app(app)
    app.after_request(_etag)
    app.extensions["ridepledge.api"] = api


def _etag(response):
    """Strong ETags on successful GETs of the API; If-None-Match answers 304."""
    if (
        request.method == "GET"
        and request.path.startswith("/v1/")
        and response.status_code == 200
        and not response.direct_passthrough
    ):
        response.add_etag()
        response.make_conditional(request)
    return response
