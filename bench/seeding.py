"""What seeding costs, as figures: 10 000 BACKCLICK subscribers on two lists from one document.

Seeds a fresh store file RUNS times from a fixture document of one mandator with 10 000
subscribers (20 000 memberships) and prints each time, the median and the rows per second.

    .venv/bin/python bench/seeding.py [--subscribers 10000]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from mockserver.vendors import fixtures
from mockserver.vendors.store import open_store

RUNS = 5


def document(count: int) -> dict:
    """A fixture document: one mandator, two lists, ``count`` subscribers on both."""
    return {"backclick": {"mandators": [{
        "id": 1, "name": "Shop", "fields": ["FIRSTNAME", "LASTNAME"],
        "templates": [{"id": 10, "name": "Welcome", "subject": "Hi"}],
        "lists": [{"id": 1, "name": "News", "welcomeTemplateId": 10},
                  {"id": 2, "name": "Offers"}],
        "subscribers": [
            {"email": f"user{i}@example.com", "fields": {"FIRSTNAME": f"U{i}", "LASTNAME": "X"},
             "lists": {1: "subscribed", 2: "pending" if i % 3 else "unsubscribed"}}
            for i in range(count)]}]}}


def seconds(count: int, folder: Path, run: int) -> float:
    """How long seeding ``count`` subscribers into a new store file takes."""
    store = open_store(str(folder / f"seed-{run}.db"))
    store.migrate()
    doc = document(count)
    started = time.perf_counter()
    counts = fixtures.seed(store, doc)
    elapsed = time.perf_counter() - started
    assert counts["subscribers"] == count, counts
    return elapsed


def main() -> None:
    """Print each run's time, the median and the subscribers seeded per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    count = parser.parse_args().subscribers
    with tempfile.TemporaryDirectory() as folder:
        times = [seconds(count, Path(folder), run) for run in range(RUNS)]
    median = statistics.median(times)
    print(f"seeding {count} subscribers ({2 * count} memberships), {RUNS} runs: "
          + " ".join(f"{t:.2f}" for t in times) + " s")
    print(f"median {median:.2f} s, {count / median:,.0f} subscribers/s")


if __name__ == "__main__":
    main()
