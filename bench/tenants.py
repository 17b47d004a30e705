"""What a tenant costs, as figures: creating and deleting one over the admin API.

Starts ``mockserver serve --workers 2`` (``--workers N``) on a fresh store in a temporary
folder, then creates and deletes a tenant ``--rounds`` times (50) over ``POST
/_mock/tenants`` and ``DELETE /_mock/tenants/NAME`` on one keep-alive connection, and prints
the median and p95 of create, delete and both.

    .venv/bin/python bench/tenants.py [--workers 2] [--rounds 50]
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"mockserver ready on (http://[^/\s]+/)")


def start(db: Path, workers: int) -> tuple[subprocess.Popen, str]:
    """A ``mockserver serve`` on a free port over ``db``; the process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", str(db),
         "--workers", str(workers)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines = []
    while True:
        line = process.stdout.readline()
        if not line:
            raise SystemExit("server exited before it was ready:\n" + "".join(lines))
        lines.append(line)
        match = READY.search(line)
        if match:
            threading.Thread(target=process.stdout.read, daemon=True).start()  # drain
            return process, match.group(1)


def stop(process: subprocess.Popen) -> None:
    """Stop the server (quick shutdown) and wait for it."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call(conn: http.client.HTTPConnection, method: str, path: str) -> tuple[float, dict]:
    """One admin call; (seconds it took, its JSON answer); SystemExit unless 2xx."""
    started = time.perf_counter()
    conn.request(method, path, headers={"Content-Length": "0"})
    answer = conn.getresponse()
    body = answer.read()
    took = time.perf_counter() - started
    if answer.status // 100 != 2:
        raise SystemExit(f"{method} {path}: {answer.status} {body[:300]!r}")
    return took, json.loads(body)


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    """Create and delete tenants on a fresh server; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--rounds", type=int, default=50, help="tenants created and deleted (50)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mockserver-bench-") as folder:
        process, base = start(Path(folder) / "bench.db", args.workers)
        try:
            address = urlsplit(base)
            conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
            call(conn, "GET", "/_mock/health")
            call(conn, "DELETE", f"/_mock/tenants/{call(conn, 'POST', '/_mock/tenants')[1]['tenant']}")
            creates, deletes = [], []
            for _ in range(args.rounds):
                took, tenant = call(conn, "POST", "/_mock/tenants")
                creates.append(took)
                deletes.append(call(conn, "DELETE", f"/_mock/tenants/{tenant['tenant']}")[0])
            conn.close()
        finally:
            stop(process)
    both = [c + d for c, d in zip(creates, deletes)]
    print(f"mockserver tenants: {args.workers} worker(s), {args.rounds} rounds (ms)")
    for name, values in (("create", creates), ("delete", deletes), ("create+delete", both)):
        print(f"  {name:14} median {statistics.median(values) * 1000:8.1f}   "
              f"p95 {p95(values) * 1000:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
