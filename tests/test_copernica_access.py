"""Copernica access: login cookie, access_token parameter, Bearer header, read-only and
IP-limited tokens, and every account as an isolated tenant."""
import pytest
import zeep

from copernica_harness import (AGENCY, LOCAL, OFFICE, PASSWORD, READ_ONLY, TOKEN, USER, Api,
                               copernica_server)


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("access"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """A server that trusts 127.0.0.1 as a proxy."""
    running = copernica_server(tmp_path_factory.mktemp("proxied"), "--trusted-proxy",
                               "127.0.0.1/32")
    yield running
    running.stop()


def names(api) -> list[str]:
    """The names of the databases the caller sees."""
    return [d.name for d in api("Account_databases").items.database]


def test_no_credentials_is_not_logged_on(cop):
    api = Api(cop, token=None)
    assert api.fault("Account_databases") == "Not logged on"
    assert Api(cop, token="no-such-token").fault("Account_databases") == "Not logged on"


def test_login_sets_a_soap_cookie_and_answers_done(cop):
    api = Api(cop, token=None)
    assert api("login", username=USER, password=PASSWORD).value == "DONE"
    cookies = {c.name: c.value for c in api.session.cookies}
    assert [n for n in cookies if n.startswith("soap_")] == ["soap_session"]
    assert len(cookies["soap_session"]) == 32
    assert names(api) == ["Customers"]
    [row] = cop.rows("SELECT account_id, username FROM sessions WHERE cookie=?",
                     cookies["soap_session"])
    assert row == {"account_id": 1, "username": USER}  # no account named: the first one


def test_login_fault_string_on_a_wrong_password(cop):
    api = Api(cop, token=None)
    assert api.fault("login", username=USER, password="wrong") == "Invalid login credentials."
    assert api.fault("login", username="who@x.example", password="x") == \
        "Invalid login credentials."
    assert api.fault("login", username="nobody@shop.example", password="nothing") == \
        "Invalid login credentials."  # a user without an account
    assert api.fault("login", username=USER, password=PASSWORD, account="Elsewhere") == \
        "Invalid login credentials."
    assert api.fault("Account_databases") == "Not logged on"


def test_login_with_an_account_name_or_id(cop):
    api = Api(cop, token=None)
    api("login", username=USER.upper(), password=PASSWORD, account="agency")
    assert [p.name for p in api("Account_databases").items.database] == ["Customers"]
    db = api("Account_database", identifier="Customers").database.id
    assert cop.rows("SELECT account_id FROM databases WHERE id=?", db) == [{"account_id": 2}]
    api("login", username=USER, password=PASSWORD, account="1")
    db = api("Account_database", identifier="Customers").database.id
    assert cop.rows("SELECT account_id FROM databases WHERE id=?", db) == [{"account_id": 1}]


def test_a_forged_cookie_is_not_logged_on(cop):
    api = Api(cop, token=None, headers={"Cookie": "soap_session=" + "0" * 32})
    assert api.fault("Account_databases") == "Not logged on"


def test_header_wins_over_parameter_wins_over_cookie(cop):
    api = Api(cop, token=None)
    api("login", username=USER, password=PASSWORD, account="Agency")
    own = api("Account_database", identifier="Customers").database.id
    by_param = api("Account_database", identifier="Customers", access_token=TOKEN).database.id
    assert own != by_param
    header = Api(cop, token=AGENCY, headers={"Authorization": f"Bearer {TOKEN}"})
    assert header("Account_database", identifier="Customers").database.id == by_param
    bad = Api(cop, token=TOKEN, headers={"Authorization": "Bearer nope"})
    assert bad.fault("Account_databases") == "Not logged on"


def test_read_only_token_reads_but_does_not_write(cop):
    api = Api(cop, token=READ_ONLY)
    assert names(api) == ["Customers"]
    db = api("Account_database", identifier="Customers").database.id
    assert api.fault("Account_createDatabase", name="Nope") == "Access token is read-only."
    assert api.fault("Profile_updateFields", id=1, fields={"pair": []}) == \
        "Access token is read-only."
    assert api.fault("Database_createProfile", id=db) == "Access token is read-only."
    assert cop.rows("SELECT name FROM databases WHERE name='Nope'") == []


def test_ip_limited_token(cop):
    assert Api(cop, token=OFFICE).fault("Account_databases") == \
        "IP [127.0.0.1] is not allowed to access this service."
    assert names(Api(cop, token=LOCAL)) == ["Customers"]


def test_ip_limited_token_behind_a_trusted_proxy(proxied):
    office = Api(proxied, token=OFFICE, headers={"X-Forwarded-For": "198.51.100.7"})
    assert names(office) == ["Customers"]
    outside = Api(proxied, token=OFFICE, headers={"X-Forwarded-For": "203.0.113.7"})
    assert outside.fault("Account_databases") == \
        "IP [203.0.113.7] is not allowed to access this service."


def test_tenants_see_nothing_of_each_other(cop):
    shop, agency = Api(cop, token=TOKEN), Api(cop, token=AGENCY)
    shop_db = shop("Account_database", identifier="Customers").database.id
    agency_db = agency("Account_database", identifier="Customers").database.id
    assert shop_db != agency_db
    assert agency("Account_database", identifier=str(shop_db)).value == "0"
    assert agency.fault("Database_retrieve", id=shop_db) == f"Unknown database {shop_db}."
    assert agency.fault("Database_searchProfiles", id=shop_db) == f"Unknown database {shop_db}."
    shop_profile = shop("Database_searchProfiles", id=shop_db).items.profile[0].id
    assert agency.fault("Profile_fields", id=shop_profile) == f"Unknown profile {shop_profile}."
    assert agency.fault("Profile_updateFields", id=shop_profile, fields={"pair": []}) == \
        f"Unknown profile {shop_profile}."
    assert agency.fault("Database_remove", id=shop_db) == f"Unknown database {shop_db}."
    agency("Database_removeProfiles", id=agency_db, ids={"item": [shop_profile]})
    assert cop.rows("SELECT id FROM profiles WHERE id=?", shop_profile)
    found = agency("Database_searchProfiles", id=agency_db, allproperties=True).items.profile
    assert [p.fields.pair[0].value for p in found] == ["secret@agency.example"]


def test_login_needs_no_token_and_errors_are_soap_server_faults(cop):
    with pytest.raises(zeep.exceptions.Fault) as info:
        Api(cop, token=None)("Account_databases")
    assert info.value.code == "soap:Server"
