"""The fan's printable boarding pass (`/w/<partner>/manage/<token>/boarding`): the QR code and
the short code of a paid pledge, reached from the manage page and the confirmation email.
No wallet app: a page that prints on one sheet and reads well on a phone held up to a driver."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _

from widget_server.domain.boarding import boarding_code_or_none, qr_svg
from widget_server.domain.errors import NotFound
from widget_server.fan.links import pledge_for
from widget_server.fan.render import render_page
from widget_server.widget.blueprint import bp


@bp.get("/manage/<token>/boarding")
def boarding_pass(token: str):
    pledge = pledge_for(token)
    if not request.args.get("locale"):
        g.locale = pledge.locale
    code = boarding_code_or_none(current_app.config["SECRET_KEY"], pledge)
    if code is None:
        raise NotFound(_("The boarding pass is ready once your seat is paid."))
    trip = pledge.trip
    return render_page(
        "widget/boarding.html",
        pledge=pledge,
        trip=trip,
        event=trip.event,
        stop=pledge.stop,
        code=code,
        qr=qr_svg(code),
        token=token,
        here=("widget_pages.boarding_pass", {"token": token}),
    )
