#!/usr/bin/python3
"""Independent reference implementation of cassette's encrypted object format.

Written from docs/FORMAT.md ("Encrypted objects"), not from the C code, so it
can catch a C implementation that drifted from the specification. It uses the
`cryptography` package (Debian: python3-cryptography), and for objects with
compressed segments `zstandard` (Debian: python3-zstandard).

Commands:
  ref_cassette.py gen-vectors OUTFILE
      Write the known-answer vectors (deterministic: same output every run).
  ref_cassette.py check-vectors FILE
      Re-derive every vector in FILE and decrypt its object; exit 1 on mismatch.
  ref_cassette.py enc KEYFILE FQDN KEYSPACE TABLE FILE IN OUT [SEGMENT_SIZE]
  ref_cassette.py dec KEYFILE FQDN KEYSPACE TABLE FILE IN OUT
      Encrypt / decrypt a file. dec exits 2 (message on stderr) when the object
      does not authenticate, and writes OUT only on success. dec reads both
      forms (flagless, and with segment kinds); enc writes segment kinds when
      $REF_COMPRESS is auto or zstd, and with $REF_COMPRESS=bomb a first
      segment whose zstd frame declares (and holds) twice the segment size.
      dec prints each segment's kind (r raw, z zstd) on stderr when
      $REF_KINDS is set.
  ref_cassette.py gen-vectors-zstd OUTFILE
  ref_cassette.py check-vectors-zstd FILE
      The same for the vectors of objects with segment kinds: the check
      decrypts each stored object (a zstd library may compress differently,
      so the object is not re-created) and compares plaintext and kinds.
  ref_cassette.py unwrap KEYRING WRAPFILE OUTKEYFILE
      Unwrap a data key ("Wrapped data keys": the JSON wrap object) with the
      keyring's key of the wrap's master key id; write it as a key file (one
      base64 line). Exit 2 when it does not authenticate.
  ref_cassette.py auth-vector
      Print the meta MAC test vector of docs/FORMAT.md ("auth.json").
  ref_cassette.py verify-auth KEYFILE FQDN BACKUP METADIR
      Check METADIR/auth.json (a backup's meta/ folder, as the local storage
      backend keeps it): its fields, its MAC, and the SHA-256 of every meta
      object it lists; every known meta object in METADIR must be listed.
      Exits 0 when it authenticates, 2 (message on stderr) when not.
"""
import json

import base64
import hashlib
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"CSTE"
VERSION = 1
SUITE = 1
HEADER_LEN = 64
TAG_LEN = 16
MIN_SEGMENT = 16
MAX_SEGMENT = 1 << 30
DEFAULT_SEGMENT = 1 << 20
MAX_SEGMENTS = 1 << 32


FLAG_KINDS = 0x01          # header byte 6: segments carry a kind and a length
KIND_RAW, KIND_ZSTD = 0, 1
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class FormatError(Exception):
    """Raised with a class name: invalid, unsupported, auth or integrity."""

    def __init__(self, kind, msg):
        super().__init__(f"{kind}: {msg}")
        self.kind = kind


def hkdf(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt,
                info=info).derive(ikm)


def key_id(master):
    return hkdf(master, b"", b"cassette v1 key id", 8)


def u32(n):
    return struct.pack(">I", n)


def object_info(identity):
    info = b"cassette v1 object key" + b"\x00"
    for field in identity:          # fqdn, keyspace, table, file
        raw = field.encode("utf-8")
        if not raw:
            raise ValueError("identity fields must not be empty")
        info += u32(len(raw)) + raw
    if len(info) > 1024:
        raise ValueError("identity too long")
    return info


def object_key(master, salt, identity):
    return hkdf(master, salt, object_info(identity), 32)


def make_header(segment_size, kid, salt, prefix, flags=0):
    hdr = (MAGIC + bytes([VERSION, SUITE, flags, 0]) + u32(segment_size)
           + kid + salt + prefix + b"\x00" * 5)
    assert len(hdr) == HEADER_LEN
    return hdr


def nonce(prefix, index, last):
    return prefix + u32(index) + (b"\x01" if last else b"\x00")


