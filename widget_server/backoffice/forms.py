"""The forms of every back office's accounts (Flask-WTF): sign-in, the two-step code,
passwords. The CSRF token is checked once for every POST (backoffice.pages); text goes through
domain.text's rules when the domain gets it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from widget_server.domain.accounts.admins import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


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
