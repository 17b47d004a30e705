"""The web UI under ``/_mock/ui/``: the outbox as an inbox, the journal, the tenants' data,
callback deliveries, the clock and the fault rules, as server-rendered HTML pages.

Every page reads without JavaScript; changes are HTML forms that POST to the UI, which
calls the same domain functions the admin API does. Jinja2 (templates under
``mockserver/surfaces/templates/ui/``, autoescaped) is imported on the first UI request only, so a
worker that never serves the UI never pays for it.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import logging
import math
import threading
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from mockserver.copernica import callback_delivery
from mockserver.machinery import clock, faults, journal, outbox
from mockserver.vendors import background, tenants
from mockserver.vendors.mail import CONTENT_SOURCES, EVENT_REACTIONS
from mockserver.surfaces.admin import (CONVERTERS, ApiError, _choice_arg, _int_arg, _stamp_arg,
    mail_json, outbox_filters)
from mockserver.machinery.errors import NotFound, VendorError
from mockserver.surfaces.gate import bearer_matches, names_host
from mockserver.backclick import tables as backclick_tables
from mockserver.copernica import tables as copernica_tables

log = logging.getLogger(__name__)

PREFIX = "/_mock/ui/"
LOGIN_PATH = PREFIX + "login"
STYLE_PATH = PREFIX + "ui.css"
OPEN_PATHS = frozenset({LOGIN_PATH, STYLE_PATH})  # reachable without the admin token
COOKIE = "mockserver_ui"
PAGE_SIZE = 50
TEMPLATES = Path(__file__).resolve().parent / "templates" / "ui"
MEMBERSHIP = {0: "subscribed", 1: "unsubscribed", 2: "pending"}

# UI pages: no script, nothing from elsewhere, frames and forms of the UI only.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "frame-src 'self'; form-action 'self'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}
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


class UiError(Exception):
    """A refused UI request, answered with the UI's error page and this status."""

    def __init__(self, message: str, status: int = 400):
        """The message to show and the HTTP status."""
        super().__init__(message)
        self.status = status


def session_value(admin_token: str) -> str:
    """The UI cookie's value for an admin token: a keyed hash (the token itself is never
    stored in the browser), the same in every worker and after a restart."""
    return hmac.new(admin_token.encode(), b"mockserver-ui-session", hashlib.sha256).hexdigest()


def same_origin(request: Request) -> bool:
    """True when the request's ``Origin`` (or, without one, its ``Referer``) names the host
    the request was sent to: a form of the UI, not a page elsewhere."""
    return names_host(request.headers.get("Origin") or request.headers.get("Referer"),
                      request.host)


def pretty_xml(text: str) -> str:
    """An XML document indented for reading; the text as it is when it is not XML (a cut
    envelope, say) or nested deeper than the wire accepts (256 levels)."""
    from lxml import etree
    try:
        root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True))
    except (etree.XMLSyntaxError, ValueError):
        return text
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def _when(value) -> str:
    """A store stamp (``2024-05-01T09:30:00.123456Z``) as ``2024-05-01 09:30:00``."""
    if not value:
        return ""
    text = str(value)
    return text[:19].replace("T", " ") if len(text) >= 19 and text[10:11] == "T" else text


def _size(value: int) -> str:
    """A byte count for people: ``812 B``, ``14.2 KB``."""
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KB"
    return f"{value / 1024 / 1024:.1f} MB"


def _page_arg(request: Request) -> int:
    """The 1-based ``page`` query parameter (1 when absent)."""
    page = _int_arg(request, "page")
    page = 1 if page is None else page
    if page < 1:
        raise UiError("Query parameter 'page' must be 1 or more.")
    return page


