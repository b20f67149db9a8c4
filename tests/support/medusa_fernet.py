#!/usr/bin/env python3
"""Write a backup as Medusa's client-side encryption writes it (test fixture).

An independent implementation: python3-cryptography's Fernet does the
encryption, nothing of cassette is used. It follows Medusa's
medusa/storage/encryption.py and backup_node.py (encryption branch):

  each data object: chunks of 1 MiB of the file, each written as
      u32 big-endian length || Fernet(key).encrypt(chunk)   (URL-safe base64 text)
  manifest entry: {"path", "MD5": hex MD5 of the stored bytes (local storage),
      "size": stored size, "source_MD5": base64 MD5 of the file,
      "source_size": file size}
  a plaintext object (--plain KS.CF, or no key): "source_MD5" and
      "source_size" are null, as Medusa's encrypting version writes them.

Layout (local storage, base_path = STORE):
  <fqdn>/<backup>/meta/{manifest.json,schema.cql,tokenmap.json,server_version.json}
  <fqdn>/<backup>/meta/differential        (differential backups)
  <fqdn>/data/<ks>/<cf>/<file>             (differential) or
  <fqdn>/<backup>/data/<ks>/<cf>/<file>    (--full)
  index/backup_index/<backup>/{tokenmap,manifest}_<fqdn>.json, schema_<fqdn>.cql,
      started_<fqdn>_<ts>.timestamp, finished_<fqdn>_<ts>.timestamp
  index/latest_backup/<fqdn>/{backup_name.txt,tokenmap.json}

usage:
  medusa_fernet.py keygen                      print a new Fernet key
  medusa_fernet.py backup STORE DATA_DIR FQDN BACKUP KEY_FILE [--full] [--plain KS.CF]...
      KEY_FILE holds the key (never on a command line); DATA_DIR is
      <ks>/<cf>/<files> (a secondary index's files in <cf>/.<index>/).
  medusa_fernet.py decrypt KEY_FILE OBJECT OUT  Medusa's own reading, for cross-checks
"""
import base64
import hashlib
import json
import os
import struct
import sys
import time

from cryptography.fernet import Fernet

CHUNK_SIZE = 1024 * 1024  # Medusa's encryption.CHUNK_SIZE
MAX_CHUNK_SIZE = 2 * 1024 * 1024


def read_key(path):
    with open(path, "rb") as f:
        return f.read().strip()


