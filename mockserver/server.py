"""Serving: gunicorn (pre-forked worker processes, threads each) in front of MockServer."""
from __future__ import annotations

import ipaddress
import mmap
import os
import sys
import threading
import time

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from mockserver import backclick
from mockserver.settings import Settings
from mockserver.store import Store


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def urls(host: str, port: int) -> dict[str, str]:
    """The URLs a client needs, for the ready line and the pytest plugin."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    base = f"http://{shown}:{port}"
    return {"base": base + "/", "backclick_wsdl": base + backclick.SERVICE_PATH + "?wsdl",
            "copernica_wsdl": base + "/?SOAPAPI=WSDL",
            "admin": base + "/_mock/", "ui": base + "/_mock/ui/"}


def ready_line(host: str, port: int) -> str:
    """The one line ``serve`` prints once it answers requests."""
    u = urls(host, port)
    return (f"mockserver ready on {u['base']}  BACKCLICK WSDL: {u['backclick_wsdl']}  "
            f"Copernica WSDL: {u['copernica_wsdl']}  admin: {u['admin']}  UI: {u['ui']}")


MAX_SLOTS = 256
ABSENT = 1 << 40
DEFER_AT_MOST = 0.005  # seconds a worker leaves a waiting connection to a less busy sibling


class ConnectionBoard:
    """Open connections per worker, in memory shared by the master and its workers."""

    def __init__(self):
        """An anonymous shared mapping, made before the fork; every slot starts absent."""
        self._map = mmap.mmap(-1, MAX_SLOTS * 8)
        self.counts = memoryview(self._map).cast("q")
        for slot in range(MAX_SLOTS):
            self.counts[slot] = ABSENT

    def fewest_elsewhere(self, slot: int) -> int:
        """The fewest connections any other live worker holds (ABSENT when there is none)."""
        counts = self.counts
        return min((counts[i] for i in range(MAX_SLOTS) if i != slot), default=ABSENT)


class BalancedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker that leaves a new connection to a sibling holding fewer.

    Keep-alive connections stay with the worker that accepted them, and a worker
    that is awake accepts a whole burst; without this, 16 clients connecting at
    once can all land on one worker and leave the other cores idle.
    """

    board: ConnectionBoard | None = None
    slot = 0
    deferred_since: float | None = None

    def init_process(self):
        """Start with no connections on the board."""
        if self.board is not None:
            self.board.counts[self.slot] = 0
        super().init_process()

    def accept(self, listener):
        """Accept unless another worker holds fewer connections and takes this one soon."""
        board = self.board
        if board is not None:
            if self.nr_conns > board.fewest_elsewhere(self.slot):
                now = time.monotonic()
                if self.deferred_since is None:
                    self.deferred_since = now
                if now - self.deferred_since < DEFER_AT_MOST:
                    time.sleep(0.001)  # the listener stays readable; let the sibling take it
                    return
            self.deferred_since = None
            super().accept(listener)
            board.counts[self.slot] = self.nr_conns
            return
        super().accept(listener)

    def wait_for_and_dispatch_events(self, timeout):
        """Dispatch events, then publish how many connections this worker holds."""
        super().wait_for_and_dispatch_events(timeout)
        if self.board is not None:
            self.board.counts[self.slot] = self.nr_conns


class GunicornServer(BaseApplication):
    """gunicorn running the WSGI app that ``app_factory()`` builds in each worker."""

    def __init__(self, app_factory, settings: Settings, on_ready=None):
        """Prepare gunicorn; ``on_ready(host, port)`` runs once the server answers."""
        self.app_factory, self.settings, self.on_ready = app_factory, settings, on_ready
        self._ready_r, self._ready_w = os.pipe()  # workers say "ready" through it
        os.set_blocking(self._ready_w, False)
        super().__init__()

    def load_config(self):
        """Translate Settings into gunicorn settings."""
        s = self.settings
        host = f"[{s.host}]" if ":" in s.host and not s.host.startswith("[") else s.host
        for key, value in {
            "bind": [f"{host}:{s.port}"], "workers": max(1, s.workers),
            "worker_class": "mockserver.server.BalancedThreadWorker",
            "threads": max(1, s.threads), "keepalive": 75,
            "pre_fork": self._pre_fork, "child_exit": self._child_exit,
            "timeout": 120, "graceful_timeout": 5, "loglevel": "warning", "accesslog": None,
            "errorlog": "-", "proc_name": "mockserver", "when_ready": self._when_ready,
            "post_worker_init": self._post_worker_init,
            "limit_request_line": 8190, "backlog": 2048,
        }.items():
            self.cfg.set(key, value)

    def load(self):
        """Build the WSGI application; called in each worker after the fork, so the master
        stays small (it never imports spyne, lxml or werkzeug) and workers import in parallel."""
        return self.app_factory()

    def _pre_fork(self, arbiter, worker):
        if BalancedThreadWorker.board is None:
            BalancedThreadWorker.board = ConnectionBoard()
        taken = {getattr(w, "slot", None) for w in arbiter.WORKERS.values()}
        worker.slot = next((i for i in range(MAX_SLOTS) if i not in taken), 0)

    def _child_exit(self, arbiter, worker):
        board = BalancedThreadWorker.board
        if board is not None and getattr(worker, "slot", None) is not None:
            board.counts[worker.slot] = ABSENT

    def _when_ready(self, arbiter):
        port = arbiter.LISTENERS[0].sock.getsockname()[1]
        self.settings.port = port  # before the workers fork: --port 0 becomes the real port
        threading.Thread(target=self._announce, args=(port,), daemon=True).start()

    def _post_worker_init(self, worker):
        try:  # this worker has its app and is about to accept: tell the master
            os.write(self._ready_w, b"!")
        except BlockingIOError:
            pass

    def _announce(self, port: int) -> None:
        # Only a blocking read here: a thread of the master must not import anything
        # while workers fork, or a child inherits a held import lock and hangs.
        os.read(self._ready_r, 1)
        if self.on_ready:
            self.on_ready(self.settings.host, port)


def serve(settings: Settings, store: Store, app_factory) -> None:
    """Run until interrupted; print the ready line once requests are answered."""
    store.close()  # never carry a SQLite connection across fork

    def announce(host: str, port: int) -> None:
        print(ready_line(host, port), flush=True)

    GunicornServer(app_factory, settings, on_ready=announce).run()
    sys.stdout.flush()
