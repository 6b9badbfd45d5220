"""Languages: the fan's locale from an explicit choice, the partner's default or the browser."""

from __future__ import annotations

from flask import g, request

SUPPORTED_LOCALES = ("en", "es", "fr")


def select_locale() -> str:
    explicit = request.args.get("locale") if request else None
    if explicit in SUPPORTED_LOCALES:
        return explicit
    forced = g.get("locale")
    if forced in SUPPORTED_LOCALES:
        return forced
    best = request.accept_languages.best_match(SUPPORTED_LOCALES) if request else None
    return best or g.get("partner_locale") or "en"
