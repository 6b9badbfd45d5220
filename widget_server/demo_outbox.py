"""The demo's sent emails: `/demo/outbox` lists the `.eml` files the demo wrote under
`<INSTANCE_PATH>/outbox/` (no SMTP_URL: fan and admin emails are files), newest first, and
shows each one as text or as the HTML a fan would see.

Demo mode only (`ridepledge demo`): anywhere else these addresses are 404, whatever is in the
instance folder, since the emails hold fans' names and their manage links.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

from widget_server.security_headers import site_policy

bp = Blueprint("demo_outbox", __name__, url_prefix="/demo/outbox")
_EMAIL_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")  # transport.write_outbox's file names
LISTED = 200
# The HTML of an email is shown as the mail client would: its own styles and its images (data:
# URLs, the inline QR codes made so), no script, no form, sandboxed.
EMAIL_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox allow-popups "
    "allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
)


@dataclass(frozen=True)
class SentEmail:
    """One `.eml` file of the outbox, as listed."""

    id: str
    to: str
    subject: str
    sent_at: datetime


@bp.before_request
def _demo_only():
    if not current_app.config["SETTINGS"].demo_mode:
        abort(404)


def _outbox() -> Path:
    return current_app.config["SETTINGS"].instance_path / "outbox"


def _read(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def sent_emails(directory: Path, limit: int = LISTED) -> list[SentEmail]:
    """The newest `limit` emails written to `directory`."""
    files = sorted(directory.glob("*.eml"), key=lambda path: path.stat().st_mtime, reverse=True)
    emails = []
    for path in files[:limit]:
        message = _read(path)
        emails.append(
            SentEmail(
                id=path.stem,
                to=str(message["To"] or ""),
                subject=str(message["Subject"] or ""),
                sent_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
            )
        )
    return emails


def _email_or_404(email_id: str) -> EmailMessage:
    path = _outbox() / f"{email_id}.eml"
    if not _EMAIL_ID.match(email_id) or not path.is_file():
        abort(404)
    return _read(path)


@bp.get("")
def outbox():
    """Every email the demo sent, newest first."""
    emails = sent_emails(_outbox()) if _outbox().is_dir() else []
    page = render_template("demo_outbox/list.html", emails=emails, limit=LISTED)
    return page, 200, {"Content-Security-Policy": site_policy()}


@bp.get("/<email_id>")
def email(email_id: str):
    """One email: its headers and its text."""
    message = _email_or_404(email_id)
    text_part = message.get_body(preferencelist=("plain",))
    page = render_template(
        "demo_outbox/email.html",
        email_id=email_id,
        headers=[
            (name, str(message[name] or "")) for name in ("From", "To", "Reply-To", "Subject")
        ],
        text=text_part.get_content() if text_part is not None else "",
        has_html=message.get_body(preferencelist=("html",)) is not None,
    )
    return page, 200, {"Content-Security-Policy": site_policy()}


@bp.get("/<email_id>/html")
def email_html(email_id: str):
    """The HTML of one email, its inline images (`cid:`) turned into data: URLs."""
    message = _email_or_404(email_id)
    html_part = message.get_body(preferencelist=("html",))
    if html_part is None:
        abort(404)
    html = html_part.get_content()
    for part in message.walk():
        content_id = (part["Content-ID"] or "").strip("<>")
        if content_id and not part.is_multipart():
            data = base64.b64encode(part.get_content()).decode("ascii")
            html = html.replace(
                f"cid:{content_id}", f"data:{part.get_content_type()};base64,{data}"
            )
    return (
        html,
        200,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": EMAIL_HTML_POLICY,
        },
    )
