"""`Client`: credentials, options and the resources of the partner API."""

from __future__ import annotations

import dataclasses
from typing import Any

import requests

from ridepledge._auth import TokenManager
from ridepledge._http import Options, Transport
from ridepledge.resources import (
    DemandResource,
    Events,
    PartnerResource,
    Pledges,
    Trips,
    WebhookDeliveries,
    WebhookEndpoints,
)

_OPTION_NAMES = {item.name for item in dataclasses.fields(Options)}


class Client:
    """A partner's connection to the RidePledge API.

    ```python
    with ridepledge.Client(CLIENT_ID, CLIENT_SECRET, "https://api.ridepledge.example") as client:
        for trip in client.trips.list(status="open"):
            print(trip.id, trip.seats_pledged)
    ```

    - `timeout`: seconds to wait for each answer (connect and read), default 30.
    - `max_retries`: retries after the first try on connection errors, timeouts, 408,
      429, 5xx and 409 ``idempotency-in-progress`` (default 2, so up to 3 tries).
    - `backoff_initial`, `backoff_max`: the first retry waits about `backoff_initial`
      seconds (0.5), each further one twice as long, at most `backoff_max` (8), with jitter.
    - `max_retry_after`: a `Retry-After` longer than this many seconds (60) is not waited for;
      the error is raised at once.
    - `token_refresh_margin`: fetch a new token this many seconds (60) before the old expires.
    - `scope`: ask for a token with only these scopes (space separated); default all of the
      client's scopes.
    - `http_session`: a `requests.Session` of yours (proxies, TLS settings); the client then
      leaves closing it to you.

    A client keeps no global state and is safe to share between threads. Close it (or use
    it as a context manager) to release its connections.
    """

    partner: PartnerResource
    events: Events
    trips: Trips
    pledges: Pledges
    demand: DemandResource
    webhook_endpoints: WebhookEndpoints
    webhook_deliveries: WebhookDeliveries

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_after: float = 60.0,
        token_refresh_margin: float = 60.0,
        scope: str | None = None,
        http_session: requests.Session | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        options = Options(
            timeout=timeout,
            max_retries=max_retries,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            max_retry_after=max_retry_after,
            token_refresh_margin=token_refresh_margin,
        )
        self._owns_session = http_session is None
        session = http_session if http_session is not None else requests.Session()
        self._setup(
            client_id,
            client_secret,
            base_url,
            scope,
            Transport(base_url, session, options),
            TokenManager(client_id, client_secret, scope),
        )

    def _setup(
        self,
        client_id: str,
        client_secret: str,
        base_url: str,
        scope: str | None,
        transport: Transport,
        tokens: TokenManager,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.base_url = transport.base_url
        self.scope = scope
        self._transport = transport
        self._tokens = tokens
        self.partner = PartnerResource(self)
        self.events = Events(self)
        self.trips = Trips(self)
        self.pledges = Pledges(self)
        self.demand = DemandResource(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.webhook_deliveries = WebhookDeliveries(self)

    @property
    def options(self) -> Options:
        """This client's timeouts, retry and token settings."""
        return self._transport.options

    def with_options(self, **changes: Any) -> Client:
        """A copy of this client with some settings changed, e.g.
        ``client.with_options(timeout=5, max_retries=0)``. Accepts the constructor's keyword
        arguments (and `client_id`, `client_secret`, `base_url`).

        The copy shares this client's connections, and its token while the credentials, base
        URL and scope stay the same. Closing the copy does nothing: close the original.
        """
        client_id = changes.pop("client_id", self.client_id)
        client_secret = changes.pop("client_secret", self._client_secret)
        base_url = changes.pop("base_url", self.base_url)
        scope = changes.pop("scope", self.scope)
        session = changes.pop("http_session", self._transport.session)
        unknown = set(changes) - _OPTION_NAMES
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        options = dataclasses.replace(self.options, **changes)
        tokens = self._tokens
        if base_url.rstrip("/") != self.base_url or not tokens.same_credentials(
            client_id, client_secret, scope
        ):
            tokens = TokenManager(client_id, client_secret, scope)
        copy = object.__new__(Client)
        copy._owns_session = False
        copy._setup(
            client_id, client_secret, base_url, scope, Transport(base_url, session, options), tokens
        )
        return copy

    def close(self) -> None:
        """Release the connection pool (if this client created it)."""
        if self._owns_session:
            self._transport.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(client_id={self.client_id!r}, base_url={self.base_url!r})"
