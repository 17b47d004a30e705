"""The data-model methods of Profile, SubProfile, Field, CollectionField and Interest over
zeep: each answer, what the store holds after it, the callbacks it queues, and the fault an
unknown id or a wrong value gets (which changes nothing)."""
import json

import pytest

from copernica_harness import (AGENCY, READ_ONLY, Api, as_dict, copernica_server,
                               fresh_database, pairs)

HOOK = "http://127.0.0.1:9/hook"  # nothing listens: deliveries stay queued or fail
UNKNOWN = 999999


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("profile-model"))
    yield running
    running.stop()


@pytest.fixture
def api(cop):
    """A client of account 1."""
    return Api(cop)


def row(cop, table: str, record_id: int) -> dict:
    """One row of the store, JSON columns decoded."""
    [found] = cop.rows(f"SELECT * FROM {table} WHERE id=?", record_id)
    for key in ("fields", "interests", "unsubscribe_values"):
        if key in found:
            found[key] = json.loads(found[key])
    return found


def deliveries(cop, callback_id) -> list[tuple[str, str]]:
    """(record, action) of a callback's queued deliveries, in order."""
    return [(r["record"], r["action"]) for r in cop.rows(
        "SELECT record, action FROM callback_deliveries WHERE callback_id=? ORDER BY id",
        callback_id)]


def parameters(cop, callback_id) -> list[dict]:
    """The ``parameters`` (changed values) of a callback's queued deliveries, in order."""
    from urllib.parse import parse_qs
    return [json.loads(parse_qs(r["body"].decode())["json"][0])["parameters"] for r in cop.rows(
        "SELECT body FROM callback_deliveries WHERE callback_id=? ORDER BY id", callback_id)]


def shop(api, interests=("news", "offers")):
    """A database with fields, interests and a collection ``Orders`` (fields Product, Total,
    Email); (database, collection) ids."""
    db = fresh_database(api, interests=interests, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    api("Collection_createField", id=orders, name="Product", display=True)
    api("Collection_createField", id=orders, name="Total", type="integer")
    api("Collection_createField", id=orders, name="Email", type="email")
    return db, orders


# -- Profile ---------------------------------------------------------------------------------


def test_profile_retrieve_database_rebuild_and_views(api, cop):
    db, _ = shop(api)
    created = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann", "Age": "31"})
                  ).profile
    api("Profile_setInterest", id=created.id, interest="offers")
    got = api("Profile_retrieve", id=created.id, timestamp="2020-01-01 00:00:00").profile
    assert (got.id, got.code, got.extra or "", got.created) == (created.id, created.code, "",
                                                               created.created)
    assert as_dict(got.fields) == {"Email": "", "Name": "Ann", "Age": "31"}
    assert as_dict(got.interests) == {"news": "0", "offers": "1"}
    database = api("Profile_database", id=created.id).database
    assert (database.id, database.countprofiles) == (db, 1)
    before = row(cop, "profiles", created.id)
    assert api("Profile_rebuild", id=created.id).value == "1"
    views = api("Profile_views", id=created.id, allproperties=True)
    assert (views.start, views.length, views.total) == (0, 0, 0)
    assert not (views.items and views.items.view)
    assert row(cop, "profiles", created.id) == before


def test_profile_update_changes_code_and_extra(api, cop):
    db, _ = shop(api)
    cb = api("Database_createCallback", id=db, url=HOOK).callback.id
    pid = api("Database_createProfile", id=db).profile.id
    before = row(cop, "profiles", pid)
    got = api("Profile_update", id=pid, code="my-secret.1", extra="from the shop").profile
    assert (got.id, got.code, got.extra) == (pid, "my-secret.1", "from the shop")
    assert as_dict(got.fields)["Name"] == ""  # the whole profile is answered
    after = row(cop, "profiles", pid)
    assert (after["code"], after["extra"]) == ("my-secret.1", "from the shop")
    assert after["modified"] > before["modified"] and after["fields"] == before["fields"]
    # absent: kept; the same values: no change, no callback
    assert api("Profile_update", id=pid, extra="").profile.code == "my-secret.1"
    assert row(cop, "profiles", pid)["extra"] == ""
    stamp = row(cop, "profiles", pid)["modified"]
    api("Profile_update", id=pid, code="my-secret.1", extra="")
    assert row(cop, "profiles", pid)["modified"] == stamp
    assert deliveries(cop, cb) == [(f"profile:{pid}", "create"), (f"profile:{pid}", "update"),
                                   (f"profile:{pid}", "update")]
    assert parameters(cop, cb)[1:] == [{}, {}]
    assert api("Profile_retrieve", id=pid).profile.extra is None  # empty: <extra/>


