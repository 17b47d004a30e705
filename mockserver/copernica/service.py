"""The Copernica SOAP API operations, generated from one table: wire values in, domain calls,
one ``Result`` out.

Each operation ``X`` takes one element ``parameters`` of type ``input_X`` (its members are
the table's parameters plus ``access_token``) and answers ``result`` of type ``Result``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from spyne import ServiceBase, rpc
from spyne.model.complex import ComplexModel
from spyne.model.primitive import Boolean, Unicode

from mockserver import accounts, databases, profiles
from mockserver.copernica import types as t
from mockserver.copernica.types import Int, optional, required
from mockserver.databases import vendor_time

# -- parameter kinds ----------------------------------------------------------------

ID = ("id", required(Int))
S, RS = optional(Unicode), required(Unicode)
I, RI = optional(Int), required(Int)
B = optional(Boolean)
MAP, REQS = optional(t.Map), optional(t.Requirements)
REF, RREF = optional(t.Reference), required(t.Reference)
CALLER = ("caller", optional(t.Caller))
TIMESTAMP = ("timestamp", S)
PAGING = [("start", I), ("length", I), ("allproperties", B)]
SEARCH = [("requirements", REQS), ("order", S), ("asc", B), *PAGING]
FIELD_SPEC = [("name", RS), ("type", S), ("value", S), ("display", B), ("ordered", B),
              ("length", I), ("textlines", I), ("hidden", B), ("index", B),
              ("specialcontent", S)]
CALLBACK_SPEC = [("url", RS), ("method", S), ("expression", S), ("actionfilter", S)]


@dataclass
class Call:
    """What a handler gets: the store, the account acted for, and the SOAP call."""

    store: object
    account_id: int | None
    soap: object


@dataclass
class Method:
    """One operation of the table."""

    name: str
    write: bool
    params: list
    handler: Callable
    doc: str


# -- results ----------------------------------------------------------------------


def value(scalar) -> t.Result:
    """A scalar answer; booleans as 1/0."""
    if isinstance(scalar, bool):
        scalar = int(scalar)
    return t.Result(value=str(scalar))


def mapping(values: dict) -> t.Result:
    """A map answer."""
    return t.Result(map=_map(values))


def _map(values: dict) -> t.Map:
    return t.Map(pair=[t.Pair(key=str(k), value="" if v is None else str(v))
                       for k, v in values.items()])


def entity(name: str, obj) -> t.Result:
    """One entity, or value 0 when the lookup found nothing."""
    return value(0) if obj is None else t.Result(**{name: obj})


def listing(name: str, page: profiles.Page) -> t.Result:
    """A list answer: ``start, length, total, items``."""
    return t.Result(start=page.start, length=len(page.items), total=page.total,
                    items=t.Items(**{name: list(page.items)}))


def _whole(items: list, p) -> profiles.Page:
    start = max(0, getattr(p, "start", None) or 0)
    length = getattr(p, "length", None)
    chosen = items[start:] if length is None else items[start:start + max(0, length)]
    return profiles.Page(start=start, total=len(items), items=chosen)


def _database(call: Call, row: dict) -> t.Database:
    return t.Database(id=row["id"], name=row["name"], description=row["description"],
                      archived=bool(row["archived"]), created=vendor_time(row["created"]),
                      unsubscribebehavior=row["unsubscribebehavior"],
                      countprofiles=call.store.count_profiles(row["id"]))


def _collection(call: Call, row: dict) -> t.Collection:
    return t.Collection(id=row["id"], name=row["name"], database=row["database_id"], weight=0,
                        created=vendor_time(row["created"]),
                        unsubscribebehavior=row["unsubscribebehavior"],
                        countsubprofiles=call.store.count_subprofiles(row["id"]))


def _field(row: dict, model=t.Field):
    return model(id=row["id"], name=row["name"], type=row["type"], value=row["value"],
                 displayed=bool(row["displayed"]), ordered=bool(row["ordered"]),
                 length=row["length"], lines=row["textlines"], hidden=bool(row["hidden"]),
                 index=bool(row["indexed"]), big=row["type"] == "big",
                 specialcontent=row["type"] if row["type"] in databases.ONE_PER_DATABASE
                 else "", weight=0)


def _interest(row: dict) -> t.Interest:
    return t.Interest(id=row["id"], name=row["name"], groupname=row["groupname"], weight=0)


def _profile(p: dict, full: bool = True) -> t.Profile:
    return t.Profile(id=p["id"], code=p["code"], extra="", database=p["database_id"],
                     created=p["created"], modified=p["modified"], lastexport="",
                     fields=_map(p["fields"]) if full else None,
                     interests=_map(p["interests"]) if full else None)


def _subprofile(s: dict, full: bool = True) -> t.Subprofile:
    return t.Subprofile(id=s["id"], code=s["code"], profile=s["profile_id"],
                        collection=s["collection_id"], created=s["created"],
                        modified=s["modified"], lastexport="",
                        fields=_map(s["fields"]) if full else None)


def _callback(cb: dict) -> t.Callback:
    created = cb.get("created") or ""
    return t.Callback(id=cb["id"], url=cb["url"], method=cb["method"],
                      expression=cb["expression"], actionfilter=cb["actionfilter"],
                      api_disabled="soap" not in (cb.get("sources") or ["soap"]),
                      database=cb.get("database_id"), collection=cb.get("collection_id"),
                      created=created)


# -- wire values in -----------------------------------------------------------------


def _pairs(m) -> dict:
    """A ``Map`` as a dict (absent -> empty); a later pair with the same key wins."""
    if m is None:
        return {}
    return {p.key: "" if p.value is None else p.value for p in (m.pair or []) if p is not None}


def _requirements(r) -> list[profiles.Requirement]:
    if r is None:
        return []
    return [profiles.Requirement(fieldname=q.fieldname or "", value=q.value or "",
                                 operator=q.operator or "=",
                                 casesensitive=bool(q.casesensitive))
            for q in (r.requirement or []) if q is not None]


def _asc(p) -> bool:
    return True if p.asc is None else bool(p.asc)


def _full(p) -> bool:
    return bool(getattr(p, "allproperties", None))


def _spec(p) -> databases.FieldSpec:
    kind = p.type or "text"
    if (p.specialcontent or "").strip().lower() == "email" and kind in ("text", ""):
        kind = "email"
    return databases.FieldSpec(name=p.name or "", type=kind, value=p.value or "",
                               displayed=bool(p.display), ordered=bool(p.ordered),
                               length=p.length or 50, textlines=p.textlines or 1,
                               hidden=bool(p.hidden), index=bool(p.index))


def _ids(items) -> list[int]:
    return [i for i in (items or []) if i is not None]


def _callbacks():
    from mockserver import callbacks  # built alongside; imported when first used
    return callbacks


# -- handlers -----------------------------------------------------------------------


def login(call: Call, p):
    """Log in with user name and password (optionally naming the account); answers DONE."""
    cookie = accounts.login(call.store, p.username or "", p.password or "", p.account,
                            unguessable=call.soap.exposed)
    call.soap.headers.append(accounts.set_cookie_header(cookie))
    return value("DONE")


def account_database(call, p):
    """The database named (or numbered) ``identifier``, or 0."""
    row = databases.find_database(call.store, call.account_id, p.identifier)
    return entity("database", row and _database(call, row))


def account_databases(call, p):
    """The account's databases."""
    rows = call.store.databases_of(call.account_id)
    return listing("database", _whole([_database(call, r) for r in rows], p))


