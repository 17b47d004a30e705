"""Copernica callback signing: the store's RSA key pair and the signed headers of a POST
(draft-cavage-http-signatures, rsa-sha256).
"""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import threading
import urllib.parse

from mockserver.store import Store

KEY_META = "callback_signing_key"
KEY_PATH = "_mock/callbacks/key.pem"
SIGNED_HEADERS = "(request-target) host date x-copernica-id digest"


_KEYS: dict[str, object] = {}
_KEYS_LOCK = threading.Lock()


def signing_key(store: Store):
    """The store's RSA private key (made once, kept in the meta table, shared by workers)."""
    pem = store.meta_get(KEY_META)
    if pem is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fresh = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode("ascii")
        with store.transaction():  # another worker may have been first: keep theirs
            if store.meta_get(KEY_META) is None:
                store.meta_set(KEY_META, fresh)
        pem = store.meta_get(KEY_META)
    with _KEYS_LOCK:
        key = _KEYS.get(pem)
        if key is None:
            from cryptography.hazmat.primitives import serialization
            key = _KEYS[pem] = serialization.load_pem_private_key(pem.encode("ascii"), None)
    return key


def public_key_pem(store: Store) -> bytes:
    """The public half of the signing key, PEM (SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization
    return signing_key(store).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_url(base_url: str) -> str:
    """The ``keyId`` of signatures: where the mock serves its public key."""
    return (base_url or "http://127.0.0.1/").rstrip("/") + "/" + KEY_PATH


def signed_headers(store: Store, url: str, body: bytes, account_id: int, base_url: str,
                   moment: dt.datetime) -> dict:
    """The headers of a signed callback POST: Host, Date, Digest, X-Copernica-ID, Signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = {
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "Date": email.utils.format_datetime(moment.astimezone(dt.timezone.utc), usegmt=True),
        "X-Copernica-ID": f"account_{account_id}",
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii"),
    }
    signing_string = "\n".join([
        f"(request-target): post {target}", f"host: {headers['Host']}",
        f"date: {headers['Date']}", f"x-copernica-id: {headers['X-Copernica-ID']}",
        f"digest: {headers['Digest']}"])
    signature = signing_key(store).sign(signing_string.encode("utf-8"), padding.PKCS1v15(),
                                        hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_url(base_url)}",algorithm="rsa-sha256",headers="{SIGNED_HEADERS}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"')
    return headers
