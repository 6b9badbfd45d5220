"""One's own account on every back office: change the password (which signs out every other
session), see where one is signed in, sign out everywhere, and the back office's language.
`register(bp, face, requires)` adds `<face>.account`, `.set_language` and
`.sign_out_everywhere`, each guarded by the face's `requires("self")`.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select

from widget_server.backoffice.faces import Face
from widget_server.backoffice.forms import ChangePasswordForm
from widget_server.backoffice.sessions import actor, client_address
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


def register(bp: Blueprint, face: Face, requires) -> None:
    def route(rule: str, *methods: str):
        def decorator(view):
            view.__qualname__ = f"{face.name}.{view.__name__}"
            return bp.route(rule, methods=list(methods))(requires("self")(view))

        return decorator

    def _page(form: ChangePasswordForm, status: int, language_error: str | None = None):
        return render_template(
            "backoffice/account.html",
            form=form,
            tenant=getattr(g, face.tenant_attr),
            sessions=_open_sessions(),
            this_session=current_user.session_row,
            language_names=LANGUAGE_NAMES,
            language_error=language_error,
        ), status

    def _signed_out(message: str):
        logout_user()
        session.clear()
        flash(message)
        return redirect(url_for(face.endpoint("login")))

    @route("/account", "GET", "POST")
    def account():
        """One's account (language, two-step sign-in, open sessions), and changing one's
        password, which signs out every other session."""
        form = ChangePasswordForm()
        if not form.validate_on_submit():
            return _page(form, 422 if request.method == "POST" else 200)
        with db.transaction() as dbs:  # a wrong guess counts toward the lockout
            try:
                admin_sessions.authenticate(
                    dbs,
                    g.admin.email,
                    form.current.data,
                    address=client_address(),
                    operator=face.operator,
                )
                confirmed = True
            except admin_sessions.SignInRefused:
                confirmed = False
        if not confirmed:
            form.current.errors = [_("This is not your current password.")]
            return _page(form, 422)
        try:
            with db.transaction() as dbs:
                admins.set_password(dbs, g.admin, form.password.data, actor=actor())
        except ValidationFailed as exc:
            form.password.errors = [exc.errors["password"][0]]
            return _page(form, 422)
        return _signed_out(_("Your password is changed. Sign in with the new one."))

    @route("/account/language", "POST")
    def set_language():
        """Keep this back office in one language for this person (or follow the browser's)."""
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
            if face.operator:
                flash(_("The portal's language is saved."))
            else:
                flash(_("The console's language is saved."))
        return redirect(url_for(face.endpoint("account")))

    @route("/account/sign-out-everywhere", "POST")
    def sign_out_everywhere():
        """End every session of this person on every device, this one included."""
        with db.transaction() as dbs:
            admin_sessions.end_all_sessions(dbs, g.admin, actor=actor())
        return _signed_out(_("You are signed out on every device."))
