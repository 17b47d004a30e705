"""Callbacks never reach the mock itself: a callback whose URL is the mock's own address (any
spelling of this machine with the port the mock listens on, or the name and port a client
addressed it by) is refused when it is created over SOAP, and one that got into the store
another way (fixtures, a row, a restart on another port) is refused at delivery, before
anything is sent; callbacks to other local ports keep working."""
from __future__ import annotations

import itertools
import json
import socket
import sqlite3
import time
import urllib.parse

import pytest
from lxml import etree

from conftest import BASIC, RunningServer, http, start_server
from copernica_harness import COPERNICA, Api, fresh_database, pairs
from test_callbacks import Receiver

SELF = "it points at the mock itself."


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """A server with the Copernica fixtures and two workers (a delivery is often made by a
    worker that did not serve the call that queued it)."""
    running = start_server(tmp_path_factory.mktemp("self"), "--workers", "2",
                           fixtures=(BASIC, COPERNICA))
    yield running
    running.stop()


@pytest.fixture
def api(cop):
    """A client of account 1."""
    return Api(cop)


@pytest.fixture
def receiver():
    """An HTTP receiver on another port of 127.0.0.1."""
    running = Receiver()
    yield running
    running.close()


def _port(server) -> int:
    return urllib.parse.urlsplit(server.base_url).port


def _callbacks(server) -> list[dict]:
    return server.rows("SELECT id, url FROM callbacks ORDER BY id")


def _admin(server, method: str, path: str, body: bytes | None = None):
    status, answer, _ = http(method, server.base_url + path, body,
                             {"Content-Type": "application/json"} if body else None)
    assert status == 200, answer
    return json.loads(answer)


def _deliveries(server, callback_id: int) -> list[dict]:
    return _admin(server, "GET", f"_mock/callbacks/deliveries?callback={callback_id}")[
        "deliveries"]


SPELLINGS = ["127.0.0.1", "localhost", "LocalHost", "localhost.", "127.0.0.1.", "127.1",
             "2130706433", "0x7f.0.0.1", "127.9.9.9", "0.0.0.0", "[::1]", "[0:0:0:0:0:0:0:1]",
             "[::ffff:127.0.0.1]", "[::]", "user:pw@127.0.0.1"]
PATHS = ["/_mock/reset", "//_mock/reset", "/./_mock/reset", "/x/../_mock/reset",
         "/%5Fmock/reset", "/%2F_mock/reset", "/_MOCK/reset", "/_mock%2Freset",
         "/_mock/reset?x=1#y", "/", "/bc/rpc/soap/backclickService", "/?SOAPAPI=WSDL",
         "/bc/t/u/anything"]


@pytest.mark.parametrize("host", SPELLINGS)
def test_a_callback_to_the_mock_by_any_spelling_of_this_machine_is_refused(cop, api, host):
    db = fresh_database(api)
    before = _callbacks(cop)
    url = f"http://{host}:{_port(cop)}/_mock/reset"
    assert api.fault("Database_createCallback", id=db, url=url) == \
        f"Invalid callback url {url!r}: {SELF}"
    assert _callbacks(cop) == before


@pytest.mark.parametrize("path", PATHS)
def test_every_path_of_the_mock_is_refused(cop, api, path):
    db = fresh_database(api)
    before = _callbacks(cop)
    for scheme in ("http", "https", "HTTP"):
        url = f"{scheme}://127.0.0.1:{_port(cop)}{path}"
        assert api.fault("Database_createCallback", id=db, url=url) == \
            f"Invalid callback url {url!r}: {SELF}"
    assert _callbacks(cop) == before


def test_collection_callbacks_to_the_mock_are_refused(cop, api):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    before = _callbacks(cop)
    url = f"http://localhost:{_port(cop)}/_mock/reset"
    assert api.fault("Collection_createCallback", id=orders, url=url) == \
        f"Invalid callback url {url!r}: {SELF}"
    assert _callbacks(cop) == before


def _envelope(api, operation: str, **parameters) -> bytes:
    """The SOAP request zeep would send for an operation (with the access token)."""
    parameters.setdefault("access_token", api.token)
    message = api.client.create_message(api.client.service, operation, parameters=parameters)
    return etree.tostring(message)


