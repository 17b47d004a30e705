"""Copernica callback delivery: queued deliveries claimed, POSTed, retried, listed.

The scheduler thread of every worker calls ``deliver_due``: deliveries are claimed with one
UPDATE (never sent twice), a record's changes go out in change order, and each POST is
signed (``callback_signing``). Failed attempts are retried after 1, 2, 4, 8 and 16 s of the
mock's clock.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import os
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, wait

from mockserver.machinery import clock
from mockserver.store import Store
from mockserver.copernica import callback_tables as callback_tables
from mockserver.copernica.callback_signing import signed_headers
from mockserver.copernica.callback_urls import ITSELF, is_own_socket, is_the_mock

log = logging.getLogger(__name__)

STATES = ("pending", "sending", "delivered", "failed")

RETRY_DELAYS = (1, 2, 4, 8, 16)  # seconds of the mock's clock after each failed attempt
TIMEOUT = 5.0  # seconds to wait for the receiver's answer
CLAIM_SECONDS = 60  # a claim older than this (real time) belongs to a sender that died
SENDERS = 8  # concurrent POSTs per worker process


_pool: ThreadPoolExecutor | None = None
_pool_pid = None
_in_flight = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid, _in_flight
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="mockserver-callback")
            _pool_pid, _in_flight = os.getpid(), 0
        return _pool


class _ItIsTheMock(Exception):
    """The connection of a delivery reached the mock itself (a name that resolved to it)."""


def _post(url: str, headers: dict, body: bytes) -> tuple[int | None, str]:
    """POST once; (status, error text), status None when no answer came. Nothing is sent
    when the connection turns out to reach the mock itself (``_ItIsTheMock``)."""
    parts = urllib.parse.urlsplit(url)
    connection_class = (http.client.HTTPSConnection if parts.scheme.lower() == "https"
                        else http.client.HTTPConnection)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        connection.connect()
        peer = connection.sock.getpeername()
        if is_own_socket(peer):
            raise _ItIsTheMock(url)
        connection.request("POST", target, body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read(2000)
        if 200 <= answer.status < 300:
            return answer.status, ""
        return answer.status, f"HTTP {answer.status} {answer.reason}: " + \
            text.decode("utf-8", "replace").strip()[:200]
    except _ItIsTheMock:
        raise
    except Exception as error:  # noqa: BLE001 - recorded on the attempt
        return None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    finally:
        connection.close()


def send(store: Store, delivery_id: int) -> bool:
    """Make one attempt of a claimed delivery and record it; True when it was accepted."""
    row = callback_tables.callback_delivery(store, delivery_id)
    if row is None:  # removed with its callback, or by a reset
        return False
    callback = callback_tables.callback(store, row["callback_id"]) or {}
    body = bytes(row["body"]) if not isinstance(row["body"], str) else row["body"].encode()
    moment = clock.now(store)
    if is_the_mock(row["url"], callback.get("base_url", "")):
        return _refuse_delivery(store, row, moment)
    headers = {"Content-Type": row["content_type"], "User-Agent": "mockserver-callbacks",
               **signed_headers(store, row["url"], body, row["account_id"],
                                callback.get("base_url", ""), moment)}
    started = time.monotonic()
    try:
        status, error = _post(row["url"], headers, body)
    except _ItIsTheMock:
        return _refuse_delivery(store, row, moment)
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    attempt_number = row["attempts"] + 1
    now = clock.now(store)
    if ok:
        state, next_at, finished = "delivered", row["next_attempt"], clock.stamp(now)
    elif attempt_number > len(RETRY_DELAYS):
        state, next_at, finished = "failed", row["next_attempt"], clock.stamp(now)
    else:
        state, finished = "pending", None
        next_at = clock.stamp(now + dt.timedelta(seconds=RETRY_DELAYS[attempt_number - 1]))
    callback_tables.finish_callback_attempt(store, delivery_id, {
        "at": clock.stamp(moment), "status": status, "error": error,
        "duration_ms": duration_ms, "request_headers": headers}, state, next_at, finished)
    if not ok:
        log.info("callback delivery %s to %s: attempt %s failed: %s", delivery_id, row["url"],
                 attempt_number, error)
    return ok


def _refuse_delivery(store: Store, row: dict, moment: dt.datetime) -> bool:
    """Give a delivery to the mock itself up at once, nothing sent: one attempt without a
    status whose error says why, state ``failed``, no retries. False."""
    log.warning("callback delivery %s to %s refused: %s", row["id"], row["url"], ITSELF)
    callback_tables.finish_callback_attempt(store, row["id"], {
        "at": clock.stamp(moment), "status": None,
        "error": f"Refused, not sent: {row['url']!r}: {ITSELF}", "duration_ms": 0,
        "request_headers": {}}, "failed", row["next_attempt"], clock.now_stamp(store))
    return False


def _send_and_release(store: Store, delivery_id: int, more: bool = True) -> None:
    """Send a claimed delivery; then, while there is more due, claim and send the next one
    (a sender keeps busy without waiting for the next scheduler round)."""
    global _in_flight
    try:
        while delivery_id is not None:
            try:
                send(store, delivery_id)
            except Exception:  # noqa: BLE001 - the claim expires and another round retries
                log.exception("callback delivery %s failed", delivery_id)
            following = _claim(store, 1) if more else []
            delivery_id = following[0] if following else None
    finally:
        with _pool_lock:
            _in_flight -= 1


def _claim(store: Store, limit: int) -> list[int]:
    now = clock.now_stamp(store)
    real = dt.datetime.now(dt.timezone.utc)
    real_now = clock.stamp(real)
    if limit <= 0 or not callback_tables.callback_work_due(store, now, real_now):
        return []
    return callback_tables.claim_callback_deliveries(store, 
        now, real_now, clock.stamp(real + dt.timedelta(seconds=CLAIM_SECONDS)), limit)


def _submit(store: Store, ids: list[int], more: bool = True) -> list:
    global _in_flight
    pool = _executor()
    with _pool_lock:
        _in_flight += len(ids)
    return [pool.submit(_send_and_release, store, i, more) for i in ids]


def deliver_due(store: Store) -> int:
    """Claim the deliveries due now and start sending them (in this worker's sender threads);
    how many were claimed. Called by every scheduler round."""
    _executor()
    with _pool_lock:
        free = 2 * SENDERS - _in_flight
    ids = _claim(store, free)
    if ids:
        _submit(store, ids)
    return len(ids)


def flush(store: Store, timeout: float = 60.0) -> int:
    """Deliver what is due now and wait for it (also for sends another worker claimed);
    how many attempts this call made."""
    now = clock.now_stamp(store)
    deadline = time.monotonic() + timeout
    attempts = 0
    while time.monotonic() < deadline:
        ids = _claim(store, 4 * SENDERS)
        if ids:
            wait(_submit(store, ids, more=False),
                 timeout=max(0.0, deadline - time.monotonic()))
            attempts += len(ids)
            continue
        if not callback_tables.callback_deliveries_open(store, now):
            break
        time.sleep(0.02)
    return attempts


def deliveries(store: Store, callback_id: int | None = None, state: str | None = None,
               account_id: int | None = None, limit: int = 1000) -> list[dict]:
    """Deliveries with their attempts, as the admin API shows them, oldest first."""
    result = []
    for row in callback_tables.callback_deliveries(store, callback_id, state, account_id, limit):
        body = bytes(row["body"]) if not isinstance(row["body"], str) else row["body"].encode()
        result.append({
            "id": row["id"], "callback": row["callback_id"],
            "tenant": f"account-{row['account_id']}", "record": row["record"],
            "action": row["action"], "url": row["url"], "contentType": row["content_type"],
            "body": body.decode("utf-8", "replace"), "state": row["state"],
            "created": row["created"], "nextAttempt": row["next_attempt"]
            if row["state"] == "pending" else None, "finished": row["finished"],
            "attempts": [{"at": a["at"], "status": a["status"], "error": a["error"],
                          "durationMs": a["duration_ms"],
                          "requestHeaders": json.loads(a["request_headers"] or "{}")}
                         for a in row["attempts"]]})
    return result
