"""Wire values of the Copernica dialect: the parameters handlers read, and the ``Result`` and
entities they answer, in the catalogue's types."""
from __future__ import annotations

from dataclasses import dataclass

from mockserver.copernica import field_types, fields, profile_search, users
from mockserver.copernica import catalogue
from mockserver.copernica import types as t
from mockserver.copernica.databases import vendor_time
from mockserver.machinery.errors import InvalidRequest
from mockserver.copernica import tables as copernica_tables


@dataclass
class Call:
    """What a handler gets: the store, the account acted for, and the SOAP call."""

    store: object
    account_id: int | None
    soap: object


# -- answers ----------------------------------------------------------------------------


def value(scalar) -> t.Result:
    """A scalar answer; booleans as 1/0."""
    if isinstance(scalar, bool):
        scalar = int(scalar)
    return t.Result(value=str(scalar))


def mapping(values: dict) -> t.Result:
    """A map answer."""
    return t.Result(map=pair_list(values))


def array(items) -> t.Result:
    """A list of scalars (``array {item[]}``)."""
    return t.Result(array=[str(i) for i in items])


def pair_list(values: dict):
    """A dict as a ``Map`` (``{pair: [{key, value}]}``)."""
    return t.Map(pair=[t.Pair(key=str(k), value="" if v is None else str(v))
                       for k, v in values.items()])


def entity(name: str, obj) -> t.Result:
    """One entity, or value 0 when the lookup found nothing."""
    return value(0) if obj is None else t.Result(**{name: obj})


def listing(name: str, page: profile_search.Page, full: bool = False) -> t.Result:
    """A list answer: ``start, length, total, items`` (and ``allproperties`` when the objects
    are filled in full)."""
    return t.Result(start=page.start, length=len(page.items), total=page.total,
                    allproperties=True if full else None,
                    items=t.Items(**{name: list(page.items)}))


def whole(items: list, p) -> profile_search.Page:
    """A page of an already complete list, by the call's ``start`` and ``length``."""
    start = max(0, getattr(p, "start", None) or 0)
    length = getattr(p, "length", None)
    chosen = items[start:] if length is None else items[start:start + max(0, length)]
    return profile_search.Page(start=start, total=len(items), items=chosen)


def distinct(found: list[dict], chosen: list[str], full: bool, convert) -> list:
    """The records of a distinct list as entities (``convert``: ``profile`` or
    ``subprofile``): in full, or with ``fields`` holding just the distinct fields."""
    out = []
    for record in found:
        item = convert(record, full)
        if not full:
            item.fields = pair_list({n: record["fields"].get(n, "") for n in chosen})
        out.append(item)
    return out


# -- entities -----------------------------------------------------------------------------


def database(call: Call, row: dict):
    """A database row as the vendor's ``Database``."""
    return t.model("Database")(
        id=row["id"], name=row["name"], description=row["description"],
        archived=bool(row["archived"]), created=vendor_time(row["created"]),
        unsubscribebehavior=row["unsubscribebehavior"],
        countprofiles=copernica_tables.count_profiles(call.store, row["id"]), lastbuilt="")


def collection(call: Call, row: dict):
    """A collection row as the vendor's ``Collection``."""
    return t.model("Collection")(
        id=row["id"], name=row["name"], weight=row["weight"], created=vendor_time(row["created"]),
        unsubscribebehavior=row["unsubscribebehavior"],
        countsubprofiles=copernica_tables.count_subprofiles(call.store, row["id"]), lastbuilt="")


def field(row: dict, kind: str = "Field"):
    """A field row as the vendor's ``Field`` (or ``CollectionField``)."""
    return t.model(kind)(
        id=row["id"], name=row["name"], big=row["type"] == "big", pixelwidth=row["pixelwidth"],
        weight=row["weight"],
        type=row["type"], value=row["value"],
        specialcontent=row["type"] if row["type"] in field_types.ONE_PER_DATABASE else "",
        ordered=bool(row["ordered"]), displayed=bool(row["displayed"]), indatatable=False,
        length=str(row["length"]), lines=str(row["textlines"]), hidden=bool(row["hidden"]),
        index=bool(row["indexed"]))


def interest(row: dict):
    """An interest row as the vendor's ``Interest``."""
    return t.model("Interest")(id=row["id"], name=row["name"], groupname=row["groupname"],
                               weight=row["weight"])


def profile(p: dict, full: bool = True):
    """A profile as the vendor's ``Profile``; ``fields`` and ``interests`` only when ``full``."""
    return t.model("Profile")(
        code=p["code"], extra=p["extra"], removed="", lastbuilt="",
        fields=pair_list(p["fields"]) if full else None,
        interests=pair_list(p["interests"]) if full else None,
        id=p["id"], created=p["created"], lastexport="")


def subprofile(s: dict, full: bool = True):
    """A subprofile as the vendor's ``SubProfile``; ``fields`` only when ``full``."""
    return t.model("SubProfile")(
        code=s["code"], removed="", lastbuilt="",
        fields=pair_list(s["fields"]) if full else None,
        id=s["id"], created=s["created"], lastexport="")


