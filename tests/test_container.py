"""The container image (the Dockerfile) built and run with podman: both dialects answer in
it, the admin API needs its token, it runs as uid 10001, its health check tells ready from
not, the store lands in the volume and outlives the container, and without a token it
refuses to start. Skipped where podman is absent (CI installs it: .ci/run).

Where the base image ``make image-base`` builds (Debian's Python by mmdebstrap) is present
or can be built, the image is built on it, so no registry is needed; it is built once and
then reused. The build times, the image's size and its start-to-ready time are printed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import BASIC, READY, ROOT

IMAGE = "localhost/mockserver:test"
BASE_IMAGE = "localhost/mockserver-base:bookworm"  # as the Makefile names it
TOKEN = "container-test-token"
# What podman needs on these machines: runc, the host's network, explicit limits.
RUN_FLAGS = ["--runtime", "runc", "--network", "host",
             "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

if not shutil.which("podman"):
    if os.environ.get("CI") == "true":
        pytest.fail("podman is not installed (.ci/run installs it)", pytrace=False)
    pytest.skip("podman is not installed: the container image is not built or run",
                allow_module_level=True)


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run one podman command; its output as text, failing the test on an error."""
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"podman {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


def report(pytestconfig, line: str) -> None:
    """Print a figure in the test output, past pytest's capture."""
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\ncontainer: {line}")


def free_port() -> int:
    """A TCP port nothing on this host listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make(*targets: str) -> float:
    """Run make targets in the repository; the seconds they took."""
    started = time.monotonic()
    done = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *targets,
                           f"IMAGE={IMAGE}", f"BASE_IMAGE={BASE_IMAGE}"],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return time.monotonic() - started


def image_config() -> dict:
    """The image's config: user, environment, exposed ports, volumes."""
    return json.loads(podman("image", "inspect", "--format", "{{json .Config}}", IMAGE).stdout)


@pytest.fixture(scope="session")
def image(pytestconfig) -> str:
    """The image built from this tree (``make image``), on the local base where there is one."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        report(pytestconfig, f"base image {BASE_IMAGE} present, reused")
    elif shutil.which("mmdebstrap"):
        took = make("image-base")
        report(pytestconfig, f"make image-base (mmdebstrap, Debian bookworm): {took:.1f} s")
    took = make("image")
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    report(pytestconfig, f"make image: {took:.1f} s; image size {size / 1e6:.0f} MB")
    return IMAGE


@dataclass
class Container:
    """A running container of the image, on the host's network, and its store's volume."""

    name: str
    volume: str
    port: int
    token: str = TOKEN

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}/"

    def admin(self, path: str, token: str | None = TOKEN) -> tuple[int, dict]:
        """GET an admin API path (with the token unless None); (status, JSON body)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(self.url + "_mock/" + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def store(self, name: str = "mockserver.db") -> Path:
        """The store file as it lies in the volume on this host."""
        mountpoint = podman("volume", "inspect", "--format", "{{.Mountpoint}}",
                            self.volume).stdout.strip()
        return Path(mountpoint) / name

    def rows(self, sql: str, *params, db: str = "mockserver.db") -> list[dict]:
        """Rows of the store in the volume (read-only)."""
        conn = sqlite3.connect(f"file:{self.store(db)}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()

    def logs(self) -> str:
        """What the container printed."""
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        """Stop and remove the container (the volume stays)."""
        podman("rm", "--force", "--time", "10", self.name, check=False)


def start(image: str, volume: str, *options: str) -> tuple[Container, float]:
    """Run the image detached on a free port with the token and the volume on /data; the
    container once /_mock/health answers, and the seconds from ``podman run`` to then."""
    running = Container(name=f"mockserver-test-{uuid.uuid4().hex[:8]}", volume=volume,
                        port=free_port())
    started = time.monotonic()
    podman("run", "--detach", "--name", running.name, *RUN_FLAGS,
           "--env", f"MOCKSERVER_PORT={running.port}", "--env", f"MOCKSERVER_ADMIN_TOKEN={TOKEN}",
           "--volume", f"{volume}:/data", *options, image)
    deadline, polls = started + 90, 0
    while time.monotonic() < deadline:
        try:
            if running.admin("health")[0] == 200:
                return running, time.monotonic() - started
        except (OSError, ValueError):
            pass
        polls += 1
        if polls % 20 == 0 and podman("inspect", "--format", "{{.State.Running}}",
                                      running.name).stdout.strip() != "true":
            break  # it stopped: no use waiting (one podman call a second, not every poll)
        time.sleep(0.05)
    logs = running.logs()
    running.remove()
    pytest.fail(f"the container did not become ready:\n{logs}")


@pytest.fixture
def volume():
    """A fresh named volume for /data, removed afterwards."""
    name = f"mockserver-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", name)
    yield name
    podman("volume", "rm", "--force", name, check=False)


@pytest.fixture(scope="module")
def demo(image, pytestconfig):
    """The image as it starts by default: the demo, on a fresh volume."""
    name = f"mockserver-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", name)
    running, took = start(image, name)
    report(pytestconfig, f"start to ready (podman run to /_mock/health, demo seeded into a new "
                         f"store): {took:.2f} s")
    yield running
    running.remove()
    podman("volume", "rm", "--force", name, check=False)


