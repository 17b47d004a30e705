"""One write transaction at a time begins on a store file: writers queue here, not in SQLite.

Every worker process and each of its threads has its own SQLite connection. When two of them
begin a write transaction at once, SQLite lets one wait in its busy handler, which sleeps
1, 2, 5, 10, 15, 20, 25 … ms between tries: with two workers writing, saveOrCreateSubscriber
spent a seventh of its time asleep there, and its rate fell below half of getSubscribers'.
``writing(path)`` is held around ``BEGIN IMMEDIATE … COMMIT`` instead: a lock for the threads
of this process, and an advisory ``flock`` on ``<db>.lock`` for the processes, tried every
``POLL`` seconds. SQLite still enforces its own locking: a writer that does not pass through
here (another program, the journal's own file) is waited for by SQLite as before, and a
writer that waited here longer than ``PATIENCE`` goes on to SQLite's busy handler.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from typing import Iterator

POLL = 0.0002  # seconds between tries of another process's lock
PATIENCE = 30.0  # seconds a writer waits here at most (SQLite's busy timeout is as long)

_gates: dict[str, "_Gate"] = {}
_gates_lock = threading.Lock()


class _Gate:
    """This process's lock for one store file and its lock file's descriptor."""

    def __init__(self, path: str):
        self.lock, self.pid, self.fd = threading.RLock(), os.getpid(), None
        self.held = threading.local()  # how deep this thread is in writing()
        try:
            self.fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:  # a read-only folder: the threads of this process still queue
            self.fd = None


def _gate(path: str) -> _Gate:
    gate = _gates.get(path)
    if gate is None or gate.pid != os.getpid():  # a forked child opens its own descriptor
        with _gates_lock:
            gate = _gates.get(path)
            if gate is None or gate.pid != os.getpid():
                gate = _gates[path] = _Gate(path)
    return gate


@contextlib.contextmanager
def writing(path: str) -> Iterator[None]:
    """Hold the right to begin a write transaction on the store file ``path``."""
    gate = _gate(path)
    deadline = time.monotonic() + PATIENCE
    if not gate.lock.acquire(timeout=PATIENCE):
        yield  # waited long enough: SQLite decides
        return
    depth = getattr(gate.held, "depth", 0)
    gate.held.depth = depth + 1
    try:  # the file lock once per thread: an inner writing() would release it early
        locked = depth == 0 and gate.fd is not None and _flock(gate.fd, deadline)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(gate.fd, fcntl.LOCK_UN)
    finally:
        gate.held.depth = depth
        gate.lock.release()


def _flock(fd: int, deadline: float) -> bool:
    """Take the lock file's lock, trying until ``deadline``; whether it was taken."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
        except OSError:
            return False
