"""Fixtures: validation messages, the check/seed/export commands, the exact round trip,
the admin reset/seed/export calls and the shipped demo."""
from __future__ import annotations

import base64
import collections
import email
import email.policy
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import BASIC, ROOT, start_server
from jsonschema import Draft202012Validator

from mockserver.vendors import fixtures
from mockserver.vendors import fixture_schema
from mockserver.backclick import tables as backclick_tables
from mockserver.vendors import store as vendor_store
from mockserver.vendors.store import open_store

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
    ("state: {tokensIssued: -1}\n", "state.tokensIssued: expected a count, 0 or more"),
    ("state: {tokensIssued: many}\n", "state.tokensIssued: expected an integer"),
    ("copernica: [1]\n", "copernica: expected a mapping"),
    ("backclick: {mandator: []}\n",
     "backclick.mandator: unknown key (known keys: blockList, mandators)"),
    ("- 1\n", "document: expected a mapping"),
    (MANDATOR + "state:\n  confirmations: [{token: t1, kind: doi, mandatorId: 1, subscriberId: 9}]\n",
     "state.confirmations[0].subscriberId: no subscriber with id 9 in mandator 1"),
    (MANDATOR + "state:\n  newsletters: [{mandatorId: 1, listId: 1, filterIds: [5]}]\n",
     "state.newsletters[0].filterIds[0]: no profile filter with id 5 in mandator 1"),
    (MANDATOR + "state:\n  newsletters: [{mandatorId: 1, templateId: 11}]\n",
     "state.newsletters[0].templateId: no template with id 11 in mandator 1"),
    (MANDATOR + "state:\n  newsletters: [{mandatorId: 1, kind: list, recipients: [{email: a@b.de}]}]\n",
     "state.newsletters[0].recipients: only a newsletter of kind recipients has recipients"),
    (MANDATOR + "state:\n  newsletters: [{mandatorId: 1, numExcludedBlocked: -1}]\n",
     "state.newsletters[0].numExcludedBlocked: expected a count, 0 or more"),
    (MANDATOR + "state:\n  channels: [{id: 1, mandatorId: 2}]\n",
     "state.channels[0].mandatorId: no mandator with id 2"),
    (MANDATOR + "state:\n  channels: [{id: 1, mandatorId: 1}, {id: 1, mandatorId: 1}]\n",
     "state.channels[1].id: duplicate channel id 1 (also state.channels[0])"),
    (MANDATOR + "state:\n  outbox: [{mandatorId: 1, kind: transaction, to: a@b.de, channelId: 3}]\n",
     "state.outbox[0].channelId: no channel with id 3 of mandator 1 in state.channels"),
    (MANDATOR + "state:\n  outbox: [{mandatorId: 1, kind: transaction, to: a@b.de, "
                "attachments: [{name: a.pdf, data: 'not base64!'}]}]\n",
     "state.outbox[0].attachments[0].data: expected base64 data (A-Z, a-z, 0-9, +, / and = "
     "padding)"),
    (MANDATOR + "state:\n  outbox: [{mandatorId: 1, kind: transaction, to: a@b.de, "
                "attachments: [{data: QUJD}]}]\n",
     "state.outbox[0].attachments[0].name: required key is missing"),
    (MANDATOR + "state:\n  outbox: [{mandatorId: 1, kind: newsletter, to: a@b.de, "
                "events: [{type: read}]}]\n",
     "state.outbox[0].events[0].type: expected one of open, click, bounce, unsubscribe, complaint"),
    (MANDATOR + "state:\n  outbox: [{mandatorId: 1, kind: newsletter, to: a@b.de, "
                "events: [{type: bounce, detail: medium}]}]\n",
     "state.outbox[0].events[0].detail: a bounce is hard or soft"),
    (MANDATOR + "state:\n  outbox: [{mandatorId: 1, kind: newsletter, to: a@b.de, "
                "relay: {state: lost}}]\n",
     "state.outbox[0].relay.state: expected one of pending, relaying, sent, failed"),
    (MANDATOR + "state:\n  outbox: [{mandatorId: 1, kind: newsletter, to: a@b.de, token: t},"
                " {mandatorId: 1, kind: newsletter, to: c@b.de, token: t}]\n",
     "state.outbox[1].token: duplicate mail token (also state.outbox[0])"),
    (MANDATOR + "state:\n  outbox: [{mandatorId: 1, kind: newsletter, to: a@b.de, subscriberId: 4}]\n",
     "state.outbox[0].subscriberId: no subscriber with id 4 in mandator 1"),
])
def test_validation_messages(tmp_path, text, message):
    assert load_error(tmp_path, text) == message


