"""The team (invite by email, change roles, remove; never the last owner) and the audit log."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.forms import ROLE_LABELS, InviteForm
from widget_server.admin.helpers import act
from widget_server.backoffice.messages import console_message
from widget_server.domain import audit
from widget_server.domain.accounts import admins
from widget_server.domain.errors import DomainError
from widget_server.extensions import db
from widget_server.models import AdminUser
from widget_server.models.admins import ADMIN_ROLES


def _team_page(form: InviteForm, status: int = 200):
    page = render_template(
        "admin/team.html",
        team=admins.team_of(db.session, g.partner),
        form=form,
        roles=ADMIN_ROLES,
        role_labels=ROLE_LABELS,
    )
    return page, status


@bp.get("/team")
@requires("view")
def team():
    return _team_page(InviteForm())


@bp.post("/team/invite")
@requires("team")
def invite():
    """Invite a teammate: an email with a link to set a password (72 h, works once)."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _team_page(form, 422)
    try:
        with db.transaction() as session:
            # The same answer whether or not the address has an account (the job looks).
            admins.ask_invite(
                session, g.partner, email=form.email.data, role=form.role.data, invited_by=g.admin
            )
    except DomainError as exc:
        form.email.errors = [*(exc.errors.get("email") or [exc.detail])]
        return _team_page(form, exc.status)
    flash(_("Invitation sent to %(email)s.", email=form.email.data))
    return redirect(url_for("admin.team"))


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
    return redirect(url_for("admin.team"))


@bp.post("/team/<admin_id>/remove")
@requires("team")
def remove(admin_id: str):
    member = owned(AdminUser, admin_id)
    act(
        lambda session: admins.remove_admin(session, member, actor=actor()),
        _("%(email)s is removed from the team.", email=member.email),
    )
    return redirect(url_for("admin.team"))


@bp.get("/audit")
@requires("view")
def audit_log():
    """Every change made in the console, the API or the CLI: who, when, what. Filterable."""
    filters = {
        key: (request.args.get(key) or "").strip()[:200] for key in ("actor", "action", "object_id")
    }
    rows = audit.entries(db.session, g.partner.id, **{k: v or None for k, v in filters.items()})
    return render_template("admin/audit.html", rows=rows, filters=filters)
