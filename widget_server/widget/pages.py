"""Server-rendered fan pages that work without JavaScript: the manage page reached from the
signed link (status, change stop, withdraw, update the card when a charge needs action)."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from widget_server.domain import pledging, settlement
from widget_server.domain.branding import SAFE_FONTS, readable_text_on
from widget_server.domain.errors import DomainError, NotFound, ValidationFailed
from widget_server.extensions import db, limiter
from widget_server.jobs import tasks
from widget_server.models import Partner, Pledge
from widget_server.payments import PaymentError
from widget_server.payments.simulated import TEST_CARD_NUMBERS, payment_method_for_card_number
from widget_server.widget.api import _write_limit
from widget_server.widget.links import pledge_id_from_token

bp = Blueprint("widget_pages", __name__, url_prefix="/w/<partner_slug>")

NOTICES = {
    "card-updated": lambda: _("Thanks, your card was updated."),
    "stop-changed": lambda: _("Your pick-up stop was changed."),
    "withdrawn": lambda: _("Your pledge was withdrawn. Nothing was charged."),
}


@bp.url_value_preprocessor
def _load_partner(_endpoint, values):
    slug = values.pop("partner_slug")
    g.partner = db.session.scalar(select(Partner).where(Partner.slug == slug))
    if g.partner is None:
        raise NotFound(f"no partner {slug}")
    g.partner_locale = g.partner.locale


@bp.url_defaults
def _add_partner(_endpoint, values):
    if "partner_slug" not in values and g.get("partner") is not None:
        values["partner_slug"] = g.partner.slug


def theme(partner: Partner) -> dict:
    """The partner's validated branding as CSS values (never raw partner input)."""
    branding = partner.branding
    return {
        "primary": branding["primary_color"],
        "on_primary": readable_text_on(branding["primary_color"]),
        "background": branding["background_color"],
        "text": branding["text_color"],
        "font": SAFE_FONTS[branding["font_family"]],
        "radius": f"{int(branding['corner_radius'])}px",
        "scheme": branding["color_scheme"],
    }


def _pledge(token: str) -> Pledge:
    pledge_id = pledge_id_from_token(token)
    pledge = db.session.get(Pledge, pledge_id) if pledge_id else None
    if pledge is None or pledge.partner_id != g.partner.id:
        raise NotFound(_("This link is not valid; check it was copied whole."))
    return pledge


def _render(pledge: Pledge, token: str, *, error: str | None = None, status: int = 200):
    settings = current_app.config["SETTINGS"]
    g.locale = pledge.locale
    notice = NOTICES.get(request.args.get("done", ""))
    return make_response(
        render_template(
            "widget/manage.html",
            partner=g.partner,
            theme=theme(g.partner),
            pledge=pledge,
            trip=pledge.trip,
            token=token,
            error=error,
            notice=notice() if notice else None,
            simulated=settings.payments_provider == "simulated",
            test_cards=TEST_CARD_NUMBERS,
            stripe_key=settings.stripe_publishable_key,
        ),
        status,
    )


@bp.get("/manage/<token>")
def manage(token: str):
    return _render(_pledge(token), token)


def _act(token: str, action, done: str):
    """Run `action(session, pledge)` in one transaction; re-render with the error if refused."""
    pledge = _pledge(token)
    try:
        with db.transaction() as session:
            action(session, pledge)
    except DomainError as exc:
        db.session.expire_all()
        message = next(iter(exc.errors.values()))[0] if exc.errors else exc.detail
        return _render(_pledge(token), token, error=message, status=exc.status)
    return redirect(url_for("widget_pages.manage", token=token, done=done), code=303)


@bp.post("/manage/<token>/stop")
@limiter.limit(_write_limit)
def change_stop(token: str):
    stop_id = request.form.get("stop_id", "")
    return _act(token, lambda s, p: pledging.change_stop(s, p, stop_id), "stop-changed")


@bp.post("/manage/<token>/cancel")
@limiter.limit(_write_limit)
def withdraw(token: str):
    return _act(token, pledging.withdraw_pledge, "withdrawn")


@bp.post("/manage/<token>/card")
@limiter.limit(_write_limit)
def update_card(token: str):
    provider = current_app.extensions["ridepledge.payments"]
    payment_method = request.form.get("payment_method", "").strip()
    if provider.name == "simulated" and request.form.get("card_number"):
        payment_method = payment_method_for_card_number(request.form["card_number"]) or ""

    def replace(session, pledge):
        if not payment_method:
            raise ValidationFailed.field(
                "payment_method", _("Enter one of the test card numbers listed below.")
            )
        settlement.replace_card(session, provider, pledge, payment_method)

    response = _act(token, replace, "card-updated")
    if response.status_code == 303:
        try:
            tasks.charge_pledge(_pledge(token).id)
        except PaymentError:
            current_app.logger.warning("charge after card update deferred")
    return response
