"""The wire's defences against hostile input: a bounded, un-gzipped request body, a
hardened parse (no DOCTYPE, no entities, no network), the fault text for an array with too
many items, and the heap a large request freed given back to the system."""
from __future__ import annotations

import ctypes
import functools
import threading
import zlib

from lxml import etree

from mockserver.soap.faults import WireError
from mockserver.soap.namespaces import SOAP11_ENV, SOAP12_ENV


_local = threading.local()


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
            huge_tree=False, remove_comments=True, remove_pis=True)
    return parser


def read_body(environ: dict, limit: int) -> bytes:
    """The request body, un-gzipped, refusing more than ``limit`` bytes."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        raise WireError("Content-Length is not a number.")
    if length > limit:
        raise WireError(f"Request body of {length} bytes exceeds the limit of {limit} bytes.")
    stream = environ["wsgi.input"]
    body = stream.read(length) if length >= 0 else stream.read(limit + 1)
    if len(body) > limit:
        raise WireError(f"Request body exceeds the limit of {limit} bytes.")
    encoding = (environ.get("HTTP_CONTENT_ENCODING") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32 if encoding != "deflate" else 15)
            body = inflater.decompress(body, limit + 1)
        except zlib.error as error:
            raise WireError(f"Request body is not valid {encoding}: {error}.")
        if len(body) > limit:
            raise WireError(f"Decompressed request body exceeds the limit of {limit} bytes.")
    elif encoding not in ("", "identity"):
        raise WireError(f"Unsupported Content-Encoding {encoding!r}.")
    return body


def parse_envelope(body: bytes) -> tuple[etree._Element, str]:
    """Parse a SOAP envelope; return it and its envelope namespace. Refuses any DOCTYPE."""
    if not body.strip():
        raise WireError("The request body is empty; expected a SOAP envelope.")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise WireError("DOCTYPE and entity declarations are not allowed.")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as error:
        raise WireError(f"Request is not well-formed XML: {error}")
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise WireError("DOCTYPE and entity declarations are not allowed.")
    ns = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or ns not in (SOAP11_ENV, SOAP12_ENV):
        raise WireError(f"The root element is {root.tag!r}; expected a SOAP 1.1 or 1.2 Envelope.")
    return root, ns


def _too_many(element: etree._Element, limit: int) -> str:
    """The fault text for an element with more than ``limit`` children, naming it and the
    child past the limit (an item of the array, or a repeat of an unwrapped one)."""
    past = element[limit]
    child = etree.QName(past).localname if isinstance(past.tag, str) else "?"
    return (f"'{etree.QName(element).localname}' holds {len(element)} child elements "
            f"('{child}'); at most {limit} items are accepted in one array (--max-items).")


TRIM_AFTER = 1024 * 1024  # a request body this large: give the freed heap back afterwards


def _trim() -> None:
    """Return the memory a large request freed to the system (glibc's ``malloc_trim``): its
    tree, objects and copies were many small blocks that glibc would otherwise keep, each
    thread's arena growing on its own."""
    trim = _libc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=None)
def _libc_trim():
    """glibc's ``malloc_trim``, or None on a system without it."""
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return None
