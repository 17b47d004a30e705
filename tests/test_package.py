"""The package as a user's project installs it: the sdist and the wheel that ``make dist``
builds, the wheel installed into a fresh venv on the newest Python there is (3.13 from pyenv
where it exists), and that venv's ``mockserver`` and pytest plugin working with no source
tree in reach. The wheel's install time is printed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from conftest import READY, ROOT

PACKAGE = ROOT / "mockserver"
# What a subprocess of the fresh venv must not inherit from this run.
LEAKING = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_PLUGINS",
           "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_CURRENT_TEST")


def newest_python() -> str:
    """Python 3.13: the newest pyenv build, else python3.13 on the PATH, else this one."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    builds = sorted((p for p in root.glob("3.13.*") if re.fullmatch(r"3\.13\.\d+", p.name)),
                    key=lambda p: int(p.name.split(".")[2]), reverse=True)
    for candidate in [*(str(p / "bin" / "python3") for p in builds), shutil.which("python3.13")]:
        if candidate and subprocess.run([candidate, "-c", "import venv"],
                                        capture_output=True).returncode == 0:
            return candidate
    return sys.executable


def clean_env(**extra: str) -> dict:
    """The environment without this run's Python, pytest and mockserver settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in LEAKING and not k.startswith("MOCKSERVER_")}
    return {**env, **extra}


def data_files() -> set[str]:
    """Every file under mockserver/ that is not code, as a path inside the wheel."""
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """dist/ as ``make dist`` makes it: the sdist, and the wheel built from it."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    (found,) = dist.glob("mockserver-*-py3-none-any.whl")
    return found


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel, pytestconfig) -> Path:
    """A fresh venv on the newest Python with the wheel installed; its bin/ folder."""
    home = tmp_path_factory.mktemp("venv")
    python = newest_python()
    subprocess.run([python, "-m", "venv", str(home)], check=True, timeout=120)
    bin_ = home / "bin"
    started = time.monotonic()
    done = subprocess.run([str(bin_ / "python"), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True, timeout=600, env=clean_env())
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    version = subprocess.run([str(bin_ / "python"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\npip install {wheel.name} into a fresh venv on {version}: {took:.1f} s")
    return bin_


def test_the_wheel_holds_every_data_file_and_both_entry_points(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entries = archive.read(entry_points).decode()
    assert "mockserver/demo/demo.yaml" in names
    assert "mockserver/surfaces/templates/ui/base.html" in names
    assert data_files() - names == set()
    assert {n for n in names if n.startswith("mockserver/")} - data_files() == {
        p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts}
    assert "mockserver = mockserver.cli:main" in entries
    assert re.search(r"\[pytest11\]\s+mockserver = mockserver.pytest_plugin", entries)


def test_the_sdist_holds_what_the_wheel_is_built_from(dist):
    (sdist,) = dist.glob("mockserver-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md"} <= names
    assert data_files() - names == set()


def test_installed_wheel_reports_its_version_and_writes_the_wsdls(venv, tmp_path):
    from mockserver import __version__

    done = subprocess.run([str(venv / "mockserver"), "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=clean_env())
    assert done.stdout.strip() == f"mockserver {__version__}", done.stderr
    done = subprocess.run([str(venv / "mockserver"), "wsdl", "out"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=clean_env())
    assert done.returncode == 0, done.stderr
    for name in ("backclickService.wsdl", "copernica.wsdl"):
        assert (tmp_path / "out" / name).read_bytes() == (ROOT / "wsdl" / name).read_bytes()


def test_installed_wheel_serves_the_demo(venv, tmp_path):
    import zeep

    process = subprocess.Popen(
        [str(venv / "mockserver"), "serve", "--demo", "--port", "0", "--db", "store.db"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=clean_env())
    try:
        lines, deadline, match = [], time.monotonic() + 60, None
        while match is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
            match = READY.search(line)
        assert match, "".join(lines)
        base = match.group(1)
        service = zeep.Client(base + "bc/rpc/soap/backclickService?wsdl").service
        (anna,) = service.getSubscribers(mandatorId=1, apiKey="demo-key-1",
                                         emailAddresses={"item": ["anna.schmidt@example.de"]})
        assert anna.subscriberEmail == "anna.schmidt@example.de"
        import urllib.request
        with urllib.request.urlopen(base + "_mock/ui/", timeout=30) as page:  # the templates
            assert b"</html>" in page.read()
        with urllib.request.urlopen(base + "_mock/openapi.json", timeout=30) as answer:
            assert json.load(answer)["openapi"] == "3.1.0"  # mockserver/surfaces/openapi.yaml
        assert (tmp_path / "store.db").exists()
    finally:
        process.terminate()
        process.wait(30)


def test_installed_plugin_runs_the_readme_test_with_pytest_and_zeep(venv, tmp_path):
    """The README's pytest example, with only the wheel, pytest and zeep installed."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```py\n(.*?)```", readme, re.S)
    done = subprocess.run([str(venv / "python"), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", "pytest", "zeep"],
                          capture_output=True, text=True, timeout=600, env=clean_env())
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "test_newsletter_signup.py").write_text(example, encoding="utf-8")
    done = subprocess.run([str(venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=clean_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_docs_install_no_package_the_index_does_not_have():
    """``pip install mockserver`` names a package the index does not have: the docs install
    from a wheel, a path or a git URL."""
    bare = re.compile(r"pip install[^`\n]*?(?<![\w/.@-])mockserver(?![\w.-]|\s*@)")
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            assert not bare.search(line), f"{doc.name}:{number}: {line}"
