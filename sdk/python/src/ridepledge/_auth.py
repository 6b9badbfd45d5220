"""OAuth 2.0 client credentials: one cached bearer token per set of credentials.

`TokenCache` holds what both clients share (the cached token, the token request, reading the
answer); `TokenManager` makes threads wait for one fetch (a `threading.Lock`),
`AsyncTokenManager` makes tasks wait for one fetch (an `asyncio.Lock`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

from ridepledge._http import PreparedRequest, RawResponse, prepare
from ridepledge.errors import AuthenticationError

if TYPE_CHECKING:
    from ridepledge._async import AsyncTransport
    from ridepledge._sync import SyncTransport


class TokenCache:
    """The current token of one set of credentials, and how to ask for a new one."""

    def __init__(self, client_id: str, client_secret: str, scope: str | None = None) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self._current: tuple[str, float] | None = None  # (token, monotonic expiry)
        self.fetch_count = 0

    def same_credentials(self, client_id: str, client_secret: str, scope: str | None) -> bool:
        return (client_id, client_secret, scope) == (
            self.client_id,
            self._client_secret,
            self.scope,
        )

    def fresh(self, margin: float) -> str | None:
        """The cached token if it stays valid for `margin` more seconds."""
        current = self._current  # one read: the tuple is replaced whole, never mutated
        if current is not None and time.monotonic() < current[1] - margin:
            return current[0]
        return None

    def forget(self, token: str) -> None:
        """Drop `token` (the API refused it), unless it was already replaced."""
        if self._current is not None and self._current[0] == token:
            self._current = None

    def _request(self, transport: SyncTransport | AsyncTransport) -> PreparedRequest:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        return prepare(
            transport.base_url,
            transport.options,
            "POST",
            "/oauth/token",
            user_agent=transport.user_agent,
            form=form,
            basic_auth=(self.client_id, self._client_secret),
        )

    def _store(self, response: RawResponse, started: float) -> str:
        """Cache the token of the token endpoint's answer (expiry counted from `started`)."""
        self.fetch_count += 1
        body = response.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise AuthenticationError(
                "the token endpoint answered without an access_token",
                status=response.status_code,
                body=body,
                headers=response.headers,
            )
        expires_in = float(body.get("expires_in") or 3600)
        self._current = (token, started + expires_in)
        return str(token)


class TokenManager(TokenCache):
    """Fetches a token when first needed, caches it, and fetches a new one `margin` seconds
    before it expires or when the API refused it. One fetch at a time: threads that need a
    token while another thread fetches one wait for it instead of fetching their own."""

    def __init__(self, client_id: str, client_secret: str, scope: str | None = None) -> None:
        super().__init__(client_id, client_secret, scope)
        self._lock = threading.Lock()

    def get(self, transport: SyncTransport) -> str:
        """A token valid for at least the transport's `token_refresh_margin` more seconds."""
        margin = transport.options.token_refresh_margin
        token = self.fresh(margin)
        if token is not None:
            return token
        with self._lock:
            token = self.fresh(margin)
            if token is not None:
                return token  # another thread fetched it while we waited
            started = time.monotonic()
            return self._store(transport.send(self._request(transport)), started)

    def invalidate(self, token: str) -> None:
        """Forget `token` (the API refused it), unless another thread already replaced it."""
        with self._lock:
            self.forget(token)


class AsyncTokenManager(TokenCache):
    """`TokenManager` for tasks: N tasks that need a token at once send one token request;
    the others wait on an `asyncio.Lock` and use its answer."""

    def __init__(self, client_id: str, client_secret: str, scope: str | None = None) -> None:
        super().__init__(client_id, client_secret, scope)
        self._lock = asyncio.Lock()

    async def get(self, transport: AsyncTransport) -> str:
        """A token valid for at least the transport's `token_refresh_margin` more seconds."""
        margin = transport.options.token_refresh_margin
        token = self.fresh(margin)
        if token is not None:
            return token
        async with self._lock:
            token = self.fresh(margin)
            if token is not None:
                return token  # another task fetched it while we waited
            started = time.monotonic()
            return self._store(await transport.send(self._request(transport)), started)

    def invalidate(self, token: str) -> None:
        """Forget `token`; no lock needed: tasks switch only at an `await`."""
        self.forget(token)
