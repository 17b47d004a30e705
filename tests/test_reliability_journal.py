"""The journal stays small and readable, and oversized requests are refused cheaply.

Envelopes are kept up to ``--journal-body-limit`` bytes and marked as cut; stored envelopes
that are cut, not well-formed or too deep are shown as raw text; ``DELETE /_mock/journal``
shrinks the file; large requests leave the workers small; an array of more than
``--max-items`` items is refused before anything is built from it.
"""
from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import EARLIER_JOURNAL_TABLE, http, start_server
from copernica_harness import Api, copernica_server, fresh_database

ENDPOINT = "bc/rpc/soap/backclickService"
TNS = "http://soap.rpc.bc.backclick.de/"
KEY = "shop-key-1234"
MIB = 1024 * 1024
SOAP = {"Content-Type": "text/xml; charset=utf-8"}


def envelope(operation: str) -> bytes:
    """A SOAP 1.1 envelope around a BACKCLICK operation element (markup given as text)."""
    return (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            f'<soap:Body>{operation}</soap:Body></soap:Envelope>').encode()


def save(items: list[str], key: str = KEY) -> bytes:
    """A saveOrCreateSubscriber envelope of mandator 1 with these ``<item>`` elements."""
    return envelope(f'<saveOrCreateSubscriber xmlns="{TNS}"><mandatorId>1</mandatorId>'
                    f'<apiKey>{key}</apiKey><subscribers>{"".join(items)}</subscribers>'
                    f'</saveOrCreateSubscriber>')


def subscriber(email: str, firstname: str = "") -> str:
    """One subscriber item, with a FIRSTNAME when given."""
    fields = (f"<subscriberFields><item><name>FIRSTNAME</name><value>{firstname}</value>"
              f"</item></subscriberFields>") if firstname else ""
    return f"<item><subscriberEmail>{email}</subscriberEmail>{fields}</item>"


def padded_save(size: int, count: int = 990) -> bytes:
    """A saveOrCreateSubscriber of ``count`` subscribers whose FIRSTNAMEs pad it to about
    ``size`` bytes (a request the mock accepts: the vendor's limit is 1000 subscribers)."""
    bare = len(save([subscriber(f"big{i}@example.com", "x") for i in range(count)]))
    pad = (size - bare) // count + 1
    return save([subscriber(f"big{i}@example.com", "x" * pad) for i in range(count)])


def post(server, body: bytes):
    """POST an envelope to the BACKCLICK endpoint; (status, body text)."""
    status, out, _ = server.post(ENDPOINT, body, SOAP)
    return status, out.decode("utf-8")


def client_fault(status: int, text: str) -> str:
    """Assert a soap:Client fault; its faultstring."""
    assert status == 500, text
    match = re.search(r"<faultcode>soap:Client</faultcode><faultstring>(.*?)</faultstring>",
                      text, re.S)
    assert match, text
    return html.unescape(match.group(1))


def journal(server, query: str = "") -> list[dict]:
    """The journal as the admin API lists it."""
    return server.json("_mock/journal" + (f"?{query}" if query else ""))["exchanges"]


