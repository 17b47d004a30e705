"""The bulk write and paged read paths behind the scale targets end where one write per row would."""
import json

import pytest

from mockserver.vendors import fixtures
from mockserver.backclick import subscribers
from mockserver.backclick import tables as backclick_tables
from mockserver.backclick import newsletter_tables as newsletter_tables
from mockserver.vendors.store import open_store

BASIC = "tests/fixtures/basic.yaml"


@pytest.fixture()
def store(tmp_path):
    """A store seeded from the basic fixture."""
    store = open_store(str(tmp_path / "store.db"))
    store.migrate()
    fixtures.seed(store, fixtures.load_paths([BASIC]))
    yield store
    store.close()


def state(store, email):
    """(address as stored, fields, {list: status}) of a mandator-1 subscriber."""
    sub = backclick_tables.subscriber(store, 1, email.lower())
    return sub["email"], sub["fields"], backclick_tables.memberships(store, sub["id"])


def test_import_rows_repeating_an_address_merge_in_file_order(store):
    data = ("EMAIL\tFIRSTNAME\tCITY\tNEWSLETTER\n"
            "new@example.com\tNia\t\t1\n"
            "lapsed@example.de\tLea\t\t1\n"
            "NEW@example.com\tNina\tBonn\t2\n"
            "Anna.Schmidt@example.de\tAnnie\t\t\n"
            "anna.schmidt@example.de\t\tMainz\t2;1\n"
            "new@example.com\t\t\t2\n")
    result = subscribers.import_subscribers(store, 1, data)
    assert (result.imported, result.invalid, result.blocked) == (3, [], [])
    assert state(store, "new@example.com") == (
        "new@example.com", {"FIRSTNAME": "Nina", "CITY": "Bonn"}, {1: 0, 2: 0})
    assert state(store, "anna.schmidt@example.de") == (
        "Anna.Schmidt@example.de", {"FIRSTNAME": "Annie", "LASTNAME": "Schmidt", "CITY": "Mainz"},
        {1: 0, 2: 0})
    assert state(store, "lapsed@example.de") == ("lapsed@example.de", {"FIRSTNAME": "Lea"}, {1: 0})


def test_imported_subscribers_get_the_ids_one_insert_each_would_give(store):
    now = "2024-01-01T00:00:00.000000Z"
    gone = backclick_tables.insert_subscriber(store, 1, "gone@example.com", {}, now)
    with store.transaction() as conn:
        conn.execute("DELETE FROM subscribers WHERE id=?", [gone])
    subscribers.import_subscribers(store, 1, "EMAIL\na@example.com\nb@example.com\n")
    assert [backclick_tables.subscriber(store, 1, e)["id"] for e in ("a@example.com", "b@example.com")] == [
        gone + 1, gone + 2]
    assert backclick_tables.insert_subscriber(store, 1, "c@example.com", {}, now) == gone + 3


@pytest.mark.parametrize("list_id", [1, 2, None])
def test_the_audience_read_in_pages_is_the_audience(store, list_id):
    subscribers.import_subscribers(store, 1, "EMAIL\tNEWSLETTER\n" + "".join(
        f"p{i}@example.com\t{1 + i % 2}\n" for i in range(7)))
    whole = list(newsletter_tables.list_audience(store, 1, list_id, page=1000))
    assert len(whole) > 4
    assert [r[0] for r in whole] == sorted(r[0] for r in whole)
    for page in (1, 2, 3, len(whole)):
        assert list(newsletter_tables.list_audience(store, 1, list_id, page=page)) == whole


def test_insert_rows_store_values_as_sqlite_utils_did(store):
    with store.transaction():
        first = store.insert_row("channels", {"mandator_id": 1, "name": "A", "created": "now"})
        store.insert_rows("channels", [
            {"mandator_id": 1, "name": "B", "description": "b", "created": "now"},
            {"mandator_id": 1, "name": "C", "description": ["x", {"y": 1}], "created": "now"}])
    assert [newsletter_tables.channel(store, 1, first + i)["description"] for i in range(3)] == [
        "", "b", json.dumps(["x", {"y": 1}])]
    assert newsletter_tables.channel(store, 1, first + 2)["name"] == "C"
