"""Scale: a newsletter to a 100 000-subscriber list, and an import of 100 000 rows.

    .venv/bin/python bench/scale.py [--subscribers 100000] [--workers 2] [--threads 2]

(a) Builds (once, cached under bench/.cache/) a store with the test fixture plus a list of
N subscribers, each with FIRSTNAME and LASTNAME, starts ``mockserver serve`` on a copy,
calls sendNewsletterToList over SOAP (a personalised subject and HTML body) and measures
the call's latency, the time until every mail is in the outbox (the newsletter's state is
'sent'; the mails are then counted), the store's growth (db + -wal files, after a WAL
checkpoint) and reading one rendered mail (GET /_mock/outbox/ID). While the newsletter is
being sent, a probe calls getSubscribers every 50 ms to show what sending costs the API.
(b) Starts a server on a fresh store seeded from the fixture and imports N tab-separated
rows (EMAIL, FIRSTNAME, LASTNAME, NEWSLETTER) with importSubscribers; then imports the
same file again (every row an existing subscriber, nothing changes).

Prints a table against the targets and writes it to bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from mockserver.vendors.store import open_store  # noqa: E402
from mockserver.backclick import tables as backclick_tables  # noqa: E402
from mockserver.backclick import newsletter_tables as newsletter_tables  # noqa: E402
from mockserver.vendors import store as vendor_store  # noqa: E402
from throughput import GET_HEAD, GET_TAIL, Server, address, cached_store  # noqa: E402

CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"
MANDATOR, API_KEY, LIST_ID = 1, "shop-key-1234", 1
DOMAIN = "bench.example"
TNS = "http://soap.rpc.bc.backclick.de/"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"

SEND_TARGET_S, GROWTH_TARGET_MB, CALL_TARGET_MS, IMPORT_TARGET_S = 20.0, 200.0, 100.0, 10.0

SUBJECT = "News for $$FIRSTNAME$$"
HTML = ("<html><body><p>Hello $$FIRSTNAME$$ $$LASTNAME$$,</p><p>this week's offers:</p>"
        '<p><a href="https://shop.example/offers">Offers</a> · '
        '<a href="https://shop.example/new">New in</a></p>'
        '<p><a href="$$UNSUBSCRIBE-LINK$$">Unsubscribe</a></p></body></html>')
TEXT = "Hello $$FIRSTNAME$$ $$LASTNAME$$,\nthis week's offers: https://shop.example/offers\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def envelope(operation: str, body: str) -> str:
    """A SOAP 1.1 envelope calling a BACKCLICK operation of the bench mandator."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{ENV}" '
            f'xmlns:bc="{TNS}"><soap:Body><bc:{operation}><bc:mandatorId>{MANDATOR}'
            f'</bc:mandatorId><bc:apiKey>{API_KEY}</bc:apiKey>{body}</bc:{operation}>'
            f'</soap:Body></soap:Envelope>')


SEND = envelope("sendNewsletterToList", (
    f"<bc:newsletterListId>{LIST_ID}</bc:newsletterListId><bc:subject>{_escape(SUBJECT)}"
    f"</bc:subject><bc:newsletterContent>{_escape(HTML)}</bc:newsletterContent>"
    f"<bc:alternativeContent>{_escape(TEXT)}</bc:alternativeContent>"
    "<bc:senderName>Shop</bc:senderName><bc:senderEmail>news@shop.example</bc:senderEmail>"))


def names(i: int) -> dict[str, str]:
    """FIRSTNAME and LASTNAME of subscriber number ``i``."""
    return {"FIRSTNAME": f"First{i}", "LASTNAME": f"Last{i}"}


def post(url: str, body: str, timeout: float = 300) -> tuple[int, bytes, float]:
    """One SOAP POST; (status, body, seconds)."""
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "text/xml; charset=utf-8"})
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, data = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, data = error.code, error.read()
    return status, data, time.perf_counter() - began


def get(url: str, timeout: float = 60) -> tuple[int, bytes, float]:
    """One GET; (status, body, seconds)."""
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.status, answer.read(), time.perf_counter() - began


def element(body: bytes, name: str) -> str | None:
    """The text of the first element called ``name`` (any prefix) in a SOAP answer."""
    match = re.search(rb"<(?:\w+:)?" + name.encode() + rb">([^<]*)</", body)
    return match.group(1).decode() if match else None


def store_bytes(path: Path) -> int:
    """Size of the store's database file plus its -wal file."""
    return sum(os.path.getsize(p) for p in (str(path), str(path) + "-wal") if os.path.exists(p))


def cached_list_store(count: int) -> Path:
    """A store with the test fixture and ``count`` subscribers with names on list 1, cached."""
    return cached_store(count, fields=lambda e: names(int(e[4:e.index("@")])), prefix="scale")


