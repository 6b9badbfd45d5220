"""Branding and embedding: the partner's look, wording, logo, language, money and allowed sites,
a live preview that is the real widget with the unsaved values, and the embed code generator."""

from __future__ import annotations

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import escape
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from widget_server.admin import CONSOLE, bp
from widget_server.admin.auth import PERMISSIONS, actor, requires
from widget_server.admin.schemas import read_branding, read_partner_settings, read_wording
from widget_server.domain.accounts import two_step as two_step_rules
from widget_server.domain.branding import DEFAULT_BRANDING, SAFE_FONTS, WORDING_KEYS
from widget_server.domain.errors import DomainError, ValidationFailed
from widget_server.domain.logos import (
    MAX_LOGO_BYTES,
    LogoRefused,
    clean_logo,
    remove_logo,
    served_logo_preview,
    set_logo,
    set_logo_preview,
)
from widget_server.domain.partners import CURRENCIES, update_partner
from widget_server.domain.preview import contrast_report, preview_token
from widget_server.extensions import db
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.models import Event

# Why a logo file was refused (domain.logos.LogoRefused.reason), in the admin's language.
LOGO_MESSAGES = {
    "empty": _l("The logo file is empty."),
    "too_big": _l("The logo file is larger than %(size)s KB.", size=MAX_LOGO_BYTES // 1024),
    "not_an_image": _l(
        "The logo must be a PNG, JPEG or WebP image (SVG and other files are refused, "
        "whatever their name)."
    ),
    "too_many_pixels": _l(
        "The logo has too many pixels (at most 8192 px on a side and 16 million in all)."
    ),
    "animated": _l("The logo must be a still image, not an animation."),
    "corrupt": _l("The logo file is damaged: it cannot be read as an image."),
    "both": _l("Choose a new logo or remove the logo, not both."),
    "not_saved": _l("Nothing was saved because of the fields marked: choose the logo file again."),
}
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}
# The contrast check names each colour by its label on the form, in the admin's language.
COLOR_LABELS = {
    "primary_color": _l("Primary (buttons, links)"),
    "accent_color": _l("Accent (progress bars)"),
    "background_color": _l("Background"),
    "text_color": _l("Text"),
    "button_label": _l("Button text"),
}


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
    for language in SUPPORTED_LOCALES:
        words = (partner.wording or {}).get(language) or {}
        for key in WORDING_KEYS:
            values[f"wording.{language}.{key}"] = words.get(key) or ""
    return values


def preview_url(
    branding: dict,
    path: str | None = None,
    *,
    wording: dict | None = None,
    remove_logo: bool = False,
    locale: str | None = None,
    logo_preview: str | None = None,
) -> str:
    """The widget page at `path` (default: the events list, in `locale`) with `branding` and
    `wording` applied, signed for this partner; a signed preview may be framed by the console
    (frame-ancestors 'self')."""
    token = preview_token(
        current_app.config["SECRET_KEY"],
        g.partner.slug,
        branding,
        wording=wording,
        remove_logo=remove_logo,
        logo_preview=logo_preview,
    )
    if path is None:
        language = {"locale": locale} if locale in SUPPORTED_LOCALES else {}
        path = url_for("widget_pages.events", partner_slug=g.partner.slug, **language)
    return path + ("&" if "?" in path else "?") + f"preview={token}"


def _page(values: dict, errors: dict, branding: dict, *, wording=None, status=None):
    page = render_template(
        "admin/branding.html",
        values=values,
        errors=errors,
        fonts=[(key, key) for key in sorted(SAFE_FONTS)],
        contrast_text=contrast_text,
        locales=SUPPORTED_LOCALES,
        language_names=LANGUAGE_NAMES,
        currencies=sorted(CURRENCIES),
        logo=g.partner.logo,
        logo_kb=MAX_LOGO_BYTES // 1024,
        preview=preview_url(branding, wording=g.partner.wording if wording is None else wording),
        contrast=contrast_report(branding),
        unsaved=bool(errors),
    )
    return page, status or (422 if errors else 200)


@bp.get("/branding")
@requires("view")
def branding():
    """The form, with the real widget previewed beside it at phone and desktop width."""
    return _page(_values(g.partner), {}, g.partner.branding or {})


def _logo_choice(files, form):
    """What the form asks for the logo: a clean new logo, "remove", or None (keep it)."""
    upload = files.get("logo")
    remove = form.get("logo_remove") == "1"
    if upload is None or not upload.filename:
        return "remove" if remove else None
    if remove:
        raise LogoRefused("both", "choose a new logo or remove it, not both")
    return clean_logo(upload.read())


