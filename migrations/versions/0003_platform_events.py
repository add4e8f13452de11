"""platform_events: events told to the platform by signed webhook

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("pending", "delivered", "no_endpoint", "failed")


def upgrade() -> None:
    op.create_table(
        "platform_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES,
                name="platform_event_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_platform_events_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_events")),
    )
    op.create_index(
        op.f("ix_platform_events_tenant_id"), "platform_events", ["tenant_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_platform_events_tenant_id"), table_name="platform_events")
    op.drop_table("platform_events")