class Probe(threading.Thread):
    """Calls getSubscribers every 50 ms until stopped; keeps the latencies."""

    def __init__(self, url: str):
        """Prepare the probe (start it with ``start()``)."""
        super().__init__(daemon=True)
        self.url, self.latencies, self.stopping = url, [], threading.Event()

    def run(self) -> None:
        """Probe until stopped."""
        body = GET_HEAD + address(1) + GET_TAIL
        while not self.stopping.wait(0.05):
            status, _, seconds = post(self.url, body, 60)
            if status == 200:
                self.latencies.append(seconds * 1000)


def measure_send(args, tmp: Path) -> dict:
    """(a): sendNewsletterToList to the big list; the figures."""
    db = tmp / "send.db"
    shutil.copyfile(cached_list_store(args.subscribers), db)
    before = store_bytes(db)
    server = Server(db, args.workers, args.threads, [])
    figures: dict = {"before_mb": before / 1e6}
    try:
        for _ in range(4):  # both workers answer SOAP once before the measured call
            status, answer, _ = post(server.url, GET_HEAD + address(1) + GET_TAIL)
            assert status == 200 and element(answer, "status") == "1", answer[:500]
        reader = open_store(str(db))
        probe = Probe(server.url)
        began = time.monotonic()
        status, answer, seconds = post(server.url, SEND)
        if status != 200 or element(answer, "newsletterId") is None:
            raise SystemExit(f"sendNewsletterToList failed: HTTP {status}\n{answer[:2000]!r}")
        probe.start()
        newsletter_id = int(element(answer, "newsletterId"))
        figures["call_ms"] = seconds * 1000
        first = None
        while True:
            if first is None and reader.mails(newsletter_id=newsletter_id, limit=1):
                first = time.monotonic() - began
            letter = newsletter_tables.newsletter_by_id(reader, newsletter_id)
            if letter["state"] == "sent":
                break
            if time.monotonic() - began > args.timeout:
                raise SystemExit(f"newsletter not sent within {args.timeout} s: {letter}")
            time.sleep(0.05)
        figures["sent_s"] = time.monotonic() - began
        probe.stopping.set()
        probe.join()
        figures["first_s"] = first if first is not None else figures["sent_s"]
        figures["recipients"] = letter["num_adjusted"]
        figures["mails"] = newsletter_tables.newsletter_counts(reader, [newsletter_id])[newsletter_id]["mails"]
        figures["probe"] = sorted(probe.latencies)
        figures["wal_mb"] = store_bytes(db) / 1e6
        status, answer, seconds = post(server.url, envelope(
            "NewsletterStatistic", f"<bc:newsletterIds><bc:item>{newsletter_id}</bc:item>"
            "</bc:newsletterIds>"))
        figures["statistic"] = (element(answer, "state"), element(answer, "numRecipientsAdjusted"))
        last = _last_mail_id(reader, newsletter_id)
        status, body, seconds = get(f"{server.base}_mock/outbox/{last}")
        mail = json.loads(body)
        figures["render_ms"] = seconds * 1000
        figures["rendered"] = mail
        reader.checkpoint()
        figures["after_mb"] = store_bytes(db) / 1e6
        reader.close()
    finally:
        server.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    return figures


def _last_mail_id(reader, newsletter_id: int) -> int:
    """The id of the newsletter's last mail (mails are numbered in sending order)."""
    ids = vendor_store.max_ids(reader)["outbox"]
    row = reader.mail(ids)
    assert row and row["newsletter_id"] == newsletter_id, row
    return ids


def import_data(count: int) -> str:
    """A BACKCLICK import file of ``count`` new subscribers on list 1."""
    lines = ["EMAIL\tFIRSTNAME\tLASTNAME\tNEWSLETTER"]
    lines += [f"imp{i}@{DOMAIN}\tFirst{i}\tLast{i}\t{LIST_ID}" for i in range(1, count + 1)]
    return "\n".join(lines) + "\n"


def measure_import(args, tmp: Path) -> dict:
    """(b): importSubscribers of N rows into a fresh store, then the same rows again."""
    db = tmp / "import.db"
    server = Server(db, args.workers, args.threads, [])
    body = envelope("importSubscribers", f"<bc:importData>{import_data(args.subscribers)}"
                                          "</bc:importData>")
    figures = {"body_mb": len(body.encode()) / 1e6}
    try:
        for _ in range(4):
            post(server.url, GET_HEAD + address(1) + GET_TAIL)
        for key in ("import", "reimport"):
            status, answer, seconds = post(server.url, body)
            imported = element(answer, "importedCount")
            if status != 200 or imported != str(args.subscribers):
                raise SystemExit(f"importSubscribers failed: HTTP {status}\n{answer[:2000]!r}")
            figures[key + "_s"] = seconds
        reader = open_store(str(db))
        sub = backclick_tables.subscriber(reader, MANDATOR, f"imp{args.subscribers}@{DOMAIN}")
        figures["check"] = (sub["fields"], backclick_tables.memberships(reader, sub["id"]))
        reader.close()
    finally:
        server.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    return figures


