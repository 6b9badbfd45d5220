"""Branding and embedding: the partner's look, language, money and allowed sites, a live
preview that is the real widget with the unsaved values, and the embed code generator."""

from __future__ import annotations

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import select

from widget_server.admin import bp
from widget_server.admin.auth import actor, requires
from widget_server.admin.schemas import read_branding, read_partner_settings
from widget_server.domain.branding import DEFAULT_BRANDING, SAFE_FONTS
from widget_server.domain.errors import DomainError
from widget_server.domain.partners import CURRENCIES, update_partner
from widget_server.domain.preview import contrast_report, preview_token
from widget_server.extensions import db
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.models import Event


def _values(partner) -> dict:
    branding = {**DEFAULT_BRANDING, **(partner.branding or {})}
    values = {
        f"branding.{key}": "" if branding.get(key) is None else branding[key]
        for key in DEFAULT_BRANDING
    }
    values.update(
        {
            "locale": partner.locale,
            "currency": partner.currency,
            "support_email": partner.support_email or "",
            "terms_url": partner.terms_url or "",
            "site_url": partner.site_url or "",
            "allowed_origins": "\n".join(partner.allowed_origins or []),
        }
    )
    return values


def preview_url(branding: dict, path: str | None = None) -> str:
    """The widget page at `path` (default: the events list) with `branding` applied, signed
    for this partner; a signed preview may be framed by the console (frame-ancestors 'self')."""
    token = preview_token(current_app.config["SECRET_KEY"], g.partner.slug, branding)
    path = path or url_for("widget_pages.events", partner_slug=g.partner.slug)
    return path + ("&" if "?" in path else "?") + f"preview={token}"


def _page(values: dict, errors: dict, branding: dict):
    page = render_template(
        "admin/branding.html",
        values=values,
        errors=errors,
        fonts=[(key, key) for key in sorted(SAFE_FONTS)],
        contrast_text=contrast_text,
        locales=SUPPORTED_LOCALES,
        currencies=sorted(CURRENCIES),
        preview=preview_url(branding),
        contrast=contrast_report(branding),
    )
    return page, 422 if errors else 200


@bp.get("/branding")
@requires("view")
def branding():
    """The form, with the real widget previewed beside it at phone and desktop width."""
    return _page(_values(g.partner), {}, g.partner.branding or {})


@bp.post("/branding")
@requires("branding")
def save_branding():
    """Save; an unreadable theme (or any invalid field) is refused naming the field."""
    try:
        changes = read_partner_settings(request.form)
        with db.transaction() as session:
            update_partner(session, g.partner, changes, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        return _page(
            request.form.to_dict(),
            exc.errors or {"_form": [exc.detail]},
            read_branding(request.form),
        )
    flash(_("Branding saved. The widget shows it now, on every site."))
    return redirect(url_for("admin.branding"))


@bp.post("/branding/preview")
@requires("view")
def branding_preview():
    """The preview address and contrast report for the values typed so far (nothing saved)."""
    branding = read_branding(request.form)
    report = contrast_report(branding)
    return jsonify(
        {
            "preview_url": preview_url(branding),
            "contrast": [{**row, "text": contrast_text(row)} for row in report],
        }
    )


def contrast_text(row: dict) -> str:
    """ "text_color on background_color: 2.10:1, needs 4.5:1 (2.40 short)"."""
    first, second = row["pair"]
    if row["ok"]:
        return _(
            "%(first)s on %(second)s: %(ratio)s:1 (needs %(minimum)s:1) — readable",
            first=first,
            second=second,
            ratio=f"{row['ratio']:.2f}",
            minimum=row["minimum"],
        )
    if row["blocking"]:
        return _(
            "%(first)s on %(second)s: %(ratio)s:1, needs %(minimum)s:1 (%(short)s short) — "
            "unreadable, saving is refused",
            first=first,
            second=second,
            ratio=f"{row['ratio']:.2f}",
            minimum=row["minimum"],
            short=f"{row['short_by']:.2f}",
        )
    return _(
        "%(first)s on %(second)s: %(ratio)s:1, needs %(minimum)s:1 (%(short)s short) — the "
        "widget uses a readable colour there instead",
        first=first,
        second=second,
        ratio=f"{row['ratio']:.2f}",
        minimum=row["minimum"],
        short=f"{row['short_by']:.2f}",
    )


# --- the embed code generator ------------------------------------------------------------


def embed_config(args) -> dict:
    """One configuration object: what the snippet says and what the preview shows."""
    events = {event.id: event for event in _events()}
    event = args.get("event") if args.get("event") in events else None
    locale = args.get("locale") if args.get("locale") in SUPPORTED_LOCALES else None
    container = "".join(
        ch for ch in (args.get("container") or "rides") if ch.isalnum() or ch in "-_"
    )
    return {
        "partner": g.partner.slug,
        "event": event,
        "locale": locale,
        "container": container[:40] or "rides",
    }


def widget_path(config: dict) -> str:
    """The widget page the loader mounts for `config` (as embed.js computes it)."""
    path = f"/w/{config['partner']}/" + (f"events/{config['event']}" if config["event"] else "")
    return path + (f"?locale={config['locale']}" if config["locale"] else "")


def embed_snippet(config: dict, base: str) -> str:
    """The HTML a partner pastes, from `config` alone."""
    attributes = f'id="{config["container"]}" data-ridepledge data-partner="{config["partner"]}"'
    if config["event"]:
        attributes += f' data-event="{config["event"]}"'
    if config["locale"]:
        attributes += f' data-locale="{config["locale"]}"'
    link = base + widget_path(config)
    return (
        f"<div {attributes}>\n"
        f'  <a href="{link}">{escape(_("Book a seat on the bus to the game"))}</a>\n'
        f"</div>\n"
        f'<script async src="{base}/embed.js"></script>'
    )


def _events() -> list[Event]:
    return list(
        db.session.scalars(
            select(Event).where(Event.partner_id == g.partner.id).order_by(Event.starts_at)
        )
    )


@bp.get("/embed")
@requires("view")
def embed():
    """Choose event, language and container id; the snippet and the preview follow."""
    config = embed_config(request.args)
    base = current_app.config["SETTINGS"].public_base_url
    result = {
        "config": config,
        "snippet": embed_snippet(config, base),
        "preview_url": preview_url(g.partner.branding or {}, widget_path(config)),
    }
    if request.args.get("format") == "json":
        return jsonify(result)
    return render_template(
        "admin/embed.html", events=_events(), locales=SUPPORTED_LOCALES, **result
    )
