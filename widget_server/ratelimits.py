"""Rate limits: who is counted, how much they may do, and where the counts live.

Game days put thousands of real fans behind one address (carrier NAT, stadium Wi-Fi), so an
address alone cannot tell abuse from a crowd. Writes are therefore counted three ways, and a
request must fit every budget that applies to it:

- per address, generously, in ONE budget shared by every widget write route (the JSON API and
  the no-JavaScript forms alike): `RATELIMIT_WIDGET_WRITE`;
- per fan (the partner and the fan's canonical email, `domain.text.fan_email_key`), tightly, on
  pledges, trip requests and "email me my link": `RATELIMIT_FAN`;
- per payment method (the card's PaymentMethod id), tightly, on pledges and card updates:
  `RATELIMIT_CARD`. Stripe's shared test-mode ids (`pm_card_visa`...) name a kind of test card
  that everyone uses, not a card, so they are not counted.

Reads are cheap: one per-address budget over the widget API's GETs (`RATELIMIT_WIDGET_READ`),
and a `304 Not Modified` (the widget polls with ETags) costs nothing. Each check is one round
trip to Redis (a sliding window counter), and only 429s and the partner API carry the
`X-RateLimit-*` headers (reading a window for them costs another).

The partner API counts per OAuth client (`RATELIMIT_API`), whatever token of the client is used;
requests without a valid token (missing, unknown, expired, revoked) count per address
(`RATELIMIT_API_UNAUTHENTICATED`). `/oauth/*` counts per address (`RATELIMIT_OAUTH`) and per
`client_id` tried (`RATELIMIT_OAUTH_CLIENT`). A sign-in form uses `sign_in_limits()`.

The address is `request.remote_addr`, which is the real client once `TRUSTED_PROXIES` lets the
app believe its load balancer; an IPv6 client counts by its /64 (one subscriber's network).

Counts live in Redis when `REDIS_URL` is set, shared by every process on every host; without
it, in each process's memory, so each gunicorn worker counts for itself (the budgets multiply
by `WEB_CONCURRENCY`). If Redis goes away, the counts fall back to memory and return to Redis
when it answers again; requests are never refused because Redis is down.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import logging
import time
from functools import cache
from urllib.parse import unquote

from flask import Flask, current_app, g, request

from widget_server.domain.text import email_key, fan_email_key

log = logging.getLogger(__name__)

DEFAULTS = {
    # per address, one budget for every widget write route: 300 fans pledging in a minute
    # from one stadium address fit twice over
    "RATELIMIT_WIDGET_WRITE": "600 per minute",
    # per address over the widget API's reads; 304 answers are free
    "RATELIMIT_WIDGET_READ": "6000 per minute",
    # per address on the widget's price quotes (each may try a promo code: guessing is slow)
    "RATELIMIT_PRICE": "120 per minute",
    # per fan email and partner, on every write that names an email
    "RATELIMIT_FAN": "5 per minute;20 per hour",
    # per payment method, on pledges and card updates
    "RATELIMIT_CARD": "5 per minute;20 per hour",
    # per OAuth client on /v1
    "RATELIMIT_API": "1200 per minute",
    # per address on /v1, for requests without a valid token
    "RATELIMIT_API_UNAUTHENTICATED": "60 per minute",
    # per address and per client_id on /oauth/* (every attempt costs a slow secret hash)
    "RATELIMIT_OAUTH": "120 per minute",
    "RATELIMIT_OAUTH_CLIENT": "30 per minute",
    # sign-in forms: per address and per account
    "RATELIMIT_SIGN_IN": "30 per minute",
    "RATELIMIT_SIGN_IN_ACCOUNT": "10 per minute;50 per hour",
}
# Stripe's test-mode PaymentMethod shortcuts: shared by everyone, so not a card to count.
SHARED_TEST_PAYMENT_METHOD_PREFIX = "pm_card_"


def init_app(app: Flask) -> None:
    """Storage and defaults, then the shared Limiter on this app."""
    from widget_server.extensions import limiter

    configure(app)
    limiter.init_app(app)
    # `init_app` hands the one Limiter object this app's storage, but not a fresh "storage is
    # away" flag: one left by an earlier app of the process (tests make many) would count this
    # app's first hits in memory, then drop them when the storage "recovers".
    limiter._storage_dead = False


def configure(app: Flask) -> None:
    """Storage and defaults, before `limiter.init_app`."""
    settings = app.config["SETTINGS"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "ridepledge")
    # Explicit per app: the Limiter object is shared, and it would carry one app's "disabled"
    # over to every app created after it in the same process (tests).
    app.config.setdefault("RATELIMIT_ENABLED", True)
    # A sliding window counter: one small Lua call per check, O(1) in Redis whatever the
    # budget (a moving window keeps a list of every hit and costs one call more per request),
    # and, unlike a fixed window, no double burst at a window edge (the previous window's
    # count is weighted in).
    app.config.setdefault("RATELIMIT_STRATEGY", "sliding-window-counter")
    # Redis away: count in memory meanwhile rather than refuse or fail requests. (Memory
    # storage cannot fail, so without Redis an error is a bug, and it is not swallowed.)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", bool(settings.redis_url))
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", bool(settings.redis_url))
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    # Registered before `limiter.init_app`, so it runs after Flask-Limiter's own hook (which
    # deducts the conditional hits, such as a read that was not a 304).
    app.after_request(_limit_headers)


def _limit_headers(response):
    """`X-RateLimit-*` on the partner API and on every 429, with `Retry-After` on a 429.

    Reading a budget's window costs a round trip to Redis, so the widget's own answers (game
    day's hot path, read by no client) carry these headers only when they are a 429.
    """
    from widget_server.extensions import limiter

    current = limiter.current_limit
    if current is None or not (response.status_code == 429 or request.path.startswith("/v1/")):
        return response
    try:
        remaining, reset_at = current.remaining, current.reset_at
    except Exception:  # noqa: BLE001 (storage away: the window's length is a fair bound)
        log.warning("rate limit headers: window unavailable", exc_info=True)
        remaining, reset_at = 0, int(time.time() + current.limit.get_expiry())
    headers = response.headers
    headers["X-RateLimit-Limit"] = str(current.limit.amount)
    headers["X-RateLimit-Remaining"] = str(remaining)
    headers["X-RateLimit-Reset"] = str(reset_at)
    if response.status_code == 429:
        headers["Retry-After"] = str(max(int(reset_at - time.time()), 1))
    return response


@cache
def limit_of(name: str):
    """A callable giving the configured limit `name` (read per request, so tests may change
    it on a running app). One callable per name: Flask-Limiter keeps the limits of module-level
    blueprints across apps and tells them apart by their callables, so a new callable per app
    would count each request once per app created in the process."""
    return lambda: current_app.config.get(name, DEFAULTS[name])


def _digest(value: str) -> str:
    """Keys never hold an email or a secret in clear (they live in Redis)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# Who is counted


def client_address() -> str:
    """The client's address as the limits see it; IPv6 by its /64."""
    return address_of(request.remote_addr)


def address_of(remote_addr: str | None) -> str:
    """A remote address as the limits count it: IPv6 by its /64, IPv4-mapped as IPv4."""
    raw = remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def address_key() -> str:
    return f"addr:{client_address()}"


def _body_value(name: str) -> str | None:
    """A top-level string field of the JSON body or of the form, without failing."""
    if request.is_json:
        body = request.get_json(silent=True)
        value = body.get(name) if isinstance(body, dict) else None
    else:
        value = request.form.get(name)
    return value if isinstance(value, str) and value else None


def _fan() -> str | None:
    email = _body_value("email")
    if email is None:
        return None
    try:
        key = fan_email_key(email)  # fan+1@x and fan@x share one budget
    except ValueError:
        return None  # refused by validation anyway; the address budget still counts it
    partner = getattr(g.get("partner"), "slug", "")  # set by the widget's URL preprocessor
    return f"fan:{partner}:{_digest(key)}"


def fan_key() -> str:
    return _fan() or address_key()


def no_fan() -> bool:
    return _fan() is None


def _card() -> str | None:
    payment_method = _body_value("payment_method")
    if payment_method is None:
        number = _body_value("card_number")  # the simulated provider's test-card form
        if number is None:
            return None
        from widget_server.payments.simulated import payment_method_for_card_number

        payment_method = payment_method_for_card_number(number)
        if payment_method is None:
            return None
    if payment_method.startswith(SHARED_TEST_PAYMENT_METHOD_PREFIX):
        return None
    return f"card:{_digest(payment_method)}"


def card_key() -> str:
    return _card() or address_key()


def no_card() -> bool:
    return _card() is None


def _api_client() -> str | None:
    """The OAuth client of the request's bearer token when the token is valid now."""
    if "ratelimit_api_client" not in g:
        from widget_server.domain import clients
        from widget_server.extensions import db

        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        found = None
        if scheme.lower() == "bearer" and token.strip():
            found = clients.lookup_access_token(db.session, token.strip())
        valid = found is not None and not found.revoked and not found.expired
        g.ratelimit_api_client = found.client.id if valid else None
    return g.ratelimit_api_client


def api_client_key() -> str:
    return f"client:{_api_client()}"


def without_valid_token() -> bool:
    return _api_client() is None


def with_valid_token() -> bool:
    return _api_client() is not None


def _oauth_client_id() -> str | None:
    """The client_id an /oauth request presents (HTTP Basic or the form), unchecked."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id = unquote(decoded.partition(":")[0])
    else:
        client_id = request.form.get("client_id", "")
    return client_id[:200] or None


def oauth_client_key() -> str:
    return f"oauth-client:{_digest(_oauth_client_id() or '')}"


def no_oauth_client() -> bool:
    return _oauth_client_id() is None


def _account() -> str | None:
    # The second step of a sign-in has no email field: the console names the account whose
    # code is tried (from its signed pending state) in g.sign_in_email.
    email = _body_value("email") or g.get("sign_in_email")
    if email is None:
        return None
    try:
        return f"account:{_digest(email_key(email))}"
    except ValueError:
        return f"account:{_digest(email.strip().casefold())}"


def account_key() -> str:
    return _account() or address_key()


def no_account() -> bool:
    return _account() is None


def not_modified(response) -> bool:
    """deduct_when for reads: a 304 costs nothing."""
    return response.status_code != 304


# The limits, as decorators


def widget_write(view):
    """The per-address write budget shared by every widget write route."""
    from widget_server.extensions import limiter

    return limiter.shared_limit(
        limit_of("RATELIMIT_WIDGET_WRITE"), scope="widget-write", key_func=address_key
    )(view)


def price_quote(view):
    """The per-address budget of price quotes (`RATELIMIT_PRICE`), which try promo codes."""
    from widget_server.extensions import limiter

    return limiter.limit(limit_of("RATELIMIT_PRICE"), scope="price", key_func=address_key)(view)


def revalidating() -> bool:
    """The client sends an ETag back (the widget's polls): the answer may be a free 304."""
    return "If-None-Match" in request.headers


def not_revalidating() -> bool:
    return not revalidating()


def widget_read(view):
    """The per-address read budget shared by the widget API's GETs; 304s are free.

    One budget (one scope and key), checked in one round trip to the counts: a plain read is
    counted at once; a revalidation is only checked, and counted afterwards unless it was a
    304 (so the widget's polls of an unchanged trip cost one look at the count and nothing
    from the budget)."""
    from widget_server.extensions import limiter

    limit = limit_of("RATELIMIT_WIDGET_READ")
    view = limiter.shared_limit(
        limit, scope="widget-read", key_func=address_key, exempt_when=revalidating
    )(view)
    return limiter.shared_limit(
        limit,
        scope="widget-read",
        key_func=address_key,
        exempt_when=not_revalidating,
        deduct_when=not_modified,
    )(view)


def per_fan(view):
    """The per-fan budget (the email in the body), shared by every route that takes one."""
    from widget_server.extensions import limiter

    return limiter.shared_limit(
        limit_of("RATELIMIT_FAN"), scope="fan", key_func=fan_key, exempt_when=no_fan
    )(view)


def per_card(view):
    """The per-payment-method budget, shared by pledges and card updates."""
    from widget_server.extensions import limiter

    return limiter.shared_limit(
        limit_of("RATELIMIT_CARD"), scope="card", key_func=card_key, exempt_when=no_card
    )(view)


def pledge_write(view):
    """Everything a pledge (or a card) write counts against: address, fan and card."""
    return widget_write(per_fan(per_card(view)))


def api_limits(blueprint) -> None:
    """Give a partner API blueprint its limits: per client, or per address without a valid
    token."""
    from widget_server.extensions import limiter

    limiter.limit(
        limit_of("RATELIMIT_API"), key_func=api_client_key, exempt_when=without_valid_token
    )(blueprint)
    limiter.limit(
        limit_of("RATELIMIT_API_UNAUTHENTICATED"),
        key_func=address_key,
        exempt_when=with_valid_token,
    )(blueprint)


def oauth_limits(view):
    """/oauth/* endpoints: per address and per client_id presented, across all of them."""
    from widget_server.extensions import limiter

    view = limiter.shared_limit(
        limit_of("RATELIMIT_OAUTH_CLIENT"),
        scope="oauth-client",
        key_func=oauth_client_key,
        exempt_when=no_oauth_client,
    )(view)
    return limiter.shared_limit(
        limit_of("RATELIMIT_OAUTH"), scope="oauth-address", key_func=address_key
    )(view)


def sign_in_limits(view):
    """For a sign-in form's POSTs (fields `email`, `password`; or a second step's code, see
    `_account`): per address and per account, in budgets shared by every sign-in form, so
    neither one address nor many addresses can try passwords or codes at speed. GETs (showing
    the form) are not counted."""
    from widget_server.extensions import limiter

    view = limiter.shared_limit(
        limit_of("RATELIMIT_SIGN_IN_ACCOUNT"),
        scope="sign-in-account",
        key_func=account_key,
        exempt_when=no_account,
        methods=["POST"],
    )(view)
    return limiter.shared_limit(
        limit_of("RATELIMIT_SIGN_IN"),
        scope="sign-in-address",
        key_func=address_key,
        methods=["POST"],
    )(view)
