"""Getting a fan email out: the RFC 5322 message, then an SMTP server (`SMTP_URL`) or, without
one, an `.eml` file per email under `<INSTANCE_PATH>/outbox/` (development and the demo).

`SMTP_URL` forms: `smtp://user:pass@host:port` (STARTTLS whenever the server offers it) and
`smtps://user:pass@host:port` (TLS from the first byte). Credentials are optional and
percent-decoded; they are never sent over an unencrypted connection to a host that is not
this machine.
"""

from __future__ import annotations

import ipaddress
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from widget_server.models.types import utcnow
from widget_server.notifications.errors import Undeliverable

SMTP_TIMEOUT = 30  # seconds per network operation
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
FALLBACK_SENDER_DOMAIN = "ridepledge.local"
_SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# The stdlib SMTP policy, folding only lines past RFC 5322's hard limit of 998 characters.
# Folding at 78 would split a long quoted display name ("Fan, attacker@evil.example, xxx...")
# and drop its quotes (a CPython folder bug), so `To:` would re-parse as several recipients.
# Our longest header (a 200-character name and a 254-character address) fits on one line.
MESSAGE_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Envelope:
    """Who an email is from and to, beside its rendered content."""

    email_id: str
    to_name: str
    to_address: str
    partner_name: str
    reply_to: str | None
    locale: str


def sender_domain(public_base_url: str) -> str:
    """The host of PUBLIC_BASE_URL, or ridepledge.local when it is missing or an IP address."""
    host = urlsplit(public_base_url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host or FALLBACK_SENDER_DOMAIN
    return FALLBACK_SENDER_DOMAIN


def _one_line(value: str) -> str:
    """Header text on one line: user-supplied names and titles (subjects) never add or break
    headers (CR, LF and other whitespace runs become one space)."""
    return " ".join(value.split())


def compose(
    envelope: Envelope,
    *,
    subject: str,
    text: str,
    html: str,
    domain: str,
    images: dict[str, bytes] | None = None,
) -> EmailMessage:
    """The message: multipart/alternative (text, then html) with the headers fans' mail
    programs and auto-responders rely on. Raises Undeliverable for an unusable address.
    `images` (Content-ID -> PNG) go with the html as multipart/related parts."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    try:
        message["From"] = Address(
            _one_line(f"{envelope.partner_name} via RidePledge"), "no-reply", domain
        )
        message["To"] = Address(_one_line(envelope.to_name), addr_spec=envelope.to_address)
        if envelope.reply_to:
            message["Reply-To"] = Address(addr_spec=envelope.reply_to)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise Undeliverable(f"unusable address: {exc}") from exc
    message["Subject"] = _one_line(subject)
    message["Date"] = format_datetime(utcnow())
    # Stable per email: a re-sent email (after a crash) is recognisably the same message.
    message["Message-ID"] = f"<{envelope.email_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if images:
        html_part = message.get_payload()[1]
        for cid, png in images.items():
            html_part.add_related(png, "image", "png", cid=f"<{cid}>", filename=f"{cid}.png")
    message["Content-Language"] = envelope.locale  # after the body: set_content drops Content-*
    return message


def deliver(
    message: EmailMessage, email_id: str, *, smtp_url: str | None, instance_path: Path
) -> None:
    """Send `message` through SMTP_URL, or write it to the instance outbox when it is unset."""
    if smtp_url:
        send_smtp(parse_smtp_url(smtp_url), message)
    else:
        write_outbox(instance_path / "outbox", email_id, message)


def write_outbox(directory: Path, email_id: str, message: EmailMessage) -> Path:
    """Write `<directory>/<email_id>.eml` whole or not at all (temporary file, then rename)."""
    if not _SAFE_FILE_NAME.match(email_id):
        raise Undeliverable(f"{email_id!r} cannot be a file name")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{email_id}.eml"
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{email_id}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(message.as_bytes(policy=MESSAGE_POLICY))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or tracebacks


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:pass@host:port` or `smtps://...` as connection settings."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:pass@host:port or smtps://...")
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_authenticate(target: SmtpTarget, *, encrypted: bool) -> bool:
    """Credentials go only over TLS, or to this machine (a local relay, the test server)."""
    return encrypted or is_loopback(target.host)


def send_smtp(target: SmtpTarget, message: EmailMessage) -> None:
    """Hand `message` to the SMTP server. A recipient refused for good (5xx) raises
    Undeliverable; anything else (connection, 4xx, authentication) propagates for a retry."""
    context = ssl.create_default_context()
    if target.implicit_tls:
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT)
    with client:
        client.ehlo()
        encrypted = target.implicit_tls
        if not encrypted and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
            encrypted = True
        if target.username:
            if not may_authenticate(target, encrypted=encrypted):
                raise smtplib.SMTPNotSupportedError(
                    f"{target.host} offers no STARTTLS; credentials are not sent in clear text"
                )
            client.login(target.username, target.password or "")
        try:
            client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _reply in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise Undeliverable(f"recipient refused: {exc.recipients}") from exc
            raise
