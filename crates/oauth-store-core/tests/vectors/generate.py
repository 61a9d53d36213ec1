#!/usr/bin/env python3
"""A second, independent implementation of the oauth-store envelope (docs/FORMAT.md).

It writes the Python half of the test vectors and checks every vector listed in
manifest.json -- including the ones the Rust crate wrote -- by opening it with this code,
which shares nothing with the Rust implementation but the format document.

Usage (from this directory or anywhere):

    pip install cryptography argon2-cffi
    python3 generate.py [--check]         # verify every vector (Python- and Rust-written)
    python3 generate.py --write           # write missing Python vectors, then verify all
    python3 generate.py --write --fresh   # rewrite every Python vector, then verify all

The Rust-written vectors are rewritten by
`OAUTH_STORE_WRITE_VECTORS=1 cargo test -p oauth-store-core --test envelope_vectors`.
Rewriting picks fresh random salts and nonces, so rewritten files differ from the committed
ones while decrypting to the same plaintexts; the known answers (fixed salt and nonce) do not
change.
"""

import base64
import binascii
import json
import os
import struct
import sys
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = Path(__file__).resolve().parent

V1_INFO = b"harn-oauth-storage-v1"
V2_DATA_KEY_INFO = b"oauth-store v2 data key"
V2_KEY_ID_INFO = b"oauth-store v2 key id"
V2_AAD_LABEL = b"oauth-store envelope v2"
ARGON2_BOUNDS = {"m_kib_max": 262144, "t": (1, 16), "p": (1, 16)}

V1_FIELDS = ["version", "nonce", "ciphertext"]
V2_FIELDS = ["version", "alg", "kdf", "kid", "salt", "nonce", "ciphertext"]


class EnvelopeError(Exception):
    """An envelope that does not open; `name` matches the Rust error (FormatError variant or WrongKey)."""

    def __init__(self, name, detail=""):
        super().__init__(f"{name}: {detail}")
        self.name = name


# --- primitives -------------------------------------------------------------------------------


def hkdf(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def key_id(ikm):
    return hkdf(ikm, None, V2_KEY_ID_INFO, 8)


def argon2id(passphrase, salt, m_kib, t, p):
    return hash_secret_raw(
        secret=passphrase.encode("utf-8"),
        salt=salt,
        time_cost=t,
        memory_cost=m_kib,
        parallelism=p,
        hash_len=32,
        type=Type.ID,
        version=19,
    )


def b64encode(data):
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text, field):
    """Strict: standard alphabet, no padding, no whitespace, zero trailing bits."""
    if not isinstance(text, str):
        raise EnvelopeError("WrongType", field)
    if len(text) % 4 == 1 or any(c not in
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                                 for c in text):
        raise EnvelopeError("BadBase64", field)
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as e:
        raise EnvelopeError("BadBase64", field) from e
    if b64encode(data) != text:
        raise EnvelopeError("BadBase64", field)  # non-zero trailing bits
    return data


def lp(item):
    return struct.pack(">Q", len(item)) + item


def v2_aad(kdf, salt, kid, context):
    if kdf["name"] == "argon2id":
        params = struct.pack(">III", kdf["m_kib"], kdf["t"], kdf["p"])
    else:
        params = b""
    return b"".join(
        lp(x)
        for x in [
            V2_AAD_LABEL,
            struct.pack(">I", 2),
            b"A256GCM",
            kdf["name"].encode("ascii"),
            params,
            salt,
            kid,
            context,
        ]
    )


def material(key):
    """(kind, bytes-or-str, params) of a manifest key."""
    if "secret_utf8" in key:
        return "secret", key["secret_utf8"].encode("utf-8"), None
    if "secret_hex" in key:
        return "secret", bytes.fromhex(key["secret_hex"]), None
    return "passphrase", key["passphrase"], (key["m_kib"], key["t"], key["p"])


# --- writing ----------------------------------------------------------------------------------


