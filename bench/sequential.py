"""Latency of getSubscribers one request at a time, on one keep-alive connection.

Starts its own ``mockserver serve --workers 2`` on a copy of bench/throughput.py's cached
store (the test fixture and 1 000 subscribers on list 1), sends a few warm-up requests, then
N getSubscribers of a random seeded subscriber, each after the answer to the one before, over
one ``http.client`` connection, and prints p50, p90, p99 and max in ms. Every answer must be
HTTP 200 holding the subscriber (status 1); the first that is not stops the run.

    .venv/bin/python bench/sequential.py [--requests 2000] [--warmup 50] [--threads 2]
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import COUNT, GET_HEAD, GET_TAIL, Server, address, cached_store  # noqa: E402

FOUND = re.compile(rb"<(\w+:)?status>1</")


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, nearest rank."""
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def drive(url: str, requests: int, warmup: int, count: int, seed: int) -> list[float]:
    """Send ``warmup`` then ``requests`` getSubscribers in turn on one connection; the
    measured latencies in seconds."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    rnd = random.Random(seed)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    latencies = []
    try:
        for n in range(warmup + requests):
            number = rnd.randint(1, count)
            body = (GET_HEAD + address(number) + GET_TAIL).encode()
            began = time.perf_counter()
            conn.request("POST", parts.path, body, headers)
            answer = conn.getresponse()
            data = answer.read()
            elapsed = time.perf_counter() - began
            if answer.status != 200 or not FOUND.search(data) or address(number).encode() \
                    not in data:
                raise SystemExit(f"request {n + 1}: HTTP {answer.status}, not the subscriber:\n"
                                 f"{data.decode(errors='replace')[:2000]}")
            if answer.will_close:
                raise SystemExit(f"request {n + 1}: the server closed the keep-alive connection")
            if n >= warmup:
                latencies.append(elapsed)
    finally:
        conn.close()
    return latencies


def main(argv: list[str] | None = None) -> int:
    """Start the server, drive it, print the percentiles."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests (2000)")
    parser.add_argument("--warmup", type=int, default=50,
                        help="requests sent first and not counted (50)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random subscribers (1)")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")

    load = os.getloadavg()[0]
    store = cached_store(COUNT)
    with tempfile.TemporaryDirectory(prefix="mockserver-sequential-") as folder:
        db = Path(folder) / "sequential.db"
        shutil.copyfile(store, db)
        server = Server(db, 2, args.threads, [])
        try:
            latencies = drive(server.url, args.requests, args.warmup, COUNT, args.seed)
        finally:
            server.stop()
    ordered = sorted(x * 1000 for x in latencies)
    print(f"getSubscribers, {args.requests} requests one after another on one keep-alive "
          f"connection ({args.warmup} warm-up first), --workers 2 --threads {args.threads}, "
          f"{COUNT:,} subscribers; load average {load:.1f} before the run")
    print(f"p50 {percentile(ordered, 0.50):.2f} ms  p90 {percentile(ordered, 0.90):.2f} ms  "
          f"p99 {percentile(ordered, 0.99):.2f} ms  max {ordered[-1]:.2f} ms  "
          f"(mean {statistics.fmean(ordered):.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
