"""The published fixture schema: ``mockserver schema``, the copy the repository keeps next to
the demo for editors (the yaml-language-server comment), and that a JSON Schema validator,
as editors run one, accepts what mockserver accepts and writes and refuses what it refuses."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
import yaml
from conftest import BASIC, FIXTURES, ROOT
from jsonschema import Draft202012Validator

from mockserver.vendors import fixtures
from mockserver.vendors import fixture_schema
from mockserver.vendors.store import open_store

SCHEMA = ROOT / "fixtures" / fixture_schema.SCHEMA_FILE
DEMO = ROOT / "fixtures" / "demo.yaml"
PACKAGED = ROOT / "mockserver" / "demo"  # what serve --demo reads, in the wheel too


def mockserver(*args: str) -> subprocess.CompletedProcess:
    """Run the command line in a subprocess."""
    return subprocess.run([sys.executable, "-m", "mockserver", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def validator() -> Draft202012Validator:
    """A JSON Schema validator of the published schema."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def as_editors_read(text: str) -> object:
    """YAML as the YAML language server reads it: dates and times are strings."""
    return json.loads(json.dumps(yaml.safe_load(text), default=lambda value: value.isoformat()
                                 if isinstance(value, (dt.date, dt.datetime)) else value))


def leaves(errors):
    """The errors a validator found, those of each branch of an anyOf one by one."""
    for error in errors:
        yield from leaves(error.context) if error.context else [error]


def test_mockserver_schema_prints_what_the_repository_keeps():
    result = mockserver("schema")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for path in (SCHEMA, PACKAGED / fixture_schema.SCHEMA_FILE):
        assert path.read_text(encoding="utf-8") == result.stdout, f"run make schema ({path})"


def test_schema_help_tells_how_editors_use_it():
    result = mockserver("schema", "--help")
    assert result.returncode == 0
    assert "# yaml-language-server: $schema=mockserver-fixtures.schema.json" in result.stdout
    assert "mockserver schema > fixtures/mockserver-fixtures.schema.json" in result.stdout
    assert "print the JSON Schema of fixture files" in mockserver("--help").stdout


def test_the_demo_names_the_schema_next_to_it():
    first = f"# yaml-language-server: $schema={fixture_schema.SCHEMA_FILE}\n"
    for folder in (DEMO.parent, PACKAGED):
        assert (folder / "demo.yaml").read_text(encoding="utf-8").startswith(first)
        assert (folder / fixture_schema.SCHEMA_FILE).is_file()


def test_the_schema_accepts_the_shipped_fixtures_and_an_export(tmp_path):
    check = validator()
    for path in (DEMO, BASIC, FIXTURES / "copernica.yaml"):
        document = as_editors_read(path.read_text(encoding="utf-8"))
        assert [e.message for e in check.iter_errors(document)] == [], path
    store = open_store(str(tmp_path / "s.db"))
    store.migrate()
    fixtures.seed(store, fixtures.load_paths([str(DEMO)]))
    exported = json.loads(fixtures.dumps(fixtures.export(store), as_json=True))
    assert exported["state"]["newsletters"] and exported["copernica"]["accounts"]
    assert [e.message for e in check.iter_errors(exported)] == []


@pytest.mark.parametrize("text, path", [
    ("backclick: {mandators: [{id: 1, colour: red}]}", "backclick.mandators[0]"),
    ("backclick: {mandators: [{id: '1'}]}", "backclick.mandators[0].id"),
    ("backclick: {mandators: [{id: 0}]}", "backclick.mandators[0].id"),
    ("backclick: {mandators: [{name: X}]}", "backclick.mandators[0]"),
    ("backclick: {mandators: [{id: 1, subscribers: [{email: a@b.de, lists: {1: active}}]}]}",
     "backclick.mandators[0].subscribers[0].lists.1"),
    ("backclick: {mandators: [{id: 1, subscribers: [{email: a@b.de, lists: {x: pending}}]}]}",
     "backclick.mandators[0].subscribers[0].lists"),
    ("state: {outbox: [{mandatorId: 1, kind: mail, to: a@b.de}]}", "state.outbox[0].kind"),
    ("copernica: {accounts: [{id: 1, databases: [{name: D, fields: [{name: A, length: -1}]}]}]}",
     "copernica.accounts[0].databases[0].fields[0].length"),
])
def test_the_schema_refuses_what_check_refuses(text, path):
    found = list(leaves(validator().iter_errors(as_editors_read(text))))
    assert found, text
    paths = {"".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
             .lstrip(".") for e in found}
    assert path in paths
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.read_document(yaml.safe_load(text), "f.yaml")
    assert any(problem.startswith(f"f.yaml: {path}") for problem in caught.value.problems)
