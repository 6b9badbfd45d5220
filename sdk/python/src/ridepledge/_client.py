"""`Client`, built of three parts that other clients reuse:

- `ClientCore`: credentials, settings, `with_options`, the token cache, `construct_event`;
- a connection: `SyncConnection` here (requests), `AsyncConnection` in `_async_client.py`;
- a set of resources: `PartnerResources` (the partner API, `resources.RESOURCES`).

`Client` is `SyncConnection` + `PartnerResources`, `AsyncClient` is `AsyncConnection` +
`PartnerResources`; the operators' clients (`OperatorClient`, `AsyncOperatorClient`) are a
connection plus `OperatorResources`, with no code of their own.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, Self, Unpack

import requests

from ridepledge._auth import TokenCache, TokenManager
from ridepledge._http import ClientOptions, Options
from ridepledge._sync import SyncAPI, SyncTransport
from ridepledge.resources import (
    OPERATOR_RESOURCES,
    RESOURCES,
    AddOns,
    DemandResource,
    Events,
    Fans,
    OperatorQuotes,
    OperatorTripRequests,
    OperatorTrips,
    PartnerResource,
    Payouts,
    Pledges,
    Profile,
    PromoCodes,
    TripRequests,
    Trips,
    WebhookDeliveries,
    WebhookEndpoints,
)
from ridepledge.resources._base import R, Resource, SyncRequester
from ridepledge.webhooks import construct_event

_OPTION_NAMES = {item.name for item in dataclasses.fields(Options)}


def check_base_url(base_url: str) -> None:
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")


class PartnerResources(Generic[R]):
    """The partner API's resources (attribute name -> class in `resources.RESOURCES`)."""

    _resources: ClassVar[Mapping[str, type[Resource[Any]]]] = RESOURCES

    partner: PartnerResource[R]
    events: Events[R]
    trips: Trips[R]
    add_ons: AddOns[R]
    trip_requests: TripRequests[R]
    pledges: Pledges[R]
    promo_codes: PromoCodes[R]
    demand: DemandResource[R]
    fans: Fans[R]
    webhook_endpoints: WebhookEndpoints[R]
    webhook_deliveries: WebhookDeliveries[R]


class OperatorResources(Generic[R]):
    """The operator API's resources (`resources.OPERATOR_RESOURCES`), for a bus company."""

    _resources: ClassVar[Mapping[str, type[Resource[Any]]]] = OPERATOR_RESOURCES

    profile: Profile[R]
    trip_requests: OperatorTripRequests[R]
    quotes: OperatorQuotes[R]
    trips: OperatorTrips[R]
    payouts: Payouts[R]


