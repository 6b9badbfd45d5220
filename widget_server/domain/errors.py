"""Domain errors: each knows the HTTP problem it becomes at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain said no. Never leaves state half-changed."""

    status = 400
    title = "Bad request"
    type = "bad-request"

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class ValidationFailed(DomainError):
    status = 422
    title = "Validation failed"
    type = "validation-error"

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls(f"{name}: {message}", errors={name: [message]})


class NotFound(DomainError):
    status = 404
    title = "Not found"
    type = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    type = "conflict"


class SoldOut(Conflict):
    title = "Sold out"
    type = "sold-out"


class IllegalTransition(Conflict):
    title = "Not allowed in this state"
    type = "illegal-transition"


def iter_messages(messages, prefix: str = ""):
    """marshmallow's (possibly nested) messages as (dotted.field, message) pairs:
    {"stops": {0: {"name": ["Missing"]}}} -> ("stops.0.name", "Missing"). Errors about a
    whole object (marshmallow's "_schema") belong to the object's own name."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from iter_messages(value, _join(prefix, key))
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from iter_messages(message, prefix)
    else:
        yield prefix or "_schema", str(messages)


def _join(prefix: str, key) -> str:
    if key == "_schema":
        return prefix
    return f"{prefix}.{key}" if prefix else str(key)


def field_errors(messages) -> dict[str, list[str]]:
    """The `errors` member of a validation problem: {"dotted.field": ["message", ...]}."""
    errors: dict[str, list[str]] = {}
    for field, message in iter_messages(messages):
        errors.setdefault(field, []).append(message)
    return errors
