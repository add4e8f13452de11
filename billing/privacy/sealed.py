"""Where sealed secrets are stored (`billing.core.sealing`), so `billing seal rotate` can
reseal every one under the newest key: (table, id column, sealed column). A capability
that stores a sealed value (TOTP secrets, provider credentials) adds its column here."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.core.sealing import reseal

SEALED_COLUMNS: list[tuple[str, str, str]] = []


def reseal_all(session: Session, columns: list[tuple[str, str, str]] | None = None) -> int:
    """Every stored sealed value sealed again under the newest key; how many changed.
    Values already under it come back unchanged (Fernet rotation keeps the plaintext)."""
    changed = 0
    for table, id_column, column in SEALED_COLUMNS if columns is None else columns:
        # names from SEALED_COLUMNS, the code's own constants, never input
        query = f"SELECT {id_column}, {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
        rows = session.execute(text(query)).all()
        for row_id, sealed in rows:
            fresh = reseal(sealed)
            session.execute(
                text(f"UPDATE {table} SET {column} = :v WHERE {id_column} = :i"),  # noqa: S608
                {"v": fresh, "i": row_id},
            )
            changed += 1
    return changed
