"""Lists: iterate over every item across pages (`for`, or `async for` with the async client),
or page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ridepledge.models import from_api

T = TypeVar("T")

__all__ = ["AsyncPager", "Page", "Pager"]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, and the cursor of the next page when there is one."""

    data: list[T]
    has_more: bool
    next_cursor: str | None

    @classmethod
    def from_body(cls, item_type: type[T], body: dict[str, Any]) -> Page[T]:
        """A page from the API's list answer (``data``, ``has_more``, ``next_cursor``)."""
        return cls(
            data=[from_api(item_type, item) for item in body["data"]],
            has_more=bool(body.get("has_more")),
            next_cursor=body.get("next_cursor"),
        )

    def next_query(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The query of the page after this one, or None on the last page."""
        if not self.has_more or not self.next_cursor:
            return None
        return {**params, "cursor": self.next_cursor}


class Pager(Generic[T]):
    """A list call. Nothing is fetched until you iterate.

    ``for trip in client.trips.list():`` yields every item, newest first, fetching the next
    page when the previous one runs out; ``iter_pages()`` yields the pages themselves.
    Items created while you iterate never appear twice (the cursor is the last id seen).
    """

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], dict[str, Any]],
        item_type: type[T],
        params: dict[str, Any],
    ) -> None:
        self._fetch = fetch
        self._item_type = item_type
        self._params = params

    def iter_pages(self) -> Iterator[Page[T]]:
        """Every page, starting at `cursor` if the list call was given one."""
        query: dict[str, Any] | None = {**self._params, "cursor": self._params.get("cursor")}
        while query is not None:
            page = Page.from_body(self._item_type, self._fetch(query))
            yield page
            query = page.next_query(self._params)

    def first_page(self) -> Page[T]:
        """Just the first page (one request)."""
        return next(self.iter_pages())

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPager(Generic[T]):
    """`Pager` for the async client: ``async for trip in client.trips.list():`` yields every
    item across pages; ``async for page in ....iter_pages()`` the pages;
    ``await ....first_page()`` one page."""

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
        item_type: type[T],
        params: dict[str, Any],
    ) -> None:
        self._fetch = fetch
        self._item_type = item_type
        self._params = params

    async def iter_pages(self) -> AsyncIterator[Page[T]]:
        """Every page, starting at `cursor` if the list call was given one."""
        query: dict[str, Any] | None = {**self._params, "cursor": self._params.get("cursor")}
        while query is not None:
            page = Page.from_body(self._item_type, await self._fetch(query))
            yield page
            query = page.next_query(self._params)

    async def first_page(self) -> Page[T]:
        """Just the first page (one request)."""
        query = {**self._params, "cursor": self._params.get("cursor")}
        return Page.from_body(self._item_type, await self._fetch(query))

    async def __aiter__(self) -> AsyncIterator[T]:
        # One generator, not one iterating another: a loop that stops early (``break``)
        # leaves a single generator to close, which ``async for`` callers can do at once.
        query: dict[str, Any] | None = {**self._params, "cursor": self._params.get("cursor")}
        while query is not None:
            page = Page.from_body(self._item_type, await self._fetch(query))
            for item in page.data:
                yield item
            query = page.next_query(self._params)
