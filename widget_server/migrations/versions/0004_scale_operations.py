"""scale: periodic run leases, erasure marks on pledges and demand signals

Revision ID: 0004_scale
Revises: 0004_money
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0004_scale"
down_revision = "0004_secweb"
branch_labels = None
depends_on = None

UTC = widget_server.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "periodic_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("period_start", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("holder", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_runs")),
    )
    with op.batch_alter_table("pledges") as batch:
        batch.add_column(sa.Column("erased_at", UTC, nullable=True))
    with op.batch_alter_table("demand_signals") as batch:
        batch.add_column(sa.Column("erased_at", UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("demand_signals") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("pledges") as batch:
        batch.drop_column("erased_at")
    op.drop_table("periodic_runs")
