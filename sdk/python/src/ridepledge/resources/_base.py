"""How a resource module states an operation once for both clients.

An operation is a method that builds a `Call` (what to send, how to read the answer) and is
decorated with its HTTP method and path template:

```python
class Events(Resource[R]):
    @endpoint("GET", "/v1/events/{event_id}")
    def retrieve(self, event_id: str, **options: Unpack[CallOptions]) -> Call[Event]:
        return Call(returns(Event), {"event_id": event_id}, options=options)
```

`client.events.retrieve(id)` then sends it through the sync transport and returns an `Event`;
`await async_client.events.retrieve(id)` through the async one. `@listing` operations return a
`Pager` (sync) or an `AsyncPager` (async). The decorators keep the method and template, which
is how the operations test compares the SDK with the server's OpenAPI document.
"""

from __future__ import annotations

import enum
import functools
import inspect
import string
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Protocol,
    TypedDict,
    TypeVar,
    overload,
)
from urllib.parse import quote

from ridepledge._http import Options, PreparedRequest, RawResponse, prepare
from ridepledge.models import from_api

if TYPE_CHECKING:
    from ridepledge.pagination import AsyncPager, Pager

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R", "SyncRequester", "AsyncRequester")


class _NotGiven(enum.Enum):
    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = _NotGiven.NOT_GIVEN
"""Default of optional update arguments: "leave unchanged" (None means "clear it")."""

NotGiven = _NotGiven


class CallOptions(TypedDict, total=False):
    """Per-call settings every operation takes as keyword arguments: `timeout` (seconds for
    this call's tries) and `max_retries` (retries after its first try)."""

    timeout: float
    max_retries: int


def check_options(options: CallOptions) -> None:
    """Refuse a keyword no operation takes: typed code cannot pass one, other code could pass
    a misspelt `timeout` that would otherwise be ignored."""
    unknown = set(options) - CallOptions.__optional_keys__
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")


def given(**fields: Any) -> dict[str, Any]:
    """The arguments the caller passed (those not left at NOT_GIVEN)."""
    return {name: value for name, value in fields.items() if value is not NOT_GIVEN}


def listed(value: Sequence[T] | NotGiven) -> list[T] | NotGiven:
    """A sequence argument as a JSON list (NOT_GIVEN stays NOT_GIVEN)."""
    return value if isinstance(value, _NotGiven) else list(value)


def segment(object_id: str) -> str:
    """An id as one URL path segment."""
    if not object_id:
        raise ValueError("an object id is required")
    return quote(object_id, safe="")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One operation's request: path parameters, query, JSON body, key, options; and `parse`,
    which turns the successful answer into the result."""

    parse: Callable[[RawResponse], T]
    path_params: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    body: Any = None
    idempotency_key: str | None = None
    accept: str = "application/json"
    options: CallOptions = field(default_factory=lambda: CallOptions())

    def __post_init__(self) -> None:
        check_options(self.options)


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A list operation: the item type, the filters (with `limit` and `cursor`), options."""

    item_type: type[T]
    params: dict[str, Any]
    path_params: dict[str, str] = field(default_factory=dict)
    options: CallOptions = field(default_factory=lambda: CallOptions())

    def __post_init__(self) -> None:
        check_options(self.options)

    def page_call(self, query: dict[str, Any]) -> Call[dict[str, Any]]:
        """The request for one page (`query` holds the filters and the page's cursor)."""
        return Call(returns_json, params=query, options=self.options)


def returns(model: type[T]) -> Callable[[RawResponse], T]:
    """Read the answer as one `model`."""
    return lambda response: from_api(model, response.json())


def returns_items(model: type[T]) -> Callable[[RawResponse], list[T]]:
    """Read the answer's ``data`` array as a list of `model` (lists without pages)."""
    return lambda response: [from_api(model, item) for item in response.json()["data"]]


def returns_json(response: RawResponse) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body


def returns_nothing(response: RawResponse) -> None:
    return None


def returns_text(response: RawResponse) -> str:
    return response.text


class TransportInfo(Protocol):
    base_url: str
    options: Options
    user_agent: str


