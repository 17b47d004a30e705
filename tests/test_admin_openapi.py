"""The admin API's OpenAPI document: every route of the server is in it and every operation in
it is a route; real answers match its schemas; schemathesis finds the live server as it says."""
from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys

import jsonschema_rs
import pytest
import yaml

from conftest import BASIC, ROOT, http, start_server
from mockserver.surfaces.embedded import EmbeddedServer
from mockserver.surfaces.settings import Settings

DOCUMENT_FILE = ROOT / "mockserver" / "surfaces" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
SEED = 20261202  # the same cases on every run; see docs/admin-api.md for a longer one by hand
# Coverage: the boundary values the schemas allow, no methods a path does not take (405, not
# what the document covers). Its values outside the schemas would take schemathesis from 12 s
# to 21 s of CPU and 1 100 to 2 900 cases; fuzzing sends such values too, and
# test_refusals_are_documented_and_change_nothing replays what they found.
# The long poll waits 0 s, so its 408 comes at once.
SCHEMATHESIS_CONFIG = """\
[phases.coverage]
unexpected-methods = []

[phases.coverage.generation]
mode = "positive"

[[operations]]
include-path = "/_mock/outbox/wait"
parameters = { timeout = 0 }
"""


def documented(document: dict) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation of an OpenAPI document."""
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method in METHODS}


def routed(routes) -> set[tuple[str, str]]:
    """(METHOD, path) of every rule under /_mock of a werkzeug Map, as OpenAPI writes paths
    (``<id:mail_id>`` is ``{mail_id}``); HEAD, which werkzeug adds to every GET, left out."""
    found = set()
    for rule in routes.iter_rules():
        if rule.rule == "/_mock" or rule.rule.startswith("/_mock/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            found |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def validator(document: dict, schema: dict) -> jsonschema_rs.Validator:
    """A JSON Schema validator for ``schema``, its ``#/components/...`` references resolved
    in ``document`` (the document's own keys are no JSON Schema keywords)."""
    return jsonschema_rs.Draft202012Validator({**document, **schema})


def answer_schema(document: dict, method: str, path: str, status: int) -> dict:
    """The JSON schema a documented answer has."""
    answer = document["paths"][path][method.lower()]["responses"][str(status)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer["content"]["application/json"]["schema"]


@pytest.fixture(scope="module")
def document() -> dict:
    """The document as the package ships it."""
    return yaml.safe_load(DOCUMENT_FILE.read_text(encoding="utf-8"))


def test_every_route_is_documented_and_every_operation_is_a_route(tmp_path, document):
    with EmbeddedServer(Settings(port=0, db=str(tmp_path / "store.db"))) as server:
        status, body, headers = http("GET", server.base_url + "_mock/openapi.json")
        routes = routed(server.app.routes)
        index = json.loads(http("GET", server.base_url + "_mock/")[1])
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    served = json.loads(body)
    assert routes, "no admin routes found in the server's Map"
    assert routes - documented(served) == set(), (
        "routes missing from mockserver/surfaces/openapi.yaml")
    assert documented(served) - routes == set(), "operations the server has no route for"
    assert served["paths"] == document["paths"]
    assert {(method, route["path"]) for route in index["routes"]
            for method in route["methods"]} == routes  # GET /_mock/ lists the same
    assert index["links"]["openapi"] == "/_mock/openapi.json"


def test_the_document_is_openapi_3_1_with_valid_schemas(document):
    assert document["openapi"] == "3.1.0"
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name
    refs = set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', json.dumps(document)))
    assert refs and all(name in document["components"][kind] for kind, name in refs)
    operations = [op for item in document["paths"].values()
                  for method, op in item.items() if method in METHODS]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) == len(documented(document))
    for op in operations:  # every operation says how the gate refuses
        assert "403" in op["responses"] and op.get("summary"), op["operationId"]
    links = [link for op in operations for answer in op["responses"].values()
             for link in answer.get("links", {}).values()]
    assert links and all(link["operationId"] in ids for link in links)


def test_the_fixture_schemas_have_the_keys_the_fixture_format_has(document):
    """The document's fixture schemas name the keys of the format's models (the schema
    ``mockserver schema`` prints)."""
    from mockserver.backclick import fixture_schema as backclick
    from mockserver.copernica import fixture_schema as copernica
    from mockserver.machinery.fixture_schema import state
    from mockserver.vendors import fixture_schema
    schemas = document["components"]["schemas"]
    top = schemas["FixtureDocument"]["properties"]
    assert set(top) == set(fixture_schema.FixtureDocument.KEYS)
    assert set(top["backclick"]["properties"]) == set(backclick.Backclick.KEYS)
    assert set(top["copernica"]["properties"]) == set(copernica.Copernica.KEYS)
    assert set(top["state"]["properties"]) == set(state.State.KEYS)
    assert set(top["clock"]["properties"]) == set(fixture_schema.Clock.KEYS)
    assert set(schemas["FixtureMandator"]["properties"]) == set(backclick.Mandator.KEYS)
    assert set(schemas["FixtureAccount"]["properties"]) == set(copernica.Account.KEYS)


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory):
    """A server with something of everything the admin API shows: mails with attachments,
    links and events, journal entries (a fault and an injected one among them), a fault
    rule, a callback delivery with a failed attempt, a tenant and a snapshot."""
    from copernica_harness import COPERNICA, Api, fresh_database, pairs
    folder = tmp_path_factory.mktemp("openapi")
    running = start_server(folder, fixtures=(BASIC, COPERNICA))
    try:
        _fill(running, Api(running), fresh_database, pairs)
        yield running
    finally:
        running.stop()


