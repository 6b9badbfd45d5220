"""The blueprint of the widget's server-rendered pages (`/w/<partner>/...`), with what every
page shares: the partner from the URL, the embedding context carried on, template helpers,
security headers and error pages. The routes are in `pages.py` (browse and pledge),
`manage.py` (the fan's manage page), `boarding.py` (the boarding pass), `stop_requests.py` and
`waitlist.py` (trip-day forms, which reuse helpers of `pages.py`); all import this, `pages.py`
imports none of the others, and `create_app` imports each for its routes.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template

from widget_server.domain.errors import DomainError
from widget_server.fan import messages
from widget_server.fan.render import (
    carry_context,
    load_partner,
    preview_guard,
    render_page,
    template_helpers,
)
from widget_server.fan.security import FORM_TOKEN_FIELD, secure_widget_response

bp = Blueprint("widget_pages", __name__, url_prefix="/w/<partner_slug>")


@bp.url_value_preprocessor
def _load_partner(_endpoint, values):
    load_partner(values.pop("partner_slug"))


bp.before_request(preview_guard)


@bp.url_defaults
def _add_context(_endpoint, values):
    carry_context(values)


@bp.context_processor
def _helpers():
    return {**template_helpers(), "FORM_TOKEN_FIELD": FORM_TOKEN_FIELD}


@bp.after_request
def _secure(response):
    """Error pages and redirects get the same frame-ancestors as pages (set once)."""
    if "Content-Security-Policy" not in response.headers:
        secure_widget_response(response, g.get("partner"), stripe=False)
    return response


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    if g.get("partner") is None:  # unknown partner: no theme, and only we may frame the page
        page = render_template("error.html", status=exc.status, title=exc.title, detail=exc.detail)
        return page, exc.status, {"Content-Security-Policy": "frame-ancestors 'self'"}
    return render_page(
        "widget/error.html",
        status=exc.status,
        message=messages.for_problem(exc),
        here=("widget_pages.events", {}),
    )