def test_profile_move_takes_the_extra_data(api, cop):
    db, _ = shop(api)
    old, new, other = (api("Database_createProfile", id=db).profile.id for _ in range(3))
    api("Profile_update", id=old, extra="merged from the web shop")
    api("Profile_update", id=other, extra="stays")
    api("Profile_move", id=old, profile={"id": new})
    assert row(cop, "profiles", new)["extra"] == "merged from the web shop"
    api("Profile_move", id=new, profile={"id": other}, options=pairs({"extra": "0"}))
    assert row(cop, "profiles", other)["extra"] == "stays"


@pytest.mark.parametrize("code, fault", [
    ("", "Invalid code '': a code is 1 to 255 characters without spaces."),
    ("two words", "Invalid code 'two words': a code is 1 to 255 characters without spaces."),
    ("x" * 256, f"Invalid code '{'x' * 256}': a code is 1 to 255 characters without spaces."),
])
def test_profile_update_refuses_a_bad_code(api, cop, code, fault):
    db, _ = shop(api)
    pid = api("Database_createProfile", id=db).profile.id
    before = row(cop, "profiles", pid)
    assert api.fault("Profile_update", id=pid, code=code, extra="kept out") == fault
    assert row(cop, "profiles", pid) == before


def test_profile_codes_are_unique_in_their_database(api, cop):
    db, _ = shop(api)
    one, two = (api("Database_createProfile", id=db).profile for _ in range(2))
    before = row(cop, "profiles", two.id)
    assert api.fault("Profile_update", id=two.id, code=one.code) == \
        f"Code '{one.code}' is already the code of profile {one.id}."
    assert row(cop, "profiles", two.id) == before
    elsewhere = api("Database_createProfile", id=fresh_database(api)).profile.id
    assert api("Profile_update", id=elsewhere, code=one.code).profile.code == one.code


def test_profile_field_and_interest(api, cop):
    db, _ = shop(api)
    pid = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann", "Age": "7"})
              ).profile.id
    api("Profile_setInterest", id=pid, interest="news")
    age = api("Database_field", id=db, identifier="Age").field.id
    assert api("Profile_field", id=pid, identifier="name").value == "Ann"
    assert api("Profile_field", id=pid, identifier=str(age)).value == "7"
    assert api.fault("Profile_field", id=pid, identifier="Colour") == "Unknown field 'Colour'."
    [news, offers] = api("Database_interests", id=db).items.interest
    assert api("Profile_interest", id=pid, identifier="NEWS").value == "1"
    assert api("Profile_interest", id=pid, identifier=str(offers.id)).value == "0"
    assert api.fault("Profile_interest", id=pid, identifier="golf") == "Unknown interest 'golf'."
    # another database's field or interest is not this profile's
    other = fresh_database(api, interests=("golf",))
    golf = api("Database_interests", id=other).items.interest[0].id
    assert api.fault("Profile_interest", id=pid, identifier=str(golf)) == \
        f"Unknown interest '{golf}'."


def test_profile_sub_profile(api, cop):
    db, orders = shop(api)
    api("Database_createCollection", id=db, name="Returns")
    ann, bob = (api("Database_createProfile", id=db).profile.id for _ in range(2))
    mine = api("Profile_createSubProfile", id=ann, collection={"id": orders},
               fields=pairs({"Product": "Bike"})).subprofile.id
    theirs = api("Profile_createSubProfile", id=bob, collection={"id": orders}).subprofile.id
    got = api("Profile_subProfile", id=ann, identifier=mine).subprofile
    assert (got.id, as_dict(got.fields)["Product"]) == (mine, "Bike")
    assert api("Profile_subProfile", id=ann, collection="orders", identifier=mine
               ).subprofile.id == mine
    assert api("Profile_subProfile", id=ann, collection=str(orders), identifier=mine
               ).subprofile.id == mine
    assert api("Profile_subProfile", id=ann, collection="Returns", identifier=mine).value == "0"
    assert api("Profile_subProfile", id=ann, identifier=theirs).value == "0"
    assert api("Profile_subProfile", id=ann, identifier=UNKNOWN).value == "0"
    assert api.fault("Profile_subProfile", id=ann, collection="Wishes", identifier=mine) == \
        "Unknown collection 'Wishes'."


