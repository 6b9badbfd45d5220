"""OAuth 2.0 client credentials: one cached bearer token per set of credentials."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from ridepledge.errors import AuthenticationError

if TYPE_CHECKING:
    from ridepledge._http import Transport


class TokenManager:
    """Fetches a token when first needed, caches it, and fetches a new one `margin` seconds
    before it expires or when the API refused it. One fetch at a time: threads that need a
    token while another thread fetches one wait for it instead of fetching their own."""

    def __init__(self, client_id: str, client_secret: str, scope: str | None = None) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self._lock = threading.Lock()
        self._current: tuple[str, float] | None = None  # (token, monotonic expiry)
        self.fetch_count = 0

    def same_credentials(self, client_id: str, client_secret: str, scope: str | None) -> bool:
        return (client_id, client_secret, scope) == (
            self.client_id,
            self._client_secret,
            self.scope,
        )

    def get(self, transport: Transport) -> str:
        """A token valid for at least the transport's `token_refresh_margin` more seconds."""
        margin = transport.options.token_refresh_margin
        current = self._current  # one read: the tuple is replaced whole, never mutated
        if current is not None and time.monotonic() < current[1] - margin:
            return current[0]
        with self._lock:
            current = self._current
            if current is not None and time.monotonic() < current[1] - margin:
                return current[0]  # another thread fetched it while we waited
            self._current = self._fetch(transport)
            return self._current[0]

    def invalidate(self, token: str) -> None:
        """Forget `token` (the API refused it), unless another thread already replaced it."""
        with self._lock:
            if self._current is not None and self._current[0] == token:
                self._current = None

    def _fetch(self, transport: Transport) -> tuple[str, float]:
        started = time.monotonic()
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        response = transport.request(
            "POST", "/oauth/token", form=form, basic_auth=(self.client_id, self._client_secret)
        )
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
        return token, started + expires_in
