"""Copernica profiles and subprofiles: create, type checks, search operators, order and
paging, upsert, interests, removal, subprofiles and moves; the vendor's example flow."""
import re
import time

import pytest

from copernica_harness import (Api, as_dict, copernica_server, fresh_database, pairs,
                               requirements)


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("profiles"))
    yield running
    running.stop()


@pytest.fixture
def api(cop):
    """A client of account 1."""
    return Api(cop)


@pytest.fixture(scope="module")
def customers(cop):
    """The id of the fixture database Customers of account 1."""
    return Api(cop)("Account_database", identifier="Customers").database.id


def search(api, db, *conditions, **options) -> list[str]:
    """First names of the profiles a search finds."""
    found = api("Database_searchProfiles", id=db, requirements=requirements(*conditions),
                allproperties=True, **options)
    assert found.length == found.total - (found.start or 0) or options
    return [as_dict(p.fields)["FirstName"] for p in (found.items.profile if found.items else [])]


def test_create_profile(api, cop):
    db = fresh_database(api, interests=("news", "offers"))
    p = api("Database_createProfile", id=db, fields=pairs({"email": "a@x.example", "Name": "Ann",
                                                           "Unknown": "ignored"})).profile
    assert re.fullmatch(r"[0-9a-f]{32}", p.code)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", p.created)
    assert as_dict(p.fields) == {"Email": "a@x.example", "Name": "Ann", "Age": "0"}
    assert as_dict(p.interests) == {"news": "0", "offers": "0"}
    assert (p.extra, p.removed, p.lastbuilt, p.lastexport) == (None, None, None, None)
    [row] = cop.rows("SELECT database_id, fields, created, modified FROM profiles WHERE id=?",
                     p.id)
    assert row["database_id"] == db and "Unknown" not in row["fields"]
    assert row["modified"] == row["created"]
    assert api.fault("Database_createProfile", id=db, fields=pairs({"Age": "old"})) == \
        "Value 'old' is not valid for field 'Age' of type integer."


@pytest.mark.parametrize("kind, good, bad", [
    ("integer", "-12", "1.5"), ("float", "2.75", "two"), ("date", "2024-02-29", "2023-02-29"),
    ("empty_date", "", "yesterday"), ("datetime", "2024-01-01 10:00:00", "2024-01-01 25:00:00"),
    ("empty_datetime", "0000-00-00 00:00:00", "10:00"), ("email", "b@y.example", "not-an-email"),
    ("phone_gsm", "+31 6 1234 5678", "call me"), ("select", "gold", "platinum"),
])
def test_update_fields_answers_0_on_a_type_violation_and_changes_nothing(api, cop, kind, good, bad):
    db = fresh_database(api, fields=(("F", kind) if kind != "select" else ("F", "text"),
                                     ("Other", "text")))
    if kind == "select":
        db = api("Account_createDatabase", name=f"Sel{time.time_ns()}").database.id
        api("Database_createField", id=db, name="F", type="select", value="bronze\ngold")
        api("Database_createField", id=db, name="Other")
    pid = api("Database_createProfile", id=db).profile.id
    assert api("Profile_updateFields", id=pid, fields=pairs({"F": good})).value == "1"
    before = cop.rows("SELECT fields, modified FROM profiles WHERE id=?", pid)
    assert api("Profile_updateFields", id=pid, fields=pairs({"Other": "x", "F": bad})).value == "0"
    assert cop.rows("SELECT fields, modified FROM profiles WHERE id=?", pid) == before


def test_modified_changes_only_when_something_changes(api, cop):
    db = fresh_database(api)
    p = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann"})).profile
    stamp = cop.rows("SELECT modified FROM profiles WHERE id=?", p.id)[0]["modified"]
    assert api("Profile_updateFields", id=p.id, fields=pairs({"Name": "Ann", "Nope": "x"})).value == "1"
    assert cop.rows("SELECT modified FROM profiles WHERE id=?", p.id)[0]["modified"] == stamp
    time.sleep(0.01)
    api("Profile_updateFields", id=p.id, fields=pairs({"name": "Anna"}))
    assert cop.rows("SELECT modified FROM profiles WHERE id=?", p.id)[0]["modified"] > stamp
    assert as_dict(api("Profile_fields", id=p.id).map) == {"Email": "", "Name": "Anna", "Age": "0"}


