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
