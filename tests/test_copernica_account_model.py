"""The Copernica account model over zeep: the Account and User objects (retrieve, update,
remove, users and their passwords) and contacts with their contact types; each asserting the
answer and the store, and that bad input is a fault that changes nothing."""
import json
import re

import pytest
import zeep

from conftest import http
from copernica_harness import (Api, READ_ONLY, USER, as_dict, copernica_server, fresh_database,
                               pairs)
from mockserver.vendors import fixtures
from mockserver.vendors.store import open_store


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("account-model"))
    yield running
    running.stop()


@pytest.fixture
def api(cop):
    """A client of account 1."""
    return Api(cop)


@pytest.fixture
def tenant(cop):
    """A fresh account of its own (``POST /_mock/tenants``): (client, its tenant record)."""
    status, body, _ = http("POST", cop.base_url + "_mock/tenants", b"")
    assert status == 201, body
    record = json.loads(body)
    return Api(cop, token=record["copernica"]["accessToken"]), record


def login(cop, username: str, password: str, account: str | None = None):
    """A cookie client logged in with the credentials; the fault string when refused."""
    client = Api(cop, token=None)
    try:
        assert client("login", username=username, password=password,
                      account=account).value == "DONE"
    except zeep.exceptions.Fault as fault:
        return fault.message
    return client


def account_row(cop, account_id: int) -> dict:
    """An account's name and stored members."""
    [row] = cop.rows("SELECT name, properties FROM accounts WHERE id=?", account_id)
    return {"name": row["name"], **json.loads(row["properties"])}


def user_row(cop, name: str) -> dict | None:
    """A user's number, name, password and stored members, or None."""
    rows = cop.rows("SELECT rowid AS id, username, password, properties FROM users WHERE "
                    "username=?", name)
    return {**rows[0], "properties": json.loads(rows[0]["properties"])} if rows else None


# -- the catalogue's members -----------------------------------------------------------------


def test_the_stored_members_are_the_catalogues():
    from mockserver.copernica import accounts, users
    from mockserver.copernica import catalogue

    def given(operation):
        return {m for m, _ in catalogue.input_members(operation)} - {
            "login", "id", "name", "access_token"}

    assert set(accounts.ACCOUNT_PROPERTIES) - {"created"} == given("Account_update")
    assert set(users.USER_PROPERTIES) - {"created"} == given("User_update")
    assert {m for m, _ in catalogue.types()["Account"]} == {
        "name", "active", *accounts.ACCOUNT_PROPERTIES}


# -- the account ---------------------------------------------------------------------------


def test_account_retrieve_and_update(cop, tenant):
    client, record = tenant
    account_id = record["copernica"]["accountId"]
    got = client("Account_retrieve").account
    assert (got.name, got.description, got.keephistory, got.end, got.active, got.main,
            got.mailip) == (record["tenant"], None, 0, None, True, False, None)  # empty: None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", got.created)
    assert client("Account_update", name="Renamed " + record["tenant"], description="Shop",
                  keephistory=30, showpoweredby=True, mailip="192.0.2.7",
                  end="2999-01-01").value == "1"
    assert account_row(cop, account_id) == {
        "name": "Renamed " + record["tenant"], "created": got.created, "description": "Shop",
        "keephistory": 30, "showpoweredby": True, "mailip": "192.0.2.7",
        "end": "2999-01-01 00:00:00"}
    client("Account_update", unsecure=True)  # the rest is kept
    again = client("Account_retrieve").account
    assert (again.name, again.description, again.unsecure, again.showpoweredby,
            again.active) == ("Renamed " + record["tenant"], "Shop", True, True, True)
    client("Account_update", end="2001-01-01 00:00:00")
    assert client("Account_retrieve").account.active is False


@pytest.mark.parametrize("changes, fault", [
    ({"name": "shop"}, "An account named 'shop' already exists."),
    ({"name": " "}, "An account needs a name."),
    ({"mailip": "mail.example"}, "Invalid mailip 'mail.example': expected an IP address."),
    ({"keephistory": -1}, "Invalid keephistory -1: expected 0 or more."),
    ({"end": "soon", "description": "x"}, "Invalid end 'soon': expected YYYY-MM-DD hh:mm:ss."),
])
def test_account_update_rules(cop, tenant, changes, fault):
    client, record = tenant
    before = account_row(cop, record["copernica"]["accountId"])
    assert client.fault("Account_update", **changes) == fault
    assert account_row(cop, record["copernica"]["accountId"]) == before


