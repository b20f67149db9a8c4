#!/usr/bin/env python3
"""Write one node backup into a store the way Cassandra Medusa lays it out.

medusa_store.py STORE FQDN BACKUP DATA_DIR [--differential] [--prefix P]
                [--time T] [--etag-multipart-from BYTES]

STORE is the local storage root (base_path/bucket_name). The backup is
plaintext, as Medusa's own (non-encrypting) code writes it
(medusa/backup_node.py, medusa/index.py, medusa/storage/node_backup.py):

  [P/]FQDN/BACKUP/meta/{schema.cql,tokenmap.json,server_version.json,
                        differential,manifest.json}
  [P/]FQDN/BACKUP/data/KS/CF/FILE     full backups
  [P/]FQDN/data/KS/CF/FILE            differential backups (written in place)
  [P/]index/backup_index/BACKUP/{tokenmap_FQDN.json,schema_FQDN.cql,
        started_FQDN_TS.timestamp,differential_FQDN,manifest_FQDN.json,
        finished_FQDN_TS.timestamp}
  [P/]index/latest_backup/FQDN/{tokenmap.json,backup_name.txt}

A differential backup references, rather than uploads, each file whose name
and size match the latest backup's manifest (index/latest_backup), when
that backup was differential too: Medusa's NodeBackupCache. The manifest
holds {"path", "MD5", "size"} per object, json.dumps'ed. MD5 is the hex MD5
(local storage); with --etag-multipart-from N, files of N bytes or more get
the S3 multipart ETag Medusa records from S3 ("<md5 of part md5s>-<parts>",
8 MiB parts: boto3's default chunk size), as if the store were S3.
Timestamps are whole seconds (--time, default now); finished = started + 1.
"""
import hashlib
import json
import os
import sys
import time

PART = 8 * 1024 * 1024
NEVER_BACKED_UP = ("manifest.json", "schema.cql")
TOKENS = [-6917529027641081856, -2305843009213693952, 2305843009213693952, 6917529027641081856]
SCHEMA = ("CREATE KEYSPACE ks0 WITH replication = {'class': 'SimpleStrategy', "
          "'replication_factor': '1'}  AND durable_writes = true;\n")


def put(store, key, data):
    path = os.path.join(store, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)


def get(store, key):
    try:
        with open(os.path.join(store, key), "rb") as f:
            return f.read().decode()
    except FileNotFoundError:
        return None


def md5_of(path, multipart_from):
    size = os.path.getsize(path)
    whole, parts = hashlib.md5(), []
    with open(path, "rb") as f:
        while True:
            chunk = f.read(PART)
            if not chunk:
                break
            whole.update(chunk)
            parts.append(hashlib.md5(chunk).digest())
    if multipart_from is not None and size >= multipart_from:
        return "%s-%d" % (hashlib.md5(b"".join(parts)).hexdigest(), len(parts))
    return whole.hexdigest()


def tables(data_dir):
    """(keyspace, table dir, [rel]) for every table of the data dir."""
    for ks in sorted(os.listdir(data_dir)):
        kd = os.path.join(data_dir, ks)
        if not os.path.isdir(kd):
            continue
        for cf in sorted(os.listdir(kd)):
            cd = os.path.join(kd, cf)
            if not os.path.isdir(cd):
                continue
            rels = []
            for name in sorted(os.listdir(cd)):
                p = os.path.join(cd, name)
                if os.path.isfile(p) and name not in NEVER_BACKED_UP:
                    rels.append(name)
                elif os.path.isdir(p) and name.startswith("."):  # secondary index
                    rels += [name + "/" + f for f in sorted(os.listdir(p))
                             if os.path.isfile(os.path.join(p, f))]
            yield ks, cf, rels


