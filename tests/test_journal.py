"""The request journal: every SOAP exchange of both dialects, masked, filtered, capped."""
from __future__ import annotations

import json

import pytest

from conftest import BASIC, EARLIER_JOURNAL_TABLE, http, start_server
from copernica_harness import TOKEN, Api, copernica_server

KEY = "shop-key-1234"


def journal(server, query: str = "") -> list[dict]:
    """The journal as the admin API lists it."""
    return server.json("_mock/journal" + (f"?{query}" if query else ""))["exchanges"]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """A server with both dialects' fixtures (journal size 25)."""
    running = copernica_server(tmp_path_factory.mktemp("journal"), "--journal-size", "25")
    yield running
    running.stop()


def test_backclick_exchange_is_recorded_with_masked_key(both):
    http("DELETE", both.base_url + "_mock/journal")
    both.zeep().service.getSubscribers(mandatorId=1, apiKey=KEY, fillSubscriberFields=False,
                                       emailAddresses={"item": ["nobody@example.com"]})
    [entry] = journal(both, "dialect=backclick")
    assert entry["operation"] == "getSubscribers"
    assert entry["tenant"] == "mandator-1"
    assert entry["caller"] == "127.0.0.1"
    assert entry["credential"] == "********1234"
    assert entry["arguments"]["mandatorId"] == "1"
    assert entry["arguments"]["apiKey"] == "********1234"
    assert entry["arguments"]["emailAddresses"]["item"] == "nobody@example.com"
    assert entry["status"] == 200 and entry["fault"] is None and entry["injected"] is None
    assert entry["durationMs"] > 0
    assert KEY not in entry["request"] and "********1234" in entry["request"]
    assert "getSubscribersResponse" in entry["response"]


def test_copernica_exchange_and_fault_are_recorded(both):
    http("DELETE", both.base_url + "_mock/journal")
    api = Api(both)
    api("Account_databases")
    api.fault("Database_retrieve", id=999999)
    entries = journal(both, "dialect=copernica")
    assert [e["operation"] for e in entries] == ["Account_databases", "Database_retrieve"]
    assert [e["tenant"] for e in entries] == ["account-1", "account-1"]
    assert entries[0]["credential"] == "********" + TOKEN[-4:]
    assert TOKEN not in entries[0]["request"]
    failed = entries[1]
    assert failed["status"] == 500 and failed["fault"]["code"] == "soap:Server"
    assert failed["fault"]["string"]
    assert failed["arguments"]["parameters"]["id"] == "999999"


def test_filters_and_limit_newest_last(both):
    http("DELETE", both.base_url + "_mock/journal")
    client = both.zeep()
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        client.service.getSubscribers(mandatorId=1, apiKey=KEY, fillSubscriberFields=False,
                                      emailAddresses={"item": [email]})
    Api(both)("Account_databases")
    assert len(journal(both)) == 4
    last_two = journal(both, "operation=getsubscribers&limit=2")
    assert [e["arguments"]["emailAddresses"]["item"] for e in last_two] == \
        ["b@example.com", "c@example.com"]
    assert len(journal(both, "tenant=mandator-1")) == 3
    assert journal(both, "tenant=mandator-2") == []
    since = journal(both)[-1]["time"]
    assert [e["operation"] for e in journal(both, f"since={since}")] == ["Account_databases"]
    status, body, _ = both.get("_mock/journal?dialect=nope")
    assert status == 400


def test_size_cap_drops_the_oldest(both):
    http("DELETE", both.base_url + "_mock/journal")
    client = both.zeep()
    for i in range(30):
        client.service.getSubscribers(mandatorId=1, apiKey=KEY, fillSubscriberFields=False,
                                      emailAddresses={"item": [f"s{i}@example.com"]})
    entries = journal(both, "limit=1000")
    assert len(entries) == 25
    assert entries[0]["arguments"]["emailAddresses"]["item"] == "s5@example.com"
    assert entries[-1]["arguments"]["emailAddresses"]["item"] == "s29@example.com"


def test_bad_envelope_is_recorded(both):
    http("DELETE", both.base_url + "_mock/journal")
    status, _, _ = both.post("bc/rpc/soap/backclickService", b"not xml",
                             {"Content-Type": "text/xml"})
    assert status == 500
    [entry] = journal(both)
    assert entry["request"] == "not xml" and entry["fault"]["code"] == "soap:Client"


def test_no_journal_records_nothing(tmp_path):
    server = start_server(tmp_path, "--no-journal")
    try:
        server.zeep().service.getSubscribers(mandatorId=1, apiKey=KEY, fillSubscriberFields=False,
                                             emailAddresses={"item": ["x@example.com"]})
        answer = server.json("_mock/journal")
        assert answer["exchanges"] == [] and answer["enabled"] is False
    finally:
        server.stop()


