"""The embed loader (`/embed.js`) and the iframe's own CSS and JS (`/w/static/<version>/...`).

The sources live in `embed/` at the top of the repository (vanilla JS and CSS, no build step).
The loader has a stable URL, so it is cached briefly (5 minutes) and revalidated with an ETag;
the iframe assets are addressed by a hash of their content, so they are cached for a year and
marked immutable: a new release changes the URL, never the content behind one.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, request, url_for

# A checkout (editable install) reads `embed/` in place; a wheel carries it as data files.
_CHECKOUT_EMBED = Path(__file__).resolve().parents[2] / "embed"
EMBED_DIR = (
    _CHECKOUT_EMBED if _CHECKOUT_EMBED.is_dir() else Path(sys.prefix) / "share/ridepledge/embed"
)
LOADER = "embed.js"
IFRAME_ASSETS = {
    "widget.js": "text/javascript",
    "widget.css": "text/css",
    # The driver's check-in page (widget_server/driver), served the same way.
    "driver.js": "text/javascript",
    "driver.css": "text/css",
}
LOADER_MAX_AGE = 300
IMMUTABLE = "public, max-age=31536000, immutable"

bp = Blueprint("widget_assets", __name__)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str


@cache
def _asset(name: str) -> Asset:
    body = (EMBED_DIR / name).read_bytes()
    return Asset(body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:16])


def read_asset(name: str) -> bytes:
    """An `embed/` file's bytes (read once per process), for the few served at other URLs."""
    return _asset(name).body


@cache
def assets_version() -> str:
    """A hash of the iframe assets: part of their URL, so a change means a new URL."""
    digest = hashlib.sha256()
    for name in sorted(IFRAME_ASSETS):
        digest.update(_asset(name).body)
    return digest.hexdigest()[:12]


def asset_url(name: str) -> str:
    return url_for("widget_assets.iframe_asset", version=assets_version(), name=name)


def _send(asset: Asset, mimetype: str, cache_control: str) -> Response:
    wants_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(asset.gzipped if wants_gzip else asset.body, mimetype=mimetype)
    if wants_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(asset.etag + ("-gz" if wants_gzip else ""))
    return response.make_conditional(request)


@bp.get("/embed.js")
def loader():
    """The loader partners put on their pages. Any page may load it (no credentials)."""
    response = _send(
        _asset(LOADER), "text/javascript", f"public, max-age={LOADER_MAX_AGE}, must-revalidate"
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/w/static/<version>/<name>")
def iframe_asset(version: str, name: str):
    if name not in IFRAME_ASSETS:
        abort(404)
    # An old page asking for an old version gets today's file, but must not keep it for a year.
    cache_control = IMMUTABLE if version == assets_version() else "no-cache"
    return _send(_asset(name), IFRAME_ASSETS[name], cache_control)


# A bus on a blue tile: the browser tab's icon for the landing page, the console and the widget
# pages opened on their own. Small enough to keep inline; browsers that ask /favicon.ico get it.
FAVICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<rect width="32" height="32" rx="7" fill="#0b5cad"/>'
    b'<rect x="6" y="7" width="20" height="15" rx="3" fill="#fff"/>'
    b'<rect x="8.5" y="9.5" width="15" height="6" rx="1" fill="#0b5cad"/>'
    b'<circle cx="11" cy="23.5" r="2.5" fill="#f2b705"/><circle cx="21" cy="23.5" r="2.5" '
    b'fill="#f2b705"/></svg>'
)
FAVICON_MAX_AGE = 86400


@bp.get("/favicon.svg")
@bp.get("/favicon.ico")
def favicon_svg():
    response = Response(FAVICON_SVG, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"public, max-age={FAVICON_MAX_AGE}"
    response.set_etag(hashlib.sha256(FAVICON_SVG).hexdigest()[:16])
    return response.make_conditional(request)