def test_account_views_is_empty(api):
    views = api("Account_views", allproperties=True)
    assert (views.start, views.length, views.total) == (0, 0, 0)


def test_account_remove_deletes_everything_it_holds(cop, tenant):
    client, record = tenant
    account_id, token = record["copernica"]["accountId"], record["copernica"]["accessToken"]
    db = fresh_database(client)
    pid = client("Database_createProfile", id=db).profile.id
    kind = client("Database_createContactType", id=db, name="Call").contacttype.id
    client("Profile_createContact", id=pid, contacttype={"id": kind})
    client("Database_createCallback", id=db, url="http://127.0.0.1:9/hook")
    assert Api(cop, token=READ_ONLY).fault("Account_remove") == "Access token is read-only."
    session = login(cop, record["copernica"]["username"], record["copernica"]["password"])
    assert client("Account_remove").value == "1"
    for table, column in (("accounts", "id"), ("databases", "account_id"),
                          ("access_tokens", "account_id"), ("sessions", "account_id"),
                          ("callbacks", "account_id"), ("user_accounts", "account_id")):
        assert cop.rows(f"SELECT * FROM {table} WHERE {column}=?", account_id) == [], table
    assert cop.rows("SELECT * FROM profiles WHERE id=?", pid) == []
    assert cop.rows("SELECT * FROM contact_types WHERE id=?", kind) == []
    assert user_row(cop, record["copernica"]["username"]) is None  # it had no other account
    assert Api(cop, token=token).fault("Account_retrieve") == "Not logged on"
    assert session.fault("Account_databases") == "Not logged on"
    assert login(cop, record["copernica"]["username"], record["copernica"]["password"]) == \
        "Invalid login credentials."
    assert Api(cop)("Account_retrieve").account.name == "Shop"  # the others stay


def test_deleting_a_tenant_takes_the_users_made_in_it(cop, tenant):
    client, record = tenant
    client("Account_createUser", name="temp@tenant.example", password="pw")
    status, body, _ = http("DELETE", cop.base_url + f"_mock/tenants/{record['tenant']}")
    assert status == 200, body
    assert user_row(cop, "temp@tenant.example") is None
    assert user_row(cop, USER) is not None


# -- users ---------------------------------------------------------------------------------


def test_create_a_user_who_can_log_in(cop, tenant):
    client, record = tenant
    made = client("Account_createUser", name="clerk@tenant.example", password="pw1",
                  email="clerk@mail.example").user
    stored = user_row(cop, "clerk@tenant.example")
    assert (made.id, made.name, made.email, made.active, made.apiaccess) == (
        stored["id"], "clerk@tenant.example", "clerk@mail.example", True, True)
    assert stored["password"] == "pw1" and stored["properties"]["email"] == "clerk@mail.example"
    assert made.created == stored["properties"]["created"]
    assert cop.rows("SELECT account_id, position FROM user_accounts WHERE username=?",
                    "clerk@tenant.example") == [
        {"account_id": record["copernica"]["accountId"], "position": 1}]
    session = login(cop, "CLERK@tenant.example", "pw1")
    assert session("Account_retrieve").account.name == record["tenant"]
    # found by name (any case) or number; with a password only when it is right
    assert client("Account_user", identifier="Clerk@Tenant.example").user.id == made.id
    assert client("Account_user", identifier=str(made.id)).user.name == made.name
    assert client("Account_user", identifier=made.name, password="pw1").user.id == made.id
    assert client("Account_user", identifier=made.name, password="wrong").value == "0"
    assert client("Account_user", identifier="nobody@shop.example").value == "0"
    assert client("Account_user", identifier=USER).value == "0"  # another account's


@pytest.mark.parametrize("given, fault", [
    ({"name": USER, "password": "x"}, f"A user named '{USER}' already exists."),
    ({"name": " ", "password": "x"}, "A user needs a name."),
    ({"name": "new@tenant.example", "password": ""}, "A user needs a password."),
    ({"name": "new@tenant.example", "password": "x", "email": "not an address"},
     "Invalid e-mail address 'not an address'."),
])
def test_create_user_rules(cop, tenant, given, fault):
    client, record = tenant
    count = len(cop.rows("SELECT * FROM users"))
    assert client.fault("Account_createUser", **given) == fault
    assert len(cop.rows("SELECT * FROM users")) == count