@pytest.mark.parametrize("conditions, expected", [
    ([("City", "=", "amsterdam")], ["Anna", "carla"]),
    ([("City", "=", "amsterdam", True)], ["carla"]),
    ([("City", "!=", "Amsterdam")], ["Bert", "Dirk"]),
    ([("City", "<>", "Amsterdam")], ["Bert", "Dirk"]),
    ([("Age", "<", "34")], ["Bert"]),
    ([("Age", "<=", "34")], ["Anna", "Bert", "Dirk"]),
    ([("Age", ">", "34")], ["carla"]),
    ([("Age", ">=", "34"), ("City", "=", "amsterdam")], ["Anna", "carla"]),
    ([("Score", ">", "7.5")], ["carla"]),
    ([("Age", "<", "100")], ["Anna", "Bert", "carla", "Dirk"]),  # numbers, not text
    ([("Email", "=~", "%@example.com")], ["Anna", "Bert", "carla"]),
    ([("Email", "=~", "_ert@%")], ["Bert"]),
    ([("FirstName", "=~", "C%", True)], []),
    ([("Email", "!~", "%.com")], ["Dirk"]),
    ([("NoSuchField", "=", "x"), ("City", "=", "Utrecht")], ["Dirk"]),  # unknown: skipped
    ([("Birthday", "=", "1972-05-01")], ["carla"]),
    ([("Tier", "=", "GOLD")], ["Anna"]),
])
def test_search_operators(api, customers, conditions, expected):
    assert search(api, customers, *conditions) == expected


def test_search_by_the_profiles_own_properties(api, customers):
    everyone = api("Database_searchProfiles", id=customers, allproperties=True).items.profile
    anna = next(p for p in everyone if as_dict(p.fields)["FirstName"] == "Anna")
    assert search(api, customers, ("code", "=", anna.code.upper())) == ["Anna"]
    assert search(api, customers, ("id", "=", str(anna.id))) == ["Anna"]
    assert search(api, customers, ("created", ">=", "2000-01-01 00:00:00"),
                  ("modified", "=~", "2%")) == ["Anna", "Bert", "carla", "Dirk"]
    assert search(api, customers, ("created", "<", "2000-01-01 00:00:00")) == []
    assert search(api, customers, ("created", "=", anna.created), ("code", "=", anna.code)) \
        == ["Anna"]
    assert search(api, customers, order="modified") == ["Anna", "Bert", "carla", "Dirk"]


def test_equality_finds_what_case_folding_finds(api, cop):
    """The store's pre-filter of ``=`` searches hides no profile the search finds."""
    db = fresh_database(api, fields=(("Name", "text"), ("City", "text"), ("Code", "text"),
                                     ("Age", "integer")))
    names = {}
    for fields in ({"Name": "Straße", "City": "Köln", "Code": "A-1", "Age": "40"},
                   {"Name": "STRASSE", "City": "koeln", "Code": "a-1", "Age": "040"},
                   {"Name": "Kelvin \u212a", "City": "", "Code": "x\ty"},
                   {"Name": "plain"}):  # City and Code missing: their empty default
        p = api("Database_createProfile", id=db, fields=pairs(fields)).profile
        names[p.id] = fields["Name"]

    def found(*conditions):
        page = api("Database_searchProfiles", id=db, requirements=requirements(*conditions),
                   allproperties=True)
        return sorted(as_dict(p.fields)["Name"] for p in (page.items.profile if page.items
                                                          else []))

    assert found(("Name", "=", "strasse")) == ["STRASSE", "Straße"]  # ß folds to ss
    assert found(("Name", "==", "STRASSE", True)) == ["STRASSE"]
    assert found(("name", "=", "KELVIN k")) == ["Kelvin \u212a"]  # the Kelvin sign folds to k
    assert found(("City", "=", "")) == ["Kelvin \u212a", "plain"]
    assert found(("Code", "=", "A-1")) == ["STRASSE", "Straße"]
    assert found(("Code", "=", "A-1", True), ("City", "=", "KÖLN")) == ["Straße"]
    assert found(("Code", "=", "x\ty")) == ["Kelvin \u212a"]
    assert found(("Age", "=", "40")) == ["STRASSE", "Straße"]  # numbers as numbers
    assert found(("Code", "=", "A-1"), ("Name", "=", "nobody")) == []


def test_unknown_operator_is_a_fault(api, customers):
    assert api.fault("Database_searchProfiles", id=customers,
                     requirements=requirements(("Age", "~~", "1"))) == \
        "Unknown operator '~~': expected one of =, !=, <>, <, >, <=, >=, =~, !~."


def test_order_asc_ties_and_paging(api, customers):
    assert search(api, customers, order="Age") == ["Bert", "Anna", "Dirk", "carla"]
    assert search(api, customers, order="age", asc=False) == ["carla", "Anna", "Dirk", "Bert"]
    assert search(api, customers, order="FirstName") == ["Anna", "Bert", "carla", "Dirk"]
    assert search(api, customers, order="Nope", asc=False) == ["Dirk", "carla", "Bert", "Anna"]
    page = api("Database_searchProfiles", id=customers, order="Age", start=1, length=2,
               allproperties=True)
    assert (page.start, page.length, page.total) == (1, 2, 4)
    assert [as_dict(p.fields)["FirstName"] for p in page.items.profile] == ["Anna", "Dirk"]


