"""`AsyncClient`: the same resources, arguments, results and errors as `Client`, awaited.

Needs httpx (``pip install "ridepledge[async]"``); `ridepledge.AsyncClient` imports this
module on first use, so the sync client never needs it.
"""

from __future__ import annotations

from typing import Any, Self, Unpack

import httpx

from ridepledge._async import AsyncAPI, AsyncTransport
from ridepledge._auth import AsyncTokenManager
from ridepledge._client import BaseClient, client_options
from ridepledge._http import ClientOptions, Options
from ridepledge.resources._base import AsyncRequester


class AsyncClient(BaseClient[AsyncRequester]):
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
        settings = client_options(client_id, client_secret, base_url, options)
        self._owns_client = http_client is None
        # Timeouts are set per request (the client's or the call's `timeout`).
        client = http_client if http_client is not None else httpx.AsyncClient()
        tokens = AsyncTokenManager(client_id, client_secret, scope)
        self._setup(client_id, client_secret, base_url, scope, client, settings, tokens)

    def _setup(
        self,
        client_id: str,
        client_secret: str,
        base_url: str,
        scope: str | None,
        http_client: httpx.AsyncClient,
        options: Options,
        tokens: AsyncTokenManager,
    ) -> None:
        self._transport = AsyncTransport(base_url, http_client, options)
        api = AsyncAPI(self._transport, tokens)
        self._bind(client_id, client_secret, scope, api, base_url, options, tokens)
        self._async_tokens = tokens

    def with_options(self, **changes: Any) -> AsyncClient:
        """A copy of this client with some settings changed (see `Client.with_options`); it
        shares the connections, and the token while the credentials stay the same."""
        http_client = changes.pop("http_client", self._transport.http_client)
        client_id, secret, base_url, scope, options, same = self._copy_settings(changes)
        tokens = self._async_tokens if same else AsyncTokenManager(client_id, secret, scope)
        copy = object.__new__(AsyncClient)
        copy._owns_client = False
        copy._setup(client_id, secret, base_url, scope, http_client, options, tokens)
        return copy

    async def close(self) -> None:
        """Release the connection pool (if this client created it)."""
        if self._owns_client:
            await self._transport.http_client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