def main(argv):
    opts = {"--prefix": "", "--time": None, "--etag-multipart-from": None}
    args, i = [], 0
    differential = False
    while i < len(argv):
        if argv[i] == "--differential":
            differential = True
        elif argv[i] in opts:
            opts[argv[i]] = argv[i + 1]
            i += 1
        else:
            args.append(argv[i])
        i += 1
    if len(args) != 4:
        sys.exit(__doc__)
    store, fqdn, name, data_dir = args
    pre = opts["--prefix"].strip("/") + "/" if opts["--prefix"].strip("/") else ""
    started = int(opts["--time"]) if opts["--time"] else int(time.time())
    finished = started + 1
    mp = int(opts["--etag-multipart-from"]) if opts["--etag-multipart-from"] else None
    tokenmap = json.dumps({fqdn: {"tokens": TOKENS, "is_up": True, "rack": "rack1", "dc": "dc1"}})
    meta = "%s%s/%s/meta/" % (pre, fqdn, name)
    index = "%sindex/backup_index/%s/" % (pre, name)

    # Medusa's NodeBackupCache: the latest backup's manifest, by file name.
    cache = {}
    latest = get(store, "%sindex/latest_backup/%s/backup_name.txt" % (pre, fqdn))
    if differential and latest is not None and \
            get(store, "%s%s/%s/meta/differential" % (pre, fqdn, latest)) is not None:
        for section in json.loads(get(store, "%s%s/%s/meta/manifest.json" % (pre, fqdn, latest))):
            for o in section["objects"]:
                parts = o["path"].split("/")
                rel = "/".join(parts[-2:]) if parts[-2].startswith(".") else parts[-1]
                cache[(section["keyspace"], section["columnfamily"], rel)] = o

    # start: meta, then the index's start entries
    put(store, meta + "schema.cql", SCHEMA)
    put(store, meta + "tokenmap.json", tokenmap)
    if differential:
        put(store, meta + "differential", "differential")
    put(store, meta + "server_version.json",
        json.dumps({"server_type": "cassandra", "release_version": "4.1.3"}))
    put(store, index + "tokenmap_%s.json" % fqdn, tokenmap)
    put(store, index + "schema_%s.cql" % fqdn, SCHEMA)
    put(store, index + "started_%s_%d.timestamp" % (fqdn, started), str(started))
    if differential:
        put(store, index + "differential_%s" % fqdn, "differential")

    manifest = []
    for ks, cf, rels in tables(data_dir):
        objects = []
        for rel in rels:
            src = os.path.join(data_dir, ks, cf, rel)
            hit = cache.get((ks, cf, rel))
            if hit is not None and hit["size"] == os.path.getsize(src):
                objects.append({"path": hit["path"], "MD5": hit["MD5"], "size": hit["size"]})
                continue
            if differential:
                key = "%s%s/data/%s/%s/%s" % (pre, fqdn, ks, cf, rel)
            else:
                key = "%s%s/%s/data/%s/%s/%s" % (pre, fqdn, name, ks, cf, rel)
            with open(src, "rb") as f:
                put(store, key, f.read())
            objects.append({"path": key, "MD5": md5_of(src, mp), "size": os.path.getsize(src)})
        manifest.append({"keyspace": ks, "columnfamily": cf, "objects": objects})
    text = json.dumps(manifest)

    # finish: the manifest, its index copy, the finished marker, latest_backup
    put(store, meta + "manifest.json", text)
    put(store, index + "manifest_%s.json" % fqdn, text)
    put(store, index + "finished_%s_%d.timestamp" % (fqdn, finished), str(finished))
    put(store, "%sindex/latest_backup/%s/tokenmap.json" % (pre, fqdn), tokenmap)
    put(store, "%sindex/latest_backup/%s/backup_name.txt" % (pre, fqdn), name)
    os.utime(os.path.join(store, meta + "schema.cql"), (started, started))
    os.utime(os.path.join(store, meta + "manifest.json"), (finished, finished))


if __name__ == "__main__":
    main(sys.argv[1:])
