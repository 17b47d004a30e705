"""The pytest plugin as a user's suite meets it: the installed entry point, the
``marketing_mock`` fixture and its helpers, run by pytest inside a pytester directory."""
from __future__ import annotations

import json
import re

from conftest import BASIC, start_server

HELPERS = '''
import datetime as dt
import socket
import urllib.request

import pytest
import requests
import zeep

def bc(mock):
    return zeep.Client(mock.backclick_wsdl).service

def lookup(mock, email="x@example.com"):
    return bc(mock).getSubscribers(mandatorId=mock.mandator_id, apiKey=mock.api_key,
                                   emailAddresses={"item": [email]})[0]

def test_fresh_tenant_with_both_dialects(marketing_mock):
    assert marketing_mock.tenant == f"tenant-{marketing_mock.mandator_id}"
    assert marketing_mock.backclick_wsdl.startswith(marketing_mock.base_url)
    assert marketing_mock.copernica_wsdl == marketing_mock.base_url + "?SOAPAPI=WSDL"
    assert lookup(marketing_mock).status == -1
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {marketing_mock.access_token}"
    cp = zeep.Client(marketing_mock.copernica_wsdl,
                     transport=zeep.transports.Transport(session=session)).service
    cp.Account_createDatabase(parameters={"name": "shop"})
    [exchange] = marketing_mock.journal("Account_createDatabase")
    assert exchange["tenant"] == f"account-{marketing_mock.account_id}"
    assert exchange["credential"] == "********" + marketing_mock.access_token[-4:]

def test_fail_next_with_a_vendor_fault_a_status_and_a_dropped_connection(marketing_mock):
    marketing_mock.fail_next("getSubscribers", "Invalid API key.", times=2)
    for _ in range(2):
        with pytest.raises(zeep.exceptions.Fault, match="^Invalid API key[.]$"):
            lookup(marketing_mock)
    assert lookup(marketing_mock).status == -1
    marketing_mock.fail_next("getSubscribers", status=503, body="busy")
    with pytest.raises(zeep.exceptions.TransportError) as error:
        lookup(marketing_mock)
    assert error.value.status_code == 503
    marketing_mock.fail_next("getSubscribers", drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        lookup(marketing_mock)
    faults = [e["injected"] for e in marketing_mock.journal("getSubscribers")]
    assert [bool(f) for f in faults] == [True, True, False, True, True]
    with pytest.raises(ValueError):
        marketing_mock.fail_next("getSubscribers")

def test_fail_randomly_is_seeded(marketing_mock):
    marketing_mock.fail_randomly("getSubscribers", 0.5, "Invalid API key.", seed=7)
    outcome = ""
    for _ in range(12):
        try:
            lookup(marketing_mock)
            outcome += "."
        except zeep.exceptions.Fault:
            outcome += "F"
    print("OUTCOME", outcome)
    assert "F" in outcome and "." in outcome

def test_outbox_wait_eml_and_events(marketing_mock):
    service = bc(marketing_mock)
    channel = service.createTransactionChannel(mandatorId=marketing_mock.mandator_id,
                                               apiKey=marketing_mock.api_key)
    service.sendTransactionMail(mandatorId=marketing_mock.mandator_id,
                                apiKey=marketing_mock.api_key, channelId=channel,
                                subject="Receipt", mailContent="Thanks.",
                                recipient={"emailAddress": "eve@example.com"})
    mail = marketing_mock.wait_for_mail(to="eve@example.com", subject="Receipt")
    assert [m["id"] for m in marketing_mock.outbox()] == [mail["id"]]
    assert b"Subject: Receipt" in marketing_mock.eml(mail["id"])
    assert marketing_mock.event(mail["id"], "open")["type"] == "open"
    with pytest.raises(AssertionError, match="408"):
        marketing_mock.wait_for_mail(to="nobody@example.com", timeout=0.2)

def test_clock_changes_stay_in_their_test_a(marketing_mock):
    marketing_mock.clock.freeze("2030-01-01T00:00:00+00:00")
    marketing_mock.clock.advance(hours=1)
    assert marketing_mock.clock.now() == dt.datetime(2030, 1, 1, 1, tzinfo=dt.timezone.utc)

def test_clock_changes_stay_in_their_test_b(marketing_mock):
    now = marketing_mock.clock.now()
    assert abs((now - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 5

@pytest.mark.marketing_mock(template=1, name="shaped")
def test_marker_shapes_the_tenant(marketing_mock):
    assert marketing_mock.tenant == "shaped"
    service = bc(marketing_mock)
    result = service.getSubscriberToNewsletterListRelation(
        mandatorId=marketing_mock.mandator_id, apiKey=marketing_mock.api_key,
        newsletterListId=0, subscriberEmail="x@example.com")
    assert result.subscriberAvailable is False
    service.saveOrCreateSubscriber(mandatorId=marketing_mock.mandator_id,
                                   apiKey=marketing_mock.api_key, sendWelcome=True,
                                   subscribers={"item": [{"subscriberEmail": "w@example.com",
                                                          "newsletterListIds": {"item": [1]}}]})
    assert marketing_mock.wait_for_mail(to="w@example.com", kind="welcome")

@pytest.mark.marketing_mock(fixture="broken.yaml")
def test_a_bad_tenant_document_is_explained(marketing_mock):
    pass
'''