def _admin(server, method: str, path: str, body=None, status: int = 200):
    data = json.dumps(body).encode() if body is not None else None
    got, answer, _ = http(method, server.base_url + path, data,
                          {"Content-Type": "application/json"} if data else None)
    assert got == status, answer
    return json.loads(answer)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the socket is closed


def _fill(server, copernica, fresh_database, pairs) -> None:
    mail = {"id": 500, "mandatorId": 50, "kind": "newsletter", "to": "anna.schmidt@example.de",
            "from": "news@shop.example", "fromName": "Shop", "subject": "Spring",
            "html": '<p><a href="https://shop.example/spring">Spring</a></p>', "text": "Spring",
            "token": "openapi-mail-token", "created": "2026-03-01T10:00:00Z",
            "attachments": [{"name": "terms.txt", "contentType": "text/plain",
                             "data": base64.b64encode(b"terms").decode()}],
            "events": [{"type": "open", "at": "2026-03-01T11:00:00Z"}]}
    _admin(server, "POST", "_mock/seed", {"backclick": {"mandators": [{"id": 50, "name": "Mails"}]},
                                          "state": {"outbox": [mail]}})
    _admin(server, "POST", "_mock/outbox/500/events", {"type": "click"}, 201)
    _admin(server, "POST", "_mock/faults", {"operation": "getSubscribers", "times": 1,
                                            "fault": "Try again later."}, 201)
    backclick = server.zeep()
    for key in ("shop-key-1234", "shop-key-1234", "wrong-key"):  # injected, answered, refused
        try:
            backclick.service.getSubscribers(mandatorId=1, apiKey=key,
                                             fillSubscriberFields=True,
                                             emailAddresses={"item": ["both@example.de"]})
        except Exception:  # noqa: BLE001 - the fault is what the journal is to show
            pass
    database = fresh_database(copernica)
    copernica("Database_createCallback", id=database,
              url=f"http://127.0.0.1:{_closed_port()}/hook", method="json")
    copernica("Database_createProfile", id=database,
              fields=pairs({"Email": "cal@example.com", "Name": "Cal", "Age": "30"}))
    _admin(server, "POST", "_mock/callbacks/flush")
    _admin(server, "POST", "_mock/tenants?name=openapi-tenant", status=201)
    _admin(server, "POST", "_mock/snapshots/openapi-snapshot", status=201)


