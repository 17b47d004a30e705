"""The methods public integrations call that the mock lacked (Magento, Drupal, Oxid, Umbraco),
and the real parameters it lacked: each over zeep, asserting the answer and the store."""
import json

import pytest

from copernica_harness import (Api, PASSWORD, USER, as_dict, copernica_server, fresh_database,
                               pairs, requirements)


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("integrations"))
    yield running
    running.stop()


@pytest.fixture
def api(cop):
    """A client of account 1."""
    return Api(cop)


def stored_fields(cop, table: str, record_id: int) -> dict:
    """A (sub)profile's field values as the store keeps them."""
    [row] = cop.rows(f"SELECT fields FROM {table} WHERE id=?", record_id)
    return json.loads(row["fields"])


def test_field_update_changes_the_definition_and_carries_values(api, cop):
    db = fresh_database(api, fields=(("Email", "email"), ("Score", "text"), ("Age", "integer")))
    score = api("Database_field", id=db, identifier="Score").field.id
    keep = api("Database_createProfile", id=db, fields=pairs({"Score": "12"})).profile.id
    drop = api("Database_createProfile", id=db, fields=pairs({"Score": "high"})).profile.id
    [before] = cop.rows("SELECT modified FROM profiles WHERE id=?", keep)
    assert api("Field_update", id=score, name="Points", type="integer", value="5",
               displayed=True, ordered=True, length="8", lines="3", hidden=True, index=True,
               pixelwidth=120, weight=7).value == "1"
    field = api("Database_field", id=db, identifier="Points").field
    assert (field.id, field.type, field.value, field.displayed, field.ordered, field.length,
            field.lines, field.hidden, field.index, field.pixelwidth, field.weight) == (
        score, "integer", "5", True, True, "8", "3", True, True, 120, 7)
    [row] = cop.rows("SELECT name, type, value, length, textlines, indexed, pixelwidth, weight "
                     "FROM database_fields WHERE id=?", score)
    assert row == {"name": "Points", "type": "integer", "value": "5", "length": 8,
                   "textlines": 3, "indexed": 1, "pixelwidth": 120, "weight": 7}
    # renamed in every profile; a value the new type refuses becomes the default
    assert stored_fields(cop, "profiles", keep)["Points"] == "12"
    assert stored_fields(cop, "profiles", drop) == {"Email": "", "Points": "5", "Age": "0"}
    assert cop.rows("SELECT modified FROM profiles WHERE id=?", keep) == [before]
    assert api("Database_field", id=db, identifier="Score").value == "0"
    # only what is given changes
    api("Field_update", id=score, hidden=False)
    again = api("Database_field", id=db, identifier="Points").field
    assert (again.name, again.hidden, again.pixelwidth, again.type) == ("Points", False, 120,
                                                                        "integer")


@pytest.mark.parametrize("changes, fault", [
    ({"name": "Email"}, "There is already a field, interest or collection named 'Email'."),
    ({"name": "9x"}, "Invalid name '9x': a name starts with a letter or underscore and holds "
                     "only letters, digits and underscores."),
    ({"type": "email"}, "There can be only one email field; 'Email' is one already."),
    ({"type": "colour"}, "Unknown field type 'colour': expected one of integer, float, date, "
                         "empty_date, datetime, empty_datetime, text, email, phone_fax, "
                         "phone_gsm, select, big."),
    ({"length": "long"}, "Invalid length 'long': expected a whole number."),
])
def test_field_update_rules(api, cop, changes, fault):
    db = fresh_database(api)
    name = api("Database_field", id=db, identifier="Name").field.id
    assert api.fault("Field_update", id=name, **changes) == fault
    assert cop.rows("SELECT name, type FROM database_fields WHERE id=?", name) == [
        {"name": "Name", "type": "text"}]


