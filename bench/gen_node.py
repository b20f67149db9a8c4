#!/usr/bin/env python3
"""Makes a synthetic Cassandra node for the benchmark, reproducibly and fast.

Layout: <data_dir>/<keyspace>/<table>-<32 hex>/nb-<gen>-big-<component>, one
SSTable = the eight components of the "big" format. Data.db and the binary
components are incompressible (as LZ4-compressed SSTables are): the AES-128-CTR
keystream of a key derived from --seed, with a nonce derived from the file's
path, so the same options give the same bytes on every machine (computed with
python3-cryptography, or the openssl command when that is missing). Digest.crc32
and TOC.txt are short text, as Cassandra writes them.

With --uncompressed the node's tables are uncompressed ones (a table created
with compression = {'enabled': false}): each SSTable has CRC.db (the CRC32 of
every 64 KiB chunk) instead of CompressionInfo.db, and Data.db holds
compressible row data: time-series partitions in the shape of Cassandra's
"big" format (a length-prefixed text key, deletion info, rows of a clustering
timestamp, a double, an int, a short text drawn from a vocabulary of 128
words and a status word), from a random.Random seeded by --seed and the
file's path. zstd level 1 stores it in about 40% of its size, as it does real
uncompressed SSTables. The other binary components stay keystream.

  gen_node.py node DATA_DIR --size BYTES --sstables N [--keyspaces K --tables T --seed S]
                [--uncompressed]
      makes the node: N SSTables spread over K*T tables, Data.db sizes
      log-uniform (a few large, many small, as compaction leaves them), scaled so
      all files together come to about BYTES.
  gen_node.py add DATA_DIR --percent P --round R [--seed S] --list FILE
      adds new SSTable generations (a flush or a compaction's output): P% of
      the node's files and bytes, at generations above those present. Writes
      the paths it made to FILE, one a line, so they can be removed again.
      A table whose SSTables have CRC.db (an uncompressed table) gets
      uncompressed ones.
Prints one line: files and bytes made.
"""
import argparse
import hashlib
import math
import os
import random
import re
import struct
import subprocess
import sys

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:   # the same keystream from the openssl command
    Cipher = None

CHUNK = 1 << 20
ZEROS = bytes(CHUNK)
SSTABLE_RE = re.compile(r"^nb-(\d+)-big-Data\.db$")
COMPONENTS = ["Data.db", "Index.db", "Summary.db", "Filter.db", "Statistics.db",
              "CompressionInfo.db", "Digest.crc32", "TOC.txt"]
# an uncompressed table's SSTable: CRC.db instead of CompressionInfo.db
UNCOMPRESSED = ["CRC.db" if c == "CompressionInfo.db" else c for c in COMPONENTS]
# the text values of the uncompressed node's rows: 128 words
WORDS = [w.encode() for w in (
    "ok warn error idle busy active pending done failed retry timeout cold hot open closed unknown "
    "north south east west alpha beta gamma delta sensor gateway relay pump valve motor fan door "
    "temperature humidity pressure voltage current level speed flow battery signal firmware update "
    "restart online offline low high normal critical maintenance scheduled manual auto the a of and "
    "to in on at for with from by is was reading reported value above below threshold since last "
    "check unit zone floor room building site rack node link port cable power supply backup primary "
    "secondary east-1 west-2 eu-central us-east batch job queue worker task user admin service "
    "ingest export sync lag peak average minimum maximum sample window hourly daily weekly info debug "
    "trace fatal meter gauge probe tank line").split()]
assert len(WORDS) == 128


