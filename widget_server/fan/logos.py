"""Partners' uploaded logos at `/w/<partner>/logo/<sha256 prefix>.<png|jpg|webp>`.

The file name is the start of the sha256 of the stored bytes (`domain/logos.py` re-encodes every
upload), so a new logo is a new URL and one URL always means the same bytes: cached for a year
and marked immutable, like the iframe's assets. A name that is not the partner's current logo is
a 404, and so is another partner's logo under this partner's slug. The bytes come from the
database, so every app host serves them.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from widget_server.domain.errors import NotFound
from widget_server.domain.logos import served_logo
from widget_server.fan.assets import IMMUTABLE
from widget_server.fan.render import partner_by_slug

bp = Blueprint("widget_logos", __name__)


@bp.get("/w/<partner_slug>/logo/<file_name>")
def logo(partner_slug: str, file_name: str):
    """The logo's re-encoded bytes with their real type; nothing here is ever sniffed or run."""
    found = served_logo(partner_by_slug(partner_slug), file_name)
    if found is None:
        raise NotFound("no such logo")
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, the image is a document that may do nothing at all.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="logo.{found.extension}"'
    response.set_etag(found.sha256)
    return response.make_conditional(request)
