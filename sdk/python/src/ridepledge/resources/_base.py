"""What every resource shares: the client's transport, token and JSON handling."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from ridepledge.models import from_api
from ridepledge.pagination import Pager

if TYPE_CHECKING:
    import requests

    from ridepledge._client import Client

T = TypeVar("T")


class _NotGiven(enum.Enum):
    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = _NotGiven.NOT_GIVEN
"""Default of optional update arguments: "leave unchanged" (None means "clear it")."""

NotGiven = _NotGiven


def given(**fields: Any) -> dict[str, Any]:
    """The arguments the caller passed (those not left at NOT_GIVEN)."""
    return {name: value for name, value in fields.items() if value is not NOT_GIVEN}


def segment(object_id: str) -> str:
    """An id as one URL path segment."""
    if not object_id:
        raise ValueError("an object id is required")
    return quote(object_id, safe="")


class Resource:
    """A group of API operations bound to one client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._client._transport.request(method, path, tokens=self._client._tokens, **kwargs)

    def _get(self, path: str, item_type: type[T], params: dict[str, Any] | None = None) -> T:
        return from_api(item_type, self._request("GET", path, params=params).json())

    def _post(
        self,
        path: str,
        item_type: type[T],
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> T:
        response = self._request("POST", path, json_body=body, idempotency_key=idempotency_key)
        return from_api(item_type, response.json())

    def _patch(self, path: str, item_type: type[T], body: dict[str, Any]) -> T:
        return from_api(item_type, self._request("PATCH", path, json_body=body).json())

    def _delete(self, path: str) -> None:
        self._request("DELETE", path)

    def _list(self, path: str, item_type: type[T], **params: Any) -> Pager[T]:
        def fetch(query: dict[str, Any]) -> dict[str, Any]:
            body: dict[str, Any] = self._request("GET", path, params=query).json()
            return body

        return Pager(fetch, item_type, params)