def prepare_call(
    transport: TransportInfo, method: str, path: str, call: Call[T]
) -> PreparedRequest:
    """The core's request for `call` on `transport` (the same for both clients)."""
    return prepare(
        transport.base_url,
        transport.options,
        method,
        path,
        user_agent=transport.user_agent,
        params=call.params,
        json_body=call.body,
        accept=call.accept,
        idempotency_key=call.idempotency_key,
        timeout=call.options.get("timeout"),
        max_retries=call.options.get("max_retries"),
    )


class SyncRequester(ABC):
    """Runs operations for the sync client."""

    @abstractmethod
    def execute(self, method: str, path: str, call: Call[T]) -> T: ...

    @abstractmethod
    def paginate(self, path: str, listing: Listing[T]) -> Pager[T]: ...


class AsyncRequester(ABC):
    """Runs operations for the async client."""

    @abstractmethod
    async def execute(self, method: str, path: str, call: Call[T]) -> T: ...

    @abstractmethod
    def paginate(self, path: str, listing: Listing[T]) -> AsyncPager[T]: ...


class Resource(Generic[R]):
    """A group of API operations bound to one client's requester."""

    def __init__(self, requester: R) -> None:
        self._requester: R = requester

    @classmethod
    def operations(cls) -> Iterator[tuple[str, str, str]]:
        """(method, path template, Python name) of every operation of this resource."""
        for name in dir(cls):
            operation = getattr(cls, name)
            if isinstance(operation, Operation):
                yield operation.method, operation.template, name


class Operation:
    """What both operation decorators share: the method, the path template, filling it."""

    def __init__(self, method: str, template: str, build: Callable[..., Any]) -> None:
        self.method = method
        self.template = template
        self.build = build
        self.__doc__ = build.__doc__
        self._fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
        # What help() and editors show of the bound operation: the build method's arguments
        # without `self`, and no return annotation (that one is the request's `Call[...]`).
        signature = inspect.signature(build)
        self._signature = signature.replace(
            parameters=list(signature.parameters.values())[1:],
            return_annotation=signature.empty,
        )

    def path(self, path_params: dict[str, str]) -> str:
        return self.template.format(**{name: segment(path_params[name]) for name in self._fields})

    def bind(self, run: Callable[..., Any]) -> Callable[..., Any]:
        """`run` named, documented and signed as the operation."""
        bound = functools.wraps(self.build)(run)
        del bound.__wrapped__
        setattr(bound, "__signature__", self._signature)  # noqa: B010
        return bound


class Endpoint(Operation, Generic[P, T]):
    """An operation with one result: `T` from the sync client, awaitable `T` from the async."""

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Endpoint[P, T]: ...
    @overload
    def __get__(self, obj: Resource[SyncRequester], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: Resource[AsyncRequester], owner: type[Any]
    ) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self

        def run(*args: Any, **kwargs: Any) -> Any:
            call: Call[T] = self.build(obj, *args, **kwargs)
            return obj._requester.execute(self.method, self.path(call.path_params), call)

        return self.bind(run)


class ListEndpoint(Operation, Generic[P, T]):
    """A list operation: a `Pager` from the sync client, an `AsyncPager` from the async."""

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> ListEndpoint[P, T]: ...
    @overload
    def __get__(self, obj: Resource[SyncRequester], owner: type[Any]) -> Callable[P, Pager[T]]: ...
    @overload
    def __get__(
        self, obj: Resource[AsyncRequester], owner: type[Any]
    ) -> Callable[P, AsyncPager[T]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self

        def run(*args: Any, **kwargs: Any) -> Any:
            listing: Listing[T] = self.build(obj, *args, **kwargs)
            return obj._requester.paginate(self.path(listing.path_params), listing)

        return self.bind(run)


def endpoint(
    method: str, template: str
) -> Callable[[Callable[Concatenate[Any, P], Call[T]]], Endpoint[P, T]]:
    """Declare an operation with one result (see the module docstring)."""

    def decorate(build: Callable[Concatenate[Any, P], Call[T]]) -> Endpoint[P, T]:
        return Endpoint(method, template, build)

    return decorate


def listing(
    template: str,
) -> Callable[[Callable[Concatenate[Any, P], Listing[T]]], ListEndpoint[P, T]]:
    """Declare a paginated ``GET`` list operation."""

    def decorate(build: Callable[Concatenate[Any, P], Listing[T]]) -> ListEndpoint[P, T]:
        return ListEndpoint("GET", template, build)

    return decorate