def test_displayed_fields(api, cop):
    db = fresh_database(api, fields=())
    api("Database_createField", id=db, name="Name", display=True)
    api("Database_createField", id=db, name="Secret")
    api("Database_createField", id=db, name="City", display=True)
    pid = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann", "Secret": "x",
                                                             "City": "Utrecht"})).profile.id
    assert as_dict(api("Profile_displayedFields", id=pid).map) == {"Name": "Ann",
                                                                  "City": "Utrecht"}
    city = api("Database_field", id=db, identifier="City").field.id
    api("Field_update", id=city, displayed=False)
    assert as_dict(api("Profile_displayedFields", id=pid).map) == {"Name": "Ann"}


def test_profile_unsubscribe_follows_the_database_behaviour(api, cop):
    db, orders = shop(api)
    cb = api("Database_createCallback", id=db, url=HOOK).callback.id
    pid = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann", "Age": "3"})
              ).profile.id
    sub = api("Profile_createSubProfile", id=pid, collection={"id": orders}).subprofile.id
    before = row(cop, "profiles", pid)
    assert api("Profile_unsubscribe", id=pid).value == "1"  # behaviour `nothing`
    assert row(cop, "profiles", pid) == before
    api("Database_update", id=db, unsubscribebehavior="update")
    api("Database_setUnsubscribeValues", id=db, fields=pairs({"Name": "gone", "Age": "0"}))
    assert api("Profile_unsubscribe", id=pid).value == "1"
    after = row(cop, "profiles", pid)
    assert after["fields"] == {"Email": "", "Name": "gone", "Age": "0"}
    assert after["modified"] > before["modified"]
    assert parameters(cop, cb)[-1] == {"Name": "gone", "Age": "0"}
    api("Database_update", id=db, unsubscribebehavior="remove")
    assert api("Profile_unsubscribe", id=pid).value == "1"
    assert cop.rows("SELECT id FROM profiles WHERE id=?", pid) == []
    assert cop.rows("SELECT id FROM subprofiles WHERE id=?", sub) == []
    assert deliveries(cop, cb) == [(f"profile:{pid}", "create"), (f"profile:{pid}", "update"),
                                   (f"profile:{pid}", "delete")]


def test_profile_unsubscribe_with_a_value_its_field_refuses(api, cop):
    db, _ = shop(api)
    pid = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann"})).profile.id
    api("Database_update", id=db, unsubscribebehavior="update")
    assert api.fault("Database_setUnsubscribeValues", id=db, fields=pairs({"Age": "none"})) == \
        "Value 'none' is not valid for field 'Age' of type integer."  # refused when set
    level = api("Database_createField", id=db, name="Level").field.id
    api("Database_setUnsubscribeValues", id=db, fields=pairs({"Name": "gone", "Level": "none"}))
    api("Field_update", id=level, type="integer")  # the stored value is one it refuses now
    before = row(cop, "profiles", pid)
    assert api.fault("Profile_unsubscribe", id=pid) == \
        "Value 'none' is not valid for field 'Level' of type integer."
    assert row(cop, "profiles", pid) == before


def test_email_address_valid(api, cop):
    db, _ = shop(api)
    good = api("Database_createProfile", id=db, fields=pairs({"Email": "ann@x.example"})
               ).profile.id
    empty = api("Database_createProfile", id=db).profile.id
    assert api("Profile_emailAddressValid", id=good).value == "yes"
    assert api("Profile_emailAddressValid", id=empty).value == "no"
    assert api("Profile_checkEmailAddress", id=good, background=True).value == "yes"
    assert api("Profile_checkEmailAddress", id=empty).value == "no"
    plain = fresh_database(api, fields=(("Name", "text"),))
    nobody = api("Database_createProfile", id=plain, fields=pairs({"Name": "a@x.example"})
                 ).profile.id
    assert api("Profile_emailAddressValid", id=nobody).value == "invalid_type"


# -- SubProfile ------------------------------------------------------------------------------


