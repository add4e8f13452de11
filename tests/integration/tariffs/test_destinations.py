"""Destination loads: longest prefix, validity, superseding, bad lines, API, CLI, cache.

Each test works under its own prefix of +882 (international networks), which nothing
else here dials, so the shared table's other rows are not disturbed.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from billing.core.errors import InvalidInput
from billing.tariffs.commands import load_destinations_command
from billing.tariffs.destination_store import load_destination_file
from billing.tariffs.service import current_destinations, tariff_for
from tests.factories import on_default_plan

pytestmark = pytest.mark.integration
HEADER = "prefix,zone,name,country,operator,market,valid_from,valid_to\n"
PROBLEM = "application/problem+json"


def at(year: int) -> datetime:
    return datetime(year, 6, 1, tzinfo=UTC)


def load(sessions, text: str):
    with sessions.begin() as session:
        return load_destination_file(session, io.StringIO(text))


def zone_of(sessions, number: str, year: int) -> str | None:
    with sessions() as session:
        found = current_destinations(session).match(number, at(year))
    return found.zone if found else None


def test_the_longest_prefix_in_force_wins(sessions):
    summary = load(
        sessions,
        HEADER
        + "88291,T1-BASE,,,,,,\n"
        + "882911,T1-NEW,,,,,2030-01-01,\n"
        + "8829112,T1-OLD,,,,,2020-01-01,2025-01-01\n",
    )
    assert (summary.loaded, summary.superseded, summary.unchanged) == (3, 0, 0)
    number = "882911234567"
    assert zone_of(sessions, number, 2024) == "T1-OLD"
    assert zone_of(sessions, number, 2026) == "T1-BASE"  # OLD has ended, NEW not begun
    assert zone_of(sessions, number, 2031) == "T1-NEW"
    assert zone_of(sessions, "882919999999", 2031) == "T1-BASE"
    assert zone_of(sessions, "882999999999", 2031) == "INT-GLOBAL"  # the seeded 882


def test_a_dated_row_supersedes_the_open_one_and_a_reload_changes_nothing(sessions):
    load(sessions, HEADER + "88292,T2-FIRST,,,,,,\n")
    newer = HEADER + "88292,T2-SECOND,,,,,2027-01-01,\n"
    assert load(sessions, newer).superseded == 1
    assert zone_of(sessions, "882921234567", 2026) == "T2-FIRST"
    assert zone_of(sessions, "882921234567", 2028) == "T2-SECOND"
    again = load(sessions, newer)
    assert (again.loaded, again.superseded, again.unchanged) == (0, 0, 1)
    with pytest.raises(InvalidInput) as refused:
        load(sessions, HEADER + "88292,T2-UNDATED,,,,,,\n")
    assert "overlaps a stored row" in refused.value.errors["line 2"][0]


def test_one_bad_line_refuses_the_file_and_every_bad_line_is_named(client, admin, sessions):
    body = (
        HEADER
        + "88293,T3-GOOD,,,,,,\n"  # 2
        + "8829x,T3,,,,,,\n"  # 3
        + "88293,bad zone,,,,,,\n"  # 4
        + "88293,T3\n"  # 5
        + "882931,T3-A,,,,,2026-01-01,2027-01-01\n"  # 6
        + "882931,T3-B,,,,,2026-06-01,\n"  # 7: overlaps line 6
    )
    response = client.post(
        "/v1/destinations/import", data=body, content_type="text/csv", headers=admin.headers
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    problem = response.get_json()
    assert sorted(problem["errors"]) == ["line 3", "line 4", "line 5", "line 7"]
    assert "overlaps line 6" in problem["errors"]["line 7"][0]
    assert problem["detail"] == "4 bad line(s); nothing was loaded"
    assert zone_of(sessions, "882931234567", 2026) == "INT-GLOBAL"  # nothing was loaded


def test_upload_as_a_file_and_who_may(client, admin, finance, tenant):
    files = {"file": (io.BytesIO((HEADER + "88294,T4,,,,,,\n").encode()), "prefixes.csv")}
    for caller in (finance, tenant):
        refused = client.post("/v1/destinations/import", data="x", headers=caller.headers)
        assert refused.status_code == 403
    response = client.post(
        "/v1/destinations/import",
        data=files,
        content_type="multipart/form-data",
        headers=admin.headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"loaded": 1, "superseded": 0, "unchanged": 0}
    latin1 = client.post(
        "/v1/destinations/import",
        data="prefix,zone,name\n88295,T5,D\xe9s\n".encode("latin-1"),
        content_type="text/csv",
        headers=admin.headers,
    )
    assert latin1.status_code == 422 and "file" in latin1.get_json()["errors"]
    empty = client.post(
        "/v1/destinations/import", data=b"", content_type="text/csv", headers=admin.headers
    )
    assert empty.status_code == 422 and "line 1" in empty.get_json()["errors"]


def test_lookup_by_number(client, admin, tenant):
    found = client.get("/v1/destinations/lookup?number=0754%20000%20111", headers=admin.headers)
    assert found.status_code == 200
    assert found.get_json() | {"valid_from": None} == {
        "number": "255754000111",
        "prefix": "25575",
        "zone": "TZ-MOB-VODACOM",
        "country": "TZ",
        "operator": "vodacom",
        "market": "rest_of_africa",
        "valid_from": None,
        "valid_to": None,
    }
    assert (
        client.get("/v1/destinations/lookup?number=0754000111", headers=tenant.headers).status_code
        == 403
    )
    bad = client.get("/v1/destinations/lookup?number=hello", headers=admin.headers)
    assert bad.status_code == 422 and "destination" in bad.get_json()["errors"]


def test_the_command_loads_or_lists_bad_lines(runtime, tmp_path, sessions):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(HEADER + "88296,T6,,,,,,\n", encoding="utf-8")
    bad.write_text(HEADER + "88297,T7,,,,,,\n88297x,T7,,,,,,\n", encoding="utf-8")
    said: list[str] = []
    assert load_destinations_command(runtime, str(good), said.append) == 0
    assert "1 prefixes loaded, 0 superseded, 0 unchanged" in said[-1]
    said.clear()
    assert load_destinations_command(runtime, str(bad), said.append) == 1
    assert said[0].endswith("1 bad line(s); nothing was loaded")
    assert said[1].startswith("  line 3: prefix '88297x'")
    assert zone_of(sessions, "882971234567", 2026) == "INT-GLOBAL"


def test_a_load_reaches_cached_tariffs(sessions, tenant):
    with sessions.begin() as session:
        on_default_plan(session, tenant.tenant_id)
    with sessions() as session:
        before = tariff_for(session, tenant.tenant_id, at(2026)).destinations
    load(sessions, HEADER + "88298,T8,,,,,,\n")
    with sessions() as session:
        after = tariff_for(session, tenant.tenant_id, at(2026)).destinations
    assert before.match("882981234567", at(2026)).zone == "INT-GLOBAL"
    assert after.match("882981234567", at(2026)).zone == "T8"
    with sessions() as session:  # no load since: the same table object
        assert tariff_for(session, tenant.tenant_id, at(2026)).destinations is after
