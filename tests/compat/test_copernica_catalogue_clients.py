"""Clients built from a WSDL generated from the vendor's catalogue, run against the mock.

The WSDL (copernica_wsdl.py) is the vendor's: rpc/literal, its namespace
(http://publisher.copernica.nl/?SOAPAPI=WSDL), unqualified members in the catalogue's order.
Clients compiled from it keep that namespace and read only unqualified members back, so the
mock must speak that wire for an integration tested against it to work against the vendor:

- Java: wsimport + javac (catalogue_clients.py), the session kept by SESSION_MAINTAIN_PROPERTY;
- C#: Mono's wsdl + mcs, a CookieContainer, the ...Specified flags set;
- node-soap on the same WSDL, members in orders the schema does not have.

Each runs the same flow (copernica/java/Main.java, copernica/csharp/Main.cs,
copernica/flow.js): a call before login (`Not logged on`), login, the databases, Customers
and its fields, a profile created, searched with a requirement, updated, a subprofile created
and read back with Profile_subProfiles and Collection_searchSubProfiles; then, in a second
run, login and Profile_remove. The test checks what each printed, what the store holds
between the two runs and after, and the wire each sent (from the journal).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from lxml import etree

from . import catalogue_clients as clients
from .conftest import node_missing, require_stack
from .copernica_wsdl import REAL_NAMESPACE, catalogue, generate

COMPAT = Path(__file__).resolve().parent
ROOT = COMPAT.parent.parent
FIELDS = ["Email", "FirstName", "City", "Age", "Score", "Birthday", "Tier"]  # copernica.yaml
ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """A server with the Copernica test fixtures."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import BASIC, FIXTURES, start_server
    running = start_server(tmp_path_factory.mktemp("copernica-catalogue"),
                           fixtures=(BASIC, FIXTURES / "copernica.yaml"))
    yield running
    running.stop()


def _java():
    require_stack(clients.java_missing())
    return clients.build_java()


def _csharp():
    require_stack(clients.mono_missing())
    return clients.build_csharp()


def _node():
    require_stack(node_missing())
    return ["node", str(COMPAT / "copernica" / "flow.js"), str(clients.node_wsdl())]


CLIENTS = {"java": _java, "csharp": _csharp, "node": _node}


def run_client(command: list[str], *args: str) -> dict:
    """Run a client; its one JSON line. A failed step fails the test with its message."""
    env = {**os.environ, "NODE_PATH": str(ROOT / "node_modules")}
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=180,
                          cwd=ROOT, env=env)
    lines = done.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"{command[0]} exited {done.returncode} without a JSON line\n"
                    f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}", pytrace=False)
    if "failed" in report:
        pytest.fail(f"{command[0]} {args[1]}: {report['failed']} failed: {report['error']}",
                    pytrace=False)
    assert done.returncode == 0, done.stderr
    return report


# The members node-soap sends at the top of each call's parameters (flow.js): not the
# catalogue's order wherever there are two or more.
NODE_SHAPES = {
    "login": ["username", "account", "password"],
    "Account_databases": ["allproperties", "start"],
    "Account_database": ["identifier"],
    "Database_fields": ["id", "allproperties"],
    "Database_collection": ["identifier", "id"],
    "Database_createProfile": ["fields", "id"],
    "Database_searchProfiles": ["allproperties", "requirements", "id"],
    "Profile_updateFields": ["fields", "id"],
    "Profile_createSubProfile": ["fields", "collection", "id"],
    "Profile_subProfiles": ["collection", "allproperties", "id"],
    "Collection_searchSubProfiles": ["allproperties", "requirements", "id"],
    "Profile_remove": ["id"],
}


def requests_of(server, operation: str) -> list[etree._Element]:
    """The operation elements (``<ns:Operation><parameters>...``) of the journaled requests."""
    exchanges = server.json(f"_mock/journal?operation={operation}&limit=100")["exchanges"]
    return [etree.fromstring(e["request"].encode()).find(f"{{{ENVELOPE}}}Body")[0]
            for e in exchanges]


