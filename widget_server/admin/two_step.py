"""The owner's "require two-step sign-in for the whole team" (admins without it reach nothing
but its set-up until they have it). One's own set-up (QR code, recovery codes, turning it off)
is the back offices' shared pages (backoffice/two_step.py); signing in with the code is
backoffice/sign_in.py; the rules are in domain/accounts/two_step.py.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from widget_server.admin import CONSOLE, bp
from widget_server.admin.auth import PUBLIC_ENDPOINTS, actor, requires
from widget_server.admin.helpers import act
from widget_server.backoffice import two_step as own_two_step
from widget_server.domain.accounts import two_step as rules

own_two_step.register(bp, CONSOLE, requires)

# What an admin who must set up two-step sign-in may still reach.
SET_UP_ENDPOINTS = {CONSOLE.endpoint(view) for view in own_two_step.SET_UP_VIEWS}


@bp.before_request
def _require_set_up():
    """A team that requires two-step sign-in: its admins without it are sent to set it up,
    and everything else is refused until they have (runs after auth's sign-in check)."""
    admin = g.get("admin")
    if admin is None or request.endpoint in PUBLIC_ENDPOINTS | SET_UP_ENDPOINTS:
        return None
    if not rules.must_set_up(admin):
        return None
    if request.method == "GET":
        return redirect(url_for("admin.two_step"))
    abort(403)


@bp.post("/team/two-step")
@requires("team")
def require_two_step():
    """An owner requires two-step sign-in for the whole team, or makes it optional again."""
    required = request.form.get("required") == "on"
    if required and not g.admin.two_step_on:
        flash(_("Turn on two-step sign-in for your own account first."))
        return redirect(url_for("admin.team"))
    done = _("Two-step sign-in is now required for everyone in the team.")
    if not required:
        done = _("Two-step sign-in is now optional for the team.")
    act(
        lambda session: rules.require_for_team(
            session, g.partner, required, by=g.admin, actor=actor()
        ),
        done,
    )
    return redirect(url_for("admin.team"))