def test_subprofile_reads(api, cop):
    db, orders = shop(api)
    pid = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann"})).profile.id
    made = api("Profile_createSubProfile", id=pid, collection={"id": orders},
               fields=pairs({"Product": "Bike", "Total": "12", "Email": "a@x.example"})
               ).subprofile
    got = api("SubProfile_retrieve", id=made.id).subprofile
    assert (got.id, got.code, as_dict(got.fields)) == (
        made.id, made.code, {"Product": "Bike", "Total": "12", "Email": "a@x.example"})
    assert api("SubProfile_collection", id=made.id).collection.id == orders
    owner = api("SubProfile_profile", id=made.id).profile
    assert (owner.id, as_dict(owner.fields)["Name"]) == (pid, "Ann")
    total = api("Collection_field", id=orders, identifier="Total").collectionfield.id
    assert api("SubProfile_field", id=made.id, identifier="product").value == "Bike"
    assert api("SubProfile_field", id=made.id, identifier=str(total)).value == "12"
    assert api.fault("SubProfile_field", id=made.id, identifier="Name") == "Unknown field 'Name'."
    assert as_dict(api("SubProfile_fields", id=made.id).map) == as_dict(got.fields)
    assert as_dict(api("SubProfile_displayedFields", id=made.id).map) == {"Product": "Bike"}
    assert api("SubProfile_emailAddressValid", id=made.id).value == "yes"
    assert api("SubProfile_checkEmailAddress", id=made.id, background=False).value == "yes"
    before = row(cop, "subprofiles", made.id)
    assert api("SubProfile_rebuild", id=made.id).value == "1"
    views = api("SubProfile_miniViews", id=made.id)
    assert (views.length, views.total) == (0, 0) and not (views.items and views.items.miniview)
    assert row(cop, "subprofiles", made.id) == before
    api("Database_createCollection", id=db, name="Notes")
    notes = api("Database_collection", id=db, identifier="Notes").collection.id
    note = api("Profile_createSubProfile", id=pid, collection={"id": notes}).subprofile.id
    assert api("SubProfile_emailAddressValid", id=note).value == "invalid_type"


def test_subprofile_update_code(api, cop):
    db, orders = shop(api)
    cb = api("Collection_createCallback", id=orders, url=HOOK).callback.id
    pid = api("Database_createProfile", id=db).profile.id
    one, two = (api("Profile_createSubProfile", id=pid, collection={"id": orders}).subprofile
                for _ in range(2))
    before = row(cop, "subprofiles", one.id)
    got = api("SubProfile_update", id=one.id, code="order-secret").subprofile
    assert (got.id, got.code) == (one.id, "order-secret")
    after = row(cop, "subprofiles", one.id)
    assert after["code"] == "order-secret" and after["modified"] > before["modified"]
    assert api("SubProfile_update", id=one.id).subprofile.code == "order-secret"  # absent: kept
    assert api.fault("SubProfile_update", id=two.id, code="order-secret") == \
        f"Code 'order-secret' is already the code of subprofile {one.id}."
    assert api.fault("SubProfile_update", id=two.id, code="a b") == \
        "Invalid code 'a b': a code is 1 to 255 characters without spaces."
    assert row(cop, "subprofiles", two.id)["code"] == two.code
    assert deliveries(cop, cb) == [(f"subprofile:{one.id}", "create"),
                                   (f"subprofile:{two.id}", "create"),
                                   (f"subprofile:{one.id}", "update")]


def test_subprofile_move_merges_into_the_other_subprofile(api, cop):
    db, orders = shop(api)
    cb = api("Collection_createCallback", id=orders, url=HOOK).callback.id
    ann, bob = (api("Database_createProfile", id=db).profile.id for _ in range(2))
    old = api("Profile_createSubProfile", id=ann, collection={"id": orders},
              fields=pairs({"Product": "Bike", "Total": "0"})).subprofile
    new = api("Profile_createSubProfile", id=bob, collection={"id": orders},
              fields=pairs({"Product": "", "Total": "40"})).subprofile
    assert api("SubProfile_move", id=old.id, subprofile={"id": new.id},
               options=pairs({"ignoreempty": "1", "onlyempty": "yes"})).value == "1"
    assert cop.rows("SELECT id FROM subprofiles WHERE id=?", old.id) == []
    after = row(cop, "subprofiles", new.id)
    # Total 0 of the old one is no empty value, but the target's 40 is not empty: kept
    assert after["fields"] == {"Product": "Bike", "Total": "40", "Email": ""}
    assert (after["code"], after["profile_id"]) == (old.code, bob)
    assert deliveries(cop, cb)[-2:] == [(f"subprofile:{new.id}", "update"),
                                        (f"subprofile:{old.id}", "delete")]
    assert parameters(cop, cb)[-2] == {"Product": "Bike"}
    assert api.fault("SubProfile_retrieve", id=old.id) == f"Unknown subprofile {old.id}."


