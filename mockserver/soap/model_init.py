"""A plain ``__init__`` for the spyne models the operations build their answers from.

spyne's ``ComplexModelBase.__init__`` asks, for every member of every object, about
read-only properties, defaults, default factories and SQLAlchemy mappings before it sets the
member to None, then sets each keyword through ``_safe_set``: about 20 µs per object, and a
getSubscribers answer of one subscriber with eight fields builds ten. For a class where none
of that applies (no member with a default, a factory, a read-only flag or a class attribute
of its own name; no XML tag body; not a customised class), the outcome is the same as
setting every member to None and then the known keywords to their values, which is what
``plain_init`` installs. Any other class, or a subclass of one, keeps spyne's.
"""
from __future__ import annotations

from spyne.model.complex import ComplexModelBase

_SPYNE_INIT = ComplexModelBase.__init__


def plain_init(cls) -> bool:
    """Give ``cls`` the plain ``__init__`` where it gives the same object as spyne's; True
    when it did."""
    if "__init__" in cls.__dict__ or cls.__orig__ is not None or \
            cls.Attributes._xml_tag_body_as is not None or hasattr(cls, "_sa_class_manager"):
        return False
    members = cls.get_flat_type_info(cls)
    for key, member in members.items():
        attrs = member.Attributes
        if attrs.default is not None or attrs.default_factory is not None or \
                getattr(attrs, "read_only", False) or getattr(cls, key, None) is not None:
            return False
    empty = dict.fromkeys(members)
    known = frozenset(members)

    def __init__(self, *args, **kwargs):
        if args or type(self) is not cls:
            _SPYNE_INIT(self, *args, **kwargs)
            return
        values = self.__dict__
        values.update(empty)
        for key, value in kwargs.items():
            if key in known:
                values[key] = value

    __init__.__doc__ = f"A {cls.__name__} with the given members, the others None."
    cls.__init__ = __init__
    return True


def plain_inits(models) -> int:
    """``plain_init`` for every ComplexModel class in the type trees of ``models`` (message
    classes: their members, arrays' items and the originals of customised classes); how
    many it changed."""
    seen: set = set()
    pending = list(models)
    while pending:
        cls = pending.pop()
        if not (isinstance(cls, type) and issubclass(cls, ComplexModelBase)) or cls in seen:
            continue
        seen.add(cls)
        if cls.__orig__ is not None:
            pending.append(cls.__orig__)
        if getattr(cls, "__extends__", None) is not None:
            pending.append(cls.__extends__)
        pending.extend(cls._type_info.values())
    return sum(plain_init(cls) for cls in seen)
