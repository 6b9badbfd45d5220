"""The fan's manage page, reached from the signed link (confirmation page and every email):
status, change stop, change seats (the new total shown first), withdraw, and the
action-required card form. Works without JavaScript; every form carries a signed token and is
refused from another site."""

from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from widget_server import ratelimits, services
from widget_server.domain import limits
from widget_server.domain.errors import DomainError, ValidationFailed
from widget_server.domain.numbers import parse_digits
from widget_server.domain.pledges import fan_changes, placing
from widget_server.extensions import db
from widget_server.fan import messages
from widget_server.fan.links import pledge_for, share_box
from widget_server.fan.render import payment_method_from_form, render_page
from widget_server.fan.security import check_form_post, form_token
from widget_server.fan.serializers import fan_pledge
from widget_server.fan.trip_state import pledge_status_label, trip_state
from widget_server.i18n import format_money as money
from widget_server.models import Pledge
from widget_server.widget.blueprint import bp

NOTICES = {
    "card-updated": lambda: _("Thanks, your card was updated."),
    "stop-changed": lambda: _("Your pick-up stop was changed."),
    "seats-changed": lambda: _("Your seats were changed. Your new total is below."),
    "withdrawn": lambda: _("Your pledge was withdrawn. Nothing was charged."),
}


def _purpose(pledge: Pledge) -> str:
    return f"manage:{pledge.id}"


def _in_fans_language(pledge: Pledge) -> None:
    if not request.args.get("locale"):
        g.locale = pledge.locale  # the link came from an email in the fan's language


def _render(
    pledge: Pledge,
    token: str,
    *,
    error: str | None = None,
    errors: dict | None = None,
    status: int = 200,
):
    _in_fans_language(pledge)
    notice = NOTICES.get(request.args.get("done", ""))
    trip = pledge.trip
    return render_page(
        "widget/manage.html",
        status=status,
        pledge=pledge,
        trip=trip,
        event=trip.event,
        state=trip_state(trip),
        status_label=pledge_status_label(pledge.status),
        token=token,
        form_token=form_token(g.partner, _purpose(pledge)),
        error=error,
        errors=errors or {},
        notice=notice() if notice else None,
        can_withdraw=fan_changes.can_withdraw(pledge),
        can_change_stop=fan_changes.can_change_stop(pledge),
        can_change_seats=fan_changes.can_change_seats(pledge),
        max_seats=limits.MAX_SEATS_PER_PLEDGE,
        share=share_box(pledge),
        here=("widget_pages.manage", {"token": token}),
        data=_page_data(pledge, token),
    )


def _page_data(pledge: Pledge, token: str) -> dict:
    """What widget.js needs on the manage pages: the JSON API's withdrawal (it tells the host
    page `pledge.canceled`), the card form's words."""
    return {
        "manage": {
            "token": token,
            "pledge": _event_detail(pledge),
            "withdrawn": url_for("widget_pages.manage", token=token, done="withdrawn"),
        },
        "problems": messages.problem_messages(),
        "field_messages": messages.field_messages(limits.MAX_SEATS_PER_PLEDGE),
    }


def _event_detail(pledge: Pledge) -> dict:
    """The pledge as the host page hears of it (`pledge.created` / `pledge.canceled`)."""
    body = fan_pledge(pledge)
    return {
        "pledge_id": body["id"],
        "trip_id": body["trip_id"],
        "seats": body["seats"],
        "amount": body["amount"],
        "currency": body["currency"],
        "status": body["status"],
    }


@bp.get("/manage/<token>")
def manage(token: str):
    return _render(pledge_for(token), token)


def _act(
    token: str,
    action,
    done: str,
    refused: str | None = None,
    *,
    in_transaction=True,
    field: str | None = None,
):
    """Check the form, run `action(session, pledge)` in one transaction (or `action(pledge)`,
    which runs its own, when not `in_transaction`); re-render with the fan's words for the
    error (`refused` when the pledge's state does not allow it), shown at the form's `field`
    too when there is one."""
    pledge = pledge_for(token)
    try:
        check_form_post(g.partner, _purpose(pledge))
        if not in_transaction:
            action(pledge)
        else:
            with db.transaction() as session:
                action(session, pledge)
    except DomainError as exc:
        db.session.expire_all()
        words = refused if refused and exc.type == "illegal-transition" else _words(exc)
        errors = {field: words} if field else None
        return _render(pledge_for(token), token, error=words, errors=errors, status=exc.status)
    return redirect(url_for("widget_pages.manage", token=token, done=done), code=303)


def _words(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed) and "payment_method" in exc.errors:
        if exc.type == "card-declined":
            return messages.problem_messages()["card-declined"]
        return messages.field_messages(limits.MAX_SEATS_PER_PLEDGE)["payment_method"]
    if isinstance(exc, ValidationFailed) and "seats" in exc.errors:
        return messages.field_messages(limits.MAX_SEATS_PER_PLEDGE)["seats"]
    return messages.for_problem(exc)


@bp.post("/manage/<token>/stop")
@ratelimits.widget_write
def change_stop(token: str):
    stop_id = request.form.get("stop_id", "")
    return _act(token, lambda s, p: fan_changes.change_stop(s, p, stop_id), "stop-changed")