class ClientCore(abc.ABC, Generic[R]):
    """What every client has whatever its connection and resources; `R` is how it sends."""

    construct_event = staticmethod(construct_event)
    """`ridepledge.webhooks.construct_event`: verify a webhook and return its typed event."""

    client_id: str
    base_url: str
    scope: str | None
    _client_secret: str
    _tokens: TokenCache
    _options: Options
    _pool: Any  # the HTTP library's client: a requests.Session, an httpx.AsyncClient
    _owns_pool: bool

    # What each connection sets: the name of its pool argument, its token manager; and each
    # resources class: its resources.
    _pool_argument: ClassVar[str]
    _token_class: ClassVar[type[TokenCache]]
    _resources: ClassVar[Mapping[str, type[Resource[Any]]]]

    @abc.abstractmethod
    def _connect(self, base_url: str, pool: Any, options: Options, tokens: Any) -> R:
        """The requester of this client (its transport and tokens)."""

    def _setup(
        self,
        client_id: str,
        client_secret: str,
        base_url: str,
        scope: str | None,
        pool: Any,
        options: Options,
        tokens: TokenCache,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.base_url = base_url.rstrip("/")
        self.scope = scope
        self._options = options
        self._tokens = tokens
        self._pool = pool
        requester = self._connect(base_url, pool, options, tokens)
        for name, resource in self._resources.items():
            setattr(self, name, resource(requester))

    def _start(
        self,
        client_id: str,
        client_secret: str,
        base_url: str,
        scope: str | None,
        pool: Any,
        options: ClientOptions,
    ) -> None:
        """What both constructors do: check the settings, then set the client up."""
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        check_base_url(base_url)
        settings = Options(**options)
        self._owns_pool = pool is None
        pool = self._new_pool() if pool is None else pool
        tokens = self._token_class(client_id, client_secret, scope)
        self._setup(client_id, client_secret, base_url, scope, pool, settings, tokens)

    @abc.abstractmethod
    def _new_pool(self) -> Any:
        """A connection pool of the client's own (closed with the client)."""

    @property
    def options(self) -> Options:
        """This client's timeouts, retry and token settings."""
        return self._options

    def with_options(self, **changes: Any) -> Self:
        """A copy of this client with some settings changed, e.g.
        ``client.with_options(timeout=5, max_retries=0)``. Accepts the constructor's keyword
        arguments (and `client_id`, `client_secret`, `base_url`).

        The copy shares this client's connections, and its token while the credentials, base
        URL and scope stay the same. Closing the copy does nothing: close the original.
        """
        pool = changes.pop(self._pool_argument, self._pool)
        client_id = changes.pop("client_id", self.client_id)
        client_secret = changes.pop("client_secret", self._client_secret)
        base_url = changes.pop("base_url", self.base_url)
        scope = changes.pop("scope", self.scope)
        unknown = set(changes) - _OPTION_NAMES
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        check_base_url(base_url)
        options = dataclasses.replace(self._options, **changes)
        tokens = self._tokens
        same_url = base_url.rstrip("/") == self.base_url
        if not same_url or not tokens.same_credentials(client_id, client_secret, scope):
            tokens = self._token_class(client_id, client_secret, scope)
        copy = object.__new__(type(self))
        copy._owns_pool = False
        copy._setup(client_id, client_secret, base_url, scope, pool, options, tokens)
        return copy

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, base_url={self.base_url!r})"


class SyncConnection(ClientCore[SyncRequester]):
    """A client's connection through `requests` (see `Client` for the arguments)."""

    _pool_argument = "http_session"
    _token_class = TokenManager

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
        self._start(client_id, client_secret, base_url, scope, http_session, options)

    def _new_pool(self) -> requests.Session:
        return requests.Session()

    def _connect(
        self, base_url: str, pool: requests.Session, options: Options, tokens: TokenManager
    ) -> SyncRequester:
        self._transport = SyncTransport(base_url, pool, options)
        return SyncAPI(self._transport, tokens)

    def close(self) -> None:
        """Release the connection pool (if this client created it)."""
        if self._owns_pool:
            self._transport.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Client(SyncConnection, PartnerResources[SyncRequester]):
    """A partner's connection to the RidePledge API.

    ```python
    with ridepledge.Client(CLIENT_ID, CLIENT_SECRET, "https://api.ridepledge.example") as client:
        for trip in client.trips.list(status="open"):
            print(trip.id, trip.seats_pledged)
    ```

    - `timeout`: seconds to wait for each answer (connect and read), default 30.
    - `max_retries`: retries after the first try on connection errors, timeouts, 429, 5xx
      and 409 ``idempotency-in-progress`` (default 2, so up to 3 tries).
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


class OperatorClient(SyncConnection, OperatorResources[SyncRequester]):
    """A bus company's connection to the operator API (`/v1/operator`), with credentials from
    ``ridepledge clients create --operator SLUG``.

    ```python
    with ridepledge.OperatorClient(CLIENT_ID, CLIENT_SECRET, BASE_URL) as client:
        for request in client.trip_requests.list():
            client.quotes.create(request.id, seats=56, amount=180000, currency="USD", ...)
        for payout in client.payouts.list():
            print(payout.trip_id, payout.amount, payout.status)
    ```

    It takes `Client`'s arguments and behaves as it does (retries, tokens, errors, options).
    """
