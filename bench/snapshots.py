"""What snapshots cost, as figures: saving and restoring a store of 100 000 subscribers.

Starts ``mockserver serve`` on a copy of a cached store (the test fixture plus N subscribers,
built once under bench/.cache/ as bench/throughput.py builds it), takes a snapshot, then
restores it RUNS times over the admin API and prints the store's size, the median and the
slowest time over HTTP, and the time the server reports for the restore itself.

    .venv/bin/python bench/snapshots.py [--subscribers 100000]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from throughput import Server, cached_store

RUNS = 5


def admin(server: Server, path: str) -> tuple[float, dict]:
    """POST to an admin route; the seconds it took and the JSON answer."""
    request = urllib.request.Request(server.base + path, data=b"", method="POST")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as answer:
        body = json.load(answer)
    return time.perf_counter() - started, body


def main() -> None:
    """Print the snapshot's size and the restore's times over RUNS restores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    count = parser.parse_args().subscribers
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "store.db"
        shutil.copy(cached_store(count), db)
        server = Server(db, workers=1, threads=None, extra=[])
        try:
            saved, _ = admin(server, "_mock/snapshots/bench")
            restores = [admin(server, "_mock/snapshots/bench/restore") for _ in range(RUNS)]
        finally:
            server.stop()
    http = [seconds * 1000 for seconds, _ in restores]
    inside = [body["ms"] for _, body in restores]
    print(f"snapshot of a {restores[0][1]['size'] / 1e6:.1f} MB store ({count} subscribers): "
          f"saved in {saved * 1000:.0f} ms")
    print(f"restore, {RUNS} runs: median {statistics.median(http):.0f} ms over HTTP "
          f"(slowest {max(http):.0f} ms), {statistics.median(inside):.0f} ms in the server")


if __name__ == "__main__":
    main()
