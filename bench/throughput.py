"""Throughput, latency, start-to-ready time and memory of a running mockserver.

Starts its own ``mockserver serve`` processes on free ports, seeds their stores with
N subscribers (BACKCLICK) or N profiles (Copernica), drives each operation with concurrent
keep-alive clients (``wrk`` when installed, else a Python client) and prints a table.

    .venv/bin/python bench/throughput.py [--workers 2] [--duration 10] [--connections 16]
                                         [--skip-million] [--operations NAME,...]

Operations: getSubscribers (one random seeded subscriber by address) and
saveOrCreateSubscriber (a new subscriber per request) of BACKCLICK;
Database_searchProfiles (one random seeded profile by the value of its Code field) and
Profile_updateFields (one random seeded profile's City set to a new value per request) of
Copernica, authenticated by an access_token parameter. Each is checked with one request
before the load.

Stores are built once and cached under bench/.cache/; each run works on a copy, so the
writing operations never change the cached file.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockserver.vendors import fixtures  # noqa: E402
from mockserver.backclick import SERVICE_PATH  # noqa: E402
from mockserver.backclick import tables as backclick_tables  # noqa: E402
from mockserver.vendors.store import SCHEMA, open_store  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
FIXTURE = ROOT / "tests" / "fixtures" / "basic.yaml"
READY = re.compile(r"mockserver ready on (http://[^/\s]+/)")
MANDATOR, API_KEY, LIST_ID = 1, "shop-key-1234", 1
DOMAIN = "bench.example"
TNS = "http://soap.rpc.bc.backclick.de/"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
COUNT = 1_000  # subscribers or profiles in the store of every row but the million one
CP_TOKEN, CP_DATABASE = "bench-token", 1
CP_TNS = "http://127.0.0.1:8080/?SOAPAPI=WSDL"  # the checked-in WSDL's; any is accepted

GET_HEAD = (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{ENV}" '
            f'xmlns:bc="{TNS}"><soap:Body><bc:getSubscribers><bc:mandatorId>{MANDATOR}'
            f'</bc:mandatorId><bc:apiKey>{API_KEY}</bc:apiKey><bc:emailAddresses><bc:item>')
GET_TAIL = "</bc:item></bc:emailAddresses></bc:getSubscribers></soap:Body></soap:Envelope>"
SAVE_HEAD = (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{ENV}" '
             f'xmlns:bc="{TNS}"><soap:Body><bc:saveOrCreateSubscriber><bc:mandatorId>{MANDATOR}'
             f'</bc:mandatorId><bc:apiKey>{API_KEY}</bc:apiKey><bc:subscribers><bc:item>'
             f'<bc:subscriberEmail>')
SAVE_TAIL = (f"</bc:subscriberEmail><bc:newsletterListIds><bc:item>{LIST_ID}</bc:item>"
             "</bc:newsletterListIds><bc:subscriberFields><bc:item><bc:name>FIRSTNAME</bc:name>"
             "<bc:value>Bench</bc:value></bc:item></bc:subscriberFields></bc:item>"
             "</bc:subscribers></bc:saveOrCreateSubscriber></soap:Body></soap:Envelope>")

CP_HEAD = (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{ENV}" '
           f'xmlns:c="{CP_TNS}"><soap:Body>')
SEARCH_HEAD = (CP_HEAD + "<c:Database_searchProfiles><parameters><allproperties>true"
               f"</allproperties><id>{CP_DATABASE}</id><requirements><requirement>"
               "<fieldname>Code</fieldname><operator>=</operator><value>")
SEARCH_TAIL = (f"</value></requirement></requirements><access_token>{CP_TOKEN}</access_token>"
               "</parameters></c:Database_searchProfiles></soap:Body></soap:Envelope>")
UPDATE_HEAD = CP_HEAD + "<c:Profile_updateFields><parameters><id>"
UPDATE_MIDDLE = "</id><fields><pair><key>City</key><value>"
UPDATE_TAIL = (f"</value></pair></fields><access_token>{CP_TOKEN}</access_token>"
               "</parameters></c:Profile_updateFields></soap:Body></soap:Envelope>")

# operation: (kind the load scripts know it by, dialect)
OPERATIONS = {"getSubscribers": ("get", "backclick"),
              "saveOrCreateSubscriber": ("save", "backclick"),
              "Database_searchProfiles": ("search", "copernica"),
              "Profile_updateFields": ("update", "copernica")}

WRK_SCRIPT = """
local kind, count, run, tid = "get", 1000, "r", 0
local counter = 0
local threads = {}
local headers = {["Content-Type"] = "text/xml; charset=utf-8", ["SOAPAction"] = '""'}
local GET_HEAD, GET_TAIL = [==[%(get_head)s]==], [==[%(get_tail)s]==]
local SAVE_HEAD, SAVE_TAIL = [==[%(save_head)s]==], [==[%(save_tail)s]==]
local SEARCH_HEAD, SEARCH_TAIL = [==[%(search_head)s]==], [==[%(search_tail)s]==]
local UPDATE_HEAD, UPDATE_MIDDLE = [==[%(update_head)s]==], [==[%(update_middle)s]==]
local UPDATE_TAIL = [==[%(update_tail)s]==]

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  kind, count, run = args[1], tonumber(args[2]), args[3]
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  local body
  counter = counter + 1
  if kind == "get" then
    body = GET_HEAD .. "user" .. math.random(1, count) .. "@%(domain)s" .. GET_TAIL
  elseif kind == "save" then
    body = SAVE_HEAD .. "new-" .. run .. "-" .. tid .. "-" .. counter .. "@%(domain)s" .. SAVE_TAIL
  elseif kind == "search" then
    body = SEARCH_HEAD .. "P" .. math.random(1, count) .. SEARCH_TAIL
  else
    body = UPDATE_HEAD .. math.random(1, count) .. UPDATE_MIDDLE .. run .. "-" .. tid .. "-"
      .. counter .. UPDATE_TAIL
  end
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"errors": %%d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass
class Row:
    """One line of the result table."""

    operation: str
    records: int  # subscribers (BACKCLICK) or profiles (Copernica) in the store
    workers: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    ready_ms: float
    rss_mb: float
    pss_mb: float
    threads: int