def account_create_database(call, p):
    """Create a database."""
    return entity("database", _database(call, databases.create_database(
        call.store, call.account_id, p.name, p.description or "")))


def account_callback(call, p):
    """A callback of the account by id, or 0."""
    cb = _callbacks().get_callback(call.store, call.account_id, p.identifier)
    return entity("callback", cb and _callback(cb))


def _db(call, p) -> dict:
    return databases.require_database(call.store, call.account_id, p.id)


def database_retrieve(call, p):
    """The database."""
    return entity("database", _database(call, _db(call, p)))


def database_update(call, p):
    """Change name, description or unsubscribe behaviour."""
    databases.update_database(call.store, call.account_id, p.id, p.name, p.description,
                              p.unsubscribebehavior)
    return value(True)


def database_remove(call, p):
    """Delete the database and everything in it."""
    databases.remove_database(call.store, call.account_id, p.id)
    return value(True)


def database_create_field(call, p):
    """Add a database field."""
    return entity("field", _field(databases.create_field(call.store, call.account_id, p.id,
                                                         None, _spec(p))))


def database_field(call, p):
    """A database field by name or id, or 0."""
    _db(call, p)
    row = databases.find_field(call.store, p.id, None, p.identifier)
    return entity("field", row and _field(row))


def database_fields(call, p):
    """The database's fields."""
    _db(call, p)
    return listing("field", _whole([_field(r) for r in databases.fields(call.store, p.id)], p))