def test_allproperties_decides_fields_and_interests(api, customers):
    plain = api("Database_searchProfiles", id=customers).items.profile[0]
    assert plain.fields is None and plain.interests is None and plain.code
    full = api("Database_searchProfiles", id=customers, allproperties=True).items.profile[0]
    assert as_dict(full.interests) == {"football": "1", "tennis": "0", "cooking": "0"}


def test_update_profiles_and_upsert(api, cop):
    db = fresh_database(api)
    for name in ("Ann", "Bob", "Ann"):
        api("Database_createProfile", id=db, fields=pairs({"Name": name}))
    touched = api("Database_updateProfiles", id=db, requirements=requirements(("Name", "=", "ann")),
                  fields=pairs({"Age": "30"}), allproperties=True)
    assert touched.total == 2 and [as_dict(p.fields)["Age"] for p in touched.items.profile] == ["30", "30"]
    none = api("Database_updateProfiles", id=db, requirements=requirements(("Name", "=", "Cy")),
               fields=pairs({"Age": "5"}))
    assert none.total == 0
    made = api("Database_updateProfiles", id=db, requirements=requirements(("Name", "=", "Cy")),
               fields=pairs({"Age": "5"}), create=True, allproperties=True)
    assert made.total == 1 and as_dict(made.items.profile[0].fields) == \
        {"Email": "", "Name": "Cy", "Age": "5"}
    assert len(cop.rows("SELECT id FROM profiles WHERE database_id=?", db)) == 4
    assert api.fault("Database_updateProfiles", id=db, requirements=requirements(
        ("Name", "=", "Bob")), fields=pairs({"Age": "x"})) == \
        "Value 'x' is not valid for field 'Age' of type integer."


def test_interests_read_and_update(api):
    db = fresh_database(api, interests=("news", "offers", "events"))
    pid = api("Database_createProfile", id=db).profile.id
    def interests() -> dict:
        return as_dict(api("Profile_interests", id=pid).map)

    assert interests() == {"news": "0", "offers": "0", "events": "0"}
    # the catalogue's interests: string[], the names the profile has (the others become 0)
    assert api("Profile_updateInterests", id=pid,
               interests={"item": ["news", "OFFERS", "nope"]}).value == "1"
    assert interests() == {"news": "1", "offers": "1", "events": "0"}
    api("Profile_updateInterests", id=pid, interests={"item": ["events"]})
    assert interests() == {"news": "0", "offers": "0", "events": "1"}
    api("Profile_updateInterests", id=pid)
    assert interests() == {"news": "0", "offers": "0", "events": "0"}


def test_remove_profiles(api, cop):
    db = fresh_database(api, collections=("Orders",))
    ids = [api("Database_createProfile", id=db).profile.id for _ in range(3)]
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    api("Profile_createSubProfile", id=ids[0], collection={"id": orders})
    assert api("Profile_remove", id=ids[0]).value == "1"
    assert api.fault("Profile_fields", id=ids[0]) == f"Unknown profile {ids[0]}."
    assert cop.rows("SELECT id FROM subprofiles WHERE profile_id=?", ids[0]) == []
    assert api("Database_removeProfiles", id=db, ids={"item": ids[1:] + [999999]}).value == "1"
    assert cop.rows("SELECT id FROM profiles WHERE database_id=?", db) == []