@pytest.mark.parametrize("method, path, route, status", [
    ("GET", "_mock/", "/_mock/", 200),
    ("GET", "_mock/health", "/_mock/health", 200),
    ("GET", "_mock/outbox", "/_mock/outbox", 200),
    ("GET", "_mock/outbox/500", "/_mock/outbox/{mail_id}", 200),
    ("GET", "_mock/outbox/wait?to=anna.schmidt%40example.de&timeout=1", "/_mock/outbox/wait",
     200),
    ("GET", "_mock/outbox/wait?to=nobody%40example.de&timeout=0", "/_mock/outbox/wait", 408),
    ("GET", "_mock/outbox/wait?timeout=nan", "/_mock/outbox/wait", 400),
    ("GET", "_mock/outbox/404", "/_mock/outbox/{mail_id}", 404),
    ("GET", "_mock/journal", "/_mock/journal", 200),
    ("GET", "_mock/journal/1", "/_mock/journal/{entry_id}", 200),
    ("GET", "_mock/journal/9223372036854775808", "/_mock/journal/{entry_id}", 404),
    ("GET", "_mock/faults", "/_mock/faults", 200),
    ("GET", "_mock/faults/1", "/_mock/faults/{rule_id}", 200),
    ("GET", "_mock/callbacks/deliveries", "/_mock/callbacks/deliveries", 200),
    ("GET", "_mock/callbacks/deliveries?tenant=99999999999999999999",
     "/_mock/callbacks/deliveries", 400),
    ("GET", "_mock/outbox?tenant=%C2%B2", "/_mock/outbox", 400),
    ("GET", "_mock/outbox?limit=-1", "/_mock/outbox", 400),
    ("GET", "_mock/tenants", "/_mock/tenants", 200),
    ("GET", "_mock/tenants/openapi-tenant", "/_mock/tenants/{tenant}", 200),
    ("GET", "_mock/snapshots", "/_mock/snapshots", 200),
    ("GET", "_mock/clock", "/_mock/clock", 200),
    ("GET", "_mock/export", "/_mock/export", 200),
])
def test_real_answers_match_the_document(busy_server, document, method, path, route, status):
    got, body, headers = http(method, busy_server.base_url + path)
    assert got == status, body
    assert headers["Content-Type"].startswith("application/json")
    answer = json.loads(body)
    errors = [e.message for e in validator(document, answer_schema(
        document, method, route, status)).iter_errors(answer)]
    assert errors == [], f"{method} {path}: {errors[:3]}"


def test_the_filled_server_shows_what_the_schemas_describe(busy_server):
    """The fill reached every part the schemas describe (else the test above proves less)."""
    (mail,) = busy_server.outbox()
    assert mail["attachments"] and mail["links"]["tracked"]
    assert [e["type"] for e in mail["events"]] == ["open", "click"]
    exchanges = busy_server.json("_mock/journal")["exchanges"]
    assert {e["status"] for e in exchanges} >= {200, 500}
    assert any(e["injected"] for e in exchanges) and any(e["fault"] for e in exchanges)
    (delivery,) = busy_server.json("_mock/callbacks/deliveries")["deliveries"]
    assert delivery["attempts"][0]["status"] is None and delivery["attempts"][0]["error"]
    assert busy_server.json("_mock/faults")["rules"][0]["remaining"] == 0


FAR = "9999-12-31T23:00:00-05:00"  # within the year 9999 here, beyond it in UTC