def test_user_update_password_account_and_remove(cop, tenant):
    client, record = tenant
    uid = client("Account_createUser", name="ann@tenant.example", password="old").user.id
    db = fresh_database(client)
    pid = client("Database_createProfile", id=db).profile.id
    contact = client("Profile_createContact", id=pid, user={"id": uid}).contact.id
    session = login(cop, "ann@tenant.example", "old")
    assert client("User_update", id=uid, name="anna@tenant.example", phone="+31 20 1234567",
                  language="nl", styleadmin=True).value == "1"
    got = client("User_retrieve", id=uid).user
    assert (got.id, got.name, got.email, got.phone, got.language, got.styleadmin) == (
        uid, "anna@tenant.example", "anna@tenant.example", "+31 20 1234567", "nl", True)
    # the new name logs in, the old does not; the session and the contact went along
    assert user_row(cop, "ann@tenant.example") is None
    assert login(cop, "ann@tenant.example", "old") == "Invalid login credentials."
    assert session("User_retrieve", id=uid).user.name == "anna@tenant.example"
    assert client("Contact_user", id=contact).user.id == uid
    assert cop.rows("SELECT username FROM contacts WHERE id=?", contact) == [
        {"username": "anna@tenant.example"}]
    assert client("User_setPassword", id=uid, password="new").value == "1"
    assert login(cop, "anna@tenant.example", "old") == "Invalid login credentials."
    assert login(cop, "anna@tenant.example", "new")("User_account", id=uid).account.name == \
        record["tenant"]
    client("User_update", id=uid, disabled=True)
    assert client("User_retrieve", id=uid).user.active is False
    assert login(cop, "anna@tenant.example", "new") == "Invalid login credentials."
    assert client("User_remove", id=uid).value == "1"
    assert user_row(cop, "anna@tenant.example") is None
    assert cop.rows("SELECT username FROM contacts WHERE id=?", contact) == [{"username": None}]
    assert client("Contact_user", id=contact).value == "0"
    assert session.fault("Account_retrieve") == "Not logged on"
    assert client.fault("User_retrieve", id=uid) == f"Unknown user {uid}."


def test_user_rules_change_nothing(cop, tenant, api):
    client, record = tenant
    uid = client("Account_createUser", name="bob@tenant.example", password="pw").user.id
    before = user_row(cop, "bob@tenant.example")
    assert client.fault("User_update", id=uid, name=USER) == \
        f"A user named '{USER}' already exists."
    assert client.fault("User_update", id=uid, email="bob") == "Invalid e-mail address 'bob'."
    assert client.fault("User_update", id=uid, end="tomorrow") == \
        "Invalid end 'tomorrow': expected YYYY-MM-DD hh:mm:ss."
    assert client.fault("User_setPassword", id=uid, password="") == "A user needs a password."
    assert user_row(cop, "bob@tenant.example") == before
    # another account's user is unknown: nothing of it changes
    me = user_row(cop, USER)
    for method, extra in (("User_update", {"phone": "1"}), ("User_remove", {}),
                          ("User_setPassword", {"password": "x"}), ("User_account", {})):
        assert client.fault(method, id=me["id"], **extra) == f"Unknown user {me['id']}."
    assert api.fault("User_remove", id=uid) == f"Unknown user {uid}."
    assert user_row(cop, USER) == me and user_row(cop, "bob@tenant.example") == before


# -- contact types -------------------------------------------------------------------------


