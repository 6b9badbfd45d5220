"""The asynchronous transport: sends the core's requests with `httpx`, awaits between tries.

Imported only by `AsyncClient` (``pip install "ridepledge[async]"``): importing `ridepledge`
never needs httpx.
"""

from __future__ import annotations

import asyncio
import platform
from typing import Any, TypeVar

try:
    import httpx as httpx  # (re-exported: `_async_client` takes httpx from here)
except ImportError as exc:  # pragma: no cover (the extra is installed where tests run)
    raise ImportError(
        'ridepledge.AsyncClient needs httpx: pip install "ridepledge[async]"'
    ) from exc
from requests.structures import CaseInsensitiveDict

from ridepledge._auth import AsyncTokenManager
from ridepledge._http import Decision, Options, PreparedRequest, RawResponse, RetryState
from ridepledge.pagination import AsyncPager
from ridepledge.resources._base import AsyncRequester, Call, Listing, prepare_call
from ridepledge.version import __version__

T = TypeVar("T")

USER_AGENT = (
    f"ridepledge-python/{__version__} httpx/{httpx.__version__} "
    f"python/{platform.python_version()} async"
)


class AsyncTransport:
    """Sends requests to one base URL through one `httpx.AsyncClient`."""

    user_agent = USER_AGENT

    def __init__(self, base_url: str, http_client: httpx.AsyncClient, options: Options) -> None:
        self.base_url = base_url.rstrip("/")
        self.http_client = http_client
        self.options = options

    async def send(
        self, request: PreparedRequest, tokens: AsyncTokenManager | None = None
    ) -> RawResponse:
        """Send `request`, retrying as the core decides; the successful answer or an error."""
        state = RetryState(request, self.options)
        while True:
            state.authorize(await tokens.get(self) if tokens is not None else None)
            response, decision = await self._try(state)
            if decision.action == "return" and response is not None:
                return response
            if decision.action == "refresh" and tokens is not None and state.token:
                tokens.invalidate(state.token)
            elif decision.action == "retry":
                await asyncio.sleep(decision.delay)
            elif decision.error is not None:
                raise decision.error

    async def _try(self, state: RetryState) -> tuple[RawResponse | None, Decision]:
        request = state.request
        try:
            answer = await self.http_client.request(
                request.method,
                request.url,
                params=request.params,
                content=request.content,
                data=request.form,
                headers=request.headers,
                auth=request.basic_auth,
                timeout=request.timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            return None, state.on_no_answer(exc, timed_out=True)
        except httpx.TransportError as exc:
            return None, state.on_no_answer(exc, timed_out=False)
        response = RawResponse(
            status_code=answer.status_code,
            headers=CaseInsensitiveDict(answer.headers),
            content=answer.content,
            reason=answer.reason_phrase,
            encoding=answer.charset_encoding,
        )
        return response, state.on_answer(response)


class AsyncAPI(AsyncRequester):
    """What the async client's resources call: a transport and the token of its credentials."""

    def __init__(self, transport: AsyncTransport, tokens: AsyncTokenManager) -> None:
        self.transport = transport
        self.tokens = tokens

    async def execute(self, method: str, path: str, call: Call[T]) -> T:
        request = prepare_call(self.transport, method, path, call)
        return call.parse(await self.transport.send(request, self.tokens))

    def paginate(self, path: str, listing: Listing[T]) -> AsyncPager[T]:
        async def fetch(query: dict[str, Any]) -> dict[str, Any]:
            return await self.execute("GET", path, listing.page_call(query))

        return AsyncPager(fetch, listing.item_type, listing.params)
