"""The data model methods of the Database, Collection and Callback objects: self-lookups,
copies, distinct values, special and displayed fields, unsubscribe behaviour, callback sources,
and the empty views; each over zeep, asserting the answer and the store."""
import json
from urllib.parse import parse_qs

import pytest

from copernica_harness import (AGENCY, READ_ONLY, TOKEN, Api, as_dict, copernica_server,
                               fresh_database, pairs)
from test_backclick_bad_input import client_fault
from test_copernica_bad_input import envelope, post
from mockserver.vendors import fixtures
from mockserver.vendors.store import open_store

HOOK = "http://127.0.0.1:9/hook"  # nothing listens: deliveries stay queued or fail


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("database_model"))
    yield running
    running.stop()


@pytest.fixture
def api(cop):
    """A client of account 1."""
    return Api(cop)


def customers(api) -> int:
    """The id of the fixtures' filled database of account 1."""
    return api("Account_database", identifier="Customers").database.id


def with_orders(api, fields=(("OrderNo", "integer"), ("Product", "text"))) -> tuple[int, int]:
    """A fresh database with a collection Orders and its fields; (database, collection)."""
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    for name, kind in fields:
        api("Collection_createField", id=orders, name=name, type=kind)
    return db, orders


def profile(api, db: int, **values) -> int:
    """A new profile of ``db``; its id."""
    return api("Database_createProfile", id=db, fields=pairs(values)).profile.id


def subprofile(api, pid: int, collection: int, **values) -> int:
    """A new subprofile of profile ``pid`` in ``collection``; its id."""
    return api("Profile_createSubProfile", id=pid, collection={"id": collection},
               fields=pairs(values)).subprofile.id


def deliveries(cop, callback_id) -> list[tuple[str, str]]:
    """(record, action) of a callback's queued deliveries, in order."""
    return [(r["record"], r["action"]) for r in cop.rows(
        "SELECT record, action FROM callback_deliveries WHERE callback_id=? ORDER BY id",
        callback_id)]


def stored(cop, table: str, record_id: int) -> dict | None:
    """A (sub)profile's field values as the store keeps them, or None when it is gone."""
    rows = cop.rows(f"SELECT fields FROM {table} WHERE id=?", record_id)
    return json.loads(rows[0]["fields"]) if rows else None


# -- self-lookups ------------------------------------------------------------------------


def test_database_and_collection_lookups_of_their_owners(api, cop):
    db = customers(api)
    assert api("Database_account", id=db).account.name == "Shop"
    assert cop.rows("SELECT name FROM accounts WHERE id=1") == [{"name": "Shop"}]
    itself = api("Database_database", id=db).database
    assert (itself.id, itself.name, itself.countprofiles) == (db, "Customers", 4)
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    assert api("Collection_database", id=orders).database.id == db
    again = api("Collection_collection", id=orders).collection
    assert (again.id, again.name, again.countsubprofiles) == (orders, "Orders", 2)
    for method in ("Database_account", "Database_database"):
        assert api.fault(method, id=999999) == "Unknown database 999999."
    for method in ("Collection_database", "Collection_collection"):
        assert api.fault(method, id=999999) == "Unknown collection 999999."
    other = Api(cop, token=AGENCY)
    assert other.fault("Database_database", id=db) == f"Unknown database {db}."
    assert other.fault("Collection_collection", id=orders) == f"Unknown collection {orders}."


# -- Database_copy -------------------------------------------------------------------------


