"""An independent implementation of the render token format (see
mod_consent/core/consent_token.h), so tests can make tokens the server would
never issue: a box rendered ticked, another key, a crafted age."""
import base64
import hashlib
import hmac
import os
import struct
import time


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# The harness's servers are named 127.0.0.1: their ConsentSite.
HARNESS_SITE = "127.0.0.1"


def master_bytes(path):
    with open(path, "rb") as f:
        return f.read().rstrip(b"\r\n")


PAGES = {"form": 1, "withdraw": 2, "guard": 3}
def site_key(master, site):
    """HKDF-SHA256 (RFC 5869) of a master secret for a site, as
    mod_consent/core/consent_tenant.h derives it."""
    prk = hmac.new(b"mod_consent site key v1", master, hashlib.sha256)
    return hmac.new(prk.digest(), site.encode() + b"\x01",
                    hashlib.sha256).digest()


def key_bytes(path, site=HARNESS_SITE):
    """The key that signs tokens at site, derived from the master secret
    file at path (tokens are signed with the site's key, never the
    master)."""
    return site_key(master_bytes(path), site)


def decode(token):
    raw = unb64url(token[3:])
    payload = raw[:-32]
    fixed = struct.unpack(">B8sQ16sI32s", payload[:69])
    rest = payload[69:]
    page = None
    if fixed[0] == 2:
        page = {v: k for k, v in PAGES.items()}[rest[0]]
        rest = rest[1:]
    strings = []
    for _ in range(3):
        n = rest[0]
        strings.append(rest[1:1 + n].decode())
        rest = rest[1 + n:]
    return {"key_id": fixed[1], "issued": fixed[2], "nonce": fixed[3],
            "form_version": fixed[4], "notice": fixed[5],
            "form_id": strings[0], "lang": strings[1],
            "defaults": strings[2], "page": page}


def make(key, form_id, form_version, notice, lang, defaults,
         issued=None, nonce=None, page="form"):
    """A token of version 2 naming page, or of version 1 (no page kind,
    as issued before it) when page is None."""
    key_id = hashlib.sha256(key).digest()[:8]
    issued = int(time.time() * 1e6) if issued is None else issued
    nonce = nonce or os.urandom(16)
    payload = struct.pack(">B8sQ16sI32s", 1 if page is None else 2, key_id,
                          issued, nonce, form_version, notice)
    if page is not None:
        payload += bytes([PAGES[page]])
    for s in (form_id, lang, defaults):
        s = s.encode()
        payload += bytes([len(s)]) + s
    mac = hmac.new(key, b"c1." + payload, hashlib.sha256).digest()
    return "c1." + b64url(payload + mac)


def reissue(token, key, **changes):
    """The facts of a real token, changed, signed with key."""
    f = decode(token)
    f.update(changes)
    return make(key, f["form_id"], f["form_version"], f["notice"],
                f["lang"], f["defaults"], f["issued"], f["nonce"], f["page"])
