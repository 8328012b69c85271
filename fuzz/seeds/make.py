#!/usr/bin/env python3
"""Writes the binary seeds of fuzz/seeds/ that need an encoder: the postcard plaintexts
of sealed records (sealed_record) and of a backup bundle's body (bundle_reader), by
hand from docs/FORMAT.md (sections 4.3, 9.3, 10.2, 10.3). tests/hostile.rs checks that
every seed still decodes, so a format change that forgets them fails there.

    python3 fuzz/seeds/make.py      # from the repository root
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def i64(n):
    return varint(((n << 1) ^ (n >> 63)) & (2**64 - 1))


def string(s):
    b = s.encode()
    return varint(len(b)) + b


def option(v, enc):
    return b"\x00" if v is None else b"\x01" + enc(v)


def vec(items, enc):
    return varint(len(items)) + b"".join(enc(i) for i in items)


def boolean(b):
    return b"\x01" if b else b"\x00"


def meta(name, provider, env, var, masked, field_names=(), tags=("billing",)):
    return b"".join([
        string(name), string(provider), string(env), string(var),
        option("https://api.example/v1", string), option("m-1", string), option("paid", string),
        vec(list(tags), string), string("team key, rotated \"quarterly\""),
        boolean(True), boolean(True),
        option("2031-01-31", string), option(90, varint), option(1_790_000_000, i64),
        i64(1_780_000_000), i64(1_790_000_500), option(1_790_000_900, i64), varint(42),
        option("401 from the provider", string), varint(1),
        string(masked), vec(list(field_names), string), varint(2), string("cli"),
        vec(list(range(32)), lambda b: bytes([b])), option(1_790_001_000, i64),
    ])


def secret(value, fields=()):
    return string(value) + vec(list(fields), lambda kv: string(kv[0]) + string(kv[1]))


def version_info(n, status, masked):
    return b"".join([
        varint(n), varint(status), string(masked), i64(1_780_000_000),
        option(1_785_000_000, i64), option(1_785_604_800, i64),
        option(None if status != 2 else 1_786_000_000, i64), string("cli"), string("scheduled"),
    ])


def audit_event(seq, action, entry, entry_id, detail):
    return b"".join([
        varint(seq), i64(1_790_000_000 + seq), varint(action), option(entry, string),
        option(entry_id, lambda b: b), varint(0), string(detail),
    ])


SCHEMA = b"\x01"
ID = bytes(range(16))
OPENAI = "sk-proj-FUZZseed0123456789abcdefghij"
AWS = ("wJalrXUtnFEMI/K7MDENG/bPxRfiFUZZseed0001", "AKIAIOSFODNN7EXAMPLE", "eu-west-1")
OPENAI_META = meta("openai-prod", "openai", "prod", "OPENAI_API_KEY", "sk-p…ghij")
AWS_META = meta("aws-prod", "aws", "prod", "AWS_SECRET_ACCESS_KEY", "…0001",
                field_names=("access_key_id", "region"), tags=())
AWS_SECRET = secret(AWS[0], [("access_key_id", AWS[1]), ("region", AWS[2])])


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# sealed_record: first byte = the kind (0 meta, 1 secret, 2 version, 3 audit, 4 head),
# high bit clear (a plaintext to seal); then the plaintext, schema byte first.
write("sealed_record", "meta", b"\x00" + SCHEMA + OPENAI_META)
write("sealed_record", "meta-aws", b"\x00" + SCHEMA + AWS_META)
write("sealed_record", "secret", b"\x01" + SCHEMA + secret(OPENAI))
write("sealed_record", "secret-aws", b"\x01" + SCHEMA + AWS_SECRET)
write("sealed_record", "version-retired", b"\x02" + SCHEMA + version_info(1, 1, "sk-p…0000")
      + vec(list(range(32)), lambda b: bytes([b])) + option(OPENAI, secret))
write("sealed_record", "version-revoked", b"\x02" + SCHEMA + version_info(2, 2, "sk-p…1111")
      + vec([], lambda b: b) + option(None, secret))
write("sealed_record", "audit", b"\x03" + SCHEMA
      + audit_event(7, 9, "openai-prod", ID, "scheduled") + bytes(range(32)))
write("sealed_record", "audit-head", b"\x04" + SCHEMA + varint(7) + bytes(range(32)))

# bundle_reader: first byte odd = a bundle body to seal (schema byte first).
body = b"".join([
    i64(1_790_002_000),
    vec([
        (ID, OPENAI_META, secret(OPENAI), [(version_info(1, 1, "sk-p…0000"), OPENAI + "old")]),
        (bytes(16), AWS_META, AWS_SECRET, [(version_info(1, 2, "…9999"), None)]),
    ], lambda e: e[0] + e[1] + e[2]
        + vec(e[3], lambda v: v[0] + option(v[1], secret))),
    vec([audit_event(1, 0, "openai-prod", ID, ""), audit_event(2, 14, None, None, "2 entries")],
        lambda e: e),
])
write("bundle_reader", "body", b"\x01" + SCHEMA + body)