def test_copy_takes_the_structure_not_the_records(api, cop):
    db, orders = with_orders(api)
    api("Database_createField", id=db, name="Phone", type="phone_gsm", display=True,
        length="20")
    api("Database_createInterest", id=db, name="news", group="letters")
    api("Database_update", id=db, description="Leads", unsubscribebehavior="update")
    api("Database_setUnsubscribeValues", id=db, fields=pairs({"Name": "gone"}))
    api("Collection_update", id=orders, weight=4, unsubscribebehavior="remove")
    api("Collection_setUnsubscribeValues", id=orders, fields=pairs({"Product": "none"}))
    api("Database_createCallback", id=db, url=HOOK)
    api("Database_createContactType", id=db, name="Call")
    subprofile(api, profile(api, db, Name="Ann"), orders, OrderNo="1")
    source = api("Database_retrieve", id=db).database
    copy = api("Database_copy", id=db, target=source.name + "_copy").database
    assert (copy.name, copy.description, copy.unsubscribebehavior, copy.countprofiles) == \
        (source.name + "_copy", "Leads", "update", 0)
    assert copy.id != db
    assert as_dict(api("Database_unsubscribeValues", id=copy.id).map) == {"Name": "gone"}
    fields = api("Database_fields", id=copy.id).items.field
    assert [(f.name, f.type) for f in fields] == [
        ("Email", "email"), ("Name", "text"), ("Age", "integer"), ("Phone", "phone_gsm")]
    assert (fields[3].displayed, fields[3].length) == (True, "20")
    assert [(i.name, i.groupname) for i in api("Database_interests", id=copy.id).items.interest] \
        == [("news", "letters")]
    [copied] = api("Database_collections", id=copy.id).items.collection
    assert (copied.name, copied.weight, copied.unsubscribebehavior, copied.countsubprofiles) == \
        ("Orders", 4, "remove", 0)
    assert copied.id != orders
    assert [f.name for f in api("Collection_fields", id=copied.id).items.collectionfield] == \
        ["OrderNo", "Product"]
    assert as_dict(api("Collection_unsubscribeValues", id=copied.id).map) == {"Product": "none"}
    assert cop.rows("SELECT COUNT(*) AS n FROM database_fields WHERE database_id=?", copy.id) == \
        [{"n": 6}]
    assert [t.name for t in api("Database_contactTypes", id=copy.id).items.contacttype] == \
        ["Call"]
    assert cop.rows("SELECT * FROM profiles WHERE database_id=?", copy.id) == []
    assert cop.rows("SELECT * FROM callbacks WHERE database_id=?", copy.id) == []  # not copied
    assert api("Database_fields", id=db).total == 4  # the source is as it was
    assert api("Database_retrieve", id=db).database.countprofiles == 1


def test_copy_with_profiles_and_subprofiles(api, cop):
    db, orders = with_orders(api)
    api("Database_createInterest", id=db, name="news")
    ann = profile(api, db, Name="Ann", Age="31")
    api("Profile_setInterest", id=ann, interest="news", value=True)
    api("Profile_update", id=ann, extra="vip")
    subprofile(api, ann, orders, OrderNo="7", Product="Bike")
    profile(api, db, Name="Bo")
    name = f"Copy{db}"
    copy = api("Database_copy", id=db, database={"name": name},
               options={"item": ["Profiles", "subprofiles"]}).database
    assert (copy.name, copy.countprofiles) == (name, 2)
    found = api("Database_profiles", id=copy.id, allproperties=True).items.profile
    assert [as_dict(p.fields)["Name"] for p in found] == ["Ann", "Bo"]
    assert as_dict(found[0].interests) == {"news": "1"} and as_dict(found[0].fields)["Age"] == "31"
    assert (found[0].extra, found[1].extra) == ("vip", None)
    originals = {r["code"] for r in cop.rows("SELECT code FROM profiles WHERE database_id=?", db)}
    assert not originals & {p.code for p in found}  # new codes
    [new_orders] = api("Database_collections", id=copy.id).items.collection
    [sub] = api("Profile_subProfiles", id=found[0].id, collection={"id": new_orders.id},
                allproperties=True).items.subprofile
    assert as_dict(sub.fields) == {"OrderNo": "7", "Product": "Bike"}
    assert cop.rows("SELECT collection_id, profile_id FROM subprofiles WHERE id=?", sub.id) == \
        [{"collection_id": new_orders.id, "profile_id": found[0].id}]
    without = api("Database_copy", id=db, target=name + "b", options={"item": ["profiles"]})
    assert api("Database_profiles", id=without.database.id).total == 2
    [bare] = api("Database_collections", id=without.database.id).items.collection
    assert bare.countsubprofiles == 0  # subprofiles only when asked