def run_inner(pytester, *args):
    """Write the inner suite (with the ini seeding basic.yaml) and run it in a subprocess."""
    pytester.makeini(f"[pytest]\nmarketing_mock_fixtures =\n    {BASIC}\n")
    pytester.makepyfile(test_user=HELPERS)
    pytester.path.joinpath("broken.yaml").write_text(
        "backclick: {mandators: [{lists: [{id: x}]}]}\n")
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args)


def test_the_fixture_and_its_helpers_in_a_users_suite(pytester):
    result = run_inner(pytester)
    result.assert_outcomes(passed=7, errors=1)
    out = result.stdout.str()
    # the bad document, explained
    assert "The tenant from broken.yaml for this test was refused: POST /_mock/tenants: 400 " \
           "<request body>: backclick.mandators[0].lists[0]" in out
    # a seeded rule fails the same calls when the test runs alone, after other rules
    again = run_inner(pytester, "-k", "randomly").stdout.str()
    outcome = re.findall(r"OUTCOME ([.F]+)", out)
    assert len(outcome) == 1 and re.findall(r"OUTCOME ([.F]+)", again) == outcome


def test_a_shared_server_with_an_admin_token(pytester, tmp_path):
    server = start_server(tmp_path, "--admin-token", "sesame")
    try:
        pytester.makepyfile(test_shared='''
def test_tenant(marketing_mock):
    assert marketing_mock.outbox() == []
''')
        url = f"--marketing-mock-url={server.base_url}"
        refused = pytester.runpytest_subprocess("-p", "no:cacheprovider", url)
        refused.assert_outcomes(errors=1)
        assert "401" in refused.stdout.str()
        ok = pytester.runpytest_subprocess("-p", "no:cacheprovider", url,
                                           "--marketing-mock-admin-token=sesame")
        ok.assert_outcomes(passed=1)
        status, body, _ = server.get("_mock/health")
        assert status == 401  # the admin API still wants the token
        assert json.loads(body)["error"].startswith("The admin API needs")
    finally:
        server.stop()


def test_the_documented_tests_pass_as_written(pytester):
    from conftest import ROOT
    for doc in ("docs/pytest.md", "README.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        blocks = re.findall(r"```py(?: [^\n]*)?\n(.*?)```", text, re.S)
        assert blocks, doc
        for block in blocks:
            name = re.match(r"# (test_\w+\.py)", block).group(1)
            pytester.path.joinpath(name).write_text(block, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