def test_subprofile_move_options_and_rules(api, cop):
    db, orders = shop(api)
    pid = api("Database_createProfile", id=db).profile.id
    one, two = (api("Profile_createSubProfile", id=pid, collection={"id": orders},
                    fields=pairs({"Product": name})).subprofile for name in ("One", "Two"))
    api("SubProfile_move", id=one.id, subprofile={"id": two.id},
        options=pairs({"fields": "0", "code": "false", "mailings": "1"}))
    assert cop.rows("SELECT id FROM subprofiles WHERE id=?", one.id) == []
    assert (row(cop, "subprofiles", two.id)["fields"]["Product"],
            row(cop, "subprofiles", two.id)["code"]) == ("Two", two.code)
    api("Database_createCollection", id=db, name="Notes")
    notes = api("Database_collection", id=db, identifier="Notes").collection.id
    note = api("Profile_createSubProfile", id=pid, collection={"id": notes}).subprofile.id
    before = row(cop, "subprofiles", two.id)
    assert api.fault("SubProfile_move", id=two.id, subprofile={"id": note}) == \
        f"Subprofile {note} is not in the collection of subprofile {two.id}."
    assert api.fault("SubProfile_move", id=two.id, subprofile={"id": two.id}) == \
        f"Subprofile {two.id} cannot be moved onto itself."
    assert api.fault("SubProfile_move", id=two.id, subprofile={}) == \
        "No subprofile given: subprofile {id} is required."
    assert api.fault("SubProfile_move", id=two.id, subprofile={"id": UNKNOWN}) == \
        f"Unknown subprofile {UNKNOWN}."
    assert row(cop, "subprofiles", two.id) == before
    assert row(cop, "subprofiles", note)["collection_id"] == notes


def set_collection_unsubscribe(cop, collection_id: int, behaviour: str, values: dict) -> None:
    """Give a collection an unsubscribe behaviour and values (this branch has no SOAP method
    that sets them: Collection_update and Collection_setUnsubscribeValues are another's)."""
    import sqlite3
    with sqlite3.connect(cop.db_path) as conn:
        conn.execute("UPDATE collections SET unsubscribebehavior=?, unsubscribe_values=? "
                     "WHERE id=?", [behaviour, json.dumps(values), collection_id])


def test_subprofile_unsubscribe_follows_the_collection_behaviour(api, cop):
    db, orders = shop(api)
    cb = api("Collection_createCallback", id=orders, url=HOOK).callback.id
    pid = api("Database_createProfile", id=db).profile.id
    sub = api("Profile_createSubProfile", id=pid, collection={"id": orders},
              fields=pairs({"Product": "Bike", "Total": "5"})).subprofile.id
    before = row(cop, "subprofiles", sub)
    assert api("SubProfile_unsubscribe", id=sub).value == "1"  # behaviour `nothing`
    assert row(cop, "subprofiles", sub) == before
    set_collection_unsubscribe(cop, orders, "update", {"Total": "0"})
    assert api("SubProfile_unsubscribe", id=sub).value == "1"
    assert row(cop, "subprofiles", sub)["fields"] == {"Product": "Bike", "Total": "0",
                                                      "Email": ""}
    set_collection_unsubscribe(cop, orders, "remove", {})
    assert api("SubProfile_unsubscribe", id=sub).value == "1"
    assert cop.rows("SELECT id FROM subprofiles WHERE id=?", sub) == []
    assert row(cop, "profiles", pid)["id"] == pid  # the profile stays
    assert deliveries(cop, cb) == [(f"subprofile:{sub}", "create"),
                                   (f"subprofile:{sub}", "update"),
                                   (f"subprofile:{sub}", "delete")]


