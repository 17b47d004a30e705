"""The pytest plugin: a ``marketing_mock`` fixture that gives each test its own tenant.

Installing mockserver registers it (entry point ``pytest11``). One server per test
session (per pytest-xdist worker) answers from a background thread; each test gets a
fresh, isolated BACKCLICK mandator and Copernica account with their own key, token and
user, removed again, with their journal entries and fault rules, when the test ends.
``--marketing-mock-url URL`` (or ``MOCKSERVER_URL``) uses a running server instead, shared
by every worker. Nothing heavy is imported until a test asks for the fixture.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

MARKER = ("marketing_mock(fixture=PATH, template=MANDATOR_ID, name=NAME): the shape of this "
          "test's tenant: the first mandator and account of a fixture file (relative to the "
          "test's file), or a copy of a mandator's configuration; and its name")


class MockError(AssertionError):
    """The admin API refused a call (the message is its answer)."""


class AdminClient:
    """JSON calls on a mockserver's admin API (``/_mock/``)."""

    def __init__(self, base_url: str, token: str | None = None):
        """Talk to the server at ``base_url``, with the admin token if it needs one."""
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token

    def call(self, method: str, path: str, body=None, http_timeout: float = 30, **query):
        """One admin call; its decoded JSON answer (MockError for an error answer)."""
        return json.loads(self.fetch(method, path, body, http_timeout, **query))

    def fetch(self, method: str, path: str, body=None, http_timeout: float = 30,
              **query) -> bytes:
        """One admin call; the bytes it answers (MockError for an error answer)."""
        query = {k: v for k, v in query.items() if v is not None}
        url = self.base_url + "_mock/" + path + ("?" + urllib.parse.urlencode(query)
                                                  if query else "")
        data, headers = None, {}
        if isinstance(body, (bytes, str)):
            data = body.encode("utf-8") if isinstance(body, str) else body
            headers["Content-Type"] = "application/yaml"
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=http_timeout) as answer:
                return answer.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                text = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                pass
            raise MockError(f"{method} /_mock/{path}: {error.code} {text}") from None


class Clock:
    """The mock's clock (shared by every tenant of the server): read, set, freeze, advance.

    A test that changes it gets it back as it found it when the test ends.
    """

    def __init__(self, admin: AdminClient):
        """The clock of the server ``admin`` talks to."""
        self._admin = admin
        self._before: dict | None = None

    def _changing(self) -> None:
        if self._before is None:
            self._before = self._admin.call("GET", "clock")

    def now(self) -> dt.datetime:
        """The mock's current time."""
        return dt.datetime.fromisoformat(self._admin.call("GET", "clock")["now"])

    def advance(self, seconds: float = 0, **timedelta) -> dict:
        """Move the clock on (``advance(3600)``, ``advance(days=1)``); due newsletters are
        sent and due callbacks attempted before it returns. The clock's new state."""
        self._changing()
        seconds += dt.timedelta(**timedelta).total_seconds()
        return self._admin.call("POST", "clock/advance", {"seconds": seconds})

    def set(self, moment: dt.datetime | str, frozen: bool | None = None) -> dict:
        """Set the clock to ``moment`` (an aware datetime or ISO text), frozen or running."""
        self._changing()
        text = moment.isoformat() if isinstance(moment, dt.datetime) else moment
        return self._admin.call("PUT", "clock", {"now": text, "frozen": frozen})

    def freeze(self, moment: dt.datetime | str | None = None) -> dict:
        """Stop the clock (at ``moment``, or where it is)."""
        self._changing()
        if moment is None:
            return self._admin.call("PUT", "clock", {"frozen": True})
        return self.set(moment, frozen=True)

    def restore(self) -> None:
        """Put the clock back as it was before this test changed it."""
        before, self._before = self._before, None
        if before is None:
            return
        if not before["frozen"] and abs(before["offsetSeconds"]) < 0.5:
            self._admin.call("DELETE", "clock")  # it was on real time
        else:
            self._admin.call("PUT", "clock", {"now": before["now"], "frozen": before["frozen"]})


