"""Both vendors' background work: the jobs the scheduler runs each round, and what is sent
at once after the clock moved."""
from __future__ import annotations

from mockserver.backclick import newsletters
from mockserver.copernica import callback_delivery
from mockserver.store import Store

# BACKCLICK's scheduled newsletters, then Copernica's callback deliveries, as before.
JOBS = (newsletters.dispatch_due, callback_delivery.deliver_due)


def send_fallen_due(store: Store) -> dict:
    """After the clock moved: send the newsletters and deliver the callbacks that fell due
    now, waiting for them; ``{"newslettersSent": N, "callbackAttempts": M}``."""
    return {"newslettersSent": newsletters.send_due_now(store),
            "callbackAttempts": callback_delivery.flush(store)}
