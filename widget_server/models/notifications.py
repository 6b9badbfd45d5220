"""Fan emails, written in the same transaction as the change that causes them (an outbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.types import UTCDateTime, utcnow

EMAIL_KINDS = (
    "pledge_received",
    "pledge_paid",
    "trip_failed",
    "action_required",
    "pledge_dropped",
    "pledge_refunded",
    "pledge_canceled",
    "trip_canceled",
    "stop_added",
    "manage_link",
    "bus_leaving",
)
# Emails to console admins (templates in templates/admin/emails/), not about a pledge.
ADMIN_EMAIL_KINDS = ("admin_password_reset", "admin_invite")
# Emails about a waitlist entry (OutboundEmail.waitlist_entry_id) rather than a pledge.
WAITLIST_EMAIL_KINDS = ("waitlist_joined", "waitlist_offer")
# Emails about a stop request (OutboundEmail.stop_request_id) of a fan with no pledge.
STOP_REQUEST_EMAIL_KINDS = ("stop_added_asked",)
# Emails to a trip's bus operator (templates in templates/admin/emails/), about a trip.
OPERATOR_EMAIL_KINDS = ("driver_link",)
# News about buses (notifications/news_emails.py): to an operator's people ("operator_news",
# OutboundEmail.operator_id; domain.operators.news) or a partner's admins ("partner_news").
NEWS_EMAIL_KINDS = ("operator_news", "partner_news")


class OutboundEmail(Base):
    __tablename__ = "outbound_emails"
    __table_args__ = (Index("ix_outbound_emails_status", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("eml"))
    # A partner's email, or an operator's (its team's, its news): one of the two is set.
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    pledge_id: Mapped[str | None] = mapped_column(ForeignKey("pledges.id", ondelete="CASCADE"))
    # Waitlist emails are about an entry, not a pledge.
    waitlist_entry_id: Mapped[str | None] = mapped_column(
        ForeignKey("waitlist_entries.id", ondelete="CASCADE")
    )
    # A `stop_added_asked` email is about a stop request of a fan with no pledge.
    stop_request_id: Mapped[str | None] = mapped_column(
        ForeignKey("stop_requests.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(8))
    # Values the template needs that may change later (amounts, links), frozen at the event.
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(
        String(12), default="pending"
    )  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
