"""A fake Stripe API server that the official `stripe` library talks to over real HTTP.

    with FakeStripe() as fake:
        client = stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url})
        client.v1.customers.create(params={"email": "fan@example.com"})

Connect is there too: Express accounts, account links and transfers (tests.fakes.stripe_connect).
It speaks Stripe's v1 wire protocol: form bodies in bracket notation, Stripe-shaped JSON objects
and error envelopes, `Request-Id` headers and Stripe's idempotency rules (same key and same
request -> the stored response, replayed with `Idempotent-Replayed: true`; same key and another
request -> 400 idempotency_error; a request arriving while another with the same key is still
being performed -> 409 idempotency_error, not stored). Requests are served concurrently, as
Stripe serves them: only the account state is guarded by a lock, held while one endpoint runs,
and `processing_seconds` makes each request take that long outside it. Declines are stored and
replayed like any answer; injected faults (`fail_next`) are not, so a retry after one can
succeed. Test cards behave as in Stripe test mode (see tests.fakes.stripe_state.TEST_CARDS).
Standard library only.
"""

from __future__ import annotations

import base64
import collections
import copy
import json
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.stripe_state import OUTCOMES, TEST_CARDS, StripeState
from tests.fakes.stripe_wire import StripeError, new_id, now, parse_form, sign_stripe_payload

__all__ = ["FakeStripe", "TEST_CARDS", "sign_stripe_payload"]

DEFAULT_API_VERSION = "2025-06-30.basil"
_ANY = {"expand"}
_LIST = _ANY | {"limit", "starting_after", "ending_before", "created", "customer", "email"}
_CUSTOMER = _ANY | {
    "email", "name", "description", "phone", "metadata", "payment_method", "invoice_settings",
    "address", "preferred_locales",
}  # fmt: skip
_SETUP_CONFIRM = _ANY | {"payment_method", "return_url", "mandate_data", "use_stripe_sdk"}
_SETUP_CREATE = _SETUP_CONFIRM | {
    "customer", "usage", "confirm", "payment_method_types", "metadata", "description",
    "automatic_payment_methods", "payment_method_options", "single_use",
}  # fmt: skip
_PI_CONFIRM = _ANY | {
    "payment_method", "off_session", "return_url", "error_on_requires_action",
    "setup_future_usage", "receipt_email", "mandate_data", "payment_method_options",
}  # fmt: skip
_PI_CREATE = _PI_CONFIRM | {
    "amount", "currency", "customer", "confirm", "metadata", "capture_method", "description",
    "payment_method_types", "statement_descriptor", "statement_descriptor_suffix",
    "automatic_payment_methods", "transfer_group", "confirmation_method",
}  # fmt: skip
_REFUND = _ANY | {"payment_intent", "amount", "metadata", "reason"}
_ACCOUNT = _ANY | {
    "type", "country", "email", "capabilities", "business_type", "business_profile", "metadata",
    "controller", "default_currency", "settings", "tos_acceptance",
}  # fmt: skip
_ACCOUNT_LINK = _ANY | {"account", "type", "refresh_url", "return_url", "collect"}
_TRANSFER = _ANY | {
    "amount", "currency", "destination", "metadata", "description", "transfer_group",
    "source_transaction", "source_type",
}  # fmt: skip

Handler = Callable[..., dict]
_ROUTES: list[tuple[str, re.Pattern, Handler, set[str]]] = []


def _route(method: str, template: str, allowed: set[str]):
    pattern = re.compile("^" + template.replace("{id}", "([^/]+)") + "$")

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, pattern, handler, allowed))
        return handler

    return register