def test_copy_faults_change_nothing(api, cop):
    db = fresh_database(api)
    taken = api("Database_retrieve", id=db).database.name
    before = cop.rows("SELECT COUNT(*) AS n FROM databases")
    assert api.fault("Database_copy", id=db, target=taken.upper()) == \
        f"A database named '{taken.upper()}' already exists."
    assert api.fault("Database_copy", id=db) == "A database needs a name."
    assert api.fault("Database_copy", id=db, target="X1", options={"item": ["everything"]}) == \
        "Unknown copy option 'everything': expected one of structure, force, collections, " \
        "miniviews, views, profiles, subprofiles, exactlinks."
    assert api.fault("Database_copy", id=999999, target="X2") == "Unknown database 999999."
    assert Api(cop, token=READ_ONLY).fault("Database_copy", id=db, target="X3") == \
        "Access token is read-only."
    assert cop.rows("SELECT COUNT(*) AS n FROM databases") == before


# -- distinct values ----------------------------------------------------------------------


def test_distinct_profiles_and_their_count(api, cop):
    db = customers(api)  # cities Amsterdam, Rotterdam, amsterdam, Utrecht; ages 34, 19, 52, 34
    count = lambda *names: api("Database_countDistinctProfiles", id=db,  # noqa: E731
                               fields={"item": list(names)}).value
    assert (count("City"), count("age"), count("City", "Age"), count("Email")) == \
        ("3", "3", "4", "4")
    assert count("City", "Nope") == "3"  # unknown names are ignored
    found = api("Database_distinctProfiles", id=db, fields={"item": ["city"]})
    assert (found.start, found.length, found.total, found.allproperties) == (0, 3, 3, None)
    assert [as_dict(p.fields) for p in found.items.profile] == [
        {"City": "Amsterdam"}, {"City": "Rotterdam"}, {"City": "Utrecht"}]
    assert found.items.profile[0].interests is None
    first = api("Database_searchProfiles", id=db, length=1).items.profile[0]
    assert found.items.profile[0].id == first.id  # the first profile of its combination
    ordered = api("Database_distinctProfiles", id=db, fields={"item": ["City"]}, order="City",
                  asc=False, start=1, length=1, allproperties=True)
    assert (ordered.start, ordered.length, ordered.total, ordered.allproperties) == (1, 1, 3, True)
    [rotterdam] = ordered.items.profile
    assert as_dict(rotterdam.fields)["FirstName"] == "Bert" and rotterdam.interests is not None
    assert api.fault("Database_distinctProfiles", id=db, fields={"item": []}) == \
        "No fields given: fields names the fields to be distinct by."
    assert api.fault("Database_countDistinctProfiles", id=999999, fields={"item": ["City"]}) == \
        "Unknown database 999999."
    body = (f"<c:Database_countDistinctProfiles><parameters><c:id>{db}</c:id><c:access_token>"
            f"{TOKEN}</c:access_token></parameters></c:Database_countDistinctProfiles>")
    assert client_fault(*post(cop, envelope(body))) == \
        "Element 'access_token': This element is not expected. Expected is ( fields ). (line 1)"


def test_distinct_subprofiles_and_their_count(api):
    db, orders = with_orders(api)
    ann, bo = profile(api, db, Name="Ann"), profile(api, db, Name="Bo")
    for pid, number, product in ((ann, "1", "Bike"), (ann, "2", "bike"), (bo, "3", "Bell"),
                                 (bo, "03", "Bell")):
        subprofile(api, pid, orders, OrderNo=number, Product=product)
    count = lambda *names: api("Collection_countDistinctSubProfiles", id=orders,  # noqa: E731
                               fields={"item": list(names)}).value
    assert (count("Product"), count("OrderNo"), count("Product", "OrderNo")) == ("2", "3", "3")
    found = api("Collection_distinctSubProfiles", id=orders, fields={"item": ["Product"]},
                order="Product")
    assert [as_dict(s.fields) for s in found.items.subprofile] == [
        {"Product": "Bell"}, {"Product": "Bike"}]
    assert found.total == 2
    assert api.fault("Collection_distinctSubProfiles", id=999999, fields={"item": ["x"]}) == \
        "Unknown collection 999999."


# -- field and interest lookups -----------------------------------------------------------------


