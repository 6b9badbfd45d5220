"""The OAuth server's scopes are the domain's (`widget_server.domain.scopes`): the domain
validates them when a client is created, so the list lives there and the OAuth face reads it."""

from widget_server.domain.scopes import SCOPE_DESCRIPTIONS, SCOPES, scope_list, unknown_scopes

__all__ = ["SCOPES", "SCOPE_DESCRIPTIONS", "scope_list", "unknown_scopes"]