# -- stores -----------------------------------------------------------------------------------


def address(i: int) -> str:
    """The address of seeded subscriber number ``i`` (1-based)."""
    return f"user{i}@{DOMAIN}"


def cached_store(count: int, fields=None, prefix: str = "store") -> Path:
    """A store file with the test fixture and ``count`` subscribers on list 1, built once and
    cached; ``fields(address)`` gives each subscriber's field values (default: none)."""
    def fill(store) -> None:
        """The subscribers, in bulk."""
        backclick_tables.bulk_insert_subscribers(
            store, MANDATOR, (address(i) for i in range(1, count + 1)), [LIST_ID],
            "2024-01-01T00:00:00.000000Z", fields=fields)
    return _built(prefix, count, "", fill, "subscribers")


def copernica_document(count: int) -> dict:
    """A fixture document with Copernica account 1 (token ``bench-token``) and its database
    Bench, whose ``count`` profiles have Email, Code ``P<n>`` and City."""
    profiles = [{"fields": {"Email": f"profile{i}@{DOMAIN}", "Code": f"P{i}",
                            "City": "Amsterdam"}} for i in range(1, count + 1)]
    return {"copernica": {"accounts": [{
        "id": 1, "name": "Bench", "tokens": [{"token": CP_TOKEN}],
        "databases": [{"name": "Bench", "fields": [{"name": "Email", "type": "email"},
                                                   {"name": "Code"}, {"name": "City"}],
                       "profiles": profiles}]}]}}


def copernica_store(count: int) -> Path:
    """A store file with the test fixture and a Copernica database of ``count`` profiles
    (ids 1..count), built once and cached."""
    document = copernica_document(count)

    def fill(store) -> None:
        """The Copernica document, seeded as fixtures are; the ids it must have checked."""
        fixtures.seed(store, document, "bench")
        ids = store.conn.execute(
            "SELECT min(id), max(id), count(*) FROM profiles WHERE database_id = ?",
            (CP_DATABASE,)).fetchone()
        if tuple(ids) != (1, count, count):
            raise SystemExit(f"the bench database's profiles are {tuple(ids)}, "
                             f"not (1, {count}, {count})")
    return _built("copernica", count, json.dumps(document), fill, "profiles")


