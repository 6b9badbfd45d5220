"""stop_departures: the driver's "ready to leave" message per stop and the bus leaving it

Revision ID: 0007_ops_trips
Revises: 0007_ops_market (chained locally after ops-core's and ops-market's; the lead
re-chains the 0007 migrations at merge)
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0007_ops_trips"
down_revision = "0007_ops_market"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = widget_server.models.types.UTCDateTime(timezone=True)
    op.create_table(
        "stop_departures",
        sa.Column("stop_id", sa.String(length=40), nullable=False),
        sa.Column("trip_id", sa.String(length=40), nullable=False),
        sa.Column("called_at", moment, nullable=True),
        sa.Column("called_by", sa.String(length=60), nullable=True),
        sa.Column("call_message", sa.String(length=500), nullable=True),
        sa.Column("call_recipients", sa.Integer(), nullable=False),
        sa.Column("departed_at", moment, nullable=True),
        sa.Column("departed_by", sa.String(length=60), nullable=True),
        sa.Column("departure_client_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_stop_departures_stop_id_stops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"],
            ["trips.id"],
            name=op.f("fk_stop_departures_trip_id_trips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stop_id", name=op.f("pk_stop_departures")),
    )
    op.create_index(
        op.f("ix_stop_departures_trip_id"), "stop_departures", ["trip_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_stop_departures_trip_id"), table_name="stop_departures")
    op.drop_table("stop_departures")
