"""The shipped edge proxy: `ridepledge proxy-config` prints the nginx configuration that fronts
the app hosts in production (docs/operations.md, "A deployment on several hosts").

What the proxy does, and why it is configuration rather than code in the app:

- it buffers slow clients (request bodies and answers), so a phone on a stadium's network holds
  an nginx connection, not a gunicorn thread;
- it is the first hop: it REPLACES `X-Forwarded-For` with the address it sees (`$remote_addr`),
  so the app, with `TRUSTED_PROXIES=1`, sees the fan's address and nothing a client wrote;
- it micro-caches the public reads listed in `CACHED_READS` for as long as the app's
  `Cache-Control` says (nothing without one), one origin request per key at a time
  (`proxy_cache_lock`), serving the stale copy while one request revalidates it in the
  background; each route's key holds only what changes its answer (host, path and the query
  parameters the view reads), so cache busters do not churn it;
- it limits each address's reads, fails reads over to another app host, and passes writes
  through untouched (with their `Idempotency-Key`), never retrying one an app host received.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_DIR = Path(__file__).parent / "templates" / "edge"

# Per address, over the cached reads (hits included): the app's own widget read budget
# (RATELIMIT_WIDGET_READ, 6000 a minute) a second at a time, with a burst for a page's first
# loads. Fans behind one stadium NAT share an address: a widget polls once a second.
READ_RATE_PER_SECOND = 100
READ_BURST = 200
ACCOUNT = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*")


@dataclass(frozen=True)
class CachedRead:
    """A public read the edge may keep: its path (nginx regex) and the query parameters its
    view reads, the only ones in its cache key."""

    name: str
    path: str
    query: tuple[str, ...] = ()
    limited: bool = True  # counted in the per-address read limit

    def key(self) -> str:
        """The nginx cache key: scheme, host, path and the parameters that change the answer
        (by name, so `?_=123` or reordered parameters hit the same entry)."""
        args = "".join(f"&{name}=$arg_{name}" for name in self.query)
        return f"$scheme://$http_host$uri?{args[1:]}" if args else "$scheme://$http_host$uri"


# Each entry names the view it follows; `tests/functional/test_edge_proxy.py` checks that the
# query parameters listed are the ones the views read.
CACHED_READS = (
    # widget JSON (widget/api.py): the live progress every widget polls
    CachedRead("widget trip JSON", r"^/w/[^/]+/api/trips/[^/]+$"),
    CachedRead("widget trips JSON", r"^/w/[^/]+/api/trips$", ("event_id", "near")),
    CachedRead("widget events JSON", r"^/w/[^/]+/api/events$"),
    # widget pages (widget/pages.py): cacheable only for anonymous fans; never a preview
    CachedRead(
        "widget trip page",
        r"^/w/[^/]+/trips/[^/]+$",
        ("host", "locale", "stop_place", "stop_count"),
    ),
    CachedRead("widget event page", r"^/w/[^/]+/events/[^/]+$", ("host", "locale", "near")),
    CachedRead("widget events page", r"^/w/[^/]+/$", ("host", "locale")),
    # public pages (public/__init__.py)
    CachedRead("public trip page", r"^/t/[^/]+/trp_[^/]+$", ("locale", "stop", "ref")),
    CachedRead("public event page", r"^/t/[^/]+/events/[^/]+$", ("locale",)),
    # embed assets (fan/assets.py, fan/logos.py): not counted, a page load fetches several
    CachedRead("embed loader", r"^/embed\.js$", limited=False),
    CachedRead("iframe assets", r"^/w/static/", limited=False),
    CachedRead("partner logos", r"^/w/[^/]+/logo/[^/]+$", limited=False),
)

# Answers nginx itself gives (not the app's): problem+json like the app's own errors.
EDGE_ERRORS = {
    400: ("Bad Request", "the request could not be read"),
    413: ("Payload Too Large", "the request body is too large"),
    429: ("Too Many Requests", "too many requests from this address; retry shortly"),
    # An app host may have died after committing: a retry with the same Idempotency-Key gets
    # what it made, never a second one, so the answer says "retry", not "nothing was saved".
    500: ("Internal Server Error", "the proxy failed; retry shortly with the same request"),
    502: ("Bad Gateway", "no app host answered; retry shortly with the same request"),
    503: ("Service Unavailable", "no app host answered; retry shortly with the same request"),
    504: ("Gateway Timeout", "no app host answered in time; retry shortly"),
}


def upstream_address(value: str) -> str:
    """`HOST:PORT` (IPv6 as `[::1]:8000`), checked: a bad one is a ValueError naming it."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if not HOST_NAME.fullmatch(bare):
            raise ValueError(f"{value!r}: {host!r} is not a host name or address") from None
    return value


def trusted_network(value: str) -> str:
    """An address or network (CIDR) of a load balancer or CDN in front of the proxy."""
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an address or network") from None


def nginx_config(
    listen: int,
    upstreams: list[str],
    *,
    real_ip_from: tuple[str, ...] = (),
    workers: str = "auto",
    user: str | None = None,
) -> str:
    """The complete nginx configuration, runnable as `nginx -p DIR -c FILE` by any user: every
    file it writes (pid, logs, temporary files, the cache) is under DIR."""
    if not 0 < listen < 65536:
        raise ValueError(f"--listen {listen} is not a port")
    if user is not None and not ACCOUNT.fullmatch(user):
        raise ValueError(f"--user {user!r} is not an account name")
    if not upstreams:
        raise ValueError("at least one --upstream HOST:PORT is needed")
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # nginx configuration, not HTML; every value in it was checked above.
        autoescape=False,  # noqa: S701  # nosec B701
    )
    return environment.get_template("nginx.conf").render(
        listen=listen,
        upstreams=[upstream_address(value) for value in upstreams],
        real_ip_from=[trusted_network(value) for value in real_ip_from],
        workers=workers,
        user=user,
        reads=CACHED_READS,
        read_rate=READ_RATE_PER_SECOND,
        read_burst=READ_BURST,
        errors=EDGE_ERRORS,
    )