def test_contact_types(api, cop):
    db = fresh_database(api)
    assert api("Database_contactTypes", id=db).total == 0
    call = api("Database_createContactType", id=db, name="Call").contacttype
    visit = api("Database_createContactType", id=db, name="Visit").contacttype.id
    assert (call.name, call.description, call.icon) == ("Call", None, None)
    listed = api("Database_contactTypes", id=db, start=1)
    assert (listed.total, [t.name for t in listed.items.contacttype]) == (2, ["Visit"])
    assert api("Database_contactType", id=db, identifier="call").contacttype.id == call.id
    assert api("Database_contactType", id=db, identifier=str(visit)).contacttype.name == "Visit"
    assert api("Database_contactType", id=db, identifier="Letter").value == "0"
    assert api("Database_contactType", id=fresh_database(api), identifier=str(visit)).value == "0"
    assert api("ContactType_update", id=call.id, name="Phone call", icon="phone.png").value == "1"
    assert cop.rows("SELECT name, description, icon, database_id FROM contact_types WHERE id=?",
                    call.id) == [{"name": "Phone call", "description": "", "icon": "phone.png",
                                  "database_id": db}]
    api("ContactType_update", id=call.id, description="By phone")
    got = api("ContactType_retrieve", id=call.id).contacttype
    assert (got.name, got.description, got.icon) == ("Phone call", "By phone", "phone.png")
    assert api.fault("Database_createContactType", id=db, name="VISIT") == \
        "A contact type named 'VISIT' already exists."
    assert api.fault("ContactType_update", id=call.id, name="Visit") == \
        "A contact type named 'Visit' already exists."
    assert api.fault("Database_createContactType", id=db, name="") == \
        "A contact type needs a name."
    assert api.fault("Database_createContactType", id=999999, name="X") == \
        "Unknown database 999999."
    assert api("ContactType_remove", id=visit).value == "1"
    assert api.fault("ContactType_retrieve", id=visit) == f"Unknown contact type {visit}."
    assert [r["name"] for r in cop.rows("SELECT name FROM contact_types WHERE database_id=?",
                                        db)] == ["Phone call"]
    other = Api(cop, token="agency-token")
    assert other.fault("ContactType_retrieve", id=call.id) == f"Unknown contact type {call.id}."
    assert other.fault("ContactType_remove", id=call.id) == f"Unknown contact type {call.id}."
    assert api("ContactType_retrieve", id=call.id).contacttype.name == "Phone call"


# -- contacts ------------------------------------------------------------------------------


def contact_row(cop, contact_id: int) -> dict:
    """A contact as the store keeps it."""
    [row] = cop.rows("SELECT * FROM contacts WHERE id=?", contact_id)
    return row


def test_drupal_contact_flow_and_contact_reads(api, cop):
    """Drupal connector v2: Database_contactTypes, Profile_createContact, Contact_update."""
    db = fresh_database(api)
    kind = api("Database_createContactType", id=db, name="Order").contacttype.id
    assert [t.name for t in api("Database_contactTypes", id=db).items.contacttype] == ["Order"]
    [me] = cop.rows("SELECT rowid AS id FROM users WHERE username=?", USER)
    pid = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann"})).profile.id
    made = api("Profile_createContact", id=pid, timestamp="", user={"id": me["id"]},
               contacttype={"id": kind}, done=True).contact
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", made.plannedtime)
    assert (made.executedtime, made.important, made.extra) == (made.plannedtime, False, None)
    assert (made.remarks.type, made.remarks.source, made.report.source) == (None, None, None)
    assert api("Contact_update", id=made.id, plannedtime="2030-05-01T10:30:00",
               executedtime="", remarks={"type": "text", "source": "Called about order 7"},
               report={"source": "No answer"}, important=True, extra="order 7").value == "1"
    row = contact_row(cop, made.id)
    assert {k: row[k] for k in ("profile_id", "contact_type_id", "username", "plannedtime",
                                "executedtime", "remarks_type", "remarks_source", "report_type",
                                "report_source", "important", "extra")} == {
        "profile_id": pid, "contact_type_id": kind, "username": USER,
        "plannedtime": "2030-05-01 10:30:00", "executedtime": "", "remarks_type": "text",
        "remarks_source": "Called about order 7", "report_type": "", "report_source": "No answer",
        "important": 1, "extra": "order 7"}
    api("Contact_update", id=made.id, remarks={"source": "Called twice"})  # type kept
    got = api("Contact_retrieve", id=made.id).contact
    assert (got.remarks.type, got.remarks.source, got.report.source, got.important) == (
        "text", "Called twice", "No answer", True)
    assert api("Contact_profile", id=made.id).profile.id == pid
    assert as_dict(api("Contact_profile", id=made.id).profile.fields)["Name"] == "Ann"
    assert api("Contact_type", id=made.id).contacttype.id == kind
    assert api("Contact_user", id=made.id).user.name == USER


