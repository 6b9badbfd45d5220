"""The signed-in admin's own account: password, sessions, sign out everywhere, the console's
language."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select

from widget_server.admin import bp
from widget_server.admin.auth import actor, requires
from widget_server.admin.forms import ChangePasswordForm
from widget_server.domain.accounts import admin_sessions, admins
from widget_server.domain.errors import ValidationFailed
from widget_server.extensions import db
from widget_server.models import AdminSession

LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}


def _open_sessions():
    return list(
        db.session.scalars(
            select(AdminSession)
            .where(
                AdminSession.admin_id == g.admin.id,
                AdminSession.ended_at.is_(None),
                AdminSession.generation == g.admin.session_generation,
            )
            .order_by(AdminSession.last_seen_at.desc())
            .limit(20)
        )
    )


@bp.route("/account", methods=["GET", "POST"])
@requires("self")
def account():
    """Change one's password (which signs out every other session) and see open sessions."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with db.transaction() as dbs:  # a wrong guess counts toward the lockout
            try:
                admin_sessions.authenticate(
                    dbs, g.admin.email, form.current.data, address=request.remote_addr or "?"
                )
                confirmed = True
            except admin_sessions.SignInRefused:
                confirmed = False
        if not confirmed:
            form.current.errors = [_("This is not your current password.")]
        else:
            try:
                with db.transaction() as dbs:
                    admins.set_password(dbs, g.admin, form.password.data, actor=actor())
            except ValidationFailed as exc:
                form.password.errors = [exc.errors["password"][0]]
            else:
                logout_user()
                session.clear()
                flash(_("Your password is changed. Sign in with the new one."))
                return redirect(url_for("admin.login"))
    return _page(form, 422 if request.method == "POST" else 200)


def _page(form: ChangePasswordForm, status: int, language_error: str | None = None):
    return render_template(
        "admin/account.html",
        form=form,
        sessions=_open_sessions(),
        this_session=current_user.session_row,
        language_names=LANGUAGE_NAMES,
        language_error=language_error,
    ), status


@bp.post("/account/language")
@requires("self")
def set_language():
    """Keep the console in one language for this admin (or follow the browser's again)."""
    chosen = request.form.get("locale") or None
    try:
        with db.transaction() as dbs:
            admins.set_language(dbs, g.admin, chosen, actor=actor())
    except ValidationFailed:
        db.session.rollback()
        return _page(
            ChangePasswordForm(formdata=None), 422, _("Choose one of the languages listed.")
        )
    with force_locale(chosen or str(get_locale())):  # said in the language just chosen
        flash(_("The console's language is saved."))
    return redirect(url_for("admin.account"))


@bp.post("/account/sign-out-everywhere")
@requires("self")
def sign_out_everywhere():
    """End every session of this admin on every device, this one included."""
    with db.transaction() as dbs:
        admin_sessions.end_all_sessions(dbs, g.admin, actor=actor())
    logout_user()
    session.clear()
    flash(_("You are signed out on every device."))
    return redirect(url_for("admin.login"))