def _question(pledge: Pledge, token: str, confirm: dict, here: tuple[str, dict]):
    """A question about the pledge before a step (`widget/confirm.html`): `confirm` has its
    words and its form; `here` is the page's endpoint and query (its language links)."""
    trip = pledge.trip
    endpoint, query = here
    return render_page(
        "widget/confirm.html",
        confirm=confirm,
        pledge=pledge,
        trip=trip,
        event=trip.event,
        status_label=pledge_status_label(pledge.status),
        form_token=form_token(g.partner, _purpose(pledge)),
        here=(endpoint, {"token": token, **query}),
        data=_page_data(pledge, token),
    )


def _seats_from(values) -> int:
    """The seats a form or query asks for (ASCII digits), or a 422 naming `seats`."""
    seats = parse_digits(values.get("seats", "").strip())
    if seats is None:
        raise ValidationFailed.field("seats", "must be a whole number written in digits 0-9")
    return seats


@bp.get("/manage/<token>/seats")
@ratelimits.price_quote
def confirm_seats(token: str):
    """The step before a change of seats, a page of its own so it works without JavaScript:
    the new total beside the old one ("Your new total: $X (was $Y)"), then "yes, change" (the
    POST) or "no, keep". Nothing is saved here; a refused number goes back to the manage page,
    which says why."""
    pledge = pledge_for(token)
    if not fan_changes.can_change_seats(pledge):
        return redirect(url_for("widget_pages.manage", token=token), code=303)
    _in_fans_language(pledge)  # before any words: a refusal's too
    try:
        seats = _seats_from(request.args)
        price = fan_changes.preview_seats_change(db.session, pledge, seats)
    except DomainError as exc:
        words = _words(exc)
        return _render(pledge, token, error=words, errors={"seats": words}, status=exc.status)
    if seats == pledge.seats:
        return redirect(url_for("widget_pages.manage", token=token), code=303)
    was, new = money(pledge.amount, pledge.currency), money(price.amount, price.currency)
    confirm = {
        "question": ngettext("Change to %(num)s seat?", "Change to %(num)s seats?", seats),
        "summary_title": _("Your pledge"),
        "consequence": _("Your new total: %(new)s (was %(old)s)", new=new, old=was),
        "price": price,
        "price_title": _("After the change"),
        "fields": {"seats": seats},
        "action": url_for("widget_pages.change_seats", token=token),
        "yes": _("Yes, change my seats"),
        "back": url_for("widget_pages.manage", token=token),
        "no": _("No, keep my seats"),
    }
    return _question(pledge, token, confirm, ("widget_pages.confirm_seats", {"seats": seats}))


@bp.post("/manage/<token>/seats")
@ratelimits.widget_write
def change_seats(token: str):
    def change(session, pledge):
        fan_changes.change_seats(session, pledge, _seats_from(request.form))

    refused = _("The seats of this pledge can no longer change.")
    return _act(token, change, "seats-changed", refused, field="seats")


@bp.get("/manage/<token>/cancel")
def confirm_withdraw(token: str):
    """The question before a withdrawal, a page of its own so it works without JavaScript:
    the pledge, what withdrawing does, "yes, withdraw" (the POST) or "no, keep it". A pledge
    that can no longer be withdrawn goes back to its manage page, which says why."""
    pledge = pledge_for(token)
    if not fan_changes.can_withdraw(pledge):
        return redirect(url_for("widget_pages.manage", token=token), code=303)
    _in_fans_language(pledge)
    confirm = {
        "question": _("Withdraw this pledge?"),
        "summary_title": _("Your pledge"),
        "consequence": ngettext(
            "Your %(num)s seat goes back to other fans and nothing is charged. This cannot be "
            "undone, but you can pledge again while the trip is open.",
            "Your %(num)s seats go back to other fans and nothing is charged. This cannot be "
            "undone, but you can pledge again while the trip is open.",
            pledge.seats,
        ),
        "action": url_for("widget_pages.withdraw", token=token),
        "yes": _("Yes, withdraw my pledge"),
        "back": url_for("widget_pages.manage", token=token),
        "no": _("No, keep my pledge"),
        "withdraw": True,  # widget.js sends it through the JSON API: `pledge.canceled`
    }
    return _question(pledge, token, confirm, ("widget_pages.confirm_withdraw", {}))


@bp.post("/manage/<token>/cancel")
@ratelimits.widget_write
def withdraw(token: str):
    refused = _("This pledge can no longer be withdrawn.")
    return _act(token, fan_changes.withdraw_pledge, "withdrawn", refused)


@bp.post("/manage/<token>/card")
@ratelimits.widget_write
@ratelimits.per_card
def update_card(token: str):
    """The card form of an action_required pledge; the new card is charged at once."""
    payment_method = payment_method_from_form(request.form)

    def replace(pledge):
        if not payment_method:
            raise ValidationFailed.field("payment_method", "not a test card number")
        placing.replace_card(services.payments(), pledge.id, payment_method)

    return _act(token, replace, "card-updated", in_transaction=False)
