"""Lists: iterate over every item across pages, or page by page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ridepledge.models import from_api

T = TypeVar("T")

__all__ = ["Page", "Pager"]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, and the cursor of the next page when there is one."""

    data: list[T]
    has_more: bool
    next_cursor: str | None


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
        cursor = self._params.get("cursor")
        while True:
            body = self._fetch({**self._params, "cursor": cursor})
            page = Page(
                data=[from_api(self._item_type, item) for item in body["data"]],
                has_more=bool(body.get("has_more")),
                next_cursor=body.get("next_cursor"),
            )
            yield page
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    def first_page(self) -> Page[T]:
        """Just the first page (one request)."""
        return next(self.iter_pages())

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data
