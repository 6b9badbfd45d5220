"""What the domain's use cases run with in this app: the one place that binds them to Flask.

Views and jobs call a domain service (`domain/pledges/placing.py`,
`domain/pledges/charging.py`) with `payments()`: the request's or job's session transaction
(`db.transaction`, which commits at the edge and then enqueues the jobs the domain scheduled),
the configured payment provider, and the charge metric. The services themselves import no Flask.
"""

from __future__ import annotations

from flask import current_app

from widget_server.domain.pledges.charging import PaymentContext
from widget_server.extensions import db
from widget_server.observability.metrics import CHARGES


def _count_charge(outcome: str) -> None:
    CHARGES.labels(outcome).inc()


def payments() -> PaymentContext:
    """The PaymentContext of the current app (inside an app or request context)."""
    return PaymentContext(
        db.transaction, current_app.extensions["ridepledge.payments"], _count_charge
    )


def secret_key() -> str:
    """SECRET_KEY, which the pledge services use to check referral codes."""
    return current_app.config["SECRET_KEY"]