def seal_v1(key, plaintext, nonce=None):
    kind, ikm, _ = material(key)
    if kind == "passphrase":
        ikm = ikm.encode("utf-8")
    data_key = hkdf(ikm, None, V1_INFO, 32)
    nonce = nonce or os.urandom(12)
    ct = AESGCM(data_key).encrypt(nonce, plaintext, V1_INFO)
    return f'{{"version":1,"nonce":"{b64encode(nonce)}","ciphertext":"{b64encode(ct)}"}}'.encode()


def seal_v2(key, plaintext, context, salt=None, nonce=None):
    kind, secret, params = material(key)
    salt = salt or os.urandom(16)
    if kind == "secret":
        kdf = {"name": "hkdf-sha256"}
        kdf_json = '{"name":"hkdf-sha256"}'
        ikm = secret
    else:
        m, t, p = params
        kdf = {"name": "argon2id", "m_kib": m, "t": t, "p": p}
        kdf_json = f'{{"name":"argon2id","m_kib":{m},"t":{t},"p":{p}}}'
        ikm = argon2id(secret, salt, m, t, p)
    kid = key_id(ikm)
    data_key = hkdf(ikm, salt, V2_DATA_KEY_INFO, 32)
    nonce = nonce or os.urandom(12)
    ct = AESGCM(data_key).encrypt(nonce, plaintext, v2_aad(kdf, salt, kid, context))
    return (
        f'{{"version":2,"alg":"A256GCM","kdf":{kdf_json},"kid":"{kid.hex()}",'
        f'"salt":"{b64encode(salt)}","nonce":"{b64encode(nonce)}","ciphertext":"{b64encode(ct)}"}}'
    ).encode()


