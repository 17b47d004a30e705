"""The vendors' parts in the outbox's mails: the content of the mails they keep compact, and
what they do when an event is recorded on a mail (both handed to the outbox by the surfaces)."""
from __future__ import annotations

from mockserver.backclick import mail as backclick_mail

CONTENT_SOURCES = (backclick_mail.newsletter_content,)
EVENT_REACTIONS = (backclick_mail.react_to_event,)