def test_both_dialects_answer_from_the_demo_store_in_the_volume(demo):
    import zeep

    assert READY.search(demo.logs()), demo.logs()
    backclick = zeep.Client(demo.url + "bc/rpc/soap/backclickService?wsdl").service
    (anna,) = backclick.getSubscribers(mandatorId=1, apiKey="demo-key-1",
                                       emailAddresses={"item": ["anna.schmidt@example.de"]})
    assert (anna.subscriberEmail, anna.status) == ("anna.schmidt@example.de", 1)
    copernica = zeep.Client(demo.url + "?SOAPAPI=WSDL").service
    database = copernica.Account_database(parameters={
        "identifier": "Customers", "access_token": "demo-copernica-token"}).database
    assert database.name == "Customers"
    assert demo.rows("SELECT id FROM databases WHERE name = 'Customers'") == [
        {"id": database.id}]


def test_the_admin_api_needs_the_token(demo):
    assert demo.admin("outbox", token=None) == (
        401, {"error": "The admin API needs 'Authorization: Bearer <admin token>'."})
    assert demo.admin("outbox", token="not-the-token")[0] == 401
    status, body = demo.admin("outbox")
    assert status == 200 and isinstance(body["mails"], list)


def test_the_server_runs_as_uid_10001(demo):
    assert podman("exec", demo.name, "id", "-u").stdout.strip() == "10001"
    status = podman("exec", demo.name, "cat", "/proc/1/status").stdout  # the server itself
    assert "mockserver" in podman("exec", demo.name, "cat", "/proc/1/cmdline").stdout
    (uids,) = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")]
    assert set(uids) == {"10001"}
    config = image_config()
    assert config["User"] == "10001:10001"
    assert "/data" in config["Volumes"] and "8080/tcp" in config["ExposedPorts"]
    assert not any(e.startswith("MOCKSERVER_ADMIN_TOKEN=") for e in config["Env"])


def test_the_health_check_passes_only_when_health_answers(demo):
    podman("healthcheck", "run", demo.name)
    assert podman("inspect", "--format", "{{.State.Health.Status}}",
                  demo.name).stdout.strip() == "healthy"
    check = json.loads(podman("image", "inspect", "--format", "{{json .HealthCheck}}",
                              IMAGE).stdout)
    assert check["Test"][0] == "CMD"
    command = check["Test"][1:]
    assert podman("exec", demo.name, *command, check=False).returncode == 0
    for wrong in ("MOCKSERVER_ADMIN_TOKEN=not-the-token", f"MOCKSERVER_PORT={free_port()}"):
        assert podman("exec", "--env", wrong, demo.name, *command,
                      check=False).returncode != 0, wrong