def names(element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def check_wire(server, stack: str) -> None:
    """Every request: the operation in the vendor's namespace, one ``parameters`` part, every
    member unqualified; Java and C# in the catalogue's order, node-soap in flow.js's."""
    operations = catalogue()["operations"]
    for operation in clients.OPERATIONS:
        calls = requests_of(server, operation)
        assert calls, f"no {operation} in the journal"
        order = [name for name, _ in operations[operation]] + ["access_token"]
        for call in calls:
            assert etree.QName(call).namespace == REAL_NAMESPACE, etree.tostring(call)
            assert names(call) == ["parameters"], etree.tostring(call)
            assert all(etree.QName(e).namespace is None for e in call[0].iter()), \
                etree.tostring(call)
            if stack != "node":
                assert names(call[0]) == sorted(names(call[0]), key=order.index), \
                    etree.tostring(call)
        if stack == "node":
            assert NODE_SHAPES[operation] in [names(call[0]) for call in calls], operation
    [search] = requests_of(server, "Database_searchProfiles")[:1]
    [requirement] = search.iter("requirement")
    if stack == "node":
        assert names(requirement) == ["value", "operator", "fieldname", "casesensitive"]
    else:  # the catalogue's order: allproperties before id, casesensitive before operator
        assert names(search[0]) == ["allproperties", "id", "requirements"]
        assert names(requirement) == ["fieldname", "casesensitive", "operator", "value"]


def profile_row(server, profile_id: int) -> dict | None:
    rows = server.rows("SELECT fields FROM profiles WHERE id = ?", profile_id)
    return json.loads(rows[0]["fields"]) if rows else None


@pytest.mark.parametrize("stack", list(CLIENTS))
def test_catalogue_client_runs_the_flow(stack, cop):
    command = CLIENTS[stack]()
    email, product = f"{stack}@catalogue.example", f"Book ({stack})"
    with urllib.request.urlopen(urllib.request.Request(  # check_wire reads this test's calls
            cop.base_url + "_mock/journal", method="DELETE"), timeout=30) as answer:
        assert answer.status == 200

    report = run_client(command, cop.base_url, "flow", email, product)
    assert report["notLoggedOn"] == "Not logged on"
    assert report["login"] == "DONE"
    if stack == "node":
        assert report["cookies"] == ["soap_session"]
    assert report["databases"] == ["Customers"]
    assert report["database"] == "Customers"
    assert report["fields"] == FIELDS
    profile = report["profile"]
    assert re.fullmatch(r"[0-9a-f]{32}", report["code"] or ""), report["code"]
    [found] = report["search"]["profiles"]
    assert report["search"]["total"] == 1 and found["id"] == profile
    assert {k: found["fields"].get(k) for k in ("Email", "FirstName", "City")} == {
        "Email": email, "FirstName": "Jörg", "City": "Köln"}
    assert report["updated"] == "1"
    assert report["collection"] == "Orders"
    subprofile = [{"id": report["subprofile"], "fields": {"OrderNo": "2001", "Product": product}}]
    assert report["subProfiles"] == subprofile
    assert report["searchSubProfiles"] == subprofile

    stored = profile_row(cop, profile)
    assert stored is not None and {k: stored.get(k) for k in ("Email", "FirstName", "City")} == {
        "Email": email, "FirstName": "Jörg", "City": "Berlin"}
    [sub] = cop.rows("SELECT profile_id, fields FROM subprofiles WHERE id = ?",
                     report["subprofile"])
    assert sub["profile_id"] == profile
    assert json.loads(sub["fields"]) == {"OrderNo": "2001", "Product": product}

    removed = run_client(command, cop.base_url, "remove", str(profile), email)
    assert removed == {"login": "DONE", "removed": "1", "total": 0}
    assert profile_row(cop, profile) is None
    assert cop.rows("SELECT id FROM subprofiles WHERE profile_id = ?", profile) == []
    check_wire(cop, stack)


def test_generated_wsdl_is_the_vendors_shape():
    """The generator: rpc/literal, POMBinding, the namespace and SOAPAction, input_ types in
    the catalogue's order with access_token last, unqualified members, arrays, and the types
    the restricted operations reach."""
    document = etree.fromstring(generate(REAL_NAMESPACE, "http://mock.example/",
                                         clients.OPERATIONS).encode())
    ns = {"w": WSDL_NS, "s": SOAP_NS, "x": XSD}
    assert document.get("targetNamespace") == REAL_NAMESPACE
    [schema] = document.findall("w:types/x:schema", ns)
    assert schema.get("targetNamespace") == REAL_NAMESPACE
    assert schema.get("elementFormDefault") == "unqualified"
    [binding] = document.findall("w:binding", ns)
    assert binding.get("name") == "POMBinding" and binding.get("type") == "tns:POMPortType"
    assert binding.find("s:binding", ns).get("style") == "rpc"
    assert [o.get("name") for o in binding.findall("w:operation", ns)] == [
        name for name in catalogue()["operations"] if name in clients.OPERATIONS]
    for operation in binding.findall("w:operation", ns):
        name = operation.get("name")
        assert operation.find("s:operation", ns).get("soapAction") == f"{REAL_NAMESPACE}#{name}"
        for direction in ("w:input", "w:output"):
            body = operation.find(f"{direction}/s:body", ns)
            assert (body.get("use"), body.get("namespace")) == ("literal", REAL_NAMESPACE)
        [request] = document.xpath(f"w:message[@name='{name}Request']/w:part", namespaces=ns)
        assert (request.get("name"), request.get("type")) == ("parameters", f"tns:input_{name}")
        [response] = document.xpath(f"w:message[@name='{name}Response']/w:part", namespaces=ns)
        assert (response.get("name"), response.get("type")) == ("result", "tns:Result")
    assert document.find("w:service/w:port/s:address", ns).get("location") == \
        "http://mock.example/"

    types = {t.get("name"): [(e.get("name"), e.get("type"), e.get("maxOccurs"))
                             for e in t.iter(f"{{{XSD}}}element")]
             for t in schema.findall("x:complexType", ns)}
    assert [m[0] for m in types["input_Database_searchProfiles"]] == [
        "login", "start", "length", "allproperties", "id", "requirements", "order", "asc",
        "access_token"]
    assert [m[0] for m in types["input_login"]] == ["username", "password", "account",
                                                    "access_token"]
    assert types["Requirement"] == [("fieldname", "xsd:string", None),
                                    ("casesensitive", "xsd:boolean", None),
                                    ("operator", "xsd:string", None),
                                    ("value", "xsd:string", None)]
    assert types["Map"] == [("pair", "tns:Pair", "unbounded")]
    assert types["Requirements"] == [("requirement", "tns:Requirement", "unbounded")]
    assert types["Array"] == [("item", "xsd:string", "unbounded")]
    assert ("fields", "tns:Map", None) in types["Profile"]
    assert ("profile", "tns:Profile", "unbounded") in types["Items"]
    assert all(e.get("minOccurs") == "0" and e.get("form") is None
               for e in schema.iter(f"{{{XSD}}}element"))
    # Result reaches all but five catalogue types; the inputs used reach Login and Requirement
    catalogue_types = set(catalogue()["types"])
    assert catalogue_types - set(types) == {"SplitRunSettings", "SplitRunTestGroup",
                                            "PdfOptions"}
    assert {f"input_{name}" for name in clients.OPERATIONS} <= set(types)

    everything = etree.fromstring(generate().encode())
    assert len(everything.findall("w:binding/w:operation", ns)) == len(catalogue()["operations"])
