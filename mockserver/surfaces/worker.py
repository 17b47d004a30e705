"""A worker process: gunicorn's gthread worker where no thread waits long for a request
to arrive, that reads every connection without waiting (mockserver/surfaces/intake.py
frames what arrives), lingers on a closed one, runs long polls on threads of their own and
balances new connections across its siblings (the connection board)."""
from __future__ import annotations

import errno
import select
import selectors
import socket
import struct
import sys
import threading
import time
from concurrent import futures
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from mockserver.surfaces.connection_board import ABSENT, ConnectionBoard
from mockserver.surfaces.intake import Intake, Limits, Refusal, answer, path_of
from mockserver.surfaces.refusals import log_refusal, refusal_of
from mockserver.surfaces.settings import Settings

DEFER_AT_MOST = 0.005  # seconds a worker leaves a waiting connection to a less busy sibling

RECV_SIZE = 64 * 1024  # bytes one recv() of a request may take
READS_PER_EVENT = 8  # recv() calls per readable event before other connections get a turn
SWEEP_EVERY = 0.25  # seconds between checks of the read deadlines
HEARTBEAT = 1.0  # seconds between heartbeats to the master (gunicorn: every round of events)
LINGER = 2.0  # seconds a closed connection is read and discarded, for its answer to arrive
LINGER_BYTES = 1 << 20  # bytes discarded so at most
STOP_LINGER = 2.0  # seconds a stopping worker still gives a request that is arriving
FOLLOW_UP = 0.005  # seconds a thread waits for the rest of a request before leaving it

_served = threading.local()  # a worker thread's receive buffer, and the target it serves
READ_ON = object()  # a thread leaves the request to the main loop
GONE = object()  # the client closed before sending anything


class MockConn(TConn):
    """gunicorn's connection, with what the intake learnt about the request it hands over."""

    worker = None
    intake = None
    target: bytes | None = None
    continued = False  # a 100 Continue went out while the body was read
    waiting = False  # served on the long polls' threads

    def close(self, graceful=False):
        """Close; a graceful close lingers in the main loop instead of blocking it."""
        if graceful and self.worker is not None:
            self.worker.linger(self.sock)
        else:
            super().close()


class BalancedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker where no thread waits long for a request to arrive, and
    that leaves a new connection to a sibling holding fewer.

    What arrives is framed by llhttp as it is read (mockserver/surfaces/intake.py). A thread reads
    what a readable connection holds (waiting 5 ms at most for more) and serves the
    request if it is whole; the rest of one that is not goes on in the main loop, which
    reads every such connection without blocking and hands the request to a thread once
    it is whole. So a client that stalls, sends too much or sends garbage costs no thread: it is
    answered, or answered and dropped once ``--read-timeout`` has passed since its
    request began. A thread sending an answer gives up once the client has taken nothing
    for ``--read-timeout``. Long polls (``GET /_mock/outbox/wait``) run on threads of
    their own, ``--threads`` of them at most; one more is answered 503 at once.

    Keep-alive connections stay with the worker that accepted them, and a worker that is
    awake accepts a whole burst; without the board, 16 clients connecting at once can all
    land on one worker and leave the other cores idle.
    """

    board: ConnectionBoard | None = None
    settings: Settings | None = None  # set before the fork by GunicornServer
    slot = 0
    deferred_since: float | None = None
    heartbeat_at = 0.0

    def init_process(self):
        """Set up the intake and the long polls' threads, start with no connections on the
        board, then run."""
        settings = self.settings or Settings()
        cfg = self.cfg
        self.limits = Limits(max_body=settings.max_body, read_timeout=settings.read_timeout,
                             line=cfg.limit_request_line, fields=cfg.limit_request_fields,
                             field_size=cfg.limit_request_field_size)
        seconds = settings.read_timeout
        self.socket_timeout = struct.pack("ll", int(seconds), int(seconds % 1 * 1e6))
        self.intakes: dict[MockConn, Intake] = {}  # connections whose request is arriving
        self.lingering: dict[socket.socket, list] = {}  # closing: [deadline, bytes discarded]
        self.wait_slots, self.waits = max(1, settings.threads), 0
        self.wait_pool = futures.ThreadPoolExecutor(max_workers=self.wait_slots,
                                                    thread_name_prefix="mockserver-wait")
        self.sweep_at, self.stop_by = 0.0, None
        # the main loop's receive buffer (a fresh bytes object per recv() costs more)
        self.buffer = memoryview(bytearray(RECV_SIZE))
        if self.board is not None:
            self.board.counts[self.slot] = 0
        super().init_process()

    def run(self):
        """gunicorn's loop; the long polls' threads stop with it."""
        try:
            super().run()
        finally:
            self.wait_pool.shutdown(wait=False, cancel_futures=True)

    def handle_exit(self, sig, frame):
        """Graceful shutdown: long polls end at once."""
        _stop_long_polls()
        super().handle_exit(sig, frame)

    def handle_quit(self, sig, frame):
        """Quick shutdown: long polls end at once, their threads are not waited for."""
        _stop_long_polls()
        self.wait_pool.shutdown(wait=False, cancel_futures=True)
        super().handle_quit(sig, frame)

    def notify(self):
        """gunicorn's heartbeat (a utime of the worker's file) at most every HEARTBEAT
        seconds: its loop calls this once per round of events, a system call per request
        under load, and the master only checks it against --timeout (120 s)."""
        now = time.monotonic()
        if now >= self.heartbeat_at:
            self.heartbeat_at = now + HEARTBEAT
            super().notify()

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
            self._accept(listener)
            board.counts[self.slot] = self.nr_conns
            return
        self._accept(listener)

    def _accept(self, listener):
        """Take one connection; its first request is read once it sends one."""
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        try:  # a thread blocked on this socket gives up after --read-timeout
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, self.socket_timeout)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, self.socket_timeout)
        except OSError:
            pass
        conn = MockConn(self.cfg, sock, client, listener.getsockname())  # non-blocking
        conn.worker = self
        conn.intake = self._intake()
        self._advance(conn, None)

    def _intake(self) -> Intake:
        return Intake(self.limits, time.monotonic() + self.limits.read_timeout)

    def enqueue_req(self, conn):
        """The next request of a connection, pipelined after the last one (read ahead by
        gunicorn's parser): a thread reads the rest it needs and serves it."""
        intake = conn.intake = self._intake()
        intake.feed(conn.parser.unreader.take_buffered())
        self._submit(conn, self.tpool, self._read_and_serve)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection sends its next request: a thread reads and serves it."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        conn.intake = self._intake()
        self._submit(conn, self.tpool, self._read_and_serve)

    def _on_readable(self, conn, sock):
        if conn.intake.size == 0:  # the first bytes: a thread reads them, as above
            self._forget(conn, "intake")
            self._submit(conn, self.tpool, self._read_and_serve)
        else:
            self._advance(conn, "intake")

    def _submit(self, conn, pool, call):
        future = pool.submit(call, conn)
        future.add_done_callback(
            lambda done: self.method_queue.defer(self.finish_request, conn, done))

    def _read_and_serve(self, conn):
        """In a thread: read what has arrived of the request, waiting FOLLOW_UP at most for
        more; serve it when it is whole, else leave it to the main loop (READ_ON)."""
        intake = conn.intake
        buffer = getattr(_served, "buffer", None)
        if buffer is None:
            buffer = _served.buffer = memoryview(bytearray(RECV_SIZE))
        give_up = None
        while not (intake.complete or intake.refusal):
            if not _receive(conn, intake, buffer):
                if not intake.size:
                    return GONE
                break
            if intake.complete or intake.refusal:
                break
            # Clients often send the headers and the body in two writes: wait for the
            # rest briefly here rather than hand the request to the main loop and back.
            _continue(conn, intake)
            now = time.monotonic()
            give_up = give_up or now + FOLLOW_UP
            if now >= give_up or not _readable(conn.sock, give_up - now):
                break
        if intake.refusal or not intake.complete or intake.is_wait():
            return READ_ON  # to be read on, refused, or served on the long polls' threads
        self._hand_over(conn)
        return self.handle(conn)

    def _advance(self, conn, polled):
        """In the main loop: read what has arrived; hand the request to a thread once it is
        whole, answer it when it is refused, else wait for more."""
        intake = conn.intake
        try:
            if not (intake.complete or intake.refusal) and \
                    not _receive(conn, intake, self.buffer) and not intake.size:
                self._forget(conn, polled)
                self.nr_conns -= 1
                conn.close()
                return
            if intake.refusal is not None:
                self._refuse(conn, polled)
            elif intake.complete:
                self._dispatch(conn, polled)
            else:
                _continue(conn, intake)
                if polled is None:
                    self.poller.register(conn.sock, selectors.EVENT_READ,
                                         partial(self._on_readable, conn))
                self.intakes[conn] = intake
        except Exception:  # noqa: BLE001 - the main loop must go on
            self.log.exception("Error reading a request")
            self._forget(conn, polled)
            self.nr_conns -= 1
            conn.close()

    def _forget(self, conn, polled):
        """Stop reading ``conn`` in the main loop."""
        self.intakes.pop(conn, None)
        if polled is not None:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass

    def _dispatch(self, conn, polled):
        """Give the whole request to a thread (a long poll to one of theirs)."""
        self._forget(conn, polled)
        intake, pool = conn.intake, self.tpool
        if intake.is_wait():
            if self.waits >= self.wait_slots:
                intake.refusal = Refusal(503, (
                    f"Too many long polls at once: each worker process lets "
                    f"{self.wait_slots} GET /_mock/outbox/wait wait at a time (as many as "
                    f"--threads); retry later, or start mockserver with more --threads."))
                conn.intake = None
                self._send_refusal(conn, intake, (("Retry-After", "1"),))
                return
            self.waits += 1
            conn.waiting, pool = True, self.wait_pool
        self._hand_over(conn)
        self._submit(conn, pool, self.handle)

    @staticmethod
    def _hand_over(conn):
        """Give the whole request's bytes to gunicorn's parser."""
        intake, conn.intake = conn.intake, None
        conn.target, conn.continued = intake.path, intake.continued
        data = intake.take()
        conn.init()  # gunicorn's HTTP/1 parser, on a connection's first request
        conn.parser.unreader.unread(data)
        conn.data_ready = True

    def finish_request(self, conn, fs):
        """A thread is done with a connection: a long poll frees its place; a request the
        thread could not read whole goes on in the main loop."""
        if conn.waiting:
            conn.waiting = False
            self.waits -= 1
        result = None if fs.cancelled() or fs.exception() is not None else fs.result()
        if result is READ_ON:
            self._advance(conn, None)
        elif result is GONE:
            self.nr_conns -= 1
            conn.close()
        else:
            super().finish_request(conn, fs)

    def _refuse(self, conn, polled):
        """Answer the intake's refusal and close the connection."""
        self._forget(conn, polled)
        intake, conn.intake = conn.intake, None
        self._send_refusal(conn, intake)

    def _send_refusal(self, conn, intake, headers=()):
        refusal = intake.refusal
        self.log.info("Refused a request from %s: %s", conn.client, refusal.message)
        if self.settings is not None and self.settings.log_requests:
            log_refusal(intake, refusal.status, self.limits.read_timeout)
        payload = answer(path_of(intake.url), intake.content_type.decode("latin-1"),
                         refusal.status, refusal.message, refusal.code, headers)
        self.nr_conns -= 1
        try:
            conn.sock.setblocking(False)
            conn.sock.send(payload)
        except OSError:
            pass
        self.linger(conn.sock)

    def linger(self, sock):
        """Close after the answer: send FIN, then read and discard (briefly, boundedly)
        whatever the client still sends, so that no reset cuts the answer off."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
            self.poller.register(sock, selectors.EVENT_READ, self._on_linger_readable)
        except (OSError, ValueError, KeyError):
            util.close(sock)
            return
        self.lingering[sock] = [time.monotonic() + LINGER, 0]

    def _on_linger_readable(self, sock):
        state = self.lingering.get(sock)
        try:
            data = sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if state is not None and data:
            state[1] += len(data)
            if state[1] < LINGER_BYTES:
                return
        self._close_lingering(sock)

    def _close_lingering(self, sock):
        self.lingering.pop(sock, None)
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        util.close(sock)

    def wait_for_and_dispatch_events(self, timeout):
        """Dispatch events, apply the read deadlines, then publish how many connections
        this worker holds."""
        if self.intakes or self.lingering:
            timeout = min(timeout, SWEEP_EVERY)
        super().wait_for_and_dispatch_events(timeout)
        now = time.monotonic()
        if now >= self.sweep_at:
            self.sweep_at = now + SWEEP_EVERY
            self._sweep(now)
        if self.board is not None:
            self.board.counts[self.slot] = self.nr_conns

    def _sweep(self, now):
        """Refuse requests past their read deadline (close idle connections then, and when
        stopping, when requests get STOP_LINGER at most); close lingering
        connections past theirs."""
        deadline = ABSENT
        if not self.alive:
            if self.stop_by is None:
                self.stop_by = now + STOP_LINGER
            deadline = self.stop_by
        for conn, intake in [(c, i) for c, i in self.intakes.items()
                             if now >= min(i.deadline, deadline) or
                             (not self.alive and not i.size)]:
            if not intake.size:
                self._forget(conn, "intake")
                self.nr_conns -= 1
                conn.close()
                continue
            if intake.over is not None:
                intake.refuse(413, intake.over)
            elif now < intake.deadline:
                intake.refuse(503, "mockserver is stopping; the request did not arrive before.")
            else:
                intake.refuse(408, f"The request did not arrive within "
                                   f"{self.limits.read_timeout:g} s (the read timeout).")
            self._refuse(conn, "intake")
        for sock in [s for s, (deadline, _) in self.lingering.items() if now >= deadline]:
            self._close_lingering(sock)

    def handle(self, conn):
        """Serve one request in a thread (gunicorn's), remembering its target."""
        _served.target = conn.target
        return super().handle(conn)

    def handle_request(self, req, conn):
        """Run the application; a client that takes no answer for --read-timeout is dropped."""
        if conn.continued:  # sent while the body was read; gunicorn would send another
            req._expected_100_continue = False
            conn.continued = False
        try:
            return super().handle_request(req, conn)
        except (BlockingIOError, TimeoutError):
            self.log.info("Dropped %s: it took no answer for %g s", conn.client,
                          self.limits.read_timeout)
            return False

    def handle_error(self, req, client, addr, exc):
        """What gunicorn's own parser refuses, and application errors, answered in the
        dialect's form (a SOAP fault, or JSON under /_mock/), never its HTML page."""
        status, message, code = refusal_of(exc)
        if code == "Server":
            self.log.exception("Error handling request %s", getattr(req, "uri", ""))
        else:
            self.log.info("Refused a request from %s: %s", addr, message)
        path = getattr(req, "path", None) or path_of(getattr(_served, "target", None))
        content_type = ""
        for name, value in getattr(req, "headers", None) or ():
            if name == "CONTENT-TYPE":
                content_type = value
        try:
            client.sendall(answer(path, content_type, status, message, code))
        except OSError:
            self.log.debug("Failed to send error message.")


def _receive(conn, intake, buffer) -> bool:
    """Feed the intake what the socket holds, without waiting; False once the client has
    closed (a request it left unfinished is then refused)."""
    recv_into = conn.sock.recv_into
    for _ in range(READS_PER_EVENT):
        try:
            size = recv_into(buffer, 0, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            size = 0
        if not size:
            if intake.size and not (intake.complete or intake.refusal):
                intake.refuse(400, "The connection was closed before the request was "
                                   "complete.")
            return False
        intake.feed(buffer[:size].tobytes())
        if intake.complete or intake.refusal or size < RECV_SIZE:
            break
    return True


def _continue(conn, intake) -> None:
    """Send ``100 Continue`` once when the request expects it (its body is within limits)."""
    if intake.send_continue and not intake.continued and intake.over is None:
        intake.continued = True
        try:
            conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n", socket.MSG_DONTWAIT)
        except OSError:
            pass


def _readable(sock, seconds: float) -> bool:
    """Whether ``sock`` turns readable within ``seconds``."""
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(max(1, int(seconds * 1000))))


def _stop_long_polls() -> None:
    """Tell the admin API's long polls (if this worker serves any) that it stops."""
    admin = sys.modules.get("mockserver.surfaces.admin")  # loaded with the app; never imported here
    if admin is not None:
        admin.STOPPING.set()
