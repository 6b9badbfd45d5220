"""console: optional two-step sign-in (TOTP) with recovery codes; a partner may require it

Revision ID: 0005_totp
Revises: 0004_tripday_c
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0005_totp"
down_revision = "0004_tripday_c"
branch_labels = None
depends_on = None

UTC_DATETIME = widget_server.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("admin_users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_pending_secret", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("partners") as batch:
        batch.add_column(
            sa.Column("require_two_step", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "admin_recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("admin_id", sa.String(length=40), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["admin_id"],
            ["admin_users.id"],
            name=op.f("fk_admin_recovery_codes_admin_id_admin_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_recovery_codes")),
        sa.UniqueConstraint("admin_id", "code_hash", name=op.f("uq_admin_recovery_codes_admin_id")),
    )
    op.create_index(
        op.f("ix_admin_recovery_codes_admin_id"),
        "admin_recovery_codes",
        ["admin_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_admin_recovery_codes_admin_id"), table_name="admin_recovery_codes")
    op.drop_table("admin_recovery_codes")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("require_two_step")
    with op.batch_alter_table("admin_users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_pending_secret")
        batch.drop_column("totp_secret")
