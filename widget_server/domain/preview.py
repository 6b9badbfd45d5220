"""Previewing unsaved branding in the real widget: the console signs the values it is showing
(SECRET_KEY, one partner, one hour): the branding, the wording per language and whether the
logo is being removed. Widget pages given a valid `preview` token render with them instead of
the saved ones. A token made for one partner never themes another's pages, and nobody can make
one without the key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer

from widget_server.domain.branding import (
    AA_TEXT_CONTRAST,
    DEFAULT_BRANDING,
    HEX_COLOR,
    WORDING_KEYS,
    contrast_ratio,
    normalize_hex,
    readable_text_on,
)
from widget_server.domain.text import clean_text
from widget_server.i18n import SUPPORTED_LOCALES

PREVIEW_MAX_AGE = 3600
AA_NON_TEXT_CONTRAST = 3.0
_SALT = "ridepledge.preview-theme"
PREVIEW_KEYS = tuple(DEFAULT_BRANDING)
# `3f2a9c0d41be77a1.png`: the name of an unsaved logo (models.logos.PartnerLogoPreview).
LOGO_PREVIEW_NAME = re.compile(r"^[0-9a-f]{16}\.(png|jpg|webp)$")


@dataclass(frozen=True)
class Preview:
    """Unsaved values a widget page shows instead of the saved ones."""

    branding: dict
    wording: dict = field(default_factory=dict)
    remove_logo: bool = False
    # The file name of a logo chosen on the console but not saved (PartnerLogoPreview).
    logo_preview: str | None = None


def clean_wording(wording: object) -> dict:
    """Only languages and keys the widget has, and text the input rules accept; anything else
    is left out (the widget then shows its own words there)."""
    clean: dict = {}
    if not isinstance(wording, dict):
        return clean
    for language in SUPPORTED_LOCALES:
        words = wording.get(language)
        if not isinstance(words, dict):
            continue
        for key, max_length in WORDING_KEYS.items():
            try:
                value = clean_text(words.get(key), max_length=max_length)
            except ValueError:
                continue
            if value:
                clean.setdefault(language, {})[key] = value
    return clean


def preview_token(
    secret_key: str,
    partner_slug: str,
    branding: dict,
    *,
    wording: dict | None = None,
    remove_logo: bool = False,
    logo_preview: str | None = None,
) -> str:
    values = {
        "branding": {key: branding.get(key) for key in PREVIEW_KEYS if key in branding},
        "wording": clean_wording(wording),
        "remove_logo": bool(remove_logo),
    }
    if logo_preview and LOGO_PREVIEW_NAME.match(logo_preview):
        values["logo_preview"] = logo_preview
    return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps([partner_slug, values])


def preview_values(secret_key: str, partner_slug: str, token: str | None) -> Preview | None:
    """The values in a preview token for this partner, or None (absent, forged, expired or
    made for another partner). The widget's theme re-checks every value anyway."""
    if not token:
        return None
    try:
        slug, values = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(
            token, max_age=PREVIEW_MAX_AGE
        )
    except (BadSignature, ValueError, TypeError):
        return None
    if slug != partner_slug or not isinstance(values, dict):
        return None
    branding = values.get("branding")
    branding = branding if isinstance(branding, dict) else {}
    return Preview(
        branding={key: branding[key] for key in PREVIEW_KEYS if key in branding},
        wording=clean_wording(values.get("wording")),
        remove_logo=values.get("remove_logo") is True,
        logo_preview=_logo_preview_name(values.get("logo_preview")),
    )


def _logo_preview_name(value: object) -> str | None:
    return value if isinstance(value, str) and LOGO_PREVIEW_NAME.match(value) else None


def _hex(branding: dict, key: str) -> str:
    value = branding.get(key)
    if isinstance(value, str) and HEX_COLOR.match(value):
        return normalize_hex(value)
    return DEFAULT_BRANDING[key]


def contrast_report(branding: dict) -> list[dict]:
    """Each colour pair the widget relies on: its ratio, the WCAG minimum, how far short it
    falls, and whether saving is refused for it (unreadable body text) or the widget falls
    back to a readable colour on its own (links, focus ring, progress bar)."""
    background, text = _hex(branding, "background_color"), _hex(branding, "text_color")
    primary, accent = _hex(branding, "primary_color"), _hex(branding, "accent_color")
    pairs = [
        ("text_color", "background_color", text, background, AA_TEXT_CONTRAST, True),
        ("primary_color", "background_color", primary, background, AA_TEXT_CONTRAST, False),
        ("accent_color", "background_color", accent, background, AA_NON_TEXT_CONTRAST, False),
    ]
    report = []
    for first, second, fg, bg, minimum, blocking in pairs:
        ratio = contrast_ratio(fg, bg)
        report.append(
            {
                "pair": (first, second),
                "ratio": round(ratio, 2),
                "minimum": minimum,
                "short_by": round(max(0.0, minimum - ratio), 2),
                "ok": ratio >= minimum,
                "blocking": blocking,
            }
        )
    label = readable_text_on(primary)
    report.append(
        {
            "pair": ("button_label", "primary_color"),
            "ratio": round(contrast_ratio(label, primary), 2),
            "minimum": AA_TEXT_CONTRAST,
            "short_by": 0.0,
            "ok": True,
            "blocking": False,
        }
    )
    return report
