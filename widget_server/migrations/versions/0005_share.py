"""share and group: the partner's site page, the pledge a share link came from; emails about
a stop request (fans who asked for a stop without pledging)

Revision ID: 0005_share
Revises: 0005_brand
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_share"
down_revision = "0005_brand"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch_op:
        batch_op.add_column(sa.Column("site_url", sa.String(length=2000), nullable=True))
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.add_column(sa.Column("referred_by", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_pledges_referred_by_pledges"),
            "pledges",
            ["referred_by"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_pledges_referred_by", ["referred_by"], unique=False)
    with op.batch_alter_table("outbound_emails") as batch_op:
        batch_op.add_column(sa.Column("stop_request_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_outbound_emails_stop_request_id_stop_requests"),
            "stop_requests",
            ["stop_request_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_emails") as batch_op:
        batch_op.drop_constraint(
            op.f("fk_outbound_emails_stop_request_id_stop_requests"), type_="foreignkey"
        )
        batch_op.drop_column("stop_request_id")
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.drop_index("ix_pledges_referred_by")
        batch_op.drop_constraint(op.f("fk_pledges_referred_by_pledges"), type_="foreignkey")
        batch_op.drop_column("referred_by")
    with op.batch_alter_table("partners") as batch_op:
        batch_op.drop_column("site_url")
