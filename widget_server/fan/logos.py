"""Uploaded logos: the partner's at `/w/<partner>/logo/<sha256 prefix>.<png|jpg|webp>` and a
sponsor's at `/w/<partner>/sponsors/<sponsor id>/<sha256 prefix>.<ext>`.

The file name is the start of the sha256 of the stored bytes (`domain/logos.py` re-encodes every
upload), so a new logo is a new URL and one URL always means the same bytes: cached for a year
and marked immutable, like the iframe's assets. A name that is not the current logo is a 404,
and so is another partner's logo under this partner's slug. The bytes come from the database,
so every app host serves them.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from widget_server.domain.errors import NotFound
from widget_server.domain.logos import served_logo
from widget_server.domain.sponsors import served_sponsor_logo
from widget_server.extensions import db
from widget_server.fan.assets import IMMUTABLE
from widget_server.fan.render import partner_by_slug

bp = Blueprint("widget_logos", __name__)


@bp.get("/w/<partner_slug>/logo/<file_name>")
def logo(partner_slug: str, file_name: str):
    """The logo's re-encoded bytes with their real type; nothing here is ever sniffed or run."""
    return _image(served_logo(partner_by_slug(partner_slug), file_name), "logo")


@bp.get("/w/<partner_slug>/sponsors/<sponsor_id>/<file_name>")
def sponsor_logo(partner_slug: str, sponsor_id: str, file_name: str):
    """A sponsor's re-encoded logo, served like the partner's."""
    partner = partner_by_slug(partner_slug)
    return _image(served_sponsor_logo(db.session, partner.id, sponsor_id, file_name), "sponsor")


def _image(found, name: str):
    if found is None:
        raise NotFound("no such logo")
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, the image is a document that may do nothing at all.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="{name}.{found.extension}"'
    response.set_etag(found.sha256)
    return response.make_conditional(request)
