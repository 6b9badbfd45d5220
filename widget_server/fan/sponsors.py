"""What the fan-facing faces show of a trip's sponsor (`domain/sponsors.py:sponsor_of`)."""

from __future__ import annotations

from widget_server.domain.sponsors import sponsor_of
from widget_server.models import Sponsor, Trip


def sponsor_view(sponsor: Sponsor | None, base_url: str = "") -> dict | None:
    """`{"name", "url", "logo_url"}` or None (`logo_url` None without a logo; prefixed with
    `base_url` where an absolute address is needed: API, JSON-LD, emails)."""
    if sponsor is None:
        return None
    logo_url = None
    if sponsor.has_logo:
        logo_url = f"{base_url}/w/{sponsor.partner.slug}/sponsors/{sponsor.id}/{sponsor.file_name}"
    return {"name": sponsor.name, "url": sponsor.url, "logo_url": logo_url}


def trip_sponsor(trip: Trip, base_url: str = "") -> dict | None:
    """The sponsor the trip shows (its own, else its event's), as `sponsor_view` gives it."""
    return sponsor_view(sponsor_of(trip), base_url)
