"""JSON <-> objects: RFC 3339 datetimes, request data made JSON-ready, results built from the
API's JSON (used by `models`, which re-exports these)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, date, datetime
from typing import Any, TypeVar, Union

T = TypeVar("T")


def parse_datetime(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime (UTC when the text carries no offset)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_datetime(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC (``2026-12-20T19:00:00Z``); naive ones are refused,
    since the API cannot guess their zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()}: pass a timezone-aware datetime "
            "(e.g. datetime(..., tzinfo=datetime.UTC) or zoneinfo.ZoneInfo('America/Chicago'))"
        )
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def to_api(value: Any) -> Any:
    """A JSON-ready copy of request data: datetimes as RFC 3339, dataclasses as dicts."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: to_api(getattr(value, item.name))
            for item in dataclasses.fields(value)
            if item.name != "raw"
        }
    if isinstance(value, dict):
        return {key: to_api(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_api(item) for item in value]
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The resolved annotations of a result class (computed once per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def from_api(cls: type[T], data: dict[str, Any]) -> T:
    """Build result `cls` from the API's JSON object. Unknown members stay in `raw`; a member
    the server left out is None."""
    hints = _hints(cls)
    values = {
        item.name: _convert(hints[item.name], data.get(item.name))
        for item in dataclasses.fields(cls)  # type: ignore[arg-type]
        if item.name != "raw"
    }
    if any(item.name == "raw" for item in dataclasses.fields(cls)):  # type: ignore[arg-type]
        values["raw"] = data
    return cls(**values)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        origin = typing.get_origin(hint)
    if hint is datetime:
        return parse_datetime(value)
    if hint is date:
        return date.fromisoformat(value)
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        return [_convert(item_hint, item) for item in value]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_api(hint, value)
    return value
