"""`AsyncClient`: the same resources, arguments, results and errors as `Client`, awaited.

Needs httpx (``pip install "ridepledge[async]"``); `ridepledge.AsyncClient` imports this
module on first use, so the sync client never needs it.
"""

from __future__ import annotations

from typing import Self, Unpack

# httpx comes through `_async`, which says how to install it when it is missing.
from ridepledge._async import AsyncAPI, AsyncTransport, httpx
from ridepledge._auth import AsyncTokenManager
from ridepledge._client import ClientCore, OperatorResources, PartnerResources
from ridepledge._http import ClientOptions, Options
from ridepledge.resources._base import AsyncRequester


class AsyncConnection(ClientCore[AsyncRequester]):
    """A client's connection through `httpx` (see `AsyncClient` for the arguments)."""

    _pool_argument = "http_client"
    _token_class = AsyncTokenManager

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        base_url: str,
        *,
        scope: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        self._start(client_id, client_secret, base_url, scope, http_client, options)

    def _new_pool(self) -> httpx.AsyncClient:
        # Timeouts are set per request (the client's or the call's `timeout`).
        return httpx.AsyncClient()

    def _connect(
        self,
        base_url: str,
        pool: httpx.AsyncClient,
        options: Options,
        tokens: AsyncTokenManager,
    ) -> AsyncRequester:
        self._transport = AsyncTransport(base_url, pool, options)
        return AsyncAPI(self._transport, tokens)

    async def close(self) -> None:
        """Release the connection pool (if this client created it)."""
        if self._owns_pool:
            await self._transport.http_client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class AsyncClient(AsyncConnection, PartnerResources[AsyncRequester]):
    """A partner's connection to the RidePledge API for asyncio code.

    ```python
    async with ridepledge.AsyncClient(CLIENT_ID, CLIENT_SECRET, BASE_URL) as client:
        async for trip in client.trips.list(status="open"):
            print(trip.id, trip.seats_pledged)
        trip = await client.trips.retrieve(trip_id, timeout=5)
    ```

    It takes `Client`'s arguments, except `http_client` (an `httpx.AsyncClient` of yours,
    closed by you) instead of `http_session`. Every operation is a coroutine with the sync
    client's arguments; lists are `AsyncPager`s (``async for``). Tasks may share one client:
    when several need a token at once, one token request is sent and the others wait for it.
    Use it on one event loop, and close it (``await client.close()`` or ``async with``).
    """


class AsyncOperatorClient(AsyncConnection, OperatorResources[AsyncRequester]):
    """`OperatorClient` for asyncio code: the same resources, awaited (see `AsyncClient`)."""