def table(args, send: dict, imp: dict) -> str:
    """The result table as text."""
    n = f"{args.subscribers:,}"
    probe = send["probe"]
    p50 = probe[len(probe) // 2] if probe else 0.0
    worst = probe[-1] if probe else 0.0
    rows = [
        ("sendNewsletterToList call", f"{send['call_ms']:.0f} ms", f"<= {CALL_TARGET_MS:.0f} ms",
         send["call_ms"] <= CALL_TARGET_MS),
        (f"all {send['mails']:,} mails in the outbox", f"{send['sent_s']:.1f} s",
         f"<= {SEND_TARGET_S:.0f} s", send["sent_s"] <= SEND_TARGET_S),
        ("  first mail in the outbox", f"{send['first_s']:.2f} s", "", None),
        ("store growth (db+wal, checkpointed)",
         f"{send['after_mb'] - send['before_mb']:.1f} MB", f"<= {GROWTH_TARGET_MB:.0f} MB",
         send["after_mb"] - send["before_mb"] <= GROWTH_TARGET_MB),
        ("  db+wal before checkpoint", f"{send['wal_mb'] - send['before_mb']:+.1f} MB", "", None),
        ("GET /_mock/outbox/ID (rendered)", f"{send['render_ms']:.0f} ms", "", None),
        ("getSubscribers while sending", f"p50 {p50:.0f} / max {worst:.0f} ms", "", None),
        (f"importSubscribers, {n} new", f"{imp['import_s']:.1f} s",
         f"<= {IMPORT_TARGET_S:.0f} s", imp["import_s"] <= IMPORT_TARGET_S),
        (f"importSubscribers, {n} existing", f"{imp['reimport_s']:.1f} s", "", None),
    ]
    head = f"{'measurement':<40}{'figure':>22}{'target':>12}  met"
    lines = [head, "-" * len(head)]
    for label, figure, target, met in rows:
        lines.append(f"{label:<40}{figure:>22}{target:>12}  "
                     f"{'' if met is None else ('yes' if met else 'NO')}")
    mail = send["rendered"]
    lines += [
        "",
        f"list of {n} subscribers (+ the fixture's); {args.workers} workers x {args.threads} "
        f"threads; NewsletterStatistic: state={send['statistic'][0]}, "
        f"numRecipientsAdjusted={send['statistic'][1]}; store {send['before_mb']:.1f} MB -> "
        f"{send['after_mb']:.1f} MB",
        f"last mail rendered: to {mail.get('to')!r}, subject "
        f"{mail.get('subject')!r}, html {len(mail.get('html') or '')} chars",
        f"import request body {imp['body_mb']:.1f} MB; imported subscriber: "
        f"fields {imp['check'][0]}, lists {imp['check'][1]}",
        f"'at once' is taken to mean the SOAP answer within {CALL_TARGET_MS:.0f} ms on a warm "
        "server; the sending time runs from the call until the newsletter's state is 'sent'.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run both scale measurements and print their table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000,
                        help="list size and import rows (100000)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (2)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="give up waiting for the newsletter after this many seconds (300)")
    parser.add_argument("--only", choices=("send", "import"), help="run one half only")
    args = parser.parse_args(argv)
    print(f"mockserver scale bench: {os.cpu_count()} CPUs, {args.subscribers:,} subscribers, "
          f"--workers {args.workers} --threads {args.threads}", flush=True)
    cached_list_store(args.subscribers)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mockserver")],
                   check=True)
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"  note: load average {load:.1f} before the run; other processes share the CPUs",
              flush=True)
    empty_send = {"call_ms": 0, "sent_s": 0, "first_s": 0, "mails": 0, "after_mb": 0,
                  "before_mb": 0, "wal_mb": 0, "render_ms": 0, "probe": [],
                  "statistic": ("", ""), "rendered": {}}
    empty_import = {"import_s": 0, "reimport_s": 0, "body_mb": 0, "check": ({}, {})}
    with tempfile.TemporaryDirectory(prefix="mockserver-scale-") as folder:
        tmp = Path(folder)
        send = empty_send
        if args.only in (None, "send"):
            print("  sendNewsletterToList ...", flush=True)
            send = measure_send(args, tmp)
        imp = empty_import
        if args.only in (None, "import"):
            print("  importSubscribers ...", flush=True)
            imp = measure_import(args, tmp)
    text = table(args, send, imp)
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