def journal_files(server) -> int:
    """Bytes on disk of the journal's SQLite file and its WAL."""
    path = f"{server.db_path}.journal.db"
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def journal_rows(server, sql: str) -> list[tuple]:
    """Rows of a query on the journal's own file."""
    conn = sqlite3.connect(f"file:{server.db_path}.journal.db?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def worker_memory(server, key: str = "VmRSS") -> list[int]:
    """``key`` (VmRSS, VmHWM) of each gunicorn worker, in MB."""
    pid = server.process.pid
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        workers = children.read().split()
    sizes = []
    for worker in workers:
        with open(f"/proc/{worker}/status") as status:
            line = next(line for line in status if line.startswith(key + ":"))
        sizes.append(int(line.split()[1]) // 1024)
    assert sizes, "no workers"
    return sizes


def ui(server, path: str) -> tuple[int, str]:
    """A UI page; (status, HTML)."""
    status, body, _ = server.get("_mock/ui/" + path)
    return status, body.decode("utf-8")


# -- the body limit -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cut_server(tmp_path_factory):
    """A server keeping 4 KiB of each envelope (set through the environment)."""
    running = start_server(tmp_path_factory.mktemp("cut"),
                           env={"MOCKSERVER_JOURNAL_BODY_LIMIT": "4096"})
    yield running
    running.stop()


def test_an_envelope_over_the_limit_is_cut_and_marked(cut_server):
    http("DELETE", cut_server.base_url + "_mock/journal")
    body = save([subscriber("cut@example.com", "ü" * 5000)])  # two bytes a character
    status, text = post(cut_server, body)
    assert status == 200 and "<tns:responseCode>0</tns:responseCode>" in text, text
    assert cut_server.rows("SELECT email FROM subscribers WHERE email_key='cut@example.com'")

    [entry] = journal(cut_server)
    assert entry["operation"] == "saveOrCreateSubscriber" and entry["tenant"] == "mandator-1"
    assert entry["requestTruncated"] is True and entry["requestSize"] == len(body)
    assert entry["responseTruncated"] is False and entry["responseSize"] == len(text.encode())
    [(kept, size)] = journal_rows(cut_server, "SELECT request, request_size FROM journal")
    assert size == len(body) and body.startswith(kept)
    assert 4096 - 4 < len(kept) <= 4096 and "\ufffd" not in entry["request"]  # whole characters
    assert entry["request"] == kept.decode("utf-8").replace(KEY, "********1234")
    assert entry["arguments"] is None and entry["credential"] == "********1234"
    assert entry["response"] == text

    assert cut_server.json(f"_mock/journal/{entry['id']}") == entry  # the entry's own route
    status, page = ui(cut_server, "journal")
    assert status == 200 and 'class="badge truncated"' in page
    status, page = ui(cut_server, f"journal/{entry['id']}")
    assert status == 200 and "Cut: the journal kept the start of this envelope" in page
    assert f"({len(body)} bytes;" in page and "ü" * 100 in page


def test_a_secret_at_the_cut_is_masked_whole(cut_server):
    http("DELETE", cut_server.base_url + "_mock/journal")
    body = save([subscriber("secret@example.com")])
    at = body.index(KEY.encode())
    body = b"<!--" + b" " * (4096 - 6 - at - 7) + b"-->" + body  # the cut: 6 bytes into the key
    assert body.index(KEY.encode()) == 4096 - 6
    assert post(cut_server, body)[0] == 200
    [entry] = journal(cut_server)
    assert entry["requestTruncated"] is True
    assert entry["request"].endswith("<apiKey>********")
    assert KEY[:6] not in entry["request"] and entry["credential"] is None


def test_the_default_limit_keeps_64_kib(tmp_path):
    server = start_server(tmp_path)
    try:
        body = padded_save(200_000, count=100)
        assert post(server, body)[0] == 200
        [entry] = journal(server)
        assert entry["requestTruncated"] is True and entry["requestSize"] == len(body)
        assert 65536 - 4 < len(entry["request"].encode()) <= 65536
    finally:
        server.stop()


# -- envelopes the journal cannot parse ---------------------------------------------------


@pytest.fixture(scope="module")
def whole_server(tmp_path_factory):
    """A server keeping envelopes of up to 1 MB whole."""
    running = start_server(tmp_path_factory.mktemp("whole"), "--journal-body-limit", "1000000")
    yield running
    running.stop()


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_a_deep_envelope_never_breaks_reading_the_journal(whole_server, depth):
    http("DELETE", whole_server.base_url + "_mock/journal")
    body = envelope(f'<getSubscribers xmlns="{TNS}"><mandatorId>1</mandatorId>' +
                    "<a>" * depth + "x" + "</a>" * depth + "</getSubscribers>")
    assert len(body) < 1_000_000
    message = client_fault(*post(whole_server, body))
    assert message.startswith("Request is not well-formed XML:")

    [entry] = journal(whole_server)
    assert entry["request"] == body.decode() and entry["requestTruncated"] is False
    assert entry["arguments"] is None and entry["status"] == 500
    assert entry["fault"]["string"].startswith("Request is not well-formed XML:")
    assert whole_server.json(f"_mock/journal/{entry['id']}")["request"] == body.decode()
    assert ui(whole_server, "journal")[0] == 200
    status, page = ui(whole_server, f"journal/{entry['id']}")
    assert status == 200 and "&lt;a&gt;" * 50 in page  # raw, not indented


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_a_stored_deep_envelope_is_shown_raw_even_from_an_older_journal(tmp_path, depth):
    """An entry written whole before there was a limit (an older journal file) reads as
    raw text, and so does one that is not well-formed."""
    deep = envelope(f'<getSubscribers xmlns="{TNS}">' + "<a>" * depth + "</a>" * depth +
                    "</getSubscribers>")
    broken = envelope(f'<getSubscribers xmlns="{TNS}"><mandatorId>1</mandatorId>')[:-20]
    old = sqlite3.connect(tmp_path / "store.db.journal.db")
    old.execute(EARLIER_JOURNAL_TABLE)
    for request in (deep, broken):
        old.execute("INSERT INTO journal (time, dialect, operation, status, duration_ms, "
                    "request, response) VALUES ('2026-01-01T00:00:00.000000Z', 'backclick', "
                    "'getSubscribers', 500, 1, ?, ?)", [request, request])
    old.commit()
    old.close()
    server = start_server(tmp_path)
    try:
        entries = journal(server)
        assert [e["request"] for e in entries] == [deep.decode(), broken.decode()]
        assert [e["response"] for e in entries] == [deep.decode(), broken.decode()]
        assert all(e["arguments"] is None and e["requestTruncated"] is False and
                   e["fault"] is None for e in entries)
        for entry in entries:
            status, page = ui(server, f"journal/{entry['id']}")
            assert status == 200
        assert ui(server, "journal")[0] == 200
    finally:
        server.stop()


# -- disk and memory ----------------------------------------------------------------------


def test_near_limit_requests_leave_workers_and_journal_small(tmp_path):
    """20 saveOrCreateSubscriber bodies just under the default 10 MiB --max-body."""
    server = start_server(tmp_path, "--workers", "2")
    try:
        body = padded_save(10 * MIB - 4096)
        assert 10 * MIB - 8192 < len(body) <= 10 * MIB
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: post(server, body), range(20)))
        assert all(status == 200 and "<tns:responseCode>0</tns:responseCode>" in text
                   for status, text in answers), answers[0]
        assert server.rows("SELECT count(*) AS n FROM subscribers WHERE email_key LIKE "
                           "'big%'") == [{"n": 990}]
        time.sleep(0.5)  # past the journal's write interval
        rss = worker_memory(server)
        assert len(rss) == 2 and max(rss) < 300, rss

        entries = journal(server, "limit=100")
        assert len(entries) == 20
        assert all(e["requestTruncated"] and e["requestSize"] == len(body) for e in entries)
        written = journal_files(server)
        assert written < 12 * MIB, written  # 20 x 64 KiB, the rest of the WAL
        assert http("DELETE", server.base_url + "_mock/journal")[0] == 200
        assert journal_files(server) < 256 * 1024, journal_files(server)
        assert journal(server) == []
    finally:
        server.stop()


