"""Determinism: with a seed and a frozen clock, the same client script against two fresh
servers gets byte-identical SOAP answers (ids, codes, tokens, timestamps) in both dialects,
and the same admin JSON once the servers' differing addresses are replaced."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import BASIC, http, start_server
from copernica_harness import COPERNICA, PASSWORD, USER

FROZEN = "2026-03-01T09:00:00Z"
SEED = 20260301
BC = ("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:b=\"http://soap.rpc.bc.backclick.de/\"><soap:Body>{}</soap:Body></soap:Envelope>")
CP = ("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:c=\"http://soap.copernica.com/\"><soap:Body><c:{op}><parameters>{body}</parameters>"
      "</c:{op}></soap:Body></soap:Envelope>")
KEY = "<b:mandatorId>1</b:mandatorId><b:apiKey>shop-key-1234</b:apiKey>"
CODE = re.compile(rb"<(?:tns:)?code>([0-9a-f]{32})</(?:tns:)?code>")


def start(tmp_path: Path, name: str, seed: int | None):
    """A fresh server on the basic and Copernica fixtures plus a document with the frozen
    clock and, unless None, ``seed``; in UTC (the vendors print some times in the server's
    time zone)."""
    folder = tmp_path / name
    folder.mkdir()
    extra = folder / "determinism.yaml"
    extra.write_text(("" if seed is None else f"seed: {seed}\n") +
                     f'clock: {{start: "{FROZEN}", frozen: true}}\n')
    return start_server(folder, fixtures=(BASIC, COPERNICA, extra), env={"TZ": "UTC"})


def _backclick(operation: str, body: str) -> tuple:
    return ("POST", "bc/rpc/soap/backclickService",
            BC.format(f"<b:{operation}>{KEY}{body}</b:{operation}>").encode(),
            {"Content-Type": "text/xml; charset=utf-8"})


def _copernica(operation: str, body: str, cookie: str | None = None) -> tuple:
    headers = {"Content-Type": "text/xml; charset=utf-8",
               "SOAPAction": f'"http://soap.copernica.com/#{operation}"'}
    if cookie:
        headers["Cookie"] = cookie
    return "POST", "", CP.format(op=operation, body=body).encode(), headers


def _one(pattern: str, body: bytes) -> str:
    match = re.search(pattern.encode(), body)
    assert match, body
    return match.group(1).decode()


def run_script(server) -> list[tuple]:
    """The client script: a fixed sequence of requests, later ones built from earlier answers
    (ids, the session cookie). Every exchange as (what was sent, status, answer, cookie set),
    the server's own address replaced by BASE/ in admin answers."""
    exchanges: list[tuple] = []

    def call(request: tuple, soap: bool = True) -> bytes:
        method, path, body, headers = request
        status, answer, answer_headers = http(method, server.base_url + path, body, headers)
        if not soap:  # admin JSON names the server's address (which differs between servers)
            answer = answer.replace(server.base_url.encode(), b"BASE/").replace(
                server.base_url.split("//")[1].rstrip("/").encode(), b"HOST")
        exchanges.append((method, path, body, status, answer, answer_headers.get("Set-Cookie")))
        assert status in (200, 201), answer
        return answer

    # BACKCLICK: a double opt-in (confirmation token), subscribers with their fields and
    # timestamps, a newsletter (tracking tokens) and its statistics, a channel and a
    # transaction mail.
    call(_backclick("saveOrCreateSubscriber",
                    "<b:subscribers><b:item><b:subscriberEmail>replay@example.de</b:subscriberEmail>"
                    "<b:newsletterListIds><b:item>1</b:item></b:newsletterListIds>"
                    "<b:doubleOptinTemplateId>20</b:doubleOptinTemplateId>"
                    "<b:subscriberFields><b:item><b:name>FIRSTNAME</b:name><b:value>Rita</b:value>"
                    "</b:item></b:subscriberFields></b:item></b:subscribers>"))
    call(_backclick("getSubscribers",
                    "<b:fillSubscriberFields>true</b:fillSubscriberFields><b:emailAddresses>"
                    "<b:item>replay@example.de</b:item><b:item>Anna.Schmidt@example.de</b:item>"
                    "<b:item>both@example.de</b:item></b:emailAddresses>"))
    newsletter = _one(r"<tns:newsletterId>(\d+)<", call(_backclick(
        "sendNewsletter",
        "<b:recipients><b:item><b:subscriberEmail>both@example.de</b:subscriberEmail></b:item>"
        "<b:item><b:subscriberEmail>neu@example.de</b:subscriberEmail><b:subscriberFields>"
        "<b:item><b:name>FIRSTNAME</b:name><b:value>Nele</b:value></b:item></b:subscriberFields>"
        "</b:item></b:recipients><b:subject>Hallo $$FIRSTNAME$$</b:subject>"
        "<b:newsletterContent>&lt;p&gt;&lt;a href=\"https://shop.example/sale\"&gt;Sale&lt;/a&gt;"
        " &lt;a href=\"$$UNSUBSCRIBE-LINK$$\"&gt;Abmelden&lt;/a&gt;&lt;/p&gt;"
        "</b:newsletterContent><b:senderEmail>news@shop.example</b:senderEmail>")))
    call(("GET", f"_mock/outbox/wait?newsletter={newsletter}&timeout=20", None, {}), soap=False)
    ids = f"<b:newsletterIds><b:item>{newsletter}</b:item></b:newsletterIds>"
    call(_backclick("NewsletterStatistic", ids))
    call(_backclick("BackclickStatistic", ids))
    channel = _one(r"<tns:channelId>(\d+)<", call(_backclick(
        "createTransactionChannel", "<b:channelName>Bestellungen</b:channelName>")))
    call(_backclick("sendTransactionMail",
                    f"<b:channelId>{channel}</b:channelId><b:subject>Bestellung 17</b:subject>"
                    "<b:senderEmail>shop@shop.example</b:senderEmail>"
                    "<b:mailContent>&lt;p&gt;Danke&lt;/p&gt;</b:mailContent>"
                    "<b:recipient><b:emailAddress>kauf@example.de</b:emailAddress></b:recipient>"))

    # Copernica: login (the session cookie), a profile and a subprofile created with it,
    # searches with every property (codes, created, modified), one call by access token.
    call(_copernica("login", f"<c:username>{USER}</c:username>"
                             f"<c:password>{PASSWORD}</c:password>"))
    cookie = exchanges[-1][5].split(";")[0]
    profile = _one(r"<(?:tns:)?profile>.*?<(?:tns:)?id>(\d+)<", call(_copernica(
        "Database_createProfile", "<c:id>1</c:id><c:fields><c:pair><c:key>Email</c:key>"
        "<c:value>replay@example.com</c:value></c:pair></c:fields>", cookie)))
    call(_copernica("Database_searchProfiles", "<c:allproperties>true</c:allproperties>"
                                               "<c:id>1</c:id>", cookie))
    call(_copernica("Profile_createSubProfile",
                    f"<c:id>{profile}</c:id><c:collection><c:id>1</c:id></c:collection>"
                    "<c:fields><c:pair><c:key>OrderNo</c:key><c:value>2001</c:value></c:pair>"
                    "</c:fields>", cookie))
    call(_copernica("Collection_searchSubProfiles",
                    "<c:allproperties>true</c:allproperties><c:id>1</c:id>"
                    "<c:access_token>shop-token-rw</c:access_token>"))

    # Admin: a tenant (api key, token, password), the outbox (tracking and confirmation
    # tokens in links), the export (everything stored).
    call(("POST", "_mock/tenants", b"{}", {"Content-Type": "application/json"}), soap=False)
    call(("GET", "_mock/outbox", None, {}), soap=False)
    call(("GET", "_mock/export", None, {}), soap=False)
    return exchanges