MANY_PROBLEMS = """\
seed: "42"
backclick:
  mandators:
    - id: 1
      colour: blue
      fields: [CITY]
      lists: [{id: 1, name: News}, {id: 2}]
      subscribers:
        - {email: a@example.de, lists: {2: subscribed}}
        - {email: b(at)example.de}
        - {email: c@example.de, fields: {COLOUR: red}, lists: {1: pending}}
        - {email: d@example.de, lists: {1: active}}
    - {id: 1, name: Again}
state:
  channels: [{mandatorId: 7}]
"""
# Every problem of MANY_PROBLEMS, in this order: structure and types first, then what refers
# to what. lists[1] is invalid, so "no list with id 2" is not claimed for subscribers[0].
MANY_FOUND = [
    "seed: expected an integer",
    "backclick.mandators[0].lists[1].name: required key is missing",
    "backclick.mandators[0].subscribers[1].email: not a valid e-mail address (RFC 5322 "
    "addr-spec): 'b(at)example.de'",
    "backclick.mandators[0].subscribers[3].lists.1: expected one of subscribed, unsubscribed, "
    "pending",
    "backclick.mandators[0].colour: unknown key (known keys: id, name, apiKeys, allowedIps, "
    "senderDomains, fields, lists, templates, profileFilters, voucherLists, subscribers)",
    "backclick.mandators[0].subscribers[2].fields.COLOUR: no such field (defined fields: CITY)",
    "backclick.mandators[1].id: duplicate mandator id 1 (also backclick.mandators[0])",
    "state.channels[0].mandatorId: no mandator with id 7",
]


def test_every_problem_of_a_file_is_reported(tmp_path):
    path = tmp_path / "fx.yaml"
    path.write_text(MANY_PROBLEMS, encoding="utf-8")
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.load_paths([str(path)])
    assert caught.value.problems == [f"{path}: {line}" for line in MANY_FOUND]
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_a_reference_to_a_valid_row_is_checked_next_to_invalid_rows(tmp_path):
    text = MANDATOR.replace("{id: 2, name: Offers}", "{id: 2, name: Offers}, {id: x, name: Y}")
    text += "        - {email: ben@example.de, lists: {1: subscribed, 9: pending}}\n"
    text += "        - {email: 5}\n"
    text += "state:\n  confirmations: [{token: t, kind: doi, mandatorId: 1, subscriberId: 3}]\n"
    assert load_error(tmp_path, text).splitlines() == [
        "backclick.mandators[0].lists[2].id: expected an integer",
        f"{tmp_path / 'fx.yaml'}: backclick.mandators[0].subscribers[2].email: expected a string",
    ]  # list 9 may be lists[2], subscriber 3 may be subscribers[2]: neither is claimed
    text = text.replace("{id: x, name: Y}", "{id: 3, name: Y}").replace("{email: 5}", "{}")
    assert load_error(tmp_path, text).splitlines() == [
        "backclick.mandators[0].subscribers[2].email: required key is missing",
        f"{tmp_path / 'fx.yaml'}: backclick.mandators[0].subscribers[1].lists.9: no list with "
        f"id 9",
    ]


