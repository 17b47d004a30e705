"""Spyne types of the Copernica SOAP API (element and type names are part of the contract)."""
from spyne.model.complex import Array, ComplexModel
from spyne.model.primitive import Boolean, Integer32, Unicode

TNS = "http://soap.copernica.com/"

Int = Integer32  # xs:int, never xs:integer


def required(model, **kwargs):
    """An element that must be present and is not nillable."""
    return model.customize(min_occurs=1, nillable=False, **kwargs)


def optional(model, **kwargs):
    """An element that may be absent and is not nillable."""
    return model.customize(min_occurs=0, nillable=False, **kwargs)


def repeated(model):
    """An element that may occur any number of times (no wrapper)."""
    return model.customize(min_occurs=0, max_occurs="unbounded", nillable=False)


class Pair(ComplexModel):
    """One entry of a map: ``{key, value}``."""

    __namespace__ = TNS
    _type_info = [("key", required(Unicode)), ("value", optional(Unicode))]


class Map(ComplexModel):
    """An associative array: a sequence of ``pair``."""

    __namespace__ = TNS
    _type_info = [("pair", repeated(Pair))]


class Requirement(ComplexModel):
    """A search condition ``{fieldname, value, operator, casesensitive}``."""

    __namespace__ = TNS
    _type_info = [
        ("fieldname", required(Unicode)),
        ("value", optional(Unicode)),
        ("operator", optional(Unicode)),
        ("casesensitive", optional(Boolean)),
    ]


class Requirements(ComplexModel):
    """A sequence of ``requirement``."""

    __namespace__ = TNS
    _type_info = [("requirement", repeated(Requirement))]


class Reference(ComplexModel):
    """A reference to another object: ``{id}``."""

    __namespace__ = TNS
    _type_info = [("id", required(Int))]


class Caller(ComplexModel):
    """Who makes a change (accepted, not used): ``{followups, caller, identity}``."""

    __namespace__ = TNS
    _type_info = [("followups", optional(Boolean)), ("caller", optional(Unicode)),
                  ("identity", optional(Unicode))]


class Login(ComplexModel):
    """Login data some methods accept (deprecated by the vendor; not used by the mock)."""

    __namespace__ = TNS
    _type_info = [("username", optional(Unicode)), ("account", optional(Unicode)),
                  ("password", optional(Unicode))]


IdArray = optional(Array(optional(Int), member_name="item"))


class StringArray(ComplexModel):
    """A list of scalars: a sequence of ``item``."""

    __namespace__ = TNS
    __type_name__ = "Array"
    _type_info = [("item", repeated(Unicode))]


class Database(ComplexModel):
    """A database."""

    __namespace__ = TNS
    _type_info = [
        ("id", required(Int)), ("name", required(Unicode)), ("description", optional(Unicode)),
        ("archived", optional(Boolean)), ("created", optional(Unicode)),
        ("unsubscribebehavior", optional(Unicode)), ("countprofiles", optional(Int)),
    ]


class Collection(ComplexModel):
    """A collection of a database."""

    __namespace__ = TNS
    _type_info = [
        ("id", required(Int)), ("name", required(Unicode)), ("database", optional(Int)),
        ("weight", optional(Int)), ("created", optional(Unicode)),
        ("unsubscribebehavior", optional(Unicode)), ("countsubprofiles", optional(Int)),
    ]


_FIELD_MEMBERS = [
    ("id", required(Int)), ("name", required(Unicode)), ("type", optional(Unicode)),
    ("value", optional(Unicode)), ("displayed", optional(Boolean)),
    ("ordered", optional(Boolean)), ("length", optional(Int)), ("lines", optional(Int)),
    ("hidden", optional(Boolean)), ("index", optional(Boolean)), ("big", optional(Boolean)),
    ("specialcontent", optional(Unicode)), ("weight", optional(Int)),
]


class Field(ComplexModel):
    """A database field."""

    __namespace__ = TNS
    _type_info = list(_FIELD_MEMBERS)


class CollectionField(ComplexModel):
    """A collection field."""

    __namespace__ = TNS
    _type_info = list(_FIELD_MEMBERS)


class Interest(ComplexModel):
    """An interest of a database."""

    __namespace__ = TNS
    _type_info = [("id", required(Int)), ("name", required(Unicode)),
                  ("groupname", optional(Unicode)), ("weight", optional(Int))]


class Profile(ComplexModel):
    """A profile; ``fields`` and ``interests`` only with ``allproperties``."""

    __namespace__ = TNS
    _type_info = [
        ("id", required(Int)), ("code", optional(Unicode)), ("extra", optional(Unicode)),
        ("database", optional(Int)), ("created", optional(Unicode)),
        ("modified", optional(Unicode)), ("lastexport", optional(Unicode)),
        ("fields", optional(Map)), ("interests", optional(Map)),
    ]


class Subprofile(ComplexModel):
    """A subprofile; ``fields`` only with ``allproperties``."""

    __namespace__ = TNS
    _type_info = [
        ("id", required(Int)), ("code", optional(Unicode)), ("profile", optional(Int)),
        ("collection", optional(Int)), ("created", optional(Unicode)),
        ("modified", optional(Unicode)), ("lastexport", optional(Unicode)),
        ("fields", optional(Map)),
    ]


class Callback(ComplexModel):
    """A callback of a database or collection."""

    __namespace__ = TNS
    _type_info = [
        ("id", required(Int)), ("url", required(Unicode)), ("method", optional(Unicode)),
        ("expression", optional(Unicode)), ("actionfilter", optional(Unicode)),
        ("api_disabled", optional(Boolean)), ("database", optional(Int)),
        ("collection", optional(Int)), ("created", optional(Unicode)),
    ]


# entity name on the wire -> its type
ENTITIES = {"database": Database, "collection": Collection, "profile": Profile,
            "subprofile": Subprofile, "field": Field, "collectionfield": CollectionField,
            "interest": Interest, "callback": Callback}


class Items(ComplexModel):
    """The entities of a list, each under its entity name."""

    __namespace__ = TNS
    _type_info = [(name, repeated(model)) for name, model in ENTITIES.items()]


class Result(ComplexModel):
    """What every method answers: one member set per call."""

    __namespace__ = TNS
    _type_info = [
        ("value", optional(Unicode)),
        ("array", optional(StringArray)),
        ("map", optional(Map)),
        *[(name, optional(model)) for name, model in ENTITIES.items()],
        ("start", optional(Int)), ("length", optional(Int)), ("total", optional(Int)),
        ("items", optional(Items)),
    ]