def database_create_interest(call, p):
    """Add an interest."""
    return entity("interest", _interest(databases.create_interest(
        call.store, call.account_id, p.id, p.name, p.groupname or "")))


def database_interests(call, p):
    """The database's interests."""
    _db(call, p)
    return listing("interest", _whole([_interest(r) for r in
                                       databases.interests(call.store, p.id)], p))


def database_create_collection(call, p):
    """Add a collection."""
    return entity("collection", _collection(call, databases.create_collection(
        call.store, call.account_id, p.id, p.name)))


def database_collection(call, p):
    """A collection by name or id, or 0."""
    _db(call, p)
    row = databases.find_collection(call.store, p.id, p.identifier)
    return entity("collection", row and _collection(call, row))


def database_collections(call, p):
    """The database's collections."""
    _db(call, p)
    return listing("collection", _whole([_collection(call, r) for r in
                                         databases.collections(call.store, p.id)], p))


def database_create_profile(call, p):
    """Create a profile with field values and interests."""
    return entity("profile", _profile(profiles.create_profile(
        call.store, call.account_id, p.id, _pairs(p.fields), _pairs(p.interests))))


def database_search_profiles(call, p):
    """Profiles meeting every requirement."""
    page = profiles.search_profiles(call.store, call.account_id, p.id,
                                    _requirements(p.requirements), p.order, _asc(p), p.start,
                                    p.length)
    page.items = [_profile(x, _full(p)) for x in page.items]
    return listing("profile", page)


def database_update_profiles(call, p):
    """Update the matching profiles (create one with ``create`` when none matches)."""
    touched = profiles.update_profiles(call.store, call.account_id, p.id,
                                       _requirements(p.requirements), _pairs(p.fields),
                                       _pairs(p.interests), bool(p.create))
    return listing("profile", _whole([_profile(x, _full(p)) for x in touched], p))


def database_remove_profiles(call, p):
    """Delete profiles by id."""
    _db(call, p)
    ids = [i for i in _ids(p.ids) if (call.store.profile(call.account_id, i) or {})
           .get("database_id") == p.id]
    profiles.remove_profiles(call.store, call.account_id, ids)
    return value(True)


def database_unsubscribe_values(call, p):
    """The field values an unsubscribe sets."""
    return mapping(databases.unsubscribe_values(call.store, call.account_id, p.id))


def database_set_unsubscribe_values(call, p):
    """Replace the field values an unsubscribe sets."""
    databases.set_unsubscribe_values(call.store, call.account_id, p.id, _pairs(p.fields))
    return value(True)


def _create_callback(call, p, **owner):
    """A new callback of a database (``database_id=``) or collection (``collection_id=``)."""
    cb = _callbacks().create_callback(
        call.store, call.account_id, url=p.url or "", method=p.method or "json",
        expression=p.expression or "", actionfilter=p.actionfilter or "all",
        base_url=call.soap.base_url, server_port=call.soap.environ.get("SERVER_PORT"), **owner)
    return entity("callback", _callback(cb))


def database_create_callback(call, p):
    """Add a callback on the database's profiles."""
    _db(call, p)
    return _create_callback(call, p, database_id=p.id)


def database_callback(call, p):
    """A callback of the database by id or url, or 0."""
    _db(call, p)
    identifier = (p.identifier or "").strip()
    cb = None
    if identifier.isdigit():
        cb = _callbacks().get_callback(call.store, call.account_id, int(identifier))
        if cb and (cb.get("database_id") != p.id or cb.get("collection_id") is not None):
            cb = None
    if cb is None:
        cb = _callbacks().callback_by_url(call.store, call.account_id, p.id, identifier)
    return entity("callback", cb and _callback(cb))


