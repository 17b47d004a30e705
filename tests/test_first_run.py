"""A first run that explains itself (issue #11): a taken port and a store that cannot be
opened in one line each, a ready line saying what the store holds, a page at ``/`` for a
browser, an index at ``/_mock/``, a log line per request, ``--help`` and ``wsdl --base-url``.
All against real ``mockserver`` processes."""
from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree

from conftest import BASIC, ROOT, http, start_server

DEMO = ROOT / "mockserver" / "demo" / "demo.yaml"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def run_cli(*args, env=None, timeout=30):
    """Run ``python -m mockserver ARGS``; (exit status, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "mockserver", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout, env={**os.environ, **(env or {})})
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def taken_port():
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


# -- a taken port ------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_taken_port_is_one_line_naming_the_way_out(tmp_path, taken_port, how):
    db = tmp_path / "store.db"
    args = ["serve", "--db", str(db), "--demo"]
    env = {"MOCKSERVER_PORT": str(taken_port)} if how == "environment" else {}
    if how == "option":
        args += ["--port", str(taken_port)]
    status, out, err = run_cli(*args, env=env)
    assert status == 1 and out == ""
    assert err == (f"mockserver: port {taken_port} on 127.0.0.1 is taken (by another mockserver "
                   f"or program); pass --port N (or MOCKSERVER_PORT=N), or --port 0 for a "
                   f"free one\n")
    assert not db.exists()  # nothing made or seeded for a server that cannot start


def test_a_port_out_of_range_is_one_line(tmp_path):
    status, out, err = run_cli("serve", "--port", "70000", "--db", str(tmp_path / "x.db"))
    assert (status, out, err) == (1, "", "mockserver: --port takes 0 to 65535 (0: a free one), "
                                         "got 70000\n")


def test_port_zero_prints_the_port_it_took(tmp_path):
    running = start_server(tmp_path)  # --port 0
    try:
        port = int(re.match(r"mockserver ready on http://127\.0\.0\.1:(\d+)/  ",
                            running.ready_line).group(1))
        assert port != 0 and running.base_url == f"http://127.0.0.1:{port}/"
        assert running.json("_mock/health")["status"] == "ok"
    finally:
        running.stop()


# -- a store that cannot be opened -------------------------------------------------------------

def _not_sqlite(tmp_path):
    (tmp_path / "notes.db").write_text("not a store\n")
    return tmp_path / "notes.db", f"{tmp_path / 'notes.db'} is not a SQLite file"


def _a_folder(tmp_path):
    (tmp_path / "folder.db").mkdir()
    return tmp_path / "folder.db", f"the store {tmp_path / 'folder.db'} is a folder, not a file"


def _under_a_file(tmp_path):
    (tmp_path / "plain").write_text("")
    return tmp_path / "plain" / "store.db", \
        f"cannot make the store {tmp_path / 'plain' / 'store.db'}: {tmp_path / 'plain'} is " \
        f"not a folder"


def _missing_folder(tmp_path):
    return tmp_path / "no" / "such" / "store.db", \
        f"cannot make the store {tmp_path / 'no/such/store.db'}: the folder " \
        f"{tmp_path / 'no/such'} does not exist; create it, or"


def _read_only_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder / "store.db", \
        f"cannot make the store {folder / 'store.db'}: the folder {folder} is read-only"


def _read_only_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only files")
    folder = tmp_path / "locked"
    folder.mkdir()
    assert run_cli("seed", "--db", str(folder / "store.db"), str(BASIC))[0] == 0
    for name in ("store.db", "store.db-wal", "store.db-shm"):
        if (folder / name).exists():
            (folder / name).chmod(0o444)
    return folder / "store.db", f"the store {folder / 'store.db'} is read-only"


@pytest.mark.parametrize("case", [_missing_folder, _under_a_file, _a_folder, _not_sqlite,
                                  _read_only_folder, _read_only_file])
def test_a_store_that_cannot_be_opened_is_one_line(tmp_path, case):
    db, reason = case(tmp_path)
    try:
        for command in (["serve", "--port", "0", "--demo", "--db", str(db)],
                        ["seed", "--db", str(db), str(BASIC)], ["export", "--db", str(db), "-"]):
            status, out, err = run_cli(*command)
            if command[0] == "export" and not db.exists():
                assert err == f"mockserver: no store at {db}\n"
                continue
            assert status == 1 and out == "", (command, out)
            assert err.startswith(f"mockserver: {reason}"), (command, err)
            assert err.endswith("pass another --db FILE (or MOCKSERVER_DB=FILE), or --db "
                                ":memory:\n") and err.count("\n") == 1, err
    finally:
        if db.parent.name == "locked":
            db.parent.chmod(0o755)


# -- the ready line ----------------------------------------------------------------------------

def _counts(running) -> tuple[int, int]:
    [row] = running.rows("SELECT (SELECT count(*) FROM subscribers) AS s, "
                         "(SELECT count(*) FROM profiles) AS p")
    return row["s"], row["p"]


def _width_on_port_8080(running) -> int:
    """The ready line's length as `make serve` prints it (port 8080)."""
    port = running.base_url.rsplit(":", 1)[1].rstrip("/")
    return len(running.ready_line.replace(f":{port}/", ":8080/"))


