"""The API's scopes: what an API client may be allowed. One place, read by the domain
(creating clients validates scopes), the OAuth server, the API docs, the console and the CLI.

A partner's clients get partner scopes (`SCOPE_DESCRIPTIONS`), an operator's clients get
operator scopes (`OPERATOR_SCOPE_DESCRIPTIONS`); the two sets share no name, so a client of one
side can never be granted the other side's scopes.
"""

from __future__ import annotations

from collections.abc import Mapping

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

#: The scopes of an operator's (bus company's) clients, for `/v1/operator`.
OPERATOR_SCOPE_DESCRIPTIONS: dict[str, str] = {
    "requests:read": "Operators: read the trip requests sent to you and your profile.",
    "quotes:write": "Operators: quote on requests, revise and withdraw quotes.",
    "operator_trips:read": "Operators: list the trips awarded to you and read their manifests.",
    "operator_trips:write": "Operators: assign vehicles and drivers, report departures.",
    "payouts:read": "Operators: list your payouts.",
}

#: Every partner scope, in the order the docs and error messages list them.
SCOPES: tuple[str, ...] = tuple(SCOPE_DESCRIPTIONS)
#: Every operator scope, likewise.
OPERATOR_SCOPES: tuple[str, ...] = tuple(OPERATOR_SCOPE_DESCRIPTIONS)
#: Both sides' scopes: what the OAuth metadata and the OpenAPI security scheme list.
ALL_SCOPE_DESCRIPTIONS: dict[str, str] = SCOPE_DESCRIPTIONS | OPERATOR_SCOPE_DESCRIPTIONS


def scopes_of(operator: bool) -> Mapping[str, str]:
    """The scopes a partner's (`operator=False`) or an operator's client may hold."""
    return OPERATOR_SCOPE_DESCRIPTIONS if operator else SCOPE_DESCRIPTIONS


def scope_list(scope: str | None, known: Mapping[str, str] = SCOPE_DESCRIPTIONS) -> list[str]:
    """The scopes of a space separated string, without duplicates, in canonical order.

    Names not in `known` are kept (after the known ones) so callers can report them.
    """
    names = dict.fromkeys((scope or "").split())
    ordered = [name for name in known if name in names]
    return ordered + [name for name in names if name not in known]


def unknown_scopes(scope: str | None, known: Mapping[str, str] = SCOPE_DESCRIPTIONS) -> list[str]:
    """The names in `scope` that are not in `known` (by default: the partner scopes)."""
    return [name for name in scope_list(scope, known) if name not in known]