def database_callbacks(call, p):
    """The callbacks on the database's profiles."""
    _db(call, p)
    found = [cb for cb in _callbacks().callbacks_of(call.store, database_id=p.id)
             if cb.get("collection_id") is None]
    return listing("callback", _whole([_callback(cb) for cb in found], p))


def _coll(call, p) -> dict:
    return databases.require_collection(call.store, call.account_id, p.id)


def collection_create_field(call, p):
    """Add a collection field."""
    c = _coll(call, p)
    return entity("collectionfield", _field(databases.create_field(
        call.store, call.account_id, c["database_id"], c["id"], _spec(p)), t.CollectionField))


def collection_field(call, p):
    """A collection field by name or id, or 0."""
    c = _coll(call, p)
    row = databases.find_field(call.store, c["database_id"], c["id"], p.identifier)
    return entity("collectionfield", row and _field(row, t.CollectionField))


def collection_fields(call, p):
    """The collection's fields."""
    c = _coll(call, p)
    return listing("collectionfield", _whole(
        [_field(r, t.CollectionField) for r in databases.fields(call.store, c["database_id"],
                                                                c["id"])], p))


def collection_sub_profile(call, p):
    """A subprofile of the collection by id, or 0."""
    c = _coll(call, p)
    sub = profiles.get_subprofile(call.store, call.account_id, p.identifier)
    if sub is not None and sub["collection_id"] != c["id"]:
        sub = None
    return entity("subprofile", sub and _subprofile(sub))


def collection_search_sub_profiles(call, p):
    """Subprofiles of the collection meeting every requirement."""
    page = profiles.search_subprofiles(call.store, call.account_id, p.id, None,
                                       _requirements(p.requirements), p.order, _asc(p),
                                       p.start, p.length)
    page.items = [_subprofile(x, _full(p)) for x in page.items]
    return listing("subprofile", page)


def collection_remove_sub_profiles(call, p):
    """Delete subprofiles of the collection by id."""
    _coll(call, p)
    profiles.remove_subprofiles(call.store, call.account_id, _ids(p.ids), collection_id=p.id)
    return value(True)


def collection_remove(call, p):
    """Delete the collection with its fields and subprofiles."""
    databases.remove_collection(call.store, call.account_id, p.id)
    return value(True)


def collection_create_callback(call, p):
    """Add a callback on the collection's subprofiles."""
    _coll(call, p)
    return _create_callback(call, p, collection_id=p.id)


def profile_update_fields(call, p):
    """Change field values; 0 (and nothing changed) when a value breaks its field's type."""
    return value(profiles.update_fields(call.store, call.account_id, p.id, _pairs(p.fields)))


def profile_remove(call, p):
    """Delete the profile and its subprofiles."""
    profiles.require_profile(call.store, call.account_id, p.id)
    profiles.remove_profiles(call.store, call.account_id, [p.id])
    return value(True)


def profile_fields(call, p):
    """The profile's field values."""
    return mapping(profiles.require_profile(call.store, call.account_id, p.id)["fields"])


def profile_interests(call, p):
    """The profile's interests as name -> 0/1."""
    return mapping(profiles.require_profile(call.store, call.account_id, p.id)["interests"])


def profile_update_interests(call, p):
    """Set interests (``replace``: the ones not named become 0)."""
    profiles.update_interests(call.store, call.account_id, p.id, _pairs(p.interests),
                              bool(p.replace))
    return value(True)


def profile_create_sub_profile(call, p):
    """Create a subprofile of the profile in a collection."""
    return entity("subprofile", _subprofile(profiles.create_subprofile(
        call.store, call.account_id, p.id, p.collection.id, _pairs(p.fields))))


def profile_search_sub_profiles(call, p):
    """The profile's subprofiles (of one collection) meeting every requirement."""
    page = profiles.search_subprofiles(call.store, call.account_id,
                                       p.collection.id if p.collection else None, p.id,
                                       _requirements(p.requirements), p.order, _asc(p),
                                       p.start, p.length)
    page.items = [_subprofile(x, _full(p)) for x in page.items]
    return listing("subprofile", page)


