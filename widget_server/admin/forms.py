"""Console forms (Flask-WTF). The CSRF token is checked once for every POST in admin/__init__;
text goes through domain.text's rules when the domain gets it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length

from widget_server.domain.accounts.admins import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from widget_server.models.admins import ADMIN_ROLES


class ConsoleForm(FlaskForm):
    class Meta:
        csrf = False  # checked for every POST by the blueprint, forms or not


class SignInForm(ConsoleForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class ForgotPasswordForm(ConsoleForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])


class NewPasswordForm(ConsoleForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)],
        description=_l("At least %(count)s characters.", count=PASSWORD_MIN_LENGTH),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])


class CodeForm(ConsoleForm):
    """The second step of signing in: a code from the app, or a recovery code."""

    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[DataRequired(), Length(max=64)],
    )


class SetUpCodeForm(ConsoleForm):
    code = StringField(
        _l("The 6-digit code your app shows now"), validators=[DataRequired(), Length(max=64)]
    )


class ConfirmedChangeForm(ConsoleForm):
    """Turning two-step sign-in off, or new recovery codes: the password and a current code."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1000)])
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[DataRequired(), Length(max=64)],
    )


ROLE_LABELS = {
    "owner": _l("Owner: everything, including the team"),
    "editor": _l("Editor: branding, events, trips, demand"),
    "developer": _l("Developer: API clients and webhooks"),
    "viewer": _l("Viewer: read only"),
}


class InviteForm(ConsoleForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    # A plain field rendered as a <select> by the template (wtforms' SelectField choices API
    # is changing between versions).
    role = StringField(_l("Role"), validators=[DataRequired(), AnyOf(ADMIN_ROLES)])


class FanRequestForm(ConsoleForm):
    email = EmailField(
        _l("The fan's email address"),
        validators=[DataRequired(), Length(max=320)],
        description=_l("Matched without regard to capital letters, within your fans only."),
    )


class FanErasureForm(FanRequestForm):
    confirm = StringField(_l("Type the address again to confirm"), validators=[Length(max=320)])


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Length(max=200)])