def test_contact_rules_change_nothing(api, cop):
    db = fresh_database(api)
    pid = api("Database_createProfile", id=db).profile.id
    foreign = api("Database_createContactType", id=fresh_database(api), name="X").contacttype.id
    cid = api("Profile_createContact", id=pid).contact.id
    before = contact_row(cop, cid)
    for method, given, fault in (
            ("Contact_update", {"plannedtime": "next week"},
             "Invalid plannedtime 'next week': expected YYYY-MM-DD hh:mm:ss."),
            ("Contact_update", {"executedtime": "2030-02-30", "extra": "x"},
             "Invalid executedtime '2030-02-30': expected YYYY-MM-DD hh:mm:ss."),
            ("Contact_setType", {"contacttype": {"id": foreign}},
             f"Contact type {foreign} is not in the database of contact {cid}."),
            ("Contact_setType", {"contacttype": {"id": 999999}}, "Unknown contact type 999999."),
            ("Contact_setType", {"contacttype": {}},
             "No contacttype given: contacttype {id} is required."),
            ("Contact_setUser", {"user": {"id": 999999}}, "Unknown user 999999.")):
        assert api.fault(method, id=cid, **given) == fault, method
    assert contact_row(cop, cid) == before
    count = len(cop.rows("SELECT id FROM contacts"))
    assert api.fault("Profile_createContact", id=pid, contacttype={"id": foreign}) == \
        f"Contact type {foreign} is not in the database of profile {pid}."
    assert api.fault("Profile_createContact", id=pid, user={"id": 999999}) == \
        "Unknown user 999999."
    assert api.fault("Profile_createContact", id=999999) == "Unknown profile 999999."
    assert len(cop.rows("SELECT id FROM contacts")) == count
    for method in ("Contact_retrieve", "Contact_remove", "Contact_profile", "Contact_type",
                   "Contact_user"):
        assert api.fault(method, id=999999) == "Unknown contact 999999.", method
    assert Api(cop, token="agency-token").fault("Contact_retrieve", id=cid) == \
        f"Unknown contact {cid}."


def test_contact_type_and_user_are_set_and_cleared(api, cop):
    db = fresh_database(api)
    kind = api("Database_createContactType", id=db, name="Visit").contacttype.id
    pid = api("Database_createProfile", id=db).profile.id
    cid = api("Profile_createContact", id=pid).contact.id
    assert api("Contact_type", id=cid).value == "0" and api("Contact_user", id=cid).value == "0"
    [me] = cop.rows("SELECT rowid AS id FROM users WHERE username=?", USER)
    assert api("Contact_setType", id=cid, contacttype={"id": kind}).value == "1"
    assert api("Contact_setUser", id=cid, user={"id": me["id"]}).value == "1"
    assert (contact_row(cop, cid)["contact_type_id"], contact_row(cop, cid)["username"]) == (
        kind, USER)
    api("Contact_setType", id=cid, contacttype={"id": 0})
    api("Contact_setUser", id=cid, user={"id": 0})
    assert (contact_row(cop, cid)["contact_type_id"], contact_row(cop, cid)["username"]) == (
        None, None)
    api("Contact_setType", id=cid, contacttype={"id": kind})
    api("ContactType_remove", id=kind)  # the contact stays, without a type
    assert contact_row(cop, cid)["contact_type_id"] is None
    assert api("Contact_remove", id=cid).value == "1"
    assert cop.rows("SELECT * FROM contacts WHERE id=?", cid) == []


