"""The example project under examples/: a user's suite that uses only the installed plugin
(marketing_mock) and zeep, run with pytest-xdist, on its own servers and on a shared one."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT, start_server

EXAMPLES = ROOT / "examples"
TESTS = 17  # tests of the example project, each on a tenant of its own


def run_examples(*args: str, env: dict | None = None, verbose: bool = False) -> str:
    """``pytest -n 2`` in examples/ as a user runs it; its output (the run must pass)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider",
                           "-v" if verbose else "-q", *args], cwd=EXAMPLES, capture_output=True, text=True,
                          timeout=300, env={**environment, **(env or {})})
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"\b{TESTS} passed\b", done.stdout), done.stdout
    return done.stdout


def test_examples_pass_with_a_server_per_worker():
    run_examples()


def test_parallel_tests_on_one_shared_server_see_only_their_own_tenant(tmp_path):
    server = start_server(tmp_path, "--workers", "2", fixtures=())
    try:
        out = run_examples("--marketing-mock-keep-tenants", verbose=True,
                           env={"MOCKSERVER_URL": server.base_url})
        # both xdist worker processes ran isolation tests against this one server
        workers = set(re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED tests/test_isolation.py", out))
        assert workers == {"gw0", "gw1"}, out
        tenants = server.json("_mock/tenants")["tenants"]
        assert len(tenants) == TESTS
        # the isolation test ran on 12 tenants: one same@example.com each, with its own name
        names = server.rows(
            "SELECT s.mandator_id, s.fields FROM subscribers s WHERE email='same@example.com' "
            "ORDER BY s.mandator_id")
        firsts = sorted(re.search(r'"FIRSTNAME": "([^"]+)"', r["fields"]).group(1)
                        for r in names)
        assert firsts == sorted(f"customer-{n}" for n in range(12))
        # and each tenant's journal holds its own exchanges only
        for tenant in tenants:
            seen = {e["tenant"] for e in server.json(
                f"_mock/journal?tenant={tenant['tenant']}&limit=1000")["exchanges"]}
            assert seen <= {tenant["backclick"]["filter"], tenant["copernica"]["filter"]}
    finally:
        server.stop()


def test_each_tests_tenant_is_removed_with_its_journal_and_rules(tmp_path):
    server = start_server(tmp_path, fixtures=())
    try:
        run_examples(env={"MOCKSERVER_URL": server.base_url})
        assert server.json("_mock/tenants") == {"tenants": [], "count": 0}
        assert server.json("_mock/journal")["exchanges"] == []
        assert server.json("_mock/faults")["rules"] == []
        assert server.rows("SELECT COUNT(*) AS n FROM subscribers") == [{"n": 0}]
        assert server.rows("SELECT COUNT(*) AS n FROM profiles") == [{"n": 0}]
        assert server.json("_mock/clock")["frozen"] is False
    finally:
        server.stop()
