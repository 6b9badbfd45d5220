"""`client.partner`: the partner your credentials act for."""

from __future__ import annotations

from typing import Any, Unpack

from ridepledge.models import Partner
from ridepledge.resources._base import (
    NOT_GIVEN,
    Call,
    CallOptions,
    NotGiven,
    R,
    Resource,
    endpoint,
    given,
    returns,
)


class PartnerResource(Resource[R]):
    @endpoint("GET", "/v1/partner")
    def retrieve(self, **options: Unpack[CallOptions]) -> Call[Partner]:
        """The partner profile and branding (scope `partner:read`)."""
        return Call(returns(Partner), options=options)

    @endpoint("PATCH", "/v1/partner")
    def update(
        self,
        *,
        name: str | NotGiven = NOT_GIVEN,
        locale: str | NotGiven = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
        allowed_origins: list[str] | NotGiven = NOT_GIVEN,
        branding: dict[str, Any] | NotGiven = NOT_GIVEN,
        wording: dict[str, dict[str, str | None]] | NotGiven = NOT_GIVEN,
        support_email: str | None | NotGiven = NOT_GIVEN,
        terms_url: str | None | NotGiven = NOT_GIVEN,
        site_url: str | None | NotGiven = NOT_GIVEN,
        demand_threshold: int | NotGiven = NOT_GIVEN,
        waitlist_hold_hours: int | NotGiven = NOT_GIVEN,
        max_seats_per_fan: int | NotGiven = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Call[Partner]:
        """Change the profile (scope `partner:write`). `branding` is merged into the current
        branding, so pass only the keys you change; so is `wording` (per language and key,
        ``{"es": {"headline": "¡Al estadio!"}}``; None puts the widget's own words back).
        `site_url`: your page with the widget, where fans' share links lead (None: the public
        trip page). `max_seats_per_fan`: the most seats one fan (one email) may hold on one
        trip (1-100)."""
        body = given(
            name=name,
            locale=locale,
            currency=currency,
            allowed_origins=allowed_origins,
            branding=branding,
            wording=wording,
            support_email=support_email,
            terms_url=terms_url,
            site_url=site_url,
            demand_threshold=demand_threshold,
            waitlist_hold_hours=waitlist_hold_hours,
            max_seats_per_fan=max_seats_per_fan,
        )
        return Call(returns(Partner), body=body, options=options)
