"""``mockserver serve``: options, environment, persistence, workers, admin protection."""
import json
import sqlite3
import subprocess
import sys

import pytest
import zeep

from conftest import BASIC, ROOT, http, running_import, start_server


def run_cli(*args, env=None, timeout=30):
    """Run ``python -m mockserver ARGS``; (exit status, combined output)."""
    import os
    done = subprocess.run([sys.executable, "-m", "mockserver", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout, env={**os.environ, **(env or {})})
    return done.returncode, done.stdout + done.stderr


def test_help_reads_like_documentation():
    status, out = run_cli("--help")
    assert status == 0
    for command in ("serve", "seed", "export", "wsdl", "check"):
        assert command in out
    status, out = run_cli("serve", "--help")
    for option in ("--host", "--port", "--db", ":memory:", "--fixtures", "--demo",
                   "--trusted-proxy", "--workers", "--max-body", "--admin-token"):
        assert option in out


def test_ready_line_names_the_wsdl(server):
    status, body, _ = http("GET", server.backclick_wsdl)
    assert status == 200 and b"backclickService" in body
    assert server.json("_mock/health")["status"] == "ok"


def test_options_come_from_the_environment(tmp_path):
    running = start_server(tmp_path, fixtures=(), env={
        "MOCKSERVER_FIXTURES": str(BASIC), "MOCKSERVER_TRUSTED_PROXY": "127.0.0.1/32"})
    try:
        session_headers = {"X-Forwarded-For": "198.51.100.9"}
        from requests import Session
        from zeep.transports import Transport
        session = Session()
        session.headers.update(session_headers)
        client = zeep.Client(running.backclick_wsdl, transport=Transport(session=session))
        (view,) = client.service.getSubscribers(mandatorId=3, emailAddresses={"item": ["a@b.de"]})
        assert view.status == -1  # allowed: the trusted proxy's X-Forwarded-For names 198.51.100.9
    finally:
        running.stop()


def test_memory_store_is_throwaway_and_shared_by_workers(tmp_path):
    running = start_server(tmp_path, "--db", ":memory:", "--workers", "2")
    try:
        client = running.zeep()
        client.service.saveOrCreateSubscriber(mandatorId=1, subscribers={"item": [
            {"subscriberEmail": "mem@example.com", "newsletterListIds": {"item": [1]}}]})
        for _ in range(20):  # fresh connections land on either worker
            status, body, _ = http("GET", running.base_url + "_mock/outbox")
            assert status == 200
            views = running.zeep().service.getSubscribers(
                mandatorId=1, emailAddresses={"item": ["mem@example.com"]})
            assert views[0].status == 1
    finally:
        running.stop()


def test_state_survives_a_restart(tmp_path):
    first = start_server(tmp_path)
    first.zeep().service.saveOrCreateSubscriber(mandatorId=1, subscribers={"item": [
        {"subscriberEmail": "stays@example.com", "newsletterListIds": {"item": [2]}}]})
    first.stop()
    second = start_server(tmp_path)  # same --db; fixtures are not re-applied to a store with data
    try:
        (view,) = second.zeep().service.getSubscribers(
            mandatorId=1, emailAddresses={"item": ["stays@example.com"]})
        assert view.status == 1 and view.newsletterListIds == "2"
        assert second.rows("SELECT count(*) AS n FROM mandators")[0]["n"] == 3
    finally:
        second.stop()


def test_migrations_run_on_start_and_record_the_version(server):
    assert server.rows("SELECT value FROM meta WHERE key='schema_version'") == [{"value": "8"}]
    assert server.json("_mock/health")["schemaVersion"] == 8
    assert server.rows("PRAGMA journal_mode") == [{"journal_mode": "wal"}]


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    db = tmp_path / "future.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '999')")
    status, out = run_cli("serve", "--port", "0", "--db", str(db))
    assert status == 1
    assert "has schema version 999; this mockserver knows only up to 8" in out


