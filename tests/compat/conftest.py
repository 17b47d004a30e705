"""Client compatibility suite: shared probes for the client stacks and shared assertions.

Every stack (suds, PHP SoapClient, node-soap, zeep) runs the same BACKCLICK round trip and
reports what it saw in one common shape, so one function checks all of them. A missing stack
skips locally and fails when ``CI=true``: CI must prove every stack, not silently skip it.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

COMPAT = Path(__file__).resolve().parent
ROOT = COMPAT.parent.parent
NODE_MODULES = ROOT / "node_modules"
MANDATOR, API_KEY = 1, "shop-key-1234"
WRONG_KEY = "wrong-key"
FIELDS = {"FIRSTNAME": "Jörg", "LASTNAME": "O'Brien & Söhne", "CITY": "Köln"}
ATTACHMENT = b"%PDF-1.4\n" + bytes(range(256))  # what roundtrip.php and roundtrip.js attach
LISTS = [
    {"listId": 1, "listName": "Newsletter", "listDescription": "Weekly news"},
    {"listId": 2, "listName": "Offers", "listDescription": "Special offers"},
]


def require_stack(missing: str | None) -> None:
    """Skip the test when a client stack is missing (``missing`` says why); fail under CI=true."""
    if missing is None:
        return
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"client stack missing under CI=true: {missing}", pytrace=False)
    pytest.skip(missing)


def php_missing() -> str | None:
    """Why PHP's SoapClient cannot run here, or None."""
    php = shutil.which("php")
    if php is None:
        return "php not found on PATH (install php-cli and php-soap; see .ci/run)"
    try:
        modules = subprocess.run([php, "-m"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return f"`php -m` failed: {error}"
    if "soap" not in {line.strip().lower() for line in modules.splitlines()}:
        return "php has no soap extension (`php -m` does not list soap; install php-soap)"
    return None


def node_missing() -> str | None:
    """Why node-soap cannot run here, or None."""
    if shutil.which("node") is None:
        return "node not found on PATH"
    if not (NODE_MODULES / "soap" / "package.json").is_file():
        return f"node-soap not installed in {NODE_MODULES} (run `npm ci` or `make test`)"
    return None


def suds_missing() -> str | None:
    """Why suds cannot run here, or None."""
    try:
        import suds.client  # noqa: F401
    except ImportError as error:
        return f"suds not importable ({error}); install the test extra: pip install -e '.[test]'"
    return None


def run_json(command: list[str], **kwargs) -> dict:
    """Run a client script; its stdout is one JSON object. Fails with the script's stderr."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{command[0]} printed no JSON:\n{done.stdout}\nstderr:\n{done.stderr}")


def memberships(server, email: str) -> dict[int, int]:
    """{list id: status} of a mandator-1 subscriber, read from the store."""
    rows = server.rows(
        "SELECT m.list_id, m.status FROM memberships m JOIN subscribers s "
        "ON s.id = m.subscriber_id WHERE s.mandator_id = ? AND s.email_key = ? "
        "ORDER BY m.list_id", MANDATOR, email.lower())
    return {r["list_id"]: r["status"] for r in rows}


def stored_subscriber(server, email: str) -> dict | None:
    """The stored row of a mandator-1 subscriber (fields decoded), or None."""
    rows = server.rows("SELECT email, fields FROM subscribers WHERE mandator_id = ? "
                       "AND email_key = ?", MANDATOR, email.lower())
    if not rows:
        return None
    return {"email": rows[0]["email"], "fields": json.loads(rows[0]["fields"])}


def check_roundtrip(report: dict, server, email: str) -> None:
    """Assert a stack's round-trip report and the store it left behind."""
    assert report["save"] == {"responseCode": 0, "invalid": [], "blocked": []}
    assert report["subscribers"] == [{
        "subscriberEmail": email, "status": 1, "mandatorId": MANDATOR,
        "newsletterListIds": "1,2", "fields": {"EMAIL": email, **FIELDS}}]
    assert report["relationBefore"] == {
        "subscriberAvailable": True, "lists": [{**info, "listStatus": 0} for info in LISTS]}
    assert report["unsubscribe"] == 0
    assert report["relationAfter"] == {
        "subscriberAvailable": True,
        "lists": [{**LISTS[0], "listStatus": 0}, {**LISTS[1], "listStatus": 1}]}
    assert stored_subscriber(server, email) == {"email": email, "fields": FIELDS}
    assert memberships(server, email) == {1: 0, 2: 1}


def check_invalid_key_fault(fault: dict, server, email: str) -> None:
    """Assert a wrong-API-key fault as the client saw it, and that nothing was stored."""
    assert fault["faultstring"] == "Invalid API key."
    assert fault["faultcode"].rpartition(":")[2] == "Server"
    assert stored_subscriber(server, email) is None


def wait_until_sent(server, newsletter_id: int, timeout: float = 30) -> dict:
    """Wait for a newsletter's mails (sending is asynchronous) and its state ``sent``; its row."""
    status, body, _ = server.get(f"_mock/outbox/wait?newsletter={newsletter_id}&timeout=20")
    assert status == 200, f"no mail of newsletter {newsletter_id} arrived: {body!r}"
    deadline = time.monotonic() + timeout
    while True:
        [row] = server.rows("SELECT * FROM newsletters WHERE id = ?", newsletter_id)
        if row["state"] == "sent":
            return row
        assert time.monotonic() < deadline, f"newsletter {newsletter_id} is still {row['state']}"
        time.sleep(0.05)


def record_events(server, newsletter_id: int) -> list[dict]:
    """Two opens and a click on the newsletter's first mail, a hard bounce on its second."""
    mails = server.outbox(newsletter=newsletter_id)
    assert len(mails) >= 2, mails
    for mail_id, event in [(mails[0]["id"], {"type": "open"}), (mails[0]["id"], {"type": "open"}),
                           (mails[0]["id"], {"type": "click"}),
                           (mails[1]["id"], {"type": "bounce", "bounce": "hard"})]:
        status, body, _ = server.post(f"_mock/outbox/{mail_id}/events", json.dumps(event).encode(),
                                      {"Content-Type": "application/json"})
        assert status == 201, body
    return mails


def _moment(value) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def check_statistics(stats: dict, server, newsletter_id: int, subject: str) -> None:
    """Assert NewsletterStatistic and BackclickStatistic as a client read them after
    ``record_events``, against what the store holds."""
    [letter] = server.rows("SELECT * FROM newsletters WHERE id = ?", newsletter_id)
    audience = [r["email_key"] for r in server.rows(
        "SELECT s.email_key FROM memberships m JOIN subscribers s ON s.id = m.subscriber_id "
        "WHERE s.mandator_id = ? AND m.list_id = 1 AND m.status = 0", MANDATOR)]
    patterns = {r["pattern"] for r in server.rows("SELECT pattern FROM block_list")}
    blocked = [a for a in audience if a in patterns or "*@" + a.rpartition("@")[2] in patterns]
    mails = len(server.outbox(newsletter=newsletter_id))
    assert mails == len(audience) - len(blocked) >= 2
    started = _moment(letter["started"])

    [newsletter] = stats["newsletter"]
    assert abs(_moment(newsletter.pop("sendStartTime")) - started) < dt.timedelta(seconds=1)
    assert newsletter == {
        "newsletterId": newsletter_id, "newsletterListId": 1, "newsletterSubject": subject,
        "state": "sent", "numRecipientsUnadjusted": len(audience),
        "numExcludedBlocked": len(blocked), "numExcludedInvalid": 0, "numExcludedDuplicate": 0,
        "numRecipientsAdjusted": mails, "numDelivered": mails - 1, "numBounced": 1}

    [backclick] = stats["backclick"]
    assert abs(_moment(backclick.pop("sendStartTime")) - started) < dt.timedelta(seconds=1)
    assert backclick == {
        "sendedByInternalMta": True, "usedConversionTracking": False, "abTest": False,
        "newsletterListName": LISTS[0]["listName"], "newsletterSubject": subject,
        "newsletterDescription": "", "newsletterId": newsletter_id, "newsletterListId": 1,
        "numRecipientsUnadjusted": len(audience), "numRecipientsAdjusted": mails,
        "numSend": mails, "numDelivered": mails - 1, "numLinksClicked": 1, "numOpened": 2,
        "numUniqueOpened": 1, "numUniqueClicks": 1, "numHardBounces": 1, "numSoftBounces": 0,
        "numUnsubscribes": 0, "numComplaints": 0, "numConversions": 0}


def check_transaction(server, sent: dict, email_address: str, channel_name: str,
                      attachment_name: str) -> None:
    """Assert the channel and the transaction mail a client created, attachment bytes included."""
    assert server.rows("SELECT name, mandator_id FROM channels WHERE id = ?",
                       sent["channelId"]) == [{"name": channel_name, "mandator_id": MANDATOR}]
    mail = server.json(f"_mock/outbox/{sent['transactionId']}")
    assert (mail["kind"], mail["to"], mail["from"], mail["fromName"]) == (
        "transaction", email_address, "orders@shop.example", "Shop Orders")
    assert mail["subject"] == "Invoice for Jörg"
    assert mail["text"] == "Dear Jörg, your invoice is attached."
    assert mail["channelId"] == sent["channelId"]
    assert mail["attachments"] == [{"name": attachment_name, "contentType": "application/pdf",
                                    "size": len(ATTACHMENT)}]
    status, eml, headers = server.get(f"_mock/outbox/{sent['transactionId']}.eml")
    assert status == 200 and headers["Content-Type"].startswith("message/rfc822")
    message = email.message_from_bytes(eml, policy=email.policy.default)
    assert message["To"] == email_address and message["Subject"] == "Invoice for Jörg"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == attachment_name
    assert attachment.get_content() == ATTACHMENT


@pytest.fixture
def checks():
    """The shared assertions and store readers, for the stack modules."""
    from types import SimpleNamespace
    return SimpleNamespace(roundtrip=check_roundtrip, invalid_key=check_invalid_key_fault,
                           memberships=memberships, stored_subscriber=stored_subscriber,
                           run_json=run_json, fields=dict(FIELDS), api_key=API_KEY,
                           wrong_key=WRONG_KEY, mandator=MANDATOR, wait_until_sent=wait_until_sent,
                           record_events=record_events, statistics=check_statistics,
                           transaction=check_transaction)


@pytest.fixture
def php():
    """The php executable, with the soap extension (skip or CI failure otherwise)."""
    require_stack(php_missing())
    return shutil.which("php")


@pytest.fixture
def node():
    """The node executable, with node-soap in the project's node_modules."""
    require_stack(node_missing())
    return shutil.which("node")


@pytest.fixture
def suds_client():
    """A factory of suds clients on a WSDL URL, without suds' on-disk cache."""
    require_stack(suds_missing())
    from suds.client import Client
    return lambda wsdl: Client(wsdl, cache=None)
