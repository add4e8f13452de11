"""privacy: data exports, erasure requests, restriction and closing of tenants

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 00:30:00

- data_exports: one archive of everything held about a tenant, for its requester
  only, until it expires (then the file is deleted and the row says so).
- erasure_requests: asked by a tenant admin, approved by an admin once the balance is
  settled; the report (what was erased, what was kept and why) holds no personal data.
- tenants.restricted_at: processing restricted (kept, not processed beyond what law
  requires); tenants.status gains `closed` (an erased tenant).
"""

from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

TENANT_STATUSES_BEFORE = ("active", "suspended")
TENANT_STATUSES = (*TENANT_STATUSES_BEFORE, "closed")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


# The audit trail stays append-only, except that an erasure's own transaction (which
# names the tenant in `malipo.erasing`) may replace the personal values quoted in that
# tenant's events; nothing else of an event may change, and nothing is deleted.
AUDIT_REDACTABLE = """
CREATE OR REPLACE FUNCTION audit_events_redactable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.tenant_id IS NOT NULL
       AND OLD.tenant_id = current_setting('malipo.erasing', true)
       AND (NEW.id, NEW.at, NEW.actor, NEW.action, NEW.subject_type, NEW.subject_id,
            NEW.tenant_id)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor, OLD.action, OLD.subject_type, OLD.subject_id,
            OLD.tenant_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_redactable();
"""
AUDIT_APPEND_ONLY = """
DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
DROP FUNCTION IF EXISTS audit_events_redactable();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(AUDIT_REDACTABLE)
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(_when("restricted_at"))
        batch.add_column(sa.Column("restriction_reason", sa.String(300), nullable=True))
        batch.drop_constraint("tenant_status", type_="check")
        batch.create_check_constraint(
            "tenant_status", sa.column("status").in_(TENANT_STATUSES)
        )
    op.create_table(
        "data_exports",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id", name="fk_data_exports_tenant_id_tenants"), nullable=False),
        sa.Column("requested_by", sa.String(40), nullable=False),  # the API key's id
        sa.Column("status", _enum("export_status", "queued", "ready", "failed", "expired"), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("failure", sa.String(300), nullable=True),
        _when("created_at", False),
        _when("finished_at"),
        _when("expires_at"),
        sa.PrimaryKeyConstraint("id", name="pk_data_exports"),
    )
    op.create_index("ix_data_exports_tenant_id", "data_exports", ["tenant_id"])
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id", name="fk_erasure_requests_tenant_id_tenants"), nullable=False),
        sa.Column("requested_by", sa.String(40), nullable=False),
        sa.Column("status", _enum("erasure_status", "pending", "approved", "rejected", "completed"), nullable=False),
        sa.Column("decided_by", sa.String(60), nullable=True),
        sa.Column("note", sa.String(300), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        _when("created_at", False),
        _when("decided_at"),
        _when("completed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_erasure_requests"),
    )
    op.create_index("ix_erasure_requests_tenant_id", "erasure_requests", ["tenant_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(AUDIT_APPEND_ONLY)
    op.drop_table("erasure_requests")
    op.drop_table("data_exports")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint("tenant_status", type_="check")
        batch.create_check_constraint(
            "tenant_status", sa.column("status").in_(TENANT_STATUSES_BEFORE)
        )
        batch.drop_column("restriction_reason")
        batch.drop_column("restricted_at")