def put(store, key, data):
    path = os.path.join(store, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def encrypt_file(fernet, src, dst):
    """Medusa's EncryptionManager.encrypt_file: (MD5 hex of what is stored,
    stored size, base64 MD5 of the source, source size)."""
    stored, source = hashlib.md5(), hashlib.md5()
    stored_size = source_size = 0
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(src, "rb") as f_in, open(dst, "wb") as f_out:
        while True:
            chunk = f_in.read(CHUNK_SIZE)
            if not chunk:
                break
            source_size += len(chunk)
            source.update(chunk)
            token = fernet.encrypt(chunk)
            head = struct.pack(">I", len(token))
            for piece in (head, token):
                f_out.write(piece)
                stored.update(piece)
            stored_size += 4 + len(token)
    return (stored.hexdigest(), stored_size,
            base64.b64encode(source.digest()).decode(), source_size)


def copy_plain(src, dst):
    h, n = hashlib.md5(), 0
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(src, "rb") as f_in, open(dst, "wb") as f_out:
        while True:
            b = f_in.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
            f_out.write(b)
    return h.hexdigest(), n


def table_files(table_dir):
    out = []
    for root, _dirs, files in os.walk(table_dir):
        for name in files:
            full = os.path.join(root, name)
            out.append(os.path.relpath(full, table_dir))
    return sorted(out)


def backup(store, data, fqdn, name, key_file, full, plain):
    fernet = Fernet(read_key(key_file))
    ts = int(time.time())
    base = "%s/%s" % (fqdn, name)
    data_base = "%s/data" % base if full else "%s/data" % fqdn
    manifest = []
    for ks in sorted(os.listdir(data)):
        if not os.path.isdir(os.path.join(data, ks)):
            continue
        for cf in sorted(os.listdir(os.path.join(data, ks))):
            tdir = os.path.join(data, ks, cf)
            if not os.path.isdir(tdir):
                continue
            objects = []
            for rel in table_files(tdir):
                key = "%s/%s/%s/%s" % (data_base, ks, cf, rel)
                dst = os.path.join(store, key)
                if "%s.%s" % (ks, cf.split("-")[0]) in plain or "%s.%s" % (ks, cf) in plain:
                    md5, size = copy_plain(os.path.join(tdir, rel), dst)
                    objects.append({"path": key, "MD5": md5, "size": size,
                                    "source_MD5": None, "source_size": None})
                else:
                    md5, size, smd5, ssize = encrypt_file(fernet, os.path.join(tdir, rel), dst)
                    objects.append({"path": key, "MD5": md5, "size": size,
                                    "source_MD5": smd5, "source_size": ssize})
            manifest.append({"keyspace": ks, "columnfamily": cf, "objects": objects})
    tokenmap = json.dumps({fqdn: {"tokens": [-6917529027641081856, -2305843009213693952,
                                             2305843009213693952, 6917529027641081856],
                                  "is_up": True, "rack": "rack1", "dc": "dc1"}})
    schema = "CREATE KEYSPACE ks0 WITH replication = {'class': 'SimpleStrategy', " \
             "'replication_factor': '1'};\n"
    man = json.dumps(manifest)
    # meta: always plaintext (Medusa's PLAINTEXT_FILES_REGEX)
    put(store, base + "/meta/schema.cql", schema.encode())
    put(store, base + "/meta/tokenmap.json", tokenmap.encode())
    put(store, base + "/meta/server_version.json",
        b'{"server_type": "cassandra", "release_version": "4.1.5"}')
    if not full:
        put(store, base + "/meta/differential", b"differential")
    put(store, base + "/meta/manifest.json", man.encode())
    idx = "index/backup_index/%s/" % name
    put(store, idx + "tokenmap_%s.json" % fqdn, tokenmap.encode())
    put(store, idx + "schema_%s.cql" % fqdn, schema.encode())
    put(store, idx + "started_%s_%d.timestamp" % (fqdn, ts), str(ts).encode())
    put(store, idx + "manifest_%s.json" % fqdn, man.encode())
    put(store, idx + "finished_%s_%d.timestamp" % (fqdn, ts), str(ts).encode())
    put(store, "index/latest_backup/%s/backup_name.txt" % fqdn, name.encode())
    put(store, "index/latest_backup/%s/tokenmap.json" % fqdn, tokenmap.encode())
    n = sum(len(t["objects"]) for t in manifest)
    print("medusa_fernet: backup %s of %s: %d objects in %d tables" % (name, fqdn, n, len(manifest)))


def decrypt(key_file, src, dst):
    """Medusa's EncryptionManager.decrypt_file."""
    fernet = Fernet(read_key(key_file))
    with open(src, "rb") as f_in, open(dst, "wb") as f_out:
        while True:
            head = f_in.read(4)
            if not head:
                break
            n = struct.unpack(">I", head)[0]
            if n > MAX_CHUNK_SIZE:
                raise IOError("chunk length %d exceeds %d" % (n, MAX_CHUNK_SIZE))
            token = f_in.read(n)
            if len(token) != n:
                raise IOError("cut chunk")
            f_out.write(fernet.decrypt(token))


def main(argv):
    if len(argv) >= 2 and argv[1] == "keygen":
        print(Fernet.generate_key().decode())
        return 0
    if len(argv) >= 7 and argv[1] == "backup":
        rest = argv[7:]
        full = "--full" in rest
        plain = [rest[i + 1] for i in range(len(rest) - 1) if rest[i] == "--plain"]
        backup(argv[2], argv[3], argv[4], argv[5], argv[6], full, plain)
        return 0
    if len(argv) == 5 and argv[1] == "decrypt":
        decrypt(argv[2], argv[3], argv[4])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