# -- Field and CollectionField ---------------------------------------------------------------


def test_field_retrieve_database_and_remove(api, cop):
    db = fresh_database(api)
    cb = api("Database_createCallback", id=db, url=HOOK).callback.id
    age = api("Database_field", id=db, identifier="Age").field.id
    got = api("Field_retrieve", id=age).field
    assert (got.id, got.name, got.type) == (age, "Age", "integer")
    assert api("Field_database", id=age).database.id == db
    pid = api("Database_createProfile", id=db, fields=pairs({"Age": "4"})).profile.id
    api("Database_setUnsubscribeValues", id=db, fields=pairs({"Age": "0", "Name": "x"}))
    stamp = row(cop, "profiles", pid)["modified"]
    assert api("Field_remove", id=age).value == "1"
    assert cop.rows("SELECT id FROM database_fields WHERE id=?", age) == []
    assert row(cop, "profiles", pid)["fields"] == {"Email": "", "Name": ""}
    assert row(cop, "profiles", pid)["modified"] == stamp
    assert row(cop, "databases", db)["unsubscribe_values"] == {"Name": "x"}
    assert as_dict(api("Profile_fields", id=pid).map) == {"Email": "", "Name": ""}
    assert deliveries(cop, cb) == [(f"profile:{pid}", "create")]  # removal: no callback
    assert api.fault("Field_retrieve", id=age) == f"Unknown field {age}."
    # the name is free again; the new field starts from its default
    api("Database_createField", id=db, name="Age", type="integer", value="18")
    assert as_dict(api("Profile_fields", id=pid).map)["Age"] == "18"


def test_field_count_incompatible_profiles(api, cop):
    db = fresh_database(api, fields=(("Score", "text"),))
    score = api("Database_field", id=db, identifier="Score").field.id
    for value in ("12", "high", "", "7", "Low"):
        api("Database_createProfile", id=db, fields=pairs({"Score": value}))
    before = cop.rows("SELECT fields FROM profiles WHERE database_id=? ORDER BY id", db)

    def count(**options):
        return api("Field_countIncompatibleProfiles", id=score, **options).value

    assert count(type="integer") == "2"  # high, Low (empty is 0)
    assert count(type="text") == "0"
    assert count(type="date", length="10") == "5"  # an empty date is no date
    assert count(type="empty_date") == "4"
    assert count(type="select", options={"item": ["high", "low", "12"]}) == "1"  # 7
    assert count(type="email") == "4"
    assert cop.rows("SELECT fields FROM profiles WHERE database_id=? ORDER BY id", db) == before
    assert api.fault("Field_countIncompatibleProfiles", id=score, type="colour") == \
        "Unknown field type 'colour': expected one of integer, float, date, empty_date, " \
        "datetime, empty_datetime, text, email, phone_fax, phone_gsm, select, big."
    assert api.fault("Field_countIncompatibleProfiles", id=score, type="text", length="x") == \
        "Invalid length 'x': expected a whole number."
    assert row(cop, "database_fields", score)["type"] == "text"


def test_collection_field_methods(api, cop):
    db, orders = shop(api)
    cb = api("Collection_createCallback", id=orders, url=HOOK).callback.id
    total = api("Collection_field", id=orders, identifier="Total").collectionfield.id
    product = api("Collection_field", id=orders, identifier="Product").collectionfield.id
    got = api("CollectionField_retrieve", id=product).collectionfield
    assert (got.id, got.name, got.displayed) == (product, "Product", True)
    assert api("CollectionField_collection", id=product).collection.id == orders
    pid = api("Database_createProfile", id=db).profile.id
    subs = [api("Profile_createSubProfile", id=pid, collection={"id": orders},
                fields=pairs({"Product": name})).subprofile.id for name in ("5", "Bike", "")]
    assert api("CollectionField_countIncompatibleSubProfiles", id=product, type="float"
               ).value == "1"
    set_collection_unsubscribe(cop, orders, "update", {"Product": "-", "Total": "0"})
    assert api("CollectionField_remove", id=product).value == "1"
    assert [row(cop, "subprofiles", s)["fields"] for s in subs] == [
        {"Total": "0", "Email": ""}] * 3
    assert row(cop, "collections", orders)["unsubscribe_values"] == {"Total": "0"}
    assert [a for _, a in deliveries(cop, cb)] == ["create"] * 3
    assert api.fault("CollectionField_retrieve", id=product) == \
        f"Unknown collection field {product}."
    # a database field is no collection field, and the other way round
    name = api("Database_field", id=db, identifier="Name").field.id
    for method in ("CollectionField_retrieve", "CollectionField_collection",
                   "CollectionField_remove"):
        assert api.fault(method, id=name) == f"Unknown collection field {name}."
    for method in ("Field_retrieve", "Field_database", "Field_remove"):
        assert api.fault(method, id=total) == f"Unknown field {total}."
    assert sorted(r["id"] for r in cop.rows("SELECT id FROM database_fields WHERE id IN (?, ?)",
                                            name, total)) == sorted([name, total])