def soap_answers(exchanges: list[tuple]) -> list[bytes]:
    """The raw answers of the SOAP calls, in order."""
    return [e[4] for e in exchanges if e[0] == "POST" and not e[1].startswith("_mock")]


def codes(exchanges: list[tuple]) -> list[bytes]:
    """The profile and subprofile codes the Copernica searches answered."""
    return [code for answer in soap_answers(exchanges) for code in CODE.findall(answer)]


def tenant_secrets(exchanges: list[tuple]) -> tuple:
    """The api key, access token and password of the tenant the script created."""
    tenant = json.loads(next(e[4] for e in exchanges if e[1] == "_mock/tenants"))
    return (tenant["backclick"]["apiKey"], tenant["copernica"]["accessToken"],
            tenant["copernica"]["password"])


@pytest.fixture(scope="module")
def replays(tmp_path_factory):
    """The script's exchanges with two servers of one seed, one of another seed, and two
    without a seed (all on the same frozen clock)."""
    tmp_path = tmp_path_factory.mktemp("determinism")
    results = {}
    for name, seed in (("first", SEED), ("second", SEED), ("other", SEED + 1),
                       ("unseeded-1", None), ("unseeded-2", None)):
        server = start(tmp_path, name, seed)
        try:
            results[name] = run_script(server)
            results[name + ":journal"] = server.json("_mock/journal?limit=1000")["exchanges"]
            if name == "first":  # back to the fixtures: the same run again
                assert server.post("_mock/reset", b"")[0] == 200
                results["first:after-reset"] = run_script(server)
        finally:
            server.stop()
    return results


