"""Languages: the fan's locale from an explicit choice, the partner's default or the browser."""

from __future__ import annotations

from decimal import Decimal

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


def plural_categories(words) -> dict[str, str]:
    """A count's words for a script to choose from, by the plural category
    `Intl.PluralRules` names (CLDR's, which our catalogs' Plural-Forms follow: en has one and
    other; es and fr also many, for millions). `words(n)` is the ngettext call."""
    return {"one": words(1), "many": words(1_000_000), "other": words(2)}


def bus_leaving_words(stop_name: str, minutes: int) -> str:
    """The driver's prefilled "ready to leave" message in the current language: the driver's
    page shows it to edit, and a rider whose driver kept it gets it in their own language."""
    from flask_babel import ngettext

    return ngettext(
        "The bus leaves in %(num)d minute from %(stop)s.",
        "The bus leaves in %(num)d minutes from %(stop)s.",
        minutes,
        stop=stop_name,
    )


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """Integer minor units as the locale writes money: 3500 USD -> "$35.00", "35,00 $US"."""
    from babel.numbers import format_currency, get_currency_precision
    from flask_babel import get_locale

    major = Decimal(amount).scaleb(-get_currency_precision(currency))
    return format_currency(major, currency, locale=locale or str(get_locale() or "en"))


def format_local(moment, timezone: str, style: str = "medium", locale: str | None = None) -> str:
    """A UTC datetime shown in `timezone` (the event's) in the fan's locale."""
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime
    from flask_babel import get_locale

    return format_datetime(
        moment, style, tzinfo=ZoneInfo(timezone), locale=locale or str(get_locale() or "en")
    )


def init_app(app) -> None:
    from flask_babel import get_locale

    app.jinja_env.globals.update(
        format_money=format_money, format_local=format_local, get_locale=get_locale
    )