def test_field_rename_carries_collection_unsubscribe_values(api, cop):
    db, orders = shop(api)
    total = api("Collection_field", id=orders, identifier="Total").collectionfield.id
    set_collection_unsubscribe(cop, orders, "update", {"Total": "0"})
    api("CollectionField_update", id=total, name="Amount")
    assert row(cop, "collections", orders)["unsubscribe_values"] == {"Amount": "0"}


# -- Interest --------------------------------------------------------------------------------


def test_interest_retrieve_update_and_database(api, cop):
    db, _ = shop(api)
    cb = api("Database_createCallback", id=db, url=HOOK).callback.id
    news = api("Database_createInterest", id=db, name="sports", group="hobbies").interest
    pid = api("Database_createProfile", id=db).profile.id
    api("Profile_setInterest", id=pid, interest="sports")
    got = api("Interest_retrieve", id=news.id).interest
    assert (got.id, got.name, got.groupname, got.weight) == (news.id, "sports", "hobbies", 0)
    assert api("Interest_database", id=news.id).database.id == db
    stamp = row(cop, "profiles", pid)["modified"]
    assert api("Interest_update", id=news.id, name="football", weight=3).value == "1"
    assert row(cop, "interests", news.id) == {"id": news.id, "database_id": db,
                                              "name": "football", "groupname": "hobbies",
                                              "weight": 3}
    assert row(cop, "profiles", pid)["interests"] == {"football": 1}
    assert row(cop, "profiles", pid)["modified"] == stamp
    assert as_dict(api("Profile_interests", id=pid).map) == {"news": "0", "offers": "0",
                                                            "football": "1"}
    api("Interest_update", id=news.id, groupname="")
    got = api("Interest_retrieve", id=news.id).interest
    assert (got.name, got.groupname or "", got.weight) == ("football", "", 3)
    assert [i.weight for i in api("Database_interests", id=db).items.interest] == [0, 0, 3]
    assert api("Interest_update", id=news.id, name="Football").value == "1"  # its own name
    assert deliveries(cop, cb) == [(f"profile:{pid}", "create"), (f"profile:{pid}", "update")]


@pytest.mark.parametrize("name, fault", [
    ("offers", "There is already a field, interest or collection named 'offers'."),
    ("Name", "There is already a field, interest or collection named 'Name'."),
    ("Orders", "There is already a field, interest or collection named 'Orders'."),
    ("9x", "Invalid name '9x': a name starts with a letter or underscore and holds only "
           "letters, digits and underscores."),
])
def test_interest_update_rules(api, cop, name, fault):
    db, _ = shop(api)
    news = api("Database_interests", id=db).items.interest[0].id
    assert api.fault("Interest_update", id=news, name=name, weight=5) == fault
    assert row(cop, "interests", news)["name"] == "news"
    assert row(cop, "interests", news)["weight"] == 0


def test_interest_remove(api, cop):
    db, _ = shop(api)
    news = api("Database_interests", id=db).items.interest[0]
    pid = api("Database_createProfile", id=db).profile.id
    api("Profile_updateInterests", id=pid, interests={"item": ["news", "offers"]})
    assert api("Interest_remove", id=news.id).value == "1"
    assert cop.rows("SELECT id FROM interests WHERE id=?", news.id) == []
    assert row(cop, "profiles", pid)["interests"] == {"offers": 1}
    assert as_dict(api("Profile_interests", id=pid).map) == {"offers": "1"}
    assert api.fault("Interest_retrieve", id=news.id) == f"Unknown interest {news.id}."


# -- what every new method shares ------------------------------------------------------------


