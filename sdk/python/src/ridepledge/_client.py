"""`Client`: credentials, options and the resources of the partner API; `BaseClient`, what it
shares with `AsyncClient` (`_async_client.py`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Generic, Self, Unpack

import requests

from ridepledge._auth import TokenCache, TokenManager
from ridepledge._http import ClientOptions, Options
from ridepledge._sync import SyncAPI, SyncTransport
from ridepledge.resources import (
    RESOURCES,
    DemandResource,
    Events,
    Fans,
    PartnerResource,
    Pledges,
    Trips,
    WebhookDeliveries,
    WebhookEndpoints,
)
from ridepledge.resources._base import R, SyncRequester
from ridepledge.webhooks import construct_event

_OPTION_NAMES = {item.name for item in dataclasses.fields(Options)}


def check_base_url(base_url: str) -> None:
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")


class BaseClient(Generic[R]):
    """The resources and settings both clients have; `R` is how they send requests."""

    partner: PartnerResource[R]
    events: Events[R]
    trips: Trips[R]
    pledges: Pledges[R]
    demand: DemandResource[R]
    fans: Fans[R]
    webhook_endpoints: WebhookEndpoints[R]
    webhook_deliveries: WebhookDeliveries[R]

    construct_event = staticmethod(construct_event)
    """`ridepledge.webhooks.construct_event`: verify a webhook and return its typed event."""

    client_id: str
    base_url: str
    scope: str | None
    _client_secret: str
    _tokens: TokenCache
    _options: Options

    def _bind(
        self,
        client_id: str,
        client_secret: str,
        scope: str | None,
        requester: R,
        base_url: str,
        options: Options,
        tokens: TokenCache,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.base_url = base_url.rstrip("/")
        self.scope = scope
        self._options = options
        self._tokens = tokens
        for name, resource in RESOURCES.items():
            setattr(self, name, resource(requester))

    @property
    def options(self) -> Options:
        """This client's timeouts, retry and token settings."""
        return self._options

    def _copy_settings(
        self, changes: dict[str, Any]
    ) -> tuple[str, str, str, str | None, Options, bool]:
        """What `with_options(**changes)` makes: (client_id, secret, base_url, scope, options,
        whether the token cache can be shared)."""
        client_id = changes.pop("client_id", self.client_id)
        client_secret = changes.pop("client_secret", self._client_secret)
        base_url = changes.pop("base_url", self.base_url)
        scope = changes.pop("scope", self.scope)
        unknown = set(changes) - _OPTION_NAMES
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        check_base_url(base_url)
        options = dataclasses.replace(self._options, **changes)
        same = base_url.rstrip("/") == self.base_url and self._tokens.same_credentials(
            client_id, client_secret, scope
        )
        return client_id, client_secret, base_url, scope, options, same

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, base_url={self.base_url!r})"


def client_options(
    client_id: str, client_secret: str, base_url: str, options: ClientOptions
) -> Options:
    """The checked settings of a new client (both clients take the same arguments)."""
    if not client_id or not client_secret:
        raise ValueError("client_id and client_secret are required")
    check_base_url(base_url)
    return Options(**options)


class Client(BaseClient[SyncRequester]):
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

    Every operation also takes `timeout=` and `max_retries=` for that call alone. A client
    keeps no global state and is safe to share between threads. Close it (or use it as a
    context manager) to release its connections.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        base_url: str,
        *,
        scope: str | None = None,
        http_session: requests.Session | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        settings = client_options(client_id, client_secret, base_url, options)
        self._owns_session = http_session is None
        session = http_session if http_session is not None else requests.Session()
        tokens = TokenManager(client_id, client_secret, scope)
        self._setup(client_id, client_secret, base_url, scope, session, settings, tokens)

    def _setup(
        self,
        client_id: str,
        client_secret: str,
        base_url: str,
        scope: str | None,
        session: requests.Session,
        options: Options,
        tokens: TokenManager,
    ) -> None:
        self._transport = SyncTransport(base_url, session, options)
        api = SyncAPI(self._transport, tokens)
        self._bind(client_id, client_secret, scope, api, base_url, options, tokens)
        self._sync_tokens = tokens

    def with_options(self, **changes: Any) -> Client:
        """A copy of this client with some settings changed, e.g.
        ``client.with_options(timeout=5, max_retries=0)``. Accepts the constructor's keyword
        arguments (and `client_id`, `client_secret`, `base_url`).

        The copy shares this client's connections, and its token while the credentials, base
        URL and scope stay the same. Closing the copy does nothing: close the original.
        """
        session = changes.pop("http_session", self._transport.session)
        client_id, secret, base_url, scope, options, same = self._copy_settings(changes)
        tokens = self._sync_tokens if same else TokenManager(client_id, secret, scope)
        copy = object.__new__(Client)
        copy._owns_session = False
        copy._setup(client_id, secret, base_url, scope, session, options, tokens)
        return copy

    def close(self) -> None:
        """Release the connection pool (if this client created it)."""
        if self._owns_session:
            self._transport.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