def test_the_same_script_gets_byte_identical_answers(replays):
    first, second = replays["first"], replays["second"]
    assert [e[:3] for e in first] == [e[:3] for e in second]  # the same bytes were sent
    assert soap_answers(first) == soap_answers(second)  # raw SOAP bodies, byte for byte
    assert [e[5] for e in first] == [e[5] for e in second]  # the login's Set-Cookie too
    assert first == second  # and the admin JSON, addresses replaced
    assert replays["first:after-reset"] == first  # POST /_mock/reset starts the same run again
    # The answers carry generated values: profile and subprofile codes, a session cookie,
    # tracking and confirmation tokens, dates on the frozen clock.
    assert len(set(codes(first))) == 8  # database 1: 5 profiles, collection 1: 3 subprofiles
    assert re.fullmatch(r"soap_session=[0-9a-f]{32}", next(e[5] for e in first if e[5])
                        .split(";")[0])
    outbox = json.loads(next(e[4] for e in first if e[1] == "_mock/outbox"))["mails"]
    links = [link for mail in outbox for link in json.dumps(mail["links"]).split('"')
             if link.startswith("BASE/")]
    assert any("/bc/confirm/" in link for link in links)
    assert len({re.search(r"[0-9a-f]{32}", link).group() for link in links
                if re.search(r"[0-9a-f]{32}", link)}) >= 3
    assert {mail["created"] for mail in outbox} == {"2026-03-01T09:00:00.000000Z"}
    answers = soap_answers(first)
    assert b"<tns:sendStartTime>2026-03-01T09:00:00.000+00:00<" in answers[3]  # statistics
    assert answers[9].count(b"<created>2026-03-01 09:00:00<") == 5  # the fixtures' too


def test_a_seed_reproduces_exactly_what_it_generated(replays):
    """The tokens come from the seed: they are a pure function of it and the call order."""
    first = replays["first"]
    export = json.loads(next(e[4] for e in first if e[1] == "_mock/export"))
    assert export["seed"] == SEED
    # Every generated secret was counted: profile codes of the fixtures (5 profiles,
    # 2 subprofiles), the confirmation, 2 newsletter mails, the DOI mail, the transaction
    # mail, the session, the new profile and subprofile, the tenant's 3 secrets.
    assert export["state"]["tokensIssued"] == 7 + 1 + 2 + 1 + 1 + 1 + 2 + 3


def test_another_seed_gives_other_secrets_and_the_same_ids(replays):
    first, other = replays["first"], replays["other"]
    assert len(codes(first)) == len(codes(other))
    assert not set(codes(first)) & set(codes(other))
    assert not set(tenant_secrets(first)) & set(tenant_secrets(other))
    strip = re.compile(rb"[0-9a-f]{32}")  # apart from the secrets, the answers are the same
    assert [strip.sub(b"X", a) for a in soap_answers(first)] == \
        [strip.sub(b"X", a) for a in soap_answers(other)]


def test_without_a_seed_secrets_differ_between_servers(replays):
    one, two = replays["unseeded-1"], replays["unseeded-2"]
    assert len(set(codes(one))) == len(set(codes(two))) == 8
    assert not set(codes(one)) & set(codes(two))
    assert not set(tenant_secrets(one)) & set(tenant_secrets(two))
    assert soap_answers(one) != soap_answers(two)