def test_the_store_outlives_the_container_on_its_volume(image, volume, tmp_path, pytestconfig):
    """Own fixtures instead of the demo, another store file; a new container on the same
    volume finds what the first one stored, and does not seed again."""
    import zeep

    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    shutil.copy(BASIC, fixtures / "basic.yaml")
    fixtures.chmod(0o755)
    options = ["--env", "MOCKSERVER_DEMO=0", "--env", "MOCKSERVER_FIXTURES=/fixtures/basic.yaml",
               "--env", "MOCKSERVER_DB=/data/shop.db", "--volume", f"{fixtures}:/fixtures:ro"]
    first, _ = start(image, volume, *options)
    try:
        service = zeep.Client(first.url + "bc/rpc/soap/backclickService?wsdl").service
        with pytest.raises(zeep.exceptions.Fault):  # the demo's key is not in basic.yaml
            service.getSubscribers(mandatorId=1, apiKey="demo-key-1",
                                   emailAddresses={"item": ["anna.schmidt@example.de"]})
        result = service.saveOrCreateSubscriber(mandatorId=1, apiKey="shop-key-1234", subscribers={
            "item": [{"subscriberEmail": "kept@example.de", "newsletterListIds": {"item": [1]}}]})
        assert result.responseCode == 0
    finally:
        first.remove()
    assert not first.store().exists()  # MOCKSERVER_DB chose shop.db
    assert [row["email"] for row in first.rows(
        "SELECT email FROM subscribers WHERE email_key = 'kept@example.de'", db="shop.db")] == [
        "kept@example.de"]
    count = first.rows("SELECT count(*) AS n FROM subscribers", db="shop.db")[0]["n"]

    second, took = start(image, volume, *options)
    try:
        report(pytestconfig, f"start to ready on an existing store: {took:.2f} s")
        service = zeep.Client(second.url + "bc/rpc/soap/backclickService?wsdl").service
        (kept,) = service.getSubscribers(mandatorId=1, apiKey="shop-key-1234",
                                         emailAddresses={"item": ["kept@example.de"]})
        assert kept.newsletterListIds == "1"
        assert second.rows("SELECT count(*) AS n FROM subscribers", db="shop.db")[0]["n"] == count
    finally:
        second.remove()


def test_without_a_token_it_refuses_to_start_and_says_how(image):
    port = free_port()
    started = time.monotonic()
    done = podman("run", "--rm", *RUN_FLAGS, "--env", f"MOCKSERVER_PORT={port}", image,
                  check=False, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("mockserver: binding to 0.0.0.0 exposes the admin API; pass --admin-token TOKEN "
            "(or set MOCKSERVER_ADMIN_TOKEN)") in done.stdout + done.stderr
    assert time.monotonic() - started < 60
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_documented_variables_are_the_images(image):
    """docs/container.md's table of variables says what the image sets, and no more."""
    text = (ROOT / "docs" / "container.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(MOCKSERVER_\w+)` \| (`[^`]*`|unset[^|]*) \|", text, re.M)
    assert len(rows) == 6, rows
    env = dict(e.split("=", 1) for e in image_config()["Env"] if e.startswith("MOCKSERVER_"))
    assert env == {name: value.strip("`") for name, value in rows if value.startswith("`")}
    assert {"MOCKSERVER_FIXTURES", "MOCKSERVER_ADMIN_TOKEN"} == {
        name for name, value in rows if value.startswith("unset")}


def test_compose_and_the_ci_services_serve_the_images_port_with_a_token(image):
    import yaml

    config = image_config()
    (port,) = [int(p.split("/")[0]) for p in config["ExposedPorts"]]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    service = compose["services"]["mockserver"]
    assert service["build"] == "."
    assert [p.rsplit(":", 1)[1] for p in service["ports"]] == [str(port)]
    assert [v.split(":")[1] for v in service["volumes"]] == list(config["Volumes"])
    assert service["environment"]["MOCKSERVER_ADMIN_TOKEN"].startswith(
        "${MOCKSERVER_ADMIN_TOKEN:?")
    text = (ROOT / "docs" / "container.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml(?: [^\n]*)?\n(.*?)```", text, re.S)  # `yaml no-run` too
    github, gitlab = [yaml.safe_load(b) for b in blocks]
    job = github["jobs"]["test"]
    (github_service,) = job["services"].values()
    assert github_service["ports"] == [f"{port}:{port}"]
    assert github_service["env"]["MOCKSERVER_ADMIN_TOKEN"] == job["env"]["MOCKSERVER_ADMIN_TOKEN"]
    assert job["env"]["MOCKSERVER_URL"] == f"http://127.0.0.1:{port}/"
    (gitlab_service,) = gitlab["test"]["services"]
    assert gitlab["test"]["variables"]["MOCKSERVER_URL"] == (
        f"http://{gitlab_service['alias']}:{port}/")
    assert gitlab["test"]["variables"]["MOCKSERVER_ADMIN_TOKEN"]