def test_problems_of_several_files_are_grouped_by_file(tmp_path):
    (tmp_path / "a.yaml").write_text(MANDATOR.replace("{id: 2,", "{id: '2',"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        "backclick: {mandators: [{id: 1}, {id: 3, apiKeys: [k, K]}]}\n"
        "state: {channels: [{mandatorId: 4}]}\n", encoding="utf-8")
    (tmp_path / "c.json").write_text("{", encoding="utf-8")
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.load_paths([str(tmp_path)])
    a, b, c = (tmp_path / name for name in ("a.yaml", "b.yaml", "c.json"))
    assert caught.value.problems == [
        f"{a}: backclick.mandators[0].lists[1].id: expected an integer",
        f"{b}: backclick.mandators[1].apiKeys[1]: duplicate API key 'K' (also apiKeys[0])",
        f"{b}: backclick.mandators[0].id: mandator 1 is also defined in {a}",
        f"{b}: state.channels[0].mandatorId: no mandator with id 4",
        f"{c}: line 1, column 2: not valid JSON: Expecting property name enclosed in double "
        f"quotes",
    ]


def test_null_means_not_given(tmp_path):
    doc = fixtures.read_document(yaml.safe_load(
        "seed: null\nbackclick:\n  mandators:\n    - {id: 1, name: null, fields: null,"
        " lists: [{id: 1, name: L, description: null}]}\n"))
    assert "seed" not in doc
    m = doc["backclick"]["mandators"][0]
    assert (m["name"], m["fields"], m["lists"][0]["description"]) == ("", [], "")
    assert load_error(tmp_path, "backclick: {mandators: [{id: null}]}\n") == \
        "backclick.mandators[0].id: required key is missing"


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
    (tmp_path / "one" / "mockserver-fixtures.schema.json").write_text(  # a JSON Schema: skipped
        '{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}')
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
    (tmp_path / "e.yaml").write_text("state: {tokensIssued: 3}\n")
    (tmp_path / "f.yaml").write_text("state: {tokensIssued: 5}\n")
    assert fixtures.load_paths([str(tmp_path / "e.yaml")])["state"]["tokensIssued"] == 3
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.load_paths([str(tmp_path / "e.yaml"), str(tmp_path / "f.yaml")])
    assert str(caught.value) == (f"{tmp_path / 'f.yaml'}: state.tokensIssued: already set in "
                                 f"{tmp_path / 'e.yaml'}")


def test_subscriber_fields_are_stored_under_the_defined_spelling(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    store.migrate()
    fixtures.seed(store, yaml.safe_load(MANDATOR))
    sub = backclick_tables.subscriber(store, 1, "anna@example.de")
    assert sub["fields"] == {"FIRSTNAME": "Anna"}
    assert backclick_tables.memberships(store, sub["id"]) == {1: 0}


def test_seeding_ten_thousand_subscribers_writes_every_row(tmp_path):
    # How long this takes is a figure of bench/seeding.py, not a limit here.
    store = open_store(str(tmp_path / "big.db"))
    store.migrate()
    doc = yaml.safe_load(MANDATOR)
    doc["backclick"]["mandators"][0]["subscribers"] = [
        {"email": f"user{i}@example.com", "fields": {"FIRSTNAME": f"U{i}", "LASTNAME": "X"},
         "lists": {1: "subscribed", 2: "pending" if i % 3 else "unsubscribed"}}
        for i in range(10_000)]
    counts = fixtures.seed(store, doc)
    assert counts["subscribers"] == 10_000
    dump = store.dump()
    memberships = dump["memberships"]
    assert len(memberships) == 20_000
    statuses = collections.Counter((row["list_id"], row["status"]) for row in memberships)
    by_list = collections.Counter(row["list_id"] for row in memberships)
    assert by_list == {1: 10_000, 2: 10_000}  # on list 1 one status, on list 2 two
    assert sorted(statuses.values()) == [3_334, 6_666, 10_000]
    assert len(dump["subscribers"]) == 10_000


# -- command line -------------------------------------------------------------------


def test_check_accepts_the_shipped_fixtures():
    for path in ("fixtures/demo.yaml", "tests/fixtures/basic.yaml"):
        result = mockserver("check", path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"ok: {path}\n"
    both = mockserver("check", "fixtures/demo.yaml", "tests/fixtures/basic.yaml")
    assert both.returncode == 1  # both define mandator 1
    assert both.stderr == ("tests/fixtures/basic.yaml: backclick.mandators[0].id: mandator 1 is "
                           "also defined in fixtures/demo.yaml\n"
                           "tests/fixtures/basic.yaml: backclick.mandators[1].id: mandator 2 is "
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


def test_check_prints_every_problem_and_seed_and_serve_refuse_with_them(tmp_path):
    (tmp_path / "bad.yaml").write_text(MANY_PROBLEMS, encoding="utf-8")
    result = mockserver("check", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [f"bad.yaml: {line}" for line in MANY_FOUND]
    for command in (["seed", "bad.yaml", "--db", "s.db"],
                    ["serve", "--port", "0", "--db", "s.db", "--fixtures", "bad.yaml"]):
        result = mockserver(*command, cwd=tmp_path)
        assert result.returncode == 1, result.stdout
        assert result.stderr.splitlines() == [f"mockserver: bad.yaml: {line}"
                                              for line in MANY_FOUND]
        store = open_store(str(tmp_path / "s.db"))
        store.migrate()
        assert vendor_store.is_empty(store)


def test_seed_of_an_invalid_file_changes_nothing(tmp_path):
    db = str(tmp_path / "s.db")
    assert mockserver("seed", str(BASIC), "--db", db).returncode == 0
    before = open_store(db).dump()
    (tmp_path / "bad.yaml").write_text(MANDATOR.replace("anna@", "anna @"))
    result = mockserver("seed", "bad.yaml", "--db", db, "--replace", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("mockserver: bad.yaml: backclick.mandators[0].subscribers[0]."
                                    "email: not a valid e-mail address")
    assert open_store(db).dump() == before


# -- the exact round trip -------------------------------------------------------------


def _save(client, email, lists, fields=None, **options):
    item = {"subscriberEmail": email, "newsletterListIds": {"item": lists},
            "subscriberFields": {"item": [{"name": k, "value": v} for k, v in (fields or {}).items()]}}
    item.update({k: options.pop(k) for k in ("doubleOptinTemplateId", "changeProfileTemplateId")
                 if k in options})
    return client.service.saveOrCreateSubscriber(
        mandatorId=1, apiKey="demo-key-1", subscribers={"item": [item]}, **options)


PDF = b"%PDF-1.4\n\x00\x01\xfe\xff Rechnung 4711\n%%EOF\n"


def _send_and_track(server, client) -> dict:
    """A newsletter to list 1, a transaction mail with an attachment and a voucher, and
    events on both; what was sent, for the assertions after the round trip."""
    newsletter_id = client.service.sendNewsletterToList(
        mandatorId=1, apiKey="demo-key-1", newsletterListId=1,
        subject="Neu für Sie, $$FIRSTNAME$$",
        newsletterContent='<p>Hallo $$FIRSTNAME$$, <a href="https://example.de/sale">zum Sale'
                          '</a> $$SPECIAL-REPLACEMENT-TEXT$$</p>',
        alternativeContent="Hallo $$FIRSTNAME$$, zum Sale: https://example.de/sale",
        adhockInformation="Nur heute!", senderName="Modehaus Berger",
        senderEmail="news@news.example.de")
    deadline = time.monotonic() + 30
    while server.rows("SELECT state FROM newsletters WHERE id=?", newsletter_id)[0]["state"] \
            != "sent":
        assert time.monotonic() < deadline, "the newsletter was not sent within 30 s"
        time.sleep(0.05)
    mails = server.outbox(newsletter=newsletter_id, limit=5)
    assert mails
    channel_id = client.service.createTransactionChannel(
        mandatorId=1, apiKey="demo-key-1", channelName="Bestellungen",
        channelDescription="Bestellbestätigungen")
    client.service.createTransactionChannel(mandatorId=1, apiKey="demo-key-1")
    transaction_id = client.service.sendTransactionMail(
        mandatorId=1, apiKey="demo-key-1", channelId=channel_id, campaignId=77,
        subject="Ihre Bestellung, $$FIRSTNAME$$", senderEmail="shop@example.de",
        senderName="Modehaus Berger", replyTo="service@example.de",
        mailContent='<p>Ihr Gutschein: $$VOUCHER$$ <a href="https://example.de/konto">Konto</a></p>',
        alternativeMailContent="Ihr Gutschein: $$VOUCHER$$",
        recipient={"emailAddress": "kauf@example.de", "newsletterListId": 2,
                   "subscriberFields": {"item": [{"name": "FIRSTNAME", "value": "Käthe"}]}},
        attachments={"item": [{"name": "rechnung-4711.pdf", "data": PDF}]}, voucherListId=1)
    for mail_id, body in [(mails[0]["id"], {"type": "open"}), (mails[0]["id"], {"type": "click"}),
                          (transaction_id, {"type": "open"}),
                          (mails[1]["id"], {"type": "bounce", "bounce": "hard"}),
                          (mails[0]["id"], {"type": "open"}),
                          (mails[2]["id"], {"type": "complaint"})]:
        status, answer, _ = server.post(f"_mock/outbox/{mail_id}/events", json.dumps(body).encode(),
                                        {"Content-Type": "application/json"})
        assert status == 201, answer
    return {"newsletter": newsletter_id, "channel": channel_id, "transaction": transaction_id,
            "eml": server.get(f"_mock/outbox/{transaction_id}.eml")[1],
            "mail": server.json(f"_mock/outbox/{mails[0]['id']}")}


def _unbounded(eml: bytes) -> bytes:
    """A message with its MIME boundaries (random per rendering) replaced by fixed ones."""
    for number, boundary in enumerate(re.findall(rb'boundary="([^"]+)"', eml)):
        eml = eml.replace(boundary, b"BOUNDARY-%d" % number)
    return eml


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
        sent = _send_and_track(server, client)
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
    assert open_store(str(tmp_path / "a.db")).dump() == open_store(str(tmp_path / "b.db")).dump()

    document = yaml.safe_load(text_a)
    assert json.loads(json.dumps(document)) == over_http  # the admin export is the same document
    schema = Draft202012Validator(fixture_schema.json_schema())  # as editors check it
    assert [error.message for error in schema.iter_errors(over_http)] == []
    assert document["seed"] == 42 and document["state"]["tokensIssued"] > 0  # the demo's seed
    state = document["state"]
    assert {c["kind"] for c in state["confirmations"]} == {"doi", "change"}
    assert any(c["confirmed"] for c in state["confirmations"])
    assert {m["kind"] for m in state["outbox"]} >= {"doi", "welcome", "newsletter", "change-confirm"}
    anna = next(s for s in document["backclick"]["mandators"][0]["subscribers"]
                if s["email"] == "anna.schmidt@example.de")
    assert anna["lists"] == {1: "subscribed", 4: "unsubscribed"}
    assert set(anna["listsChanged"]) == {4}

    # The sending state: newsletter with its counts, channels, attachment, voucher, events.
    letter = next(n for n in state["newsletters"] if n["id"] == sent["newsletter"])
    assert letter["kind"] == "list" and letter["listId"] == 1 and letter["state"] == "sent"
    assert letter["adhockInformation"] == "Nur heute!" and letter["baseUrl"].startswith("http://")
    assert letter["numRecipientsAdjusted"] == len(
        [m for m in state["outbox"] if m["newsletterId"] == sent["newsletter"]]) > 0
    assert [c["name"] for c in state["channels"] if c["id"] >= sent["channel"]] == [
        "Bestellungen", f"Channel {sent['channel'] + 1}"]
    mail = next(m for m in state["outbox"] if m["id"] == sent["transaction"])
    assert mail["channelId"] == sent["channel"] and mail["campaignId"] == 77
    assert mail["attachments"] == [{"name": "rechnung-4711.pdf", "contentType": "application/pdf",
                                    "data": base64.b64encode(PDF).decode()}]
    assert mail["personalisation"]["VOUCHER"] in mail["html"]
    codes = document["backclick"]["mandators"][0]["voucherLists"][0]["codes"]
    assert {"code": mail["personalisation"]["VOUCHER"], "usedBy": "kauf@example.de",
            "usedAt": mail["created"]} in codes
    assert [e["type"] for m in state["outbox"] for e in m.get("events", [])] == [
        "open", "click", "open", "bounce", "complaint", "open"]  # grouped by mail

    # Seeded, the mails are the same mails: same .eml bytes, rendering, events, statistics.
    server = start_server(tmp_path, fixtures=(), db=tmp_path / "b.db")
    try:
        assert _unbounded(server.get(f"_mock/outbox/{sent['transaction']}.eml")[1]) == \
            _unbounded(sent["eml"])
        assert server.json(f"_mock/outbox/{sent['mail']['id']}") == sent["mail"]
        message = email.message_from_bytes(sent["eml"], policy=email.policy.default)
        attachment = next(message.iter_attachments())
        assert attachment.get_filename() == "rechnung-4711.pdf"
        assert attachment.get_content() == PDF
    finally:
        server.stop()

    # JSON, and into a store that is not empty, via the admin API: the same again.
    (tmp_path / "a.json").write_text(fixtures.dumps(document, as_json=True))
    seeded = mockserver("seed", str(tmp_path / "a.json"), "--db", str(tmp_path / "c.db"))
    assert seeded.returncode == 0, seeded.stderr
    assert open_store(str(tmp_path / "c.db")).dump() == open_store(str(tmp_path / "a.db")).dump()


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
    last = max(s["id"] for m in before["backclick"]["mandators"] for s in m["subscribers"])
    assert after["backclick"]["mandators"][3]["subscribers"][0]["id"] == last + 1

    status, answer = _post(server, "_mock/seed", json.dumps(extra))
    assert status == 409
    assert answer == {"error": "<request body>: backclick.mandators[0].id: mandator 9 already "
                               "exists in the store"}

    bad = "backclick:\n  mandators:\n    - {id: 10, lists: [{id: x, name: L}]}\n"
    status, answer = _post(server, "_mock/seed", bad, "application/yaml")
    assert status == 400
    problem = "<request body>: backclick.mandators[0].lists[0].id: expected an integer"
    assert answer == {"error": problem, "problems": [problem]}
    status, answer = _post(server, "_mock/seed", MANY_PROBLEMS, "application/yaml")
    assert status == 400
    assert answer["problems"] == [f"<request body>: {line}" for line in MANY_FOUND]
    assert answer["error"] == "\n".join(answer["problems"])
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


def test_sending_state_seeds_with_defaults(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    store.migrate()
    doc = yaml.safe_load(MANDATOR)
    doc["state"] = {
        "channels": [{"id": 1, "mandatorId": 1}],
        "newsletters": [{"mandatorId": 1, "recipients": [{"email": "x@example.org",
                                                           "fields": {"FIRSTNAME": "X"}}],
                         "subject": "Hi", "state": "scheduled", "sendTime": "2030-01-01"}],
        "outbox": [{"mandatorId": 1, "kind": "transaction", "to": "x@example.org", "channelId": 1,
                    "attachments": [{"name": "a.txt", "data": "SGFs\nbG8="}],
                    "events": [{"type": "open"}, {"id": 7, "type": "click", "detail": "https://x"}],
                    "relay": {"state": "failed", "error": "ConnectionRefusedError"}}]}
    counts = fixtures.seed(store, doc)
    assert counts["channels"] == 1 and counts["newsletters"] == 1
    tables = store.dump()
    assert tables["channels"][0]["name"] == "Channel 1"
    assert tables["newsletters"][0]["kind"] == "recipients"
    assert tables["newsletter_recipients"] == [{"newsletter_id": 1, "position": 0,
                                                "email": "x@example.org",
                                                "fields": '{"FIRSTNAME": "X"}'}]
    assert tables["attachments"][0]["data"] == b"Hallo"
    assert tables["attachments"][0]["content_type"] == "application/octet-stream"
    assert [(e["id"], e["type"]) for e in tables["mail_events"]] == [(7, "click"), (8, "open")]
    assert (tables["outbox"][0]["relay_state"], tables["outbox"][0]["relay_error"]) == (
        "failed", "ConnectionRefusedError")
    exported = fixtures.export(store)["state"]["outbox"][0]
    assert exported["attachments"] == [{"name": "a.txt", "contentType": "application/octet-stream",
                                        "data": "SGFsbG8="}]
    assert exported["relay"] == {"state": "failed", "error": "ConnectionRefusedError"}


def test_demo_scheduled_newsletter_goes_out_when_the_clock_passes_it(tmp_path):
    server = start_server(tmp_path, "--demo", fixtures=())
    try:
        audience = server.rows(
            "SELECT COUNT(*) AS n FROM memberships m JOIN subscribers s ON s.id = m.subscriber_id "
            "WHERE s.mandator_id = 1 AND m.list_id = 1 AND m.status = 0")[0]["n"]
        assert audience > 0
        assert server.rows("SELECT name FROM channels ORDER BY id")[0]["name"] == \
            "Bestellbestätigungen"
        assert server.rows("SELECT COUNT(*) AS n FROM voucher_lists")[0]["n"] >= 1
        time.sleep(0.5)  # the background round runs, and must not send it yet
        assert server.outbox(newsletter=2) == []
        status, body, _ = http_put(server, "_mock/clock", {"now": "2027-12-01T07:00:01Z"})
        assert status == 200, body
        client = server.zeep()
        [stats] = client.service.NewsletterStatistic(mandatorId=1, apiKey="demo-key-1",
                                                     newsletterIds={"item": [2]})
        assert stats.state == "sent" and stats.newsletterListId == 1
        assert stats.numRecipientsUnadjusted == audience
        mails = server.outbox(newsletter=2)
        assert len(mails) == stats.numRecipientsAdjusted > 0
        first = mails[0]
        first_name = json.loads(server.rows("SELECT fields FROM subscribers WHERE id = ?",
                                            server.rows("SELECT subscriber_id FROM outbox WHERE "
                                                        "id = ?", first["id"])[0]["subscriber_id"]
                                            )[0]["fields"]).get("FIRSTNAME", "")
        assert first["subject"] == f"Ihr Adventskalender, {first_name}"
        assert first["links"]["original"] == ["https://www.example.de/adventskalender"]
    finally:
        server.stop()


def http_put(server, path: str, body: dict):
    """PUT a JSON body; (status, body, headers)."""
    from conftest import http
    return http("PUT", server.base_url + path, json.dumps(body).encode(),
                {"Content-Type": "application/json"})


def test_times_beyond_the_clock_and_collection_values_are_problems_of_their_own():
    document = {"clock": {"start": "1960-01-01"},
                "backclick": {"mandators": [{"id": 1, "subscribers": [
                    {"email": "far@example.de", "created": "9999-12-31T23:00:00-05:00"}]}]},
                "copernica": {"accounts": [{"id": 1, "databases": [{"name": "D", "collections": [
                    {"name": "C", "weight": "4", "unsubscribeValues": {"A": "x", "B": "1"},
                     "fields": [{"name": "A", "type": "integer"}]}]}]}]}}
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.validate(document, "t.yaml")
    collection = "t.yaml: copernica.accounts[0].databases[0].collections[0]"
    assert caught.value.problems == [
        "t.yaml: clock.start: The mock's clock runs from 1970-01-01 to 9999-01-01 UTC, "
        "not 1960-01-01T00:00:00.000000Z.",
        "t.yaml: backclick.mandators[0].subscribers[0].created: expected a date and time "
        "within the years 1 to 9999 in UTC",
        f"{collection}.weight: expected an integer"]
    document["copernica"]["accounts"][0]["databases"][0]["collections"][0]["weight"] = 4
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.validate(document, "t.yaml")
    assert caught.value.problems[2:] == [
        f"{collection}.unsubscribeValues.A: 'x' is not a valid integer value",
        f"{collection}.unsubscribeValues.B: no field named 'B'"]
