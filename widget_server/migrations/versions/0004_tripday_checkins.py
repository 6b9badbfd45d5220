"""trip day: driver link generation, check-ins, boardings

Revision ID: 0004_tripday
Revises: 0004_scale
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0004_tripday"
down_revision = "0004_console_b"
branch_labels = None
depends_on = None

UTC_DATETIME = widget_server.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("trips") as batch_op:
        batch_op.add_column(
            sa.Column("driver_link_generation", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trip_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("pledge_id", sa.String(length=40), nullable=True),
        sa.Column("device", sa.String(length=60), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("happened_at", UTC_DATETIME, nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pledge_id"],
            ["pledges.id"],
            name=op.f("fk_checkins_pledge_id_pledges"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"], ["trips.id"], name=op.f("fk_checkins_trip_id_trips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("trip_id", "client_id", name="uq_checkins_trip_client"),
    )
    op.create_index(op.f("ix_checkins_pledge_id"), "checkins", ["pledge_id"], unique=False)
    op.create_table(
        "boardings",
        sa.Column("pledge_id", sa.String(length=40), nullable=False),
        sa.Column("trip_id", sa.String(length=40), nullable=False),
        sa.Column("boarded_at", UTC_DATETIME, nullable=False),
        sa.Column("device", sa.String(length=60), nullable=False),
        sa.Column("checkin_client_id", sa.String(length=64), nullable=False),
        sa.Column("double_boarded", sa.Boolean(), nullable=False),
        sa.Column("second_device", sa.String(length=60), nullable=True),
        sa.Column("second_boarded_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["pledge_id"],
            ["pledges.id"],
            name=op.f("fk_boardings_pledge_id_pledges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"], ["trips.id"], name=op.f("fk_boardings_trip_id_trips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pledge_id", name=op.f("pk_boardings")),
    )
    op.create_index(op.f("ix_boardings_trip_id"), "boardings", ["trip_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_boardings_trip_id"), table_name="boardings")
    op.drop_table("boardings")
    op.drop_index(op.f("ix_checkins_pledge_id"), table_name="checkins")
    op.drop_table("checkins")
    with op.batch_alter_table("trips") as batch_op:
        batch_op.drop_column("driver_link_generation")