@pytest.mark.parametrize("host_header, url_host", [
    ("mock.example:{port}", "mock.example:{port}"),  # the name the client used, same port
    ("MOCK.example:{port}", "mock.EXAMPLE.:{port}"),
    ("mock.example:9000", "mock.example:9000"),  # behind a proxy: the public name and port
    ("mock.example", "mock.example"),  # port 80 both
])
def test_the_name_the_mock_was_addressed_by_is_the_mock(cop, api, host_header, url_host):
    db = fresh_database(api)
    before = _callbacks(cop)
    port = _port(cop)
    url = f"http://{url_host.format(port=port)}/_mock/reset"
    status, body, _ = http("POST", cop.base_url, _envelope(
        api, "Database_createCallback", id=db, url=url), {
            "Content-Type": "text/xml; charset=utf-8", "Host": host_header.format(port=port)})
    assert status == 500
    assert etree.fromstring(body).findtext(".//faultstring") == \
        f"Invalid callback url {url!r}: {SELF}"
    assert _callbacks(cop) == before


def test_callbacks_to_other_ports_of_this_machine_still_work(cop, api, receiver):
    db = fresh_database(api)
    port = receiver.http.server_address[1]
    urls = [f"http://127.0.0.1:{port}/hook", f"http://localhost:{port}/_mock/reset",
            f"http://mock.example:{_port(cop)}/elsewhere"]  # a name the mock was not called by
    made = [api("Database_createCallback", id=db, url=url).callback for url in urls]
    assert [c.url for c in made] == urls
    api("Database_createProfile", id=db, fields=pairs({"Name": "Ann"}))
    assert len(receiver.wait(1, "/hook")) == 1
    assert len(receiver.wait(1, "/_mock/reset")) == 1  # the receiver's path, not the mock's
    deadline = time.monotonic() + 10  # the receiver answers before the mock records it
    while _deliveries(cop, made[0].id)[0]["state"] != "delivered" and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    (to_hook,) = _deliveries(cop, made[0].id)
    assert to_hook["state"] == "delivered" and to_hook["attempts"][0]["status"] == 200


# -- callbacks that did not come through the SOAP API ------------------------------------

def _seeded_account(server, url: str, account_id: int) -> str:
    """Seed an account with a database whose callback posts to ``url``; its token."""
    token = f"seeded-{account_id}"
    document = {"copernica": {"accounts": [{
        "id": account_id, "name": f"Seeded {account_id}", "tokens": [{"token": token}],
        "databases": [{"name": "Smuggled", "fields": [{"name": "Name"}],
                       "profiles": [{"fields": {"Name": "Ann"}}],
                       "callbacks": [{"url": url}]}]}]}}
    _admin(server, "POST", "_mock/seed", json.dumps(document).encode())
    return token


_accounts = itertools.count(900)


def _differences(before, after, path="") -> list[str]:
    """The paths at which two JSON documents differ."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [d for k in sorted(set(before) | set(after), key=str)
                for d in _differences(before.get(k), after.get(k), f"{path}/{k}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after))
                for d in _differences(b, a, f"{path}/{i}")]
    return [] if before == after else [path]


def _refused_delivery(server, callback_id: int) -> dict:
    """The callback's one delivery, once it is over; checked to be a refusal."""
    _admin(server, "POST", "_mock/callbacks/flush")
    deadline = time.monotonic() + 10
    while True:
        (delivery,) = _deliveries(server, callback_id)
        if delivery["state"] not in ("pending", "sending") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert delivery["state"] == "failed" and delivery["nextAttempt"] is None
    (attempt,) = delivery["attempts"]  # refused at once: never retried
    assert attempt["status"] is None and SELF in attempt["error"]
    (stored,) = server.rows("SELECT state, attempts FROM callback_deliveries WHERE id=?",
                            delivery["id"])
    assert stored == {"state": "failed", "attempts": 1}
    (row,) = server.rows("SELECT error, status FROM callback_attempts WHERE delivery_id=?",
                         delivery["id"])
    assert row["status"] is None and SELF in row["error"]
    return delivery


