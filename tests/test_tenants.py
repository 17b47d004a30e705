"""Tenants over HTTP: fresh isolated mandators and accounts, from defaults, a template or a document."""
from __future__ import annotations

import json
import threading

import pytest
import zeep
from requests import Session
from zeep.transports import Transport

from conftest import http
from copernica_harness import copernica_server, pairs
from test_backclick_subscribers import items, sub


def create(server, body: bytes | None = None, query: str = "", content_type: str = ""):
    """POST /_mock/tenants; (status, decoded JSON)."""
    headers = {"Content-Type": content_type} if content_type else {}
    status, out, _ = http("POST", server.base_url + "_mock/tenants" + query, body, headers)
    return status, json.loads(out)


class Tenant:
    """Zeep clients of both dialects acting for one tenant."""

    def __init__(self, server, described: dict):
        self.server, self.info = server, described
        bc, cp = described["backclick"], described["copernica"]
        self.mandator, self.key = bc["mandatorId"], bc["apiKey"]
        self.bc = zeep.Client(bc["wsdl"])
        session = Session()
        session.headers["Authorization"] = f"Bearer {cp['accessToken']}"
        self.cp = zeep.Client(cp["wsdl"], transport=Transport(session=session))

    def subscribe(self, email: str, list_id: int = 1):
        """saveOrCreateSubscriber on the tenant's mandator."""
        return self.bc.service.saveOrCreateSubscriber(
            mandatorId=self.mandator, apiKey=self.key, subscribers={"item": [sub(email, [list_id])]})

    def statuses(self, *emails) -> list[int]:
        """getSubscribers statuses on the tenant's mandator."""
        return [v.status for v in self.bc.service.getSubscribers(
            mandatorId=self.mandator, apiKey=self.key, emailAddresses={"item": list(emails)})]

    def mail(self, to: str) -> None:
        """A transaction mail to ``to``."""
        channel = self.bc.service.createTransactionChannel(mandatorId=self.mandator, apiKey=self.key)
        self.bc.service.sendTransactionMail(mandatorId=self.mandator, apiKey=self.key,
                                            channelId=channel, recipient={"emailAddress": to},
                                            subject="Hi", mailContent="Hello.")

    def cop(self, operation: str, **parameters):
        """A Copernica call with the tenant's access token (as a Bearer header)."""
        return getattr(self.cp.service, operation)(parameters=parameters)

    def outbox(self) -> list[dict]:
        """The tenant's mails."""
        return self.server.outbox(tenant=self.info["backclick"]["filter"])


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """A server with both fixture sets and two workers, shared by this module's tests."""
    running = copernica_server(tmp_path_factory.mktemp("tenants"), "--workers", "2")
    yield running
    running.stop()


def test_a_tenant_has_fresh_ids_and_secrets_and_works_in_both_dialects(cop):
    status, t = create(cop)
    assert status == 201, t
    bc, cp = t["backclick"], t["copernica"]
    assert bc["mandatorId"] == cp["accountId"] > 3 and t["tenant"] == f"tenant-{bc['mandatorId']}"
    assert len(bc["apiKey"]) == len(cp["accessToken"]) == len(cp["password"]) == 32
    assert bc["wsdl"] == cop.base_url + "bc/rpc/soap/backclickService?wsdl"
    assert cp["wsdl"] == cop.base_url + "?SOAPAPI=WSDL"
    tenant = Tenant(cop, t)
    assert tenant.subscribe("ann@example.com").responseCode == 0
    assert tenant.statuses("ann@example.com") == [1]
    db = tenant.cop("Account_createDatabase", name="Customers").database.id
    tenant.cop("Database_createProfile", id=db, fields=pairs({}))
    assert tenant.cop("Database_searchProfiles", id=db).total == 1
    # the tenant's user logs in with its password and sees the tenant's account
    session = Session()
    client = zeep.Client(cp["wsdl"], transport=Transport(session=session))
    client.service.login(parameters={"username": cp["username"], "password": cp["password"]})
    assert session.cookies.get("soap_session")
    found = client.service.Account_databases(parameters={}).items.database
    assert [d.name for d in found] == ["Customers"]
    listed = json.loads(cop.get("_mock/tenants")[1])["tenants"]
    assert t["tenant"] in [x["tenant"] for x in listed]
    assert json.loads(cop.get(f"_mock/tenants/{t['tenant']}")[1])["backclick"] == bc


