"""operators (bus companies): operators, vehicles, drivers, trip requests, invites, quotes,
payouts; trips gain their operator, quote, vehicle, driver and departure; console accounts and
API clients (and their tokens) belong to a partner or an operator; the audit log and the email
outbox have an operator's rows too

Revision ID: 0007_ops_core
Revises: 0006_h10
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0007_ops_core"
down_revision = "0006_h10"
branch_labels = None
depends_on = None

UTC_DATETIME = widget_server.models.types.UTCDateTime(timezone=True)
ONE_TENANT = "(partner_id IS NULL) <> (operator_id IS NULL)"


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _index(table: str, *columns: str, name: str | None = None) -> None:
    op.create_index(name or op.f(f"ix_{table}_{columns[0]}"), table, list(columns), unique=False)


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=True),
        sa.Column("usdot_number", sa.String(length=16), nullable=True),
        sa.Column("insurance_expires_on", sa.Date(), nullable=True),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("stripe_account_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _pk("operators"),
        sa.UniqueConstraint("slug", name=op.f("uq_operators_slug")),
    )
    op.create_table(
        "vehicles",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("operator_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=20), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("seats >= 1 AND seats <= 100", name=op.f("ck_vehicles_seats_in_range")),
        _fk("vehicles", "operator_id", "operators", "CASCADE"),
        _pk("vehicles"),
    )
    _index("vehicles", "operator_id")
    op.create_table(
        "operator_drivers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("operator_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _fk("operator_drivers", "operator_id", "operators", "CASCADE"),
        _pk("operator_drivers"),
    )
    _index("operator_drivers", "operator_id")
    op.create_table(
        "trip_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("origin_name", sa.String(length=200), nullable=False),
        sa.Column("origin_region", sa.String(length=200), nullable=True),
        sa.Column("departs_at", UTC_DATETIME, nullable=False),
        sa.Column("expected_riders", sa.Integer(), nullable=False),
        sa.Column("vehicle_kind", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("awarded_quote_id", sa.String(length=40), nullable=True),
        sa.Column("trip_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "expected_riders >= 1", name=op.f("ck_trip_requests_expected_riders_positive")
        ),
        _fk("trip_requests", "event_id", "events", "CASCADE"),
        _fk("trip_requests", "partner_id", "partners", "CASCADE"),
        _pk("trip_requests"),
    )
    _index("trip_requests", "event_id")
    _index(
        "trip_requests",
        "partner_id",
        "created_at",
        name="ix_trip_requests_partner_created",
    )
    op.create_table(
        "trip_request_invites",
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("operator_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _fk("trip_request_invites", "operator_id", "operators", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["trip_requests.id"],
            name=op.f("fk_trip_request_invites_request_id_trip_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "operator_id", name=op.f("pk_trip_request_invites")),
    )
    _index("trip_request_invites", "operator_id")
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("operator_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_id", sa.String(length=40), nullable=True),
        sa.Column("vehicle_kind", sa.String(length=32), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_until", UTC_DATETIME, nullable=False),
        sa.Column("notes", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_quotes_amount_non_negative")),
        sa.CheckConstraint("seats >= 1", name=op.f("ck_quotes_seats_positive")),
        _fk("quotes", "operator_id", "operators", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["trip_requests.id"],
            name=op.f("fk_quotes_request_id_trip_requests"),
            ondelete="CASCADE",
        ),
        _fk("quotes", "vehicle_id", "vehicles", "SET NULL"),
        _pk("quotes"),
    )
    _index("quotes", "operator_id")
    _index("quotes", "vehicle_id")
    _index("quotes", "request_id", "operator_id", name="ix_quotes_request_operator")

    with op.batch_alter_table("trips") as batch:
        batch.add_column(sa.Column("operator_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("quote_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("vehicle_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("driver_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("departed_at", UTC_DATETIME, nullable=True))
        batch.create_index(batch.f("ix_trips_operator_id"), ["operator_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_trips_operator_id_operators"),
            "operators",
            ["operator_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch.create_foreign_key(
            batch.f("fk_trips_quote_id_quotes"), "quotes", ["quote_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_foreign_key(
            batch.f("fk_trips_vehicle_id_vehicles"),
            "vehicles",
            ["vehicle_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            batch.f("fk_trips_driver_id_operator_drivers"),
            "operator_drivers",
            ["driver_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("trip_id", sa.String(length=40), nullable=False),
        sa.Column("operator_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transfer_id", sa.String(length=255), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("paid_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_payouts_amount_non_negative")),
        _fk("payouts", "operator_id", "operators", "RESTRICT"),
        _fk("payouts", "trip_id", "trips", "RESTRICT"),
        _pk("payouts"),
        sa.UniqueConstraint("trip_id", name=op.f("uq_payouts_trip_id")),
    )
    _index("payouts", "operator_id", "created_at", name="ix_payouts_operator_created")

    # Console accounts, API clients and their tokens: a partner's or an operator's.
    for table, indexed in (("admin_users", True), ("api_clients", True), ("access_tokens", False)):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("operator_id", sa.String(length=40), nullable=True))
            batch.alter_column("partner_id", existing_type=sa.String(length=40), nullable=True)
            if indexed:
                batch.create_index(batch.f(f"ix_{table}_operator_id"), ["operator_id"])
            batch.create_foreign_key(
                batch.f(f"fk_{table}_operator_id_operators"),
                "operators",
                ["operator_id"],
                ["id"],
                ondelete="CASCADE",
            )
            batch.create_check_constraint(batch.f(f"ck_{table}_one_tenant"), ONE_TENANT)
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("operator_id", sa.String(length=40), nullable=True))
        batch.create_index("ix_audit_operator_created", ["operator_id", "created_at"])
        batch.create_foreign_key(
            batch.f("fk_audit_log_operator_id_operators"),
            "operators",
            ["operator_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("outbound_emails") as batch:
        batch.add_column(sa.Column("operator_id", sa.String(length=40), nullable=True))
        batch.alter_column("partner_id", existing_type=sa.String(length=40), nullable=True)
        batch.create_index(batch.f("ix_outbound_emails_operator_id"), ["operator_id"])
        batch.create_foreign_key(
            batch.f("fk_outbound_emails_operator_id_operators"),
            "operators",
            ["operator_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    for table in ("outbound_emails", "audit_log"):
        op.execute(
            sa.table(table, sa.column("operator_id"))
            .delete()
            .where(sa.column("operator_id").isnot(None))
        )
    with op.batch_alter_table("outbound_emails") as batch:
        batch.drop_constraint(
            batch.f("fk_outbound_emails_operator_id_operators"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_outbound_emails_operator_id"))
        batch.alter_column("partner_id", existing_type=sa.String(length=40), nullable=False)
        batch.drop_column("operator_id")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(batch.f("fk_audit_log_operator_id_operators"), type_="foreignkey")
        batch.drop_index("ix_audit_operator_created")
        batch.drop_column("operator_id")
    for table, indexed in (("access_tokens", False), ("api_clients", True), ("admin_users", True)):
        op.execute(
            sa.table(table, sa.column("operator_id"))
            .delete()
            .where(sa.column("operator_id").isnot(None))
        )
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(batch.f(f"ck_{table}_one_tenant"), type_="check")
            batch.drop_constraint(batch.f(f"fk_{table}_operator_id_operators"), type_="foreignkey")
            if indexed:
                batch.drop_index(batch.f(f"ix_{table}_operator_id"))
            batch.alter_column("partner_id", existing_type=sa.String(length=40), nullable=False)
            batch.drop_column("operator_id")
    op.drop_index("ix_payouts_operator_created", table_name="payouts")
    op.drop_table("payouts")
    with op.batch_alter_table("trips") as batch:
        for name in (
            "fk_trips_driver_id_operator_drivers",
            "fk_trips_vehicle_id_vehicles",
            "fk_trips_quote_id_quotes",
            "fk_trips_operator_id_operators",
        ):
            batch.drop_constraint(batch.f(name), type_="foreignkey")
        batch.drop_index(batch.f("ix_trips_operator_id"))
        for column in ("departed_at", "driver_id", "vehicle_id", "quote_id", "operator_id"):
            batch.drop_column(column)
    op.drop_table("quotes")
    op.drop_table("trip_request_invites")
    op.drop_table("trip_requests")
    op.drop_table("operator_drivers")
    op.drop_table("vehicles")
    op.drop_table("operators")
