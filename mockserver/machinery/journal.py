"""The request journal: every SOAP exchange, buffered per worker and written in batches.

Answering a call only appends a tuple to this worker's buffer; a writer thread inserts the
buffer every ``INTERVAL`` seconds in one transaction, so the request path never waits for
the store. Arguments, masked secrets and fault code and string are worked out from the raw
envelopes when the journal is read.

Each envelope is kept up to ``body_limit`` bytes (cut before it is buffered, so a large
request's body is not held after it is answered) with its original size; a cut envelope, one
that is not well-formed or one nested deeper than the wire accepts is shown as raw text.

An exchange's ``time`` is on the mock's clock: the writer reads the clock's recent history
once per batch and maps each exchange's real time onto the state the clock was in then (a
frozen clock: the frozen moment), so a ``PUT /_mock/clock`` or an advance between two calls
of one batch dates both right.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
import threading
import time

from lxml import etree

from mockserver.machinery import clock

log = logging.getLogger(__name__)

INTERVAL = 0.2  # seconds between batch writes of a worker's buffer
DEFAULT_SIZE = 10_000
DEFAULT_JOURNAL_BODY_LIMIT = 64 * 1024  # bytes of each envelope kept
SECRETS = frozenset({"apikey", "access_token", "password", "accesstoken"})
# A secret element's text; at the very end of a cut envelope it may have no end tag.
_SECRET_TEXT = re.compile(
    r"(<(?:[\w.-]+:)?(?:apiKey|access_token|accessToken|password)\b[^>]*>)([^<]*)(<|\Z)",
    re.IGNORECASE)
_KEY_TEXT = re.compile(r"<(?:[\w.-]+:)?(?:apiKey|access_token|accessToken)\b[^>/]*>([^<]*)<",
                       re.IGNORECASE)


def mask(secret: str | None) -> str | None:
    """A secret with all but its last 4 characters masked: ``********1234``."""
    if secret is None:
        return None
    secret = str(secret)
    return "********" + (secret[-4:] if len(secret) > 4 else "")


def mask_envelope(text: str) -> str:
    """A raw SOAP envelope with the text of its secret elements masked (all of it where a cut
    envelope ends inside one)."""
    return _SECRET_TEXT.sub(
        lambda m: m.group(1) + (mask(m.group(2).strip()) if m.group(3) else "********") +
        m.group(3), text)


def cut(data: bytes, limit: int) -> bytes:
    """The first ``limit`` bytes of ``data``, fewer so as not to end inside a UTF-8
    character; ``data`` itself when it is no longer."""
    if len(data) <= limit:
        return data
    end = max(limit, 0)
    while end > 0 and data[end] & 0xC0 == 0x80:  # a continuation byte: back to its lead
        end -= 1
    return data[:end]


def element_dict(element: etree._Element):
    """An XML element as JSON-able data (text, dicts, lists for repeats), secrets masked."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        if element.get("{http://www.w3.org/2001/XMLSchema-instance}nil") in ("true", "1"):
            return None
        return element.text or ""
    result: dict = {}
    repeated: set = set()
    for child in children:
        name = etree.QName(child).localname
        value = mask(child.text or "") if name.lower() in SECRETS and len(child) == 0 \
            else element_dict(child)
        if name not in result:
            result[name] = value
        elif name in repeated:
            result[name].append(value)
        else:
            result[name] = [result[name], value]
            repeated.add(name)
    return result


def _body_element(root: etree._Element | None) -> etree._Element | None:
    if root is None:
        return None
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).localname == "Body":
            return next((c for c in child if isinstance(c.tag, str)), None)
    return None


def readable(data: bytes) -> etree._Element | None:
    """A stored envelope's tree, or None when it is cut, not well-formed or nested deeper
    than the wire accepts (libxml2's limit without ``huge_tree``: 256 levels, as when the
    request was read), so reading the journal never recurses without bound."""
    try:
        return etree.fromstring(data, etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False))
    except (etree.XMLSyntaxError, ValueError):
        return None


def _credential(arguments, request_text: str, authorization: str | None,
                cookie: str | None) -> str | None:
    def find(value):
        """The first key or token member anywhere in ``value``."""
        if isinstance(value, dict):
            for key, member in value.items():
                if key.lower() in ("apikey", "access_token", "accesstoken") and \
                        isinstance(member, str):
                    return member
                found = find(member)
                if found:
                    return found
        return None

    found = find(arguments) if arguments is not None else \
        next((mask(m.group(1).strip()) for m in _KEY_TEXT.finditer(request_text)), None)
    if found:
        return found
    if authorization:
        return mask(authorization.split(None, 1)[-1].strip())
    if cookie:
        return mask(cookie.split("=", 1)[-1].split(";")[0].strip())
    return None


