"""Runs an `AsyncClient` from synchronous test code, so that the tests written against the sync
client run unchanged against the async one (the `kind` fixture parametrizes them).

Every coroutine a call returns is run to completion on the bridge's own event loop; an
`AsyncPager` becomes an iterable that drives ``async for`` (and `iter_pages`, `first_page`)
one step at a time on that loop. Nothing here is sync-client code: each request is made by
the async client, through httpx.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import ridepledge
from ridepledge.resources import Resource


class Bridge:
    """An `AsyncClient` seen through a synchronous interface (for tests only)."""

    def __init__(self, client: ridepledge.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.async_client = client
        self._loop = loop

    def run(self, awaitable: Any) -> Any:
        return self._loop.run_until_complete(awaitable)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.async_client, name)
        if isinstance(value, Resource):
            return _BridgedResource(value, self)
        if name == "with_options":
            return lambda **changes: Bridge(value(**changes), self._loop)
        if name == "close":
            return lambda: self.run(value())
        return value

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _BridgedResource:
    def __init__(self, resource: Resource[Any], bridge: Bridge) -> None:
        self._resource = resource
        self._bridge = bridge

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._resource, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                return self._bridge.run(result)
            if isinstance(result, ridepledge.AsyncPager):
                return _BridgedPager(result, self._bridge)
            return result

        return call


class _BridgedPager:
    def __init__(self, pager: ridepledge.AsyncPager[Any], bridge: Bridge) -> None:
        self._pager = pager
        self._bridge = bridge

    def _drive(self, generator: Any) -> Iterator[Any]:
        try:
            while True:
                try:
                    item = self._bridge.run(generator.__anext__())
                except StopAsyncIteration:
                    return
                yield item
        finally:
            self._bridge.run(generator.aclose())

    def __iter__(self) -> Iterator[Any]:
        return self._drive(self._pager.__aiter__())

    def iter_pages(self) -> Iterator[Any]:
        return self._drive(self._pager.iter_pages())

    def first_page(self) -> Any:
        return self._bridge.run(self._pager.first_page())