def test_parallel_tenants_do_not_see_each_other(cop):
    results: list = [None] * 6

    def make(i):
        results[i] = create(cop, query="?template=1")

    threads = [threading.Thread(target=make, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(status == 201 for status, _ in results), results
    ids = [t["backclick"]["mandatorId"] for _, t in results]
    assert len(set(ids)) == 6
    tenants = [Tenant(cop, t) for _, t in results[:2]]
    a, b = tenants
    a.subscribe("only-a@example.com")
    b.subscribe("only-b@example.com", 2)  # the template's lists came along
    assert a.statuses("only-a@example.com", "only-b@example.com")[0] == 1
    assert a.statuses("only-b@example.com")[0] != 1
    assert b.statuses("only-a@example.com")[0] != 1
    a.mail("x@example.com")
    b.mail("x@example.com")
    b.mail("y@example.com")
    assert [m["to"] for m in a.outbox()] == ["x@example.com"]
    assert [m["to"] for m in b.outbox()] == ["x@example.com", "y@example.com"]
    for tenant in tenants:
        tenant.cop("Account_createDatabase", name="Same name")
    (da,), (db,) = [[d.id for d in t.cop("Account_databases").items.database] for t in tenants]
    a.cop("Database_createProfile", id=da, fields=pairs({}))
    assert a.cop("Database_searchProfiles", id=da).total == 1
    assert b.cop("Database_searchProfiles", id=db).total == 0
    with pytest.raises(zeep.exceptions.Fault):
        b.cop("Database_searchProfiles", id=da)
    # the other tenant's key is refused
    with pytest.raises(zeep.exceptions.Fault):
        a.bc.service.getSubscribers(mandatorId=a.mandator, apiKey=b.key,
                                    emailAddresses={"item": ["only-a@example.com"]})


def test_a_tenants_name_filters_its_journal_outbox_and_fault_rules(cop):
    _, ta = create(cop, query="?name=shop-a")
    _, tb = create(cop, query="?name=shop-b")
    a, b = Tenant(cop, ta), Tenant(cop, tb)
    rule = call_json(cop, "POST", "_mock/faults", {"tenant": "shop-a", "fault": "A is down."})
    assert rule["tenant"] == "shop-a"
    with pytest.raises(zeep.exceptions.Fault, match="A is down."):
        a.statuses("x@example.com")
    with pytest.raises(zeep.exceptions.Fault, match="A is down."):
        a.cop("Account_databases")  # the name stands for the mandator and the account
    b.mail("b@example.com")
    b.cop("Account_databases")
    call_json(cop, "DELETE", f"_mock/faults/{rule['id']}")
    a.mail("a@example.com")
    assert [m["to"] for m in cop.outbox(tenant="shop-a")] == ["a@example.com"]
    assert [m["to"] for m in cop.outbox(tenant="shop-b")] == ["b@example.com"]
    mid_a, mid_b = ta["backclick"]["mandatorId"], tb["backclick"]["mandatorId"]
    journal = cop.json("_mock/journal?tenant=shop-b&limit=100")["exchanges"]
    assert {e["tenant"] for e in journal} == {f"mandator-{mid_b}", f"account-{mid_b}"}
    assert [e["operation"] for e in cop.json("_mock/journal?tenant=shop-a")["exchanges"]] == [
        "getSubscribers", "Account_databases", "createTransactionChannel", "sendTransactionMail"]
    # unknown names are refused with a JSON error, and change nothing
    for path in ("_mock/journal?tenant=nobody", "_mock/outbox?tenant=nobody"):
        status, body, _ = http("GET", cop.base_url + path)
        assert status == 400 and "Unknown tenant 'nobody'" in json.loads(body)["error"]
    status, body, _ = http("POST", cop.base_url + "_mock/faults",
                           json.dumps({"tenant": "nobody", "fault": "x"}).encode())
    assert status == 400 and "Unknown tenant 'nobody'" in json.loads(body)["error"]
    assert create(cop, query="?name=mandator-99")[0] == 400  # names filters keep for ids

    # deleting a tenant takes its journal entries and its fault rules along
    call_json(cop, "POST", "_mock/faults", {"tenant": "shop-b", "operation": "getSubscribers",
                                            "fault": "B is down."})
    other = call_json(cop, "POST", "_mock/faults", {"tenant": f"mandator-{mid_a}",
                                                    "status": 503})
    removed = call_json(cop, "DELETE", "_mock/tenants/shop-b")
    assert removed == {"deleted": "shop-b", "tenants": [f"mandator-{mid_b}", f"account-{mid_b}"],
                       "faultRules": 1, "journalEntries": len(journal)}
    assert cop.json(f"_mock/journal?tenant=mandator-{mid_b}")["exchanges"] == []
    assert cop.json(f"_mock/journal?tenant=mandator-{mid_a}")["exchanges"] != []
    assert [r["id"] for r in cop.json("_mock/faults")["rules"]] == [other["id"]]
    call_json(cop, "DELETE", f"_mock/faults/{other['id']}")


def call_json(server, method: str, path: str, body: dict | None = None) -> dict:
    """An admin call that must succeed; its JSON answer."""
    status, out, _ = http(method, server.base_url + path,
                          json.dumps(body).encode() if body is not None else None)
    assert status in (200, 201), out
    return json.loads(out)


YAML = b"""
backclick:
  mandators:
    - id: 1
      name: From a document
      fields: [FIRSTNAME]
      lists: [{id: 7, name: Seven}]
      subscribers:
        - {id: 1, email: doc@example.com, fields: {FIRSTNAME: Doc}, lists: {7: subscribed}}
copernica:
  accounts:
    - id: 1
      databases:
        - name: Shop
          fields: [{name: Email, type: email}]
          profiles: [{id: 1, fields: {Email: doc@example.com}}]
"""


def test_a_tenant_from_a_fixture_document(cop):
    status, t = create(cop, YAML, "?name=from-doc", "application/yaml")
    assert status == 201, t
    assert t["tenant"] == "from-doc" and t["backclick"]["mandatorId"] != 1
    tenant = Tenant(cop, t)
    (view,) = tenant.bc.service.getSubscribers(
        mandatorId=tenant.mandator, apiKey=tenant.key, fillSubscriberFields=True,
        emailAddresses={"item": ["doc@example.com"]})
    assert view.status == 1 and view.newsletterListIds == "7"
    assert ("FIRSTNAME", "Doc") in [(f.name, f.value) for f in items(view.subscriberFields)]
    (db,) = tenant.cop("Account_databases").items.database
    assert db.name == "Shop" and tenant.cop("Database_searchProfiles", id=db.id).total == 1
    # the store's own mandator 1 is untouched
    assert cop.rows("SELECT name FROM mandators WHERE id=1") == [{"name": "Shop"}]
    assert create(cop, query="?name=from-doc")[0] == 409


def test_refusals_and_delete(cop):
    status, error = create(cop, b"backclick: {mandators: [{id: 1, lists: [{id: x}]}]}",
                           content_type="application/yaml")
    assert status == 400 and "backclick.mandators[0].lists[0]" in error["error"], error
    assert create(cop, query="?template=999")[0] == 404
    assert create(cop, query="?name=bad%20name")[0] == 400
    status, t = create(cop, query="?name=doomed")
    tenant = Tenant(cop, t)
    tenant.subscribe("gone@example.com")
    tenant.mail("gone@example.com")
    status, out, _ = http("DELETE", cop.base_url + "_mock/tenants/doomed")
    assert status == 200, out
    mid = t["backclick"]["mandatorId"]
    assert cop.rows("SELECT COUNT(*) AS n FROM subscribers WHERE mandator_id=?", mid) == [{"n": 0}]
    assert cop.rows("SELECT COUNT(*) AS n FROM accounts WHERE id=?", mid) == [{"n": 0}]
    assert tenant.outbox() == []
    with pytest.raises(zeep.exceptions.Fault):
        tenant.statuses("gone@example.com")
    assert http("DELETE", cop.base_url + "_mock/tenants/doomed")[0] == 404
    # a new tenant never reuses a deleted tenant's id
    assert create(cop)[1]["backclick"]["mandatorId"] > mid


def test_the_documented_examples_run_against_the_demo(tmp_path):
    import re
    import subprocess
    import sys

    from conftest import ROOT, start_server
    server = start_server(tmp_path, "--demo", fixtures=())
    try:
        text = (ROOT / "docs" / "snapshots-and-tenants.md").read_text(encoding="utf-8")
        shell = re.findall(r"```sh\n(.*?)```", text, re.S)
        assert len(shell) == 2
        for block in shell:
            done = subprocess.run(["bash", "-euo", "pipefail", "-c",
                                   block.replace("http://127.0.0.1:8080/", server.base_url)],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0 and '"error"' not in done.stdout, done.stdout + done.stderr
        (python,) = re.findall(r"```python\n(.*?)```", text, re.S)
        done = subprocess.run([sys.executable, "-c",
                               python.replace("http://127.0.0.1:8080/", server.base_url)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert re.fullmatch(r"tenant-\d+ \d+\n", done.stdout), done.stdout
        names = [t["tenant"] for t in server.json("_mock/tenants")["tenants"]]
        assert "from-a-document" in names and "checkout-tests" not in names
    finally:
        server.stop()


def get_subscribers(server, mandator: int, key: str) -> None:
    """One getSubscribers on a connection of its own (so the calls spread over the workers)."""
    body = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:bc="http://soap.rpc.bc.backclick.de/"><soap:Body><bc:getSubscribers>'
            f'<bc:mandatorId>{mandator}</bc:mandatorId><bc:apiKey>{key}</bc:apiKey>'
            f'<bc:emailAddresses><bc:item>x@example.com</bc:item></bc:emailAddresses>'
            f'</bc:getSubscribers></soap:Body></soap:Envelope>').encode()
    status, out, _ = http("POST", server.backclick_url, body,
                          {"Content-Type": "text/xml; charset=utf-8"})
    assert status == 200, out


def test_exchanges_just_before_a_delete_never_show_up_afterwards(cop):
    """The delete answers at once; what the other worker still buffers is dropped when it is
    written, and a tenant of the same name made afterwards has only its own exchanges."""
    _, old = create(cop, query="?name=again")
    mid = old["backclick"]["mandatorId"]
    for _ in range(20):  # new connections: both workers answer some, and buffer them
        get_subscribers(cop, mid, old["backclick"]["apiKey"])
    removed = call_json(cop, "DELETE", "_mock/tenants/again")
    assert removed["tenants"] == [f"mandator-{mid}", f"account-{mid}"]
    _, new = create(cop, query="?name=again")
    new_mid = new["backclick"]["mandatorId"]
    assert new_mid != mid
    for _ in range(4):
        get_subscribers(cop, new_mid, new["backclick"]["apiKey"])
    # GET /_mock/journal waits until every worker has written its buffer
    every = cop.json("_mock/journal?limit=10000")["exchanges"]
    assert not [e for e in every if e["tenant"] in removed["tenants"]]
    mine = cop.json("_mock/journal?tenant=again")["exchanges"]
    assert [(e["tenant"], e["operation"]) for e in mine] == \
        [(f"mandator-{new_mid}", "getSubscribers")] * 4
    assert cop.json(f"_mock/journal?tenant=mandator-{mid}")["exchanges"] == []