def user(call: Call, row: dict):
    """A user of the account as the vendor's ``User`` (the privilege members are false)."""
    u = users.user_record(call.store, row)
    return t.model("User")(
        id=u["id"], created=u["created"], end=u["end"], gender=u["gender"], name=u["name"],
        description=u["description"], email=u["email"], phone=u["phone"], sms=u["sms"],
        fax=u["fax"], applicationadmin=False, accountadmin=False, styleadmin=u["styleadmin"],
        dummy=False, apiaccess=u["apiaccess"], uiacess=False, disabled=u["disabled"],
        active=u["active"], receivenews=u["receivenews"], language=u["language"],
        timezone=u["timezone"], unsecure=u["unsecure"])


def account(a: dict):
    """An account (``accounts.account_record``) as the vendor's ``Account``."""
    return t.model("Account")(**{name: a[name] for name, _ in catalogue.types()["Account"]})


def contact_type(row: dict):
    """A contact type row as the vendor's ``ContactType``."""
    return t.model("ContactType")(id=row["id"], name=row["name"],
                                  description=row["description"], icon=row["icon"])


def contact(c: dict):
    """A contact (``contacts.contact_record``) as the vendor's ``Contact``."""
    data = t.model("ContactData")
    return t.model("Contact")(
        id=c["id"], plannedtime=c["plannedtime"], executedtime=c["executedtime"],
        remarks=data(**c["remarks"]), report=data(**c["report"]), important=c["important"],
        extra=c["extra"])


def callback(cb: dict):
    """A callback as the vendor's ``Callback``."""
    return t.model("Callback")(id=cb["id"], url=cb["url"], method=cb["method"],
                               expression=cb["expression"], actionfilter=cb["actionfilter"])


# -- parameters ---------------------------------------------------------------------------


def pairs(m) -> dict:
    """A ``Map`` parameter as a dict (absent -> empty); a later pair with the same key wins."""
    if m is None:
        return {}
    return {p.key: "" if p.value is None else p.value for p in (m.pair or [])
            if p is not None and p.key is not None}


def requirements(r) -> list[profile_search.Requirement]:
    """A ``Requirements`` parameter as the domain's requirements."""
    if r is None:
        return []
    return [profile_search.Requirement(fieldname=q.fieldname or "", value=q.value or "",
                                 operator=q.operator or "=",
                                 casesensitive=bool(q.casesensitive))
            for q in (r.requirement or []) if q is not None]


def strings(items) -> list[str]:
    """A ``string[]`` parameter as a list (absent -> empty)."""
    return [str(i) for i in (items or []) if i is not None]


def ids(items) -> list[int]:
    """A ``string[]`` of ids as numbers; an item that is no whole number is a fault."""
    out = []
    for item in strings(items):
        text = item.strip()
        if not text.lstrip("-").isdigit():
            raise InvalidRequest(f"Invalid id '{item}': expected a whole number.")
        out.append(int(text))
    return out


def reference(obj, what: str) -> int:
    """The ``id`` of a reference parameter such as ``collection: {id}``; a fault without one."""
    if obj is None or getattr(obj, "id", None) is None:
        raise InvalidRequest(f"No {what} given: {what} {{id}} is required.")
    return obj.id


def asc(p) -> bool:
    """The ``asc`` parameter; true when absent."""
    return True if p.asc is None else bool(p.asc)


def full(p) -> bool:
    """The ``allproperties`` parameter."""
    return bool(getattr(p, "allproperties", None))


def number(text, what: str, default: int) -> int:
    """A whole number sent as a string (a field's ``length``, ``textlines``); ``default`` when
    empty."""
    text = (text or "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise InvalidRequest(f"Invalid {what} '{text}': expected a whole number.")
    return int(text)


def field_changes(p) -> dict:
    """``Field_update`` / ``CollectionField_update`` parameters as the domain's changes (an
    absent member: kept)."""
    return {"name": p.name, "type": p.type, "value": p.value, "displayed": p.displayed,
            "ordered": p.ordered, "hidden": p.hidden, "index": p.index,
            "length": None if p.length is None else number(p.length, "length", 50),
            "textlines": None if p.lines is None else number(p.lines, "lines", 1),
            "pixelwidth": p.pixelwidth, "weight": p.weight}


def field_spec(p) -> fields.FieldSpec:
    """``Database_createField`` / ``Collection_createField`` parameters as a FieldSpec."""
    return fields.FieldSpec(name=p.name or "", type=p.type or "text", value=p.value or "",
                               displayed=bool(p.display), ordered=bool(p.ordered),
                               length=number(p.length, "length", 50),
                               textlines=number(p.textlines, "textlines", 1),
                               hidden=bool(p.hidden))


def contact_data(d) -> dict | None:
    """A ``ContactData`` parameter as ``{type, source}`` (absent members None), or None."""
    return None if d is None else {"type": d.type, "source": d.source}


def optional_reference(obj) -> int | None:
    """The ``id`` of an optional reference parameter (``user: {id}``), or None."""
    return None if obj is None else getattr(obj, "id", None)