# Each handler is called as handler(state, params, *ids_from_the_path).
_route("POST", "/v1/customers", _CUSTOMER)(lambda s, p: s.create_customer(p))
_route("GET", "/v1/customers", _LIST)(lambda s, p: s.list_customers(p))
_route("GET", "/v1/customers/{id}", _ANY)(lambda s, p, i: s.customer(i))
_route("POST", "/v1/customers/{id}", _CUSTOMER)(lambda s, p, i: s.update_customer(i, p))
_route("GET", "/v1/payment_methods/{id}", _ANY)(lambda s, p, i: s.payment_method(i, param=None))
_route("POST", "/v1/payment_methods/{id}/attach", _ANY | {"customer"})(
    lambda s, p, i: s.attach_payment_method(i, p)
)
_route("POST", "/v1/setup_intents", _SETUP_CREATE)(lambda s, p: s.create_setup_intent(p))
_route("GET", "/v1/setup_intents/{id}", _ANY | {"client_secret"})(lambda s, p, i: s.setup_intent(i))
_route("POST", "/v1/setup_intents/{id}/confirm", _SETUP_CONFIRM)(
    lambda s, p, i: s.confirm_setup_intent(i, p)
)
_route("POST", "/v1/payment_intents", _PI_CREATE)(lambda s, p: s.create_payment_intent(p))
_route("GET", "/v1/payment_intents", _LIST)(lambda s, p: s.list_payment_intents(p))
_route("GET", "/v1/payment_intents/{id}", _ANY | {"client_secret"})(
    lambda s, p, i: s.payment_intent(i)
)
_route("POST", "/v1/payment_intents/{id}/confirm", _PI_CONFIRM)(
    lambda s, p, i: s.confirm_payment_intent(i, p)
)
_route("POST", "/v1/payment_intents/{id}/cancel", _ANY | {"cancellation_reason"})(
    lambda s, p, i: s.cancel_payment_intent(i, p)
)
_route("POST", "/v1/payment_intents/{id}/capture", _ANY | {"amount_to_capture", "metadata"})(
    lambda s, p, i: s.capture_payment_intent(i, p)
)
_route("POST", "/v1/refunds", _REFUND)(lambda s, p: s.create_refund(p))
_route("GET", "/v1/refunds/{id}", _ANY)(lambda s, p, i: s.refund(i))
# Connect (tests.fakes.stripe_connect)
_route("POST", "/v1/accounts", _ACCOUNT)(lambda s, p: s.create_account(p))
_route("GET", "/v1/accounts/{id}", _ANY)(lambda s, p, i: s.account(i))
_route("POST", "/v1/account_links", _ACCOUNT_LINK)(lambda s, p: s.create_account_link(p))
_route("POST", "/v1/transfers", _TRANSFER)(lambda s, p: s.create_transfer(p))
_route("GET", "/v1/transfers", _LIST | {"destination", "transfer_group"})(
    lambda s, p: s.list_transfers(p)
)
_route("GET", "/v1/transfers/{id}", _ANY)(lambda s, p, i: s.transfer(i))


@dataclass
class _Fault:
    kind: str  # "fail", "delay" or "drop"
    remaining: int
    path: str | None
    status: int = 500
    seconds: float = 0.0
    should_retry: bool | None = None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class _Stored:
    request: tuple[str, str, Any]  # (method, path, params) it answered
    answer: _Answer
    request_id: str