def test_displayed_ordered_and_special_fields(api):
    db, orders = with_orders(api, fields=())
    assert api("Database_orderedField", id=db).value == "0"
    assert api("Database_displayedFields", id=db).total == 0
    shown = api("Database_createField", id=db, name="Shown", display=True, ordered=True).field
    gsm = api("Database_createField", id=db, name="Mobile", type="phone_gsm", display=True).field
    listed = api("Database_displayedFields", id=db, start=1)
    assert (listed.total, [f.id for f in listed.items.field]) == (2, [gsm.id])
    assert api("Database_orderedField", id=db).field.id == shown.id
    email = api("Database_field", id=db, identifier="Email").field.id
    assert api("Database_specialContentField", id=db, specialContent="email").field.id == email
    assert api("Database_specialTypeField", id=db, type="PHONE_GSM").field.id == gsm.id
    assert api("Database_specialTypeField", id=db, type="phone_fax").value == "0"
    assert api("Database_specialTypeField", id=db, type="text").value == "0"
    assert api.fault("Database_orderedField", id=999999) == "Unknown database 999999."
    assert api("Collection_orderedField", id=orders).value == "0"
    mail = api("Collection_createField", id=orders, name="Mail", type="email", display=True,
               ordered=True).collectionfield
    api("Collection_createField", id=orders, name="Note")
    assert [f.name for f in api("Collection_displayedFields", id=orders).items.collectionfield] \
        == ["Mail"]
    assert api("Collection_orderedField", id=orders).collectionfield.id == mail.id
    assert api("Collection_specialContentField", id=orders,
               specialContent="email").collectionfield.id == mail.id
    assert api("Collection_specialTypeField", id=orders, type="email").collectionfield.id == \
        mail.id
    assert api("Collection_specialTypeField", id=orders, type="phone_gsm").value == "0"
    assert api.fault("Collection_displayedFields", id=999999) == "Unknown collection 999999."


def test_database_interest_by_name_or_id(api):
    db = fresh_database(api, interests=("football", "tennis"))
    tennis = api("Database_interest", id=db, identifier="TENNIS").interest
    assert tennis.name == "tennis"
    assert api("Database_interest", id=db, identifier=str(tennis.id)).interest.name == "tennis"
    assert api("Database_interest", id=db, identifier="golf").value == "0"
    other = fresh_database(api, interests=("golf",))
    golf = api("Database_interest", id=other, identifier="golf").interest.id
    assert api("Database_interest", id=db, identifier=str(golf)).value == "0"
    assert api.fault("Database_interest", id=999999, identifier="x") == "Unknown database 999999."


# -- rebuild and views -------------------------------------------------------------------------


def test_rebuild_and_the_empty_views(api, cop):
    db, orders = with_orders(api)
    assert api("Database_rebuild", id=db).value == "1"
    assert api("Collection_rebuild", id=orders).value == "1"
    views = api("Database_allViews", id=db, allproperties=True)
    assert (views.start, views.length, views.total) == (0, 0, 0)
    assert api("Database_view", id=db, identifier="Buyers").value == "0"
    minis = api("Collection_miniViews", id=orders)
    assert (minis.length, minis.total) == (0, 0) and not (minis.items and minis.items.miniview)
    assert api("Collection_miniView", id=orders, identifier="1").value == "0"
    assert api.fault("Database_allViews", id=999999) == "Unknown database 999999."
    assert api.fault("Collection_miniView", id=999999, identifier="x") == \
        "Unknown collection 999999."
    assert Api(cop, token=READ_ONLY).fault("Database_rebuild", id=db) == \
        "Access token is read-only."


# -- Collection_update and unsubscribe values ------------------------------------------------


def test_collection_update(api, cop):
    db, orders = with_orders(api)
    assert api("Collection_update", id=orders, name="Purchases", weight=3).value == "1"
    got = api("Collection_retrieve", id=orders).collection
    assert (got.name, got.weight, got.unsubscribebehavior) == ("Purchases", 3, "nothing")
    assert api("Collection_update", id=orders, unsubscribebehavior="update").value == "1"
    assert cop.rows("SELECT name, weight, unsubscribebehavior FROM collections WHERE id=?",
                    orders) == [{"name": "Purchases", "weight": 3, "unsubscribebehavior": "update"}]
    assert api("Collection_update", id=orders, name="PURCHASES").value == "1"  # its own name
    assert api("Database_collection", id=db, identifier="purchases").collection.id == orders


