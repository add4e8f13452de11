"""usage records partitioned by month of their start (PostgreSQL)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 00:40:00

Declarative partitioning on `started_at`, one partition a month, so old detail is
dropped (or pseudonymised) a month at a time by the retention job, and a month's
queries read one partition. PostgreSQL wants the partition key in every unique key:

- primary key (id, started_at): rows are still found by id (each partition's index
  leads with it), and `id` stays unique by its sequence;
- unique (source_system, source_id, revision, started_at): the natural key. Intake
  looks keys up by (source_system, source_id) first (that index leads with them), so a
  resend is a duplicate wherever it is; the constraint guards the race within a month.
- the self-reference superseded_by_id loses its foreign key (a key into a partitioned
  table must carry the partition key), as the ledger references did in 0011.

Partitions: usage_records_YYYY_MM from 24 months back to 3 ahead, and a default one for
anything outside. `usage_partition_ensure(month)` and `usage_partition_drop(month)` run
as the owner (SECURITY DEFINER), so the service's role, which owns nothing, can keep
months ahead and drop expired ones, and nothing else. SQLite keeps one table.
"""

from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

POLICY_USING = (
    "(current_setting('malipo.scope', true) IN ('system', 'staff') OR"
    " (current_setting('malipo.scope', true) = 'tenant' AND"
    " tenant_id = current_setting('malipo.tenant_id', true)))"
)

# Quoted for the string literal format() reads it from.
_POLICY_LITERAL = POLICY_USING.replace("'", "''")

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION usage_partition_ensure(month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := 'usage_records_' || to_char(first, 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF usage_records FOR VALUES FROM (%L) TO (%L)',
                   name, first::timestamp AT TIME ZONE 'UTC',
                   (first + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    -- a partition read by its own name is bound by the same policy as its parent
    IF (SELECT relrowsecurity FROM pg_class WHERE oid = 'usage_records'::regclass) THEN
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING {_POLICY_LITERAL} WITH CHECK {_POLICY_LITERAL}', name);
    END IF;
    RETURN name;
END $$;

CREATE OR REPLACE FUNCTION usage_partition_drop(month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := 'usage_records_' || to_char(first, 'YYYY_MM');
BEGIN
    IF first >= date_trunc('month', now() - interval '1 month')::date THEN
        RAISE EXCEPTION 'usage month % is too recent to drop', to_char(first, 'YYYY-MM')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF to_regclass(name) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('ALTER TABLE usage_records DETACH PARTITION %I', name);
    EXECUTE format('DROP TABLE %I', name);
    RETURN true;
END $$;

REVOKE ALL ON FUNCTION usage_partition_ensure(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_partition_drop(date) FROM PUBLIC;
"""

def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        with op.batch_alter_table("usage_records") as batch:
            batch.drop_constraint("fk_usage_records_superseded_by_id_usage_records", type_="foreignkey")
            batch.drop_constraint("uq_usage_records_source_system_source_id_revision", type_="unique")
            batch.create_unique_constraint(
                "uq_usage_records_source_system_source_id_revision_started_at",
                ["source_system", "source_id", "revision", "started_at"],
            )
        return
    op.execute("ALTER TABLE usage_records RENAME TO usage_records_unpartitioned")
    op.execute(
        "CREATE TABLE usage_records (LIKE usage_records_unpartitioned INCLUDING DEFAULTS"
        " INCLUDING CONSTRAINTS) PARTITION BY RANGE (started_at)"
    )
    op.execute("ALTER SEQUENCE usage_records_id_seq OWNED BY usage_records.id")
    op.execute(
        "ALTER TABLE usage_records_unpartitioned"
        " DROP CONSTRAINT fk_usage_records_superseded_by_id_usage_records"
    )
    op.execute("ALTER TABLE usage_records_unpartitioned DROP CONSTRAINT pk_usage_records")
    op.execute(
        "ALTER TABLE usage_records_unpartitioned"
        " DROP CONSTRAINT uq_usage_records_source_system_source_id_revision"
    )
    op.execute("DROP INDEX ix_usage_records_tenant_occurred")
    op.execute("DROP INDEX ix_usage_records_waiting")
    op.execute("ALTER TABLE usage_records ADD CONSTRAINT pk_usage_records PRIMARY KEY (id, started_at)")
    op.execute(
        "ALTER TABLE usage_records ADD CONSTRAINT"
        " uq_usage_records_source_system_source_id_revision_started_at"
        " UNIQUE (source_system, source_id, revision, started_at)"
    )
    op.execute("CREATE INDEX ix_usage_records_tenant_occurred ON usage_records (tenant_id, occurred_at)")
    op.execute(
        "CREATE INDEX ix_usage_records_waiting ON usage_records (status, id)"
        " WHERE status IN ('pending', 'unbilled', 'rejected')"
    )
    op.execute(FUNCTIONS)
    op.execute("CREATE TABLE usage_records_default PARTITION OF usage_records DEFAULT")
    first = bind.execute(sa.text(
        "SELECT least(date_trunc('month', now() - interval '24 months'),"
        " coalesce((SELECT date_trunc('month', min(started_at)) FROM usage_records_unpartitioned),"
        " now()))::date"
    )).scalar_one()  # fmt: skip
    op.execute(sa.text(
        "SELECT usage_partition_ensure(m::date) FROM generate_series("
        " CAST(:first AS date), date_trunc('month', now() + interval '3 months'), interval '1 month') m"
    ).bindparams(first=first))
    op.execute("INSERT INTO usage_records SELECT * FROM usage_records_unpartitioned")
    op.execute("DROP TABLE usage_records_unpartitioned")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        with op.batch_alter_table("usage_records") as batch:
            batch.drop_constraint("uq_usage_records_source_system_source_id_revision_started_at", type_="unique")
            batch.create_unique_constraint(
                "uq_usage_records_source_system_source_id_revision",
                ["source_system", "source_id", "revision"],
            )
            batch.create_foreign_key(
                "fk_usage_records_superseded_by_id_usage_records", "usage_records",
                ["superseded_by_id"], ["id"],
            )
        return
    op.execute("ALTER TABLE usage_records RENAME TO usage_records_partitioned")
    op.execute(
        "CREATE TABLE usage_records (LIKE usage_records_partitioned INCLUDING DEFAULTS"
        " INCLUDING CONSTRAINTS)"
    )
    op.execute("ALTER SEQUENCE usage_records_id_seq OWNED BY usage_records.id")
    op.execute("INSERT INTO usage_records SELECT * FROM usage_records_partitioned")
    op.execute("DROP TABLE usage_records_partitioned CASCADE")
    op.execute("DROP FUNCTION IF EXISTS usage_partition_ensure(date)")
    op.execute("DROP FUNCTION IF EXISTS usage_partition_drop(date)")
    op.execute("ALTER TABLE usage_records ADD CONSTRAINT pk_usage_records PRIMARY KEY (id)")
    op.execute(
        "ALTER TABLE usage_records ADD CONSTRAINT uq_usage_records_source_system_source_id_revision"
        " UNIQUE (source_system, source_id, revision)"
    )
    op.execute("CREATE INDEX ix_usage_records_tenant_occurred ON usage_records (tenant_id, occurred_at)")
    op.execute(
        "CREATE INDEX ix_usage_records_waiting ON usage_records (status, id)"
        " WHERE status IN ('pending', 'unbilled', 'rejected')"
    )
    op.execute(
        "ALTER TABLE usage_records ADD CONSTRAINT fk_usage_records_superseded_by_id_usage_records"
        " FOREIGN KEY (superseded_by_id) REFERENCES usage_records (id)"
    )
