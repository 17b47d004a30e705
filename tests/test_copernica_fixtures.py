"""The fixtures' copernica section: validation with paths, seeding, exact export round trip."""
import pytest

from copernica_harness import COPERNICA, Api, copernica_server, pairs
from mockserver.vendors import fixtures
from mockserver.store import Store
from mockserver.copernica import tables as copernica_tables
from mockserver.vendors.store import open_store


def fresh_store(tmp_path, name: str) -> Store:
    """An empty, migrated store."""
    store = open_store(str(tmp_path / name))
    store.migrate()
    return store


def test_seed_and_exact_round_trip_of_runtime_state(tmp_path):
    server = copernica_server(tmp_path)
    try:
        api = Api(server)
        db = api("Account_database", identifier="Customers").database.id
        api("Database_createCallback", id=db, url="http://127.0.0.1:9/x", expression="Age > 3")
        made = api("Database_createProfile", id=db, fields=pairs({"Email": "new@x.example"}))
        api("Profile_updateInterests", id=made.profile.id, interests={"item": ["cooking"]})
        Api(server, token=None)("login", username="api@shop.example", password="s3cret")
    finally:
        server.stop()
    first = open_store(str(server.db_path))
    document = fixtures.export(first)
    assert document["copernica"]["accounts"][0]["databases"][0]["profiles"][-1]["interests"] == \
        ["cooking"]
    second = fresh_store(tmp_path, "second.db")
    fixtures.seed(second, fixtures.parse_text(fixtures.dumps(document), "export.yaml"))
    assert fixtures.export(second) == document
    tables = ("accounts", "users", "user_accounts", "access_tokens", "sessions", "databases",
              "collections", "database_fields", "interests", "profiles", "subprofiles",
              "callbacks")
    a, b = first.dump(), second.dump()
    for table in tables:
        assert a[table] == b[table], table


def test_fixture_file_seeds_ids_codes_and_defaults(tmp_path):
    store = fresh_store(tmp_path, "s.db")
    fixtures.seed(store, fixtures.load_paths([str(COPERNICA)]))
    [anna] = [p for p in copernica_tables.profiles_of(store, 1) if "anna@" in p["fields"]]
    assert len(anna["code"]) == 32 and '"Birthday": "0000-00-00"' in anna["fields"]
    assert copernica_tables.user_account_ids(store, "API@shop.example") == [1, 2]
    assert copernica_tables.access_token(store, "shop-token-ro")["read_only"] == 1


@pytest.mark.parametrize("text, problem", [
    ("copernica: {accounts: [{id: 1, tokens: [{readOnly: true}]}]}",
     "copernica.accounts[0].tokens[0].token: required key is missing"),
    ("copernica: {users: [{username: u, password: p, accounts: [7]}]}",
     "copernica.users[0].accounts[0]: no account with id 7"),
    ("copernica: {accounts: [{id: 1, databases: [{name: D, fields: [{name: A, type: integer}], "
     "profiles: [{fields: {A: x}}]}]}]}",
     "copernica.accounts[0].databases[0].profiles[0].fields.A: 'x' is not a valid integer value"),
    ("copernica: {accounts: [{id: 1, databases: [{name: D, fields: [{name: A}], "
     "interests: [{name: a}]}]}]}",
     "copernica.accounts[0].databases[0].interests[0].name: duplicate name 'a'"),
    ("copernica: {accounts: [{id: 1, databases: [{name: D, profiles: [{subprofiles: "
     "[{collection: X}]}]}]}]}",
     "copernica.accounts[0].databases[0].profiles[0].subprofiles[0].collection: "
     "no collection named 'X'"),
    ("copernica: {accounts: [{id: 1, databases: [{name: D, callbacks: [{url: 'http://x/', "
     "method: soap}]}]}]}",
     "copernica.accounts[0].databases[0].callbacks[0].method: expected one of json, xml"),
])
def test_validation_names_the_path(text, problem):
    with pytest.raises(fixtures.FixtureError) as info:
        fixtures.read_document(fixtures.parse_text(text, "f.yaml"), "f.yaml")
    assert problem in str(info.value)
