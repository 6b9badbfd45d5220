"""Telling an operator (a bus company) what happened: an email to its contact address and its
owners, each in their language, and a webhook to the endpoints the operator registered.

Both go through the outboxes written in the caller's transaction (`domain.notify` for emails,
`webhooks.outbox` for webhooks): nothing is sent unless the change itself commits.

`data` is what the operator may see about the news (never fans' details): the webhook's `data`
as it is, and the email shows the facts it names when present: `partner` {"name"}, `event`
{"title"}, `origin` {"name"}, `departs_at`, `amount` with `currency`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.domain.notify import queue_news_email
from widget_server.domain.text import email_key
from widget_server.models import AdminUser, Operator
from widget_server.webhooks.outbox import OPERATOR_EVENT_TYPES, emit_to_operator

NEWS_ROLES = ("owner",)


def tell_operator(session: Session, operator_id: str, event_type: str, data: dict) -> None:
    """Email the operator's contact address and owners about `event_type` and send the webhook
    to its endpoints subscribed to it (both after commit)."""
    if event_type not in OPERATOR_EVENT_TYPES:
        raise ValueError(f"unknown operator event type {event_type!r}")
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise ValueError(f"no operator {operator_id}")
    emit_to_operator(session, operator.id, event_type, data)
    context = {
        "event_type": event_type,
        "data": data,
        "sender": (data.get("partner") or {}).get("name") or operator.name,
    }
    for address, locale in operator_recipients(session, operator):
        queue_news_email(
            session,
            kind="operator_news",
            to_address=address,
            locale=locale,
            context=context,
            operator_id=operator.id,
        )


def operator_recipients(session: Session, operator: Operator) -> list[tuple[str, str]]:
    """(address, locale) of who hears the operator's news, each address once: its owners in
    their own language, and the contact address in the language of its first owner."""
    owners = session.scalars(
        select(AdminUser)
        .where(AdminUser.operator_id == operator.id, AdminUser.role.in_(NEWS_ROLES))
        .order_by(AdminUser.created_at, AdminUser.id)
    ).all()
    first_locale = next((owner.locale for owner in owners if owner.locale), "en")
    recipients: dict[str, tuple[str, str]] = {}
    if operator.contact_email:
        recipients[email_key(operator.contact_email)] = (operator.contact_email, first_locale)
    for owner in owners:
        recipients.setdefault(email_key(owner.email), (owner.email, owner.locale or "en"))
    return list(recipients.values())
