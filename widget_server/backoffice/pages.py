"""What every back-office page gets: the CSRF check on every POST (Flask-WTF), the headers of
private pages, and the pages for an expired form, a refused role and a missing object."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from widget_server.backoffice.faces import Face

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

PRIVATE_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self'; "
    "script-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


def message_page(title: str, detail: str, status: int, link=None):
    page = render_template("backoffice/message.html", title=title, detail=detail, link=link)
    return page, status


def guard(bp: Blueprint, face: Face) -> None:
    @bp.before_request
    def _check_csrf():
        """Every state-changing request carries the form's CSRF token (or X-CSRFToken)."""
        if request.method not in UNSAFE_METHODS:
            return None
        token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
        try:
            validate_csrf(token)
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None
        return None

    @bp.context_processor
    def _face():
        return {"face": face}

    @bp.errorhandler(CSRFError)
    def _csrf_refused(exc: CSRFError):
        return message_page(
            _("This form has expired"),
            _("Reload the page and try again. (The security token was missing or too old.)"),
            400,
        )

    @bp.after_request
    def _private_headers(response):
        """Back-office pages are private and never framed; the console's preview frames only
        our own widget."""
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", PRIVATE_PAGE_POLICY)
        return response

    @bp.errorhandler(403)
    def _forbidden(_exc):
        return message_page(
            _("Not allowed"), _("Your role cannot do this. Ask an owner of your team."), 403
        )

    @bp.errorhandler(404)
    def _not_found(_exc):
        return message_page(
            _("Not found"), _("There is nothing here, or it belongs to another team."), 404
        )
