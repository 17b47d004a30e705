"""The UI's outbox pages: the outbox as an inbox, one mail with its HTML part sandboxed,
its ``.eml`` and attachments as downloads, and the forms that record its events."""
from __future__ import annotations

import email
import email.policy

from werkzeug.wrappers import Request, Response

from mockserver.machinery import outbox
from mockserver.vendors.mail import CONTENT_SOURCES, EVENT_REACTIONS
from mockserver.surfaces.admin import _int_arg, mail_json, outbox_filters
from mockserver.surfaces.ui_requests import PAGE_SIZE, UiError

# A mail's HTML part: a sandbox (an origin of its own, no script, no forms); links open in
# a new window (so a tracked link records its click); images and styles as the mail has them.
MAIL_HTML_HEADERS = {
    "Content-Security-Policy": "sandbox allow-popups allow-popups-to-escape-sandbox; "
                               "default-src 'none'; img-src * data:; style-src * "
                               "'unsafe-inline'; font-src * data:; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
}
# A downloaded attachment: never shown inline, never run.
ATTACHMENT_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'",
                      "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class OutboxPages:
    """The handlers of ``/_mock/ui/outbox``, mixed into WebUi (its rendering and filters)."""

    def ui_inbox(self, request: Request) -> Response:
        """The outbox as an inbox: newest first, filtered by recipient, kind, subject, tenant."""
        store = self.server.store
        tenant, names = self._tenant_filter(request)
        mandators = self._of_kind(names, "mandator")
        before = _int_arg(request, "before")
        filters = outbox_filters(request)
        rows: list = []
        if names is None or mandators:
            rows = outbox.mails(store, limit=PAGE_SIZE + 1, newest_first=True, before_id=before,
                                mandator_id=mandators[0] if mandators else None, **filters)
        older = rows[PAGE_SIZE - 1]["id"] if len(rows) > PAGE_SIZE else None
        rows = rows[:PAGE_SIZE]
        return self.render(request, "inbox.html", section="inbox", mails=rows, kinds=outbox.KINDS,
                           older=older, before=before, no_mails_for=tenant if names is not None
                           and not mandators else None,
                           events={r["id"]: store.events(r["id"]) for r in rows})

    def _mail_row(self, mail_id: int) -> dict:
        row = outbox.mail(self.server.store, mail_id)
        if row is None:
            raise UiError(f"No mail with id {mail_id}.", 404)
        return row

    def ui_mail(self, request: Request, mail_id: int) -> Response:
        """One mail: headers, the HTML part in a sandboxed frame, the text part, attachments,
        links (tracked ones record a click), events, and buttons that record events."""
        store = self.server.store
        row = self._mail_row(mail_id)
        mail = mail_json(store, row)
        message = email.message_from_bytes(outbox.as_eml(store, row, CONTENT_SOURCES), policy=email.policy.default)
        links = mail["links"]
        tracked = list(zip(links.get("original", []), links.get("tracked", [])))
        others = {k: v for k, v in links.items() if k not in ("original", "tracked")}
        return self.render(request, "mail.html", section="inbox", mail=mail,
                           headers=[(k, str(v)) for k, v in message.items()
                                    if k.lower() not in ("content-type", "mime-version")],
                           tracked=tracked, other_links=others)

    def ui_mail_html(self, request: Request, mail_id: int) -> Response:
        """The HTML part of a mail, for the mail page's sandboxed frame: links open in a new
        window, the open-tracking pixel left out (looking is not opening)."""
        content = outbox.render(self.server.store, self._mail_row(mail_id), open_pixel=False, sources=CONTENT_SOURCES)
        html = content["html"] or ""
        base = '<base target="_blank">'
        lowered = html.lower()
        head = lowered.find("<head")
        if head >= 0 and lowered.find(">", head) >= 0:
            end = lowered.find(">", head) + 1
            html = html[:end] + base + html[end:]
        else:
            html = base + html
        return Response(html, content_type="text/html; charset=utf-8", headers=MAIL_HTML_HEADERS)

    def ui_eml(self, request: Request, mail_id: int) -> Response:
        """The mail as an RFC 5322 message, downloaded (the admin API's ``.eml`` for a browser
        that logged in with a cookie)."""
        response = Response(outbox.as_eml(self.server.store, self._mail_row(mail_id), CONTENT_SOURCES),
                            content_type="message/rfc822", headers=ATTACHMENT_HEADERS)
        response.headers.set("Content-Disposition", "attachment", filename=f"mail-{mail_id}.eml")
        return response

    def ui_attachment(self, request: Request, mail_id: int, number: int) -> Response:
        """One attachment of a mail, as a download with its name and bytes."""
        attachments = self.server.store.attachments(self._mail_row(mail_id)["id"])
        if number >= len(attachments):
            raise UiError(f"Mail {mail_id} has no attachment {number}.", 404)
        attachment = attachments[number]
        response = Response(bytes(attachment["data"]), headers=ATTACHMENT_HEADERS,
                            content_type=attachment["content_type"] or "application/octet-stream")
        response.headers.set("Content-Disposition", "attachment",
                             **outbox.download_params(attachment["name"]))
        return response

    def ui_mail_event(self, request: Request, mail_id: int) -> Response:
        """``POST``: record an open, bounce (hard or soft), unsubscribe or complaint."""
        self._mail_row(mail_id)
        event_type = request.form.get("type", "")
        detail = request.form.get("bounce", "") if event_type == "bounce" else \
            request.form.get("url", "") if event_type == "click" else ""
        outbox.record_event(self.server.store, mail_id, event_type, detail, reactions=EVENT_REACTIONS)
        return self._back(request, f"outbox/{mail_id}")
