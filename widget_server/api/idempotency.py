"""`Idempotency-Key` on every POST of the partner API, Stripe style (the mechanism, shared with
the widget's pledge, is `widget_server/idempotency.py`).

Keys belong to the API client, and a replay is only ever answered after the request has been
authenticated and its scope checked (`replayable` sits inside `require_scope`): a revoked or
expired token, a token without the operation's scope or another client of the same partner
never sees a stored response (which may hold a shown-once webhook secret).
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, g, request

from widget_server import idempotency


def init_app(app: Flask) -> None:
    idempotency.init_app(app)


def replayable(view):
    """Decorator for an authenticated view (put it inside `require_scope`): a POST with an
    `Idempotency-Key` claims the key for `g.client_id` or is answered with the stored response.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(idempotency.HEADER) if request.method == "POST" else None
        if idempotency.key_from(key) is not None:
            # g.client_id is set by require_scope, which has checked the token and the scope.
            answer = idempotency.claim_or_replay(g.client_id, key)
            if answer is not None:
                return answer
        return view(*args, **kwargs)

    return wrapper
