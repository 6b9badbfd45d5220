"""The synchronous transport: sends the core's requests with `requests`, sleeps between tries."""

from __future__ import annotations

import platform
import time
from typing import Any, TypeVar

import requests
from requests.structures import CaseInsensitiveDict

from ridepledge._auth import TokenManager
from ridepledge._http import Decision, Options, PreparedRequest, RawResponse, RetryState
from ridepledge.pagination import Pager
from ridepledge.resources._base import Call, Listing, SyncRequester, prepare_call
from ridepledge.version import __version__

T = TypeVar("T")

USER_AGENT = (
    f"ridepledge-python/{__version__} requests/{requests.__version__} "
    f"python/{platform.python_version()}"
)


class SyncTransport:
    """Sends requests to one base URL through one `requests.Session`."""

    user_agent = USER_AGENT

    def __init__(self, base_url: str, session: requests.Session, options: Options) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.options = options

    def send(self, request: PreparedRequest, tokens: TokenManager | None = None) -> RawResponse:
        """Send `request`, retrying as the core decides; the successful answer or an error."""
        state = RetryState(request, self.options)
        while True:
            state.authorize(tokens.get(self) if tokens is not None else None)
            response, decision = self._try(state)
            if decision.action == "return" and response is not None:
                return response
            if decision.action == "refresh" and tokens is not None and state.token:
                tokens.invalidate(state.token)
            elif decision.action == "retry":
                time.sleep(decision.delay)
            elif decision.error is not None:
                raise decision.error

    def _try(self, state: RetryState) -> tuple[RawResponse | None, Decision]:
        request = state.request
        try:
            answer = self.session.request(
                request.method,
                request.url,
                params=request.params,
                data=request.content if request.content is not None else request.form,
                headers=request.headers,
                auth=request.basic_auth,
                timeout=request.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            return None, state.on_no_answer(exc, timed_out=True)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            return None, state.on_no_answer(exc, timed_out=False)
        response = RawResponse(
            status_code=answer.status_code,
            headers=CaseInsensitiveDict(answer.headers),
            content=answer.content,
            reason=answer.reason or "",
            encoding=answer.encoding,
        )
        return response, state.on_answer(response)


class SyncAPI(SyncRequester):
    """What the sync client's resources call: a transport and the token of its credentials."""

    def __init__(self, transport: SyncTransport, tokens: TokenManager) -> None:
        self.transport = transport
        self.tokens = tokens

    def execute(self, method: str, path: str, call: Call[T]) -> T:
        request = prepare_call(self.transport, method, path, call)
        return call.parse(self.transport.send(request, self.tokens))

    def paginate(self, path: str, listing: Listing[T]) -> Pager[T]:
        def fetch(query: dict[str, Any]) -> dict[str, Any]:
            return self.execute("GET", path, listing.page_call(query))

        return Pager(fetch, listing.item_type, listing.params)