def test_journal_sees_every_worker(tmp_path):
    server = start_server(tmp_path, "--workers", "2")
    try:
        client = server.zeep()
        for i in range(20):
            client.service.getSubscribers(mandatorId=1, apiKey=KEY, fillSubscriberFields=False,
                                          emailAddresses={"item": [f"w{i}@example.com"]})
            client.transport.session.close()  # new connections: spread over the workers
        listed = journal(server, "limit=1000")
        # in call order, though each worker writes its own batches
        assert [e["arguments"]["emailAddresses"]["item"] for e in listed] == [
            f"w{i}@example.com" for i in range(20)]
        assert json.loads(http("DELETE", server.base_url + "_mock/journal")[1])["deleted"] == 20
        assert journal(server) == []
    finally:
        server.stop()


def test_times_are_on_the_mocks_clock(tmp_path):
    clock_file = tmp_path / "clock.yaml"
    clock_file.write_text('clock: {start: "2026-03-01T09:00:00Z", frozen: true}\n')
    server = start_server(tmp_path, fixtures=(BASIC, clock_file))
    client = server.zeep()

    def call(email):
        client.service.getSubscribers(mandatorId=1, apiKey=KEY, fillSubscriberFields=False,
                                      emailAddresses={"item": [email]})

    def admin(method, path, body):
        status, answer, _ = http(method, server.base_url + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
        assert status == 200, answer

    try:
        call("frozen@example.com")  # the clock changes right after: the same batch, mostly
        admin("POST", "_mock/clock/advance", {"seconds": 3600})
        call("advanced@example.com")
        admin("PUT", "_mock/clock", {"now": "2030-01-01T00:00:00Z", "frozen": False})
        call("running@example.com")
        entries = journal(server)
        assert [e["arguments"]["emailAddresses"]["item"] for e in entries] == [
            "frozen@example.com", "advanced@example.com", "running@example.com"]
        assert entries[0]["time"] == "2026-03-01T09:00:00.000000Z"
        assert entries[1]["time"] == "2026-03-01T10:00:00.000000Z"
        assert "2030-01-01T00:00:00" <= entries[2]["time"] < "2030-01-01T00:01:00"
        assert all(e["durationMs"] > 0 for e in entries)  # durations stay real
        since = journal(server, "since=2026-03-01T09:30:00Z")
        assert [e["arguments"]["emailAddresses"]["item"] for e in since] == [
            "advanced@example.com", "running@example.com"]
    finally:
        server.stop()


def test_a_journal_file_of_an_earlier_version_gets_the_call_order_column(tmp_path):
    import sqlite3
    old = sqlite3.connect(tmp_path / "store.db.journal.db")
    old.execute(EARLIER_JOURNAL_TABLE)
    old.execute("INSERT INTO journal (time, dialect, operation, status, duration_ms, request, "
                "response) VALUES ('2026-01-01T00:00:00.000000Z', 'backclick', 'old', 200, 1, "
                "x'', x'')")
    old.commit()
    old.close()
    server = start_server(tmp_path)
    try:
        server.zeep().service.getSubscribers(mandatorId=1, apiKey=KEY,
                                             emailAddresses={"item": ["n@example.com"]})
        assert [e["operation"] for e in journal(server)] == ["old", "getSubscribers"]
    finally:
        server.stop()


def test_a_deleted_tenants_tombstone_drops_only_its_rows_answered_before(tmp_path):
    """A late row of a deleted tenant is not added; one answered after the delete (a tenant
    made again with that id, after a reset) and other tenants' rows are."""
    from mockserver.store.journal_file import JournalStore
    store = JournalStore(str(tmp_path / "store.db.journal.db"))

    def row(tenant, real, operation):
        return ("2026-01-01T00:00:00.000000Z", "backclick", operation, tenant, "", None, None,
                200, None, 1.0, b"", b"", real, 0, 0)

    store.journal_append([row("mandator-5", 10.0, "kept a while")], 100)
    assert store.journal_forget(["mandator-5", "account-5"], 20.0) == 1
    assert store.journal_append([row("mandator-5", 19.0, "late"), row("account-5", 20.0, "late"),
                                 row("mandator-6", 19.5, "other"), row(None, 19.6, "none"),
                                 row("mandator-5", 21.0, "after")], 100) == 3
    assert [(r["tenant"], r["operation"]) for r in store.journal()] == [
        ("mandator-6", "other"), (None, "none"), ("mandator-5", "after")]
    assert store.journal_forget(["mandator-5"], 15.0) == 1  # a tombstone never goes back
    assert store.journal_append([row("mandator-5", 19.0, "late")], 100) == 0
    store.journal_forget(["mandator-7"], 20.0 + 3601)  # an hour later the old ones go
    assert store.journal_append([row("mandator-5", 19.0, "unseen so long")], 100) == 1
    store.close()