@pytest.mark.parametrize("path", ["/_mock/reset", "//_mock/reset", "/%5Fmock/reset",
                                  "/_mock/snapshots/x/restore"])
def test_a_callback_seeded_by_fixtures_is_never_delivered(cop, path):
    account_id = next(_accounts)
    url = f"http://localhost:{_port(cop)}{path}"
    api = Api(cop, token=_seeded_account(cop, url, account_id))
    (callback,) = cop.rows("SELECT id FROM callbacks WHERE url=?", url)
    (db,) = cop.rows("SELECT id FROM databases WHERE account_id=?", account_id)
    (profile,) = cop.rows("SELECT id FROM profiles WHERE database_id=?", db["id"])
    before = _admin(cop, "GET", "_mock/export")
    api("Profile_updateFields", id=profile["id"], fields=pairs({"Name": "Anna"}))
    _refused_delivery(cop, callback["id"])
    after = _admin(cop, "GET", "_mock/export")
    changed = _differences(before, after)
    assert changed and all("/profiles/" in d for d in changed), changed  # nothing else changed


def test_a_callback_row_written_directly_is_never_delivered(cop, api):
    db = fresh_database(api)
    url = f"http://127.0.0.1:{_port(cop)}/_mock/reset"
    with sqlite3.connect(cop.db_path) as conn:
        callback_id = conn.execute(
            "INSERT INTO callbacks (account_id, database_id, url, method, expression, "
            "actionfilter, sources, base_url, created) VALUES (1, ?, ?, 'json', '', 'all', "
            "'[\"soap\"]', '', '2026-01-01 00:00:00')", (db, url)).lastrowid
    conn.close()
    before = _admin(cop, "GET", "_mock/export")
    api("Database_createProfile", id=db, fields=pairs({"Name": "Bo"}))
    _refused_delivery(cop, callback_id)
    changed = _differences(before, _admin(cop, "GET", "_mock/export"))
    assert changed and all("/profiles" in d for d in changed), changed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_callback_that_became_the_mock_after_a_restart_is_never_delivered(tmp_path):
    later = _free_port()
    first = start_server(tmp_path, fixtures=(BASIC, COPERNICA))
    try:
        api = Api(first)
        db = fresh_database(api)
        url = f"http://127.0.0.1:{later}/_mock/reset"  # nothing of the mock there yet
        callback_id = api("Database_createCallback", id=db, url=url).callback.id
    finally:
        first.stop()
    second = start_server(tmp_path, "--port", str(later), fixtures=(BASIC, COPERNICA))
    try:
        assert _port(second) == later
        before = _admin(second, "GET", "_mock/export")
        Api(second)("Database_createProfile", id=db, fields=pairs({"Name": "Cy"}))
        _refused_delivery(second, callback_id)
        changed = _differences(before, _admin(second, "GET", "_mock/export"))
        assert changed and all("/profiles" in d for d in changed), changed
    finally:
        second.stop()


def test_the_embedded_server_refuses_deliveries_to_itself(tmp_path):
    from mockserver.surfaces.embedded import EmbeddedServer
    from mockserver.surfaces.settings import Settings
    settings = Settings(host="127.0.0.1", port=0, db=str(tmp_path / "embedded.db"),
                        fixtures=[str(BASIC), str(COPERNICA)])
    with EmbeddedServer(settings) as embedded:
        server = RunningServer(embedded.base_url, tmp_path / "embedded.db", process=None)
        url = f"http://localhost:{embedded.port}/_mock/reset"
        assert Api(server).fault("Database_createCallback", id=1, url=url) == \
            f"Invalid callback url {url!r}: {SELF}"
        api = Api(server, token=_seeded_account(server, url, 990))
        (callback,) = server.rows("SELECT id FROM callbacks WHERE url=?", url)
        (profile,) = server.rows("SELECT p.id FROM profiles p JOIN databases d "
                                 "ON p.database_id=d.id WHERE d.account_id=990")
        api("Profile_updateFields", id=profile["id"], fields=pairs({"Name": "Di"}))
        _refused_delivery(server, callback["id"])
        assert server.rows("SELECT count(*) AS n FROM accounts WHERE id=990") == [{"n": 1}]