def test_subprofiles(api, cop):
    db = fresh_database(api, collections=("Orders", "Visits"))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    visits = api("Database_collection", id=db, identifier="Visits").collection.id
    api("Collection_createField", id=orders, name="OrderNo", type="integer")
    api("Collection_createField", id=orders, name="Product")
    ann, bob = (api("Database_createProfile", id=db, fields=pairs({"Name": n})).profile.id
                for n in ("Ann", "Bob"))
    first = api("Profile_createSubProfile", id=ann, collection={"id": orders},
                fields=pairs({"OrderNo": "1", "Product": "Bike", "Nope": "x"})).subprofile
    assert re.fullmatch(r"[0-9a-f]{32}", first.code)
    assert cop.rows("SELECT profile_id, collection_id FROM subprofiles WHERE id=?", first.id) == [
        {"profile_id": ann, "collection_id": orders}]
    assert as_dict(first.fields) == {"OrderNo": "1", "Product": "Bike"}
    api("Profile_createSubProfile", id=ann, collection={"id": orders},
        fields=pairs({"OrderNo": "2", "Product": "Helmet"}))
    api("Profile_createSubProfile", id=bob, collection={"id": orders},
        fields=pairs({"OrderNo": "3", "Product": "bike"}))
    api("Profile_createSubProfile", id=ann, collection={"id": visits})
    assert api.fault("Profile_createSubProfile", id=ann, collection={"id": orders},
                     fields=pairs({"OrderNo": "x"})) == \
        "Value 'x' is not valid for field 'OrderNo' of type integer."

    found = api("Collection_searchSubProfiles", id=orders, requirements=requirements(
        ("Product", "=", "BIKE")), order="OrderNo", asc=False, allproperties=True)
    assert [as_dict(s.fields)["OrderNo"] for s in found.items.subprofile] == ["3", "1"]
    assert cop.rows("SELECT profile_id FROM subprofiles WHERE id=?",
                    found.items.subprofile[0].id) == [{"profile_id": bob}]
    plain = api("Collection_searchSubProfiles", id=orders)
    assert plain.total == 3 and plain.items.subprofile[0].fields is None
    mine = api("Profile_searchSubProfiles", id=ann, collection={"id": orders},
               requirements=requirements(("OrderNo", ">", "1")), allproperties=True)
    assert [as_dict(s.fields)["Product"] for s in mine.items.subprofile] == ["Helmet"]
    assert api("Profile_subProfiles", id=ann).total == 3
    assert api("Profile_subProfiles", id=ann, collection={"id": visits}).total == 1
    assert api("Collection_subProfile", id=orders, identifier=first.id).subprofile.id == first.id
    assert api("Collection_subProfile", id=visits, identifier=first.id).value == "0"

    assert api("SubProfile_updateFields", id=first.id, fields=pairs({"Product": "E-bike"})).value == "1"
    assert api("SubProfile_updateFields", id=first.id, fields=pairs({"OrderNo": "one"})).value == "0"
    upd = api("Profile_updateSubProfiles", id=ann, collection={"id": orders},
              requirements=requirements(("OrderNo", "=", "9")), fields=pairs({"Product": "Lock"}),
              create=True, allproperties=True)
    assert as_dict(upd.items.subprofile[0].fields) == {"OrderNo": "9", "Product": "Lock"}
    upd = api("Profile_updateSubProfiles", id=ann, collection={"id": orders},
              requirements=requirements(("Product", "=~", "%bike%")), fields=pairs({"Product": "Bike"}))
    assert upd.total == 1

    assert api("SubProfile_moveToProfile", id=first.id, profile={"id": bob}).value == "1"
    assert cop.rows("SELECT profile_id FROM subprofiles WHERE id=?", first.id) == [{"profile_id": bob}]
    other_db = fresh_database(api)
    stranger = api("Database_createProfile", id=other_db).profile.id
    assert api.fault("SubProfile_moveToProfile", id=first.id, profile={"id": stranger}) == \
        f"Profile {stranger} is not in the database of subprofile {first.id}."
    assert api("SubProfile_remove", id=first.id).value == "1"
    assert api.fault("SubProfile_remove", id=first.id) == f"Unknown subprofile {first.id}."
    ids = [s.id for s in api("Collection_searchSubProfiles", id=orders).items.subprofile]
    assert api("Collection_removeSubProfiles", id=orders, ids={"item": ids}).value == "1"
    assert cop.rows("SELECT id FROM subprofiles WHERE collection_id=?", orders) == []
    assert len(cop.rows("SELECT id FROM subprofiles WHERE collection_id=?", visits)) == 1


def test_vendor_example_flow(api, cop):
    """soaptest.php: Account_database -> Database_remove -> Account_createDatabase -> fields,
    collection, profile, subprofile -> search -> Profile_updateFields."""
    name = "SoapTestDatabase"
    api("Account_createDatabase", name=name)
    old = api("Account_database", identifier=name)
    assert old.database is not None
    api("Database_remove", id=old.database.id)
    db = api("Account_createDatabase", name=name).database.id
    api("Database_createField", id=db, name="Email", type="text")  # PHP drops specialcontent
    api("Database_createField", id=db, name="Firstname", type="text")
    api("Database_createField", id=db, name="Lastname", type="text")
    col = api("Database_createCollection", id=db, name="Orders").collection.id
    api("Collection_createField", id=col, name="Product", type="text")
    profile = api("Database_createProfile", id=db, fields=pairs(
        {"Email": "info@example.com", "Firstname": "John", "Lastname": "Doe"})).profile
    api("Profile_createSubProfile", id=profile.id, collection={"id": col},
        fields=pairs({"Product": "Book"}))
    found = api("Database_searchProfiles", id=db, requirements=requirements(
        ("Email", "=", "info@example.com")))
    assert [p.id for p in found.items.profile] == [profile.id]
    for item in found.items.profile:
        assert api("Profile_updateFields", id=item.id, fields=pairs({"Firstname": "Jane"})).value == "1"
    assert as_dict(api("Profile_fields", id=profile.id).map)["Firstname"] == "Jane"
    assert cop.rows("SELECT COUNT(*) AS n FROM subprofiles WHERE collection_id=?", col) == [{"n": 1}]
