"""trip day: stop requests from fans

Revision ID: 0004_tripday_c
Revises: 0004_tripday_b
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0004_tripday_c"
down_revision = "0004_tripday_b"
branch_labels = None
depends_on = None

UTC_DATETIME = widget_server.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stop_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("trip_id", sa.String(length=40), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("place_key", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("stop_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_stop_requests_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_stop_requests_stop_id_stops"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"],
            ["trips.id"],
            name=op.f("fk_stop_requests_trip_id_trips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stop_requests")),
        sa.UniqueConstraint(
            "trip_id", "place_key", "email_key", name=op.f("uq_stop_requests_trip_id")
        ),
    )
    op.create_index(
        "ix_stop_requests_trip_place", "stop_requests", ["trip_id", "place_key"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_stop_requests_trip_place", table_name="stop_requests")
    op.drop_table("stop_requests")
