"""Copernica-style callbacks: the expression language, configuration, signed delivery, retries."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from conftest import http, start_server
from mockserver.copernica import callback_delivery, callback_expressions, callbacks
from mockserver.machinery.errors import InvalidRequest
from mockserver.store import Store
from mockserver.vendors.store import open_store


# -- the expression language ------------------------------------------------------------------

FIELDS = {"company": "Apple", "age": 21, "city": "Köln", "score": "7.5", "empty": "",
          "zero": 0, "Name": "Ann"}


@pytest.mark.parametrize("expression, expected", [
    ("", True),
    ("   ", True),
    ("company == 'Apple'", True),
    ('company == "Apple"', True),
    ("company != 'Apple'", False),
    ("company == 'apple'", False),
    ("age >= 18", True),
    ("age > 21", False),
    ("age <= 21 && age < 22", True),
    ("age == '21'", True),  # loose equality, as in JavaScript
    ("age === '21'", False),
    ("age === 21", True),
    ("age !== 21", False),
    ("score > 7", True),  # a numeric string compares as a number
    ("score < 7.6", True),
    ("city == 'Köln'", True),
    ("company == 'Apple' && age >= 18", True),
    ("company == 'Microsoft' || age >= 18", True),
    ("company == 'Microsoft' || age < 18", False),
    ("!(company == 'Microsoft')", True),
    ("!company", False),
    ("!empty", True),
    ("!!zero", False),
    ("(company == 'Apple' || company == 'Microsoft') && !(age < 18)", True),
    ("company == 'Apple' && (age < 18 || city == 'Köln')", True),
    ("profile.company == 'Apple';", True),  # the vendor's style, trailing semicolon included
    ("subprofile.age == 21", True),
    ("missing == null", True),
    ("missing == ''", False),
    ("missing", False),
    ("name == 'Ann'", True),  # field names: exact first, then ignoring case
    ("age > -1", True),
    ("-age < 0", True),
    ("1.5e1 == 15", True),
    ("'a\\'b' == \"a'b\"", True),
    ("true && !false", True),
    ("city < 'Z'", True),  # two strings compare as strings
    ("company > 5", False),  # NaN compares false
])
def test_expression_evaluates_like_javascript(expression, expected):
    assert callback_expressions.evaluate(expression, FIELDS) is expected


@pytest.mark.parametrize("expression, reason", [
    ("alert(1)", "function calls are not allowed"),
    ("company.toString()", "property access is not allowed"),
    ("(company)()", "function calls are not allowed"),
    ("constructor.constructor('return process')()", "'constructor' is not allowed"),
    ("profile.constructor", "a field name must follow"),
    ("profile.company.length", "property access chains are not allowed"),
    ("__proto__ == 1", "'__proto__' is not allowed"),
    ("this.company", "'this' is not allowed"),
    ("new Date() > 1", "'new' is not allowed"),
    ("function (a) == 1", "'function' is not allowed"),
    ("function() {}", "object literals are not allowed"),
    ("eval('1') == 1", "'eval' is not allowed"),
    ("company = 'Apple'", "assignment is not allowed"),
    ("company['x']", "indexing is not allowed"),
    ("`${company}`", "template strings are not allowed"),
    ("age + 1 > 2", "arithmetic is not allowed"),
    ("age > 1 ? 1 : 0", "the ?: operator is not allowed"),
    ("a, b", "commas are not allowed"),
    ("a & b", "bitwise"),
    ("company == ", "ends too early"),
    ("(company == 'Apple'", "missing ')'"),
    ("company == 'Apple')", "unexpected ')'"),
    ("company 'Apple'", "unexpected 'Apple'"),
    ("'unterminated", "unexpected character"),
    ("a ; b", "unexpected"),
    ("(" * 100 + "a" + ")" * 100, "nested more than"),
    ("!" * 100 + "a", "nested more than"),
    (" || ".join(["a == 1"] * 200), "tokens"),
    ("a" * 3000, "longer than"),
])
def test_hostile_or_invalid_expressions_are_refused(expression, reason):
    with pytest.raises(InvalidRequest) as refused:
        callback_expressions.parse_expression(expression)
    assert reason in str(refused.value)
    assert str(refused.value).startswith("Invalid callback expression")


def test_evaluation_never_reaches_an_interpreter():
    # Strings that would do something in a JavaScript or Python engine are plain data here.
    fields = {"company": "__import__('os').system('false')"}
    assert callback_expressions.evaluate("company == \"__import__('os').system('false')\"", fields)
    assert not callback_expressions.evaluate("company == 'Apple'", fields)


# -- configuration ----------------------------------------------------------------------------

def _store_with_database(path) -> tuple[Store, int, int]:
    """A migrated store with account 7001 and one database; (store, account id, database id)."""
    store = open_store(str(path))
    store.migrate()
    with store.transaction():
        account_id = store.insert_row("accounts", {"id": 7001, "name": "callbacks"})
    return store, account_id, _new_database(store, account_id)


def _new_database(store: Store, account_id: int) -> int:
    """A new database of the account with one collection (whose id is the database's)."""
    with store.transaction():
        database_id = store.insert_row("databases", {
            "account_id": account_id, "name": f"Shop {time.monotonic_ns()}",
            "created": "2024-01-01 00:00:00"})
        store.insert_row("collections", {"id": database_id, "database_id": database_id,
                                         "name": "Orders", "created": "2024-01-01 00:00:00"})
    return database_id


@pytest.fixture
def local_store(tmp_path):
    store, account_id, database_id = _store_with_database(tmp_path / "unit.db")
    yield store, account_id, database_id
    store.close()


def test_create_and_find_callbacks(local_store):
    store, account, database = local_store
    made = callbacks.create_callback(store, account, database_id=database,
                                     url="http://127.0.0.1:9/hook", method="XML",
                                     expression="age >= 18", actionfilter="update",
                                     sources=["soap", "import"])
    assert made["url"] == "http://127.0.0.1:9/hook"
    assert (made["method"], made["actionfilter"], made["sources"]) == ("xml", "update",
                                                                       ["soap", "import"])
    assert made["database_id"] == database and made["collection_id"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", made["created"])
    assert callbacks.get_callback(store, account, made["id"]) == made
    assert callbacks.get_callback(store, account + 1, made["id"]) is None  # another tenant
    assert callbacks.callback_by_url(store, account, database, "http://127.0.0.1:9/hook") == made
    assert callbacks.callback_by_url(store, account, database, "http://127.0.0.1:9/x") is None
    default = callbacks.create_callback(store, account, database_id=database,
                                        url="https://127.0.0.1/other")
    assert default["sources"] == list(callbacks.SOURCES)
    assert (default["method"], default["actionfilter"], default["expression"]) == ("json", "all", "")
    assert [c["id"] for c in callbacks.callbacks_of(store, database_id=database)] == [
        made["id"], default["id"]]
    assert callbacks.remove_callback(store, account + 1, made["id"]) is False
    assert callbacks.remove_callback(store, account, made["id"]) is True
    assert callbacks.get_callback(store, account, made["id"]) is None
    assert callbacks.remove_callback(store, account, made["id"]) is False


@pytest.mark.parametrize("arguments, message", [
    ({"url": "ftp://127.0.0.1/x"}, "absolute http:// or https:// URL"),
    ({"url": "/relative"}, "absolute http:// or https:// URL"),
    ({"url": ""}, "needs a url"),
    ({"url": "http://127.0.0.1:99999/"}, "bad port"),
    ({"method": "yaml"}, "use json or xml"),
    ({"actionfilter": "move"}, "one of create, update, delete, all"),
    ({"sources": ["soap", "rest"]}, "Unknown callback source 'rest'"),
    ({"expression": "process.exit()"}, "property access is not allowed"),
])
def test_create_callback_refuses_bad_settings(local_store, arguments, message):
    store, account, database = local_store
    with pytest.raises(InvalidRequest) as refused:
        callbacks.create_callback(store, account, database_id=database,
                                  **{"url": "http://127.0.0.1/hook", **arguments})
    assert message in str(refused.value)
    assert callbacks.callbacks_of(store, database_id=database) == []


def test_record_change_filters_by_action_source_and_expression(local_store):
    store, account, database = local_store
    url = "http://127.0.0.1:9/"
    adults = callbacks.create_callback(store, account, database_id=database, url=url + "a",
                                       expression="age >= 18")
    deletes = callbacks.create_callback(store, account, database_id=database, url=url + "d",
                                        actionfilter="delete")
    imports = callbacks.create_callback(store, account, database_id=database, url=url + "i",
                                        sources=["import"])
    collection = callbacks.create_callback(store, account, collection_id=1, url=url + "c")

    def change(action, age, source="soap", kind="profile"):
        with store.transaction():
            return callbacks.record_change(
                store, account_id=account, database_id=database,
                collection_id=1 if kind == "subprofile" else None, kind=kind, record_id=5,
                action=action, fields={"age": age}, changed={"age": age}, interests={},
                source=source)

    assert change("create", 20) == 1  # adults
    assert change("create", 10) == 0
    assert change("delete", 10) == 1  # deletes
    assert change("update", 30, source="import") == 2  # adults, imports
    assert change("update", 30, kind="subprofile") == 1  # the collection's callback only
    queued = callback_delivery.deliveries(store)
    assert [(d["callback"], d["action"], d["record"]) for d in queued] == [
        (adults["id"], "create", "profile:5"), (deletes["id"], "delete", "profile:5"),
        (adults["id"], "update", "profile:5"), (imports["id"], "update", "profile:5"),
        (collection["id"], "update", "subprofile:5")]
    assert all(d["state"] == "pending" and d["attempts"] == [] for d in queued)


# -- delivery to a real receiver --------------------------------------------------------------

def _record_id(body: bytes):
    """The record id of a json callback body (None for others)."""
    try:
        return json.loads(urllib.parse.parse_qs(body.decode())["json"][0])["id"]
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers as scripted."""

    def __init__(self):
        self.requests: list[dict] = []
        self.scripts: dict[str, list[int]] = {}  # path (or path#record id) -> statuses to answer
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                script = receiver.scripts.get(f"{self.path}#{_record_id(body)}") or \
                    receiver.scripts.get(self.path) or []
                status = script.pop(0) if script else 200
                with receiver.changed:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body, "status": status,
                                              "at": time.monotonic()})
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[dict]:
        """Wait until ``count`` requests (to ``path``) arrived; them."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                got = [r for r in self.requests if path is None or r["path"] == path]
                if len(got) >= count or time.monotonic() >= deadline:
                    return got
                self.changed.wait(max(0.0, deadline - time.monotonic()))

    def of(self, path: str) -> list[dict]:
        """The requests to a path so far."""
        with self.changed:
            return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture(scope="module")
def cb_module_server(tmp_path_factory):
    """One server for the delivery tests, with a Copernica account in its store."""
    folder = tmp_path_factory.mktemp("callbacks")
    running = start_server(folder)
    store, account, database = _store_with_database(running.db_path)
    running.cb = (store, account, database)
    yield running
    store.close()
    running.stop()


@pytest.fixture
def cb_server(cb_module_server):
    """The module's server with a fresh database (and collection) for this test."""
    store, account, _ = cb_module_server.cb
    cb_module_server.cb = (store, account, _new_database(store, account))
    return cb_module_server


def _admin(server, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    status, answer, _ = http(method, server.base_url + path.lstrip("/"), data,
                             {"Content-Type": "application/json"} if data else None)
    assert status == 200, answer
    return json.loads(answer)


def _change(server, url_or_callback, record_id: int, action: str = "update", fields=None,
            changed=None, interests=None, kind="profile"):
    store, account, database = server.cb
    with store.transaction():
        return callbacks.record_change(
            store, account_id=account, database_id=database,
            collection_id=database if kind == "subprofile" else None, kind=kind,
            record_id=record_id, action=action, fields=fields or {}, changed=changed or {},
            interests=interests or {}, source="soap")


def _callback(server, url: str, **settings) -> dict:
    store, account, database = server.cb
    return callbacks.create_callback(store, account, database_id=database, url=url,
                                     base_url=server.base_url, **settings)


def _verify_signature(request: dict, expected_account: int) -> None:
    """Check Digest and Signature of a received callback the way a receiver would."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    digest = base64.b64encode(hashlib.sha256(request["body"]).digest()).decode()
    assert headers["digest"] == f"SHA-256={digest}"
    assert headers["x-copernica-id"] == f"account_{expected_account}"
    params = dict(re.findall(r'(\w+)="([^"]*)"', headers["signature"]))
    assert params["algorithm"] == "rsa-sha256"
    assert params["headers"] == "(request-target) host date x-copernica-id digest"
    with urllib.request.urlopen(params["keyId"], timeout=10) as answer:  # the mock, 127.0.0.1
        assert answer.headers["Content-Type"].startswith("application/x-pem-file")
        public_key = serialization.load_pem_public_key(answer.read())
    lines = []
    for name in params["headers"].split():
        if name == "(request-target)":
            lines.append(f"(request-target): post {request['path']}")
        else:
            lines.append(f"{name}: {headers[name]}")
    public_key.verify(base64.b64decode(params["signature"]), "\n".join(lines).encode(),
                      padding.PKCS1v15(), hashes.SHA256())  # raises when it does not match


def test_json_callback_is_signed_and_carries_the_change(cb_server, receiver):
    callback = _callback(cb_server, receiver.url + "/json-hook?source=mock")
    started = time.monotonic()
    assert _change(cb_server, callback, 41, action="update",
                   fields={"email": "ann@example.com", "company": "Apple", "age": 30},
                   changed={"company": "Apple"}, interests={"news": 1, "sports": 0}) == 1
    (request,) = receiver.wait(1, "/json-hook?source=mock")
    assert request["at"] - started < 1.5  # within a second of the change (plus scheduling)
    headers = request["headers"]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Host"] == receiver.url.removeprefix("http://")
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", headers["Date"])
    _verify_signature(request, cb_server.cb[1])
    form = urllib.parse.parse_qs(request["body"].decode())
    payload = json.loads(form["json"][0])
    assert payload["id"] == 41 and payload["action"] == "update"
    assert payload["database"] == cb_server.cb[2] and "collection" not in payload
    assert payload["fields"] == {"email": "ann@example.com", "company": "Apple", "age": 30}
    assert payload["parameters"] == {"company": "Apple"}
    assert payload["interests"] == ["news"]
    assert payload["profile"]["fields"]["company"] == "Apple"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", payload["timestamp"])
    deliveries = _admin(cb_server, "GET", f"_mock/callbacks/deliveries?callback={callback['id']}")
    (delivery,) = deliveries["deliveries"]
    assert delivery["state"] == "delivered" and delivery["record"] == "profile:41"
    (attempt,) = delivery["attempts"]
    assert attempt["status"] == 200 and attempt["error"] == ""
    assert attempt["requestHeaders"]["Signature"] == headers["Signature"]


def test_xml_callback_for_a_subprofile(cb_server, receiver):
    store, account, database = cb_server.cb
    callback = callbacks.create_callback(store, account, database_id=database,
                                         collection_id=database,
                                         url=receiver.url + "/xml-hook", method="xml",
                                         expression="company == 'Apple'",
                                         base_url=cb_server.base_url)
    _change(cb_server, callback, 9, kind="subprofile", action="update",
            fields={"company": "Microsoft", "order": "A-1"}, changed={"company": "Microsoft"})
    _change(cb_server, callback, 9, kind="subprofile", action="update",
            fields={"company": "Apple", "order": "A-1", "note": "<b>&</b>"},
            changed={"company": "Apple"})
    (request,) = receiver.wait(1, "/xml-hook")
    assert request["headers"]["Content-Type"] == "text/xml; charset=utf-8"
    _verify_signature(request, account)
    root = etree.fromstring(request["body"])
    assert root.tag == "callback"
    assert root.findtext("id") == "9" and root.findtext("action") == "update"
    assert root.findtext("collection") == str(database)
    assert {e.tag: e.text for e in root.find("fields")} == {
        "company": "Apple", "order": "A-1", "note": "<b>&</b>"}
    assert {e.tag: e.text for e in root.find("updated")} == {"company": "Apple"}
    assert root.find("interests") is not None
    time.sleep(0.5)
    assert len(receiver.of("/xml-hook")) == 1  # the Microsoft change did not match


def test_failed_attempts_are_retried_by_the_mock_clock(cb_server, receiver):
    _admin(cb_server, "PUT", "_mock/clock", {"frozen": True})
    try:
        receiver.scripts["/flaky"] = [500, 500, 200]
        callback = _callback(cb_server, receiver.url + "/flaky")
        _change(cb_server, callback, 77, changed={"x": 1})
        assert len(receiver.wait(1, "/flaky")) == 1
        time.sleep(1.2)  # real time passes, the frozen clock does not
        assert len(receiver.of("/flaky")) == 1
        assert _admin(cb_server, "POST", "_mock/clock/advance", {"seconds": 0.5})[
            "callbackAttempts"] == 0
        assert len(receiver.of("/flaky")) == 1
        assert _admin(cb_server, "POST", "_mock/clock/advance", {"seconds": 0.5})[
            "callbackAttempts"] == 1
        assert len(receiver.of("/flaky")) == 2  # 1 s after the first
        _admin(cb_server, "POST", "_mock/clock/advance", {"seconds": 1.5})
        assert len(receiver.of("/flaky")) == 2
        _admin(cb_server, "POST", "_mock/clock/advance", {"seconds": 0.5})
        assert len(receiver.of("/flaky")) == 3  # 2 s after the second
        _admin(cb_server, "POST", "_mock/clock/advance", {"seconds": 60})
        assert len(receiver.of("/flaky")) == 3
        (delivery,) = _admin(cb_server, "GET", f"_mock/callbacks/deliveries?callback="
                                               f"{callback['id']}")["deliveries"]
        assert delivery["state"] == "delivered"
        attempts = delivery["attempts"]
        assert [a["status"] for a in attempts] == [500, 500, 200]
        assert attempts[0]["error"].startswith("HTTP 500")
        moments = [callbacks.clock.parse_stamp(a["at"]) for a in attempts]
        assert [(b - a).total_seconds() for a, b in zip(moments, moments[1:])] == [1.0, 2.0]
    finally:
        _admin(cb_server, "PUT", "_mock/clock", {"frozen": False})


def test_a_dead_receiver_is_given_up_after_five_retries(cb_server):
    _admin(cb_server, "PUT", "_mock/clock", {"frozen": True})
    try:
        dead = Receiver()
        url = dead.url + "/gone"
        dead.close()  # nothing listens there any more: connection refused
        callback = _callback(cb_server, url)
        _change(cb_server, callback, 78)
        _admin(cb_server, "POST", "_mock/callbacks/flush")
        for seconds in (1, 2, 4, 8, 16, 32):
            _admin(cb_server, "POST", "_mock/clock/advance", {"seconds": seconds})
        (delivery,) = _admin(cb_server, "GET", f"_mock/callbacks/deliveries?callback="
                                               f"{callback['id']}")["deliveries"]
        assert delivery["state"] == "failed"
        assert len(delivery["attempts"]) == 6
        assert all(a["status"] is None and "Connection" in a["error"]
                   for a in delivery["attempts"])
        failed = _admin(cb_server, "GET", "_mock/callbacks/deliveries?state=failed")["deliveries"]
        assert delivery["id"] in [d["id"] for d in failed]
    finally:
        _admin(cb_server, "PUT", "_mock/clock", {"frozen": False})


def test_changes_of_one_record_go_out_in_order(cb_server, receiver):
    _admin(cb_server, "PUT", "_mock/clock", {"frozen": True})
    try:
        receiver.scripts["/ordered#500"] = [503]  # the first change of record 500 fails once
        callback = _callback(cb_server, receiver.url + "/ordered")
        for value in (1, 2, 3):
            _change(cb_server, callback, 500, changed={"step": value})
        _change(cb_server, callback, 501, changed={"step": "other"})
        got = receiver.wait(2, "/ordered")
        time.sleep(0.6)
        got = receiver.of("/ordered")

        def steps(requests):
            return [(json.loads(urllib.parse.parse_qs(r["body"].decode())["json"][0])["id"],
                     json.loads(urllib.parse.parse_qs(r["body"].decode())["json"][0])[
                         "parameters"]["step"], r["status"]) for r in requests]
        # record 500 waits behind its failed first change; record 501 is not held up
        assert sorted(steps(got)) == [(500, 1, 503), (501, "other", 200)]
        _admin(cb_server, "POST", "_mock/clock/advance", {"seconds": 1})
        got = receiver.wait(5, "/ordered")
        assert [s for s in steps(got) if s[0] == 500] == [
            (500, 1, 503), (500, 1, 200), (500, 2, 200), (500, 3, 200)]
    finally:
        _admin(cb_server, "PUT", "_mock/clock", {"frozen": False})


def test_admin_filters_and_flush(cb_server, receiver):
    status, body, _ = cb_server.get("_mock/callbacks/deliveries?state=lost")
    assert status == 400 and b"Unknown state" in body
    status, body, _ = cb_server.get("_mock/callbacks/deliveries?callback=x")
    assert status == 400
    callback = _callback(cb_server, receiver.url + "/flushed")
    _change(cb_server, callback, 600)
    flushed = _admin(cb_server, "POST", "_mock/callbacks/flush")
    assert flushed["attempts"] in (0, 1)  # the scheduler may have been first
    assert len(receiver.of("/flushed")) == 1  # either way it has arrived when flush answers
    pem = urllib.request.urlopen(cb_server.base_url + "_mock/callbacks/key.pem", timeout=10).read()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_workers_never_send_twice_and_share_one_key(tmp_path, receiver):
    running = start_server(tmp_path, "--workers", "3", "--admin-token", "sesame")
    try:
        store, account, database = _store_with_database(running.db_path)
        running.cb = (store, account, database)
        callback = _callback(running, receiver.url + "/many")
        for record in range(60):
            _change(running, callback, record, changed={"n": record})
        got = receiver.wait(60, "/many", timeout=30)
        time.sleep(0.5)
        got = receiver.of("/many")
        ids = [json.loads(urllib.parse.parse_qs(r["body"].decode())["json"][0])["id"]
               for r in got]
        assert sorted(ids) == list(range(60))  # each exactly once
        for request in got[:: 10]:
            _verify_signature(request, account)  # one key, whichever worker signed
        # the key is public; the rest of the admin API still needs the token
        status, _, _ = running.get("_mock/callbacks/key.pem")
        assert status == 200
        status, _, _ = running.get("_mock/callbacks/deliveries")
        assert status == 401
        store.close()
    finally:
        running.stop()


def test_thousand_changes_from_eight_threads_arrive_in_order(cb_server, receiver):
    callback = _callback(cb_server, receiver.url + "/bulk")
    _, account, database = cb_server.cb
    path = cb_server.db_path

    def writer(number: int) -> None:
        store = open_store(str(path))  # one connection per thread, as the server's threads have
        for step in range(125):
            record = number * 10 + step % 10  # ten records per thread
            with store.transaction():
                callbacks.record_change(
                    store, account_id=account, database_id=database, collection_id=None,
                    kind="profile", record_id=record, action="update",
                    fields={"step": step}, changed={"step": step}, interests={}, source="soap")
        store.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = receiver.wait(1000, "/bulk", timeout=60)
    _admin(cb_server, "POST", "_mock/callbacks/flush")
    got = receiver.of("/bulk")
    assert len(got) == 1000  # none lost, none twice
    seen: dict[int, list[int]] = {}
    for request in got:
        payload = json.loads(urllib.parse.parse_qs(request["body"].decode())["json"][0])
        seen.setdefault(payload["id"], []).append(payload["parameters"]["step"])
    assert len(seen) == 80
    for record, steps in seen.items():
        assert steps == sorted(steps) and len(steps) in (12, 13), record
    states = {d["state"] for d in _admin(cb_server, "GET", "_mock/callbacks/deliveries?callback="
                                                            f"{callback['id']}")["deliveries"]}
    assert states == {"delivered"}


def test_the_documented_verifier_accepts_a_callback(cb_server, receiver):
    text = (callbacks_doc := __import__("pathlib").Path(__file__).parent.parent
            / "docs" / "callbacks.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python(?: [^\n]*)?\n(.*?)```", text, re.S)  # any info-string words
    (block,) = [b for b in blocks if "def verify" in b]
    namespace: dict = {}
    exec(compile(block, str(callbacks_doc), "exec"), namespace)  # the docs' own example
    callback = _callback(cb_server, receiver.url + "/documented?x=1", method="xml")
    _change(cb_server, callback, 3, changed={"a": "b"})
    (request,) = receiver.wait(1, "/documented?x=1")
    namespace["verify"]("POST", request["path"], request["headers"], request["body"])
    with pytest.raises(Exception):
        namespace["verify"]("POST", request["path"], request["headers"], request["body"] + b" ")


# -- over the Copernica SOAP dialect ----------------------------------------------------------

@pytest.fixture(scope="module")
def soap_server(tmp_path_factory):
    """A server with the Copernica fixtures, for callbacks configured and fired over SOAP."""
    from copernica_harness import copernica_server
    running = copernica_server(tmp_path_factory.mktemp("callbacks-soap"))
    yield running
    running.stop()


def _payloads(requests) -> list[dict]:
    return [json.loads(urllib.parse.parse_qs(r["body"].decode())["json"][0]) for r in requests]


def test_profile_writes_over_soap_fire_signed_callbacks(soap_server, receiver):
    from copernica_harness import Api, fresh_database, pairs
    api = Api(soap_server)
    db = fresh_database(api, interests=("news",), collections=("Orders",))
    made = api("Database_createCallback", id=db, url=receiver.url + "/soap-json",
               method="json", expression="Age >= 18").callback
    assert (made.url, made.method, made.expression, made.actionfilter) == (
        receiver.url + "/soap-json", "json", "Age >= 18", "all")
    xml_hook = api("Database_createCallback", id=db, url=receiver.url + "/soap-xml",
                   method="xml").callback
    api("Callback_update", id=xml_hook.id, actionfilter="update")
    assert api("Database_callback", id=db, identifier=xml_hook.id).callback.actionfilter \
        == "update"
    assert "property access is not allowed" in api.fault(
        "Database_createCallback", id=db, url=receiver.url + "/x", expression="a.b.c()")

    profile = api("Database_createProfile", id=db,
                  fields=pairs({"Email": "eve@example.com", "Name": "Eve", "Age": "30"})).profile
    api("Profile_updateFields", id=profile.id, fields=pairs({"Name": "Eva"}))
    api("Profile_updateFields", id=profile.id, fields=pairs({"Age": "12"}))  # expression false
    young = api("Database_createProfile", id=db, fields=pairs({"Age": "9"})).profile
    api("Profile_updateFields", id=profile.id, fields=pairs({"Age": "40"}))
    api("Profile_remove", id=profile.id)
    api("Profile_remove", id=young.id)

    _admin(soap_server, "POST", "_mock/callbacks/flush")
    got = receiver.wait(4, "/soap-json")
    payloads = _payloads(got)
    assert [(p["action"], p["id"]) for p in payloads] == [
        ("create", profile.id), ("update", profile.id), ("update", profile.id),
        ("delete", profile.id)]
    created, renamed, older, removed = payloads
    assert created["database"] == db
    assert created["fields"]["Email"] == "eve@example.com" and created["interests"] == []
    assert renamed["parameters"] == {"Name": "Eva"} and renamed["fields"]["Name"] == "Eva"
    assert older["parameters"] == {"Age": 40} or older["parameters"] == {"Age": "40"}
    assert removed["fields"]["Name"] == "Eva"
    for request in got:
        _verify_signature(request, 1)  # the fixtures' account 1
        assert urllib.parse.urlsplit(
            dict(re.findall(r'(\w+)="([^"]*)"', request["headers"]["Signature"]))["keyId"]
        ).netloc == urllib.parse.urlsplit(soap_server.base_url).netloc
    xml_updates = receiver.wait(3, "/soap-xml")  # updates only, whatever the age
    assert [etree.fromstring(r["body"]).findtext("action") for r in xml_updates] == [
        "update"] * 3
    assert [{e.tag: e.text for e in etree.fromstring(r["body"]).find("updated")}
            for r in xml_updates] == [{"Name": "Eva"}, {"Age": "12"}, {"Age": "40"}]


def test_subprofile_writes_over_soap_fire_collection_callbacks(soap_server, receiver):
    from copernica_harness import Api, fresh_database, pairs
    api = Api(soap_server)
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    api("Collection_createField", id=orders, name="Product", type="text")
    api("Collection_createCallback", id=orders, url=receiver.url + "/orders", method="json")
    profile = api("Database_createProfile", id=db, fields=pairs({"Name": "Ole"})).profile
    sub = api("Profile_createSubProfile", id=profile.id, collection={"id": orders},
              fields=pairs({"Product": "Bike"})).subprofile
    api("SubProfile_updateFields", id=sub.id, fields=pairs({"Product": "Helmet"}))
    _admin(soap_server, "POST", "_mock/callbacks/flush")
    payloads = _payloads(receiver.wait(2, "/orders"))
    assert [(p["action"], p["id"], p["collection"]) for p in payloads] == [
        ("create", sub.id, orders), ("update", sub.id, orders)]
    assert payloads[1]["fields"]["Product"] == "Helmet"
    assert payloads[1]["parameters"] == {"Product": "Helmet"}


def test_thousand_soap_writes_from_eight_threads_fire_a_thousand_callbacks(soap_server, receiver):
    from copernica_harness import Api, fresh_database, pairs
    setup = Api(soap_server)
    db = fresh_database(setup)
    setup("Database_createCallback", id=db, url=receiver.url + "/load", method="json")
    ids = [setup("Database_createProfile", id=db, fields=pairs({"Name": f"p{n}"})).profile.id
           for n in range(8)]
    receiver.wait(8, "/load")
    errors = []

    def writer(profile_id: int) -> None:
        api = Api(soap_server)
        try:
            for step in range(125):
                api("Profile_updateFields", id=profile_id, fields=pairs({"Age": str(step + 1)}))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    receiver.wait(1008, "/load", timeout=60)
    _admin(soap_server, "POST", "_mock/callbacks/flush")
    updates = [p for p in _payloads(receiver.of("/load")) if p["action"] == "update"]
    assert len(updates) == 1000  # none lost, none twice
    for profile_id in ids:
        ages = [int(p["fields"]["Age"]) for p in updates if p["id"] == profile_id]
        assert ages == list(range(1, 126))  # in order per profile
