"""Issue 15: the published document is a tested contract. Schemathesis runs over the live
`/openapi.json` of `billing serve`, once per role, with every check on (server errors,
status codes, content types, response schemas and headers, positive and negative data,
405/Allow, auth, use-after-free, resource availability), its stateful phase following
the document's links, NUL generation on, a fixed seed and deterministic generation, so a
run is repeatable and bounded (about a minute per role on a quiet machine).

Per-operation allowances for rules JSON Schema cannot state are in schemathesis.toml,
each with its rule; no check is switched off. A failure prints Schemathesis' report: its
`curl` line reproduces the case.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 3
SEED = 15


@pytest.mark.parametrize("role", ["admin", "finance", "tenant"])
def test_the_live_api_keeps_its_published_contract(live_url, request, tmp_path, role):
    caller = request.getfixturevalue(role)
    run = subprocess.run(
        [
            SCHEMATHESIS, "--config-file", str(CONFIG), "--no-color", "run",
            f"{live_url}/openapi.json",
            "--header", f"Authorization: Bearer {caller.token}",
            "--checks", "all",
            "--max-examples", str(EXAMPLES_PER_OPERATION),
            "--seed", str(SEED),
            "--generation-deterministic",
            "--generation-allow-x00", "true", "--include-path-regex", "reconciliations|review-items",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-12_000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated and generated.group(1) == generated.group(2), report[-3000:]
    assert int(generated.group(1)) > 5, report[-3000:]  # the run reached the API
    print(f"schemathesis, {role}: {generated.group(1)} cases, all passed")
