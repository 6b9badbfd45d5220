"""What keeps the widget safe inside other sites' pages, without any cookie.

- `frame-ancestors` (CSP) lists the partner's allowed origins: the browser refuses to show the
  widget in any other site's page ('self' only when the partner lists none).
- The host origin the loader passes (`?host=`) is trusted only when it is one of those origins;
  the pages then send postMessage to that exact origin and nothing else.
- HTML form posts carry a short-lived signed token (itsdangerous) bound to the partner and to the
  form's purpose, and are refused when the browser says they come from another site
  (`Sec-Fetch-Site`, or an `Origin` that is not ours).
- The widget sets no cookie: none of the above needs one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.exceptions import UnsupportedMediaType

from widget_server.domain.errors import DomainError
from widget_server.domain.origins import normalize_origin, safe_origins
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.models import Partner
from widget_server.security_headers import style_hashes

FORM_TOKEN_FIELD = "form_token"  # noqa: S105  # a field name  # nosec B105
FORM_TOKEN_MAX_AGE = 4 * 3600  # a fan may leave the page open for a while
_SALT = "ridepledge.widget-form"
STRIPE_SCRIPT = "https://js.stripe.com"


class FormRefused(DomainError):
    """A form post that is not from our own page: missing, forged or expired token."""

    status = 403
    title = "Form expired"
    type = "form-expired"


class CrossSiteRefused(DomainError):
    """A write the browser says comes from a page of another site."""

    status = 403
    title = "Cross-site request refused"
    type = "cross-site"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def form_token(partner: Partner, purpose: str) -> str:
    """A token for one form of one partner's page (`purpose` names the form and its object)."""
    return _serializer().dumps([partner.slug, purpose])


def check_form_post(partner: Partner, purpose: str) -> None:
    """Refuse a form post made from another site, or without a fresh token for this form."""
    if cross_site_request():
        raise CrossSiteRefused("this form was sent from another site")
    token = request.form.get(FORM_TOKEN_FIELD, "")
    try:
        value = _serializer().loads(token, max_age=FORM_TOKEN_MAX_AGE)
    except SignatureExpired as exc:
        raise FormRefused("this form has expired; it was reloaded, please send it again") from exc
    except BadSignature as exc:
        raise FormRefused("this form is not valid; reload the page and send it again") from exc
    if value != [partner.slug, purpose]:
        raise FormRefused("this form belongs to another page; reload it and send it again")


def cross_site_request() -> bool:
    """True when the browser tells us a write comes from a page of another origin.

    `Sec-Fetch-Site` (set by the browser, never by a page) decides when present. Otherwise
    `Origin` does: another host, or `null` (an opaque origin: a sandboxed frame, a data: or
    file: page, a cross-site redirect) is another site. Our own pages send their real origin
    on same-origin posts (their Referrer-Policy is `same-origin`). Clients that are not
    browsers send neither header and are not affected: without cookies they carry no fan's
    authority anyway.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    if origin.strip().lower() == "null":
        return True
    # Compare hosts only: behind a TLS-terminating proxy the scheme we see may differ.
    return urlsplit(origin).netloc.lower() != request.host.lower()


def require_json_body() -> None:
    """Widget API writes take only `Content-Type: application/json`, even without a body
    (`json_body` refuses other bodies on every JSON route). A cross-site page can send
    `text/plain`, a form or an empty POST without asking (no CORS preflight); not JSON."""
    if not request.is_json:
        exc = UnsupportedMediaType(
            f"send the body as application/json (not {request.mimetype or 'no content type'})"
        )
        exc.data = {"messages": {"Content-Type": ["must be application/json"]}}
        raise exc


def trusted_host_origin(partner: Partner | None, value: str | None) -> str | None:
    """The embedding page's origin, when it is one of the partner's allowed origins."""
    if partner is None or not value:
        return None
    try:
        origin = normalize_origin(value)
    except ValueError:
        return None
    return origin if origin in safe_origins(partner.allowed_origins) else None


def frame_ancestors(partner: Partner | None) -> str:
    """The partner's allowed origins as CSP sources; only exact origins ever get in, so the
    policy cannot be widened (`*`) or extended (`; script-src ...`) by a stored value."""
    if g.get("preview") is not None:
        return "'self'"  # a preview shows only inside our own console
    origins = safe_origins(partner.allowed_origins) if partner is not None else []
    return " ".join(origins) if origins else "'self'"


def content_security_policy(partner: Partner | None, *, stripe: bool) -> str:
    """The widget pages' CSP: our own scripts and styles (plus Stripe.js with `stripe`)."""
    script = ["'self'"] + ([STRIPE_SCRIPT] if stripe else [])
    connect = ["'self'"] + (["https://api.stripe.com"] if stripe else [])
    frames = [STRIPE_SCRIPT, "https://hooks.stripe.com"] if stripe else ["'none'"]
    directives = {
        "default-src": ["'none'"],
        "script-src": script,
        "style-src": ["'self'", *style_hashes()],  # by hash: a cached page keeps its policy
        "img-src": ["'self'", "https:", "data:"],
        "connect-src": connect,
        "frame-src": frames,
        # A console preview sends nothing (render.preview_guard refuses it on the server too).
        "form-action": ["'none'"] if g.get("preview") is not None else ["'self'"],
        "base-uri": ["'none'"],
        "frame-ancestors": [frame_ancestors(partner)],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def secure_widget_response(response, partner: Partner | None, *, stripe: bool):
    """Headers every widget page gets: CSP with frame-ancestors, no referrer to other sites
    (manage links carry a token), no sniffing."""
    response.headers["Content-Security-Policy"] = content_security_policy(partner, stripe=stripe)
    # `same-origin`, not `no-referrer`: with no-referrer browsers send `Origin: null` even on
    # same-origin form posts, which cross_site_request() must refuse.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Cache-Control", "no-store")
    if request.args.get("locale") not in SUPPORTED_LOCALES:
        # The language came from the browser's preference (i18n.select_locale); with the
        # embed's `locale` it did not, and one cached copy serves every fan.
        response.vary.add("Accept-Language")
    return response