def test_the_ready_line_says_seeded_then_reused_with_counts(tmp_path):
    first = start_server(tmp_path, "--demo", fixtures=())
    try:
        subscribers, profiles = _counts(first)
        assert subscribers > 100 and profiles > 10  # the demo's data, counted in the store
        assert first.ready_line == (f"mockserver ready on {first.base_url}  seeded: "
                                    f"{subscribers} subscribers, {profiles} profiles")
        assert _width_on_port_8080(first) <= 80
        as_documented = first.ready_line.replace(first.base_url, "http://127.0.0.1:8080/")
        for doc in ("README.md", "docs/ui.md", "docs/backclick.md"):
            assert as_documented in (ROOT / doc).read_text(encoding="utf-8"), doc
        first.zeep().service.saveOrCreateSubscriber(
            mandatorId=1, apiKey="demo-key-1", subscribers={"item": [
                {"subscriberEmail": "second.run@example.com", "newsletterListIds": {"item": [1]}}]})
    finally:
        first.stop()
    second = start_server(tmp_path, "--demo", fixtures=())  # the same store.db
    try:
        assert _counts(second) == (subscribers + 1, profiles)
        assert second.ready_line == (f"mockserver ready on {second.base_url}  reused: "
                                     f"{subscribers + 1} subscribers, {profiles} profiles")
        assert _width_on_port_8080(second) <= 80
    finally:
        second.stop()


def test_a_reused_store_says_the_fixtures_were_not_applied_and_how_to_start_over(tmp_path):
    db = tmp_path / "store.db"
    status, out, err = run_cli("seed", "--db", str(db), str(BASIC))
    assert status == 0, err
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0",
                                "--db", str(db), "--demo"], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        notice, ready = process.stdout.readline(), process.stdout.readline()
    finally:
        process.terminate()
        process.wait(10)
    assert notice == (f"mockserver: {db} has data, so the fixtures were not applied; to start "
                      f"over: POST /_mock/reset, or another --db (:memory: for a throwaway "
                      f"store)\n")
    with sqlite3.connect(db) as conn:
        subscribers = conn.execute("SELECT count(*) FROM subscribers").fetchone()[0]
    assert ready.startswith("mockserver ready on http://127.0.0.1:")
    assert ready.endswith(f"/  reused: {subscribers} subscribers, 0 profiles\n")


def test_a_throwaway_store_with_two_workers(tmp_path):
    running = start_server(tmp_path, "--db", ":memory:", "--workers", "2", "--demo",
                           fixtures=())
    try:
        demo = tmp_path / "demo.db"  # what the demo holds, seeded into a file of its own
        assert run_cli("seed", "--db", str(demo), str(DEMO))[0] == 0
        with sqlite3.connect(demo) as conn:
            subscribers, profiles = conn.execute(
                "SELECT (SELECT count(*) FROM subscribers), (SELECT count(*) FROM profiles)"
            ).fetchone()
        assert running.ready_line.endswith(
            f"/  seeded: {subscribers} subscribers, {profiles} profiles")
        assert subscribers > 100 and profiles > 10
        for _ in range(6):  # fresh connections land on either worker: one store
            assert len(requests.get(running.base_url + "_mock/export", timeout=30).json()[
                "backclick"]["mandators"]) == 2
    finally:
        running.stop()
    empty = start_server(tmp_path, "--db", ":memory:", fixtures=())
    try:
        assert empty.ready_line.endswith("/  new, empty store")
    finally:
        empty.stop()


# -- GET / and GET /_mock/ ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A server on the demo data, logging its requests."""
    running = start_server(tmp_path_factory.mktemp("first-run"), "--demo", fixtures=())
    yield running
    running.stop()


