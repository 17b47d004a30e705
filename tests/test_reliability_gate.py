"""Reliability: the admin API's one gate, and what a hostile page or client sends to the SOAP
endpoints. Every admin and UI route, in every spelling of its path, is refused the same way;
nothing a refused call sends changes the store."""
from __future__ import annotations

import http.client
import json
import re
import time
from urllib.parse import urlsplit

import pytest
from lxml import etree

from conftest import BASIC, start_server
from mockserver.copernica import callback_signing
from mockserver.surfaces.admin import AdminApi
from mockserver.surfaces.admin_journal import JournalFaultsApi
from mockserver.surfaces.ui import OPEN_PATHS, WebUi

TOKEN = "gate-test-token-0123456789"
BC_PATH = "/bc/rpc/soap/backclickService"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
# Every way of spelling /_mock/... that reaches the same route.
SPELLINGS = ["//{}", "///{}", "/./{}", "/%2F{}", "/bc/../{}", "/{}/.", "/{}//"]


def admin_routes() -> list[tuple[str, str]]:
    """(method, path) for every admin API and UI route, placeholders filled in."""
    rules = [*AdminApi(None).rules(), *JournalFaultsApi(None).rules(), *WebUi.rules(None)]
    routes = []
    for rule in rules:
        path = re.sub(r"<id:[^>]+>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


ROUTES = admin_routes()
KEY_PATH = "/" + callback_signing.KEY_PATH  # the callbacks' public key: for anyone, by design


def spelled(path: str) -> list[str]:
    """The other spellings of ``path`` (``/_mock/...``)."""
    return [spelling.format(path.lstrip("/")) for spelling in SPELLINGS]


def send(server, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """A raw HTTP request whose path goes out exactly as written; (status, headers, body)."""
    parts = urlsplit(server.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        sent = {"Host": parts.netloc, **(headers or {})}
        if body or method in ("POST", "PUT"):
            sent.setdefault("Content-Length", str(len(body)))
        for name, value in sent.items():
            if value is not None:
                conn.putheader(name, value)
        conn.endheaders(body or None)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def export(server, token: str | None = None) -> dict:
    """The store as ``GET /_mock/export`` gives it (minus the moment of the export)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, _, body = send(server, "GET", "/_mock/export", headers=headers)
    assert status == 200, body
    document = json.loads(body)
    document.pop("exportedAt", None)
    return document


def counts(server) -> dict:
    """Rows per data table of the store."""
    tables = [r["name"] for r in server.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: server.rows(f'SELECT count(*) AS n FROM "{t}"')[0]["n"] for t in tables
            if t not in ("journal", "meta")}


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    """A server started with --admin-token."""
    running = start_server(tmp_path_factory.mktemp("gate-token"), "--admin-token", TOKEN)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """A server without an admin token: loopback callers and names only."""
    running = start_server(tmp_path_factory.mktemp("gate-open"))
    yield running
    running.stop()


def test_the_route_list_covers_the_admin_api_and_the_ui():
    paths = {path for _, path in ROUTES}
    assert {"/_mock/export", "/_mock/reset", "/_mock/tenants", "/_mock/journal",
            "/_mock/faults", "/_mock/ui/", "/_mock/ui/clock"} <= paths
    assert len(ROUTES) > 40


def test_every_spelling_without_the_token_is_refused(token_server):
    before, rows = export(token_server, TOKEN), counts(token_server)
    for method, path in ROUTES:
        if path in OPEN_PATHS or path == KEY_PATH:
            continue
        for spelling in [path, *spelled(path)]:
            status, headers, body = send(token_server, method, spelling, b"{}" if method in (
                "POST", "PUT") else b"", {"Content-Type": "application/json"})
            if path.startswith("/_mock/ui"):  # a browser: to the login page, or 401
                assert status in (303, 401), (method, spelling, status, body[:200])
                if status == 303:
                    assert urlsplit(headers["location"]).path == "/_mock/ui/login"
            else:
                assert status == 401, (method, spelling, status, body[:200])
                assert "Bearer" in json.loads(body)["error"]
    assert export(token_server, TOKEN) == before
    assert counts(token_server) == rows


def test_a_wrong_token_is_refused_and_the_right_one_admitted(token_server):
    for spelling in ["/_mock/health", *spelled("/_mock/health")]:
        for wrong in (f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", TOKEN, "Bearer ", "Basic x",
                      f"bearer {TOKEN}"):
            status, _, _ = send(token_server, "GET", spelling, headers={"Authorization": wrong})
            assert status == 401, (spelling, wrong)
        status, _, body = send(token_server, "GET", spelling,
                               headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, (spelling, body)


def test_reset_in_another_spelling_leaves_the_store_alone(token_server):
    before = export(token_server, TOKEN)
    assert before["backclick"]["mandators"], "the fixture seeds mandators"
    for spelling in spelled("/_mock/reset"):
        status, _, _ = send(token_server, "POST", spelling)
        assert status == 401
    assert export(token_server, TOKEN) == before


def test_every_spelling_under_another_host_name_is_refused(open_server):
    before, rows = export(open_server), counts(open_server)
    for method, path in ROUTES:
        if path == KEY_PATH:
            continue
        for spelling in [path, *spelled(path)]:
            status, _, body = send(open_server, method, spelling, b"{}" if method in (
                "POST", "PUT") else b"", {"Host": "evil.example", "Content-Type": "application/json"})
            assert status == 403, (method, spelling, status, body[:200])
            assert "evil.example" in json.loads(body)["error"]
    assert export(open_server) == before
    assert counts(open_server) == rows


def test_every_spelling_from_a_page_of_another_site_is_refused(open_server):
    before, rows = export(open_server), counts(open_server)
    for method, path in ROUTES:
        ui = path.startswith("/_mock/ui")
        if ui and method == "GET" or path == KEY_PATH:
            continue  # a page of another site can link to a UI page, never read it
        for spelling in [path, *spelled(path)]:
            for origin in ("http://evil.example", "null", "http://127.0.0.1.evil.example"):
                status, _, body = send(open_server, method, spelling, b"{}" if method in (
                    "POST", "PUT") else b"", {"Origin": origin,
                                               "Content-Type": "application/json"})
                assert status == 403, (method, spelling, origin, status, body[:200])
    assert export(open_server) == before
    assert counts(open_server) == rows


def test_the_same_origin_is_admitted(open_server):
    host = urlsplit(open_server.base_url).netloc
    status, _, body = send(open_server, "GET", "//_mock/health",
                           headers={"Origin": f"http://{host}"})
    assert status == 200, body


def test_ids_beyond_64_bits_answer_404(open_server):
    huge = "9" * 30
    for method, path in ROUTES:
        if "/1" not in path:
            continue
        for number in (huge, str(2**63), str(2**64)):
            wanted = path.replace("/1", "/" + number)
            status, _, body = send(open_server, method, wanted, b"{}" if method in (
                "POST", "PUT") else b"", {"Content-Type": "application/json",
                                           "Origin": open_server.base_url.rstrip("/")})
            assert status == 404, (method, wanted, status, body[:300])
    for path in (f"/bc/t/c/{'a' * 32}/{huge}", f"/bc/t/o/{huge}.gif"):
        status, _, _ = send(open_server, "GET", path)
        assert status in (200, 404)  # a pixel is always answered; never a 500
    status, _, body = send(open_server, "GET", f"/_mock/outbox/{2**63 - 1}")
    assert status == 404 and b"error" in body


def soap_envelope(email: str) -> bytes:
    """A saveOrCreateSubscriber for mandator 1 (open to 127.0.0.1 without a key)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="{SOAP_NS}" xmlns:bc="http://soap.rpc.bc.backclick.de/">
<soap:Body><bc:saveOrCreateSubscriber><bc:mandatorId>1</bc:mandatorId>
<bc:subscribers><bc:item><bc:subscriberEmail>{email}</bc:subscriberEmail></bc:item></bc:subscribers>
</bc:saveOrCreateSubscriber></soap:Body></soap:Envelope>""".encode()


def fault_string(body: bytes) -> str:
    """The faultstring of a SOAP 1.1 fault answer."""
    root = etree.fromstring(body)
    return root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault/faultstring").text


def subscribers_named(server, email: str) -> list:
    """Rows of the subscriber with this address."""
    return server.rows("SELECT id FROM subscribers WHERE email = ?", email)


def test_the_envelope_in_this_test_is_accepted_as_text_xml(open_server):
    status, _, body = send(open_server, "POST", BC_PATH, soap_envelope("ok@example.com"),
                           {"Content-Type": "text/xml; charset=utf-8"})
    assert status == 200, body
    assert subscribers_named(open_server, "ok@example.com")


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/json", "application/xml", None])
@pytest.mark.parametrize("path", [BC_PATH, "/", "//bc/rpc/soap/backclickService"])
def test_soap_endpoints_refuse_other_content_types(open_server, content_type, path):
    email = f"csrf-{abs(hash((content_type, path)))}@example.com"
    status, headers, body = send(open_server, "POST", path, soap_envelope(email),
                                 {"Content-Type": content_type})
    assert status == 415, body
    assert headers["content-type"].startswith("text/xml")
    assert "not a SOAP content type" in fault_string(body)
    assert not subscribers_named(open_server, email)


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1"])
def test_soap_endpoints_refuse_pages_of_another_site(open_server, origin):
    email = f"origin-{abs(hash(origin))}@example.com"
    status, _, body = send(open_server, "POST", BC_PATH, soap_envelope(email),
                           {"Content-Type": "text/xml", "Origin": origin})
    assert status == 403, body
    assert "another site" in fault_string(body)
    assert not subscribers_named(open_server, email)
    host = urlsplit(open_server.base_url).netloc
    status, _, body = send(open_server, "POST", BC_PATH, soap_envelope(email),
                           {"Content-Type": "text/xml", "Origin": f"http://{host}"})
    assert status == 200, body
    assert subscribers_named(open_server, email)


@pytest.mark.parametrize("host", ['x"><y z="', "a b", "evil.example/../x", "<h>", "x:y:z",
                                  "[::1", "a\\b", "h" * 400])
@pytest.mark.parametrize("path", [BC_PATH + "?wsdl", "/?SOAPAPI=WSDL"])
def test_a_host_header_that_is_no_host_never_enters_a_wsdl(open_server, host, path):
    status, headers, body = send(open_server, "GET", path, headers={"Host": host})
    assert status == 400, body
    assert headers["content-type"].startswith("text/xml")
    assert "Host header" in fault_string(body)
    assert host.encode() not in body or len(host) < 4


def test_a_host_header_that_is_no_host_gets_json_on_admin_paths(open_server):
    status, headers, body = send(open_server, "GET", "/_mock/health",
                                 headers={"Host": 'x"><y z="'})
    assert status == 400
    assert "Host header" in json.loads(body)["error"]


@pytest.mark.parametrize("host", ["localhost:8080", "127.0.0.1", "[::1]:9", "mock_server:80",
                                  "mock.example.", "MOCK.example:8080"])
def test_ordinary_host_names_are_written_into_the_wsdl(open_server, host):
    status, _, body = send(open_server, "GET", BC_PATH + "?wsdl", headers={"Host": host})
    assert status == 200
    assert f'location="http://{host}{BC_PATH}"'.encode() in body


def seeded_pair(tmp_path, *args):
    """Two fresh servers with the same seed and frozen clock, started with ``args``."""
    from copernica_harness import COPERNICA
    servers = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        extra = folder / "seed.yaml"
        extra.write_text('seed: 4242\nclock: {start: "2026-03-01T09:00:00Z", frozen: true}\n')
        servers.append(start_server(folder, *args, fixtures=(BASIC, COPERNICA, extra)))
    return servers


def secrets_of(server, token: str | None) -> tuple:
    """A Copernica session cookie and a new tenant's secrets, as the server hands them out."""
    from copernica_harness import PASSWORD, USER
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    login = (f'<soap:Envelope xmlns:soap="{SOAP_NS}" xmlns:c="http://soap.copernica.com/">'
             f'<soap:Body><c:login><parameters><username>{USER}</username><password>{PASSWORD}'
             f'</password></parameters></c:login></soap:Body></soap:Envelope>').encode()
    status, answer_headers, body = send(server, "POST", "/", login, {"Content-Type": "text/xml"})
    assert status == 200, body
    cookie = answer_headers["set-cookie"].split(";")[0]
    status, _, body = send(server, "POST", "/_mock/tenants", b"", headers)
    assert status == 201, body
    return cookie, tuple(re.findall(r'"([0-9a-f]{32})"', body.decode()))


def test_seeded_secrets_repeat_on_loopback(tmp_path):
    one, two = seeded_pair(tmp_path)
    try:
        first, second = secrets_of(one, None), secrets_of(two, None)
        assert first[1], "a tenant hands out 32-hex secrets"
        assert first == second  # the replay promise, on this machine only
    finally:
        one.stop(), two.stop()


def test_a_reachable_server_never_hands_out_seeded_credentials(tmp_path):
    one, two = seeded_pair(tmp_path, "--host", "0.0.0.0", "--admin-token", TOKEN)
    try:
        (cookie_one, tenant_one), (cookie_two, tenant_two) = \
            secrets_of(one, TOKEN), secrets_of(two, TOKEN)
        assert cookie_one != cookie_two
        assert tenant_one and not set(tenant_one) & set(tenant_two)
        # and still the seed's codes for data (a profile code), as on loopback
    finally:
        one.stop(), two.stop()


@pytest.mark.parametrize("query", ["outbox?newsletter=", "journal?limit=",
                                   "outbox?limit="])
def test_query_numbers_beyond_64_bits_are_a_json_400(open_server, query):
    status, _, body = send(open_server, "GET", f"/_mock/{query}{'9' * 30}")
    assert status == 400, body
    assert "error" in json.loads(body)