def test_contact_lists_and_searches(api, cop):
    db = fresh_database(api)
    call = api("Database_createContactType", id=db, name="Call").contacttype.id
    visit = api("Database_createContactType", id=db, name="Visit").contacttype.id
    [me] = cop.rows("SELECT rowid AS id FROM users WHERE username=?", USER)
    ann, bob = (api("Database_createProfile", id=db).profile.id for _ in range(2))
    plan = [(ann, call, "2030-03-01 09:00:00", "2030-03-01 09:10:00", "Asked for a quote",
             False, True), (ann, visit, "2030-01-15 14:00:00", "", "Showroom visit", True, False),
            (bob, call, "2030-02-01 08:00:00", "", "Quote follow-up", False, True)]
    ids = []
    for owner, kind, planned, executed, remark, important, mine in plan:
        cid = api("Profile_createContact", id=owner, contacttype={"id": kind},
                  user={"id": me["id"]} if mine else None).contact.id
        api("Contact_update", id=cid, plannedtime=planned, executedtime=executed,
            remarks={"type": "text", "source": remark}, important=important)
        ids.append(cid)

    def found(method, owner=db, **given):
        answer = api(method, id=owner, **given)
        return [c.id for c in (answer.items.contact if answer.items else None) or []]

    # a profile's contacts by planned time; done or open ones only; descending
    assert found("Profile_contacts", ann) == [ids[1], ids[0]]
    assert found("Profile_contacts", ann, done=True) == [ids[0]]
    assert found("Profile_contacts", ann, done=False) == [ids[1]]
    assert found("Profile_contacts", ann, asc=False) == [ids[0], ids[1]]
    assert api("Profile_contacts", id=ann, start=1, length=1).total == 2
    # searches: text in remarks, report and extra without case; of a type; by an order
    assert found("Profile_searchContacts", ann, searchString="QUOTE") == [ids[0]]
    assert found("Database_searchContacts", searchString="quote") == [ids[2], ids[0]]
    assert found("Database_searchContacts", type="call", order="id", asc=False) == [
        ids[2], ids[0]]
    assert found("Database_searchContacts", type=str(visit)) == [ids[1]]
    # a database's contacts by status, importance, user, type and planned time
    assert found("Database_contacts") == [ids[1], ids[2], ids[0]]
    assert found("Database_contacts", status="open") == [ids[1], ids[2]]
    assert found("Database_contacts", status="done", type="Call") == [ids[0]]
    assert found("Database_contacts", importance="important") == [ids[1]]
    assert found("Database_contacts", importance="normal", user={"id": me["id"]}) == [
        ids[2], ids[0]]
    assert found("Database_contacts", datefilter=pairs({"from": "2030-02-01",
                                                        "to": "2030-03-01"})) == [ids[2], ids[0]]
    assert found("Database_contacts", datefilter=pairs({"to": "2030-02-01 07:00:00"})) == [
        ids[1]]
    # the user's contacts of the whole account (other tests' too): these three's mine
    assert [c for c in found("User_contacts", me["id"]) if c in ids] == [ids[2], ids[0]]
    assert [c for c in found("User_contacts", me["id"], done=False) if c in ids] == [ids[2]]
    assert found("Database_contacts", fresh_database(api)) == []
    for given, fault in (({"status": "closed"}, "Unknown status 'closed': expected open or done."),
                         ({"importance": "high"},
                          "Unknown importance 'high': expected important or normal."),
                         ({"type": "Letter"}, "Unknown contact type 'Letter'."),
                         ({"datefilter": pairs({"since": "2030-01-01"})},
                          "Unknown datefilter key 'since': expected from or to."),
                         ({"user": {"id": 999999}}, "Unknown user 999999.")):
        assert api.fault("Database_contacts", id=db, **given) == fault
    assert api.fault("Profile_searchContacts", id=ann, type="Letter") == \
        "Unknown contact type 'Letter'."
    assert api.fault("Database_contacts", id=999999) == "Unknown database 999999."
    assert api.fault("Profile_contacts", id=999999) == "Unknown profile 999999."


def test_contacts_follow_their_profile_and_fire_no_callbacks(api, cop):
    db = fresh_database(api)
    kind = api("Database_createContactType", id=db, name="Call").contacttype.id
    api("Database_createCallback", id=db, url="http://127.0.0.1:9/hook")
    keep, merged, gone = (api("Database_createProfile", id=db).profile.id for _ in range(3))
    deliveries = len(cop.rows("SELECT id FROM callback_deliveries"))
    [modified] = cop.rows("SELECT modified FROM profiles WHERE id=?", keep)
    first = api("Profile_createContact", id=keep, contacttype={"id": kind}).contact.id
    api("Contact_update", id=first, extra="changed")
    moved = api("Profile_createContact", id=merged).contact.id
    dropped = api("Profile_createContact", id=gone).contact.id
    assert len(cop.rows("SELECT id FROM callback_deliveries")) == deliveries
    assert cop.rows("SELECT modified FROM profiles WHERE id=?", keep) == [modified]
    api("Profile_move", id=merged, profile={"id": keep})  # contacts: moved along by default
    assert contact_row(cop, moved)["profile_id"] == keep
    api("Profile_remove", id=gone)
    assert cop.rows("SELECT * FROM contacts WHERE id=?", dropped) == []
    api("Database_clear", id=db)
    assert cop.rows("SELECT * FROM contacts WHERE id IN (?, ?)", first, moved) == []
    assert api("Database_contactType", id=db, identifier="Call").contacttype.id == kind


