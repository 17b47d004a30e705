"""``serve --log-requests``: one line per request on standard error, once it is answered.

``12:00:01.234 POST /bc/rpc/soap/backclickService backclick getSubscribers 200 3.1ms``: the
time (this machine's, not the mock's clock), method, path with its query, dialect
(``backclick``, ``copernica``, ``admin`` or ``ui``), operation (a SOAP operation, ``WSDL``, an
admin route's name, ``-`` when none), HTTP status (``0``: the connection was dropped, by a fault
rule or the client) and the milliseconds from the request's arrival to its answer sent.
"""
from __future__ import annotations

import sys
import threading
import time
from urllib.parse import quote

from mockserver import copernica
from mockserver.surfaces import gate

DIALECT = "mockserver.dialect"  # environ keys the application fills in
OPERATION = "mockserver.operation"
LONGEST_TARGET = 300  # characters of path and query a line shows
_write_lock = threading.Lock()


def dialect_of(path: str) -> str:
    """The part of the mock a path belongs to: a dialect, ``admin``, ``ui`` or ``-``."""
    if gate.is_ui_path(path):
        return "ui"
    if gate.is_admin_path(path):
        return "admin"
    if path.startswith("/bc/"):
        return "backclick"
    return "copernica" if path == copernica.SERVICE_PATH else "-"


def line(method: str, path: str, query: str, dialect: str, operation: str | None,
         status: int, ms: float) -> str:
    """One request's line (``ms``: from its arrival to its answer)."""
    target = quote(path, safe="/:@!$&'()*+,;=-._~%") + (f"?{query}" if query else "")
    if len(target) > LONGEST_TARGET:
        target = target[:LONGEST_TARGET - 1] + "…"
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    return (f"{stamp} {method or '-'} {target} {dialect or '-'} {operation or '-'} {status} "
            f"{ms:.1f}ms")


def write(text: str) -> None:
    """Write one line to standard error, whole."""
    with _write_lock:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


class RequestLog:
    """WSGI middleware writing each request's line once its answer is sent."""

    def __init__(self, app):
        """Log the requests ``app`` answers."""
        self.app = app

    def __call__(self, environ, start_response):
        """Answer through the application; the line follows the answer's last byte."""
        started = time.perf_counter()
        status = [0]

        def starting(head, headers, exc_info=None):
            status[0] = int(head.split(" ", 1)[0])
            return start_response(head, headers, exc_info)

        try:
            body = self.app(environ, starting)
        except BaseException:  # a fault rule's drop: no answer at all
            self._log(environ, 0, started)
            raise
        return _Answer(body, lambda dropped: self._log(environ, 0 if dropped else status[0],
                                                       started))

    @staticmethod
    def _log(environ: dict, status: int, started: float) -> None:
        path = environ.get("PATH_INFO", "")
        write(line(environ.get("REQUEST_METHOD", ""), path, environ.get("QUERY_STRING", ""),
                   environ.get(DIALECT) or dialect_of(path), environ.get(OPERATION), status,
                   (time.perf_counter() - started) * 1000))


class _Answer:
    """An answer's body, logging once the server has sent it, or once it was cut off."""

    def __init__(self, body, done):
        """``done(dropped)`` writes the line."""
        self._body, self._done, self._logged = body, done, False

    def __iter__(self):
        """The body's parts; a body cut off (a fault rule's truncate) logs status 0."""
        try:
            yield from self._body
        except BaseException:
            self._finish(dropped=True)
            raise

    def _finish(self, dropped: bool) -> None:
        if not self._logged:
            self._logged = True
            self._done(dropped)

    def close(self):
        """Close the body, then write the line."""
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish(dropped=False)
