"""A fake SMTP server that the real `smtplib` client talks to over a real socket.

    with FakeSMTPServer() as server:
        settings.smtp_url = server.url
        ...
        assert server.messages[0].message["Subject"] == "..."

It speaks enough of RFC 5321 for a mail client: EHLO/HELO, MAIL FROM, RCPT TO, DATA (with dot
unstuffing), RSET, NOOP, QUIT and, when built with `credentials`, AUTH PLAIN (required before
MAIL). It advertises no STARTTLS, so clients stay in clear text. Tests can make it refuse:
`rcpt_reply` / `data_reply` set a (code, text) answer for RCPT TO / the end of DATA, and
`data_delay` holds the answer to DATA for that many seconds. Standard library only (smtpd and
asyncore are gone from Python).
"""

from __future__ import annotations

import base64
import binascii
import re
import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from urllib.parse import quote

__all__ = ["FakeSMTPServer", "ReceivedMessage"]

HOSTNAME = "fake-smtp.test"
_MAIL_FROM = re.compile(r"^MAIL FROM:\s*<([^>]*)>", re.IGNORECASE)
_RCPT_TO = re.compile(r"^RCPT TO:\s*<([^>]+)>", re.IGNORECASE)
MAX_LINE = 65536


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated_as: str | None = None

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)


@dataclass
class _Session:
    greeted: bool = False
    user: str | None = None
    mail_from: str | None = None
    rcpt_tos: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.mail_from, self.rcpt_tos = None, []


class _Handler(socketserver.StreamRequestHandler):
    timeout = 10
    server: _Server

    def reply(self, code: int, text: str) -> None:
        self.wfile.write(f"{code} {text}\r\n".encode())

    def read_line(self) -> str | None:
        line = self.rfile.readline(MAX_LINE)
        return line.decode("utf-8", "replace").rstrip("\r\n") if line else None

    def handle(self) -> None:
        fake = self.server.fake
        state = _Session()
        self.reply(220, f"{HOSTNAME} ESMTP fake ready")
        while (line := self.read_line()) is not None:
            verb = line.split(" ", 1)[0].upper()
            argument = line[len(verb) :].strip()
            if verb == "QUIT":
                self.reply(221, "bye")
                return
            handler = getattr(self, f"do_{verb.lower()}", None)
            if handler is None:
                self.reply(500, f"command {verb!r} not recognised")
            else:
                handler(fake, state, argument)

    def do_ehlo(self, fake: FakeSMTPServer, state: _Session, argument: str) -> None:
        state.greeted = True
        state.reset()
        lines = [f"{HOSTNAME} hello {argument or 'there'}", "8BITMIME", "SIZE 10485760"]
        if fake.credentials:
            lines.append("AUTH PLAIN")
        lines.append("HELP")
        for line in lines[:-1]:
            self.wfile.write(f"250-{line}\r\n".encode())
        self.reply(250, lines[-1])

    def do_helo(self, fake: FakeSMTPServer, state: _Session, argument: str) -> None:
        state.greeted = True
        state.reset()
        self.reply(250, HOSTNAME)

    def do_noop(self, fake: FakeSMTPServer, state: _Session, argument: str) -> None:
        self.reply(250, "OK")

    def do_rset(self, fake: FakeSMTPServer, state: _Session, argument: str) -> None:
        state.reset()
        self.reply(250, "OK")

    def do_auth(self, fake: FakeSMTPServer, state: _Session, argument: str) -> None:
        mechanism, _, initial = argument.partition(" ")
        if not fake.credentials or mechanism.upper() != "PLAIN":
            self.reply(504, "5.5.4 unrecognised authentication type")
            return
        if state.user is not None:
            self.reply(503, "5.5.1 already authenticated")
            return
        if not initial:
            self.reply(334, "")
            initial = self.read_line() or ""
        try:
            _authzid, user, password = base64.b64decode(initial, validate=True).split(b"\0")
        except (binascii.Error, ValueError):
            self.reply(501, "5.5.2 cannot decode the response")
            return
        if (user.decode(), password.decode()) != fake.credentials:
            self.reply(535, "5.7.8 authentication credentials invalid")
            return
        state.user = user.decode()
        self.reply(235, "2.7.0 authentication successful")

    def do_mail(self, fake: FakeSMTPServer, state: _Session, argument: str) -> None:
        match = _MAIL_FROM.match(f"MAIL {argument}")
        if not state.greeted:
            self.reply(503, "5.5.1 say EHLO first")
        elif fake.credentials and state.user is None:
            self.reply(530, "5.7.0 authentication required")
        elif match is None:
            self.reply(501, "5.5.4 syntax: MAIL FROM:<address>")
        elif state.mail_from is not None:
            self.reply(503, "5.5.1 nested MAIL command")
        else:
            state.mail_from = match.group(1)
            self.reply(250, "2.1.0 OK")

    def do_rcpt(self, fake: FakeSMTPServer, state: _Session, argument: str) -> None:
        match = _RCPT_TO.match(f"RCPT {argument}")
        if state.mail_from is None:
            self.reply(503, "5.5.1 need MAIL before RCPT")
        elif match is None:
            self.reply(501, "5.5.4 syntax: RCPT TO:<address>")
        elif fake.rcpt_reply is not None:
            self.reply(*fake.rcpt_reply)
        else:
            state.rcpt_tos.append(match.group(1))
            self.reply(250, "2.1.5 OK")

    def do_data(self, fake: FakeSMTPServer, state: _Session, argument: str) -> None:
        if state.mail_from is None or not state.rcpt_tos:
            self.reply(503, "5.5.1 need MAIL and RCPT before DATA")
            return
        self.reply(354, "end data with <CR><LF>.<CR><LF>")
        lines = []
        while True:
            raw = self.rfile.readline(MAX_LINE)
            if not raw:
                return  # the client went away mid-message: nothing is delivered
            if raw in (b".\r\n", b".\n"):
                break
            lines.append(raw[1:] if raw.startswith(b"..") else raw)
        if fake.data_delay:
            time.sleep(fake.data_delay)
        if fake.data_reply is not None:
            self.reply(*fake.data_reply)
        else:
            fake.receive(
                ReceivedMessage(state.mail_from, state.rcpt_tos, b"".join(lines), state.user)
            )
            self.reply(250, f"2.0.0 OK queued as {len(fake.messages)}")
        state.reset()


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    fake: FakeSMTPServer


class FakeSMTPServer:
    """An SMTP server on a free loopback port, in a background thread, while in `with`."""

    def __init__(self, *, credentials: tuple[str, str] | None = None):
        self.credentials = credentials
        self.rcpt_reply: tuple[int, str] | None = None
        self.data_reply: tuple[int, str] | None = None
        self.data_delay = 0.0
        self.messages: list[ReceivedMessage] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """An SMTP_URL for this server, with its credentials if it has some."""
        if self.credentials:
            user, password = (quote(part, safe="") for part in self.credentials)
            return f"smtp://{user}:{password}@127.0.0.1:{self.port}"
        return f"smtp://127.0.0.1:{self.port}"

    def receive(self, message: ReceivedMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def __enter__(self) -> FakeSMTPServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