@pytest.mark.parametrize("changes, fault", [
    ({"name": "Email"}, "There is already a field, interest or collection named 'Email'."),
    ({"name": "Wishes"}, "There is already a field, interest or collection named 'Wishes'."),
    ({"name": "two words"}, "Invalid name 'two words': a name starts with a letter or underscore "
                            "and holds only letters, digits and underscores."),
    ({"name": ""}, "Invalid name '': a name starts with a letter or underscore and holds only "
                   "letters, digits and underscores."),
    ({"weight": 2, "unsubscribebehavior": "delete"},
     "Invalid unsubscribebehavior 'delete': expected nothing, remove, update."),
])
def test_collection_update_rules_change_nothing(api, cop, changes, fault):
    db, orders = with_orders(api)
    api("Database_createCollection", id=db, name="Wishes")
    before = cop.rows("SELECT * FROM collections WHERE id=?", orders)
    assert api.fault("Collection_update", id=orders, **changes) == fault
    assert cop.rows("SELECT * FROM collections WHERE id=?", orders) == before
    assert api.fault("Collection_update", id=999999, weight=1) == "Unknown collection 999999."


def test_collection_unsubscribe_values(api, cop):
    _, orders = with_orders(api)
    assert as_dict(api("Collection_unsubscribeValues", id=orders).map) == {}
    assert api("Collection_setUnsubscribeValues", id=orders,
               fields=pairs({"product": "cancelled", "OrderNo": "-1", "Nope": "x"})).value == "1"
    assert as_dict(api("Collection_unsubscribeValues", id=orders).map) == \
        {"Product": "cancelled", "OrderNo": "-1"}
    assert api.fault("Collection_setUnsubscribeValues", id=orders,
                     fields=pairs({"OrderNo": "none"})) == \
        "Value 'none' is not valid for field 'OrderNo' of type integer."
    [row] = cop.rows("SELECT unsubscribe_values FROM collections WHERE id=?", orders)
    assert json.loads(row["unsubscribe_values"]) == {"Product": "cancelled", "OrderNo": "-1"}
    product = api("Collection_field", id=orders, identifier="Product").collectionfield.id
    api("CollectionField_update", id=product, name="Item")  # a new name is carried over
    assert as_dict(api("Collection_unsubscribeValues", id=orders).map) == \
        {"Item": "cancelled", "OrderNo": "-1"}
    assert api.fault("Collection_unsubscribeValues", id=999999) == "Unknown collection 999999."


def test_database_unsubscribe_values_are_checked_against_their_types(api):
    db = fresh_database(api)
    assert api.fault("Database_setUnsubscribeValues", id=db, fields=pairs({"Age": "old"})) == \
        "Value 'old' is not valid for field 'Age' of type integer."
    assert as_dict(api("Database_unsubscribeValues", id=db).map) == {}


# -- unsubscribing ---------------------------------------------------------------------------


def test_collection_unsubscribe_follows_the_behaviour(api, cop):
    db, orders = with_orders(api)
    cb = api("Collection_createCallback", id=orders, url=HOOK).callback.id
    pid = profile(api, db, Name="Ann")
    kept, updated, removed = (subprofile(api, pid, orders, Product=p) for p in ("a", "b", "c"))
    api("Collection_setUnsubscribeValues", id=orders, fields=pairs({"Product": "unsubscribed"}))
    assert api("Collection_unsubscribe", id=orders, subprofile={"id": kept}).value == "1"
    assert stored(cop, "subprofiles", kept) == {"OrderNo": "0", "Product": "a"}  # nothing
    api("Collection_update", id=orders, unsubscribebehavior="update")
    assert api("Collection_unsubscribe", id=orders, subprofile={"id": updated}).value == "1"
    assert stored(cop, "subprofiles", updated) == {"OrderNo": "0", "Product": "unsubscribed"}
    api("Collection_update", id=orders, unsubscribebehavior="remove")
    assert api("Collection_unsubscribe", id=orders, subprofile={"id": removed}).value == "1"
    assert stored(cop, "subprofiles", removed) is None
    assert deliveries(cop, cb)[3:] == [(f"subprofile:{updated}", "update"),
                                       (f"subprofile:{removed}", "delete")]
    [body] = cop.rows("SELECT body FROM callback_deliveries WHERE callback_id=? AND "
                      "action='update'", cb)
    payload = json.loads(parse_qs(body["body"].decode())["json"][0])
    assert payload["parameters"] == {"Product": "unsubscribed"}


