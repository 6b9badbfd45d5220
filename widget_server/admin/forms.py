"""Console forms (Flask-WTF). The CSRF token is checked once for every POST in admin/__init__;
text goes through domain.text's rules when the domain gets it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from widget_server.backoffice.forms import (  # noqa: F401  (the console's forms, shared)
    ChangePasswordForm,
    CodeForm,
    ConfirmedChangeForm,
    ConsoleForm,
    ForgotPasswordForm,
    NewPasswordForm,
    SetUpCodeForm,
    SignInForm,
)
from widget_server.models.admins import ADMIN_ROLES

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