# -- fixtures and export -------------------------------------------------------------------


def test_contacts_and_members_round_trip_through_an_export(tmp_path):
    document = fixtures.parse_text("""
copernica:
  users:
    - {username: owner@x.example, password: p, accounts: [1], email: owner@mail.example,
       language: nl, apiaccess: true}
  accounts:
    - id: 1
      name: X
      description: The shop
      keephistory: 14
      end: 2040-01-01 00:00:00
      databases:
        - name: D
          fields: [{name: Email, type: email}]
          contactTypes: [{name: Call, icon: phone.png}, {name: Visit}]
          profiles:
            - fields: {Email: a@x.example}
              contacts:
                - {type: Call, user: owner@x.example, plannedtime: "2030-01-01 10:00:00",
                   remarks: {type: text, source: First call}, important: true}
                - {executedtime: "2030-01-02"}
""", "f.yaml")
    first = open_store(str(tmp_path / "one.db"))
    first.migrate()
    fixtures.seed(first, document)
    exported = fixtures.export(first)
    account = exported["copernica"]["accounts"][0]
    assert (account["description"], account["keephistory"], account["end"]) == (
        "The shop", 14, "2040-01-01 00:00:00")
    [user] = exported["copernica"]["users"]
    assert (user["email"], user["language"], user["apiaccess"]) == (
        "owner@mail.example", "nl", True)
    [profile] = account["databases"][0]["profiles"]
    assert [t["name"] for t in account["databases"][0]["contactTypes"]] == ["Call", "Visit"]
    call, done = profile["contacts"]
    assert (call["type"], call["user"], call["remarks"], call["important"]) == (
        "Call", "owner@x.example", {"type": "text", "source": "First call"}, True)
    assert done["executedtime"] == "2030-01-02 00:00:00" and "type" not in done
    second = open_store(str(tmp_path / "two.db"))
    second.migrate()
    fixtures.seed(second, fixtures.parse_text(fixtures.dumps(exported), "export.yaml"))
    assert fixtures.export(second) == exported
    for table in ("accounts", "users", "contact_types", "contacts"):
        assert first.dump()[table] == second.dump()[table], table


@pytest.mark.parametrize("text, problem", [
    ("copernica: {accounts: [{id: 1, databases: [{name: D, profiles: [{contacts: "
     "[{type: Call}]}]}]}]}",
     "copernica.accounts[0].databases[0].profiles[0].contacts[0].type: "
     "no contact type named 'Call'"),
    ("copernica: {accounts: [{id: 1, databases: [{name: D, profiles: [{contacts: "
     "[{user: ghost}]}]}]}]}",
     "copernica.accounts[0].databases[0].profiles[0].contacts[0].user: no user named 'ghost'"),
    ("copernica: {accounts: [{id: 1, databases: [{name: D, contactTypes: "
     "[{name: A}, {name: a}]}]}]}",
     "copernica.accounts[0].databases[0].contactTypes[1].name: duplicate contact type 'a'"),
    ("copernica: {accounts: [{id: 1, mailip: here}]}",
     "copernica.accounts[0].mailip: Invalid mailip 'here': expected an IP address."),
    ("copernica: {users: [{username: u, password: p, disabled: 1}]}",
     "copernica.users[0].disabled: expected true or false"),
])
def test_fixture_validation_names_the_path(text, problem):
    with pytest.raises(fixtures.FixtureError) as info:
        fixtures.read_document(fixtures.parse_text(text, "f.yaml"), "f.yaml")
    assert problem in str(info.value)