def _paging(page: int, total: int) -> dict:
    """What a paged table shows: this page, how many there are, the rows' offset."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:
        raise UiError(f"There is no page {page}; there are {pages}.", 404)
    return {"page": page, "pages": pages, "total": total, "offset": (page - 1) * PAGE_SIZE}


def _form_int(form, name: str, low: int | None = None) -> int | None:
    """An optional integer form field."""
    value = (form.get(name) or "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise UiError(f"'{name}' must be an integer, got {value!r}.")
    if low is not None and number < low:
        raise UiError(f"'{name}' must be {low} or more.")
    return number


def _rule_from_form(form) -> dict:
    """A fault rule (the admin API's JSON form) from the faults page's form."""
    rule: dict = {}
    for name, field in (("dialect", "dialect"), ("operation", "operation"),
                        ("tenant", "tenant_rule")):  # "tenant" is the page's own filter
        value = (form.get(field) or "").strip()
        if value:
            rule[name] = value
    times = _form_int(form, "times")
    if times is not None:
        rule["times"] = times
    probability = (form.get("probability") or "").strip()
    if probability:
        try:
            rule["probability"] = float(probability)
        except ValueError:
            raise UiError(f"'probability' must be a number from 0 to 1, got {probability!r}.")
    seed = (form.get("seed") or "").strip()
    if seed:
        rule["seed"] = int(seed) if seed.lstrip("-").isdigit() else seed
    effect = form.get("effect") or "fault"
    if effect == "fault":
        rule["fault"] = form.get("fault") or ""
        if not rule["fault"]:
            raise UiError("A fault rule with the effect 'fault' needs a fault string.")
        if form.get("faultcode") in ("Server", "Client") and form["faultcode"] != "Server":
            rule["faultcode"] = form["faultcode"]
    elif effect == "status":
        rule["status"] = _form_int(form, "status")
        if rule["status"] is None:
            raise UiError("A fault rule with the effect 'status' needs an HTTP status.")
        if form.get("body"):
            rule["body"] = form["body"]
    elif effect in ("drop", "truncate"):
        rule[effect] = True
    elif effect != "delay":
        raise UiError(f"Unknown effect {effect!r}; one of fault, status, drop, truncate, delay.")
    delay = _form_int(form, "delayMs")
    if delay is not None:
        rule["delayMs"] = delay
    return rule


class WebUi:
    """Routes and handlers of ``/_mock/ui/``."""

    def __init__(self, server):
        """Serve the UI of ``server`` (a MockServer)."""
        self.server = server
        self.routes = Map(self.rules(), strict_slashes=False, converters=CONVERTERS)
        self._environment = None
        self._lock = threading.Lock()

    # -- routing ---------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        """The werkzeug routing rules of the UI (endpoint names start with ``ui_``)."""
        return [Rule(PREFIX + path, endpoint=name, methods=methods) for path, name, methods in (
            ("", "ui_inbox", ["GET"]),
            ("outbox", "ui_inbox", ["GET"]),
            ("outbox/<id:mail_id>", "ui_mail", ["GET"]),
            ("outbox/<id:mail_id>.eml", "ui_eml", ["GET"]),
            ("outbox/<id:mail_id>/html", "ui_mail_html", ["GET"]),
            ("outbox/<id:mail_id>/attachments/<id:number>", "ui_attachment", ["GET"]),
            ("outbox/<id:mail_id>/events", "ui_mail_event", ["POST"]),
            ("journal", "ui_journal", ["GET"]),
            ("journal/<id:entry_id>", "ui_exchange", ["GET"]),
            ("tenants", "ui_tenants", ["GET"]),
            ("mandators/<id:mandator_id>", "ui_mandator", ["GET"]),
            ("accounts/<id:account_id>", "ui_account", ["GET"]),
            ("accounts/<id:account_id>/databases/<id:database_id>", "ui_database", ["GET"]),
            ("accounts/<id:account_id>/collections/<id:collection_id>", "ui_collection",
             ["GET"]),
            ("callbacks", "ui_callbacks", ["GET"]),
            ("callbacks/flush", "ui_callbacks_flush", ["POST"]),
            ("clock", "ui_clock", ["GET", "POST"]),
            ("faults", "ui_faults", ["GET", "POST"]),
            ("faults/<id:rule_id>/delete", "ui_fault_delete", ["POST"]),
            ("faults/delete", "ui_faults_delete", ["POST"]),
            ("faults/maintenance", "ui_maintenance", ["POST"]),
            ("login", "ui_login", ["GET", "POST"]),
            ("logout", "ui_logout", ["POST"]),
            ("ui.css", "ui_style", ["GET"]),
        )]

    def serve(self, request: Request):
        """Answer a request under ``/_mock/ui``: its page, or the UI's error page (never a
        traceback)."""
        try:
            name, args = self.routes.bind_to_environ(request.environ).match()
            return self.dispatch(name, request, **args)
        except RequestRedirect as moved:  # a WSGI response of its own
            return moved
        except HTTPException as error:
            message = f"No such page: {request.path}" if error.code == 404 else \
                error.description
            return self.error_page(request, error.code or 500, message)
        except Exception:  # noqa: BLE001 - never a traceback to the client
            log.exception("UI request failed: %s", request.path)
            return self.error_page(request, 500, "Internal error in mockserver; see its log.")

    def dispatch(self, name: str, request: Request, **args) -> Response:
        """Call the handler for a matched rule; a POST from elsewhere is refused (403), and
        refused requests get the UI's error page."""
        try:
            if request.method == "POST" and not same_origin(request):
                raise UiError("This form may only be sent from the mockserver UI itself: the "
                              "request's Origin (or Referer) does not name this host.", 403)
            return getattr(self, name)(request, **args)
        except UiError as error:
            return self.error_page(request, error.status, str(error))
        except ApiError as error:
            return self.error_page(request, error.status, str(error))
        except NotFound as error:
            return self.error_page(request, 404, str(error))
        except (VendorError, faults.RuleError, tenants.TenantError) as error:
            return self.error_page(request, getattr(error, "status", 400), str(error))

    # -- the admin token and the login cookie ------------------------------------------------

    def authorised(self, request: Request) -> bool:
        """True without ``--admin-token``, else when the request carries it as a Bearer
        header or carries the UI's login cookie."""
        token = self.server.settings.admin_token
        if not token:
            return True
        return bearer_matches(request.headers.get("Authorization"), token) or \
            hmac.compare_digest(request.cookies.get(COOKIE, "").encode(),
                                session_value(token).encode())

    def refusal(self, request: Request) -> Response | None:
        """With ``--admin-token``, for a UI path without the Bearer header: None when the
        login cookie is right (or the path needs none), else the way to the login page."""
        path = request.path
        if path in OPEN_PATHS or self.authorised(request):
            return None
        if request.method in ("GET", "HEAD"):
            target = request.full_path.rstrip("?") if request.query_string else path
            return redirect(LOGIN_PATH + "?" + urlencode({"next": target}), 303)
        return self.error_page(request, 401, "Log in to the mockserver UI first.", public=True)

    @staticmethod
    def _next(value: str | None) -> str:
        """Where to go after logging in: a UI page only (never another site)."""
        value = value or PREFIX
        return value if value.startswith(PREFIX) and "\\" not in value else PREFIX

    def ui_login(self, request: Request) -> Response:
        """``/_mock/ui/login``: the admin token, once, for an HttpOnly cookie."""
        token = self.server.settings.admin_token
        target = self._next(request.values.get("next"))
        if not token:
            return redirect(target, 303) if request.method == "POST" else \
                self.render(request, "login.html", next=target, error=None, needed=False)
        if request.method == "GET":
            return self.render(request, "login.html", public=True, next=target, error=None,
                               needed=True)
        given = request.form.get("token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return self.render(request, "login.html", status=401, public=True, next=target,
                               needed=True, error="That is not the admin token.")
        response = redirect(target, 303)
        response.set_cookie(COOKIE, session_value(token), path=PREFIX, httponly=True,
                            samesite="Strict", secure=request.scheme == "https")
        return response

    def ui_logout(self, request: Request) -> Response:
        """``POST /_mock/ui/logout``: forget the login cookie."""
        response = redirect(LOGIN_PATH if self.server.settings.admin_token else PREFIX, 303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="Strict")
        return response

    # -- rendering --------------------------------------------------------------------------

    def _templates(self):
        """The Jinja2 environment, made (and Jinja2 imported) on first use."""
        if self._environment is None:
            with self._lock:
                if self._environment is None:
                    import jinja2
                    environment = jinja2.Environment(
                        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
                    environment.filters.update(when=_when, size=_size, pretty_xml=pretty_xml,
                                               to_json=lambda v: json.dumps(
                                                   v, indent=2, ensure_ascii=False))
                    self._environment = environment
        return self._environment

    def _tenant_choices(self) -> list[tuple[str, str]]:
        """(value, label) of every tenant filter the selector offers."""
        store = self.server.store
        choices = [(t["tenant"], f"{t['tenant']} (tenant)")
                   for t in tenants.listing(store, "")]
        for mandator_id in sorted(backclick_tables.mandator_ids(store)):
            name = (backclick_tables.mandator(store, mandator_id) or {}).get("name", "")
            choices.append((f"mandator-{mandator_id}", f"mandator-{mandator_id} {name}".strip()))
        for account_id in sorted(copernica_tables.account_ids(store)):
            name = (copernica_tables.account(store, account_id) or {}).get("name", "")
            choices.append((f"account-{account_id}", f"account-{account_id} {name}".strip()))
        return choices

    def render(self, request: Request, template: str, status: int = 200, public: bool = False,
               **context) -> Response:
        """A UI page from a template, with the navigation and the tenant selector (neither on
        a ``public`` page: one shown before logging in)."""
        tenant = request.args.get("tenant", "")

        def href(path: str, **params) -> str:
            """A UI URL with query parameters (empty ones left out); the tenant kept."""
            params.setdefault("tenant", tenant)
            query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
            return PREFIX + path + (f"?{query}" if query else "")

        public = public or not self.authorised(request)
        try:
            choices = [] if public else self._tenant_choices()
        except Exception:  # noqa: BLE001 - an error page must render even without a store
            log.exception("listing tenants for the UI failed")
            choices = []
        page = self._templates().get_template(template).render(
            request=request, tenant=tenant, tenant_choices=choices, href=href, prefix=PREFIX,
            public=public, section=context.pop("section", ""),
            logged_in=bool(self.server.settings.admin_token and not public),
            **context)
        return Response(page, status=status, content_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)

    def error_page(self, request: Request, status: int, message: str,
                   public: bool = False) -> Response:
        """The UI's error page (never a traceback)."""
        try:
            return self.render(request, "error.html", status=status, public=public,
                               status_code=status, message=message)
        except Exception:  # noqa: BLE001 - the templates themselves failed: plain text
            log.exception("rendering the UI's error page failed")
            return Response(f"{status}: {message}\n", status=status,
                            content_type="text/plain; charset=utf-8", headers=PAGE_HEADERS)

    def ui_style(self, request: Request) -> Response:
        """``/_mock/ui/ui.css``: the UI's one stylesheet."""
        return Response((TEMPLATES / "ui.css").read_bytes(), content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "max-age=300",
                                 "X-Content-Type-Options": "nosniff"})

    def _back(self, request: Request, path: str, **params) -> Response:
        """303 to a UI page after a form, keeping the tenant filter of the page it came from."""
        tenant = request.form.get("tenant") or request.args.get("tenant")
        params = {"tenant": tenant, **params}
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return redirect(PREFIX + path + (f"?{query}" if query else ""), 303)

    # -- tenants filter ---------------------------------------------------------------------

    def _tenant_filter(self, request: Request) -> tuple[str, list[str] | None]:
        """The ``tenant`` query parameter and the ``mandator-N``/``account-N`` names it
        stands for (None without a filter)."""
        value = (request.args.get("tenant") or "").strip()
        if not value:
            return "", None
        return value, tenants.require_names(self.server.store, value)

    @staticmethod
    def _of_kind(names: list[str] | None, kind: str) -> list[int]:
        """The ids among filter names of one kind (``mandator`` or ``account``)."""
        return [int(n[len(kind) + 1:]) for n in names or () if n.startswith(kind + "-")]

    # -- inbox ------------------------------------------------------------------------------

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

    # -- journal ----------------------------------------------------------------------------

    def ui_journal(self, request: Request) -> Response:
        """SOAP exchanges, newest first, filtered by operation, tenant, dialect, time."""
        server = self.server
        tenant, names = self._tenant_filter(request)
        limit = _int_arg(request, "limit")
        limit = 100 if limit is None else limit
        if not 1 <= limit <= 10_000:
            raise UiError("Query parameter 'limit' must be from 1 to 10000.")
        server.journal.settle()
        rows = server.journal.store.journal(
            operation=request.args.get("operation") or None, tenants=names,
            dialect=_choice_arg(request, "dialect", faults.DIALECTS),
            since=_stamp_arg(request, "since"), limit=limit)
        exchanges = [journal.row_json(r) for r in reversed(rows)]
        return self.render(request, "journal.html", section="journal", exchanges=exchanges,
                           dialects=faults.DIALECTS, limit=limit,
                           enabled=server.journal.enabled)

    def ui_exchange(self, request: Request, entry_id: int) -> Response:
        """One exchange: its parsed arguments and both raw envelopes (secrets masked)."""
        server = self.server
        row = server.journal.store.journal_entry(entry_id)
        if row is None:
            server.journal.settle()
            row = server.journal.store.journal_entry(entry_id)
        if row is None:
            raise UiError(f"No journal entry {entry_id} (the journal keeps the newest "
                          f"{server.journal.size}).", 404)
        return self.render(request, "exchange.html", section="journal",
                           exchange=journal.row_json(row))

    # -- tenants and their data -------------------------------------------------------------

    def ui_tenants(self, request: Request) -> Response:
        """Tenants made by ``POST /_mock/tenants``, mandators and Copernica accounts."""
        store = self.server.store
        tenant, names = self._tenant_filter(request)
        mandator_ids = sorted(backclick_tables.mandator_ids(store))
        account_ids = sorted(copernica_tables.account_ids(store))
        found = tenants.listing(store, request.host_url)
        if names is not None:
            mandator_ids = [i for i in mandator_ids if i in self._of_kind(names, "mandator")]
            account_ids = [i for i in account_ids if i in self._of_kind(names, "account")]
            found = [t for t in found if t["tenant"] == tenant or
                     set(tenants.filter_names(store, t["tenant"])) & set(names)]
        mandators = [dict(backclick_tables.mandator(store, i), subscribers=backclick_tables.subscribers_page(store, i, 0, 0)[0],
                          lists=len(backclick_tables.lists(store, i))) for i in mandator_ids]
        accounts = [dict(copernica_tables.account(store, i), databases=len(copernica_tables.databases_of(store, i)))
                    for i in account_ids]
        return self.render(request, "tenants.html", section="tenants", tenants=found,
                           mandators=mandators, accounts=accounts)

    def ui_mandator(self, request: Request, mandator_id: int) -> Response:
        """A mandator: fields, newsletter lists, subscribers (paged, searchable by address)."""
        store = self.server.store
        mandator = backclick_tables.mandator(store, mandator_id)
        if mandator is None:
            raise UiError(f"No mandator {mandator_id}.", 404)
        search = (request.args.get("q") or "").strip()
        page = _page_arg(request)
        total, _ = backclick_tables.subscribers_page(store, mandator_id, 0, 0, search)
        paging = _paging(page, total)
        _, subscribers = backclick_tables.subscribers_page(store, mandator_id, paging["offset"], PAGE_SIZE, search)
        return self.render(request, "mandator.html", section="tenants", mandator=mandator,
                           fields=list(backclick_tables.field_names(store, mandator_id).values()),
                           lists=backclick_tables.lists(store, mandator_id),
                           counts=backclick_tables.list_member_counts(store, mandator_id),
                           subscribers=subscribers, paging=paging, search=search,
                           membership=MEMBERSHIP)

    def _account(self, account_id: int) -> dict:
        account = copernica_tables.account(self.server.store, account_id)
        if account is None:
            raise UiError(f"No Copernica account {account_id}.", 404)
        return account

    def ui_account(self, request: Request, account_id: int) -> Response:
        """A Copernica account: its databases with their fields, interests and collections."""
        store = self.server.store
        account = self._account(account_id)
        databases = [dict(d, profiles=copernica_tables.count_profiles(store, d["id"]),
                          fields=copernica_tables.fields_of(store, d["id"], None),
                          interests=copernica_tables.interests_of(store, d["id"]),
                          collections=copernica_tables.collections_of(store, d["id"]))
                     for d in copernica_tables.databases_of(store, account_id)]
        return self.render(request, "account.html", section="tenants", account=account,
                           databases=databases)

    def ui_database(self, request: Request, account_id: int, database_id: int) -> Response:
        """A database: fields, interests, collections, and its profiles (paged)."""
        store = self.server.store
        account = self._account(account_id)
        database = copernica_tables.database(store, account_id, database_id)
        if database is None:
            raise UiError(f"Account {account_id} has no database {database_id}.", 404)
        paging = _paging(_page_arg(request), copernica_tables.count_profiles(store, database_id))
        profiles = [dict(p, fields=json.loads(p["fields"]),
                         interests=[n for n, v in json.loads(p["interests"]).items() if v])
                    for p in copernica_tables.profiles_page(store, database_id, paging["offset"], PAGE_SIZE)]
        collections = [dict(c, subprofiles=copernica_tables.count_subprofiles(store, c["id"]))
                       for c in copernica_tables.collections_of(store, database_id)]
        return self.render(request, "database.html", section="tenants", account=account,
                           database=database, fields=copernica_tables.fields_of(store, database_id, None),
                           interests=copernica_tables.interests_of(store, database_id), collections=collections,
                           profiles=profiles, paging=paging)

    def ui_collection(self, request: Request, account_id: int, collection_id: int) -> Response:
        """A collection: its fields and subprofiles (paged)."""
        store = self.server.store
        account = self._account(account_id)
        collection = copernica_tables.collection(store, account_id, collection_id)
        if collection is None:
            raise UiError(f"Account {account_id} has no collection {collection_id}.", 404)
        database = copernica_tables.database(store, account_id, collection["database_id"])
        paging = _paging(_page_arg(request), copernica_tables.count_subprofiles(store, collection_id))
        subprofiles = [dict(s, fields=json.loads(s["fields"]))
                       for s in copernica_tables.subprofiles_page(store, collection_id, paging["offset"],
                                                       PAGE_SIZE)]
        return self.render(request, "collection.html", section="tenants", account=account,
                           database=database, collection=collection,
                           fields=copernica_tables.fields_of(store, collection["database_id"], collection_id),
                           subprofiles=subprofiles, paging=paging)

    # -- callbacks --------------------------------------------------------------------------

    def ui_callbacks(self, request: Request) -> Response:
        """Callback deliveries with their attempts, filtered by state and tenant."""
        tenant, names = self._tenant_filter(request)
        accounts = self._of_kind(names, "account")
        state = _choice_arg(request, "state", callback_delivery.STATES)
        rows = []
        if names is None or accounts:
            rows = callback_delivery.deliveries(self.server.store, _int_arg(request, "callback"),
                                                state, accounts[0] if accounts else None, 500)
        return self.render(request, "callbacks.html", section="callbacks", deliveries=rows,
                           states=callback_delivery.STATES, no_deliveries_for=tenant
                           if names is not None and not accounts else None)

    def ui_callbacks_flush(self, request: Request) -> Response:
        """``POST``: deliver every callback due now, and wait for it."""
        callback_delivery.flush(self.server.store)
        return self._back(request, "callbacks")

    # -- clock ------------------------------------------------------------------------------

    def ui_clock(self, request: Request) -> Response:
        """The clock; ``POST`` with ``action`` set, freeze, release, advance or real."""
        store = self.server.store
        if request.method == "GET":
            done = {k: _int_arg(request, k) for k in ("sent", "attempts")}
            return self.render(request, "clock.html", section="clock",
                               clock=clock.describe(store), done=done)
        action = request.form.get("action", "")
        if action == "real":
            clock.reset(store)
            return self._back(request, "clock")
        try:
            self._move_clock(request, action)
        except clock.ClockRangeError as error:
            raise UiError(str(error))
        due = background.send_fallen_due(store)
        return self._back(request, "clock", sent=due["newslettersSent"],
                          attempts=due["callbackAttempts"])

    def _move_clock(self, request: Request, action: str) -> None:
        """Set, freeze, release or advance the clock as the form asks."""
        store = self.server.store
        if action == "set":
            text = (request.form.get("now") or "").strip()
            try:
                moment = clock.parse_stamp(text) if text else None
            except ValueError:
                raise UiError(f"'now' must be an ISO 8601 time such as 2030-01-01T09:00:00, "
                              f"got {text!r}.")
            clock.set_clock(store, moment, bool(request.form.get("frozen")))
        elif action in ("freeze", "release"):
            clock.set_clock(store, None, action == "freeze")
        elif action == "advance":
            amount = (request.form.get("amount") or "").strip()
            unit = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}.get(
                request.form.get("unit") or "seconds")
            try:
                seconds = float(amount) * unit if unit else -1
            except ValueError:
                seconds = -1
            if not math.isfinite(seconds) or seconds < 0:
                raise UiError(f"Advance by a number, 0 or more, of seconds, minutes, hours or "
                              f"days; got {amount!r}.")
            clock.advance(store, seconds)
        else:
            raise UiError(f"Unknown clock action {action!r}; one of set, freeze, release, "
                          f"advance, real.")

    # -- faults -----------------------------------------------------------------------------

    def ui_faults(self, request: Request) -> Response:
        """Fault rules (with remaining and calls) and maintenance; ``POST`` adds a rule."""
        store = self.server.store
        error, status, form = None, 200, {}
        if request.method == "POST":
            form = request.form
            try:
                faults.add(store, [_rule_from_form(form)],
                           operations=self.server.operation_names)
                return self._back(request, "faults")
            except (UiError, faults.RuleError) as refused:
                error, status = str(refused), 400
        return self.render(request, "faults.html", section="faults", status=status,
                           described=faults.describe(store), error=error, form=form,
                           dialects=faults.DIALECTS)

    def ui_fault_delete(self, request: Request, rule_id: int) -> Response:
        """``POST``: remove one fault rule."""
        if not self.server.store.delete_fault_rules(rule_id):
            raise UiError(f"No fault rule with id {rule_id}.", 404)
        return self._back(request, "faults")

    def ui_faults_delete(self, request: Request) -> Response:
        """``POST``: remove every fault rule."""
        self.server.store.delete_fault_rules()
        return self._back(request, "faults")

    def ui_maintenance(self, request: Request) -> Response:
        """``POST``: maintenance on (with a fault string, or the default one) or off."""
        on = request.form.get("maintenance") == "on"
        self.server.store.set_maintenance(
            (request.form.get("fault") or faults.MAINTENANCE) if on else None)
        return self._back(request, "faults")
