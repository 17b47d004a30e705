"""Reading a request whole before it is served, and the answers refusing one.

The serving worker (mockserver/surfaces/worker.py) reads every connection without waiting and
feeds an ``Intake`` until one request (headers and body) is buffered; only then does
gunicorn parse and serve it. llhttp (through httptools) frames the bytes strictly, so a
malformed request, a header block or body over its limit, and a client that stops
half-way are answered here, in the dialect's form: a SOAP 1.1 fault (1.2 when the
request said so) outside ``/_mock/``, ``{"error": ...}`` under it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httptools

from mockserver.surfaces import gate

WAIT_PATH = b"/_mock/outbox/wait"
REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large",
           414: "URI Too Long", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
           417: "Expectation Failed"}


@dataclass(frozen=True)
class Limits:
    """What a request may be: its size in parts, and the time it may take to arrive."""

    max_body: int
    read_timeout: float
    line: int = 8190  # request line, in bytes
    fields: int = 100  # header fields
    field_size: int = 8190  # one header line, in bytes
    discard_at_most: int = 64 * 1024 * 1024  # bytes read past max_body before giving up

    @property
    def header_block(self) -> int:
        """The most bytes a request line and its header block may take."""
        return self.line + self.fields * (self.field_size + 2) + 4


@dataclass
class Refusal:
    """A request answered without the application: HTTP status (of the JSON form) and why."""

    status: int
    message: str
    code: str = "Client"  # the SOAP faultcode


class Intake:
    """One request arriving: its bytes so far, framed by llhttp as they come.

    ``feed()`` says whether the request is complete (``complete``), refused
    (``refusal``) or still arriving. Past the first complete message the rest is
    buffered as is (pipelined requests); the server reads those with a fresh Intake.
    """

    __slots__ = ("limits", "deadline", "parser", "chunks", "size", "complete", "url",
                 "path", "content_type", "length", "headers", "headers_done", "body_size",
                 "over", "refusal", "send_continue", "continued")

    def __init__(self, limits: Limits, deadline: float):
        """An empty request that must be complete by ``deadline`` (time.monotonic())."""
        self.limits, self.deadline = limits, deadline
        self.parser = httptools.HttpRequestParser(self)
        self.chunks: list[bytes] = []
        self.size = self.complete = self.headers = self.body_size = 0
        self.url = b""
        self.path: bytes | None = None  # the first message's URL, once it is complete
        self.content_type = b""
        self.length = -1
        self.headers_done = self.send_continue = self.continued = False
        self.over: str | None = None  # the body is over the limit: discarded, then refused
        self.refusal: Refusal | None = None

    # -- llhttp's callbacks (httptools calls them by name) -------------------------------------

    def on_message_begin(self):
        """A (pipelined) message starts: only the first one is checked here."""
        if self.complete == 0:
            self.url, self.headers, self.headers_done = b"", 0, False

    def on_url(self, part: bytes):
        """A piece of the request target."""
        if self.complete == 0:
            self.url += part
            if len(self.url) > self.limits.line:
                self.refuse(414, f"The request line is longer than {self.limits.line} bytes.")

    def on_header(self, name: bytes, value: bytes):
        """One header field, whole."""
        if self.complete:
            return
        self.headers += 1
        limits = self.limits
        if self.headers > limits.fields:
            self.refuse(431, f"The request has more than {limits.fields} header fields.")
        elif len(name) + len(value) + 2 > limits.field_size:
            self.refuse(431, f"The header field {name[:64].decode('latin-1')!r} is longer "
                             f"than {limits.field_size} bytes.")
        elif len(name) == 12 and name.lower() == b"content-type":
            self.content_type = value
        elif len(name) == 14 and name.lower() == b"content-length":
            try:
                self.length = int(value)
            except ValueError:  # llhttp refuses it too
                self.refuse(400, "Content-Length is not a number.")
        elif len(name) == 6 and name.lower() == b"expect" and value.lower() == b"100-continue":
            self.send_continue = self.parser.get_http_version() == "1.1"

    def on_headers_complete(self):
        """The header block is in: a body announced over the limit is discarded as it comes."""
        if self.complete:
            return
        self.headers_done = True
        limits = self.limits
        if self.length > limits.max_body:
            self.over = (f"Request body of {self.length} bytes exceeds the limit of "
                         f"{limits.max_body} bytes.")
            self.chunks.clear()
            if self.send_continue or self.length > limits.max_body + limits.discard_at_most:
                self.refuse(413, self.over)

    def on_body(self, part: bytes):
        """A piece of the body (after de-chunking)."""
        if self.complete:
            return
        self.body_size += len(part)
        limits = self.limits
        if self.body_size > limits.max_body:
            if self.over is None:
                self.over = f"Request body exceeds the limit of {limits.max_body} bytes."
                self.chunks.clear()
            elif self.body_size > limits.max_body + limits.discard_at_most:
                self.refuse(413, self.over)

    def on_message_complete(self):
        """A message is whole."""
        if self.complete == 0:
            self.path = self.url
        self.complete += 1

    # -- the reader's side ---------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Take the next bytes from the socket; ``complete`` or ``refusal`` may now be set."""
        if self.over is None:
            self.chunks.append(data)
        self.size += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.complete = self.complete or 1  # served as a plain request (no upgrades here)
            if self.path is None:
                self.path = self.url
        except httptools.HttpParserError as error:
            if not self.complete:  # else a pipelined request is bad: read on its own later
                self.refuse(400, f"Malformed HTTP request: {error}.")
        if self.refusal is None:
            if self.complete:
                if self.over is not None:
                    self.refuse(413, self.over)
            elif not self.headers_done and self.size > self.limits.header_block:
                self.refuse(431, f"The request's header block is longer than "
                                 f"{self.limits.header_block} bytes.")

    def refuse(self, status: int, message: str) -> None:
        """Refuse the request (the first reason given stands)."""
        if self.refusal is None:
            self.refusal = Refusal(status, message)

    def take(self) -> bytes:
        """The bytes read, from the start of the request."""
        data = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        self.chunks = []
        return data

    def is_admin(self) -> bool:
        """True when the request is addressed to the admin API or UI (``/_mock/...``)."""
        return is_admin_path(path_of(self.url))

    def is_wait(self) -> bool:
        """True for the admin API's long poll, ``GET /_mock/outbox/wait``."""
        path = self.path or b""
        return path.startswith(WAIT_PATH) and \
            path[len(WAIT_PATH):len(WAIT_PATH) + 1] in (b"", b"?", b"/")

    def answer(self) -> bytes:
        """The refusal as an HTTP response."""
        refusal = self.refusal
        return answer(path_of(self.url), self.content_type.decode("latin-1"), refusal.status,
                      refusal.message, refusal.code)


