"""`billing seal rotate`: every stored sealed value is resealed under the newest key, so
the old key can be removed and the values still open."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.core.sealing import SealBroken, new_key, seal, unseal
from billing.privacy.sealed import reseal_all

pytestmark = pytest.mark.integration


def test_rotation_reseals_every_value_under_the_newest_key(sessions, monkeypatch):
    old, new = new_key(), new_key()
    monkeypatch.setenv("MALIPO_SEAL_KEYS", old)
    secrets = {1: "totp-secret-one", 2: "mpesa-api-key-two"}
    with sessions() as session, session.begin():
        session.execute(text("CREATE TEMP TABLE vault (id int, secret text) ON COMMIT DROP"))
        session.execute(text("INSERT INTO vault VALUES (:i, :s)"),
                        [{"i": i, "s": seal(v)} for i, v in secrets.items()])  # fmt: skip
        monkeypatch.setenv("MALIPO_SEAL_KEYS", f"{new},{old}")  # the new key in front
        assert reseal_all(session, [("vault", "id", "secret")]) == 2
        monkeypatch.setenv("MALIPO_SEAL_KEYS", new)  # the old key removed
        stored = dict(session.execute(text("SELECT id, secret FROM vault")).all())
        assert {i: unseal(v) for i, v in stored.items()} == secrets
        monkeypatch.setenv("MALIPO_SEAL_KEYS", old)
        with pytest.raises(SealBroken):
            unseal(stored[1])
