"""Snapshots over HTTP: save, list, restore (atomic, fast), delete; both dialects through zeep."""
from __future__ import annotations

import json
import threading
import time

import pytest

from conftest import BASIC, start_server
from copernica_harness import Api, copernica_server, pairs
from test_backclick_subscribers import KEY, get, save, sub
from mockserver.backclick import tables as backclick_tables

SHOP = 1


def call(server, method: str, path: str, body: bytes | None = None):
    """An admin call; (status, decoded JSON)."""
    from conftest import http
    status, out, _ = http(method, server.base_url + path.lstrip("/"), body)
    return status, json.loads(out)


@pytest.fixture
def cop(tmp_path):
    """A server with the BACKCLICK and Copernica fixtures, two workers."""
    running = copernica_server(tmp_path, "--workers", "2")
    yield running
    running.stop()


def send_mail(client, to: str) -> None:
    """A transaction mail of mandator 1 (lands in the outbox)."""
    channel = client.service.createTransactionChannel(mandatorId=SHOP, apiKey=KEY)
    client.service.sendTransactionMail(mandatorId=SHOP, apiKey=KEY, channelId=channel,
                                       recipient={"emailAddress": to}, subject="Order",
                                       mailContent="Thanks.")


def test_save_change_restore_undoes_the_change_in_both_dialects(cop):
    client, api = cop.zeep(), Api(cop)
    (db,) = [d.id for d in api("Account_databases").items.database if d.name == "Customers"]
    profiles = api("Database_searchProfiles", id=db).total
    mails = len(cop.outbox())
    status, saved = call(cop, "POST", "_mock/snapshots/before-test")
    assert status == 201 and saved["name"] == "before-test" and saved["size"] > 0

    assert save(client, sub("new@example.com", [1])).responseCode == 0
    send_mail(client, "new@example.com")
    api("Database_createProfile", id=db, fields=pairs({"email": "p@x.example"}))
    assert get(client, "new@example.com")[0].status == 1
    assert len(cop.outbox()) == mails + 1
    assert api("Database_searchProfiles", id=db).total == profiles + 1

    status, restored = call(cop, "POST", "_mock/snapshots/before-test/restore")
    assert status == 200 and restored["status"] == "restored", restored
    assert get(client, "new@example.com")[0].status != 1
    assert len(cop.outbox()) == mails
    assert api("Database_searchProfiles", id=db).total == profiles
    # the server goes on working after a restore: writes, mails, callbacks' signing key
    assert save(client, sub("after@example.com", [1])).responseCode == 0
    send_mail(client, "after@example.com")
    assert cop.outbox(to="after@example.com")[0]["subject"] == "Order"
    assert cop.get("_mock/callbacks/key.pem")[0] == 200


def test_list_delete_and_refusals(server):
    assert call(server, "GET", "_mock/snapshots") == (200, {"snapshots": [], "count": 0})
    for name in ("b", "a.1"):
        assert call(server, "POST", f"_mock/snapshots/{name}")[0] == 201
    status, listed = call(server, "GET", "_mock/snapshots")
    assert [s["name"] for s in listed["snapshots"]] == ["a.1", "b"]
    assert all(s["size"] > 0 and s["created"].endswith("Z") for s in listed["snapshots"])
    assert call(server, "DELETE", "_mock/snapshots/b") == (200, {"deleted": "b"})
    assert [s["name"] for s in call(server, "GET", "_mock/snapshots")[1]["snapshots"]] == ["a.1"]
    assert call(server, "DELETE", "_mock/snapshots/b")[0] == 404
    status, error = call(server, "POST", "_mock/snapshots/nope/restore")
    assert status == 404 and "No snapshot named 'nope'" in error["error"]
    status, error = call(server, "POST", "_mock/snapshots/" + "x" * 65)
    assert status == 400 and "Invalid snapshot name" in error["error"]
    assert call(server, "POST", "_mock/snapshots/bad%20name")[0] == 400


def test_restore_while_other_threads_read_sees_old_or_new_never_an_error(cop):
    client = cop.zeep()
    emails = [f"s{i}@example.com" for i in range(20)]
    call(cop, "POST", "_mock/snapshots/without")
    for email in emails:
        save(client, sub(email, [1]))
    call(cop, "POST", "_mock/snapshots/with")
    seen, errors, stop = set(), [], threading.Event()

    def hammer():
        reader = cop.zeep()
        while not stop.is_set():
            try:
                views = get(reader, *emails)
                seen.add(tuple(v.status for v in views))
            except Exception as error:  # noqa: BLE001 - collected, asserted below
                errors.append(repr(error))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(10):
            status, out = call(cop, "POST", f"_mock/snapshots/{('without', 'with')[i % 2]}/restore")
            assert status == 200, out
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors == []
    assert seen <= {(1,) * 20, tuple(v.status for v in get(cop.zeep(), "nobody@example.com")) * 20}
    assert (1,) * 20 in seen and len(seen) == 2


def test_restore_of_100_000_subscribers_brings_back_every_row(tmp_path):
    # How long it takes is a figure of bench/snapshots.py, not a limit here.
    from mockserver.vendors import fixtures
    from mockserver.vendors.store import open_store
    path = tmp_path / "big.db"
    store = open_store(str(path))
    store.migrate()
    fixtures.seed(store, fixtures.load_paths([str(BASIC)]))
    backclick_tables.bulk_insert_subscribers(store, SHOP, (f"user{i}@big.example" for i in range(100_000)), [1],
                                  "2026-01-01T00:00:00Z")
    store.checkpoint()
    store.close()
    server = start_server(tmp_path, fixtures=(), db=path)
    try:
        assert call(server, "POST", "_mock/snapshots/big")[0] == 201
        save(server.zeep(), sub("extra@example.com", [1]))
        status, out = call(server, "POST", "_mock/snapshots/big/restore")
        assert status == 200, out
        assert out["size"] > 10e6 and out["ms"] >= 0
        assert get(server.zeep(), "extra@example.com")[0].status != 1
        assert server.rows("SELECT COUNT(*) AS n FROM subscribers")[0]["n"] == 100_009
    finally:
        server.stop()
