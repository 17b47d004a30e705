"""Fixtures: validation messages, the check/seed/export commands, the exact round trip,
the admin reset/seed/export calls and the shipped demo."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import BASIC, ROOT, start_server

from mockserver import fixtures
from mockserver.store import Store

DEMO = ROOT / "fixtures" / "demo.yaml"

MANDATOR = """\
backclick:
  mandators:
    - id: 1
      name: Shop
      fields: [FIRSTNAME, LASTNAME]
      templates: [{id: 10, name: Welcome, subject: Hi}]
      lists: [{id: 1, name: News, welcomeTemplateId: 10}, {id: 2, name: Offers}]
      subscribers:
        - {email: anna@example.de, fields: {firstname: Anna}, lists: {1: subscribed}}
"""


def mockserver(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the command line in a subprocess."""
    return subprocess.run([sys.executable, "-m", "mockserver", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def load_error(tmp_path: Path, text: str, name: str = "fx.yaml") -> str:
    """The message load_paths gives for a file with this text."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.load_paths([str(path)])
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: "):]


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    (MANDATOR.replace("{id: 2, name: Offers}", "{id: two, name: Offers}"),
     "backclick.mandators[0].lists[1].id: expected an integer"),
    (MANDATOR.replace("welcomeTemplateId: 10", "welcomeTemplateId: 99"),
     "backclick.mandators[0].lists[0].welcomeTemplateId: no template with id 99"),
    (MANDATOR.replace("{id: 2, name: Offers}", "{id: 1, name: Offers}"),
     "backclick.mandators[0].lists[1].id: duplicate list id 1 (also lists[0])"),
    (MANDATOR.replace("    - id: 1\n", "    - name: X\n"),
     "backclick.mandators[0].id: required key is missing"),
    (MANDATOR.replace("[FIRSTNAME, LASTNAME]", "[FIRSTNAME, email]"),
     "backclick.mandators[0].fields[1]: EMAIL is built in; do not list it"),
    (MANDATOR.replace("[FIRSTNAME, LASTNAME]", "[FIRSTNAME, firstName]"),
     "backclick.mandators[0].fields[1]: duplicate field 'firstName' (also fields[0])"),
    (MANDATOR.replace("{firstname: Anna}", "{COLOUR: red}"),
     "backclick.mandators[0].subscribers[0].fields.COLOUR: no such field "
     "(defined fields: FIRSTNAME, LASTNAME)"),
    (MANDATOR.replace("{firstname: Anna}", "{FIRSTNAME: 01067}"),
     "backclick.mandators[0].subscribers[0].fields.FIRSTNAME: expected a string "
     "(quote numbers in YAML: 01067 would lose its 0)"),
    (MANDATOR.replace("{1: subscribed}", "{7: subscribed}"),
     "backclick.mandators[0].subscribers[0].lists.7: no list with id 7"),
    (MANDATOR.replace("{1: subscribed}", "{1: active}"),
     "backclick.mandators[0].subscribers[0].lists.1: expected one of subscribed, unsubscribed, "
     "pending"),
    (MANDATOR + "        - {email: ANNA@Example.DE}\n",
     "backclick.mandators[0].subscribers[1].email: duplicate address anna@example.de "
     "(also subscribers[0])"),
    (MANDATOR.replace("anna@example.de", "anna(at)example.de"),
     "backclick.mandators[0].subscribers[0].email: not a valid e-mail address "
     "(RFC 5322 addr-spec): 'anna(at)example.de'"),
    (MANDATOR.replace("      name: Shop\n", "      name: Shop\n      colour: blue\n"),
     "backclick.mandators[0].colour: unknown key (known keys: id, name, apiKeys, allowedIps, "
     "senderDomains, fields, lists, templates, profileFilters, voucherLists, subscribers)"),
    (MANDATOR.replace("      name: Shop\n", "      name: Shop\n      allowedIps: [10.0.0.300/8]\n"),
     "backclick.mandators[0].allowedIps[0]: expected a CIDR network like 127.0.0.1/32: "
     "'10.0.0.300/8' does not appear to be an IPv4 or IPv6 network"),
    (MANDATOR.replace("      name: Shop\n", "      name: Shop\n      profileFilters: "
                      "[{id: 1, conditions: [{field: CITY, operator: =, value: Berlin}]}]\n"),
     "backclick.mandators[0].profileFilters[0].conditions[0].field: no field named 'CITY'"),
    (MANDATOR.replace("      name: Shop\n", "      name: Shop\n      profileFilters: "
                      "[{id: 1, conditions: [{field: lastname, operator: '~', value: M}]}]\n"),
     "backclick.mandators[0].profileFilters[0].conditions[0].operator: expected one of "
     "=, !=, <, >, <=, >=, contains"),
    (MANDATOR.replace("backclick:\n", "backclick:\n  blockList: [spam@example.org, '*@']\n"),
     "backclick.blockList[1]: expected an e-mail address or *@domain, got '*@'"),
    ("clock: {start: next tuesday}\n",
     "clock.start: expected an ISO 8601 date and time, e.g. 2026-11-22T12:00:00+01:00"),
    ("seed: '42'\n", "seed: expected an integer"),
    ("copernica: [1]\n", "copernica: expected a mapping"),
    ("backclick: {mandator: []}\n",
     "backclick.mandator: unknown key (known keys: blockList, mandators)"),
    ("- 1\n", "document: expected a mapping"),
    (MANDATOR + "state:\n  confirmations: [{token: t1, kind: doi, mandatorId: 1, subscriberId: 9}]\n",
     "state.confirmations[0].subscriberId: no subscriber with id 9 in mandator 1"),
])
def test_validation_messages(tmp_path, text, message):
    assert load_error(tmp_path, text) == message


def test_yaml_syntax_errors_name_line_and_column(tmp_path):
    assert load_error(tmp_path, "backclick:\n  mandators:\n    - id: 1\n   name: x\n") == (
        "line 4, column 4: not valid YAML: did not find expected key")


def test_json_files_report_line_and_column(tmp_path):
    assert load_error(tmp_path, '{"backclick": {"mandators": [}}', "fx.json") == \
        "line 1, column 30: not valid JSON: Expecting value"


def test_a_mandator_id_in_two_files_names_both_files(tmp_path):
    (tmp_path / "a.yaml").write_text(MANDATOR)
    (tmp_path / "b.json").write_text(json.dumps(
        {"backclick": {"mandators": [{"id": 2}, {"id": 1, "name": "Again"}]}}))
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.load_paths([str(tmp_path)])
    assert str(caught.value) == (f"{tmp_path / 'b.json'}: backclick.mandators[1].id: "
                                 f"mandator 1 is also defined in {tmp_path / 'a.yaml'}")


def test_files_and_folders_merge(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.yaml").write_text(MANDATOR)
    (tmp_path / "one" / "b.yml").write_text(
        "backclick: {blockList: [X@Example.org], mandators: [{id: 2, apiKeys: [k]}]}\n")
    (tmp_path / "one" / "notes.txt").write_text("not a fixture")
    (tmp_path / "c.json").write_text('{"seed": 7, "clock": {"start": "2026-11-22T12:00:00+01:00",'
                                     ' "frozen": true}, "backclick": {"blockList": ["x@example.org"]}}')
    doc = fixtures.load_paths([str(tmp_path / "one"), str(tmp_path / "c.json")])
    assert [m["id"] for m in doc["backclick"]["mandators"]] == [1, 2]
    assert doc["backclick"]["blockList"] == ["x@example.org"]
    assert doc["seed"] == 7
    assert doc["clock"] == {"start": "2026-11-22T11:00:00.000000Z", "frozen": True}
    (tmp_path / "d.yaml").write_text("seed: 8\n")
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.load_paths([str(tmp_path / "c.json"), str(tmp_path / "d.yaml")])
    assert str(caught.value) == f"{tmp_path / 'd.yaml'}: seed: already set in {tmp_path / 'c.json'}"


def test_subscriber_fields_are_stored_under_the_defined_spelling(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    store.migrate()
    fixtures.seed(store, yaml.safe_load(MANDATOR))
    sub = store.subscriber(1, "anna@example.de")
    assert sub["fields"] == {"FIRSTNAME": "Anna"}
    assert store.memberships(sub["id"]) == {1: 0}


def test_seeding_ten_thousand_subscribers_is_quick(tmp_path):
    store = Store(str(tmp_path / "big.db"))
    store.migrate()
    doc = yaml.safe_load(MANDATOR)
    doc["backclick"]["mandators"][0]["subscribers"] = [
        {"email": f"user{i}@example.com", "fields": {"FIRSTNAME": f"U{i}", "LASTNAME": "X"},
         "lists": {1: "subscribed", 2: "pending" if i % 3 else "unsubscribed"}}
        for i in range(10_000)]
    started = time.perf_counter()
    counts = fixtures.seed(store, doc)
    elapsed = time.perf_counter() - started
    assert counts["subscribers"] == 10_000
    assert elapsed < 2.0, f"seeding 10 000 subscribers took {elapsed:.2f}s"
    assert len(store.dump()["memberships"]) == 20_000


# -- command line -------------------------------------------------------------------


def test_check_accepts_the_shipped_fixtures():
    for path in ("fixtures/demo.yaml", "tests/fixtures/basic.yaml"):
        result = mockserver("check", path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"ok: {path}\n"
    both = mockserver("check", "fixtures/demo.yaml", "tests/fixtures/basic.yaml")
    assert both.returncode == 1  # both define mandator 1
    assert both.stderr == ("tests/fixtures/basic.yaml: backclick.mandators[0].id: mandator 1 is "
                           "also defined in fixtures/demo.yaml\n")


def test_check_exits_1_with_the_line_at_fault(tmp_path):
    (tmp_path / "bad.yaml").write_text(MANDATOR.replace("{id: 2,", "{id: '2',"))
    result = mockserver("check", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "bad.yaml: backclick.mandators[0].lists[1].id: expected an integer\n"
    assert result.stdout == ""
    result = mockserver("check", "missing.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "missing.yaml: cannot read: No such file or directory\n"


def test_seed_refuses_a_store_with_data_unless_replace(tmp_path):
    db = str(tmp_path / "s.db")
    first = mockserver("seed", str(BASIC), "--db", db)
    assert first.returncode == 0, first.stderr
    again = mockserver("seed", str(BASIC), "--db", db)
    assert again.returncode == 1
    assert again.stderr == f"mockserver: {db} already has data; pass --replace to empty it first\n"
    replaced = mockserver("seed", str(BASIC), "--db", db, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    out = mockserver("export", "-", "--db", db)
    assert out.returncode == 0, out.stderr
    doc = yaml.safe_load(out.stdout)
    assert [m["id"] for m in doc["backclick"]["mandators"]] == [1, 2, 3]
    assert doc["backclick"]["mandators"][0]["subscribers"][0]["email"] == "Anna.Schmidt@example.de"


def test_seed_of_an_invalid_file_changes_nothing(tmp_path):
    db = str(tmp_path / "s.db")
    assert mockserver("seed", str(BASIC), "--db", db).returncode == 0
    before = Store(db).dump()
    (tmp_path / "bad.yaml").write_text(MANDATOR.replace("anna@", "anna @"))
    result = mockserver("seed", "bad.yaml", "--db", db, "--replace", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("mockserver: bad.yaml: backclick.mandators[0].subscribers[0]."
                                    "email: not a valid e-mail address")
    assert Store(db).dump() == before


# -- the exact round trip -------------------------------------------------------------


def _save(client, email, lists, fields=None, **options):
    item = {"subscriberEmail": email, "newsletterListIds": {"item": lists},
            "subscriberFields": {"item": [{"name": k, "value": v} for k, v in (fields or {}).items()]}}
    item.update({k: options.pop(k) for k in ("doubleOptinTemplateId", "changeProfileTemplateId")
                 if k in options})
    return client.service.saveOrCreateSubscriber(
        mandatorId=1, apiKey="demo-key-1", subscribers={"item": [item]}, **options)


def test_export_seed_export_is_exact(tmp_path):
    server = start_server(tmp_path, "--demo", fixtures=(), db=tmp_path / "a.db")
    try:
        client = server.zeep()
        assert _save(client, "neu.kunde@example.de", [1, 2],
                     {"FIRSTNAME": "Jörg", "CITY": "Köln"}).responseCode == 0
        assert _save(client, "welcome@example.com", [1], {"FIRSTNAME": "Wil"},
                     sendWelcome=True, sendLastNewsletter=True).responseCode == 0
        assert _save(client, "doi.pending@example.org", [1, 3], {"FIRSTNAME": "Dora"},
                     doubleOptinTemplateId=110).responseCode == 0
        assert _save(client, "doi.done@example.org", [2], {"FIRSTNAME": "Otto"},
                     doubleOptinTemplateId=110, sendWelcome=True).responseCode == 0
        assert _save(client, "anna.schmidt@example.de", [1], {"CITY": "Potsdam"},
                     changeProfileTemplateId=111, confirmChange=True,
                     listsAdditive=True).responseCode == 0
        client.service.unsubscribeSubscriber(mandatorId=1, apiKey="demo-key-1",
                                             subscriberEmail="anna.schmidt@example.de",
                                             newsletterListIds={"item": [4]})
        done = server.outbox(to="doi.done@example.org", kind="doi")[0]
        with urllib.request.urlopen(done["links"]["confirm"]) as answer:
            assert answer.status == 200
        pending = server.rows("SELECT * FROM confirmations WHERE confirmed IS NULL")
        assert {r["kind"] for r in pending} == {"doi", "change"}
        assert server.outbox(kind="doi") and server.outbox(kind="welcome")
        assert server.outbox(kind="newsletter") and server.outbox(kind="change-confirm")
        over_http = server.json("_mock/export")
    finally:
        server.stop()

    first = mockserver("export", str(tmp_path / "a.yaml"), "--db", str(tmp_path / "a.db"))
    assert first.returncode == 0, first.stderr
    seeded = mockserver("seed", str(tmp_path / "a.yaml"), "--db", str(tmp_path / "b.db"))
    assert seeded.returncode == 0, seeded.stderr
    second = mockserver("export", str(tmp_path / "b.yaml"), "--db", str(tmp_path / "b.db"))
    assert second.returncode == 0, second.stderr
    text_a = (tmp_path / "a.yaml").read_text(encoding="utf-8")
    assert text_a == (tmp_path / "b.yaml").read_text(encoding="utf-8")
    assert Store(str(tmp_path / "a.db")).dump() == Store(str(tmp_path / "b.db")).dump()

    document = yaml.safe_load(text_a)
    assert json.loads(json.dumps(document)) == over_http  # the admin export is the same document
    state = document["state"]
    assert {c["kind"] for c in state["confirmations"]} == {"doi", "change"}
    assert any(c["confirmed"] for c in state["confirmations"])
    assert {m["kind"] for m in state["outbox"]} >= {"doi", "welcome", "newsletter", "change-confirm"}
    anna = next(s for s in document["backclick"]["mandators"][0]["subscribers"]
                if s["email"] == "anna.schmidt@example.de")
    assert anna["lists"] == {1: "subscribed", 4: "unsubscribed"}
    assert set(anna["listsChanged"]) == {4}

    # JSON, and into a store that is not empty, via the admin API: the same again.
    (tmp_path / "a.json").write_text(fixtures.dumps(document, as_json=True))
    seeded = mockserver("seed", str(tmp_path / "a.json"), "--db", str(tmp_path / "c.db"))
    assert seeded.returncode == 0, seeded.stderr
    assert Store(str(tmp_path / "c.db")).dump() == Store(str(tmp_path / "a.db")).dump()


# -- admin API -------------------------------------------------------------------------


def _post(server, path, body: str | bytes = b"", content_type="application/json"):
    data = body.encode() if isinstance(body, str) else body
    status, answer, headers = server.post(path, data, {"Content-Type": content_type})
    assert headers["Content-Type"].startswith("application/json")
    return status, json.loads(answer)


def test_admin_reset_reapplies_the_start_fixtures(server):
    client = server.zeep()
    client.service.saveOrCreateSubscriber(
        mandatorId=1, apiKey="shop-key-1234",
        subscribers={"item": [{"subscriberEmail": "new@example.de", "newsletterListIds": {"item": [1]}}]})
    assert server.rows("SELECT email FROM subscribers WHERE email_key='new@example.de'")
    status, answer = _post(server, "_mock/reset")
    assert status == 200, answer
    assert answer["status"] == "reset"
    assert answer["seeded"]["mandators"] == 3
    assert not server.rows("SELECT email FROM subscribers WHERE email_key='new@example.de'")
    result = client.service.getSubscribers(mandatorId=1, apiKey="shop-key-1234",
                                           emailAddresses={"item": ["anna.schmidt@example.de"]})
    assert result[0].status == 1
    status, body, headers = server.get("_mock/reset")
    assert status == 405 and headers["Content-Type"].startswith("application/json")


def test_admin_seed_adds_refuses_and_replaces(server):
    before = server.json("_mock/export")
    extra = {"backclick": {"mandators": [{"id": 9, "name": "Extra", "apiKeys": ["k9"],
                                          "lists": [{"id": 1, "name": "L"}],
                                          "subscribers": [{"email": "x@example.com",
                                                           "lists": {"1": "pending"}}]}]}}
    status, answer = _post(server, "_mock/seed", json.dumps(extra))
    assert status == 200, answer
    assert answer["seeded"]["subscribers"] == 1
    after = server.json("_mock/export")
    assert [m["id"] for m in after["backclick"]["mandators"]] == [1, 2, 3, 9]
    assert after["backclick"]["mandators"][3]["subscribers"][0]["id"] == 6  # after the 5 of basic

    status, answer = _post(server, "_mock/seed", json.dumps(extra))
    assert status == 409
    assert answer == {"error": "<request body>: backclick.mandators[0].id: mandator 9 already "
                               "exists in the store"}

    bad = "backclick:\n  mandators:\n    - {id: 10, lists: [{id: x, name: L}]}\n"
    status, answer = _post(server, "_mock/seed", bad, "application/yaml")
    assert status == 400
    assert answer == {"error": "<request body>: backclick.mandators[0].lists[0].id: "
                               "expected an integer"}
    status, answer = _post(server, "_mock/seed", "{not json", "application/json")
    assert status == 400
    assert answer["error"].startswith("<request body>: line 1, column 2: not valid JSON")
    assert server.json("_mock/export") == after  # refused bodies changed nothing

    status, answer = _post(server, "_mock/seed?replace=true", json.dumps(before))
    assert status == 200, answer
    assert server.json("_mock/export") == before
    status, body, headers = server.get("_mock/export?format=yaml")
    assert status == 200 and headers["Content-Type"].startswith("application/yaml")
    assert json.loads(json.dumps(yaml.safe_load(body))) == before


# -- the demo ---------------------------------------------------------------------------


def test_demo_fixtures_serve_anna_schmidt(tmp_path):
    server = start_server(tmp_path, "--demo", fixtures=())
    try:
        client = server.zeep()
        result = client.service.getSubscribers(
            mandatorId=1, apiKey="demo-key-1", fillSubscriberFields=True,
            emailAddresses={"item": ["anna.schmidt@example.de"]})
        assert result[0].status == 1
        assert "1" in result[0].newsletterListIds.split(",")
        fields = {f.name: f.value for f in result[0].subscriberFields.item}
        assert fields["FIRSTNAME"] == "Anna" and fields["LASTNAME"] == "Schmidt"
        without_key = client.service.getSubscribers(  # 127.0.0.1 is allowed on mandator 1
            mandatorId=1, emailAddresses={"item": ["anna.schmidt@example.de"]})
        assert without_key[0].status == 1
        other = client.service.getSubscriberToNewsletterListRelation(
            mandatorId=2, apiKey="demo-key-2", newsletterListId=0,
            subscriberEmail="nobody@example.com")
        assert other.subscriberAvailable is False
        counts = server.rows("SELECT mandator_id, COUNT(*) AS n FROM subscribers GROUP BY 1")
        assert {r["mandator_id"]: r["n"] >= 50 for r in counts} == {1: True, 2: True}
        statuses = {r["status"] for r in server.rows("SELECT DISTINCT status FROM memberships")}
        assert statuses == {0, 1, 2}
    finally:
        server.stop()