def test_reading_100_large_entries_stays_small(tmp_path):
    server = start_server(tmp_path)
    try:
        body = padded_save(MIB, count=100)
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: post(server, body)[0], range(100)))
        assert statuses == [200] * 100
        status, out, _ = server.get("_mock/journal?limit=100")
        assert status == 200
        entries = json.loads(out)["exchanges"]
        assert len(entries) == 100 and all(e["requestTruncated"] for e in entries)
        assert len(out) < 100 * 3 * 65536
        [peak] = worker_memory(server, "VmHWM")  # the most it ever held, reading included
        assert peak < 200, peak
    finally:
        server.stop()


def test_delete_shrinks_a_journal_file_of_an_earlier_version(tmp_path):
    """A file made before auto-vacuum: the first DELETE vacuums it whole."""
    old = sqlite3.connect(tmp_path / "store.db.journal.db")
    old.execute("""CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, dialect TEXT NOT NULL,
        operation TEXT, tenant TEXT, caller TEXT NOT NULL DEFAULT '', authorization TEXT,
        cookie TEXT, status INTEGER NOT NULL, injected TEXT, duration_ms REAL NOT NULL,
        request BLOB NOT NULL, response BLOB NOT NULL)""")
    old.executemany("INSERT INTO journal (time, dialect, operation, tenant, status, "
                    "duration_ms, request, response) VALUES ('2026-01-01T00:00:00.000000Z', "
                    "'backclick', 'old', ?, 200, 1, ?, x'')",
                    [(f"mandator-{i % 2 + 1}", b"x" * MIB) for i in range(20)])
    old.commit()
    old.close()
    assert Path(tmp_path / "store.db.journal.db").stat().st_size > 20 * MIB
    server = start_server(tmp_path)
    try:
        assert len(journal(server)) == 20
        assert http("DELETE", server.base_url + "_mock/journal?tenant=mandator-1")[0] == 200
        assert 9 * MIB < journal_files(server) < 12 * MIB, journal_files(server)
        assert [e["tenant"] for e in journal(server)] == ["mandator-2"] * 10
        assert http("DELETE", server.base_url + "_mock/journal")[0] == 200
        assert journal_files(server) < 256 * 1024, journal_files(server)
    finally:
        server.stop()


