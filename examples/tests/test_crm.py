"""The shop's Copernica integration against the mock."""
import pytest

from shop.crm import Crm

pytestmark = pytest.mark.marketing_mock(fixture="shop-tenant.yaml")


def test_customers_are_upserted_by_customer_id(marketing_mock):
    crm = Crm(marketing_mock.copernica_wsdl, marketing_mock.access_token)
    crm.upsert_customer("C-1", "ada@example.com", "Berlin")
    crm.upsert_customer("C-2", "bob@example.com", "Hamburg")
    crm.upsert_customer("C-1", "ada@example.com", "Hamburg")  # Ada moved

    assert crm.customers_in("Hamburg") == ["C-1", "C-2"]
    assert crm.customers_in("Berlin") == []
    calls = [e["operation"] for e in marketing_mock.journal(dialect="copernica")]
    assert calls.count("Database_updateProfiles") == 3
