"""The mock on the running interpreter (3.10 to 3.13), and the spyne import shim that lets
spyne 2.14 load on 3.12 and later (mockserver/soap/spyne_compat.py).

The commands run in fresh interpreters, where spyne is not yet imported, with warnings as
errors: ``mockserver wsdl`` writes the checked-in WSDLs, ``mockserver serve`` answers SOAP
calls of both dialects, and a user's suite with the ``marketing_mock`` fixture passes.
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import types

import pytest

from conftest import BASIC, ROOT, start_server
from copernica_harness import COPERNICA, Api
from mockserver.soap import spyne_compat

MODERN = sys.version_info >= (3, 12)  # the vendored six's importer is ignored from here on


def python(code: str, *flags: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (the project's root as working directory)."""
    return subprocess.run([sys.executable, *flags, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_wsdl_command_writes_the_checked_in_wsdls(tmp_path):
    done = subprocess.run([sys.executable, "-W", "error", "-m", "mockserver", "wsdl",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in (ROOT / "wsdl").iterdir())
    for name in written:
        assert (tmp_path / name).read_bytes() == (ROOT / "wsdl" / name).read_bytes(), name


def test_served_soap_calls_of_both_dialects(tmp_path):
    running = start_server(tmp_path, fixtures=(BASIC, COPERNICA),
                           env={"PYTHONWARNINGS": "error"})
    try:
        result = running.zeep().service.getSubscribers(
            mandatorId=1, apiKey="shop-key-1234",
            emailAddresses={"item": ["anna.schmidt@example.de"]})
        assert result[0].subscriberEmail == "Anna.Schmidt@example.de"
        api = Api(running)
        database = api("Account_createDatabase", name="Versions").database.id
        assert api("Account_database", identifier="Versions").database.id == database
    finally:
        running.stop()


USER_SUITE = """
    import zeep

    def test_a_call(marketing_mock):
        client = zeep.Client(marketing_mock.backclick_wsdl)
        answer = client.service.getSubscribers(
            mandatorId=marketing_mock.mandator_id, apiKey=marketing_mock.api_key,
            emailAddresses={"item": ["nobody@example.org"]})
        assert answer[0].status == -1  # not known
"""


def test_the_pytest_plugin_in_a_fresh_process(pytester):
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == 0


def test_the_pytest_plugin_in_a_suite_that_makes_warnings_errors(pytester):
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == 0


def test_spyne_alone_fails_from_python_312_on():
    """Without the shim, spyne 2.14 does not import on 3.12+; should this start to pass,
    spyne has fixed its six and mockserver/soap/spyne_compat.py says how to remove the shim."""
    done = python("import spyne")
    if MODERN:
        assert done.returncode != 0
        assert "No module named 'spyne.util.six.moves'" in done.stderr, done.stderr
    else:
        assert done.returncode == 0, done.stderr


def test_moves_names_resolve_after_the_shim():
    done = python("""
        import builtins, collections.abc, sys, urllib.parse
        own_spec = collections.abc.__spec__
        from mockserver.soap import spyne_compat
        assert spyne_compat.installed()
        from spyne.util.six.moves.urllib.parse import quote, splittype, urlencode
        from spyne.util.six.moves.collections_abc import MutableSet
        from spyne.util.six.moves import range, urllib as moved_urllib
        import spyne.util.six.moves.urllib.request as request
        assert urlencode is urllib.parse.urlencode and quote is urllib.parse.quote
        assert MutableSet is collections.abc.MutableSet and range is builtins.range
        assert moved_urllib.parse is sys.modules["spyne.util.six.moves.urllib.parse"]
        assert request.urlopen is __import__("urllib.request").request.urlopen
        assert collections.abc.__spec__ is own_spec  # the standard module keeps its spec
        import spyne, spyne.protocol.soap, spyne.interface.wsdl
        print("ok")
    """, "-W", "error")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_taking_the_shim_off_brings_the_failure_back():
    done = python("""
        from mockserver.soap import spyne_compat
        spyne_compat.uninstall()
        assert not spyne_compat.installed()
        try:
            from spyne.util.six.moves.urllib.parse import urlencode
        except ModuleNotFoundError as error:
            print(error)
        else:
            print("imported")
    """)
    assert done.returncode == 0, done.stderr
    expected = "No module named 'spyne.util.six.moves'" if MODERN else "imported"
    assert done.stdout.strip() == expected


def test_install_is_idempotent():
    spyne_compat.install()
    spyne_compat.install()
    assert sum(isinstance(f, spyne_compat.SixMovesFinder) for f in sys.meta_path) == 1


class _Importer:
    """A stand-in for the vendored six's importer (find_module only, like six 1.14)."""

    known_modules = {"spyne.util.six.moves": types.ModuleType("spyne.util.six.moves")}

    def is_package(self, fullname):
        """Whether a moves name is a package (the stand-in's one name is)."""
        return True


class _ModernImporter(_Importer):
    """A stand-in for six 1.16's importer, which the import system calls itself."""

    def find_spec(self, fullname, path, target=None):
        """A spec for a known name (never called here)."""


@pytest.mark.parametrize("name", ["json", "spyne.util.six", "spyne.util.six.movesx",
                                  "spyne.util.six.moves.unknown"])
def test_the_finder_answers_no_other_name(monkeypatch, name):
    monkeypatch.setitem(sys.modules, "spyne.util.six",
                        types.SimpleNamespace(_importer=_Importer()))
    assert spyne_compat.SixMovesFinder().find_spec(name) is None


def test_the_finder_stands_aside_once_the_vendored_six_has_find_spec(monkeypatch):
    finder = spyne_compat.SixMovesFinder()
    monkeypatch.setitem(sys.modules, "spyne.util.six",
                        types.SimpleNamespace(_importer=_Importer()))
    spec = finder.find_spec("spyne.util.six.moves")
    assert spec.loader is finder and spec.submodule_search_locations == []
    monkeypatch.setitem(sys.modules, "spyne.util.six",
                        types.SimpleNamespace(_importer=_ModernImporter()))
    assert finder.find_spec("spyne.util.six.moves") is None


def test_supported_versions_agree():
    """pyproject.toml's classifiers and requires-python and the README name one range."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    minors = sorted(int(m) for m in re.findall(
        r'"Programming Language :: Python :: 3\.(\d+)"', pyproject))
    assert minors == list(range(minors[0], minors[-1] + 1))
    assert f'requires-python = ">=3.{minors[0]}"' in pyproject
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python 3.{minors[0]} to 3.{minors[-1]}" in readme