def test_a_browser_at_the_ready_url_gets_a_page_of_working_links(demo):
    answer = requests.get(demo.base_url, headers=BROWSER, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    links = re.findall(r"href='([^']+)'", answer.text)
    assert links == [f"{demo.base_url}bc/rpc/soap/backclickService?wsdl",
                     f"{demo.base_url}?SOAPAPI=WSDL", f"{demo.base_url}_mock/ui/",
                     f"{demo.base_url}_mock/"]
    wsdls = [requests.get(link, timeout=60) for link in links[:2]]
    for wsdl in wsdls:
        assert wsdl.status_code == 200
        assert etree.fromstring(wsdl.content).tag == "{http://schemas.xmlsoap.org/wsdl/}definitions"
    assert requests.get(links[2], headers=BROWSER, timeout=30).text.count("Inbox") >= 1
    assert requests.get(links[3], timeout=30).json()["routes"]
    for path in re.findall(r"<code>((?:docs/)?[\w.-]+\.md)</code>", answer.text):
        assert (ROOT / path).is_file(), path  # the documentation it names exists
    assert "docs/backclick.md" in answer.text and "docs/copernica.md" in answer.text


def test_the_copernica_endpoint_at_the_root_is_unchanged(demo):
    from copernica_harness import Api
    assert Api(demo, token="demo-copernica-token")("Account_databases") is not None  # POST /
    status, body, headers = http("GET", demo.base_url + "?SOAPAPI=WSDL", headers=BROWSER)
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    assert b"POM_SOAP_API" in body
    # curl (Accept: */*) and other clients that do not ask for HTML: the SOAP fault, with a hint
    status, body, headers = http("GET", demo.base_url, headers={"Accept": "*/*"})
    assert status == 500 and headers["Content-Type"].startswith("text/xml")
    assert b"GET is not supported here: POST a SOAP envelope, or GET " in body
    assert b"A browser (Accept: text/html) gets a page of links here." in body
    # HTML refused (q=0) or a query: no page either
    for url, accept in ((demo.base_url, "text/html;q=0, */*"),
                        (demo.base_url + "?x=1", "text/html")):
        assert http("GET", url, headers={"Accept": accept})[2]["Content-Type"].startswith(
            "text/xml")


def test_the_admin_index_lists_every_route_of_the_route_table(demo):
    answer = requests.get(demo.base_url + "_mock/", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(
        "application/json")
    index = answer.json()
    assert requests.get(demo.base_url + "_mock", timeout=30).json() == index
    routes = {route["path"]: route for route in index["routes"]}
    assert len(routes) == len(index["routes"])  # one entry per path
    # every admin route the README's table names is listed, with its methods
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| call | what it does |", 1)[1].split("\n\n", 1)[0]
    for methods, path in re.findall(r"`((?:[A-Z]+\\?\|)*[A-Z]+) (/_mock/[^`?\[ ]*)", table):
        path = re.sub(r"/(ID|NAME)(?=/|\.|$)", "/{}", path)
        listed = [r for p, r in routes.items() if re.sub(r"\{\w+\}", "{}", p) == path]
        assert listed, path
        for method in methods.replace("\\", "").split("|"):
            assert method in listed[0]["methods"], (method, path)
    for route in index["routes"]:
        assert route["description"] and "\n" not in route["description"]
        assert route["methods"] and "HEAD" not in route["methods"]
    # the descriptions are the handlers' own: what a route answers is what it says
    assert routes["/_mock/health"]["description"].startswith("GET /_mock/health: ready")
    assert http("GET", demo.base_url + "_mock/health")[0] == 200
    assert index["links"]["ui"] == "/_mock/ui/"


def test_the_admin_index_is_behind_the_admin_gate(tmp_path):
    running = start_server(tmp_path, "--admin-token", "s3cret")
    try:
        assert running.get("_mock/")[0] == 401
        status, body, _ = http("GET", running.base_url + "_mock/",
                               headers={"Authorization": "Bearer s3cret"})
        assert status == 200 and json.loads(body)["routes"]
        status, _, _ = http("GET", running.base_url + "_mock/",
                            headers={"Authorization": "Bearer s3cret",
                                     "Origin": "http://evil.example"})
        assert status == 200  # with the token the Origin does not matter, as elsewhere
    finally:
        running.stop()
    running = start_server(tmp_path, "--trusted-proxy", "127.0.0.1/32")
    try:
        far = {"X-Forwarded-For": "203.0.113.7"}
        assert http("GET", running.base_url + "_mock/", headers=far)[0] == 403
        assert http("GET", running.base_url + "_mock/",
                    headers={"Origin": "http://evil.example"})[0] == 403
        # the page at / is the SOAP endpoint's and reveals nothing: open as the WSDLs are
        assert http("GET", running.base_url, headers={**BROWSER, **far})[0] == 200
    finally:
        running.stop()


# -- --log-requests ----------------------------------------------------------------------------

LINE = re.compile(r"(\d\d:\d\d:\d\d\.\d{3}) (\S+) (\S+) (\S+) (\S+) (\d+) (\d+\.\d)ms")


def _serve_logging(tmp_path, env: dict):
    """A server on the basic fixtures with its standard error piped; (process, base URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db",
         str(tmp_path / "s.db"), "--fixtures", str(BASIC)], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env})
    return process, re.search(r"(http://\S+/)", process.stdout.readline()).group(1)


def _some_requests(base: str) -> None:
    import zeep
    client = zeep.Client(base + "bc/rpc/soap/backclickService?wsdl")
    client.service.getSubscribers(mandatorId=1, emailAddresses={"item": ["a@example.com"]})
    requests.get(base, headers=BROWSER, timeout=30)
    requests.get(base + "_mock/outbox?to=a@example.com", timeout=30)
    requests.get(base + "_mock/ui/", timeout=30)
    requests.post(base + "_mock/faults", json={"operation": "getSubscriber", "fault": "x"},
                  timeout=30)
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port)) as raw:
        raw.sendall(b"POST /bc/rpc/soap/backclickService HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: text/xml\r\nContent-Length: 999999999\r\n\r\n")
        assert raw.recv(65536).startswith(b"HTTP/1.1 500")  # refused before it is read


def _stderr_after(process) -> str:
    time.sleep(0.3)  # the last line follows the answer
    process.terminate()
    return process.communicate(timeout=20)[1]


def test_log_requests_writes_one_line_per_request(tmp_path):
    process, base = _serve_logging(tmp_path, {"MOCKSERVER_LOG_REQUESTS": "1"})
    try:
        _some_requests(base)
    finally:
        err = _stderr_after(process)
    lines = [LINE.fullmatch(line) for line in err.splitlines() if LINE.match(line)]
    assert all(lines), err  # each line whole
    assert [m.groups()[1:6] for m in lines] == [
        ("GET", "/bc/rpc/soap/backclickService?wsdl", "backclick", "WSDL", "200"),
        ("POST", "/bc/rpc/soap/backclickService", "backclick", "getSubscribers", "200"),
        ("GET", "/", "ui", "front_page", "200"),
        ("GET", "/_mock/outbox?to=a@example.com", "admin", "outbox", "200"),
        ("GET", "/_mock/ui/", "ui", "-", "200"),
        ("POST", "/_mock/faults", "admin", "faults", "400"),
        ("POST", "/bc/rpc/soap/backclickService", "backclick", "refused", "413"),
    ], err


def test_without_log_requests_nothing_is_logged(tmp_path):
    process, base = _serve_logging(tmp_path, {"MOCKSERVER_LOG_REQUESTS": ""})
    try:
        _some_requests(base)
    finally:
        err = _stderr_after(process)
    assert not [line for line in err.splitlines() if LINE.match(line)], err


# -- --help and mockserver wsdl ----------------------------------------------------------------

def test_help_names_both_vendors_and_how_to_start_over():
    status, out, _ = run_cli("--help")
    assert status == 0
    assert "BACKCLICK SOAP API v2" in out and "Copernica SOAP API" in out
    assert "POST /_mock/reset" in out and "--db :memory:" in out
    status, out, _ = run_cli("serve", "--help")
    assert "--log-requests" in " ".join(out.split())


def test_wsdl_writes_the_base_url_into_the_addresses(tmp_path):
    status, out, err = run_cli("wsdl", str(tmp_path), "--base-url", "https://mock.test:9443")
    assert status == 0, err
    assert out.splitlines() == [
        f"wrote {tmp_path / 'backclickService.wsdl'} for https://mock.test:9443/",
        f"wrote {tmp_path / 'copernica.wsdl'} for https://mock.test:9443/"]
    soap = "{http://schemas.xmlsoap.org/wsdl/soap/}address"
    bc = etree.parse(str(tmp_path / "backclickService.wsdl"))
    assert [a.get("location") for a in bc.iter(soap)] == [
        "https://mock.test:9443/bc/rpc/soap/backclickService"]
    cop = etree.parse(str(tmp_path / "copernica.wsdl")).getroot()
    assert [a.get("location") for a in cop.iter(soap)] == ["https://mock.test:9443/"]
    assert cop.get("targetNamespace") == "https://mock.test:9443/?SOAPAPI=WSDL"
    # the default is the checked-in copy's
    status, _, _ = run_cli("wsdl", str(tmp_path / "default"))
    for name in ("backclickService.wsdl", "copernica.wsdl"):
        assert (tmp_path / "default" / name).read_bytes() == (ROOT / "wsdl" / name).read_bytes()


@pytest.mark.parametrize("url", ["ftp://mock.test/", "mock.test:8080", "http://a b/",
                                 "http://mock.test/?x=1"])
def test_wsdl_refuses_a_base_url_that_is_none(tmp_path, url):
    status, out, err = run_cli("wsdl", str(tmp_path / "out"), "--base-url", url)
    assert status == 1 and out == "" and err == (
        f"mockserver: --base-url takes an http:// or https:// URL with a host and no query, "
        f"e.g. http://mockserver:8080/, got {url!r}\n")
    assert not (tmp_path / "out").exists()
