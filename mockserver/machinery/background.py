"""Background work of each worker process: scheduled sends, callbacks and the SMTP relay.

Every worker runs one scheduler thread. All it acts on lives in the store, and each
piece of work is claimed with a single UPDATE, so workers never do the same thing
twice and a restart picks up where the last run stopped.
"""
from __future__ import annotations

import logging
import smtplib
import threading
from typing import Sequence

from mockserver.copernica import callbacks
from mockserver.backclick import newsletters
from mockserver.machinery import outbox
from mockserver.store import Store

log = logging.getLogger(__name__)

INTERVAL = 0.2  # seconds of real time between rounds
RELAY_BATCH = 200


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


def send_fallen_due(store: Store) -> dict:
    """After the clock moved: send the newsletters and deliver the callbacks that fell due
    now, waiting for them; ``{"newslettersSent": N, "callbackAttempts": M}``."""
    return {"newslettersSent": newsletters.send_due_now(store),
            "callbackAttempts": callbacks.flush(store)}


def run_once(store: Store, smtp_relay: tuple[str, int] | None = None,
             sources: Sequence[outbox.ContentSource] = ()) -> int:
    """One round: send due newsletters, start due callback deliveries, relay pending mails.
    Returns how much was done."""
    done = newsletters.dispatch_due(store)
    done += callbacks.deliver_due(store)
    if smtp_relay:
        for mail_id in store.relay_pending(RELAY_BATCH):
            if store.claim_relay(mail_id):
                relay(store, mail_id, *smtp_relay, sources=sources)
                done += 1
    return done


class Scheduler(threading.Thread):
    """The daemon thread that calls ``run_once`` every ``INTERVAL`` seconds."""

    def __init__(self, store: Store, smtp_relay: tuple[str, int] | None = None,
                 sources: Sequence[outbox.ContentSource] = ()):
        """Prepare the thread (start it with ``start()``)."""
        super().__init__(name="mockserver-scheduler", daemon=True)
        self.store, self.smtp_relay, self.sources = store, smtp_relay, tuple(sources)
        self.stopping = threading.Event()

    def run(self) -> None:
        """Loop until stopped; an error is logged and the next round tries again."""
        while not self.stopping.is_set():
            try:
                busy = run_once(self.store, self.smtp_relay, self.sources)
            except Exception:  # noqa: BLE001 - keep serving; the log says what failed
                log.exception("background round failed")
                busy = 0
            if not busy:
                self.stopping.wait(INTERVAL)
        self.store.close()  # this thread's connection, never left to the garbage collector
