#!/usr/bin/env python3
"""Write a synthetic Cassandra data dir fast (no process per file).

gen_node.py DATA_DIR FILES TABLES [--big BYTES] [--sparse]

FILES small SSTable components spread over TABLES tables of keyspace ks0
(8 components per SSTable generation; sizes 200 B .. 4 KiB, random bytes,
deterministic from the file's name). With --big, one more table holds a
single nb-1-big-Data.db of BYTES bytes: incompressible pseudo-random data,
or with --sparse a sparse file (a hole reads as zeros) that costs no disk.
"""
import hashlib
import os
import sys

COMPONENTS = ("Data.db", "Index.db", "Summary.db", "Statistics.db", "Filter.db",
              "CompressionInfo.db", "Digest.crc32", "TOC.txt")


def table_dir(data, ks, name, n):
    d = os.path.join(data, ks, "%s-%032x" % (name, n))
    os.makedirs(d, exist_ok=True)
    return d


def small_files(data, files, tables):
    seed = os.urandom(1 << 20)  # sliced per file: fast, and every file differs
    dirs = [table_dir(data, "ks0", "t%d" % t, t + 1) for t in range(tables)]
    for i in range(files):
        t, k = i % tables, i // tables
        gen, comp = k // len(COMPONENTS) + 1, COMPONENTS[k % len(COMPONENTS)]
        name = "nb-%d-big-%s" % (gen, comp)
        h = hashlib.md5(("%d/%s" % (t, name)).encode()).digest()
        size = 200 + int.from_bytes(h[:2], "big") % 3897
        off = int.from_bytes(h[2:6], "big") % (len(seed) - size)
        with open(os.path.join(dirs[t], name), "wb") as f:
            f.write(h + seed[off:off + size - len(h)])


def big_file(data, size, sparse):
    path = os.path.join(table_dir(data, "ks_big", "big", 0xb16), "nb-1-big-Data.db")
    with open(path, "wb") as f:
        if sparse:
            f.truncate(size)
            return
        block = os.urandom(1 << 20)
        left, n = size, 0
        while left > 0:
            # a fresh 16-byte counter per MiB keeps every MiB distinct
            chunk = n.to_bytes(16, "big") + block[16:]
            f.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)
            n += 1


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    big = None
    if "--big" in argv:
        big = int(argv[argv.index("--big") + 1])
        args.remove(str(big))
    if len(args) != 3:
        sys.exit(__doc__)
    data, files, tables = args[0], int(args[1]), int(args[2])
    if files:
        small_files(data, files, max(1, tables))
    if big is not None:
        big_file(data, big, "--sparse" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
