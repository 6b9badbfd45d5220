"""trip day: waitlist entries, seats held for offers, hold hours per partner

Revision ID: 0004_tripday_b
Revises: 0004_tripday
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0004_tripday_b"
down_revision = "0004_tripday"
branch_labels = None
depends_on = None

UTC_DATETIME = widget_server.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("trips") as batch_op:
        batch_op.add_column(
            sa.Column("seats_held", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_trips_held_in_range"),
            "seats_held >= 0 AND seats_pledged + seats_held <= capacity",
        )
    with op.batch_alter_table("partners") as batch_op:
        batch_op.add_column(
            sa.Column("waitlist_hold_hours", sa.Integer(), server_default="4", nullable=False)
        )
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("trip_id", sa.String(length=40), nullable=False),
        sa.Column("stop_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("offered_at", UTC_DATETIME, nullable=True),
        sa.Column("offer_expires_at", UTC_DATETIME, nullable=True),
        sa.Column("pledge_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "seats >= 1 AND seats <= 10", name=op.f("ck_waitlist_entries_seats_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_waitlist_entries_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"],
            ["pledges.id"],
            name=op.f("fk_waitlist_entries_pledge_id_pledges"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_waitlist_entries_stop_id_stops"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"],
            ["trips.id"],
            name=op.f("fk_waitlist_entries_trip_id_trips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    op.create_index(
        "ix_waitlist_entries_trip_status",
        "waitlist_entries",
        ["trip_id", "status", "position"],
        unique=False,
    )
    with op.batch_alter_table("outbound_emails") as batch_op:
        batch_op.add_column(sa.Column("waitlist_entry_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbound_emails_waitlist_entry_id_waitlist_entries",
            "waitlist_entries",
            ["waitlist_entry_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_emails") as batch_op:
        batch_op.drop_constraint(
            "fk_outbound_emails_waitlist_entry_id_waitlist_entries", type_="foreignkey"
        )
        batch_op.drop_column("waitlist_entry_id")
    op.drop_index("ix_waitlist_entries_trip_status", table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
    with op.batch_alter_table("partners") as batch_op:
        batch_op.drop_column("waitlist_hold_hours")
    with op.batch_alter_table("trips") as batch_op:
        batch_op.drop_constraint(op.f("ck_trips_held_in_range"), type_="check")
        batch_op.drop_column("seats_held")
