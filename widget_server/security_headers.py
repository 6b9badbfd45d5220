"""The security headers of every response, set in one after_request hook.

Every family (partner API, OAuth, widget pages and API, embed.js and static files, the landing
page, /docs, the admin console and public pages) gets:

- `X-Content-Type-Options: nosniff`, `Referrer-Policy` (`no-referrer` on every page whose URL
  holds a token, see `path_secrets`), `Permissions-Policy`;
- `Strict-Transport-Security` when the request came over https (`request.is_secure`; behind a
  proxy that needs TRUSTED_PROXIES so the forwarded scheme is believed);
- `Content-Security-Policy` on every HTML page: the page's own policy when it set one (widget
  pages, the landing page, /docs), else `DEFAULT_CSP`, which at least forbids framing;
- `Cache-Control: no-store` on everything carrying fan or partner data (the whole partner API,
  manage and confirmation pages, pledge answers, the admin console), and on any response that
  did not choose its own caching; public assets and public trip data set their own;
- `Retry-After` only on 429 and 503 (Flask-Limiter adds it to every limited response);
- an automatic `OPTIONS` answer is `204` with `Allow` and no body or content type.

The hook is registered before every other after_request function, so it runs last and sees the
final response. The servers we start never send a version in `Server` (see `wsgi_server`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from flask import Flask, g, request

from widget_server.path_secrets import url_holds_secret

HSTS = "max-age=31536000; includeSubDomains"
REFERRER_POLICY = "strict-origin-when-cross-origin"
# Nothing here uses these browser features; Stripe's iframe may use the Payment Request API.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    'microphone=(), usb=(), payment=(self "https://js.stripe.com")'
)
DEFAULT_CSP = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
NO_STORE = "no-store"

# Paths whose answers carry a fan's or a partner's data: never stored by any cache, whatever
# the view set (the widget API's ETag hook says `no-cache` on every GET, for example).
_FAN_DATA = re.compile(
    r"^/(?:v1/|oauth/|admin(?:/|$)"
    r"|w/[^/]+/(?:manage|pledged|api/manage)/"
    r"|w/[^/]+/api/trips/[^/]+/pledges)"
)


def csp_nonce() -> str:
    """This request's CSP nonce, for the inline `<style>` and `<script>` of our pages."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def hashed_style(css: str) -> str:
    """Jinja filter over an inline `<style>`'s text: the page's CSP allows exactly that text by
    its hash (`style_hashes`). Unlike a nonce, a hash is the same for every visitor of the same
    page, so a shared cache may keep the page without weakening the policy."""
    digest = base64.b64encode(hashlib.sha256(str(css).encode()).digest()).decode()
    g.setdefault("style_hashes", []).append(f"'sha256-{digest}'")
    return css


def style_hashes() -> list[str]:
    """The CSP sources of the inline styles this request's page rendered (`hashed_style`)."""
    return g.get("style_hashes", [])


def site_policy() -> str:
    """The CSP of the service's own pages (landing page, error pages): no script at all."""
    return (
        f"default-src 'none'; style-src 'nonce-{csp_nonce()}'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def docs_policy() -> str:
    """The CSP of /docs: Swagger UI from this server, its inline start-up script by nonce.

    Swagger UI styles its widgets through the DOM (allowed) and embeds SVG icons as data: URLs;
    "Try it out" calls the API on this origin.
    """
    nonce = csp_nonce()
    return (
        f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def carries_fan_data(path: str) -> bool:
    return bool(_FAN_DATA.match(path))


def secure_response(response):
    """The after_request hook: see the module docstring."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    if url_holds_secret():  # a manage, driver, password, waitlist or preview link
        headers["Referrer-Policy"] = "no-referrer"
    else:
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    if response.mimetype == "text/html" and "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = DEFAULT_CSP
    if carries_fan_data(request.path) or "Cache-Control" not in headers:
        headers["Cache-Control"] = NO_STORE
    if response.status_code not in (429, 503):
        headers.pop("Retry-After", None)
    if _automatic_options(response):
        response.status_code = 204
        response.set_data(b"")
        headers.pop("Content-Type", None)
        headers.pop("Content-Length", None)
    return response


def _automatic_options(response) -> bool:
    """Flask's own OPTIONS answer: an empty 200 that would say `text/html`."""
    return (
        request.method == "OPTIONS"
        and response.status_code == 200
        and not response.direct_passthrough
        and not response.get_data()
    )


def init_app(app: Flask) -> None:
    """Register the hook; call before anything else registers after_request functions."""
    app.after_request(secure_response)
    app.jinja_env.globals["page_nonce"] = csp_nonce
    app.jinja_env.filters["hashed_style"] = hashed_style
