"""Fault injection over HTTP: rules by dialect, operation, tenant, count or probability, and
their effects (vendor fault, HTTP status, delay, dropped connection, truncated body), and
maintenance; for both dialects through zeep."""
from __future__ import annotations

import http.client
import json
import time

import pytest
import requests
import zeep

from conftest import http as plain_http
from copernica_harness import AGENCY, Api, copernica_server

KEY = "shop-key-1234"


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """A server with both dialects' fixtures."""
    running = copernica_server(tmp_path_factory.mktemp("faults"))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_rules(both):
    """Every test starts without rules or maintenance."""
    put(both, {"rules": [], "maintenance": False})
    yield


def call(server, method: str, body=None):
    """An admin call with a JSON body; (status, decoded JSON)."""
    data = None if body is None else json.dumps(body).encode()
    status, answer, _ = plain_http(method, server.base_url + "_mock/faults", data,
                                   {"Content-Type": "application/json"})
    return status, json.loads(answer)


def put(server, body):
    """PUT /_mock/faults."""
    status, answer = call(server, "PUT", body)
    assert status == 200, answer
    return answer


def add(server, rule: dict) -> int:
    """POST one rule; its id."""
    status, answer = call(server, "POST", rule)
    assert status == 201, answer
    return answer["id"]


def get_subscribers(server, mandator: int = 1, key: str = KEY):
    """One getSubscribers call through zeep."""
    return server.zeep().service.getSubscribers(
        mandatorId=mandator, apiKey=key, fillSubscriberFields=False,
        emailAddresses={"item": ["nobody@example.com"]})


def bc_fault(server, **kwargs) -> zeep.exceptions.Fault:
    """The fault a getSubscribers call raises."""
    with pytest.raises(zeep.exceptions.Fault) as info:
        get_subscribers(server, **kwargs)
    return info.value


def test_next_n_calls_get_the_vendor_fault_then_normal(both):
    rule_id = add(both, {"dialect": "backclick", "operation": "GETSUBSCRIBERS", "times": 2,
                         "fault": "Temporary failure, try again later."})
    for _ in range(2):
        fault = bc_fault(both)
        assert fault.message == "Temporary failure, try again later."
        assert fault.code == "soap:Server"
    get_subscribers(both)
    [rule] = both.json("_mock/faults")["rules"]
    assert rule["id"] == rule_id and rule["remaining"] == 0 and rule["calls"] == 2
    journal = both.json("_mock/journal?operation=getSubscribers&limit=3")["exchanges"]
    assert [e["injected"] and e["injected"]["id"] for e in journal] == [rule_id, rule_id, None]
    assert journal[0]["fault"] == {"code": "soap:Server",
                                   "string": "Temporary failure, try again later."}


def test_rule_matches_tenant_and_operation_only(both):
    add(both, {"tenant": "mandator-2", "fault": "Mandator 2 is broken."})
    add(both, {"dialect": "copernica", "operation": "Account_databases",
               "tenant": "account-2", "faultcode": "Client", "fault": "No databases today."})
    get_subscribers(both)  # mandator 1: untouched
    assert Api(both)("Account_databases") is not None  # account 1: untouched
    agency = Api(both, token=AGENCY)
    assert agency.fault("Account_databases") == "No databases today."
    assert bc_fault(both, mandator=2, key="other-key-9876").message == "Mandator 2 is broken."
    assert [e["tenant"] for e in both.json("_mock/journal?limit=2")["exchanges"]] == \
        ["account-2", "mandator-2"]


def test_http_status_with_body(both):
    add(both, {"dialect": "backclick", "status": 503, "body": "upstream busy", "times": 1})
    with pytest.raises(zeep.exceptions.TransportError) as info:
        get_subscribers(both)
    assert info.value.status_code == 503
    assert info.value.content == b"upstream busy"
    get_subscribers(both)


def test_delay_then_normal_answer(both):
    add(both, {"operation": "getSubscribers", "delayMs": 400, "times": 1})
    started = time.monotonic()
    get_subscribers(both)
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    get_subscribers(both)
    assert time.monotonic() - started < 0.4


