"""PHP SoapClient and node-soap against the Copernica WSDL (rpc/literal): the vendor's example
flow through a PomSoapClient-style client (one parameters object per call, the Result returned)
with the login cookie and with an access token, and a search with requirements."""
import json
import os
from pathlib import Path

import pytest

COMPAT = Path(__file__).resolve().parent
ROOT = COMPAT.parent.parent


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """A server with the Copernica test fixtures."""
    import sys
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import BASIC, FIXTURES, start_server
    running = start_server(tmp_path_factory.mktemp("copernica-compat"),
                           fixtures=(BASIC, FIXTURES / "copernica.yaml"))
    yield running
    running.stop()


@pytest.mark.parametrize("mode", ["cookie", "token"])
def test_php_runs_the_vendor_flow(php, checks, cop, mode):
    name = f"PhpFlow_{mode}"
    report = checks.run_json([php, str(COMPAT / "copernica_flow.php"), cop.base_url, mode, name])
    if mode == "cookie":
        assert report["login"] == "DONE" and report["cookies"] == ["soap_session"]
    assert report["found"] == [report["profile"]] and report["total"] == 1
    assert report["updated"] == ["1"] and len(report["code"]) == 32
    # the vendor's wire: rpc/literal, the operation in the WSDL's own namespace, every member
    # (the part accessor and everything in it) unqualified
    request = report["request"]
    assert f'xmlns:ns1="{cop.base_url}?SOAPAPI=WSDL"' in request
    assert "<ns1:Profile_updateFields><parameters><id>" in request
    assert "</parameters></ns1:Profile_updateFields>" in request
    assert ("<access_token>shop-token-rw</access_token>" in request) == (mode == "token")
    [row] = cop.rows("SELECT p.fields FROM profiles p JOIN databases d ON d.id = p.database_id "
                     "WHERE d.name = ? AND d.account_id = 1", name)
    assert json.loads(row["fields"]) == {"Email": "php@example.com", "Firstname": "Jane",
                                         "Lastname": "O'Brien"}
    assert cop.rows("SELECT COUNT(*) AS n FROM subprofiles WHERE id = ?",
                    report["subprofile"]) == [{"n": 1}]


def test_node_searches_with_requirements(node, checks, cop):
    env = {**os.environ, "NODE_PATH": str(ROOT / "node_modules")}
    report = checks.run_json([node, str(COMPAT / "copernica_search.js"), cop.base_url,
                              "shop-token-rw"], cwd=ROOT, env=env)
    # node-soap reads an rpc/literal part's content untyped: total comes back as the string
    assert report == {"total": "2", "names": ["carla", "Anna"]}