def test_delete_of_one_tenant_gives_its_space_back(tmp_path):
    server = start_server(tmp_path)
    try:
        body = padded_save(60_000, count=20)
        for _ in range(30):
            assert post(server, body)[0] == 200
        other = envelope(f'<getSubscribers xmlns="{TNS}"><mandatorId>2</mandatorId>'
                         f'<apiKey>other-key-9876</apiKey><emailAddresses><item>'
                         f'{"n" * 50000}@example.com</item></emailAddresses></getSubscribers>')
        post(server, other)  # answered or refused, it is mandator 2's entry
        assert [e["tenant"] for e in journal(server, "tenant=mandator-2")] == ["mandator-2"]
        before = journal_files(server)
        assert before > 30 * 60_000
        assert http("DELETE", server.base_url + "_mock/journal?tenant=mandator-1")[1] == \
            b'{\n  "deleted": 30\n}\n'
        assert journal_files(server) < before / 4, (before, journal_files(server))
        assert [e["tenant"] for e in journal(server)] == ["mandator-2"]
    finally:
        server.stop()


# -- too many items -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def roomy(tmp_path_factory):
    """A server taking bodies of up to 50 MB."""
    running = start_server(tmp_path_factory.mktemp("roomy"), "--max-body", "50000000")
    yield running
    running.stop()


def test_100000_subscribers_are_refused_before_anything_is_built(roomy):
    http("DELETE", roomy.base_url + "_mock/journal")
    body = save([subscriber(f"many{i}@example.com") for i in range(100_000)])
    assert len(body) < 50_000_000
    message = client_fault(*post(roomy, body))
    assert message == ("Validation error: 'subscribers' holds 100000 child elements ('item'); "
                       "at most 10000 items are accepted in one array (--max-items).")
    assert roomy.rows("SELECT count(*) AS n FROM subscribers WHERE email_key LIKE "
                      "'many%'") == [{"n": 0}]
    [entry] = journal(roomy)
    assert entry["operation"] == "saveOrCreateSubscriber" and entry["fault"]["string"] == message
    assert entry["durationMs"] < 1000, entry["durationMs"]  # building it all took ~3.6 s


def test_an_unwrapped_array_is_counted_too(roomy):
    repeats = "".join(f"<subscribers><subscriberEmail>u{i}@example.com</subscriberEmail>"
                      f"</subscribers>" for i in range(10_001))
    body = envelope(f'<saveOrCreateSubscriber xmlns="{TNS}"><mandatorId>1</mandatorId>'
                    f'<apiKey>{KEY}</apiKey>{repeats}</saveOrCreateSubscriber>')
    message = client_fault(*post(roomy, body))
    assert message.startswith("Validation error: 'saveOrCreateSubscriber' holds 10003 child "
                              "elements ('subscribers'); at most 10000 items")
    assert roomy.rows("SELECT count(*) AS n FROM subscribers WHERE email_key LIKE "
                      "'u%@example.com'") == [{"n": 0}]


def test_up_to_the_vendors_limit_the_vendors_fault_answers(roomy):
    status, text = post(roomy, save([subscriber(f"v{i}@example.com") for i in range(1001)]))
    assert status == 500 and "<faultcode>soap:Server</faultcode><faultstring>Too many " \
        "subscribers in request! Max subscribers per request: 1000</faultstring>" in text


def test_max_items_option_and_environment(tmp_path):
    def addresses(n: int) -> bytes:
        items = "".join(f"<item>a{i}@example.com</item>" for i in range(n))
        return envelope(f'<getSubscribers xmlns="{TNS}"><mandatorId>1</mandatorId>'
                        f'<apiKey>{KEY}</apiKey><emailAddresses>{items}</emailAddresses>'
                        f'</getSubscribers>')

    server = start_server(tmp_path, "--max-items", "20")
    try:
        assert post(server, addresses(20))[0] == 200
        assert client_fault(*post(server, addresses(21))) == (
            "Validation error: 'emailAddresses' holds 21 child elements ('item'); at most 20 "
            "items are accepted in one array (--max-items).")
    finally:
        server.stop()
    (tmp_path / "env").mkdir()
    server = start_server(tmp_path / "env", env={"MOCKSERVER_MAX_ITEMS": "5"})
    try:
        assert post(server, addresses(5))[0] == 200
        assert "at most 5 items" in client_fault(*post(server, addresses(6)))
    finally:
        server.stop()


def test_copernica_refuses_too_many_items_with_its_own_fault(tmp_path):
    server = copernica_server(tmp_path, "--max-items", "20")
    try:
        api = Api(server)
        database = fresh_database(api)
        before = server.rows("SELECT count(*) AS n FROM profiles")
        fields = {"pair": [{"key": "Name", "value": f"v{i}"} for i in range(21)]}
        message = api.fault("Database_createProfile", id=database, fields=fields)
        assert message == ("'fields' holds 21 child elements ('pair'); at most 20 items are "
                           "accepted in one array (--max-items).")
        assert server.rows("SELECT count(*) AS n FROM profiles") == before
    finally:
        server.stop()
