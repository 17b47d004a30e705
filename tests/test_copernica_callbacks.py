"""Copernica callbacks over SOAP: create, look up, list, source, remove; and every profile
and subprofile write queues its delivery (source soap) in the same transaction."""
import json

import pytest

from copernica_harness import AGENCY, Api, copernica_server, fresh_database, pairs, requirements

HOOK = "http://127.0.0.1:9/hook"  # nothing listens: deliveries stay queued or fail


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("callbacks"))
    yield running
    running.stop()


@pytest.fixture
def api(cop):
    """A client of account 1."""
    return Api(cop)


def test_callback_methods(api, cop):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    cb = api("Database_createCallback", id=db, url=HOOK, method="xml",
             expression="Name == 'Ann'").callback
    assert (cb.url, cb.method, cb.expression, cb.actionfilter) == \
        (HOOK, "xml", "Name == 'Ann'", "all")
    # the catalogue's Database_createCallback has no actionfilter: Callback_update sets it
    assert api("Callback_update", id=cb.id, actionfilter="update").value == "1"
    cb = api("Callback_retrieve", id=cb.id).callback
    assert (cb.url, cb.method, cb.expression, cb.actionfilter) == \
        (HOOK, "xml", "Name == 'Ann'", "update")
    assert cop.rows("SELECT database_id, collection_id, actionfilter FROM callbacks WHERE id=?",
                    cb.id) == [{"database_id": db, "collection_id": None, "actionfilter": "update"}]
    assert api.fault("Callback_update", id=cb.id, method="yaml") == \
        "Invalid callback method 'yaml': use json or xml."
    sub_cb = api("Collection_createCallback", id=orders, url=HOOK + "/orders").callback
    assert (sub_cb.method, sub_cb.actionfilter) == ("json", "all")
    assert cop.rows("SELECT collection_id FROM callbacks WHERE id=?", sub_cb.id) == [
        {"collection_id": orders}]
    assert api("Database_callback", id=db, identifier=cb.id).callback.id == cb.id
    assert api("Database_callback", id=db, identifier=sub_cb.id).value == "0"
    assert api("Database_callback", id=db, identifier=999999).value == "0"
    assert [c.id for c in api("Database_callbacks", id=db).items.callback] == [cb.id]
    assert api("Account_callback", identifier=sub_cb.id).callback.url == HOOK + "/orders"
    assert api("Callback_source", id=cb.id).database.id == db
    assert api("Callback_source", id=sub_cb.id).collection.id == orders
    assert Api(cop, token=AGENCY)("Account_callback", identifier=cb.id).value == "0"
    assert Api(cop, token=AGENCY).fault("Callback_remove", id=cb.id) == f"Unknown callback {cb.id}."
    assert api.fault("Database_createCallback", id=db, url="ftp://x") == \
        "Invalid callback url 'ftp://x': an absolute http:// or https:// URL is required."
    assert api("Callback_remove", id=cb.id).value == "1"
    assert api("Account_callback", identifier=cb.id).value == "0"


def deliveries(cop, callback_id) -> list[tuple[str, str]]:
    """(record, action) of a callback's queued deliveries, in order."""
    return [(r["record"], r["action"]) for r in cop.rows(
        "SELECT record, action FROM callback_deliveries WHERE callback_id=? ORDER BY id",
        callback_id)]


def test_every_write_queues_a_delivery(api, cop):
    db = fresh_database(api, collections=("Orders",))
    orders = api("Database_collection", id=db, identifier="Orders").collection.id
    api("Collection_createField", id=orders, name="Product")
    cb = api("Database_createCallback", id=db, url=HOOK).callback.id
    sub_cb = api("Collection_createCallback", id=orders, url=HOOK).callback.id
    pid = api("Database_createProfile", id=db, fields=pairs({"Name": "Ann"})).profile.id
    api("Profile_updateFields", id=pid, fields=pairs({"Name": "Ann"}))  # no change: nothing
    api("Profile_updateFields", id=pid, fields=pairs({"Name": "Anna"}))
    api("Database_updateProfiles", id=db, requirements=requirements(("Name", "=", "Bo")),
        fields=pairs({}), create=True)
    sid = api("Profile_createSubProfile", id=pid, collection={"id": orders},
              fields=pairs({"Product": "Bike"})).subprofile.id
    api("SubProfile_updateFields", id=sid, fields=pairs({"Product": "Bell"}))
    api("Profile_remove", id=pid)
    assert deliveries(cop, cb) == [(f"profile:{pid}", "create"), (f"profile:{pid}", "update"),
                                   (f"profile:{pid + 1}", "create"), (f"profile:{pid}", "delete")]
    assert deliveries(cop, sub_cb) == [(f"subprofile:{sid}", "create"),
                                       (f"subprofile:{sid}", "update"),
                                       (f"subprofile:{sid}", "delete")]
    [body] = cop.rows("SELECT body FROM callback_deliveries WHERE callback_id=? AND "
                      "action='update'", cb)
    from urllib.parse import parse_qs
    payload = json.loads(parse_qs(body["body"].decode())["json"][0])
    assert payload["parameters"] == {"Name": "Anna"} and payload["fields"]["Name"] == "Anna"
