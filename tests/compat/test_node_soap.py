"""node-soap (npm `soap`) against the BACKCLICK WSDL, driven through roundtrip.js."""
import os
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "roundtrip.js"
ROOT = SCRIPT.parent.parent.parent


def run_node(node, checks, server, mode: str, email: str) -> dict:
    """Run roundtrip.js from the project root, node-soap from its node_modules; its JSON report."""
    env = {**os.environ, "NODE_PATH": str(ROOT / "node_modules")}
    return checks.run_json([node, str(SCRIPT), server.backclick_wsdl, mode, email],
                           cwd=ROOT, env=env)


def test_node_roundtrip(node, checks, shared_server):
    email = "node.roundtrip@example.com"
    report = run_node(node, checks, shared_server, "roundtrip", email)
    checks.roundtrip(report, shared_server, email)


def test_node_invalid_api_key_is_a_soap_fault(node, checks, shared_server):
    email = "node.fault@example.com"
    fault = run_node(node, checks, shared_server, "fault", email)
    assert fault is not None, "saveOrCreateSubscriberAsync with a wrong apiKey did not reject"
    assert fault["faultcode"] == "soap:Server"
    checks.invalid_key(fault, shared_server, email)


def test_node_sends_newsletter_and_transaction_mail_and_reads_statistics(node, checks,
                                                                        shared_server):
    email = "node.invoice@example.com"
    sent = run_node(node, checks, shared_server, "send", email)
    assert {key: type(value) for key, value in sent.items()} == {
        "newsletterId": int, "channelId": int, "transactionId": int}
    checks.transaction(shared_server, sent, email, "Node orders", "node-invoice.pdf")
    checks.wait_until_sent(shared_server, sent["newsletterId"])
    checks.record_events(shared_server, sent["newsletterId"])
    stats = run_node(node, checks, shared_server, "stats", str(sent["newsletterId"]))
    checks.statistics(stats, shared_server, sent["newsletterId"], "Node news for $$FIRSTNAME$$")
