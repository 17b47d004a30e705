"""The shop's newsletter integration, tested against the mock with the marketing_mock fixture.

Copy this file's pattern into your own suite: install mockserver, then every test that
takes ``marketing_mock`` gets its own BACKCLICK mandator and Copernica account.
"""
import datetime as dt
import urllib.request

import pytest

from shop.newsletter import Newsletter, NewsletterUnavailable

pytestmark = pytest.mark.marketing_mock(fixture="shop-tenant.yaml")


@pytest.fixture
def newsletter(marketing_mock):
    """The shop's integration, pointed at this test's tenant."""
    return Newsletter(marketing_mock.backclick_wsdl, marketing_mock.mandator_id,
                      marketing_mock.api_key)


def test_sign_up_needs_the_confirmation_link(newsletter, marketing_mock):
    assert newsletter.sign_up("ada@example.com", "Ada")
    assert newsletter.status("ada@example.com") == "pending"

    mail = marketing_mock.wait_for_mail(to="ada@example.com", kind="doi")
    assert mail["subject"] == "Please confirm, Ada"
    urllib.request.urlopen(mail["links"]["confirm"]).read()  # the customer clicks

    assert newsletter.status("ada@example.com") == "subscribed"
    [exchange] = marketing_mock.journal("saveOrCreateSubscriber")
    item = exchange["arguments"]["subscribers"]["item"]
    assert item["subscriberEmail"] == "ada@example.com"
    assert exchange["credential"].endswith(marketing_mock.api_key[-4:])


def test_order_confirmation_carries_the_invoice(newsletter, marketing_mock):
    newsletter.sign_up("bob@example.com", "Bob")
    newsletter.order_confirmation("bob@example.com", "A-1001", b"%PDF-1.4 invoice")
    mail = marketing_mock.wait_for_mail(to="bob@example.com", kind="transaction")
    assert mail["subject"] == "Your order A-1001"
    assert mail["text"] == "Thank you for order A-1001, Bob."
    assert mail["attachments"] == [{"name": "invoice-A-1001.pdf",
                                    "contentType": "application/pdf", "size": 16}]
    assert b"invoice-A-1001.pdf" in marketing_mock.eml(mail["id"])


def test_a_vendor_fault_reaches_the_shop_as_unavailable(newsletter, marketing_mock):
    marketing_mock.fail_next("getSubscribers", "Autoimport is running. Please try again later.")
    with pytest.raises(NewsletterUnavailable, match="Autoimport is running"):
        newsletter.status("ada@example.com")
    assert newsletter.status("ada@example.com") == "unknown"  # only the next call failed


def test_the_weekly_newsletter_goes_out_when_its_time_comes(newsletter, marketing_mock):
    newsletter.sign_up("cy@example.com", "Cy")
    urllib.request.urlopen(marketing_mock.wait_for_mail(to="cy@example.com")["links"]["confirm"])
    monday = marketing_mock.clock.now() + dt.timedelta(days=3)
    newsletter.weekly_newsletter("Offers for $$FIRSTNAME$$", "<p>Hi $$FIRSTNAME$$</p>", monday)
    assert marketing_mock.outbox(kind="newsletter") == []

    marketing_mock.clock.advance(days=3, minutes=1)
    mail = marketing_mock.wait_for_mail(to="cy@example.com", kind="newsletter")
    assert mail["subject"] == "Offers for Cy"
