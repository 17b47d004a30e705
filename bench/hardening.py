"""What a hostile or careless caller costs a running mockserver, as figures.

Starts ``mockserver serve --workers 2`` on a free port (through the test suite's own
helpers), then prints:

- the latency of ``GET /_mock/health`` and of a getSubscribers while 64 connections sit
  stalled half-way through their request body;
- the workers' RSS and the journal file's size after 20 request bodies just under the
  10 MiB limit, and the journal's size after ``DELETE /_mock/journal``.

    .venv/bin/python bench/hardening.py
"""
from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import http, start_server  # noqa: E402
from test_reliability_journal import (ENDPOINT, SOAP, journal_files, padded_save,  # noqa: E402
                                      worker_memory)

GET = (b'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope '
       b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
       b'xmlns:bc="http://soap.rpc.bc.backclick.de/"><soap:Body><bc:getSubscribers>'
       b'<bc:mandatorId>1</bc:mandatorId><bc:apiKey>shop-key-1234</bc:apiKey>'
       b'<bc:emailAddresses><bc:item>anna@example.com</bc:item></bc:emailAddresses>'
       b'</bc:getSubscribers></soap:Body></soap:Envelope>')


def timed_ms(call) -> float:
    """How long ``call()`` took, in milliseconds."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def stalled(server, count: int) -> list[socket.socket]:
    """``count`` connections that sent headers and 10 of 1000 body bytes, then stopped."""
    parts = urlsplit(server.base_url)
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((parts.hostname, parts.port))
        sock.sendall(b"POST /" + ENDPOINT.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: text/xml\r\nContent-Length: 1000\r\n\r\n0123456789")
        sockets.append(sock)
    return sockets


def main() -> None:
    """Measure and print."""
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(Path(folder), "--workers", "2")
        try:
            held = stalled(server, 64)
            time.sleep(0.5)
            health = [timed_ms(lambda: http("GET", server.base_url + "_mock/health"))
                      for _ in range(20)]
            soap = [timed_ms(lambda: server.post(ENDPOINT, GET, SOAP)) for _ in range(20)]
            for sock in held:
                sock.close()
            print(f"64 stalled connections: health median {statistics.median(health):.1f} ms,"
                  f" max {max(health):.1f} ms; getSubscribers median "
                  f"{statistics.median(soap):.1f} ms, max {max(soap):.1f} ms")
            body = padded_save(10 * 1024 * 1024 - 4096)
            for _ in range(20):
                status, _, _ = server.post(ENDPOINT, body, SOAP)
                assert status == 200, status
            time.sleep(1)  # the journal writes its batch
            print(f"after 20 bodies of {len(body) / 1048576:.1f} MiB: workers' RSS "
                  f"{' / '.join(str(m) for m in worker_memory(server))} MB, peak "
                  f"{' / '.join(str(m) for m in worker_memory(server, 'VmHWM'))} MB; journal "
                  f"{journal_files(server) / 1048576:.2f} MB")
            http("DELETE", server.base_url + "_mock/journal")
            print(f"after DELETE /_mock/journal: journal {journal_files(server) / 1024:.0f} KB")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
