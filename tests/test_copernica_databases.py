"""Copernica databases: create/retrieve/update/remove, fields and their rules, interests,
collections and collection fields, unsubscribe values."""
import pytest

from copernica_harness import Api, as_dict, copernica_server, fresh_database, pairs


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("databases"))
    yield running
    running.stop()


@pytest.fixture
def api(cop):
    """A client of account 1."""
    return Api(cop)


def test_create_retrieve_lookup_update_remove(api, cop):
    created = api("Account_createDatabase", name="Leads").database
    assert (created.name, created.description, created.countprofiles) == ("Leads", None, 0)
    assert created.unsubscribebehavior == "nothing" and created.archived is False
    assert created.lastbuilt is None  # answered empty: the mock builds no selections
    assert api("Database_update", id=created.id, description="From the fair").value == "1"
    assert len(created.created) == 19 and created.created[10] == " "
    assert api("Account_database", identifier="leads").database.id == created.id
    assert api("Account_database", identifier=str(created.id)).database.name == "Leads"
    assert api("Account_database", identifier="Nope").value == "0"
    assert api.fault("Account_createDatabase", name="LEADS") == \
        "A database named 'LEADS' already exists."
    assert api("Database_update", id=created.id, name="Prospects",
               unsubscribebehavior="remove").value == "1"
    again = api("Database_retrieve", id=created.id).database
    assert (again.name, again.unsubscribebehavior, again.description) == \
        ("Prospects", "remove", "From the fair")
    assert api.fault("Database_update", id=created.id, unsubscribebehavior="explode") == \
        "Invalid unsubscribebehavior 'explode': expected nothing, remove, update."
    assert api("Database_remove", id=created.id).value == "1"
    assert api("Account_database", identifier="Prospects").value == "0"
    assert api.fault("Database_retrieve", id=created.id) == f"Unknown database {created.id}."
    assert cop.rows("SELECT * FROM databases WHERE id=?", created.id) == []


def test_databases_list_with_paging(api):
    for _ in range(3):
        fresh_database(api, fields=())
    everything = api("Account_databases")
    assert everything.total == everything.length == len(everything.items.database) >= 4
    page = api("Account_databases", start=1, length=2)
    assert (page.start, page.length, page.total) == (1, 2, everything.total)
    assert [d.id for d in page.items.database] == [d.id for d in everything.items.database[1:3]]


def test_fields_types_and_lookup(api, cop):
    db = fresh_database(api, fields=())
    field = api("Database_createField", id=db, name="Email", type="email").field
    assert (field.name, field.type, field.specialcontent) == ("Email", "email", "email")
    made = api("Database_createField", id=db, name="Tier", type="select",
               value="a\nb", display=True, ordered=True, length="10", textlines="2",
               hidden=True).field
    # the catalogue types a field's length and lines as strings
    assert (made.displayed, made.ordered, made.length, made.lines, made.hidden, made.index) == \
        (True, True, "10", "2", True, False)
    assert api.fault("Database_createField", id=db, name="Wide", length="wide") == \
        "Invalid length 'wide': expected a whole number."
    for kind in ("integer", "float", "date", "empty_date", "datetime", "empty_datetime",
                 "text", "phone_fax", "phone_gsm", "big"):
        assert api("Database_createField", id=db, name=f"f_{kind}", type=kind).field.type == kind
    assert api("Database_field", id=db, identifier="tier").field.id == made.id
    assert api("Database_field", id=db, identifier=str(made.id)).field.name == "Tier"
    assert api("Database_field", id=db, identifier="Missing").value == "0"
    listed = api("Database_fields", id=db)
    assert [f.name for f in listed.items.field][:2] == ["Email", "Tier"] and listed.total == 12
    [row] = cop.rows("SELECT type, value, length, textlines, indexed FROM database_fields "
                     "WHERE id=?", made.id)
    assert row == {"type": "select", "value": "a\nb", "length": 10, "textlines": 2, "indexed": 0}


