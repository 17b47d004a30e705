"""The UI's tenant pages: the tenants, a BACKCLICK mandator with its lists and subscribers,
and a Copernica account with its databases, collections, profiles and subprofiles."""
from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response

from mockserver.vendors import tenants
from mockserver.surfaces.ui_requests import PAGE_SIZE, UiError, _page_arg, _paging
from mockserver.backclick import tables as backclick_tables
from mockserver.copernica import tables as copernica_tables

MEMBERSHIP = {0: "subscribed", 1: "unsubscribed", 2: "pending"}


class TenantPages:
    """The handlers of the tenants', mandators' and accounts' pages, mixed into WebUi (its
    rendering and filters)."""

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
