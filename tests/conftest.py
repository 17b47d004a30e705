"""Shared test fixtures: a real mockserver process on a free port, and clients for it."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]  # tests of the marketing_mock plugin run pytest inside pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASIC = FIXTURES / "basic.yaml"
# The journal table as versions before the call-order column, the cut flags and auto-vacuum
# made it: tests open such a file to check that the server brings it up to date.
EARLIER_JOURNAL_TABLE = """CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, dialect TEXT NOT NULL,
    operation TEXT, tenant TEXT, caller TEXT NOT NULL DEFAULT '', authorization TEXT,
    cookie TEXT, status INTEGER NOT NULL, injected TEXT, duration_ms REAL NOT NULL,
    request BLOB NOT NULL, response BLOB NOT NULL)"""
# Every server the suite starts writes each answer both ways, with its compiled answer writer
# and with spyne, and answers a fault where they differ (mockserver/soap/codec.py).
os.environ.setdefault("MOCKSERVER_CODEC_CHECK", "1")
READY = re.compile(r"mockserver ready on (http://[^/\s]+/)")


@dataclass
class RunningServer:
    """A mockserver subprocess and what a test needs to talk to it."""

    base_url: str
    db_path: Path
    process: subprocess.Popen
    ready_line: str = ""

    @property
    def backclick_url(self) -> str:
        """The BACKCLICK SOAP endpoint."""
        return self.base_url + "bc/rpc/soap/backclickService"

    @property
    def backclick_wsdl(self) -> str:
        """The BACKCLICK WSDL URL."""
        return self.backclick_url + "?wsdl"

    def zeep(self, **settings):
        """A zeep client for the BACKCLICK dialect."""
        import zeep
        return zeep.Client(self.backclick_wsdl, settings=zeep.Settings(**settings))

    def get(self, path: str) -> tuple[int, bytes, dict]:
        """GET a path; (status, body, headers), without raising on errors."""
        return http("GET", self.base_url + path.lstrip("/"))

    def post(self, path: str, body: bytes, headers: dict | None = None):
        """POST raw bytes; (status, body, headers)."""
        return http("POST", self.base_url + path.lstrip("/"), body, headers)

    def json(self, path: str):
        """GET a JSON admin path and decode it."""
        status, body, _ = self.get(path)
        assert status == 200, body
        return json.loads(body)

    def outbox(self, **filters) -> list[dict]:
        """The outbox as the admin API lists it."""
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.json("_mock/outbox" + (f"?{query}" if query else ""))["mails"]

    def db(self) -> sqlite3.Connection:
        """A read connection to the server's store, for assertions on what was stored."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        return conn

    def rows(self, sql: str, *args) -> list[dict]:
        """Rows of a query on the store."""
        with self.db() as conn:
            return [dict(r) for r in conn.execute(sql, args)]

    def stop(self) -> None:
        """Stop the server and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # quick shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    """One HTTP request with the standard library; (status, body, headers)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def start_server(tmp_path: Path, *args: str, fixtures=(BASIC,), env: dict | None = None,
                 db: Path | None = None) -> RunningServer:
    """Start ``mockserver serve --port 0`` with fixtures; wait for its ready line."""
    db = db or tmp_path / "store.db"
    command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", str(db)]
    for f in fixtures:
        command += ["--fixtures", str(f)]
    command += list(args)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        match = READY.search(line)
        if match:
            _drain(process)
            return RunningServer(match.group(1), db, process, line.strip())
    process.kill()
    raise RuntimeError("mockserver did not become ready:\n" + "".join(lines))


def _drain(process: subprocess.Popen) -> None:
    import threading

    def pump():
        for line in process.stdout:
            sys.stderr.write("[mockserver] " + line)

    threading.Thread(target=pump, daemon=True).start()


@contextlib.contextmanager
def running_import(server: RunningServer, rows: int = 60000):
    """A large importSubscribers of mandator 1 running in a thread; entered once the server
    holds the import lock. Yields a dict whose "result" is the import's answer after exit."""
    data = "EMAIL\tFIRSTNAME\tNEWSLETTER\n" + "".join(
        f"big{i}@example.com\tN{i}\t1;2\n" for i in range(rows))
    outcome: dict = {}

    def run():
        outcome["result"] = server.zeep().service.importSubscribers(
            mandatorId=1, apiKey="shop-key-1234", importData=data)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.rows("SELECT * FROM import_locks") and time.monotonic() < deadline:
        time.sleep(0.005)
    assert server.rows("SELECT mandator_id FROM import_locks") == [{"mandator_id": 1}]
    outcome["thread"] = thread
    try:
        yield outcome
    finally:
        thread.join(60)


def stored(server: RunningServer, email: str):
    """(fields, {list: status}) of a mandator-1 subscriber, or None."""
    rows = server.rows("SELECT id, fields FROM subscribers WHERE mandator_id = 1 AND "
                       "email_key = ?", email.lower())
    if not rows:
        return None
    lists = server.rows("SELECT list_id, status FROM memberships WHERE subscriber_id = ? "
                        "ORDER BY list_id", rows[0]["id"])
    return json.loads(rows[0]["fields"]), {r["list_id"]: r["status"] for r in lists}


@pytest.fixture
def server(tmp_path):
    """A fresh server on the basic fixtures, one per test."""
    running = start_server(tmp_path)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server on the basic fixtures for a whole module (tests must not depend on each other)."""
    running = start_server(tmp_path_factory.mktemp("shared"))
    yield running
    running.stop()


@pytest.fixture
def client(server):
    """A zeep client on the per-test server."""
    return server.zeep()