@pytest.mark.parametrize("name, kind, fault", [
    ("9lives", "text", "Invalid name '9lives': a name starts with a letter or underscore and "
                       "holds only letters, digits and underscores."),
    ("first name", "text", "Invalid name 'first name': a name starts with a letter or underscore "
                           "and holds only letters, digits and underscores."),
    ("name", "text", "There is already a field, interest or collection named 'name'."),
    ("football", "text", "There is already a field, interest or collection named 'football'."),
    ("Orders", "text", "There is already a field, interest or collection named 'Orders'."),
    ("Other", "email", "There can be only one email field; 'Email' is one already."),
    ("Weird", "colour", "Unknown field type 'colour': expected one of integer, float, date, "
                        "empty_date, datetime, empty_datetime, text, email, phone_fax, "
                        "phone_gsm, select, big."),
])
def test_field_name_and_type_rules(api, name, kind, fault):
    db = fresh_database(api, interests=("football",), collections=("Orders",))
    assert api.fault("Database_createField", id=db, name=name, type=kind) == fault


def test_interests_and_collections_share_the_name_space(api):
    db = fresh_database(api, interests=("football",))
    assert api.fault("Database_createInterest", id=db, name="Email") == \
        "There is already a field, interest or collection named 'Email'."
    assert api.fault("Database_createCollection", id=db, name="FOOTBALL") == \
        "There is already a field, interest or collection named 'FOOTBALL'."
    interest = api("Database_createInterest", id=db, name="tennis", group="sports").interest
    assert (interest.name, interest.groupname) == ("tennis", "sports")
    assert [i.name for i in api("Database_interests", id=db).items.interest] == \
        ["football", "tennis"]


def test_collections_and_collection_fields(api, cop):
    db = fresh_database(api)
    orders = api("Database_createCollection", id=db, name="Orders").collection
    assert (orders.name, orders.countsubprofiles, orders.lastbuilt) == ("Orders", 0, None)
    assert cop.rows("SELECT database_id FROM collections WHERE id=?", orders.id) == [
        {"database_id": db}]
    assert api("Database_collection", id=db, identifier="orders").collection.id == orders.id
    assert api("Database_collection", id=db, identifier="Nope").value == "0"
    assert [c.name for c in api("Database_collections", id=db).items.collection] == ["Orders"]
    field = api("Collection_createField", id=orders.id, name="Email", type="integer").collectionfield
    assert (field.name, field.type) == ("Email", "integer")  # names are per collection
    assert api.fault("Collection_createField", id=orders.id, name="email") == \
        "The collection already has a field named 'email'."
    assert api("Collection_field", id=orders.id, identifier="EMAIL").collectionfield.id == field.id
    assert api("Collection_field", id=orders.id, identifier="x").value == "0"
    assert [f.name for f in api("Collection_fields", id=orders.id).items.collectionfield] == \
        ["Email"]
    assert [f.name for f in api("Database_fields", id=db).items.field] == ["Email", "Name", "Age"]
    assert api("Collection_remove", id=orders.id).value == "1"
    assert api.fault("Collection_field", id=orders.id, identifier="Email") == \
        f"Unknown collection {orders.id}."
    assert cop.rows("SELECT * FROM database_fields WHERE collection_id=?", orders.id) == []


def test_unsubscribe_values(api):
    db = fresh_database(api)
    assert as_dict(api("Database_unsubscribeValues", id=db).map) == {}
    assert api("Database_setUnsubscribeValues", id=db,
               fields=pairs({"name": "unsubscribed", "Nope": "x"})).value == "1"
    assert as_dict(api("Database_unsubscribeValues", id=db).map) == {"Name": "unsubscribed"}


def test_new_field_reaches_existing_profiles(api, cop):
    db = fresh_database(api)
    profile = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann"})).profile
    api("Database_createField", id=db, name="Country", value="NL")
    assert as_dict(api("Profile_fields", id=profile.id).map)["Country"] == "NL"
    [row] = cop.rows("SELECT created, modified FROM profiles WHERE id=?", profile.id)
    assert row["modified"] == row["created"]  # not a change of the profile
