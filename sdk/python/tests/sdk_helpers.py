"""Test helpers: credentials, fans pledging through the widget API, and a flaky proxy."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

from widget_server.domain.clients import create_client
from widget_server.domain.scopes import SCOPES
from widget_server.extensions import db
from widget_server.models import Partner

ALL_SCOPES = " ".join(SCOPES)
SKIPPED_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "date",
    "server",
}


def new_credentials(app, partner_id: str, scope: str = ALL_SCOPES) -> tuple[str, str]:
    """A new API client of the partner (through the domain function, as the CLI does)."""
    with app.app_context(), db.transaction() as session:
        client, secret = create_client(
            session, session.get(Partner, partner_id), scope, "sdk tests", actor="test"
        )
        return client.id, secret


def soon(**delta) -> datetime:
    """An aware datetime relative to now."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(**delta)


def new_event(sdk, **fields):
    values = {
        "title": "Chiefs vs. Raiders",
        "venue": "Arrowhead Stadium",
        "starts_at": soon(days=30),
        "timezone": "America/Chicago",
    }
    values.update(fields)
    return sdk.events.create(**values)


def new_trip(sdk, event, **fields):
    first = event.starts_at - timedelta(hours=5)
    values = {
        "event_id": event.id,
        "origin": {"name": "Wichita", "region": "KS"},
        "stops": [
            {"name": "Union Station", "address": "701 E Douglas Ave", "departs_at": first},
            {"name": "Mall", "address": "2 Oak Rd", "departs_at": first + timedelta(minutes=30)},
        ],
        "capacity": 10,
        "min_riders": 3,
        "unit_amount": 3500,
        "pledge_deadline": soon(days=10),
        "operator": {"name": "Coach Co", "phone": "+1 816 555 0100", "email": "ops@coach.example"},
    }
    values.update(fields)
    return sdk.trips.create(**values)


def fan_pledges(base_url: str, trip, stop_index=0, seats=1, name="Pat Fan", email=None) -> dict:
    """A fan pledges through the widget API, as the embedded widget does."""
    response = requests.post(
        f"{base_url}/w/kc-chiefs/api/trips/{trip.id}/pledges",
        json={
            "stop_id": trip.stops[stop_index].id,
            "seats": seats,
            "name": name,
            "email": email or f"{name.split()[0].lower()}@example.com",
            "payment_method": "pm_card_visa",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["pledge"]


_fan_addresses = itertools.count(1)


def fan_asks_for_trip(base_url: str, event_id: str, origin: str, email: str) -> None:
    """A fan asks, each from an address of their own (demand counts requesting networks):
    any address in 127.0.0.0/8 is ours to send from."""
    host, port = base_url.removeprefix("http://").split(":")
    source = f"127.0.4.{next(_fan_addresses) % 250 + 1}"
    connection = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    try:
        body = json.dumps({"event_id": event_id, "origin": origin, "email": email})
        connection.request(
            "POST", "/w/kc-chiefs/api/demand", body, {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        assert response.status == 201, response.read()
    finally:
        connection.close()


@dataclass
class Seen:
    """A request the proxy got, and what it did with it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    action: str


@dataclass
class Rule:
    method: str | None
    path_prefix: str
    actions: list[str] = field(default_factory=list)


class FlakyProxy:
    """An HTTP proxy in front of `target` that misbehaves on a script, then passes through.

    `plan(method, path_prefix, *actions)` queues actions for matching requests, one per
    request, in order. Actions:

    - ``"drop"``: close the connection without answering (the request never reaches the server)
    - ``"drop-after"``: forward it, then close without answering (the server did the work, the
      answer is lost)
    - ``"slow:SECONDS"``: forward it, then wait before answering (a client timeout)
    - ``"503"``, ``"500"``, ``"401"`` ...: answer that status with a problem body
    - ``"429:SECONDS"``: answer 429 with ``Retry-After: SECONDS``
    - ``"409:CODE"``: answer a 409 problem of type ``.../CODE``
    - ``"delay:SECONDS"``: wait, then forward and answer normally
    """

    def __init__(self, target: str) -> None:
        self.target = urlsplit(target)
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                action = proxy._next_action(self.command, path)
                with proxy._lock:
                    proxy.seen.append(
                        Seen(
                            self.command,
                            path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            action,
                        )
                    )
                with contextlib.suppress(OSError):  # the client gave up (timeout tests)
                    proxy._act(self, action, body)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815 (http.server names)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False  # stop() waits for requests in flight
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def plan(self, method: str | None, path_prefix: str, *actions: str) -> None:
        with self._lock:
            self.rules.append(Rule(method, path_prefix, list(actions)))

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                seen
                for seen in self.seen
                if seen.path.startswith(path_prefix) and method in (None, seen.method)
            ]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_action(self, method: str, path: str) -> str:
        with self._lock:
            for rule in self.rules:
                matches = method == (rule.method or method) and path.startswith(rule.path_prefix)
                if rule.actions and matches:
                    return rule.actions.pop(0)
        return "pass"

    def _act(self, handler: BaseHTTPRequestHandler, action: str, body: bytes) -> None:
        kind, _, argument = action.partition(":")
        if kind == "drop":
            handler.close_connection = True
            return
        if kind == "delay":
            time.sleep(float(argument))
        if kind in ("pass", "delay", "drop-after", "slow"):
            status, headers, payload = self._forward(handler, body)
            if kind == "drop-after":
                handler.close_connection = True
                return
            if kind == "slow":
                time.sleep(float(argument))
            self._answer(handler, status, headers, payload)
            return
        status = int(kind)
        problem_type = argument if status == 409 else f"http-{status}"
        problem = {
            "type": f"https://docs.ridepledge.dev/problems/{problem_type}",
            "title": f"Proxy says {status}",
            "status": status,
            "detail": "scripted by the flaky proxy",
            "request_id": "req_proxy",
        }
        headers = {"Content-Type": "application/problem+json"}
        if status == 429:
            headers["Retry-After"] = argument or "0"
        self._answer(handler, status, headers, json.dumps(problem).encode())

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes):
        connection = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in SKIPPED_HEADERS}
            connection.request(handler.command, handler.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            answer_headers = {
                k: v for k, v in response.getheaders() if k.lower() not in SKIPPED_HEADERS
            }
            return response.status, answer_headers, payload
        finally:
            connection.close()

    @staticmethod
    def _answer(handler, status: int, headers: dict[str, str], payload: bytes) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


class Receiver:
    """A webhook receiver on a free port that answers every POST with `status`."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