@bp.post("/branding")
@requires("branding")
def save_branding():
    """Save every field and the logo in one transaction; any invalid field (an unreadable
    theme, a refused logo file) is refused naming the field, the typed values kept."""
    errors: dict = {}
    try:
        changes = read_partner_settings(request.form)
    except ValidationFailed as exc:
        errors.update(exc.errors or {"_form": [exc.detail]})
    try:
        logo = _logo_choice(request.files, request.form)
    except LogoRefused as exc:
        errors["logo"] = [str(LOGO_MESSAGES[exc.reason])]
        logo = None
    try:
        if errors:
            raise ValidationFailed("some fields are invalid", errors=errors)
        if logo == "remove":
            changes["branding"]["logo_url"] = None
        with db.transaction() as session:
            update_partner(session, g.partner, changes, actor=actor())
            if logo == "remove":
                remove_logo(session, g.partner, actor=actor())
            elif logo is not None:
                set_logo(session, g.partner, logo, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        errors = exc.errors or {"_form": [exc.detail]}
        if request.files.get("logo") and request.files["logo"].filename and "logo" not in errors:
            errors["logo"] = [str(LOGO_MESSAGES["not_saved"])]
        return _page(
            request.form.to_dict(),
            errors,
            read_branding(request.form),
            wording=read_wording(request.form),
        )
    flash(_("Branding saved. The widget shows it now, on every site."))
    return redirect(url_for("admin.branding"))


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    """A body over MAX_CONTENT_LENGTH is not read at all (so neither are the other fields):
    the branding page says the logo is too large, with the saved values; elsewhere, a page."""
    if request.endpoint == "admin.save_branding":
        with db.transaction():
            allowed = (
                current_user.is_authenticated
                and CONSOLE.opens(current_user.admin)
                and current_user.role in PERMISSIONS["branding"]
                and not two_step_rules.must_set_up(current_user.admin)
            )
        if allowed:
            g.admin = current_user.admin
            g.partner = g.admin.partner
            g.locale = g.get("locale") or g.admin.locale
            errors = {"logo": [str(LOGO_MESSAGES["too_big"])]}
            return _page(_values(g.partner), errors, g.partner.branding or {}, status=413)
    page = render_template(
        "backoffice/message.html",
        title=_("This upload is too large"),
        detail=_("Nothing was saved. Go back and send a smaller file."),
    )
    return page, 413


@bp.post("/branding/preview")
@requires("branding")  # a signed preview shows any wording and logo on the partner's widget
def branding_preview():
    """The preview address and contrast report for the values typed so far (nothing saved),
    in the language of the wording typed last (`preview_locale`)."""
    branding = read_branding(request.form)
    report = contrast_report(branding)
    url = preview_url(
        branding,
        wording=read_wording(request.form),
        remove_logo=request.form.get("logo_remove") == "1",
        locale=request.form.get("preview_locale"),
        logo_preview=request.form.get("logo_preview"),
    )
    return jsonify(
        {
            "preview_url": url,
            "contrast": [{**row, "text": contrast_text(row)} for row in report],
        }
    )


@bp.post("/branding/logo_preview")
@requires("branding")
def branding_logo_preview_upload():
    """A logo file chosen but not saved: checked and re-encoded as on saving, kept for the live
    preview (which names it in its token). Answers its file name, or the reason it is refused
    (422, in the admin's language)."""
    try:
        logo = clean_logo(request.files["logo"].read()) if "logo" in request.files else None
    except LogoRefused as exc:
        return jsonify({"error": str(LOGO_MESSAGES[exc.reason])}), 422
    if logo is None:
        return jsonify({"error": str(LOGO_MESSAGES["empty"])}), 422
    with db.transaction() as session:
        pending = set_logo_preview(session, g.partner, logo)
        name = pending.file_name
    return jsonify({"logo_preview": name})


@bp.get("/branding/logo_preview/<file_name>")
@requires("view")
def branding_logo_preview(file_name: str):
    """The unsaved logo, to the partner's admins only (the preview frame shows it)."""
    pending = served_logo_preview(db.session, g.partner, file_name)
    if pending is None:
        abort(404)
    response = current_app.response_class(pending.data, mimetype=pending.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def contrast_text(row: dict) -> str:
    """ "Text on Background: 2.10:1, needs 4.5:1 (2.40 short)", the colours named as the form
    labels them."""
    first, second = (str(COLOR_LABELS.get(name, name)) for name in row["pair"])
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
    """One configuration object: what the snippet says and what the preview shows. An
    `event` that is not one of the partner's is a 404, as everywhere in the console."""
    event = (args.get("event") or "").strip() or None
    if event is not None and event not in {e.id for e in _events()}:
        abort(404)
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
        "preview_url": preview_url(
            g.partner.branding or {}, widget_path(config), wording=g.partner.wording
        ),
    }
    if request.args.get("format") == "json":
        return jsonify(result)
    return render_template(
        "admin/embed.html", events=_events(), locales=SUPPORTED_LOCALES, **result
    )
