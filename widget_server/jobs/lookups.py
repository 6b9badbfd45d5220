"""Jobs for requests whose answer must not tell who has an account or a pledge ("forgot my
password", "email me my link", team invites): the request only schedules one of these (the same
work whoever asked), and the lookup happens here, after the answer was sent.

They take the email address typed (there is no id yet: finding one is the lookup), which stays
in the queue only until the job runs. There is nothing in the database for the sweep to find if
such a job is lost: the person asks again. Each is safe to run twice (a second invitation finds
the account the first made; a second link or reset email is harmless).
"""

from __future__ import annotations

import logging

from widget_server.domain.accounts import admins, password_links
from widget_server.domain.notify import queue_manage_links
from widget_server.extensions import db
from widget_server.models import AdminUser, Partner

log = logging.getLogger(__name__)


def send_manage_links(partner_id: str, trip_id: str, email: str) -> None:
    """Email fresh manage links for the fan's pledges on the trip, if any."""
    with db.transaction() as session:
        partner = session.get(Partner, partner_id)
        if partner is not None:
            queue_manage_links(session, partner, trip_id, email)


def send_password_reset(email: str) -> None:
    """Email a password reset link, if the address has a console account."""
    with db.transaction() as session:
        password_links.request_password_reset(session, email)


def invite_admin(tenant_id: str, email: str, role: str, invited_by_id: str) -> None:
    """Create and email the invited teammate (of the inviter's partner or operator), unless
    the address has an account already."""
    with db.transaction() as session:
        inviter = session.get(AdminUser, invited_by_id)
        if inviter is None or inviter.tenant is None or inviter.tenant.id != tenant_id:
            return
        invited = admins.invite_if_new(
            session, inviter.tenant, email=email, role=role, invited_by=inviter
        )
        if invited is None:
            log.info("invitation by %s not sent: the address has a console account", inviter.id)