def test_dropped_connection_and_truncated_body(both):
    add(both, {"operation": "getSubscribers", "drop": True, "times": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        get_subscribers(both)
    add(both, {"operation": "getSubscribers", "truncate": True, "times": 1})
    host, port = both.base_url.split("//")[1].rstrip("/").split(":")
    body = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            b'<getSubscribers xmlns="http://soap.rpc.bc.backclick.de/"/></soap:Body></soap:Envelope>')
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/bc/rpc/soap/backclickService", body, {"Content-Type": "text/xml"})
    answer = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        answer.read()
    conn.close()
    get_subscribers(both)
    injected = [e["injected"] for e in both.json("_mock/journal?limit=3")["exchanges"]]
    assert injected[0]["drop"] is True and injected[1]["truncate"] is True
    assert injected[2] is None


def test_maintenance_for_both_dialects_until_lifted(both):
    answer = put(both, {"maintenance": True})
    assert answer["maintenance"] is True
    assert bc_fault(both).message == "The service is down for maintenance."
    assert Api(both).fault("Account_databases") == "The service is down for maintenance."
    put(both, {"maintenance": "Back at 10:00."})
    assert bc_fault(both).message == "Back at 10:00."
    put(both, {"maintenance": False})
    get_subscribers(both)


def test_rules_listed_replaced_and_removed(both):
    first = add(both, {"operation": "getSubscribers", "fault": "one"})
    second = add(both, {"operation": "getSubscribers", "fault": "two"})
    assert [r["id"] for r in both.json("_mock/faults")["rules"]] == [first, second]
    assert bc_fault(both).message == "one"
    status, _, _ = plain_http("DELETE", both.base_url + f"_mock/faults/{first}")
    assert status == 200
    assert bc_fault(both).message == "two"
    assert plain_http("DELETE", both.base_url + f"_mock/faults/{first}")[0] == 404
    rules = put(both, {"rules": [{"fault": "three", "times": 1}]})["rules"]
    assert [r["fault"] for r in rules] == ["three"]
    assert bc_fault(both).message == "three"
    status, answer = call(both, "DELETE")
    assert status == 200 and answer["deleted"] == 1
    get_subscribers(both)


@pytest.mark.parametrize("rule, message", [
    ({"operation": "x"}, "needs an effect"),
    ({"fault": "x", "times": 0}, "'times'"),
    ({"fault": "x", "probability": 2}, "'probability'"),
    ({"fault": "x", "status": 500}, "one of"),
    ({"fault": "x", "dialect": "soap"}, "'dialect'"),
    ({"fault": "x", "colour": "red"}, "Unknown"),
])
def test_bad_rules_are_refused(both, rule, message):
    status, answer = call(both, "POST", rule)
    assert status == 400 and message in answer["error"]


def _failing_calls(tmp_path, name: str) -> list[int]:
    (tmp_path / name).mkdir()
    server = copernica_server(tmp_path / name)
    try:
        add(server, {"operation": "getSubscribers", "probability": 0.3, "seed": 42,
                     "fault": "Random failure."})
        failed = []
        for number in range(40):
            try:
                get_subscribers(server)
            except zeep.exceptions.Fault:
                failed.append(number)
        return failed
    finally:
        server.stop()


def test_probabilistic_rule_fails_the_same_calls_on_every_run(tmp_path):
    first = _failing_calls(tmp_path, "one")
    second = _failing_calls(tmp_path, "two")
    assert first == second
    assert 3 <= len(first) <= 25


def test_the_documented_examples_run_against_the_demo(tmp_path):
    import re
    import subprocess

    from conftest import ROOT, start_server
    server = start_server(tmp_path, "--demo", fixtures=())
    try:
        text = (ROOT / "docs" / "journal-and-faults.md").read_text(encoding="utf-8")
        shell = re.findall(r"```sh\n(.*?)```", text, re.S)
        assert len(shell) == 2
        outputs = []
        for block in shell:
            done = subprocess.run(["bash", "-euo", "pipefail", "-c",
                                   block.replace("http://127.0.0.1:8080/", server.base_url)],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0 and '"error"' not in done.stdout, done.stdout + done.stderr
            outputs.append(done.stdout)
        assert '"credential": "********ey-1"' in outputs[0]
        assert '"tenant": "mandator-1"' in outputs[0]
        assert server.json("_mock/faults") == {"maintenance": False, "maintenanceFault": None,
                                               "rules": []}
    finally:
        server.stop()
