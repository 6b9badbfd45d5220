"""An operator's connected account at the payment provider (Stripe Connect Express): made once,
onboarded through the provider's hosted pages, read when the portal shows it.

Provider calls happen with no transaction open, as every money call does (docs/payments.md).
"""

from __future__ import annotations

import logging

from widget_server.domain.audit import record
from widget_server.domain.errors import NotFound
from widget_server.domain.operators.payouts import connected
from widget_server.domain.pledges.charging import PaymentContext
from widget_server.models import Operator
from widget_server.payments import ConnectedAccount, PaymentError, PermanentPaymentError

log = logging.getLogger(__name__)


def account_key(operator_id: str) -> str:
    """The idempotency key that makes the operator's account: one account per operator."""
    return f"operator-{operator_id}-account"


def onboarding_link(
    context: PaymentContext,
    operator_id: str,
    *,
    email: str,
    return_url: str,
    refresh_url: str,
    actor: str,
) -> str:
    """The address of the provider's onboarding for the operator's account, made first if the
    operator has none. Raises PaymentError / PermanentPaymentError when the provider fails."""
    with context.transaction() as session:
        account = _operator(session, operator_id).stripe_account_id
    if account is None:
        made = context.provider.create_connected_account(
            operator_id=operator_id, email=email, key=account_key(operator_id)
        )
        with context.transaction() as session:
            operator = _operator(session, operator_id)
            if operator.stripe_account_id is None:  # two owners at once: the first one's
                operator.stripe_account_id = made
                entry = record(
                    session, None, actor, "operator.stripe_connected", "operator", operator.id
                )
                entry.operator_id = operator.id  # the operator's own audit log
            account = operator.stripe_account_id
    return context.provider.onboarding_link(
        account_ref=account, return_url=return_url, refresh_url=refresh_url
    )


def account_state(context: PaymentContext, operator: Operator) -> ConnectedAccount | None:
    """What the provider says of the operator's account now; None without an account or when
    the provider cannot tell (the page then says so rather than failing)."""
    if operator.stripe_account_id is None:
        return None
    try:
        return context.provider.connected_account(operator.stripe_account_id)
    except (PaymentError, PermanentPaymentError) as exc:
        log.warning("account %s unreadable: %s", operator.stripe_account_id, exc)
        return None


def returned_from_onboarding(context: PaymentContext, operator_id: str) -> bool:
    """The holder came back from the provider's onboarding: if the account can now receive
    transfers, the operator's waiting payouts are due at once. Returns whether it can."""
    with context.transaction() as session:
        operator = _operator(session, operator_id)
    state = account_state(context, operator)
    if state is None or not state.transfers_enabled:
        return False
    with context.transaction() as session:
        connected(session, _operator(session, operator_id))
    return True


def _operator(session, operator_id: str) -> Operator:
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"no operator {operator_id}")
    return operator