UNKNOWN_IDS = [
    ("Profile_retrieve", {}, "profile"), ("Profile_update", {"code": "c"}, "profile"),
    ("Profile_database", {}, "profile"), ("Profile_field", {"identifier": "x"}, "profile"),
    ("Profile_interest", {"identifier": "x"}, "profile"),
    ("Profile_subProfile", {"identifier": 1}, "profile"),
    ("Profile_displayedFields", {}, "profile"), ("Profile_unsubscribe", {}, "profile"),
    ("Profile_rebuild", {}, "profile"), ("Profile_views", {}, "profile"),
    ("Profile_checkEmailAddress", {}, "profile"), ("Profile_emailAddressValid", {}, "profile"),
    ("SubProfile_retrieve", {}, "subprofile"), ("SubProfile_update", {"code": "c"}, "subprofile"),
    ("SubProfile_collection", {}, "subprofile"), ("SubProfile_profile", {}, "subprofile"),
    ("SubProfile_field", {"identifier": "x"}, "subprofile"),
    ("SubProfile_fields", {}, "subprofile"), ("SubProfile_displayedFields", {}, "subprofile"),
    ("SubProfile_move", {"subprofile": {"id": 1}}, "subprofile"),
    ("SubProfile_unsubscribe", {}, "subprofile"), ("SubProfile_rebuild", {}, "subprofile"),
    ("SubProfile_miniViews", {}, "subprofile"),
    ("SubProfile_checkEmailAddress", {}, "subprofile"),
    ("SubProfile_emailAddressValid", {}, "subprofile"),
    ("Field_retrieve", {}, "field"), ("Field_database", {}, "field"),
    ("Field_remove", {}, "field"), ("Field_countIncompatibleProfiles", {"type": "text"}, "field"),
    ("CollectionField_retrieve", {}, "collection field"),
    ("CollectionField_collection", {}, "collection field"),
    ("CollectionField_remove", {}, "collection field"),
    ("CollectionField_countIncompatibleSubProfiles", {"type": "text"}, "collection field"),
    ("Interest_retrieve", {}, "interest"), ("Interest_update", {"name": "x"}, "interest"),
    ("Interest_remove", {}, "interest"), ("Interest_database", {}, "interest"),
]


@pytest.mark.parametrize("method, extra, kind", UNKNOWN_IDS, ids=[m for m, _, _ in UNKNOWN_IDS])
def test_an_unknown_id_is_a_fault(api, method, extra, kind):
    assert api.fault(method, id=UNKNOWN, **extra) == f"Unknown {kind} {UNKNOWN}."


def test_another_accounts_objects_are_unknown(api, cop):
    db, orders = shop(api)
    pid = api("Database_createProfile", id=db).profile.id
    sub = api("Profile_createSubProfile", id=pid, collection={"id": orders}).subprofile.id
    name = api("Database_field", id=db, identifier="Name").field.id
    news = api("Database_interests", id=db).items.interest[0].id
    agency = Api(cop, token=AGENCY)
    assert agency.fault("Profile_retrieve", id=pid) == f"Unknown profile {pid}."
    assert agency.fault("SubProfile_update", id=sub, code="x") == f"Unknown subprofile {sub}."
    assert agency.fault("Field_remove", id=name) == f"Unknown field {name}."
    assert agency.fault("Interest_remove", id=news) == f"Unknown interest {news}."
    assert row(cop, "database_fields", name)["name"] == "Name"
    assert row(cop, "interests", news)["name"] == "news"


def test_writes_are_refused_with_a_read_only_token(api, cop):
    db, _ = shop(api)
    pid = api("Database_createProfile", id=db).profile.id
    news = api("Database_interests", id=db).items.interest[0].id
    before = (row(cop, "profiles", pid), row(cop, "interests", news))
    reader = Api(cop, token=READ_ONLY)
    assert reader.fault("Profile_update", id=pid, code="x") == "Access token is read-only."
    assert reader.fault("Interest_update", id=news, name="x") == "Access token is read-only."
    assert reader.fault("Interest_remove", id=news) == "Access token is read-only."
    assert (row(cop, "profiles", pid), row(cop, "interests", news)) == before
    assert reader("Profile_retrieve", id=pid).profile.id == pid
    assert reader("Interest_retrieve", id=news).interest.name == "news"