def test_collection_unsubscribe_faults_change_nothing(api, cop):
    db, orders = with_orders(api)
    api("Database_createCollection", id=db, name="Returns")
    returns = api("Database_collection", id=db, identifier="Returns").collection.id
    api("Collection_update", id=orders, unsubscribebehavior="remove")
    elsewhere = subprofile(api, profile(api, db), returns)
    assert api.fault("Collection_unsubscribe", id=orders, subprofile={"id": elsewhere}) == \
        f"Subprofile {elsewhere} is not in collection {orders}."
    assert stored(cop, "subprofiles", elsewhere) == {}
    assert api.fault("Collection_unsubscribe", id=orders, subprofile={"id": 999999}) == \
        "Unknown subprofile 999999."
    assert api.fault("Collection_unsubscribe", id=orders, subprofile={}) == \
        "No subprofile given: subprofile {id} is required."
    assert api.fault("Collection_unsubscribe", id=999999, subprofile={"id": elsewhere}) == \
        "Unknown collection 999999."


def test_database_apply_unsubscribe_behavior(api, cop):
    db, orders = with_orders(api)
    cb = api("Database_createCallback", id=db, url=HOOK).callback.id
    gone = profile(api, db, Name="Unsubscribed", Age="1")
    sub = subprofile(api, gone, orders, Product="x")
    stays = profile(api, db, Name="unsubscribed", Age="2")  # not every value matches
    other = profile(api, db, Name="Ann", Age="1")
    api("Database_update", id=db, unsubscribebehavior="remove")
    assert api("Database_applyUnsubscribeBehavior", id=db).value == "1"  # no values: none marked
    assert api("Database_retrieve", id=db).database.countprofiles == 3
    api("Database_setUnsubscribeValues", id=db, fields=pairs({"Name": "unsubscribed", "Age": "1"}))
    api("Database_update", id=db, unsubscribebehavior="update")
    assert api("Database_applyUnsubscribeBehavior", id=db).value == "1"  # they have the values
    assert api("Database_retrieve", id=db).database.countprofiles == 3
    api("Database_update", id=db, unsubscribebehavior="remove")
    assert api("Database_applyUnsubscribeBehavior", id=db).value == "1"
    assert [r["id"] for r in cop.rows("SELECT id FROM profiles WHERE database_id=? ORDER BY id",
                                      db)] == [stays, other]
    assert stored(cop, "subprofiles", sub) is None
    assert deliveries(cop, cb)[-1] == (f"profile:{gone}", "delete")
    assert api.fault("Database_applyUnsubscribeBehavior", id=999999) == \
        "Unknown database 999999."


def test_collection_apply_unsubscribe_behavior(api, cop):
    db, orders = with_orders(api)
    cb = api("Collection_createCallback", id=orders, url=HOOK).callback.id
    pid = profile(api, db)
    marked, unmarked = subprofile(api, pid, orders, Product="STOP"), subprofile(api, pid, orders)
    api("Collection_setUnsubscribeValues", id=orders, fields=pairs({"Product": "stop"}))
    assert api("Collection_applyUnsubscribeBehavior", id=orders).value == "1"  # nothing
    assert stored(cop, "subprofiles", marked) is not None
    api("Collection_update", id=orders, unsubscribebehavior="remove")
    assert api("Collection_applyUnsubscribeBehavior", id=orders).value == "1"
    assert stored(cop, "subprofiles", marked) is None
    assert stored(cop, "subprofiles", unmarked) is not None
    assert deliveries(cop, cb)[-1] == (f"subprofile:{marked}", "delete")
    assert Api(cop, token=READ_ONLY).fault("Collection_applyUnsubscribeBehavior", id=orders) == \
        "Access token is read-only."


# -- callbacks ---------------------------------------------------------------------------------