class FakeStripe:
    """A Stripe API on 127.0.0.1 (a free port), with fault injection and inspection helpers."""

    def __init__(
        self,
        api_key: str = "sk_test_fake_ridepledge",
        *,
        requests_per_second: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        """`requests_per_second` limits the API as live Stripe does (100 in live mode): a
        request beyond that many within the last second is answered 429 and not performed.
        `host`: the address to listen on (the topology test's bridge address)."""
        self.api_key = api_key
        self.host = host
        self.requests_per_second = requests_per_second
        self.rate_limited = 0  # requests answered 429 by the rate limit
        self._recent: collections.deque[float] = collections.deque()
        self.api_version = DEFAULT_API_VERSION
        self.server_errors: list[str] = []  # tracebacks of bugs in the fake itself
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        # How long Stripe takes to perform each request (outside any lock), so that requests
        # overlap as they do against the real API.
        self.processing_seconds = 0.0
        # Set to an unset threading.Event, requests wait for it (outside any lock) before they
        # are performed: a test holds them there until it has seen what it needs overlap with.
        self.gate: threading.Event | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        handler = type("FakeStripeHandler", (_Handler,), {"fake": self})
        self._server = _Server((self.host, 0), handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-stripe", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self.wait_idle(timeout=5)
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeStripe is not started"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Forget every object, request, stored idempotent answer, fault and override."""
        with self._lock:
            self._state = StripeState()
            self._requests: list[dict] = []
            self._idempotent: dict[str, _Stored] = {}
            self._performing: set[str] = set()  # keys whose first request is under way
            self._faults: list[_Fault] = []

    def performing(self) -> set[str]:
        """The idempotency keys whose first request is being performed right now."""
        with self._lock:
            return set(self._performing)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being handled (e.g. a delayed one still sleeping)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    # Behaviour and faults ----------------------------------------------------------------

    def set_charge_outcome(self, pm_id: str, outcome: str) -> None:
        """Make charges on `pm_id` (a pm_... id, or a test token for every card made from it)
        "succeed", "decline", "insufficient_funds" or need "authentication_required"."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        with self._lock:
            self._state.charge_overrides[pm_id] = outcome

    def fail_next(
        self, n: int = 1, status: int = 500, path: str | None = None, should_retry=None
    ) -> None:
        """Answer the next `n` requests (under `path`) with `status` without performing them.
        429 comes with `Retry-After`; `should_retry` sets `Stripe-Should-Retry`."""
        self._add_fault(_Fault("fail", n, path, status=status, should_retry=should_retry))

    def delay_next(self, n: int = 1, seconds: float = 1.0, path: str | None = None) -> None:
        """Sleep `seconds` before performing the next `n` requests (client timeouts); the
        operation still happens, as when a response is lost."""
        self._add_fault(_Fault("delay", n, path, seconds=seconds))

    def drop_next(self, n: int = 1, path: str | None = None) -> None:
        """Perform the next `n` requests, then close the connection without answering."""
        self._add_fault(_Fault("drop", n, path))

    def _over_rate_limit(self) -> bool:
        """A sliding one-second window over the requests performed."""
        if not self.requests_per_second:
            return False
        with self._lock:
            moment = time.monotonic()
            while self._recent and self._recent[0] <= moment - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.requests_per_second:
                self.rate_limited += 1
                return True
            self._recent.append(moment)
            return False

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, kind: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                wanted = fault.path is None or path.startswith(fault.path)
                if fault.kind == kind and fault.remaining > 0 and wanted:
                    fault.remaining -= 1
                    return fault
        return None

    # Inspection --------------------------------------------------------------------------

    @property
    def requests(self) -> list[dict]:
        """Every request seen: method, path, params, idempotency_key, status, replayed."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def customers(self) -> dict[str, dict]:
        return self._snapshot("customers")

    @property
    def payment_methods(self) -> dict[str, dict]:
        return self._snapshot("payment_methods")

    @property
    def setup_intents(self) -> dict[str, dict]:
        return self._snapshot("setup_intents")

    @property
    def payment_intents(self) -> dict[str, dict]:
        return self._snapshot("payment_intents")

    @property
    def refunds(self) -> dict[str, dict]:
        return self._snapshot("refunds")

    @property
    def accounts(self) -> dict[str, dict]:
        return self._snapshot("accounts")

    @property
    def account_links(self) -> list[dict]:
        """Every account link made, with the account, type and URLs it was asked for."""
        return self._snapshot("account_links")

    @property
    def transfers(self) -> dict[str, dict]:
        return self._snapshot("transfers")

    def complete_onboarding(self, account_id: str) -> dict:
        """Finish an account's hosted onboarding, as the account holder would on Stripe."""
        with self._lock:
            return copy.deepcopy(self._state.complete_onboarding(account_id))

    def _snapshot(self, name: str):
        with self._lock:
            return copy.deepcopy(getattr(self._state, name))

    def succeeded_charges(self, customer: str | None = None) -> list[dict]:
        """PaymentIntents with status succeeded (for `customer` when given)."""
        return [
            pi
            for pi in self.payment_intents.values()
            if pi["status"] == "succeeded" and customer in (None, pi["customer"])
        ]

    def total_captured(self, customer: str | None = None) -> int:
        """Money received (smallest currency unit), before refunds."""
        return sum(pi["amount_received"] for pi in self.succeeded_charges(customer))

    def total_refunded(self, customer: str | None = None) -> int:
        intents = {pi["id"] for pi in self.succeeded_charges(customer)}
        return sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] in intents)

    # Webhooks ----------------------------------------------------------------------------

    def event_for(self, obj: dict, type: str, previous_attributes: dict | None = None) -> dict:
        """A Stripe Event wrapping `obj`, e.g. event_for(pi, "payment_intent.succeeded")."""
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        return {
            "id": new_id("evt"),
            "object": "event",
            "api_version": self.api_version,
            "created": now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }

    # Request handling (called from server threads) ---------------------------------------

    def _handle(self, method: str, raw_path: str, headers, body: bytes) -> _Answer | None:
        """The answer to one request, or None to drop the connection without one."""
        url = urlsplit(raw_path)
        request_id = new_id("req")[:18]
        key = headers.get("Idempotency-Key") if method == "POST" else None
        record = {"method": method, "path": url.path, "params": {}, "idempotency_key": key}
        with self._lock:
            self._requests.append(record)
            self._in_flight += 1
            self.api_version = headers.get("Stripe-Version") or self.api_version
        try:
            try:
                record["params"] = parse_form(body.decode() if method == "POST" else url.query)
                self._authenticate(headers.get("Authorization", ""))
                if self._over_rate_limit():
                    raise StripeError.fault(429)
                if fault := self._take_fault("fail", url.path):
                    raise StripeError.fault(fault.status, fault.should_retry)
            except StripeError as error:
                answer = _answer(error.status, error.body, error.headers)
            else:
                if fault := self._take_fault("delay", url.path):
                    time.sleep(fault.seconds)
                answer = self._perform(method, url.path, record["params"], key, request_id)
            with self._lock:
                record.update(
                    status=answer.status, replayed="Idempotent-Replayed" in answer.headers
                )
            if self._take_fault("drop", url.path):
                return None
            extra = {"Request-Id": request_id, "Stripe-Version": self.api_version}
            if key:
                extra["Idempotency-Key"] = key
            return _Answer(answer.status, answer.body, {**answer.headers, **extra})
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _authenticate(self, authorization: str) -> None:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "basic":
            credential = base64.b64decode(credential).decode(errors="replace").partition(":")[0]
        elif scheme.lower() != "bearer":
            credential = ""
        if not credential:
            message = (
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY')."
            )
            raise StripeError.invalid(message, status=401)
        if not credential.startswith("sk_test_"):
            hidden = credential[:8] + "*" * max(len(credential) - 12, 0) + credential[-4:]
            raise StripeError.invalid(f"Invalid API Key provided: {hidden}", status=401)

    def _perform(self, method, path, params, key, request_id) -> _Answer:
        """Run the endpoint with Stripe's idempotency semantics: a stored answer is replayed; a
        second request while the first with its key is still being performed gets 409."""
        with self._lock:
            stored = self._idempotent.get(key) if key else None
            if stored is not None:
                if stored.request != (method, path, params):
                    message = (
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request."
                    )
                    error = {"type": "idempotency_error", "message": message}
                    return _answer(400, {"error": error})
                replay = {"Idempotent-Replayed": "true", "Original-Request": stored.request_id}
                return _Answer(
                    stored.answer.status, stored.answer.body, {**stored.answer.headers, **replay}
                )
            if key in self._performing:
                return _answer(409, _in_use(key))
            if key:
                self._performing.add(key)
        try:
            if self.processing_seconds:
                time.sleep(self.processing_seconds)
            if self.gate is not None:
                self.gate.wait(timeout=60)
            with self._lock:  # the account's state, for the time one endpoint runs
                try:
                    answer, keep = _answer(200, self._dispatch(method, path, params)), True
                except StripeError as error:
                    answer, keep = _answer(error.status, error.body, error.headers), error.stored
                except Exception:
                    self.server_errors.append(traceback.format_exc())
                    answer, keep = _answer(500, StripeError.fault(500).body), False
                if key and keep:
                    self._idempotent[key] = _Stored((method, path, params), answer, request_id)
            return answer
        finally:
            if key:
                with self._lock:
                    self._performing.discard(key)

    def _dispatch(self, method: str, path: str, params: dict) -> dict:
        for route_method, pattern, handler, allowed in _ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                for name in params:
                    if name not in allowed:
                        raise StripeError.invalid(f"Received unknown parameter: {name}", param=name)
                return copy.deepcopy(handler(self._state, params, *match.groups()))
        raise StripeError.invalid(
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            status=404,
        )


def _in_use(key: str) -> dict:
    """Stripe's answer to a request sent while another with the same key is in progress."""
    message = (
        "There is currently another in-progress request using this Idempotent Key (that "
        "probably means you submitted twice, and the other request is still going through): "
        f"{key}. Please try again later."
    )
    return {
        "error": {"type": "idempotency_error", "code": "idempotency_key_in_use", "message": message}
    }


def _answer(status: int, body: dict, headers: dict | None = None) -> _Answer:
    return _Answer(status, json.dumps(body, indent=2).encode(), dict(headers or {}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeStripe

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (timeout) makes writing fail; anything else is a bug to report.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            self.fake.server_errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeStripe/1.0"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (~40 ms per request on keep-alive connections). Stripe has no such
    # stall, so neither does the fake.
    disable_nagle_algorithm = True
    timeout = 30  # idle keep-alive connections do not hold a thread forever
    fake: FakeStripe

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.fake._handle(method, self.path, self.headers, body)
        if answer is None:
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            for name, value in {**answer.headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except ConnectionError:  # the client gave up waiting (a timeout): nobody to answer
            self.close_connection = True

    def log_message(self, format: str, *args) -> None:
        """Quiet: tests assert on `FakeStripe.requests` instead."""
