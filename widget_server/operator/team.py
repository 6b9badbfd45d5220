"""The operator's team: invite by email with a role, change a role, remove (never the last
owner), with the console's domain/accounts rules and the operator's own audit log; and one's
own account and two-step sign-in (the back offices' shared pages)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from widget_server.backoffice import account, two_step
from widget_server.backoffice.messages import console_message
from widget_server.domain.accounts import admins
from widget_server.domain.errors import DomainError
from widget_server.extensions import db
from widget_server.models import AdminUser
from widget_server.models.operators import OPERATOR_ROLES
from widget_server.operator import PORTAL, bp
from widget_server.operator.auth import actor, owned, requires

# One's own account and two-step sign-in: the console's pages.
account.register(bp, PORTAL, requires)
two_step.register(bp, PORTAL, requires)

ROLE_LABELS = {
    "owner": _l("Owner: everything, including the profile and the team"),
    "dispatcher": _l("Dispatcher: fleet, drivers, quotes and trips"),
    "viewer": _l("Viewer: read only"),
}


def _team_page(values: dict, errors: dict, status: int = 200):
    page = render_template(
        "operator/team.html",
        team=admins.team_of(db.session, g.operator),
        roles=OPERATOR_ROLES,
        role_labels=ROLE_LABELS,
        values=values,
        errors=errors,
    )
    return page, status


@bp.get("/team")
@requires("view")
def team():
    return _team_page({"role": "dispatcher"}, {})


@bp.post("/team/invite")
@requires("team")
def invite():
    """An email with a link to choose a password (72 h, works once); the same answer whether
    or not the address has an account already."""
    email, role = request.form.get("email", ""), request.form.get("role", "")
    try:
        with db.transaction() as session:
            address = admins.ask_invite(
                session, g.operator, email=email, role=role, invited_by=g.admin
            )
    except DomainError as exc:
        db.session.rollback()
        return _team_page(request.form.to_dict(), exc.errors or {"email": [exc.detail]}, 422)
    flash(_("Invitation sent to %(email)s.", email=address))
    return redirect(url_for("operator.team"))


@bp.post("/team/<admin_id>/role")
@requires("team")
def change_role(admin_id: str):
    member = owned(AdminUser, admin_id)
    try:
        with db.transaction() as session:
            admins.change_role(session, member, request.form.get("role", ""), actor=actor())
    except DomainError as exc:
        db.session.rollback()
        flash(console_message(exc.detail))
    else:
        flash(_("%(email)s is now %(role)s.", email=member.email, role=member.role))
    return redirect(url_for("operator.team"))


@bp.post("/team/<admin_id>/remove")
@requires("team")
def remove(admin_id: str):
    member = owned(AdminUser, admin_id)
    try:
        with db.transaction() as session:
            admins.remove_admin(session, member, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        flash(console_message(exc.detail))
    else:
        flash(_("%(email)s is removed from the team.", email=member.email))
    return redirect(url_for("operator.team"))