def profile_update_sub_profiles(call, p):
    """Update the profile's matching subprofiles of a collection (or create one)."""
    touched = profiles.update_subprofiles(call.store, call.account_id, p.id, p.collection.id,
                                          _requirements(p.requirements), _pairs(p.fields),
                                          bool(p.create))
    return listing("subprofile", _whole([_subprofile(x, _full(p)) for x in touched], p))


def profile_sub_profiles(call, p):
    """The profile's subprofiles (of one collection when given)."""
    page = profiles.search_subprofiles(call.store, call.account_id,
                                       p.collection.id if p.collection else None, p.id, [],
                                       None, True, p.start, p.length)
    page.items = [_subprofile(x, _full(p)) for x in page.items]
    return listing("subprofile", page)


def subprofile_update_fields(call, p):
    """Change field values; 0 (and nothing changed) when a value breaks its field's type."""
    return value(profiles.update_subprofile_fields(call.store, call.account_id, p.id,
                                                   _pairs(p.fields)))


def subprofile_remove(call, p):
    """Delete the subprofile."""
    profiles.require_subprofile(call.store, call.account_id, p.id)
    profiles.remove_subprofiles(call.store, call.account_id, [p.id])
    return value(True)


def subprofile_move_to_profile(call, p):
    """Give the subprofile to another profile of the same database."""
    profiles.move_subprofile(call.store, call.account_id, p.id, p.profile.id)
    return value(True)


def _require_callback(call, p) -> dict:
    from mockserver.errors import NotFound
    cb = _callbacks().get_callback(call.store, call.account_id, p.id)
    if cb is None:
        raise NotFound(f"Unknown callback {p.id}.")
    return cb


def callback_source(call, p):
    """The database or collection the callback watches."""
    cb = _require_callback(call, p)
    if cb.get("collection_id") is not None:
        return entity("collection", _collection(call, databases.require_collection(
            call.store, call.account_id, cb["collection_id"])))
    return entity("database", _database(call, databases.require_database(
        call.store, call.account_id, cb["database_id"])))


def callback_remove(call, p):
    """Delete the callback."""
    _require_callback(call, p)
    _callbacks().remove_callback(call.store, call.account_id, p.id)
    return value(True)


# -- the table ------------------------------------------------------------------------