def write_random(path, size, key, rel):
    """size bytes of AES-128-CTR keystream, nonce from the relative path."""
    nonce = hashlib.sha256(rel.encode()).digest()[:16]
    if Cipher is None:
        with open(path, "wb") as f:
            openssl = subprocess.Popen(["openssl", "enc", "-aes-128-ctr", "-nosalt", "-K", key.hex(),
                                        "-iv", nonce.hex(), "-in", "/dev/zero"], stdout=subprocess.PIPE)
            left = size
            while left > 0:
                chunk = openssl.stdout.read(min(left, CHUNK))
                if not chunk:
                    sys.exit("gen_node.py: openssl enc stopped early")
                f.write(chunk)
                left -= len(chunk)
            openssl.kill()
            openssl.wait()
        return
    enc = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, CHUNK)
            f.write(enc.update(ZEROS[:n]) if n < CHUNK else enc.update(ZEROS))
            left -= n


def write_rows(path, size, seed, rel):
    """size bytes of compressible rows (see the top), reproducible from seed
    and the relative path."""
    rng = random.Random(int.from_bytes(hashlib.sha256(b"%d/" % seed + rel.encode()).digest()[:8], "big"))
    rb = rng.getrandbits
    words, status = WORDS, WORDS[:16]
    key_len = struct.Struct(">H").pack
    row = struct.Struct(">BqBdi").pack   # flags, clustering, text length, double, int
    live = b"\x7f\xff\xff\xff\x80\x00\x00\x00\x00\x00\x00\x00"  # deletion info: live
    ts = 1764547200000 + rb(30)          # ms, from 2025-12-01 on
    dev = rb(20)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            parts, n = [], 0
            while n < CHUNK:
                dev += 1 + rb(3)
                key = b"dev-%08d" % dev
                parts += (key_len(len(key)), key, live)
                n += len(key) + 15
                for _ in range(4 + rb(5)):
                    ts += 1000 + rb(10)
                    text = b" ".join([words[rb(7)] for _ in range(2 + rb(3))])
                    parts += (row(0x24, ts, len(text), (rb(16) - 32768) / 64.0, rb(12)), text, status[rb(4)])
                    n += 22 + len(text) + len(parts[-1])
                parts.append(b"\x01")   # end of partition
                n += 1
            chunk = b"".join(parts)
            f.write(chunk[:left])
            left -= min(left, len(chunk))


