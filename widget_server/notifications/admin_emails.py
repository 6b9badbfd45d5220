"""Emails to console admins: a password reset link and a team invite, in the admin's language.

The link is signed here, at send time (domain.accounts.password_links.password_token), so the
outbox row holds only the admin's id: a leaked outbox never gives anyone a working link.
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from widget_server.domain.accounts.password_links import LINK_LIFETIMES, password_token
from widget_server.domain.notify import ADMIN_EMAIL_PURPOSES
from widget_server.models import AdminUser, OutboundEmail
from widget_server.notifications.errors import Undeliverable
from widget_server.notifications.render import RenderedEmail, _tidy_text, email_locale


def password_link(admin: AdminUser, purpose: str) -> str:
    """The address where `admin` sets a password with a `purpose` link: on the console for a
    partner's people, on the operator portal for an operator's."""
    settings = current_app.config["SETTINGS"]
    token = password_token(settings.secret_key, admin, purpose)
    face = "operator" if admin.operator_id is not None else "admin"
    return f"{settings.public_base_url}/{face}/password/{purpose}/{token}"


def render_admin_email(email: OutboundEmail, admin: AdminUser | None) -> RenderedEmail:
    """The console email `email` for `admin`. Needs an app context."""
    if admin is None:
        raise Undeliverable("the admin this email is for no longer exists")
    purpose = ADMIN_EMAIL_PURPOSES[email.kind]
    locale = email_locale(email.locale)
    hours = int(LINK_LIFETIMES[purpose].total_seconds() // 3600)
    with force_locale(locale):
        context = {
            "lang": locale,
            "partner_name": admin.tenant.name,
            "operator": admin.operator_id is not None,
            "link": password_link(admin, purpose),
            "hours": hours,
            "invited_by": (email.context or {}).get("invited_by"),
            "role": admin.role,
        }
        name = admin.tenant.name
        if email.kind == "admin_invite" and context["operator"]:
            subject = _("You are invited to the %(operator)s operator portal", operator=name)
        elif email.kind == "admin_invite":
            subject = _("You are invited to the %(partner)s console", partner=name)
        elif context["operator"]:
            subject = _("Reset your %(operator)s operator portal password", operator=name)
        else:
            subject = _("Reset your %(partner)s console password", partner=name)
        context["subject"] = subject
        name = email.kind.removeprefix("admin_")
        text = render_template(f"admin/emails/{name}.txt", **context)
        html = render_template(f"admin/emails/{name}.html", **context)
    return RenderedEmail(subject=subject, text=_tidy_text(text), html=html, locale=locale)