R, W = False, True
TABLE = [
    ("login", W, [("username", RS), ("password", RS), ("account", S)], login),
    ("Account_database", R, [("identifier", RS)], account_database),
    ("Account_databases", R, PAGING, account_databases),
    ("Account_createDatabase", W, [("name", RS), ("description", S)], account_create_database),
    ("Account_callback", R, [("identifier", RI)], account_callback),
    ("Database_retrieve", R, [ID], database_retrieve),
    ("Database_update", W, [ID, ("name", S), ("description", S), ("unsubscribebehavior", S)],
     database_update),
    ("Database_remove", W, [ID], database_remove),
    ("Database_createField", W, [ID, *FIELD_SPEC], database_create_field),
    ("Database_field", R, [ID, ("identifier", RS)], database_field),
    ("Database_fields", R, [ID, *PAGING], database_fields),
    ("Database_createInterest", W, [ID, ("name", RS), ("groupname", S)],
     database_create_interest),
    ("Database_interests", R, [ID, *PAGING], database_interests),
    ("Database_createCollection", W, [ID, ("name", RS)], database_create_collection),
    ("Database_collection", R, [ID, ("identifier", RS)], database_collection),
    ("Database_collections", R, [ID, *PAGING], database_collections),
    ("Database_createProfile", W, [ID, ("fields", MAP), ("interests", MAP), CALLER],
     database_create_profile),
    ("Database_searchProfiles", R, [ID, *SEARCH], database_search_profiles),
    ("Database_updateProfiles", W, [ID, ("requirements", REQS), ("fields", MAP),
                                    ("interests", MAP), ("create", B), ("async", B), CALLER,
                                    *PAGING], database_update_profiles),
    ("Database_removeProfiles", W, [ID, ("ids", t.IdArray)], database_remove_profiles),
    ("Database_unsubscribeValues", R, [ID], database_unsubscribe_values),
    ("Database_setUnsubscribeValues", W, [ID, ("fields", MAP)], database_set_unsubscribe_values),
    ("Database_createCallback", W, [ID, *CALLBACK_SPEC], database_create_callback),
    ("Database_callback", R, [ID, ("identifier", RS)], database_callback),
    ("Database_callbacks", R, [ID, *PAGING], database_callbacks),
    ("Collection_createField", W, [ID, *FIELD_SPEC], collection_create_field),
    ("Collection_field", R, [ID, ("identifier", RS)], collection_field),
    ("Collection_fields", R, [ID, *PAGING], collection_fields),
    ("Collection_subProfile", R, [ID, ("identifier", RI)], collection_sub_profile),
    ("Collection_searchSubProfiles", R, [ID, *SEARCH], collection_search_sub_profiles),
    ("Collection_removeSubProfiles", W, [ID, ("ids", t.IdArray)],
     collection_remove_sub_profiles),
    ("Collection_remove", W, [ID], collection_remove),
    ("Collection_createCallback", W, [ID, *CALLBACK_SPEC], collection_create_callback),
    ("Profile_updateFields", W, [ID, TIMESTAMP, ("fields", MAP), CALLER], profile_update_fields),
    ("Profile_remove", W, [ID], profile_remove),
    ("Profile_fields", R, [ID], profile_fields),
    ("Profile_interests", R, [ID], profile_interests),
    ("Profile_updateInterests", W, [ID, ("interests", MAP), ("replace", B)],
     profile_update_interests),
    ("Profile_createSubProfile", W, [ID, TIMESTAMP, ("collection", RREF), ("fields", MAP),
                                     CALLER], profile_create_sub_profile),
    ("Profile_searchSubProfiles", R, [ID, TIMESTAMP, ("collection", REF), *SEARCH],
     profile_search_sub_profiles),
    ("Profile_updateSubProfiles", W, [ID, TIMESTAMP, ("collection", RREF),
                                      ("requirements", REQS), ("fields", MAP), ("create", B),
                                      CALLER, *PAGING], profile_update_sub_profiles),
    ("Profile_subProfiles", R, [ID, ("collection", REF), *PAGING], profile_sub_profiles),
    ("SubProfile_updateFields", W, [ID, TIMESTAMP, ("fields", MAP), CALLER],
     subprofile_update_fields),
    ("SubProfile_remove", W, [ID], subprofile_remove),
    ("SubProfile_moveToProfile", W, [ID, TIMESTAMP, ("profile", RREF)],
     subprofile_move_to_profile),
    ("Callback_source", R, [ID], callback_source),
    ("Callback_remove", W, [ID], callback_remove),
]
METHODS = {name: Method(name, write, params, handler, handler.__doc__ or name)
           for name, write, params, handler in TABLE}


def _input_type(method: Method):
    members = [*method.params, ("access_token", S)]
    return type(f"input_{method.name}", (ComplexModel,), {
        "__namespace__": t.TNS, "__type_name__": f"input_{method.name}",
        "__doc__": f"The parameters of {method.name}.", "_type_info": members})


def _serve(ctx, method: Method, parameters) -> t.Result:
    soap = ctx.udc
    account_id = None
    if method.name != "login":
        environ = soap.environ
        access = accounts.resolve(
            soap.store, authorization=environ.get("HTTP_AUTHORIZATION"),
            access_token=getattr(parameters, "access_token", None),
            cookie_header=environ.get("HTTP_COOKIE"), caller=soap.caller, write=method.write)
        account_id = soap.tenant = access.account_id
    return method.handler(Call(soap.store, account_id, soap), parameters)


def _operation(method: Method):
    def operation(ctx, parameters):
        return _serve(ctx, method, parameters)

    operation.__name__ = method.name
    operation.__doc__ = method.doc
    return rpc(required(_input_type(method)), _returns=required(t.Result),
               _out_variable_name="result")(operation)


POM_SOAP_API = type("POM_SOAP_API", (ServiceBase,), {
    "__doc__": "The Copernica SOAP API (POM SOAP API).",
    **{name: _operation(m) for name, m in METHODS.items()}})
