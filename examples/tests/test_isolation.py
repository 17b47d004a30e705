"""Tests running side by side (pytest -n 2) each see only their own tenant's data."""
import pytest

from shop.crm import Crm
from shop.newsletter import Newsletter


@pytest.mark.marketing_mock(fixture="shop-tenant.yaml")
@pytest.mark.parametrize("customer", [f"customer-{n}" for n in range(12)])
def test_each_test_sees_only_its_own_tenant(marketing_mock, customer):
    newsletter = Newsletter(marketing_mock.backclick_wsdl, marketing_mock.mandator_id,
                            marketing_mock.api_key)
    crm = Crm(marketing_mock.copernica_wsdl, marketing_mock.access_token)
    # every test uses the same address and customer id, with its own name and city
    assert newsletter.sign_up("same@example.com", customer)
    crm.upsert_customer("C-1", "same@example.com", customer)

    assert newsletter.first_name("same@example.com") == customer
    assert crm.customers_in(customer) == ["C-1"]
    mails = marketing_mock.outbox()
    assert [m["subject"] for m in mails] == [f"Please confirm, {customer}"]
    tenants = {e["tenant"] for e in marketing_mock.journal()}
    assert tenants == {f"mandator-{marketing_mock.mandator_id}",
                       f"account-{marketing_mock.account_id}"}