def _fault(response: bytes) -> tuple[str | None, str | None]:
    if b"Fault" not in response:
        return None, None
    root = readable(response)
    fault = _body_element(root)
    if fault is None or etree.QName(fault).localname != "Fault":
        return None, None
    code = fault.findtext("faultcode")
    string = fault.findtext("faultstring")
    if code is None:  # SOAP 1.2
        ns = etree.QName(fault).namespace
        code = fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value")
        string = fault.findtext(f"{{{ns}}}Reason/{{{ns}}}Text")
    return code, string


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def build_row(entry: tuple, time_stamp: str | None = None) -> tuple:
    """A buffered exchange as a journal row (``Store.JOURNAL_COLUMNS`` order), dated
    ``time_stamp`` (default: its real time); the parsing and masking wait until it is read."""
    (at, dialect, operation, tenant, caller, authorization, cookie, status, duration,
     injected, request, response, request_size, response_size) = entry
    time_stamp = time_stamp or clock.stamp(dt.datetime.fromtimestamp(at, dt.timezone.utc))
    return (time_stamp, dialect, operation, tenant, caller, authorization, cookie, status,
            json.dumps(injected) if injected else None, round(duration * 1000, 3),
            request, response, at, request_size, response_size)


def row_json(row: dict) -> dict:
    """A journal row as the admin API shows it: arguments parsed, secrets masked, and whether
    each envelope was cut (``requestTruncated``) with its original size (``requestSize``)."""
    request, response = bytes(row["request"]), bytes(row["response"])
    # rows of a journal file of an earlier version have no sizes: they were kept whole
    request_size = row.get("request_size") or len(request)
    response_size = row.get("response_size") or len(response)
    request_cut, response_cut = request_size > len(request), response_size > len(response)
    body = None if request_cut else _body_element(readable(request))
    arguments = element_dict(body) if body is not None else None
    fault_code, fault_string = _fault(response) if row["status"] != 200 and not response_cut \
        else (None, None)
    request_text = mask_envelope(_text(request))
    return {
        "id": row["id"], "time": row["time"], "dialect": row["dialect"],
        "operation": row["operation"] or (etree.QName(body).localname if body is not None
                                          else None),
        "tenant": row["tenant"], "caller": row["caller"],
        "credential": _credential(arguments, request_text, row["authorization"],
                                  row["cookie"]),
        "arguments": arguments, "status": row["status"],
        "fault": ({"code": fault_code, "string": fault_string}
                  if fault_code or fault_string else None),
        "injected": json.loads(row["injected"]) if row["injected"] else None,
        "durationMs": row["duration_ms"], "request": request_text,
        "response": _text(response),
        "requestSize": request_size, "requestTruncated": request_cut,
        "responseSize": response_size, "responseTruncated": response_cut,
    }


class Journal:
    """This worker's journal buffer and the thread that writes it to the store."""

    def __init__(self, store, size: int = DEFAULT_SIZE, enabled: bool = True, workers: int = 1,
                 body_limit: int = DEFAULT_JOURNAL_BODY_LIMIT):
        """Journal beside ``store`` (its JournalStore), keeping the newest ``size`` exchanges
        and up to ``body_limit`` bytes of each envelope; ``workers`` is how many worker
        processes write to it."""
        self.store, self.size, self.enabled = store.journal_store(), size, enabled
        self.body_limit = body_limit
        self.workers, self._clock_store = workers, store
        self._buffer: list[tuple] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def record(self, dialect: str, operation: str | None, tenant: str | None, environ: dict,
               caller: str, status: int, started: float, request: bytes, response: bytes,
               injected: dict | None = None) -> None:
        """Buffer one exchange, its envelopes cut to the body limit (cheap: the row is built
        by the writer thread)."""
        if not self.enabled:
            return
        limit = self.body_limit
        self._buffer.append((
            time.time(), dialect, operation, tenant, caller,
            environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_COOKIE"), status,
            time.perf_counter() - started, injected, cut(request, limit), cut(response, limit),
            len(request), len(response)))
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mockserver-journal",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(INTERVAL)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep journaling; the log says what failed
                log.exception("writing the journal failed")

    def settle(self) -> None:
        """Write this worker's buffer and give the other workers time to write theirs, so
        what follows sees every exchange answered so far."""
        self.flush()
        if self.workers > 1:  # the others write theirs within an interval
            time.sleep(INTERVAL * 2 + 0.05)

    def forget(self, tenants: list[str]) -> int:
        """Delete the exchanges of deleted ``tenants`` (their journal names), and those answered
        until now that any worker writes later, without waiting for the workers; how many were
        deleted (from the file: the later ones are dropped when written)."""
        return self.store.journal_forget(tenants, time.time())

    def flush(self) -> int:
        """Write this worker's buffered exchanges, dated on the mock's clock; return how many."""
        with self._lock:
            entries, self._buffer = self._buffer, []
            if entries:
                stamps = self._stamps([e[0] for e in entries])
                self.store.journal_append([build_row(e, s) for e, s in zip(entries, stamps)],
                                          self.size)
        return len(entries)

    def _stamps(self, reals: list[float]) -> list[str | None]:
        """The mock's times at these real times (store form), from one read of the clock's
        history (None, i.e. real time, if the store cannot say)."""
        try:
            timeline = clock.Timeline(self._clock_store)
        except sqlite3.Error:
            log.exception("reading the clock for the journal failed")
            return [None] * len(reals)
        return [timeline.stamp_at(real) for real in reals]