def _built(prefix: str, count: int, extra_key: str, fill, what: str) -> Path:
    """A store with the test fixture that ``fill(store)`` then adds to, cached under a key of
    the schema, the fixture, ``prefix``, ``count`` and ``extra_key``."""
    key = hashlib.sha256(("".join(SCHEMA.sql(n) for n in range(1, SCHEMA.version + 1)) +
                          FIXTURE.read_text() + prefix + str(count) + extra_key
                          ).encode()).hexdigest()[:12]
    path = CACHE / f"{prefix}-{count}-{key}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"{prefix}-{count}-*.db"):
        old.unlink()
    started = time.monotonic()
    partial = path.with_suffix(".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    store = open_store(str(partial))
    store.migrate()
    fixtures.seed(store, fixtures.load_paths([str(FIXTURE)]))
    fill(store)
    store.checkpoint()
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    partial.rename(path)
    print(f"  built {path.name} with {count:,} {what} in "
          f"{time.monotonic() - started:.1f} s", flush=True)
    return path


class Server:
    """A ``mockserver serve`` subprocess on a copy of a store."""

    def __init__(self, db: Path, workers: int, threads: int | None, extra: list[str]):
        """Start the server and wait until it prints its ready line and answers /_mock/health."""
        command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", str(db),
                   "--workers", str(workers), "--fixtures", str(FIXTURE), *extra]
        if threads:
            command += ["--threads", str(threads)]
        started = time.monotonic()
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.base = None
        lines = []
        while self.base is None:
            line = self.process.stdout.readline()
            if not line:
                self.stop()
                raise SystemExit("server exited before it was ready:\n" + "".join(lines))
            lines.append(line)
            match = READY.search(line)
            if match:
                self.base = match.group(1)
        with urllib.request.urlopen(self.base + "_mock/health", timeout=10) as answer:
            assert answer.status == 200
        self.ready_ms = (time.monotonic() - started) * 1000
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # drain
        self.url = self.base.rstrip("/") + SERVICE_PATH
        self.copernica_url = self.base  # the Copernica endpoint is the root

    def memory_mb(self, field: str = "VmRSS", source: str = "status") -> float:
        """A memory figure of the gunicorn master and its workers, summed, in MB.

        VmRSS (from /proc/PID/status) counts pages shared after the fork once per process;
        Pss (from /proc/PID/smaps_rollup) splits them between the processes sharing them.
        """
        total = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                text = Path(f"/proc/{pid}/{source}").read_text()
            except OSError:
                continue
            match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
            total += int(match.group(1)) if match else 0
        return total / 1024

    def stop(self) -> None:
        """Stop the server (quick shutdown) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def post(url: str, body: str) -> tuple[int, bytes]:
    """One SOAP POST; (status, body)."""
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "text/xml; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def preflight(url: str, kind: str, count: int) -> None:
    """One request of the kind, checked, so a broken setup fails loudly rather than fast."""
    if kind == "get":
        status, body = post(url, GET_HEAD + address(count) + GET_TAIL)
        ok = status == 200 and re.search(rb"<(\w+:)?status>1</", body) is not None
    elif kind == "save":
        status, body = post(url, SAVE_HEAD + f"preflight-{time.time_ns()}@{DOMAIN}" + SAVE_TAIL)
        ok = status == 200 and re.search(rb"<(\w+:)?responseCode>0</", body) is not None
    elif kind == "search":
        status, body = post(url, SEARCH_HEAD + f"P{count}" + SEARCH_TAIL)
        ok = status == 200 and _found(body) == [count]
    else:
        city = f"preflight-{time.time_ns()}"
        status, body = post(url, UPDATE_HEAD + str(count) + UPDATE_MIDDLE + city + UPDATE_TAIL)
        ok = (status == 200 and b"Fault" not in body
              and re.search(rb"<result><value>1</value></result>", body) is not None)
        if ok:  # and the profile holds the new value
            found = post(url, SEARCH_HEAD.replace("<fieldname>Code", "<fieldname>City") + city
                         + SEARCH_TAIL)[1]
            ok = _found(found) == [count]
            body = body if ok else found
    if not ok:
        raise SystemExit(f"preflight {kind} failed: HTTP {status}\n{body.decode()[:2000]}")


def _found(body: bytes) -> list[int] | None:
    """The profile ids of a Database_searchProfiles answer (None: a fault or no list)."""
    from lxml import etree

    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError:
        return None
    if root.xpath("//*[local-name()='Fault']"):
        return None
    total = root.xpath("string(//result/total)")
    ids = [int(i) for i in root.xpath("//result/items/profile/id/text()")]
    return ids if total == str(len(ids)) else None


# -- load -------------------------------------------------------------------------------------


def run_wrk(url: str, kind: str, count: int, seconds: float, connections: int,
            script: Path) -> dict:
    """Drive the server with wrk for ``seconds``; the figures its ``done`` hook reports."""
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--latency", "--timeout", "10s", "-s", str(script), url, "--", kind, str(count),
               f"{kind}{time.time_ns()}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"BENCH_JSON (\{.*\})", out)
    if not match:
        raise SystemExit("wrk printed no figures:\n" + out)
    figures = json.loads(match.group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        figures["errors"] = max(figures["errors"], int(non_2xx.group(1)))
    return figures


def request_body(kind: str, number: int, unique: str) -> str:
    """The Python client's request of ``kind``: seeded record ``number``, or ``unique`` new."""
    if kind == "get":
        return GET_HEAD + address(number) + GET_TAIL
    if kind == "save":
        return SAVE_HEAD + f"new-{unique}@{DOMAIN}" + SAVE_TAIL
    if kind == "search":
        return SEARCH_HEAD + f"P{number}" + SEARCH_TAIL
    return UPDATE_HEAD + str(number) + UPDATE_MIDDLE + unique + UPDATE_TAIL