def derive_bad(name, source):
    """A malformed vector made from a good one."""
    text = source.decode()
    doc = json.loads(text)
    if name == "v2-tampered-ciphertext.python.json":
        ct = bytearray(b64decode(doc["ciphertext"], "ciphertext"))
        ct[0] ^= 0x01
        return text.replace(doc["ciphertext"], b64encode(bytes(ct))).encode()
    if name == "v2-unknown-version.python.json":
        return text.replace('"version":2', '"version":3', 1).encode()
    if name == "v1-padded-base64.python.json":
        padded = base64.b64encode(b64decode(doc["ciphertext"], "ciphertext")).decode()
        assert padded.endswith("="), "pick a plaintext whose ciphertext needs padding"
        return text.replace(doc["ciphertext"], padded).encode()
    if name == "v2-duplicate-ciphertext.python.json":
        return text.replace('"ciphertext":', '"ciphertext":"AAAAAAAAAAAAAAAAAAAAAA","ciphertext":', 1).encode()
    if name == "v2-argon2-huge-memory.python.json":
        return text.replace('"m_kib":64', '"m_kib":4194304', 1).encode()
    if name == "v2-truncated.python.json":
        return source[: len(source) // 2]
    if name == "v2-unknown-field.python.json":
        return text.replace('"nonce":', '"iv":"AAAAAAAAAAAAAAAA","nonce":', 1).encode()
    if name == "v2-unknown-alg.python.json":
        return text.replace('"alg":"A256GCM"', '"alg":"A128GCM"', 1).encode()
    if name == "v2-unknown-kdf.python.json":
        return text.replace('{"name":"hkdf-sha256"}', '{"name":"scrypt"}', 1).encode()
    if name == "v2-uppercase-kid.python.json":
        return text.replace(doc["kid"], doc["kid"].upper(), 1).encode()
    if name == "v2-short-nonce.python.json":
        return text.replace(doc["nonce"], b64encode(bytes(8)), 1).encode()
    if name == "v2-long-salt.python.json":
        return text.replace(doc["salt"], b64encode(bytes(17)), 1).encode()
    if name == "v2-short-ciphertext.python.json":
        return text.replace(doc["ciphertext"], b64encode(bytes(15)), 1).encode()
    if name == "v2-changed-argon2-passes.python.json":
        return text.replace('"t":1', '"t":2', 1).encode()
    raise SystemExit(f"no rule to derive {name}")


def known_answer(case):
    """The envelope for a known-answer case: fixed salt and nonce instead of random ones."""
    plaintext = case["plaintext_utf8"].encode("utf-8")
    nonce = bytes.fromhex(case["nonce_hex"])
    if case["version"] == 1:
        return seal_v1(case["key"], plaintext, nonce)
    salt = bytes.fromhex(case["salt_hex"])
    return seal_v2(case["key"], plaintext, case["context_utf8"].encode("utf-8"), salt, nonce)


def write(manifest, fresh):
    """Writes the Python vectors that do not exist yet (all of them if `fresh`)."""
    good = [v for v in manifest["vectors"] if v["writer"] == "python" and "expect_error" not in v]
    bad = [v for v in manifest["vectors"] if v["writer"] == "python" and "derived_from" in v]
    if not fresh:
        good = [v for v in good if not (HERE / v["file"]).exists()]
        bad = [v for v in bad if not (HERE / v["file"]).exists()]
    for v in good:
        plaintext = v["plaintext_utf8"].encode("utf-8")
        if v["version"] == 1:
            sealed = seal_v1(v["key"], plaintext)
        else:
            sealed = seal_v2(v["key"], plaintext, v["context_utf8"].encode("utf-8"))
        (HERE / v["file"]).write_bytes(sealed)
        print(f"wrote {v['file']}")
    for v in bad:
        (HERE / v["file"]).write_bytes(derive_bad(v["file"], (HERE / v["derived_from"]).read_bytes()))
        print(f"wrote {v['file']}")
    for case in manifest["known_answers"]:
        case["envelope"] = known_answer(case).decode()
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (HERE / "manifest.json").write_text(text, encoding="utf-8")
    print("wrote the known answers into manifest.json")


# --- reading ----------------------------------------------------------------------------------


def no_duplicates(pairs):
    seen = set()
    for name, _ in pairs:
        if name in seen:
            raise EnvelopeError("DuplicateField", name)
        seen.add(name)
    return dict(pairs)


def integer(doc, field):
    value = doc.get(field)
    if value is None and field not in doc:
        raise EnvelopeError("MissingField", field)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EnvelopeError("WrongType", field)
    return value


def field(doc, name):
    if name not in doc:
        raise EnvelopeError("MissingField", name)
    return doc[name]


def open_envelope(sealed, key, context):
    try:
        doc = json.loads(sealed.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EnvelopeError("NotJson", str(e)) from e
    if not isinstance(doc, dict):
        raise EnvelopeError("NotAnObject")
    if len(doc) > 32:
        raise EnvelopeError("TooManyMembers")
    version = integer(doc, "version")
    if version not in (1, 2):
        raise EnvelopeError("UnknownVersion", str(version))
    allowed = V1_FIELDS if version == 1 else V2_FIELDS
    for name in doc:
        if name not in allowed:
            raise EnvelopeError("UnknownField", name)
    kind, secret, _ = material(key)

    if version == 1:
        if context:
            raise EnvelopeError("ContextNotSupported")
        nonce = b64decode(field(doc, "nonce"), "nonce")
        if len(nonce) != 12:
            raise EnvelopeError("NonceLength")
        ct = b64decode(field(doc, "ciphertext"), "ciphertext")
        if len(ct) < 16:
            raise EnvelopeError("CiphertextTooShort")
        ikm = secret.encode("utf-8") if kind == "passphrase" else secret
        try:
            return AESGCM(hkdf(ikm, None, V1_INFO, 32)).decrypt(nonce, ct, V1_INFO)
        except InvalidTag as e:
            raise EnvelopeError("WrongKey", "v1 cannot tell a wrong key from tampering") from e

    if field(doc, "alg") != "A256GCM":
        raise EnvelopeError("UnknownAlgorithm")
    kdf = field(doc, "kdf")
    if not isinstance(kdf, dict):
        raise EnvelopeError("NotAnObject", "kdf")
    if len(kdf) > 32:
        raise EnvelopeError("TooManyMembers", "kdf")
    name = field(kdf, "name")
    if name == "hkdf-sha256":
        kdf_fields = ["name"]
    elif name == "argon2id":
        kdf_fields = ["name", "m_kib", "t", "p"]
    else:
        raise EnvelopeError("UnknownKdf", str(name))
    for member in kdf:
        if member not in kdf_fields:
            raise EnvelopeError("UnknownField", "kdf." + member)
    if name == "argon2id":
        m, t, p = (integer(kdf, x) for x in ("m_kib", "t", "p"))
        lo_t, hi_t = ARGON2_BOUNDS["t"]
        lo_p, hi_p = ARGON2_BOUNDS["p"]
        if not (lo_p <= p <= hi_p and lo_t <= t <= hi_t and 8 * p <= m <= ARGON2_BOUNDS["m_kib_max"]):
            raise EnvelopeError("KdfParamsOutOfBounds", f"m_kib={m} t={t} p={p}")
    kid_text = field(doc, "kid")
    if not isinstance(kid_text, str) or len(kid_text) != 16 or any(c not in "0123456789abcdef" for c in kid_text):
        raise EnvelopeError("BadKeyId")
    kid = bytes.fromhex(kid_text)
    salt = b64decode(field(doc, "salt"), "salt")
    if len(salt) != 16:
        raise EnvelopeError("SaltLength")
    nonce = b64decode(field(doc, "nonce"), "nonce")
    if len(nonce) != 12:
        raise EnvelopeError("NonceLength")
    ct = b64decode(field(doc, "ciphertext"), "ciphertext")
    if len(ct) < 16:
        raise EnvelopeError("CiphertextTooShort")

    if name == "hkdf-sha256" and kind == "secret":
        ikm = secret
    elif name == "argon2id" and kind == "passphrase":
        ikm = argon2id(secret, salt, m, t, p)
    else:
        raise EnvelopeError("WrongKey", "the key's kind does not match the envelope's KDF")
    if key_id(ikm) != kid:
        raise EnvelopeError("WrongKey", f"no key has key id {kid_text}")
    data_key = hkdf(ikm, salt, V2_DATA_KEY_INFO, 32)
    try:
        return AESGCM(data_key).decrypt(nonce, ct, v2_aad(kdf, salt, kid, context))
    except InvalidTag as e:
        raise EnvelopeError("AuthenticationFailed") from e


def verify(manifest):
    failures = 0
    for v in manifest["vectors"]:
        path = HERE / v["file"]
        label = f"{v['file']} ({v['writer']}-written)"
        if not path.exists():
            print(f"MISSING {label}")
            failures += 1
            continue
        context = v["context_utf8"].encode("utf-8")
        try:
            plaintext = open_envelope(path.read_bytes(), v["key"], context)
            outcome = ("ok", plaintext)
        except EnvelopeError as e:
            outcome = ("error", e.name)
        if "expect_error" in v:
            expected = ("error", v["expect_error"])
        else:
            expected = ("ok", v["plaintext_utf8"].encode("utf-8"))
        if outcome == expected:
            print(f"ok      {label}: {'opens' if expected[0] == 'ok' else 'fails with ' + expected[1]}")
        else:
            print(f"FAILED  {label}: expected {expected}, got {outcome}")
            failures += 1
    for case in manifest["known_answers"]:
        # Sealing with the fixed salt and nonce gives exactly the recorded bytes (the Rust
        # crate checks the same bytes), and the recorded bytes open.
        sealed = known_answer(case)
        opened = open_envelope(case["envelope"].encode(), case["key"], case["context_utf8"].encode("utf-8"))
        if sealed.decode() == case["envelope"] and opened == case["plaintext_utf8"].encode("utf-8"):
            print(f"ok      known answer {case['name']}")
        else:
            print(f"FAILED  known answer {case['name']}: sealed {sealed.decode()}")
            failures += 1
    return failures


def main():
    args = sys.argv[1:]
    unknown = [a for a in args if a not in ("--check", "--write", "--fresh")]
    if unknown or ("--check" in args and "--write" in args) or ("--fresh" in args and "--write" not in args):
        raise SystemExit(f"usage: generate.py [--check | --write [--fresh]] (got {args})")
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    if "--write" in args:
        write(manifest, fresh="--fresh" in args)
    failures = verify(manifest)
    if failures:
        raise SystemExit(f"{failures} vector(s) failed")
    print(f"all {len(manifest['vectors'])} vectors and {len(manifest['known_answers'])} known answers verified")


if __name__ == "__main__":
    main()
