#!/usr/bin/env python3
"""A tiny HTTP forwarding proxy for the S3 tests (python3 stdlib only).

It listens on 127.0.0.1, prints its port on stdout, and forwards requests to
an S3 server byte for byte (the Host header stays what the client sent, so
SigV4 signatures stay valid), except for the requests it is told to break:

  --fail-first N     answer the first N requests with --status (503 by
                     default) and an S3 <Error> body (--code, SlowDown)
  --fail-all         answer every request so: a server that stays down
  --reset-first N    reset the connection (TCP RST) on the first N requests
  --log FILE         append "N METHOD TARGET[ range=R] ACTION" per request
  --tls-cert C --tls-key K   speak https to clients (with that certificate);
                     the server behind is still plain http

Requests are counted across connections, in the order their heads arrive.
Bodies are framed by Content-Length (what cassette sends; no chunked upload).
The proxy exits when its parent dies, so a crashed test leaves nothing.
"""
import argparse
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

lock = threading.Lock()
count = 0
args = None

ERROR_TEMPLATE = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<Error><Code>{code}</Code><Message>{msg}</Message>'
                  '<RequestId>fault-proxy</RequestId></Error>')
REASONS = {500: 'Internal Server Error', 503: 'Slow Down', 429: 'Too Many Requests'}


def log(line):
    if args.log:
        with open(args.log, 'a') as f:
            f.write(line + '\n')


def decide(method, target):
    """The request's number and what to do with it."""
    global count
    with lock:
        count += 1
        n = count
    if args.fail_all or n <= args.fail_first:
        action = 'fail'
    elif n <= args.reset_first:
        action = 'reset'
    else:
        action = 'forward'
    log('%d %s %s %s' % (n, method, target, action))
    return action


def parse_head(head):
    lines = head.split(b'\r\n')
    parts = lines[0].decode('latin-1').split(' ')
    method, target = parts[0], parts[1] if len(parts) > 1 else ''
    length, expect, rng = 0, False, ''
    for line in lines[1:]:
        name, _, value = line.partition(b':')
        name = name.strip().lower()
        if name == b'content-length':
            length = int(value.strip())
        elif name == b'expect' and value.strip().lower() == b'100-continue':
            expect = True
        elif name == b'range':
            rng = ' range=' + value.strip().decode('latin-1')
    return method, target + rng, length, expect


def error_response():
    body = ERROR_TEMPLATE.format(code=args.code, msg='Injected by fault_proxy.py').encode()
    head = ('HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n'
            'Connection: close\r\n\r\n' % (args.status, REASONS.get(args.status, 'Error'),
                                           len(body)))
    return head.encode() + body


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()


def readable(client, upstream):
    """Sockets with data; TLS may hold decrypted bytes select cannot see."""
    if isinstance(client, ssl.SSLSocket) and client.pending() > 0:
        return [client]
    rlist = [client] + ([upstream] if upstream else [])
    return select.select(rlist, [], [], 1.0)[0]


def serve(client):
    """One client connection: a single thread moves both directions, as an
    SSL socket must not be read and written by two threads at once."""
    upstream = None
    buf = b''
    body_left = 0      # request body bytes still to forward
    discard_left = 0   # body bytes of a failed request still to swallow
    pending_fail = False
    try:
        while True:
            for sock in readable(client, upstream):
                if sock is upstream:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    client.sendall(data)
                    continue
                data = client.recv(65536)
                if not data:
                    return
                buf += data
            while buf or (pending_fail and discard_left == 0):
                if body_left > 0:
                    n = min(body_left, len(buf))
                    upstream.sendall(buf[:n])
                    buf, body_left = buf[n:], body_left - n
                    continue
                if pending_fail:
                    n = min(discard_left, len(buf))
                    buf, discard_left = buf[n:], discard_left - n
                    if discard_left > 0:
                        break
                    client.sendall(error_response())
                    return
                end = buf.find(b'\r\n\r\n')
                if end < 0:
                    break
                head, buf = buf[:end + 4], buf[end + 4:]
                method, target, length, expect = parse_head(head)
                action = decide(method, target)
                if action == 'reset':
                    reset(client)
                    client = None
                    return
                if action == 'fail':
                    # Read the body first unless the client waits for a
                    # 100 Continue: closing on unread data resets the
                    # connection, and the client would never see our answer.
                    pending_fail, discard_left = True, 0 if expect else length
                    continue
                if upstream is None:
                    upstream = socket.create_connection((args.host, args.port))
                upstream.sendall(head)
                body_left = length
    except (OSError, ValueError):
        pass
    finally:
        for sock in (client, upstream):
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass


def handle(conn, tls):
    try:
        client = tls.wrap_socket(conn, server_side=True) if tls else conn
    except (OSError, ssl.SSLError):
        conn.close()  # e.g. the client refused our certificate
        return
    serve(client)


def watch_parent(ppid):
    while True:
        if os.getppid() != ppid:
            os._exit(0)
        time.sleep(0.5)


def main():
    global args
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--target', required=True, help='HOST:PORT of the S3 server')
    p.add_argument('--listen-port', type=int, default=0)
    p.add_argument('--fail-first', type=int, default=0)
    p.add_argument('--fail-all', action='store_true')
    p.add_argument('--reset-first', type=int, default=0)
    p.add_argument('--status', type=int, default=503)
    p.add_argument('--code', default='SlowDown')
    p.add_argument('--log')
    p.add_argument('--tls-cert')
    p.add_argument('--tls-key')
    args = p.parse_args()
    args.host, _, port = args.target.rpartition(':')
    args.port = int(port)
    # --reset-first counts after the failures, as one sequence.
    args.reset_first += args.fail_first

    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', args.listen_port))
    srv.listen(64)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    sys.stdout.write('%d\n' % srv.getsockname()[1])
    sys.stdout.flush()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, tls), daemon=True).start()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