def run_python(url: str, kind: str, count: int, seconds: float, connections: int) -> dict:
    """The same load from Python threads with keep-alive http.client connections."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def client(n: int) -> None:
        """One keep-alive connection sending requests until the deadline."""
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        rnd, counter = random.Random(n), 0
        while time.monotonic() < deadline:
            counter += 1
            body = request_body(kind, rnd.randint(1, count), f"py{n}-{counter}-{time.time_ns()}")
            began = time.perf_counter()
            try:
                conn.request("POST", parts.path, body.encode(),
                             {"Content-Type": "text/xml; charset=utf-8"})
                answer = conn.getresponse()
                answer.read()
                if answer.status != 200:
                    errors[n] += 1
            except OSError:
                errors[n] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            latencies[n].append(time.perf_counter() - began)

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    every = sorted(x for per in latencies for x in per)
    pick = (lambda q: every[min(len(every) - 1, int(q * len(every)))] * 1e6) if every else \
        (lambda q: 0.0)
    return {"requests": len(every) + sum(errors), "duration_us": elapsed * 1e6,
            "p50_us": pick(0.50), "p99_us": pick(0.99), "errors": sum(errors)}


# -- main -------------------------------------------------------------------------------------


def measure(args, operation: str, count: int, script: Path | None, tmp: Path) -> Row:
    """Start a server on a copy of the ``count`` store, check one request, warm it up, load
    it, stop it."""
    kind, dialect = OPERATIONS[operation]
    db = tmp / f"run-{operation}-{count}.db"
    shutil.copyfile(copernica_store(count) if dialect == "copernica" else cached_store(count), db)
    server = Server(db, args.workers, args.threads, [])
    try:
        url = server.copernica_url if dialect == "copernica" else server.url
        preflight(url, kind, count)
        drive = (lambda s: run_wrk(url, kind, count, s, args.connections, script)) \
            if script else (lambda s: run_python(url, kind, count, s, args.connections))
        drive(args.warmup)
        figures = drive(args.duration)
        rss, pss = server.memory_mb(), server.memory_mb("Pss", "smaps_rollup")
    finally:
        server.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    seconds = figures["duration_us"] / 1e6
    return Row(operation, count, args.workers, figures["requests"] / seconds,
               figures["p50_us"] / 1000, figures["p99_us"] / 1000, figures["errors"],
               server.ready_ms, rss, pss, args.threads)


def ready_times(args, tmp: Path, starts: int = 5) -> list[float]:
    """Start-to-ready of ``starts`` servers on an empty store seeded from the fixture."""
    times = []
    for n in range(starts):
        db = tmp / f"ready-{n}.db"
        server = Server(db, args.workers, args.threads, [])
        times.append(server.ready_ms)
        server.stop()
    return times


def table(rows: list[Row]) -> str:
    """The result table as text."""
    head = (f"{'operation':<24}{'records':>12}{'workers':>8}{'threads':>8}{'req/s':>8}"
            f"{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'ready ms':>9}{'RSS MB':>8}{'PSS MB':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.operation:<24}{r.records:>12,}{r.workers:>8}{r.threads:>8}"
                     f"{r.rps:>8,.0f}{r.p50_ms:>8.2f}{r.p99_ms:>8.2f}{r.errors:>7}"
                     f"{r.ready_ms:>9.0f}{r.rss_mb:>8.1f}{r.pss_mb:>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 3)[3],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads per worker (2, the recommended setting)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement (10)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds (2)")
    parser.add_argument("--connections", type=int, default=16,
                        help="concurrent keep-alive connections (16)")
    parser.add_argument("--operations", default=",".join(OPERATIONS), metavar="NAME,...",
                        help="comma-separated operations to measure (default: all of "
                             + ", ".join(OPERATIONS) + ")")
    parser.add_argument("--skip-million", action="store_true",
                        help="skip getSubscribers on a 1 000 000-subscriber store (measured "
                             "only when getSubscribers is among --operations)")
    parser.add_argument("--python-client", action="store_true",
                        help="use the Python client even when wrk is installed")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.operations.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in OPERATIONS]
    if unknown or not chosen:
        parser.error(f"unknown operation(s) {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(OPERATIONS)}")

    wrk = None if args.python_client else shutil.which("wrk")
    client = (f"wrk ({wrk})" if wrk else
              "Python client (threads + http.client keep-alive; wrk not found, so the client "
              "competes with the server for CPU and the figures are lower bounds)")
    print(f"mockserver bench: {os.cpu_count()} CPUs, {args.connections} keep-alive connections, "
          f"{args.duration:g} s per measurement after {args.warmup:g} s warm-up, client: {client}",
          flush=True)
    cases = [(name, COUNT) for name in OPERATIONS if name in chosen]
    if not args.skip_million and "getSubscribers" in chosen:
        cases.append(("getSubscribers", 1_000_000))
    for operation, count in cases:
        (copernica_store if OPERATIONS[operation][1] == "copernica" else cached_store)(count)
    # Bytecode as an installed package has it (PYTHONDONTWRITEBYTECODE would make every
    # start compile mockserver from source, which is not what users see).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mockserver")],
                   check=True)
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"  note: load average {load:.1f} before the run; other processes share the CPUs",
              flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mockserver-bench-") as folder:
        tmp = Path(folder)
        script = None
        if wrk:
            script = tmp / "bench.lua"
            script.write_text(WRK_SCRIPT % {
                "get_head": GET_HEAD, "get_tail": GET_TAIL, "save_head": SAVE_HEAD,
                "save_tail": SAVE_TAIL, "search_head": SEARCH_HEAD, "search_tail": SEARCH_TAIL,
                "update_head": UPDATE_HEAD, "update_middle": UPDATE_MIDDLE,
                "update_tail": UPDATE_TAIL, "domain": DOMAIN})
        for operation, count in cases:
            what = "profiles" if OPERATIONS[operation][1] == "copernica" else "subscribers"
            print(f"  {operation} with {count:,} {what} ...", flush=True)
            rows.append(measure(args, operation, count, script, tmp))
        ready = ready_times(args, tmp)
    text = table(rows)
    text += (f"\n\nstart-to-ready, empty store seeded from {FIXTURE.name}, {args.workers} "
             f"worker(s), {len(ready)} starts: median {statistics.median(ready):.0f} ms, "
             f"max {max(ready):.0f} ms")
    text += ("\nrecords: subscribers (BACKCLICK rows) or profiles (Copernica rows) in the "
             "store; each request reads or writes one of them at random, or adds one "
             "(saveOrCreateSubscriber).")
    text += ("\nRSS: VmRSS of the gunicorn master plus its workers, summed, after the load "
             "(pages shared after the fork count once per process); PSS: the same processes' "
             "proportional set size, summed.")
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"throughput-{stamp}.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
