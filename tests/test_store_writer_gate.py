"""Writers queue at the store's writer gate (mockserver/store/writer_gate.py), not in SQLite.

Over HTTP: two workers with two threads each take saveOrCreateSubscriber calls from sixteen
clients at once; every call is answered and every subscriber is stored. In process: the gate's
file lock is held by the outermost writer only, and other processes see it held meanwhile.
"""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from conftest import http, start_server

TNS = "http://soap.rpc.bc.backclick.de/"
PROBE = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
         "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
         "except BlockingIOError:\n    print('held')")


def save(email: str) -> bytes:
    """saveOrCreateSubscriber of one new subscriber on list 1."""
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="{TNS}">'
            f"<s:Body><m:saveOrCreateSubscriber><m:mandatorId>1</m:mandatorId>"
            f"<m:apiKey>shop-key-1234</m:apiKey><m:subscribers><m:item>"
            f"<m:subscriberEmail>{email}</m:subscriberEmail><m:newsletterListIds><m:item>1"
            f"</m:item></m:newsletterListIds></m:item></m:subscribers>"
            f"</m:saveOrCreateSubscriber></s:Body></s:Envelope>").encode()


def test_concurrent_writers_of_two_workers_all_land(tmp_path):
    server = start_server(tmp_path, "--workers", "2", "--threads", "2")
    try:
        emails = [f"gate-{n}@example.de" for n in range(240)]

        def call(email):
            return http("POST", server.backclick_url, save(email), {"Content-Type": "text/xml"})

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(call, emails))
        assert [status for status, _, _ in answers] == [200] * len(emails)
        assert all(b"<tns:responseCode>0</tns:responseCode>" in body for _, body, _ in answers)
        stored = server.rows("SELECT email FROM subscribers WHERE email LIKE 'gate-%'")
        assert sorted(r["email"] for r in stored) == sorted(emails)
        assert (tmp_path / "store.db.lock").exists()
    finally:
        server.stop()


def probe(lock_file) -> str:
    """'held' or 'free': the lock file's lock as another process finds it."""
    return subprocess.run([sys.executable, "-c", PROBE, str(lock_file)], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_the_outermost_writer_holds_the_file_lock(tmp_path):
    from mockserver.store.writer_gate import writing

    path = str(tmp_path / "store.db")
    with writing(path):
        assert probe(path + ".lock") == "held"
        with writing(path):  # the same thread again: no deadlock
            pass
        assert probe(path + ".lock") == "held"  # the inner one did not release it
    assert probe(path + ".lock") == "free"


def test_a_read_only_folder_still_lets_writers_in(tmp_path, monkeypatch):
    from mockserver.store import writer_gate

    def refuse(*_args, **_kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(writer_gate.os, "open", refuse)
    with writer_gate.writing(str(tmp_path / "elsewhere.db")):
        pass
