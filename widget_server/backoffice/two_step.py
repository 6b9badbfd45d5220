"""Two-step sign-in on one's own account, on every back office: set it up (QR code and the
secret as text, confirmed by a code), see the recovery codes once, make new ones, turn it off.
`register(bp, face, requires)` adds `<face>.two_step`, `.two_step_start`, `.two_step_confirm`,
`.two_step_disable`, `.two_step_renew`, each guarded by the face's `requires("self")`.

Signing in with the code is sign_in.py; the rules are in domain/accounts/two_step.py.
"""

from __future__ import annotations

import segno
from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from widget_server.backoffice.faces import Face
from widget_server.backoffice.forms import ConfirmedChangeForm, SetUpCodeForm
from widget_server.backoffice.messages import console_message
from widget_server.backoffice.sessions import actor, client_address, secret_key
from widget_server.domain.accounts import admin_sessions
from widget_server.domain.accounts import two_step as rules
from widget_server.domain.errors import Conflict, ValidationFailed
from widget_server.extensions import db

# The views of one's own two-step set-up (what an admin who must set it up may still reach).
SET_UP_VIEWS = ("two_step", "two_step_start", "two_step_confirm")


def register(bp: Blueprint, face: Face, requires) -> None:
    def route(rule: str, method: str = "GET"):
        def decorator(view):
            view.__qualname__ = f"{face.name}.{view.__name__}"
            return bp.route(rule, methods=[method])(requires("self")(view))

        return decorator

    def _qr_svg(uri: str) -> Markup:
        """The otpauth:// address as an inline SVG QR code (dark on white whatever the theme, as
        scanners need); drawn here, so no request leaves the page."""
        svg = segno.make(uri, error="m").svg_inline(
            dark="#000", light="#fff", svgclass="qr", omitsize=True
        )
        return Markup(svg)  # noqa: S704  # nosec B704: segno draws only paths, no text of ours

    def _spaced(secret: str) -> str:
        return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))

    def _page(status: int = 200, **forms):
        admin = g.admin
        secret = rules.pending_secret(admin, secret_key=secret_key())
        context = {
            "admin": admin,
            "must_set_up": rules.must_set_up(admin),
            "required": rules.team_requires(admin),
            "left": rules.recovery_codes_left(db.session, admin) if admin.two_step_on else 0,
            "secret": _spaced(secret) if secret else None,
            "qr": _qr_svg(rules.provisioning_uri(admin, secret)) if secret else None,
            "set_up_form": forms.get("set_up_form") or SetUpCodeForm(),
            "off_form": forms.get("off_form") or ConfirmedChangeForm(prefix="off"),
            "renew_form": forms.get("renew_form") or ConfirmedChangeForm(prefix="renew"),
        }
        return render_template("backoffice/two_step.html", **context), status

    def _codes_page(codes: list[str]):
        return render_template(
            "backoffice/recovery_codes.html", codes=codes, text="\n".join(codes) + "\n"
        )

    @route("/account/two-step")
    def two_step():
        """The state of one's two-step sign-in, with what can be done from there."""
        return _page()

    @route("/account/two-step/start", "POST")
    def two_step_start():
        """A new secret to scan; any half-done set-up is replaced."""
        with db.transaction() as session:
            rules.begin_set_up(session, g.admin, secret_key=secret_key())
        flash(_("Scan the code with your authenticator app, then type the code it shows."))
        return redirect(url_for(face.endpoint("two_step")))

    @route("/account/two-step/confirm", "POST")
    def two_step_confirm():
        """The app's code proves the secret was copied: two-step sign-in is on, every other
        session ends, and the recovery codes are shown, this once."""
        form = SetUpCodeForm()
        if not form.validate_on_submit():
            return _page(422, set_up_form=form)
        try:
            with db.transaction() as session:
                codes = rules.complete_set_up(
                    session, g.admin, form.code.data, secret_key=secret_key(), actor=actor()
                )
                admin_sessions.end_other_sessions(session, g.admin, current_user.token)
        except ValidationFailed:
            db.session.rollback()
            form.code.errors = [_("This is not the code your app shows now. Try the next one.")]
            return _page(422, set_up_form=form)
        except Conflict as exc:
            db.session.rollback()
            flash(console_message(exc.detail))
            return redirect(url_for(face.endpoint("two_step")))
        return _codes_page(codes)

    def _confirmed(change, form: ConfirmedChangeForm, which: str):
        """Check the password and a current code (failures are kept: they count toward the
        lockout), then run `change(session)` and end the admin's other sessions. Returns (what
        `change` returned, None) when done, or (None, the page again naming what was wrong)."""
        if not form.validate_on_submit():
            return None, _page(422, **{which: form})
        with db.transaction() as session:
            wrong = rules.confirm_identity(
                session,
                g.admin,
                form.password.data,
                form.code.data,
                secret_key=secret_key(),
                address=client_address(),
            )
        if wrong == "password":
            form.password.errors = [
                _(
                    "This is not your current password, or sign-in is paused after too many "
                    "attempts."
                )
            ]
        elif wrong == "code":
            form.code.errors = [_("This code does not work. Type the one your app shows now.")]
        if wrong:
            return None, _page(422, **{which: form})
        try:
            with db.transaction() as session:
                result = change(session)
                admin_sessions.end_other_sessions(session, g.admin, current_user.token)
        except Conflict as exc:
            db.session.rollback()
            flash(console_message(exc.detail))
            return None, _page(409)
        return result, None

    @route("/account/two-step/disable", "POST")
    def two_step_disable():
        """Turn it off with the password and a current code (not while the team requires it)."""
        if rules.team_requires(g.admin):  # checked by the domain too; said here in their words
            flash(_("Your team requires two-step sign-in: it cannot be turned off."))
            return _page(409)
        form = ConfirmedChangeForm(prefix="off")
        _done, refused = _confirmed(
            lambda session: rules.turn_off(session, g.admin, actor=actor()), form, "off_form"
        )
        if refused:
            return refused
        flash(_("Two-step sign-in is off. Your other sessions are signed out."))
        return redirect(url_for(face.endpoint("two_step") if face.operator else "admin.account"))

    @route("/account/two-step/recovery-codes", "POST")
    def two_step_renew():
        """Ten new recovery codes (the old ones stop working), shown once."""
        form = ConfirmedChangeForm(prefix="renew")
        codes, refused = _confirmed(
            lambda session: rules.renew_recovery_codes(
                session, g.admin, secret_key=secret_key(), actor=actor()
            ),
            form,
            "renew_form",
        )
        return refused or _codes_page(codes)