class MarketingMock:
    """One test's tenant on the mock, with what a test needs to use and inspect it.

    Credentials: ``mandator_id`` and ``api_key`` (BACKCLICK), ``account_id``,
    ``access_token``, ``username`` and ``password`` (Copernica); endpoints:
    ``backclick_wsdl``, ``copernica_wsdl``, ``base_url``.
    """

    def __init__(self, admin: AdminClient, tenant: dict):
        """The tenant ``tenant`` (as ``POST /_mock/tenants`` answers) on ``admin``'s server."""
        self.admin, self.info = admin, tenant
        self.tenant: str = tenant["tenant"]
        self.base_url = admin.base_url
        self.backclick_wsdl: str = tenant["backclick"]["wsdl"]
        self.copernica_wsdl: str = tenant["copernica"]["wsdl"]
        self.backclick_endpoint = self.backclick_wsdl.split("?")[0]
        self.mandator_id: int = tenant["backclick"]["mandatorId"]
        self.api_key: str = tenant["backclick"]["apiKey"]
        self.account_id: int = tenant["copernica"]["accountId"]
        self.access_token: str = tenant["copernica"]["accessToken"]
        self.username: str = tenant["copernica"]["username"]
        self.password: str = tenant["copernica"]["password"]
        self.clock = Clock(admin)

    def __repr__(self) -> str:
        """``<MarketingMock tenant-3 on http://127.0.0.1:PORT/>``."""
        return f"<MarketingMock {self.tenant} on {self.base_url}>"

    def outbox(self, **filters) -> list[dict]:
        """This tenant's captured mails, oldest first (filters: ``to``, ``kind``, ``subject``,
        ``since``, ``newsletter``, ``limit``), each rendered as its recipient got it."""
        return self.admin.call("GET", "outbox", tenant=self.tenant, **filters)["mails"]

    def wait_for_mail(self, to: str | None = None, subject: str | None = None,
                      timeout: float = 10, **filters) -> dict:
        """The first of this tenant's mails that matches, waiting up to ``timeout`` seconds
        for it to arrive (sending is asynchronous, as at the vendor)."""
        return self.admin.call("GET", "outbox/wait", http_timeout=timeout + 10,
                               tenant=self.tenant, to=to, subject=subject, timeout=timeout,
                               **filters)

    def eml(self, mail_id: int) -> bytes:
        """A captured mail as RFC 5322 bytes, attachments included."""
        return self.admin.fetch("GET", f"outbox/{mail_id}.eml")

    def event(self, mail_id: int, kind: str, **detail) -> dict:
        """Record what a recipient did with a mail: ``open``, ``click`` (``url=``), ``bounce``
        (``bounce="hard"|"soft"``), ``unsubscribe``, ``complaint``."""
        return self.admin.call("POST", f"outbox/{mail_id}/events", {"type": kind, **detail})

    def journal(self, operation: str | None = None, limit: int = 1000, **filters) -> list[dict]:
        """This tenant's SOAP exchanges of both dialects, oldest first: operation, masked
        credential, parsed arguments, fault, raw request and response."""
        return self.admin.call("GET", "journal", tenant=self.tenant, operation=operation,
                               limit=limit, **filters)["exchanges"]

    def fail_next(self, operation: str | None, fault: str | None = None, times: int = 1,
                  **effect) -> dict:
        """Make this tenant's next ``times`` calls of ``operation`` (None: any) answer with
        the SOAP fault ``fault``, or another effect: ``status=503``, ``delayMs=2000``,
        ``drop=True``, ``truncate=True``, ``faultcode="Client"``. The stored rule."""
        rule = {"tenant": self.tenant, "operation": operation, "times": times,
                "fault": fault, **effect}
        if fault is None and not effect:
            raise ValueError("fail_next needs a fault string or an effect (status, delayMs, "
                             "drop, truncate)")
        return self.admin.call("POST", "faults", {k: v for k, v in rule.items()
                                                   if v is not None})

    def fail_randomly(self, operation: str | None, probability: float, fault: str,
                      seed: int | str = 0, **effect) -> dict:
        """Make each of this tenant's calls of ``operation`` fail with ``probability``, drawn
        from ``seed`` so the same calls fail on every run. The stored rule."""
        return self.admin.call("POST", "faults", {k: v for k, v in {
            "tenant": self.tenant, "operation": operation, "probability": probability,
            "fault": fault, "seed": seed, **effect}.items() if v is not None})

    def deliveries(self, **filters) -> list[dict]:
        """This tenant's Copernica callback deliveries with their attempts, oldest first."""
        return self.admin.call("GET", "callbacks/deliveries", tenant=self.tenant,
                               **filters)["deliveries"]


