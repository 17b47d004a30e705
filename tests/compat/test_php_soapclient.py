"""PHP's SoapClient (ext-soap) against the BACKCLICK WSDL, driven through roundtrip.php."""
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "roundtrip.php"


def run_php(php, checks, server, mode: str, email: str) -> dict:
    """Run roundtrip.php in WSDL mode with the WSDL cache off; its JSON report."""
    return checks.run_json([php, "-d", "soap.wsdl_cache_enabled=0", "-d", "display_errors=stderr",
                            "-d", "error_reporting=E_ALL", str(SCRIPT), server.backclick_wsdl,
                            mode, email])


def test_php_roundtrip(php, checks, shared_server):
    email = "php.roundtrip@example.com"
    report = run_php(php, checks, shared_server, "roundtrip", email)
    checks.roundtrip(report, shared_server, email)


def test_php_invalid_api_key_is_a_soapfault(php, checks, shared_server):
    email = "php.fault@example.com"
    fault = run_php(php, checks, shared_server, "fault", email)
    assert fault is not None, "saveOrCreateSubscriber with a wrong apiKey threw no SoapFault"
    assert fault["message"] == "Invalid API key."  # SoapFault->getMessage()
    assert fault["faultcode"] == "soap:Server"
    checks.invalid_key(fault, shared_server, email)


def test_php_sends_newsletter_and_transaction_mail_and_reads_statistics(php, checks,
                                                                        shared_server):
    email = "php.invoice@example.com"
    sent = run_php(php, checks, shared_server, "send", email)
    assert {key: type(value) for key, value in sent.items()} == {
        "newsletterId": int, "channelId": int, "transactionId": int}
    checks.transaction(shared_server, sent, email, "PHP orders", "php-invoice.pdf")
    checks.wait_until_sent(shared_server, sent["newsletterId"])
    checks.record_events(shared_server, sent["newsletterId"])
    stats = run_php(php, checks, shared_server, "stats", str(sent["newsletterId"]))
    checks.statistics(stats, shared_server, sent["newsletterId"], "PHP news for $$FIRSTNAME$$")