def path_of(url: bytes | str | None) -> str | None:
    """The path of a request target (origin or absolute form); None when there is none."""
    if not url:
        return None
    text = url.decode("latin-1") if isinstance(url, bytes) else url
    if text.startswith("/"):  # origin form: '//_mock/x' is a path, not a host
        return unquote(text.split("?", 1)[0].split("#", 1)[0]) or None
    try:
        return unquote(urlsplit(text).path) or None
    except ValueError:
        return None


def is_admin_path(path: str | None) -> bool:
    """True for ``/_mock`` and the paths under it, in any spelling of them."""
    return bool(path) and gate.is_admin_path(gate.canonical_path(path))


def answer(path: str | None, content_type: str, status: int, message: str,
           code: str = "Client", headers: tuple = ()) -> bytes:
    """An HTTP response closing the connection: ``{"error": message}`` with ``status`` on an
    admin path; elsewhere (and when the path is unknown) a SOAP fault with HTTP 500, as the
    dialects answer every fault."""
    if is_admin_path(path):
        body = (json.dumps({"error": message}, ensure_ascii=False) + "\n").encode("utf-8")
        kind = "application/json; charset=utf-8"
    else:
        from mockserver.soap.faults import fault_envelope  # lxml: loaded by the app already
        soap12 = "application/soap+xml" in content_type.lower()
        body = fault_envelope(code, message, soap12)
        kind = "application/soap+xml; charset=utf-8" if soap12 else "text/xml; charset=utf-8"
        status = 500
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n")
    return head.encode("latin-1") + body