def component_sizes(data_size, rng):
    """Realistic small components for a Data.db of data_size bytes (16 KiB
    compression chunks, partitions of about 1 KB)."""
    index = max(64, int(data_size * rng.uniform(0.005, 0.02)))
    return {
        "Index.db": index,
        "Summary.db": max(64, index // 128),
        "Filter.db": max(16, data_size // 800),
        "Statistics.db": rng.randint(4500, 12000),
        "CompressionInfo.db": 32 + 8 * ((data_size + 16383) // 16384),
        "CRC.db": 4 + 4 * ((data_size + 65535) // 65536),
    }


def write_sstable(table_dir, rel_table, gen, data_size, key, rng, uncompressed=False, seed=1):
    """Writes one SSTable's eight components; returns (paths, bytes)."""
    paths, total = [], 0
    prefix = "nb-%d-big-" % gen
    sizes = component_sizes(data_size, rng)
    sizes["Data.db"] = data_size
    comps = UNCOMPRESSED if uncompressed else COMPONENTS
    for comp in comps:
        path = os.path.join(table_dir, prefix + comp)
        rel = rel_table + "/" + prefix + comp
        if comp == "Digest.crc32":
            body = str(rng.getrandbits(32)).encode()
        elif comp == "TOC.txt":
            body = "".join(c + "\n" for c in sorted(comps)).encode()
        else:
            body = None
        if body is None and uncompressed and comp == "Data.db":
            write_rows(path, sizes[comp], seed, rel)
            total += sizes[comp]
        elif body is None:
            write_random(path, sizes[comp], key, rel)
            total += sizes[comp]
        else:
            with open(path, "wb") as f:
                f.write(body)
            total += len(body)
        paths.append(path)
    return paths, total


def node(args):
    rng = random.Random(args.seed)
    key = hashlib.sha256(b"cassette-bench-%d" % args.seed).digest()[:16]
    # Data.db sizes: log-uniform over two decades, then scaled to the total
    # (the small components add about 1.5% on top of Data.db).
    raw = [math.exp(rng.uniform(0, math.log(100))) for _ in range(args.sstables)]
    target = args.size / 1.015
    sizes = [max(4096, int(r * target / sum(raw))) for r in raw]
    tables = []
    for k in range(args.keyspaces):
        for t in range(args.tables):
            ks, name = "ks%d" % (k + 1), "table%d" % (t + 1)
            tid = "%032x" % rng.getrandbits(128)
            tables.append((ks, "%s-%s" % (name, tid)))
    files = total = 0
    gens = {}
    for i, size in enumerate(sizes):
        ks, tdir = tables[i % len(tables)]
        d = os.path.join(args.data_dir, ks, tdir)
        os.makedirs(d, exist_ok=True)
        gens[d] = gens.get(d, 0) + 1
        paths, n = write_sstable(d, ks + "/" + tdir, gens[d], size, key, rng, args.uncompressed, args.seed)
        files += len(paths)
        total += n
    print("made %d files, %d bytes in %d %stables" % (files, total, len(tables),
                                                     "uncompressed " if args.uncompressed else ""))


def add(args):
    rng = random.Random(args.seed * 1000003 + args.round)
    key = hashlib.sha256(b"cassette-bench-add-%d-%d" % (args.seed, args.round)).digest()[:16]
    tables, data_bytes, sstables = [], 0, 0
    for ks in sorted(os.listdir(args.data_dir)):
        for tdir in sorted(os.listdir(os.path.join(args.data_dir, ks))):
            d = os.path.join(args.data_dir, ks, tdir)
            top, crc = 0, False
            for f in os.listdir(d):
                crc = crc or f.endswith("-CRC.db")
                m = SSTABLE_RE.match(f)
                if m:
                    top = max(top, int(m.group(1)))
                    data_bytes += os.path.getsize(os.path.join(d, f))
                    sstables += 1
            tables.append((ks, tdir, d, top, crc))
    if sstables == 0:
        sys.exit("gen_node.py: no SSTables under %s" % args.data_dir)
    count = max(1, round(sstables * args.percent / 100))
    each = max(4096, int(data_bytes * args.percent / 100 / count))
    made, files, total = [], 0, 0
    for i in range(count):
        ks, tdir, d, top, crc = tables[(args.round + i) % len(tables)]
        # generations never used before, even after an earlier round's files
        # were removed: a name never comes back with new content
        gen = top + 1000 * args.round + i // len(tables)
        paths, n = write_sstable(d, ks + "/" + tdir, gen, each, key, rng, crc, args.seed * 1000003 + args.round)
        made += paths
        files += len(paths)
        total += n
    with open(args.list, "w") as f:
        f.writelines(p + "\n" for p in made)
    print("added %d files, %d bytes" % (files, total))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("node")
    n.add_argument("data_dir")
    n.add_argument("--size", type=int, required=True)
    n.add_argument("--sstables", type=int, required=True)
    n.add_argument("--keyspaces", type=int, default=2)
    n.add_argument("--tables", type=int, default=2)
    n.add_argument("--seed", type=int, default=1)
    n.add_argument("--uncompressed", action="store_true",
                   help="uncompressed tables: CRC.db, and compressible rows in Data.db")
    a = sub.add_parser("add")
    a.add_argument("data_dir")
    a.add_argument("--percent", type=float, default=5.0)
    a.add_argument("--round", type=int, required=True)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--list", required=True)
    args = p.parse_args()
    if args.cmd == "node":
        if args.sstables < 1 or args.size < 1 or args.keyspaces < 1 or args.tables < 1:
            sys.exit("gen_node.py: --size, --sstables, --keyspaces and --tables must be positive")
        node(args)
    else:
        add(args)


if __name__ == "__main__":
    main()
