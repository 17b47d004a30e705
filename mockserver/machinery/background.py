"""Background work of each worker process: the jobs its caller hands it, and the SMTP relay.

Every worker runs one scheduler thread. All it acts on lives in the store, and each
piece of work is claimed with a single UPDATE, so workers never do the same thing
twice and a restart picks up where the last run stopped.
"""
from __future__ import annotations

import logging
import smtplib
import threading
from typing import Callable, Sequence

from mockserver.machinery import outbox
from mockserver.store import Store

log = logging.getLogger(__name__)

INTERVAL = 0.2  # seconds of real time between rounds
RELAY_BATCH = 200

# A background job: does what fell due, returns how much it did.
Job = Callable[[Store], int]


def relay(store: Store, mail_id: int, host: str, port: int,
          sources: Sequence[outbox.ContentSource] = ()) -> None:
    """Deliver one outbox mail to the SMTP relay; record success or the error on the mail.

    Any error fails the mail (a claimed mail must never stay ``relaying``).
    """
    try:
        row = store.mail(mail_id)
        if row is None:  # emptied by a reset meanwhile
            return
        message = outbox.as_eml(store, row, sources)
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.sendmail(row["from_addr"] or "mockserver@localhost", [row["to_addr"]], message)
    except Exception as error:  # noqa: BLE001 - recorded on the mail, shown by the admin API
        log.warning("relaying mail %s to %s:%s failed: %s", mail_id, host, port, error)
        store.set_relay_state(mail_id, "failed", f"{type(error).__name__}: {error}")
        return
    store.set_relay_state(mail_id, "sent")


def run_once(store: Store, jobs: Sequence[Job] = (), smtp_relay: tuple[str, int] | None = None,
             sources: Sequence[outbox.ContentSource] = ()) -> int:
    """One round: run each job (the vendors' due sends and deliveries), relay pending mails.
    Returns how much was done."""
    done = 0
    for job in jobs:
        done += job(store)
    if smtp_relay:
        for mail_id in store.relay_pending(RELAY_BATCH):
            if store.claim_relay(mail_id):
                relay(store, mail_id, *smtp_relay, sources=sources)
                done += 1
    return done


class Scheduler(threading.Thread):
    """The daemon thread that calls ``run_once`` every ``INTERVAL`` seconds."""

    def __init__(self, store: Store, jobs: Sequence[Job] = (),
                 smtp_relay: tuple[str, int] | None = None,
                 sources: Sequence[outbox.ContentSource] = ()):
        """Prepare the thread (start it with ``start()``)."""
        super().__init__(name="mockserver-scheduler", daemon=True)
        self.store, self.jobs, self.smtp_relay = store, tuple(jobs), smtp_relay
        self.sources = tuple(sources)
        self.stopping = threading.Event()

    def run(self) -> None:
        """Loop until stopped; an error is logged and the next round tries again."""
        while not self.stopping.is_set():
            try:
                busy = run_once(self.store, self.jobs, self.smtp_relay, self.sources)
            except Exception:  # noqa: BLE001 - keep serving; the log says what failed
                log.exception("background round failed")
                busy = 0
            if not busy:
                self.stopping.wait(INTERVAL)
        self.store.close()  # this thread's connection, never left to the garbage collector
