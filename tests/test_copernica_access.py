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


def test_the_login_parameter_authenticates_that_call(cop):
    """``login {username, account, password}`` on any method: that call alone acts for the
    user's account (the first, or the one named), no session is opened, writes are allowed."""
    sessions = cop.rows("SELECT COUNT(*) AS n FROM sessions")
    api = Api(cop, token=None)
    mine = {"username": USER, "password": PASSWORD}
    db = api("Account_database", identifier="Customers", login=mine).database.id
    assert cop.rows("SELECT account_id FROM databases WHERE id=?", db) == [{"account_id": 1}]
    agency = api("Account_database", identifier="Customers",
                 login={**mine, "account": "Agency"}).database.id
    assert cop.rows("SELECT account_id FROM databases WHERE id=?", agency) == [{"account_id": 2}]
    made = api("Account_createDatabase", name="ByLogin", login={**mine, "account": "2"}).database
    assert cop.rows("SELECT account_id FROM databases WHERE id=?", made.id) == [{"account_id": 2}]
    assert cop.rows("SELECT COUNT(*) AS n FROM sessions") == sessions  # nothing kept
    assert not [c for c in api.session.cookies if c.name.startswith("soap_")]
    assert api.fault("Account_databases") == "Not logged on"  # the next call has nothing


@pytest.mark.parametrize("login", [
    {"username": USER, "password": "wrong"},
    {"username": "who@x.example", "password": PASSWORD},
    {"username": USER, "password": PASSWORD, "account": "Elsewhere"},
    {"username": USER},
])
def test_a_wrong_login_parameter_is_refused_and_writes_nothing(cop, login):
    api = Api(cop, token=None)
    assert api.fault("Account_createDatabase", name="WrongLogin", login=login) == \
        "Invalid login credentials."
    assert cop.rows("SELECT id FROM databases WHERE name='WrongLogin'") == []


def test_an_empty_login_parameter_is_no_credential(cop):
    """Generated clients send ``<login/>`` (or its members empty) when it is not set."""
    api = Api(cop, token=None)
    assert api.fault("Account_databases", login={}) == "Not logged on"
    assert api.fault("Account_databases", login={"username": "", "password": ""}) == \
        "Not logged on"
    assert names(Api(cop, token=TOKEN)) == ["Customers"]
    db = Api(cop)("Account_database", identifier="Customers", login={}).database.id
    assert cop.rows("SELECT account_id FROM databases WHERE id=?", db) == [{"account_id": 1}]


def test_precedence_header_token_login_cookie(cop):
    """Bearer header, then access_token, then the login parameter, then the session cookie:
    the first one given decides, the later ones are not looked at."""
    api = Api(cop, token=None)
    api("login", username=USER, password=PASSWORD, account="Agency")  # cookie: account 2
    account_one = {"username": USER, "password": PASSWORD, "account": "1"}

    def account_of(**parameters) -> int:
        db = api("Account_database", identifier="Customers", **parameters).database.id
        return cop.rows("SELECT account_id FROM databases WHERE id=?", db)[0]["account_id"]

    assert account_of() == 2
    assert account_of(login=account_one) == 1  # the login parameter beats the cookie
    assert account_of(login=account_one, access_token=AGENCY) == 2  # the token beats it
    assert account_of(login={"username": USER, "password": "wrong"}, access_token=TOKEN) == 1
    header = Api(cop, token=None, headers={"Authorization": f"Bearer {AGENCY}"})
    db = header("Account_database", identifier="Customers", login=account_one).database.id
    assert cop.rows("SELECT account_id FROM databases WHERE id=?", db) == [{"account_id": 2}]


def test_the_login_parameter_on_the_vendors_wire(cop):
    """Raw, as a client generated from the vendor's WSDL sends it: first, unqualified."""
    ns = "http://127.0.0.1:8080/?SOAPAPI=WSDL"
    body = (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="{ns}">'
            f'<s:Body><c:Account_databases><parameters><login><username>{USER}</username>'
            f'<account>Agency</account><password>{PASSWORD}</password></login>'
            f'<length>5</length></parameters></c:Account_databases></s:Body></s:Envelope>')
    status, out, headers = cop.post("", body.encode(), {"Content-Type": "text/xml"})
    assert status == 200 and b"<name>Customers</name>" in out, out
    assert "Set-Cookie" not in headers
    entry = [e for e in cop.json("_mock/journal?dialect=copernica&limit=1000")["exchanges"]
             if e["operation"] == "Account_databases"][-1]
    assert entry["tenant"] == "account-2" and PASSWORD not in str(entry)  # masked


def test_fault_rules_know_the_tenant_of_a_login_parameter(cop):
    """A fault rule for one account catches that account's calls by ``login`` parameter."""
    import json as json_module

    from conftest import http
    rule = {"dialect": "copernica", "operation": "Account_databases", "tenant": "account-2",
            "fault": "Agency down."}
    status, answer, _ = http("POST", cop.base_url + "_mock/faults",
                             json_module.dumps(rule).encode(),
                             {"Content-Type": "application/json"})
    assert status == 201, answer
    try:
        api = Api(cop, token=None)
        agency = {"username": USER, "password": PASSWORD, "account": "Agency"}
        assert api.fault("Account_databases", login=agency) == "Agency down."
        assert api("Account_databases", login={**agency, "account": "1"}).total >= 1
    finally:
        http("DELETE", cop.base_url + "_mock/faults")