@pytest.mark.parametrize("method, path, route, body, message", [
    ("POST", "_mock/clock/advance", "/_mock/clock/advance", {"seconds": 3.5e16},
     "The mock's clock runs to 9999-01-01 UTC"),
    ("POST", "_mock/clock/advance", "/_mock/clock/advance", {"seconds": 1e300},
     "The mock's clock runs to 9999-01-01 UTC"),
    ("POST", "_mock/clock/advance", "/_mock/clock/advance", b'{"seconds": NaN}',
     "NaN is not a JSON value"),
    ("PUT", "_mock/clock", "/_mock/clock", {"now": "9999-06-01T00:00:00Z"},
     "The mock's clock runs from 1970-01-01 to 9999-01-01 UTC"),
    ("PUT", "_mock/clock", "/_mock/clock", {"now": "1969-12-31T23:59:59Z"},
     "The mock's clock runs from 1970-01-01 to 9999-01-01 UTC"),
    ("POST", "_mock/faults", "/_mock/faults", {"times": 2**64, "fault": "x"},
     "'times' must be an integer from 1 to 9223372036854775807."),
    ("POST", "_mock/faults", "/_mock/faults", {"operation": "getSubscriber", "fault": "x"},
     "No operation 'getSubscriber'"),
    ("PUT", "_mock/faults", "/_mock/faults", b'{"rules": [{"probability": Infinity}]}',
     "Infinity is not a JSON value"),
    ("POST", "_mock/outbox/500/events", "/_mock/outbox/{mail_id}/events",
     {"type": "click", "url": 5}, "'url' must be a string."),
    ("POST", "_mock/tenants?name=.", "/_mock/tenants", None, "Invalid tenant name '.'"),
    ("POST", "_mock/tenants?name=..", "/_mock/tenants", None, "Invalid tenant name '..'"),
    ("POST", "_mock/seed", "/_mock/seed", {"clock": {"start": FAR}},
     "clock.start: expected a date and time within the years 1 to 9999 in UTC"),
    ("POST", "_mock/seed", "/_mock/seed", {"backclick": {"mandators": [
        {"id": 77, "subscribers": [{"email": "far@example.de", "created": FAR}]}]}},
     "subscribers[0].created: expected a date and time within the years 1 to 9999 in UTC"),
])
def test_refusals_are_documented_and_change_nothing(busy_server, document, method, path, route,
                                                     body, message):
    """What the first schemathesis runs and a reading of the code along the document found
    (each was a 500 or a wrong answer before), and strict JSON (NaN, Infinity) in bodies."""
    state = ("_mock/export", "_mock/faults", "_mock/tenants", "_mock/outbox/500")
    before = [busy_server.json(p) for p in state]
    clock = busy_server.json("_mock/clock")
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    status, answer, _ = http(method, busy_server.base_url + path, data,
                             {"Content-Type": "application/json"} if data else None)
    assert status == 400, answer
    refusal = json.loads(answer)
    assert message in refusal["error"]
    if route == "/_mock/seed":  # a refused fixture document lists its problems one by one
        assert any(message in problem for problem in refusal["problems"]), refusal
    assert validator(document, answer_schema(document, method, route, 400)).is_valid(refusal)
    assert [busy_server.json(p) for p in state] == before
    assert abs(busy_server.json("_mock/clock")["offsetSeconds"] - clock["offsetSeconds"]) < 60


def test_the_live_server_answers_as_the_document_says(tmp_path):
    """schemathesis (examples, coverage, fuzzing and stateful phases) against a throwaway
    server: no 5xx, no status the document does not list, no body its schema refuses."""
    from copernica_harness import COPERNICA
    server = start_server(tmp_path, fixtures=(BASIC, COPERNICA))
    try:
        status, body, _ = server.get("_mock/openapi.json")
        assert status == 200
        schema = tmp_path / "openapi.json"
        schema.write_bytes(body)
        config = tmp_path / "schemathesis.toml"
        config.write_text(SCHEMATHESIS_CONFIG)
        report = tmp_path / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
             str(schema), "--url", server.base_url.rstrip("/"), "--checks", CHECKS,
             "--max-examples", "5", "--seed", str(SEED), "--workers", "1",
             "--generation-database", "none", "--no-color", "--report", "json",
             "--report-json-path", str(report)],
            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    finally:
        server.stop()
    assert report.exists(), done.stdout + done.stderr
    run = json.loads(report.read_text())
    counts = (f"schemathesis {run['schemathesis_version']}: {run['operations']['tested']} of "
              f"{run['operations']['total']} operations tested, "
              f"{run['test_cases']['generated']} test cases, "
              f"{run['test_cases']['with_failures']} with failures, "
              f"{len(run['errors'])} errors, in {run['running_time']:.1f} s")
    print(counts)
    assert done.returncode == 0, counts + "\n" + done.stdout[-6000:]
    operations = len(documented(json.loads(schema.read_text())))
    assert run["operations"]["tested"] == run["operations"]["total"] == operations, counts
    assert run["failures"] == [] and run["errors"] == [], counts
    assert run["test_cases"]["generated"] >= 20 * operations, counts
    assert all(run["phases"][phase]["status"] == "success"
               for phase in ("examples", "coverage", "fuzzing", "stateful")), run["phases"]
