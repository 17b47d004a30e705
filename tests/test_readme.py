"""The README's sessions run as written against the demo data."""
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, start_server

README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(language: str) -> str:
    """The fenced code blocks of a language in the README, joined (later ones continue)."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README, re.S)
    assert blocks, f"no {language} block in README.md"
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A server on the shipped demo fixtures."""
    running = start_server(tmp_path_factory.mktemp("demo"), "--demo", fixtures=())
    yield running
    running.stop()


def at(server, code: str) -> str:
    """The code pointed at the test server instead of 127.0.0.1:8080."""
    return code.replace("http://127.0.0.1:8080/", server.base_url)


def test_zeep_session(demo, tmp_path):
    script = tmp_path / "session.py"
    script.write_text(at(demo, block("python")))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("1 1,4 {'EMAIL': 'anna.schmidt@example.de', 'SALUTATION': 'Frau', "
                               "'FIRSTNAME': 'Anna'")
    assert lines[1] == "0"
    assert "'listStatus': 2" in done.stdout
    fault = lines.index("soap:Server Invalid API key.")
    assert lines[fault + 1:] == ["Neu im Herbst, Anna", "1 1", "scheduled", "sent"]
    (mail,) = demo.outbox(to="max.mustermann@example.com")
    assert mail["kind"] == "doi" and "Max" in mail["text"]


def test_php_session(demo, tmp_path):
    if not shutil.which("php"):
        import os
        if os.environ.get("CI") == "true":
            pytest.fail("php is not installed")
        pytest.skip("php is not installed")
    script = tmp_path / "demo.php"
    script.write_text(at(demo, block("php")))
    done = subprocess.run(["php", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "anna.schmidt@example.de status 1 lists 1,4",
        "responseCode 0",
        "fault: Invalid API key.",
    ], done.stdout
    rows = demo.rows("SELECT email, fields FROM subscribers WHERE email_key=?",
                     "erika.musterfrau@example.com")
    assert rows and '"FIRSTNAME": "Erika"' in rows[0]["fields"]