def test_collection_callbacks_and_callback_sources(api, cop):
    db, orders = with_orders(api)
    on_db = api("Database_createCallback", id=db, url=HOOK).callback.id
    on_orders = api("Collection_createCallback", id=orders, url=HOOK + "/o").callback.id
    assert api("Collection_callback", id=orders, identifier=on_orders).callback.url == HOOK + "/o"
    assert api("Collection_callback", id=orders, identifier=on_db).value == "0"
    assert [c.id for c in api("Collection_callbacks", id=orders).items.callback] == [on_orders]
    assert api("Callback_database", id=on_db).database.id == db
    assert api("Callback_database", id=on_orders).value == "0"
    assert api("Callback_collection", id=on_orders).collection.id == orders
    assert api("Callback_collection", id=on_db).value == "0"
    assert api.fault("Collection_callbacks", id=999999) == "Unknown collection 999999."
    assert api.fault("Callback_database", id=999999) == "Unknown callback 999999."
    assert Api(cop, token=AGENCY).fault("Callback_collection", id=on_orders) == \
        f"Unknown callback {on_orders}."


def test_callback_set_source_moves_the_callback(api, cop):
    db, orders = with_orders(api)
    other = fresh_database(api)
    cb = api("Database_createCallback", id=db, url=HOOK).callback.id
    assert api("Callback_setSource", id=cb, collection={"id": orders}).value == "1"
    assert cop.rows("SELECT database_id, collection_id FROM callbacks WHERE id=?", cb) == \
        [{"database_id": None, "collection_id": orders}]
    assert api("Callback_source", id=cb).collection.id == orders
    assert api("Database_callbacks", id=db).total == 0
    pid = profile(api, db, Name="Ann")
    sid = subprofile(api, pid, orders, Product="Bike")
    assert deliveries(cop, cb) == [(f"subprofile:{sid}", "create")]
    assert api("Callback_setSource", id=cb, database={"id": other}).value == "1"
    assert cop.rows("SELECT database_id, collection_id FROM callbacks WHERE id=?", cb) == \
        [{"database_id": other, "collection_id": None}]
    assert [c.id for c in api("Database_callbacks", id=other).items.callback] == [cb]
    moved = profile(api, other, Name="Bo")
    api("Profile_updateFields", id=pid, fields=pairs({"Name": "Anna"}))  # the old source
    assert deliveries(cop, cb)[1:] == [(f"profile:{moved}", "create")]


def test_callback_set_source_faults_change_nothing(api, cop):
    db, orders = with_orders(api)
    cb = api("Database_createCallback", id=db, url=HOOK).callback.id
    agency_db = Api(cop, token=AGENCY)("Account_database", identifier="Customers").database.id
    before = cop.rows("SELECT * FROM callbacks WHERE id=?", cb)
    assert api.fault("Callback_setSource", id=cb, database={"id": 999999}) == \
        "Unknown database 999999."
    assert api.fault("Callback_setSource", id=cb, database={"id": agency_db}) == \
        f"Unknown database {agency_db}."
    assert api.fault("Callback_setSource", id=cb, collection={"id": 999999}) == \
        "Unknown collection 999999."
    assert api.fault("Callback_setSource", id=cb) == \
        "Give one source: database {id} or collection {id}."
    assert api.fault("Callback_setSource", id=cb, database={"id": db},
                     collection={"id": orders}) == \
        "Give one source: database {id} or collection {id}."
    assert api.fault("Callback_setSource", id=999999, database={"id": db}) == \
        "Unknown callback 999999."
    assert cop.rows("SELECT * FROM callbacks WHERE id=?", cb) == before


# -- the store's new collection properties survive an export ---------------------------------


def test_collection_weight_and_unsubscribe_values_round_trip(tmp_path):
    server = copernica_server(tmp_path)
    try:
        api = Api(server)
        orders = api("Database_collection", id=customers(api), identifier="Orders").collection.id
        api("Collection_update", id=orders, weight=-2, unsubscribebehavior="update")
        api("Collection_setUnsubscribeValues", id=orders, fields=pairs({"Product": "none"}))
    finally:
        server.stop()
    document = fixtures.export(open_store(str(server.db_path)))
    [exported] = document["copernica"]["accounts"][0]["databases"][0]["collections"]
    assert (exported["weight"], exported["unsubscribeBehavior"], exported["unsubscribeValues"]) \
        == (-2, "update", {"Product": "none"})
    second = open_store(str(tmp_path / "second.db"))
    second.migrate()
    fixtures.seed(second, fixtures.parse_text(fixtures.dumps(document), "export.yaml"))
    assert fixtures.export(second) == document