def test_collection_field_update(api, cop):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    product = api("Collection_createField", id=orders, name="Product").collectionfield.id
    pid = api("Database_createProfile", id=db).profile.id
    sub = api("Profile_createSubProfile", id=pid, collection={"id": orders},
              fields=pairs({"Product": "Bike"})).subprofile.id
    assert api("CollectionField_update", id=product, name="Article", weight=3).value == "1"
    field = api("Collection_field", id=orders, identifier="Article").collectionfield
    assert (field.id, field.weight, field.type) == (product, 3, "text")
    assert stored_fields(cop, "subprofiles", sub) == {"Article": "Bike"}
    # a database field is no collection field, and the other way round
    name = api("Database_field", id=db, identifier="Name").field.id
    assert api.fault("CollectionField_update", id=name, weight=1) == \
        f"Unknown collection field {name}."
    assert api.fault("Field_update", id=product, weight=1) == f"Unknown field {product}."


def test_profile_move_merges_into_the_other_profile(api, cop):
    db = fresh_database(api, interests=("news", "offers"), collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    old = api("Database_createProfile", id=db, fields=pairs({"Email": "dup@x.example",
                                                             "Name": ""})).profile
    new = api("Database_createProfile", id=db, fields=pairs({"Name": "Keep", "Age": "40"})
              ).profile
    api("Profile_setInterest", id=old.id, interest="news")
    api("Profile_setInterest", id=new.id, interest="offers")
    sub = api("Profile_createSubProfile", id=old.id, collection={"id": orders}).subprofile.id
    assert api("Profile_move", id=old.id, profile={"id": new.id},
               options=pairs({"ignoreempty": "1"})).value == "1"
    # Magento's duplicate merge: the old profile is gone, its data and subprofiles are new's
    assert cop.rows("SELECT id FROM profiles WHERE id=?", old.id) == []
    assert stored_fields(cop, "profiles", new.id) == {"Email": "dup@x.example", "Name": "Keep",
                                                      "Age": "0"}
    assert as_dict(api("Profile_interests", id=new.id).map) == {"news": "1", "offers": "1"}
    assert cop.rows("SELECT profile_id FROM subprofiles WHERE id=?", sub) == [
        {"profile_id": new.id}]
    assert cop.rows("SELECT code FROM profiles WHERE id=?", new.id) == [{"code": old.code}]
    assert api.fault("Profile_fields", id=old.id) == f"Unknown profile {old.id}."


def test_profile_move_options_and_rules(api, cop):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    one = api("Database_createProfile", id=db, fields=pairs({"Name": "One", "Age": "1"})).profile
    two = api("Database_createProfile", id=db, fields=pairs({"Name": "", "Age": "2"})).profile
    sub = api("Profile_createSubProfile", id=one.id, collection={"id": orders}).subprofile.id
    api("Profile_move", id=one.id, profile={"id": two.id},
        options=pairs({"onlyempty": "true", "code": "0", "subprofiles": "0"}))
    assert stored_fields(cop, "profiles", two.id)["Name"] == "One"
    assert stored_fields(cop, "profiles", two.id)["Age"] == "2"  # not empty: kept
    assert cop.rows("SELECT code FROM profiles WHERE id=?", two.id) == [{"code": two.code}]
    assert cop.rows("SELECT id FROM subprofiles WHERE id=?", sub) == []  # went with it
    other = api("Database_createProfile", id=fresh_database(api)).profile.id
    assert api.fault("Profile_move", id=two.id, profile={"id": other}) == \
        f"Profile {other} is not in the database of profile {two.id}."
    assert api.fault("Profile_move", id=two.id, profile={"id": two.id}) == \
        f"Profile {two.id} cannot be moved onto itself."
    assert api.fault("Profile_move", id=two.id, profile={}) == \
        "No profile given: profile {id} is required."


def test_retrieve_and_lookup_by_id(api, cop):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    got = api("Collection_retrieve", id=orders).collection
    assert (got.id, got.name, got.countsubprofiles) == (orders, "Orders", 0)
    assert api.fault("Collection_retrieve", id=999999) == "Unknown collection 999999."
    pid = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann"})).profile.id
    found = api("Database_profile", id=db, identifier=pid).profile
    assert found.id == pid and as_dict(found.fields)["Name"] == "Ann"
    other = fresh_database(api)
    assert api("Database_profile", id=other, identifier=pid).value == "0"
    assert api("Database_profile", id=db, identifier=999999).value == "0"


def test_profile_set_interest(api, cop):
    db = fresh_database(api, interests=("news", "offers"))
    pid = api("Database_createProfile", id=db).profile.id
    assert api("Profile_setInterest", id=pid, interest="NEWS", value=True).value == "1"
    assert api("Profile_setInterest", id=pid, interest="offers").value == "1"  # value: on
    assert json.loads(cop.rows("SELECT interests FROM profiles WHERE id=?", pid)[0][
        "interests"]) == {"news": 1, "offers": 1}
    assert api("Profile_setInterest", id=pid, interest="news", value=False).value == "1"
    assert api("Profile_setInterest", id=pid, interest="golf", value=True).value == "0"
    assert as_dict(api("Profile_interests", id=pid).map) == {"news": "0", "offers": "1"}


def test_empty_contact_types_and_views(api):
    db = fresh_database(api)
    types = api("Database_contactTypes", id=db)  # a new database has none until one is made
    assert (types.start, types.length, types.total) == (0, 0, 0)
    views = api("Database_views", id=db, allproperties=True)
    assert (views.length, views.total) == (0, 0) and not (views.items and views.items.view)
    assert api.fault("Database_views", id=999999) == "Unknown database 999999."


def test_contacts_are_emulated(api, cop):
    """Drupal connector v2's contact calls (more in test_copernica_account_model.py)."""
    db = fresh_database(api)
    kind = api("Database_createContactType", id=db, name="Webshop").contacttype.id
    assert [t.id for t in api("Database_contactTypes", id=db).items.contacttype] == [kind]
    pid = api("Database_createProfile", id=db).profile.id
    contact = api("Profile_createContact", id=pid, timestamp="", contacttype={"id": kind}).contact
    assert api("Contact_update", id=contact.id, important=True,
               remarks={"type": "text", "source": "Order 12"}).value == "1"
    assert cop.rows("SELECT profile_id, contact_type_id, important, remarks_source FROM "
                    "contacts WHERE id=?", contact.id) == [
        {"profile_id": pid, "contact_type_id": kind, "important": 1,
         "remarks_source": "Order 12"}]
    assert api.fault("Contact_update", id=999999, important=True) == "Unknown contact 999999."


def test_user_retrieve(api, cop):
    [me] = cop.rows("SELECT rowid AS id FROM users WHERE username=?", USER)
    user = api("User_retrieve", id=me["id"]).user
    assert (user.id, user.name, user.email, user.apiaccess) == (me["id"], USER, USER, True)
    [nobody] = cop.rows("SELECT rowid AS id FROM users WHERE username='nobody@shop.example'")
    assert api.fault("User_retrieve", id=nobody["id"]) == f"Unknown user {nobody['id']}."
    login = {"username": USER, "password": PASSWORD, "account": "Agency"}
    assert Api(cop, token=None)("User_retrieve", id=me["id"], login=login).user.id == me["id"]


def test_collection_update_sub_profiles(api, cop):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    api("Collection_createField", id=orders, name="Status")
    api("Collection_createField", id=orders, name="Total", type="integer")
    ann, bob = (api("Database_createProfile", id=db).profile.id for _ in range(2))
    subs = [api("Profile_createSubProfile", id=owner, collection={"id": orders},
                fields=pairs({"Status": status})).subprofile.id
            for owner, status in ((ann, "open"), (bob, "open"), (ann, "paid"))]
    done = api("Collection_updateSubProfiles", id=orders, allproperties=True,
               requirements=requirements(("Status", "=", "open")),
               fields=pairs({"Status": "sent"}))
    assert done.total == 2 and [s.id for s in done.items.subprofile] == subs[:2]
    assert [as_dict(s.fields)["Status"] for s in done.items.subprofile] == ["sent", "sent"]
    assert [stored_fields(cop, "subprofiles", s)["Status"] for s in subs] == [
        "sent", "sent", "paid"]
    assert api.fault("Collection_updateSubProfiles", id=orders, fields=pairs({"Total": "x"})) \
        == "Value 'x' is not valid for field 'Total' of type integer."
    assert api("Collection_updateSubProfiles", id=orders, requirements=requirements(
        ("Status", "=", "none")), fields=pairs({"Status": "x"})).total == 0


def test_database_clear(api, cop):
    db = fresh_database(api, interests=("news",), collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    for _ in range(3):
        pid = api("Database_createProfile", id=db).profile.id
    api("Profile_createSubProfile", id=pid, collection={"id": orders})
    assert api("Database_clear", id=db, background=False).value == "1"
    assert cop.rows("SELECT id FROM profiles WHERE database_id=?", db) == []
    assert cop.rows("SELECT id FROM subprofiles WHERE collection_id=?", orders) == []
    assert api("Database_retrieve", id=db).database.countprofiles == 0
    assert [f.name for f in api("Database_fields", id=db).items.field] == ["Email", "Name", "Age"]
    assert api("Collection_retrieve", id=orders).collection.name == "Orders"


def test_database_update_archived(api, cop):
    db = fresh_database(api)
    assert api("Database_update", id=db, archived=True).value == "1"
    assert api("Database_retrieve", id=db).database.archived is True
    assert cop.rows("SELECT archived FROM databases WHERE id=?", db) == [{"archived": 1}]
    api("Database_update", id=db, description="kept archived")
    assert api("Database_retrieve", id=db).database.archived is True


def test_remove_profiles_completely_or_not(api, cop):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    ids = [api("Database_createProfile", id=db).profile.id for _ in range(3)]
    subs = [api("Profile_createSubProfile", id=ids[0], collection={"id": orders}).subprofile.id
            for _ in range(2)]
    api("Database_removeProfiles", id=db, ids={"item": [str(ids[1])]}, completely=True)
    api("Database_removeProfiles", id=db, ids={"item": [str(ids[2])]}, completely=False)
    assert [r["id"] for r in cop.rows("SELECT id FROM profiles WHERE database_id=?", db)] == \
        [ids[0]]
    api("Collection_removeSubProfiles", id=orders, ids={"item": [str(subs[0])]}, completely=True)
    assert [r["id"] for r in cop.rows("SELECT id FROM subprofiles WHERE collection_id=?",
                                      orders)] == [subs[1]]
    assert api.fault("Database_removeProfiles", id=db, ids={"item": ["one"]}) == \
        "Invalid id 'one': expected a whole number."


def test_order_and_asc_on_list_reads(api):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    api("Collection_createField", id=orders, name="Total", type="integer")
    pid = None
    for name, age in (("b", "30"), ("a", "5"), ("c", "12")):
        pid = api("Database_createProfile", id=db, fields=pairs({"Name": name, "Age": age})
                  ).profile.id
    for total in ("7", "100", "20"):
        api("Profile_createSubProfile", id=pid, collection={"id": orders},
            fields=pairs({"Total": total}))

    def names(**options):
        found = api("Database_profiles", id=db, allproperties=True, **options).items.profile
        return [as_dict(p.fields)["Name"] for p in found]

    assert names(order="Age") == ["a", "c", "b"]
    assert names(order="Age", asc=False) == ["b", "c", "a"]
    assert names(order="Name", start=1, length=1) == ["b"]

    def totals(method, **options):
        found = api(method, id=orders if method.startswith("Collection") else pid,
                    allproperties=True, **options).items.subprofile
        return [as_dict(s.fields)["Total"] for s in found]

    assert totals("Collection_subProfiles", order="Total") == ["7", "20", "100"]
    assert totals("Collection_subProfiles", order="Total", asc=False) == ["100", "20", "7"]
    assert totals("Profile_subProfiles", collection={"id": orders}, order="Total",
                  asc=False) == ["100", "20", "7"]


def test_timestamp_is_accepted(api):
    db = fresh_database(api)
    pid = api("Database_createProfile", id=db).profile.id
    assert api("Profile_updateFields", id=pid, timestamp="2020-01-01 00:00:00",
               fields=pairs({"Name": "Then"})).value == "1"
    assert as_dict(api("Profile_fields", id=pid, timestamp="2020-01-01 00:00:00").map)[
        "Name"] == "Then"