def test_the_journal_is_on_the_frozen_clock(replays):
    for name in ("first", "second"):
        journal = replays[name + ":journal"]
        assert len(journal) == len(soap_answers(replays[name]))
        assert {e["time"] for e in journal} == {"2026-03-01T09:00:00.000000Z"}
        assert all(e["durationMs"] > 0 for e in journal)  # the duration stays real


def _tenant(server) -> tuple:
    status, body, _ = server.post("_mock/tenants", b"{}", {"Content-Type": "application/json"})
    assert status == 201, body
    tenant = json.loads(body)
    return (tenant["backclick"]["apiKey"], tenant["copernica"]["accessToken"],
            tenant["copernica"]["password"])


HEX = re.compile(r"\b[0-9a-f]{32}\b")


def test_the_sequence_goes_on_after_seeding_restores_and_exports(tmp_path):
    server = start(tmp_path, "a", SEED)
    try:
        assert server.post("_mock/snapshots/clean", b"")[0] == 201
        first = _tenant(server)
        assert server.post("_mock/snapshots/clean/restore", b"")[0] == 200
        assert _tenant(server) == first  # a restored store replays what followed the snapshot
        status, body, _ = server.post("_mock/seed", json.dumps({"copernica": {"accounts": [
            {"id": 9, "databases": [{"name": "More", "fields": [{"name": "Email"}],
                                     "profiles": [{"fields": {"Email": "x@example.com"}}]}]}]}})
            .encode(), {"Content-Type": "application/json"})
        assert status == 200, body
        export = server.json("_mock/export")
    finally:
        server.stop()
    text = json.dumps(export)
    issued = export["state"]["tokensIssued"]
    assert issued == 7 + 3 + 1  # the fixtures' codes, a tenant, the added profile's code
    added = [p["code"] for a in export["copernica"]["accounts"] if a["id"] == 9
             for d in a["databases"] for p in d["profiles"]]
    assert len(added) == 1 and added[0] not in first and text.count(added[0]) == 1

    # Seeded from the export, a fresh server goes on after the exported tokens: none repeats.
    (tmp_path / "export.json").write_text(text)
    (tmp_path / "b").mkdir()
    again = start_server(tmp_path / "b", fixtures=(tmp_path / "export.json",))
    try:
        fresh = _tenant(again)
        assert again.json("_mock/export")["state"]["tokensIssued"] == issued + 3
    finally:
        again.stop()
    assert len(set(HEX.findall(text))) >= issued
    assert not set(fresh) & set(HEX.findall(text))


def test_the_documented_example_runs(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT
    text = (ROOT / "docs" / "determinism.md").read_text(encoding="utf-8")
    (fixture,) = re.findall(r"```yaml(?: [^\n]*)?\n(.*?)```", text, re.S)
    (shell,) = re.findall(r"```sh(?: [^\n]*)?\n(.*?)```", text, re.S)
    (script,) = re.findall(r"```python(?: [^\n]*)?\n(.*?)```", text, re.S)
    assert "--fixtures replay.yaml" in shell and "--port 8081" in shell
    servers = []
    for name, seed in (("a", 7), ("b", 7), ("c", 7), ("d", 8)):  # each run on fresh servers
        (tmp_path / name).mkdir()
        path = tmp_path / name / "replay.yaml"
        path.write_text(fixture.replace("seed: 7", f"seed: {seed}"))
        servers.append(start_server(tmp_path / name, fixtures=(path,), env={"TZ": "UTC"}))
    try:
        outputs = []
        for one, two in ((servers[0], servers[1]), (servers[2], servers[3])):
            done = subprocess.run(
                [sys.executable, "-c", script.replace("http://127.0.0.1:8080/", one.base_url)
                 .replace("http://127.0.0.1:8081/", two.base_url)],
                capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout.splitlines())
    finally:
        for server in servers:
            server.stop()
    assert outputs[0][0] == "identical" and outputs[1][0] == "different"  # seed 8 differs
    assert re.fullmatch(r"[0-9a-f]{32}", outputs[0][1]) and outputs[0][1] == outputs[1][1]
