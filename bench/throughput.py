"""Throughput, latency, start-to-ready time and memory of a running mockserver.

Starts its own ``mockserver serve`` processes on free ports, seeds their stores with
N subscribers, drives getSubscribers and saveOrCreateSubscriber with concurrent
keep-alive clients (``wrk`` when installed, else a Python client) and prints a table.

    .venv/bin/python bench/throughput.py [--workers 2] [--duration 10] [--connections 16]
                                         [--skip-million]

Stores with N subscribers are built once and cached under bench/.cache/; each run
works on a copy, so saveOrCreateSubscriber never grows the cached file.
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

WRK_SCRIPT = """
local kind, count, run, tid = "get", 1000, "r", 0
local counter = 0
local threads = {}
local headers = {["Content-Type"] = "text/xml; charset=utf-8", ["SOAPAction"] = '""'}
local GET_HEAD, GET_TAIL = [==[%(get_head)s]==], [==[%(get_tail)s]==]
local SAVE_HEAD, SAVE_TAIL = [==[%(save_head)s]==], [==[%(save_tail)s]==]

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
  if kind == "get" then
    body = GET_HEAD .. "user" .. math.random(1, count) .. "@%(domain)s" .. GET_TAIL
  else
    counter = counter + 1
    body = SAVE_HEAD .. "new-" .. run .. "-" .. tid .. "-" .. counter .. "@%(domain)s" .. SAVE_TAIL
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
    subscribers: int
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
    key = hashlib.sha256(("".join(SCHEMA.sql(n) for n in range(1, SCHEMA.version + 1)) + FIXTURE.read_text() + prefix +
                          str(count)).encode()).hexdigest()[:12]
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
    backclick_tables.bulk_insert_subscribers(store, MANDATOR, (address(i) for i in range(1, count + 1)),
                                  [LIST_ID], "2024-01-01T00:00:00.000000Z", fields=fields)
    store.checkpoint()
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    partial.rename(path)
    print(f"  built {path.name} with {count:,} subscribers in "
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
    """One request of each kind, checked, so a broken setup fails loudly rather than fast."""
    if kind == "get":
        status, body = post(url, GET_HEAD + address(count) + GET_TAIL)
        ok = status == 200 and re.search(rb"<(\w+:)?status>1</", body) is not None
    else:
        status, body = post(url, SAVE_HEAD + f"preflight-{time.time_ns()}@{DOMAIN}" + SAVE_TAIL)
        ok = status == 200 and re.search(rb"<(\w+:)?responseCode>0</", body) is not None
    if not ok:
        raise SystemExit(f"preflight {kind} failed: HTTP {status}\n{body.decode()[:2000]}")


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


def run_python(url: str, kind: str, count: int, seconds: float, connections: int) -> dict:
    """The same load from Python threads with keep-alive http.client connections."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        rnd, counter = random.Random(n), 0
        while time.monotonic() < deadline:
            counter += 1
            body = (GET_HEAD + address(rnd.randint(1, count)) + GET_TAIL if kind == "get" else
                    SAVE_HEAD + f"new-py{n}-{counter}-{time.time_ns()}@{DOMAIN}" + SAVE_TAIL)
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
    """Start a server on a copy of the ``count`` store, warm it up, load it, stop it."""
    kind = "get" if operation == "getSubscribers" else "save"
    db = tmp / f"run-{operation}-{count}.db"
    shutil.copyfile(cached_store(count), db)
    server = Server(db, args.workers, args.threads, [])
    try:
        preflight(server.url, kind, count)
        drive = (lambda s: run_wrk(server.url, kind, count, s, args.connections, script)) \
            if script else (lambda s: run_python(server.url, kind, count, s, args.connections))
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
    head = (f"{'operation':<24}{'subscribers':>12}{'workers':>8}{'threads':>8}{'req/s':>8}"
            f"{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'ready ms':>9}{'RSS MB':>8}{'PSS MB':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.operation:<24}{r.subscribers:>12,}{r.workers:>8}{r.threads:>8}"
                     f"{r.rps:>8,.0f}{r.p50_ms:>8.2f}{r.p99_ms:>8.2f}{r.errors:>7}"
                     f"{r.ready_ms:>9.0f}{r.rss_mb:>8.1f}{r.pss_mb:>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads per worker (2, the recommended setting)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement (10)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds (2)")
    parser.add_argument("--connections", type=int, default=16,
                        help="concurrent keep-alive connections (16)")
    parser.add_argument("--skip-million", action="store_true",
                        help="skip getSubscribers on a 1 000 000-subscriber store")
    parser.add_argument("--python-client", action="store_true",
                        help="use the Python client even when wrk is installed")
    args = parser.parse_args(argv)

    wrk = None if args.python_client else shutil.which("wrk")
    client = (f"wrk ({wrk})" if wrk else
              "Python client (threads + http.client keep-alive; wrk not found, so the client "
              "competes with the server for CPU and the figures are lower bounds)")
    print(f"mockserver bench: {os.cpu_count()} CPUs, {args.connections} keep-alive connections, "
          f"{args.duration:g} s per measurement after {args.warmup:g} s warm-up, client: {client}",
          flush=True)
    cases = [("getSubscribers", 1_000), ("saveOrCreateSubscriber", 1_000)]
    if not args.skip_million:
        cases.append(("getSubscribers", 1_000_000))
    for _, count in cases:
        cached_store(count)
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
            script.write_text(WRK_SCRIPT % {"get_head": GET_HEAD, "get_tail": GET_TAIL,
                                            "save_head": SAVE_HEAD, "save_tail": SAVE_TAIL,
                                            "domain": DOMAIN})
        for operation, count in cases:
            print(f"  {operation} with {count:,} subscribers ...", flush=True)
            rows.append(measure(args, operation, count, script, tmp))
        ready = ready_times(args, tmp)
    text = table(rows)
    text += (f"\n\nstart-to-ready, empty store seeded from {FIXTURE.name}, {args.workers} "
             f"worker(s), {len(ready)} starts: median {statistics.median(ready):.0f} ms, "
             f"max {max(ready):.0f} ms")
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
