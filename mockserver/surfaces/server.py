"""Serving: gunicorn (pre-forked worker processes, threads each) in front of MockServer.

Here the master: the listening socket, bound once and at once, gunicorn's arbiter over it,
and ``serve``. A worker process is ``worker``, the board balancing connections across the
workers ``connection_board``, the ready line ``ready_line``.
"""
from __future__ import annotations

import errno
import gc
import os
import socket
import sys
import threading

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.sock import TCP6Socket, TCPSocket

from mockserver.machinery.networks import is_loopback  # noqa: F401  (cli uses it here)
from mockserver.surfaces.connection_board import ABSENT, MAX_SLOTS, ConnectionBoard
from mockserver.surfaces.ready_line import ready_line
from mockserver.surfaces.settings import Settings
from mockserver.surfaces.worker import BalancedThreadWorker
from mockserver.store import Store


BACKLOG = 2048  # connections the kernel queues before a worker accepts them
WAY_OUT = "pass --port N (or MOCKSERVER_PORT=N), or --port 0 for a free one"


class ListenError(Exception):
    """The port cannot be listened on; the message is one line saying why and what to do."""


def listen(settings: Settings) -> socket.socket:
    """A socket listening on ``settings.host`` and ``settings.port``, bound once and at once
    (no retries); ``--port 0`` picks a free port, written back into ``settings.port``."""
    host, port = settings.host.strip("[]"), settings.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise ListenError(listen_problem(host, port, error)) from None
    settings.port = sock.getsockname()[1]
    return sock


def listen_problem(host: str, port: int, error: OSError) -> str:
    """The one line saying why ``host:port`` cannot be listened on, and the way out."""
    if isinstance(error, socket.gaierror):
        return f"--host {host} is no address or name this machine resolves ({error.strerror})"
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is taken (by another mockserver or program); {WAY_OUT}"
    if error.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges (below 1024) or is barred; {WAY_OUT}"
    if error.errno == errno.EADDRNOTAVAIL:
        return (f"{host} is no address of this machine; pass --host 127.0.0.1 (or "
                f"MOCKSERVER_HOST), or an address it has")
    return f"cannot listen on {host} port {port}: {error.strerror or error}"


class GunicornServer(BaseApplication):
    """gunicorn running the WSGI app that ``app_factory()`` builds in each worker."""

    def __init__(self, app_factory, settings: Settings, on_ready=None,
                 listener: socket.socket | None = None):
        """Prepare gunicorn; ``on_ready(host, port)`` runs once the server answers;
        ``listener`` is the socket of ``listen()`` (bound here when None)."""
        self.app_factory, self.settings, self.on_ready = app_factory, settings, on_ready
        self.listener = listener if listener is not None else listen(settings)
        BalancedThreadWorker.settings = settings  # inherited by the workers at the fork
        self._ready_r, self._ready_w = os.pipe()  # workers say "ready" through it
        os.set_blocking(self._ready_w, False)
        super().__init__()

    def load_config(self):
        """Translate Settings into gunicorn settings."""
        s = self.settings
        host = f"[{s.host}]" if ":" in s.host and not s.host.startswith("[") else s.host
        for key, value in {
            "bind": [f"{host}:{s.port}"], "workers": max(1, s.workers),
            "worker_class": "mockserver.surfaces.worker.BalancedThreadWorker",
            "threads": max(1, s.threads), "keepalive": 75,
            "pre_fork": self._pre_fork, "child_exit": self._child_exit,
            "timeout": 120, "graceful_timeout": 5, "loglevel": "warning", "accesslog": None,
            "errorlog": "-", "proc_name": "mockserver", "when_ready": self._when_ready,
            "post_worker_init": self._post_worker_init,
            "limit_request_line": 8190, "backlog": BACKLOG,
            # no control socket: it would start a thread, import gunicorn.ctl and leave a
            # gunicorn.ctl socket file in the working directory
            "control_socket_disable": True,
        }.items():
            self.cfg.set(key, value)

    def run(self):
        """gunicorn's master loop on the socket bound already (gunicorn would retry a taken
        port for five seconds, printing eleven lines)."""
        arbiter = Arbiter(self)
        address = self.listener.getsockname()[:2]
        kind = TCP6Socket if self.listener.family == socket.AF_INET6 else TCPSocket
        arbiter.LISTENERS = [kind(address, self.cfg, arbiter.log,
                                  fd=os.dup(self.listener.fileno()))]
        self.listener.close()
        try:
            arbiter.run()
        except RuntimeError as error:
            print(f"mockserver: {error}", file=sys.stderr, flush=True)
            sys.exit(1)

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
        gc.freeze()  # the app's modules and objects: see web.DialectEndpoint
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


def serve(settings: Settings, store: Store, app_factory,
          listener: socket.socket | None = None, opening=None) -> None:
    """Run until interrupted; print the ready line (with the store's ``opening``) once
    requests are answered."""
    store.close()  # never carry a SQLite connection across fork

    def announce(host: str, port: int) -> None:
        print(ready_line(host, port, opening), flush=True)

    GunicornServer(app_factory, settings, on_ready=announce, listener=listener).run()
    sys.stdout.flush()
