"""The partner API's scopes: what an API client may be allowed. One place, read by the domain
(creating clients validates scopes), the OAuth server, the API docs, the console and the CLI.
"""

from __future__ import annotations

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "partner:read": "Read the partner profile and branding.",
    "partner:write": "Change the partner profile and branding.",
    "events:read": "List and read events.",
    "events:write": "Create, change and delete events.",
    "trips:read": "List and read trips, their stops and manifests.",
    "trips:write": "Create, change, open and cancel trips.",
    "pledges:read": "List and read pledges (fans' names and emails included).",
    "pledges:write": "Cancel pledges.",
    "demand:read": "Read demand signals (where fans want trips from).",
    "webhooks:manage": "Manage webhook endpoints and retry deliveries.",
}

#: Every scope, in the order the docs and error messages list them.
SCOPES: tuple[str, ...] = tuple(SCOPE_DESCRIPTIONS)


def scope_list(scope: str | None) -> list[str]:
    """The scopes of a space separated string, without duplicates, in canonical order.

    Unknown names are kept (after the known ones) so callers can report them.
    """
    names = dict.fromkeys((scope or "").split())
    known = [name for name in SCOPES if name in names]
    return known + [name for name in names if name not in SCOPE_DESCRIPTIONS]


def unknown_scopes(scope: str | None) -> list[str]:
    """The names in `scope` that are not scopes of this API."""
    return [name for name in scope_list(scope) if name not in SCOPE_DESCRIPTIONS]
