"""Sponsors: who "presents" a trip or an event (a name, an https link, a logo).

One rule answers "whose sponsor does this trip show": `sponsor_of(trip)`, the trip's own
sponsor, else its event's, else none. Every face (widget, public page and its JSON-LD,
boarding pass, fan emails, API) reads it. Each event or trip owns its sponsor row; setting a
sponsor updates that row in place (its logo stays unless a new one is given or it is removed),
and `None` deletes it. The link is checked like every other partner URL (https only); the logo
is cleaned and re-encoded like the partner's (`domain/logos.py:clean_logo`).
"""

from __future__ import annotations

from marshmallow import RAISE, Schema

from widget_server.domain.audit import record
from widget_server.domain.logos import CleanLogo, store_logo
from widget_server.domain.partners import URL_MAX_LENGTH, https_url
from widget_server.domain.text import Text
from widget_server.models import Event, Sponsor, Trip

NAME_MAX_LENGTH = 200


class SponsorInput(Schema):
    """A sponsor as the API and the console take it."""

    class Meta:
        unknown = RAISE

    name = Text(required=True, max_length=NAME_MAX_LENGTH, metadata={"example": "Acme Tires"})
    url = Text(
        load_default=None,
        allow_none=True,
        max_length=URL_MAX_LENGTH,
        validate=https_url,
        metadata={"description": "The sponsor's page (https only).", "format": "uri"},
    )

    def load(self, data, *args, **kwargs):
        loaded = super().load(data, *args, **kwargs)
        if loaded.get("url") == "":
            loaded["url"] = None
        return loaded


def sponsor_of(trip: Trip) -> Sponsor | None:
    """The sponsor a trip shows: its own, else its event's, else None."""
    return trip.sponsor or trip.event.sponsor


def set_sponsor(
    session,
    owner: Event | Trip,
    data: dict | None,
    *,
    actor: str,
    logo: CleanLogo | None = None,
    remove_logo: bool = False,
) -> Sponsor | None:
    """Give `owner` (an event or a trip) the sponsor `data` (`SponsorInput`'s output), or none
    with `data=None`. `logo`: a cleaned logo to show; `remove_logo`: show none. Audited as
    `<event|trip>.sponsor_set` or `.sponsor_removed`."""
    kind = "event" if isinstance(owner, Event) else "trip"
    sponsor = owner.sponsor
    if data is None:
        if sponsor is None:
            return None
        owner.sponsor = None
        session.delete(sponsor)
        session.flush()
        record(session, owner.partner_id, actor, f"{kind}.sponsor_removed", kind, owner.id)
        return None
    if sponsor is None:
        sponsor = owner.sponsor = Sponsor(partner_id=owner.partner_id)
    sponsor.name, sponsor.url = data["name"], data.get("url")
    if logo is not None:
        store_logo(sponsor, logo)
    elif remove_logo:
        sponsor.sha256 = sponsor.format = sponsor.data = None
        sponsor.width = sponsor.height = sponsor.size = None
    session.flush()
    details = {"name": sponsor.name, "url": sponsor.url, "logo": sponsor.sha256}
    record(session, owner.partner_id, actor, f"{kind}.sponsor_set", kind, owner.id, details)
    return sponsor


def take_sponsor_change(data: dict) -> dict:
    """Take the `sponsor` member out of an API body (the rest goes to `domain/catalog.py`):
    `{"sponsor": value}` if the body had one, else `{}`."""
    return {"sponsor": data.pop("sponsor")} if "sponsor" in data else {}


def apply_sponsor_change(session, owner: Event | Trip, changes: dict, *, actor: str) -> None:
    """The `sponsor` member of an API body (`SponsorInput` or None), if the body has one: the
    logo of a sponsor kept in place stays (it is uploaded in the console)."""
    if "sponsor" in changes:
        set_sponsor(session, owner, changes["sponsor"], actor=actor)


def served_sponsor_logo(session, partner_id: str, sponsor_id: str, file_name: str):
    """The partner's sponsor whose current logo is `file_name`, else None."""
    sponsor = session.get(Sponsor, sponsor_id)
    if sponsor is None or sponsor.partner_id != partner_id or not sponsor.has_logo:
        return None
    return sponsor if sponsor.file_name == file_name else None