def pytest_addoption(parser):
    """The plugin's command-line options and ini settings."""
    group = parser.getgroup("mockserver", "mockserver (marketing_mock fixture)")
    group.addoption("--marketing-mock-url", default=os.environ.get("MOCKSERVER_URL"),
                    metavar="URL", help="use the mockserver running at URL (shared by every "
                    "xdist worker) instead of starting one per session; env MOCKSERVER_URL")
    group.addoption("--marketing-mock-admin-token",
                    default=os.environ.get("MOCKSERVER_ADMIN_TOKEN"), metavar="TOKEN",
                    help="admin token of that server; env MOCKSERVER_ADMIN_TOKEN")
    group.addoption("--marketing-mock-keep-tenants", action="store_true", default=False,
                    help="leave each test's tenant (data, outbox, journal) on the server "
                         "after the test, to look at it")
    parser.addini("marketing_mock_fixtures", type="linelist", default=[],
                  help="fixture files (relative to the rootdir) seeded into the session's "
                       "own server, e.g. a seed and a frozen clock")


def pytest_configure(config):
    """Register the ``marketing_mock`` marker; keep spyne's import-time warning out of the
    user's report."""
    config.addinivalue_line("markers", MARKER)
    config.addinivalue_line("filterwarnings",
                            "ignore:'cgi' is deprecated:DeprecationWarning:spyne")
    config.addinivalue_line("filterwarnings",  # Python 3.10 and 3.11, spyne's vendored six
                            r"ignore:_SixMetaPathImporter\.find_spec\(\) not found:ImportWarning")


@pytest.fixture(scope="session")
def marketing_mock_server(request, tmp_path_factory):
    """The session's mockserver as an AdminClient: started in a background thread on a
    free port (with the ``marketing_mock_fixtures`` of the ini file), or the one at
    ``--marketing-mock-url``."""
    config = request.config
    url = config.getoption("marketing_mock_url")
    token = config.getoption("marketing_mock_admin_token")
    if url:
        client = AdminClient(url, token)
        client.call("GET", "health")
        yield client
        return
    from mockserver.surfaces.embedded import EmbeddedServer
    from mockserver.surfaces.settings import Settings
    fixtures = [str(Path(config.rootpath, p)) for p in config.getini("marketing_mock_fixtures")]
    db = tmp_path_factory.mktemp("mockserver") / "store.db"
    server = EmbeddedServer(Settings(host="127.0.0.1", port=0, db=str(db), fixtures=fixtures))
    with server:
        yield AdminClient(server.base_url)


@pytest.fixture
def marketing_mock(request, marketing_mock_server):
    """A fresh, isolated tenant on the session's mockserver for this test; removed (with its
    data, journal entries and fault rules) when the test ends."""
    marker = request.node.get_closest_marker("marketing_mock")
    options = dict(marker.kwargs) if marker else {}
    body = None
    if options.get("fixture"):  # relative to the test's file
        path = Path(request.path.parent, options["fixture"])
        body = path.read_text(encoding="utf-8")
    try:
        tenant = marketing_mock_server.call("POST", "tenants", body, name=options.get("name"),
                                            template=options.get("template"))
    except MockError as error:
        where = f" from {options['fixture']}" if body is not None else ""
        raise MockError(f"The tenant{where} for this test was refused: {error}") from None
    mock = MarketingMock(marketing_mock_server, tenant)
    try:
        yield mock
    finally:
        mock.clock.restore()
        if not request.config.getoption("marketing_mock_keep_tenants"):
            marketing_mock_server.call("DELETE", f"tenants/{mock.tenant}")
