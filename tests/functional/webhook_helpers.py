"""Shared by the webhook tests: a real HTTP receiver on 127.0.0.1, the `receivers` and
`partner_id` fixtures, and helpers to add endpoints, pledge, pass time and verify requests."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import (
    Partner,
    WebhookDelivery,
)
from widget_server.models.types import utcnow
from widget_server.webhooks import endpoints


class Receiver:
    """A partner's webhook server: answers from a script (status codes, then `default`), can
    stall, and records every request it got with the status it answered."""

    def __init__(self, answers=(), default=200, stall_first: float = 0.0, body=None, port=0):
        self.body = body
        self.answers = list(answers)
        self.default = default
        self.stall_first = stall_first
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                    stall = receiver.stall_first if not receiver.requests else 0.0
                    receiver.requests.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "status": status,
                            "path": self.path,
                        }
                    )
                if stall:
                    time.sleep(stall)
                answer = receiver.body or json.dumps({"answered": status}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up waiting (timeout tests)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks/ridepledge"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def ids(self, status: int | None = None) -> list[str]:
        return [
            request["headers"]["webhook-id"]
            for request in self.requests
            if status is None or request["status"] == status
        ]

    def types(self) -> list[str]:
        return [json.loads(request["body"])["type"] for request in self.requests]


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def partner_id(app):
    with app.app_context(), db.transaction() as session:
        return make_partner(session, "kc-chiefs").id


def add_endpoint(app, partner_id, url, events=("*",)) -> tuple[str, str]:
    """An endpoint through the domain function; returns (id, plaintext secret)."""
    checked = endpoints.checked_url(url, app.config["SETTINGS"])  # before the transaction
    with app.app_context(), db.transaction() as session:
        endpoint, secret = endpoints.create_endpoint(
            session,
            session.get(Partner, partner_id),
            url=checked,
            events=list(events),
            description="tests",
            settings=app.config["SETTINGS"],
            actor="test",
        )
        return endpoint.id, secret


def open_trip(app, partner_id, **fields) -> dict:
    with app.app_context(), db.transaction() as session:
        partner = session.get(Partner, partner_id)
        trip = make_trip(session, partner, **{"capacity": 6, "min_riders": 3, **fields})
        return {"id": trip.id, "stop": trip.stops[0].id, "slug": partner.slug}


def pledge(client, trip, email="pat@example.com", seats=1):
    response = client.post(
        f"/w/{trip['slug']}/api/trips/{trip['id']}/pledges",
        json={
            "stop_id": trip["stop"],
            "seats": seats,
            "name": "Pat Fan",
            "email": email,
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["pledge"]


def deliveries(app, endpoint_id=None) -> list[WebhookDelivery]:
    with app.app_context():
        query = select(WebhookDelivery).order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        if endpoint_id:
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        rows = list(db.session.scalars(query))
        for row in rows:
            _ = row.attempts, row.message  # loaded while the session is open
        return rows


def pass_time(app) -> None:
    """Every waiting delivery becomes due now (as if its wait were over); the sweep finds it."""
    with app.app_context(), db.transaction() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    with app.app_context():
        tasks.sweep()


def deliver_everything(app, rounds: int = 12) -> None:
    """Run jobs, let time pass, repeat, until no delivery is pending."""
    for _ in range(rounds):
        run_jobs(app)
        if not [row for row in deliveries(app) if row.status == "pending"]:
            return
        pass_time(app)
    raise AssertionError("deliveries still pending after every retry")


def verify(request: dict, *secrets: str) -> dict:
    """The body, verified with every given secret by the reference library."""
    payloads = [Webhook(secret).verify(request["body"], request["headers"]) for secret in secrets]
    return payloads[0]