def encrypt(master, identity, plaintext, segment_size=DEFAULT_SEGMENT,
            salt=None, prefix=None):
    if not MIN_SEGMENT <= segment_size <= MAX_SEGMENT:
        raise ValueError("segment size out of range")
    salt = os.urandom(32) if salt is None else salt
    prefix = os.urandom(7) if prefix is None else prefix
    hdr = make_header(segment_size, key_id(master), salt, prefix)
    aead = AESGCM(object_key(master, salt, identity))
    n = max(1, -(-len(plaintext) // segment_size))
    if n > MAX_SEGMENTS:
        raise ValueError("too many segments")
    out = [hdr]
    for i in range(n):
        piece = plaintext[i * segment_size:(i + 1) * segment_size]
        out.append(aead.encrypt(nonce(prefix, i, i == n - 1), piece, hdr))
    return b"".join(out)


def zstd_level1(piece):
    import zstandard
    return zstandard.ZstdCompressor(level=1, write_content_size=True,
                                    write_checksum=False).compress(piece)


def encrypt_kinds(master, identity, plaintext, mode, segment_size=DEFAULT_SEGMENT,
                  salt=None, prefix=None):
    """An object with segment kinds. mode: auto (kept compressed when it
    saves at least 5%), zstd (when it saves a byte), bomb (segment 0 is a
    frame of twice the segment size, for the reader's limit)."""
    salt = os.urandom(32) if salt is None else salt
    prefix = os.urandom(7) if prefix is None else prefix
    hdr = make_header(segment_size, key_id(master), salt, prefix, FLAG_KINDS)
    aead = AESGCM(object_key(master, salt, identity))
    n = max(1, -(-len(plaintext) // segment_size))
    out, kinds = [hdr], []
    for i in range(n):
        piece = plaintext[i * segment_size:(i + 1) * segment_size]
        z = zstd_level1(piece) if piece else b""
        keep = (mode == "auto" and 20 * len(z) <= 19 * len(piece)) or \
               (mode == "zstd" and len(z) < len(piece))
        if mode == "bomb" and i == 0:
            z, keep = zstd_level1(b"\x00" * (2 * segment_size)), True
        pt = bytes([KIND_ZSTD]) + z if keep and piece else bytes([KIND_RAW]) + piece
        kinds.append("z" if pt[0] == KIND_ZSTD else "r")
        ct = aead.encrypt(nonce(prefix, i, i == n - 1), pt, hdr)
        out.append(u32(len(pt)) + ct)
    return b"".join(out), "".join(kinds)


def zstd_piece(body, seg, i):
    """The piece of a compressed segment: exactly one zstd frame that
    declares its content size, at most seg bytes (else refused as a bomb,
    before anything is decompressed)."""
    import zstandard
    if body[:4] != ZSTD_MAGIC:
        raise FormatError("integrity", f"segment {i}: no zstd frame")
    try:
        declared = zstandard.frame_content_size(body)
    except zstandard.ZstdError:
        raise FormatError("integrity", f"segment {i}: invalid zstd frame header")
    if declared < 0:
        raise FormatError("integrity", f"segment {i}: zstd frame does not declare its size")
    if declared > seg:
        raise FormatError("integrity", f"segment {i}: frame declares {declared} bytes, more "
                          f"than the segment size {seg}: decompression bomb")
    d = zstandard.ZstdDecompressor().decompressobj()
    try:
        piece = d.decompress(body)
    except zstandard.ZstdError as e:
        raise FormatError("integrity", f"segment {i}: corrupt zstd frame ({e})")
    if not d.eof or d.unused_data or len(piece) != declared:
        raise FormatError("integrity", f"segment {i}: not exactly one zstd frame")
    return piece


def decrypt_kinds(aead, hdr, seg, prefix, body, kinds):
    out, pos, i = [], 0, 0
    while True:
        if len(body) - pos < 4:
            raise FormatError("integrity", "truncated (no segment length)")
        n = struct.unpack(">I", body[pos:pos + 4])[0]
        if not 1 <= n <= seg + 1:
            raise FormatError("integrity", f"segment {i} declares {n} bytes")
        end = pos + 4 + n + TAG_LEN
        if end > len(body):
            raise FormatError("integrity", f"segment {i} truncated")
        last = end == len(body)     # by position
        if i >= MAX_SEGMENTS:
            raise FormatError("integrity", "too many segments")
        try:
            pt = aead.decrypt(nonce(prefix, i, last), bytes(body[pos + 4:end]), hdr)
        except InvalidTag:
            raise FormatError("integrity", f"segment {i} failed authentication")
        if pt[0] == KIND_RAW:
            piece = pt[1:]
        elif pt[0] == KIND_ZSTD:
            piece = zstd_piece(pt[1:], seg, i)
        else:
            raise FormatError("integrity", f"segment {i} has the unknown kind {pt[0]}")
        if (not last and len(piece) != seg) or (last and i > 0 and not piece):
            raise FormatError("integrity", f"segment {i} holds {len(piece)} bytes")
        kinds.append("z" if pt[0] == KIND_ZSTD else "r")
        out.append(piece)
        if last:
            return b"".join(out)
        pos, i = end, i + 1


def parse_header(data):
    if len(data) < HEADER_LEN:
        raise FormatError("integrity", "truncated inside the header")
    hdr = data[:HEADER_LEN]
    if hdr[0:4] != MAGIC:
        raise FormatError("invalid", "bad magic")
    if hdr[4] != VERSION:
        raise FormatError("unsupported", f"version {hdr[4]}")
    if hdr[5] != SUITE:
        raise FormatError("unsupported", f"suite {hdr[5]}")
    if hdr[6] & ~FLAG_KINDS:
        raise FormatError("unsupported", f"header flags {hdr[6]:#04x}")
    if hdr[7] != 0 or hdr[59:64] != b"\x00" * 5:
        raise FormatError("invalid", "reserved bytes not zero")
    seg = struct.unpack(">I", hdr[8:12])[0]
    if not MIN_SEGMENT <= seg <= MAX_SEGMENT:
        raise FormatError("unsupported", f"segment size {seg}")
    return hdr, seg, hdr[12:20], hdr[20:52], hdr[52:59]


def decrypt(master, identity, data, expected_salt=None, kinds=None):
    hdr, seg, kid, salt, prefix = parse_header(data)
    mine = key_id(master)
    if kid != mine:
        raise FormatError("auth", f"wrong key: object {kid.hex()}, "
                          f"key {mine.hex()}")
    if expected_salt is not None and salt != expected_salt:
        raise FormatError("integrity", "salt differs from the expected one")
    aead = AESGCM(object_key(master, salt, identity))
    body = memoryview(data)[HEADER_LEN:]
    if hdr[6] & FLAG_KINDS:
        return decrypt_kinds(aead, hdr, seg, prefix, body, [] if kinds is None else kinds)
    out = []
    pos, i = 0, 0
    while True:
        # By position: a segment is last iff no byte follows it.
        last = len(body) - pos <= seg + TAG_LEN
        end = len(body) if last else pos + seg + TAG_LEN
        chunk = body[pos:end]
        if len(chunk) < TAG_LEN:
            raise FormatError("integrity", "truncated segment")
        if last and len(chunk) == TAG_LEN and i > 0:
            raise FormatError("integrity", "empty last segment after full ones")
        if i >= MAX_SEGMENTS:
            raise FormatError("integrity", "too many segments")
        try:
            out.append(aead.decrypt(nonce(prefix, i, last), bytes(chunk), hdr))
        except InvalidTag:
            raise FormatError("integrity", f"segment {i} failed authentication")
        if last:
            return b"".join(out)
        pos, i = end, i + 1


def stored_size(plain, seg):
    return HEADER_LEN + plain + TAG_LEN * max(1, -(-plain // seg))


# ---- known-answer vectors ----------------------------------------------

def det(label, n):
    """Deterministic bytes for vector inputs: SHA-256 counter stream."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"cassette-vector:{label}:{i}".encode()).digest()
        i += 1
    return out[:n]


def index_mix(n):
    """The 'index-mix' plaintext rule: byte i = (i ^ (i >> 8) ^ (i >> 16)) & 0xff."""
    return bytes(((i ^ (i >> 8) ^ (i >> 16)) & 0xFF) for i in range(n))


IDENT = ("node1.dc1.example.com", "shop",
         "orders-5a1b2c3d4e5f60718293a4b5c6d7e8f9", "nb-1-big-Data.db")
IDENT_UTF8 = ("n\u00f6de-2.example.org", "k\u00e9yspace",
              "t\u00e4ble-00112233445566778899aabbccddeeff",
              ".idx/nb-7-big-Index.db")

# name, key label, identity, segment size, plaintext (bytes or ("index-mix", n))
VECTORS = [
    ("empty-seg16", "k1", IDENT, 16, b""),
    ("one-byte-seg16", "k1", IDENT, 16, b"\x5a"),
    ("one-segment-seg16", "k1", IDENT, 16, det("p16", 16)),
    ("three-full-seg16", "k1", IDENT, 16, det("p48", 48)),
    ("six-full-and-partial-seg16", "k1", IDENT, 16, det("p100", 100)),
    ("short-seg16", "k1", IDENT, 16, b"hello"),
    ("empty-seg64", "k2", IDENT, 64, b""),
    ("partial-seg64", "k2", IDENT, 64, det("p63", 63)),
    ("one-segment-seg64", "k2", IDENT, 64, det("p64", 64)),
    ("two-full-seg64", "k2", IDENT, 64, det("p128", 128)),
    ("three-and-partial-seg64", "k2", IDENT, 64, det("p200", 200)),
    ("utf8-identity-seg64", "k2", IDENT_UTF8, 64, det("p150", 150)),
    ("small-default-seg", "k3", IDENT, DEFAULT_SEGMENT, det("p1000", 1000)),
    ("index-mix-default-seg", "k3", IDENT, DEFAULT_SEGMENT,
     ("index-mix", 5 * DEFAULT_SEGMENT // 2 + 12345)),
]


def gen_vectors(path):
    lines = ["# cassette encrypted-object known-answer vectors, suite 1.",
             "# Generated by tests/crypto/ref_cassette.py gen-vectors from",
             "# docs/FORMAT.md; do not edit by hand. Records are separated by",
             "# blank lines; values are hex unless the key is an identity field.",
             "# plaintext_rule index-mix: byte i = (i ^ (i >> 8) ^ (i >> 16)) & 0xff",
             "# for i in 0..plaintext_len-1; such records carry the object's",
             "# length, SHA-256 and header instead of the object.", ""]
    for name, klabel, ident, seg, plain in VECTORS:
        master = det("key-" + klabel, 32)
        salt = det("salt-" + name, 32)
        prefix = det("prefix-" + name, 7)
        rule = None
        if isinstance(plain, tuple):
            rule, n = plain
            plain = index_mix(n)
        obj = encrypt(master, ident, plain, seg, salt, prefix)
        assert len(obj) == stored_size(len(plain), seg)
        assert decrypt(master, ident, obj, salt) == plain
        rec = [f"name = {name}", f"key = {master.hex()}",
               f"key_id = {key_id(master).hex()}",
               f"fqdn = {ident[0]}", f"keyspace = {ident[1]}",
               f"table = {ident[2]}", f"file = {ident[3]}",
               f"segment_size = {seg}", f"salt = {salt.hex()}",
               f"nonce_prefix = {prefix.hex()}",
               f"object_key = {object_key(master, salt, ident).hex()}"]
        if rule:
            rec += [f"plaintext_rule = {rule}",
                    f"plaintext_len = {len(plain)}",
                    f"object_len = {len(obj)}",
                    f"object_header = {obj[:HEADER_LEN].hex()}",
                    f"object_sha256 = {hashlib.sha256(obj).hexdigest()}"]
        else:
            rec += [f"plaintext = {plain.hex()}", f"object = {obj.hex()}"]
        lines += rec + [""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def text_rows(n):
    """The 'text-rows' plaintext rule: b"row %06d\\n" for 0, 1, 2, ... cut at n bytes."""
    return b"".join(b"row %06d\n" % i for i in range(n // 11 + 1))[:n]


# name, key label, mode, segment size, plaintext: compressible text,
# incompressible (det) bytes, and both within one object
ZVECTORS = [
    ("z-empty-auto-seg64", "k4", "auto", 64, b""),
    ("z-text-auto-seg64", "k4", "auto", 64, text_rows(200)),
    ("z-noise-auto-seg64", "k4", "auto", 64, det("zn150", 150)),
    ("z-mixed-auto-seg64", "k4", "auto", 64,
     text_rows(128) + det("zm64", 64) + text_rows(70)),
    ("z-mixed-zstd-seg64", "k4", "zstd", 64,
     text_rows(128) + det("zm64", 64) + text_rows(70)),
    ("z-one-byte-zstd-seg16", "k4", "zstd", 16, b"\x5a"),
    ("z-text-auto-seg4096", "k5", "auto", 4096, text_rows(3 * 4096 + 100)),
    # segment 0 saves 2% (auto: raw, zstd: compressed); segment 1 saves more
    ("z-two-percent-auto-seg4096", "k5", "auto", 4096,
     det("zb", 3904) + text_rows(192) + text_rows(1000)),
    ("z-two-percent-zstd-seg4096", "k5", "zstd", 4096,
     det("zb", 3904) + text_rows(192) + text_rows(1000)),
]


def gen_vectors_zstd(path):
    lines = ["# cassette encrypted-object vectors with segment kinds (header flag",
             "# 0x01: each segment is u32 length || AES-256-GCM(kind || body) || tag,",
             "# kind 0 raw, 1 one zstd frame), suite 1. Generated by",
             "# tests/crypto/ref_cassette.py gen-vectors-zstd from docs/FORMAT.md; do",
             "# not edit by hand. kinds: one letter per segment, r raw, z zstd.",
             "# A reader must decrypt `object` to `plaintext` with these kinds; a",
             "# writer of the same mode makes the same kinds (its zstd bytes may",
             "# differ from another zstd library's).", ""]
    for name, klabel, mode, seg, plain in ZVECTORS:
        master = det("key-" + klabel, 32)
        salt = det("salt-" + name, 32)
        prefix = det("prefix-" + name, 7)
        obj, kinds = encrypt_kinds(master, IDENT, plain, mode, seg, salt, prefix)
        got = []
        assert decrypt(master, IDENT, obj, salt, got) == plain and "".join(got) == kinds
        lines += [f"name = {name}", f"compression = {mode}", f"key = {master.hex()}",
                  f"key_id = {key_id(master).hex()}",
                  f"fqdn = {IDENT[0]}", f"keyspace = {IDENT[1]}",
                  f"table = {IDENT[2]}", f"file = {IDENT[3]}",
                  f"segment_size = {seg}", f"salt = {salt.hex()}",
                  f"nonce_prefix = {prefix.hex()}",
                  f"object_key = {object_key(master, salt, IDENT).hex()}",
                  f"kinds = {kinds}",
                  f"plaintext = {plain.hex()}", f"object = {obj.hex()}", ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def check_vectors_zstd(path):
    bad = 0
    recs = read_vectors(path)
    for r in recs:
        master = bytes.fromhex(r["key"])
        ident = (r["fqdn"], r["keyspace"], r["table"], r["file"])
        salt = bytes.fromhex(r["salt"])
        plain = bytes.fromhex(r["plaintext"])
        obj = bytes.fromhex(r["object"])
        kinds = []
        ok = key_id(master).hex() == r["key_id"]
        ok &= object_key(master, salt, ident).hex() == r["object_key"]
        ok &= obj[6] == FLAG_KINDS
        ok &= decrypt(master, ident, obj, salt, kinds) == plain
        ok &= "".join(kinds) == r["kinds"]
        # the writer's decisions (not its bytes) are the format's
        _, wkinds = encrypt_kinds(master, ident, plain, r["compression"],
                                  int(r["segment_size"]), salt,
                                  bytes.fromhex(r["nonce_prefix"]))
        ok &= wkinds == r["kinds"]
        print(("ok   " if ok else "FAIL ") + r["name"])
        bad += not ok
    if not recs:
        print("no vectors found")
        return 1
    return 1 if bad else 0


def read_vectors(path):
    recs, cur = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line:
                if cur:
                    recs.append(cur)
                cur = {}
                continue
            k, v = line.split(" = ", 1)
            cur[k] = v
    if cur:
        recs.append(cur)
    return recs


def check_vectors(path):
    bad = 0
    recs = read_vectors(path)
    for r in recs:
        master = bytes.fromhex(r["key"])
        ident = (r["fqdn"], r["keyspace"], r["table"], r["file"])
        seg = int(r["segment_size"])
        salt = bytes.fromhex(r["salt"])
        prefix = bytes.fromhex(r["nonce_prefix"])
        if "plaintext_rule" in r:
            plain = index_mix(int(r["plaintext_len"]))
        else:
            plain = bytes.fromhex(r["plaintext"])
        obj = encrypt(master, ident, plain, seg, salt, prefix)
        ok = key_id(master).hex() == r["key_id"]
        ok &= object_key(master, salt, ident).hex() == r["object_key"]
        if "object" in r:
            ok &= obj.hex() == r["object"]
            ok &= decrypt(master, ident, bytes.fromhex(r["object"]), salt) == plain
        else:
            ok &= len(obj) == int(r["object_len"])
            ok &= obj[:HEADER_LEN].hex() == r["object_header"]
            ok &= hashlib.sha256(obj).hexdigest() == r["object_sha256"]
        print(("ok   " if ok else "FAIL ") + r["name"])
        bad += not ok
    if not recs:
        print("no vectors found")
        return 1
    return 1 if bad else 0


def load_key_file(path):
    with open(path, encoding="ascii") as f:
        raw = base64.b64decode(f.read().strip(), validate=True)
    if len(raw) != 32:
        raise ValueError(f"{path}: key is {len(raw)} bytes, not 32")
    return raw


def load_keyring(path):
    """A keyring ("Keyrings"): '<id> <key>' lines, or one bare key line."""
    keys = {}
    with open(path, encoding="ascii") as f:
        lines = [l.strip() for l in f if l.strip() and not l.strip().startswith("#")]
    for line in lines:
        parts = line.split()
        raw = base64.b64decode(parts[-1], validate=True)
        if len(raw) != 32 or (len(parts) == 2 and bytes.fromhex(parts[0]) != key_id(raw)):
            raise ValueError(f"{path}: bad key line")
        keys[key_id(raw)] = raw
    return keys


def unwrap(keys, wrap):
    fqdn = wrap["fqdn"].encode()
    dk_id = bytes.fromhex(wrap["data_key_id"])
    m_id = bytes.fromhex(wrap["master_key_id"])
    blob = base64.b64decode(wrap["wrapped"], validate=True)
    if len(blob) != 92 or m_id not in keys:
        raise FormatError("wrap", "not a wrap under a key of the keyring")
    wsalt, nonce, ct = blob[:32], blob[32:44], blob[44:]
    kek = hkdf(keys[m_id], wsalt, b"cassette v2 key wrap", 32)
    aad = b"cassette v2 data key" + b"\x00" + u32(len(fqdn)) + fqdn + dk_id + m_id
    try:
        dk = AESGCM(kek).decrypt(nonce, ct, aad)
    except InvalidTag:
        raise FormatError("wrap", "the wrapped key failed authentication")
    if key_id(dk) != dk_id:
        raise FormatError("wrap", "the unwrapped key is not the one named")
    return dk
# ---- meta authentication (FORMAT.md, "auth.json") ---------------------------

META_NAMES = ("manifest.json", "tokenmap.json", "schema.cql",
              "server_version.json", "differential")


def lp(raw):
    return u32(len(raw)) + raw


def meta_mac(master, fqdn, backup, objects):
    """objects: {name: sha256 digest (32 bytes)}."""
    import hmac
    mac_key = hkdf(master, b"", b"cassette v1 meta mac key", 32)
    msg = b"cassette v1 meta auth" + b"\x00" + lp(fqdn.encode()) + lp(backup.encode())
    msg += lp(key_id(master).hex().encode())
    for name in sorted(objects, key=lambda n: n.encode()):
        msg += lp(name.encode()) + objects[name]
    return mac_key, hmac.new(mac_key, msg, hashlib.sha256).digest()


AUTH_VECTOR = {
    "key": bytes(range(32)),
    "fqdn": "node1.example",
    "backup": "20261207-0100",
    "objects": {"tokenmap.json": b'{"node1.example":{"tokens":[0],"is_up":true,"rack":"r1","dc":"dc1"}}',
                "manifest.json": b"[]",
                "schema.cql": b"-- no schema.cql in the snapshot\n"},
}


def auth_vector():
    v = AUTH_VECTOR
    digests = {n: hashlib.sha256(c).digest() for n, c in v["objects"].items()}
    mac_key, mac = meta_mac(v["key"], v["fqdn"], v["backup"], digests)
    print(f"key        {v['key'].hex()}")
    print(f"key_id     {key_id(v['key']).hex()}")
    print(f"fqdn       {v['fqdn']}")
    print(f"backup     {v['backup']}")
    for name in sorted(v["objects"]):
        print(f"object     {name} = {v['objects'][name]!r} sha256 {digests[name].hex()}")
    print(f"mac_key    {mac_key.hex()}")
    print(f"mac        {mac.hex()}")
    return 0


def verify_auth(master, fqdn, backup, metadir):
    import hmac
    import json
    path = os.path.join(metadir, "auth.json")
    with open(path, "rb") as f:
        doc = json.loads(f.read())
    want = {"version": 1, "fqdn": fqdn, "backup": backup, "alg": "HMAC-SHA256",
            "key_id": key_id(master).hex()}
    for field, value in want.items():
        if doc.get(field) != value:
            raise FormatError("integrity", f"{path}: {field} is {doc.get(field)!r}, not {value!r}")
    objects = doc["objects"]
    digests = {}
    for name, hexdigest in objects.items():
        if name not in META_NAMES:
            raise FormatError("integrity", f"{path}: unknown object {name!r}")
        digests[name] = bytes.fromhex(hexdigest)
    if "manifest.json" not in digests:
        raise FormatError("integrity", f"{path}: manifest.json is not listed")
    _, mac = meta_mac(master, fqdn, backup, digests)
    if not hmac.compare_digest(mac, bytes.fromhex(doc["mac"])):
        raise FormatError("integrity", f"{path}: MAC does not match")
    for name in META_NAMES:
        p = os.path.join(metadir, name)
        if not os.path.exists(p):
            if name in digests:
                raise FormatError("integrity", f"{p}: listed in auth.json but missing")
            continue
        if name not in digests:
            raise FormatError("integrity", f"{p}: not listed in auth.json")
        with open(p, "rb") as f:
            if hashlib.sha256(f.read()).digest() != digests[name]:
                raise FormatError("integrity", f"{p}: SHA-256 does not match auth.json")


def main(argv):
    if len(argv) == 3 and argv[1] == "gen-vectors":
        gen_vectors(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "check-vectors":
        return check_vectors(argv[2])
    if len(argv) == 3 and argv[1] == "gen-vectors-zstd":
        gen_vectors_zstd(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "check-vectors-zstd":
        return check_vectors_zstd(argv[2])
    if len(argv) in (9, 10) and argv[1] in ("enc", "dec"):
        master = load_key_file(argv[2])
        ident = tuple(argv[3:7])
        with open(argv[7], "rb") as f:
            data = f.read()
        if argv[1] == "enc":
            seg = int(argv[9]) if len(argv) == 10 else DEFAULT_SEGMENT
            mode = os.environ.get("REF_COMPRESS", "")
            if mode in ("auto", "zstd", "bomb"):
                out, _ = encrypt_kinds(master, ident, data, mode, seg)
            else:
                out = encrypt(master, ident, data, seg)
        else:
            kinds = []
            try:
                out = decrypt(master, ident, data, kinds=kinds)
            except FormatError as e:
                print(f"ref_cassette: {argv[7]}: {e}", file=sys.stderr)
                return 2
            if os.environ.get("REF_KINDS"):
                print("kinds " + ("".join(kinds) if data[6] & FLAG_KINDS else "flagless"),
                      file=sys.stderr)
        with open(argv[8], "wb") as f:
            f.write(out)
        return 0
    if len(argv) == 5 and argv[1] == "unwrap":
        with open(argv[3], encoding="utf-8") as f:
            wrap = json.load(f)
        try:
            dk = unwrap(load_keyring(argv[2]), wrap)
        except FormatError as e:
            print(f"ref_cassette: {argv[3]}: {e}", file=sys.stderr)
            return 2
        fd = os.open(argv[4], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(dk).decode() + "\n")
        return 0
    if len(argv) == 2 and argv[1] == "auth-vector":
        return auth_vector()
    if len(argv) == 6 and argv[1] == "verify-auth":
        try:
            verify_auth(load_key_file(argv[2]), argv[3], argv[4], argv[5])
        except (FormatError, KeyError, ValueError, OSError) as e:
            print(f"ref_cassette: {e}", file=sys.stderr)
            return 2
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