def test_import_lock_is_shared_by_worker_processes(tmp_path):
    running = start_server(tmp_path, "--workers", "2")
    try:
        with running_import(running, rows=150000) as first:
            for _ in range(3):  # a new client and connection each time: the idle worker answers
                with pytest.raises(zeep.exceptions.Fault) as info:
                    running.zeep().service.importSubscribers(
                        mandatorId=1, importData="EMAIL\nlate@example.com\n")
                assert info.value.message == ("Another auto import is running. "
                                              "Please try again later.")
        assert first["result"].importedCount == 150000
        assert running.rows("SELECT * FROM subscribers WHERE email_key='late@example.com'") == []
    finally:
        running.stop()


def test_non_loopback_bind_needs_an_admin_token(tmp_path):
    status, out = run_cli("serve", "--host", "0.0.0.0", "--port", "0", "--db",
                          str(tmp_path / "x.db"))
    assert status == 1
    assert ("binding to 0.0.0.0 exposes the admin API; pass --admin-token TOKEN "
            "(or set MOCKSERVER_ADMIN_TOKEN)") in out


def test_admin_token_protects_the_admin_api(tmp_path):
    running = start_server(tmp_path, "--admin-token", "s3cret")
    try:
        status, body, _ = running.get("_mock/outbox")
        assert status == 401
        assert json.loads(body) == {
            "error": "The admin API needs 'Authorization: Bearer <admin token>'."}
        status, body, _ = http("GET", running.base_url + "_mock/outbox",
                               headers={"Authorization": "Bearer s3cret"})
        assert status == 200 and json.loads(body)["mails"] == []
        # the SOAP dialect is not behind the admin token
        assert running.zeep().service.getSubscribers(
            mandatorId=1, emailAddresses={"item": ["x@example.com"]})[0].status == -1
    finally:
        running.stop()


def test_without_an_admin_token_the_admin_api_answers_this_machine_only(tmp_path):
    running = start_server(tmp_path, "--trusted-proxy", "127.0.0.1/32")
    try:
        far = {"X-Forwarded-For": "203.0.113.7"}
        for path in ("_mock/health", "_mock/outbox", "_mock/ui/"):
            status, body, headers = http("GET", running.base_url + path, headers=far)
            assert status == 403 and headers["Content-Type"].startswith("application/json")
            assert json.loads(body) == {"error": (
                "The admin API answers callers on this machine only, not 203.0.113.7; start "
                "mockserver with --admin-token to reach it from elsewhere.")}
        status, _, _ = http("POST", running.base_url + "_mock/reset", headers=far)
        assert status == 403
        assert running.rows("SELECT COUNT(*) AS n FROM mandators") != [{"n": 0}]  # not reset
        near = {"X-Forwarded-For": "127.0.0.1"}
        assert http("GET", running.base_url + "_mock/health", headers=near)[0] == 200
        assert running.get("_mock/health")[0] == 200
        # callback receivers anywhere fetch the signatures' public key
        assert http("GET", running.base_url + "_mock/callbacks/key.pem", headers=far)[0] == 200
        # a page of another site in a browser on this machine: refused, nothing changed
        status, body, _ = http("POST", running.base_url + "_mock/faults",
                               b'{"fault": "pwned"}', {"Origin": "http://evil.example",
                                                       "Content-Type": "text/plain"})
        assert status == 403 and json.loads(body) == {"error": (
            "The admin API answers no calls from pages of another site "
            "(Origin: http://evil.example).")}
        assert running.json("_mock/faults")["rules"] == []
        # a name rebound to 127.0.0.1 by DNS: refused
        status, body, _ = http("GET", running.base_url + "_mock/health",
                               headers={"Host": "evil.example:8080"})
        assert status == 403 and "addressed to localhost, 127.0.0.1 or [::1] only, not " \
            "evil.example" in json.loads(body)["error"]
        # the mock's own pages and scripts: answered
        same = {"Origin": running.base_url.rstrip("/")}
        assert http("GET", running.base_url + "_mock/health", headers=same)[0] == 200
        assert http("GET", running.base_url.replace("127.0.0.1", "localhost") +
                    "_mock/health")[0] == 200
    finally:
        running.stop()
