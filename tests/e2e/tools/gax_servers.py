#!/usr/bin/env python3
"""Test endpoints for gax's end-to-end checks (Python standard library only).

Runs in the server namespace of the testbed (scripts/testbed.sh) and listens
on TCP and UDP at the given addresses and ports:

    gax_servers.py --tcp 10.1.0.11-13:80,10.1.0.11-13:8080-8081 \\
                   --udp 10.1.0.21:53 --log servers.jsonl --max-seconds 100

An item is ADDR[-LAST]:PORT[-LASTPORT]; items are separated by commas and
--tcp/--udp may be repeated. 10.1.0.11-13:8080-8081 means the addresses
10.1.0.11 to 10.1.0.13, each on ports 8080 and 8081.

TCP: one request line per connection.
    HELLO           -> "endpoint=<local addr>:<port> peer=<peer addr>:<port>"
    GET <n>         -> that line, then n bytes of the stream (see stream())
    PUT <n>         -> reads n bytes, answers "sha256=<hex>"
    ECHO            -> that line, then every byte received is sent back
                       until the client closes (long-lived connections);
                       the log record gets "echoed" (bytes) and "seconds"
    GET /... HTTP/1.x (HTTP mode, e.g. curl) -> "HTTP/1.1 200 OK" with the
                       endpoint line as the body, then the connection closes
UDP: every datagram is answered with the endpoint line, a newline and the
payload echoed back.

Every connection and datagram is appended to --log as one JSON line:
{"proto", "local", "lport", "peer", "pport", "request", "ts"} (plus
"result" for TCP: "ok" or what went wrong). Prints "servers: ready" once every
socket is bound; exits on SIGTERM/SIGINT or after --max-seconds.
"""
import argparse
import hashlib
import ipaddress
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time

IO_TIMEOUT = 10.0        # per-connection socket timeout (s)
MAX_LINE = 4096          # longest request line / HTTP header block accepted
MAX_PUT = 64 << 20       # largest PUT accepted
MAX_GET = 64 << 20       # largest GET served
MAX_THREADS = 256        # connections served at once; more wait in the backlog
ECHO_MAX_SECONDS = 600   # an ECHO connection is closed after this long


def stream(n):
    """The deterministic GET payload: sha256(b"gax" + 8-byte big-endian
    counter) for counter 0, 1, 2, ... concatenated and cut to n bytes. The
    clients compute the same bytes to check what arrived."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"gax" + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:n])


def parse_items(specs):
    """["10.1.0.11-13:80,10.1.0.21:53-54", ...] -> [(addr, port), ...]"""
    out = []
    for spec in specs:
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            addr, sep, ports = item.rpartition(":")
            if not sep:
                raise ValueError(f"{item!r}: expected ADDR[-LAST]:PORT[-LAST]")
            if "-" in addr:
                first, last = addr.split("-", 1)
                a = ipaddress.IPv4Address(first)
                if "." in last:
                    b = ipaddress.IPv4Address(last)
                else:
                    b = ipaddress.IPv4Address(int(a) & ~0xFF | int(last))
                addrs = [str(ipaddress.IPv4Address(x)) for x in range(int(a), int(b) + 1)]
            else:
                addrs = [str(ipaddress.IPv4Address(addr))]
            if "-" in ports:
                p1, p2 = (int(x) for x in ports.split("-", 1))
            else:
                p1 = p2 = int(ports)
            if not addrs or not (1 <= p1 <= p2 <= 65535):
                raise ValueError(f"{item!r}: empty address or port range")
            for a_ in addrs:
                for p in range(p1, p2 + 1):
                    if (a_, p) not in out:
                        out.append((a_, p))
    return out


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", buffering=1) if path else None

    def write(self, rec):
        if not self.f:
            return
        rec["ts"] = round(time.time(), 6)
        line = json.dumps(rec, sort_keys=True)
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()


def endpoint_line(local, peer):
    return f"endpoint={local[0]}:{local[1]} peer={peer[0]}:{peer[1]}"


def recv_line(conn, limit=MAX_LINE):
    """Reads up to and including the first newline; returns (line, rest)."""
    buf = b""
    while b"\n" not in buf:
        if len(buf) > limit:
            raise ValueError("request line too long")
        chunk = conn.recv(4096)
        if not chunk:
            if buf:
                break
            raise ConnectionError("closed before a request")
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return line.rstrip(b"\r").decode("utf-8", "replace"), rest


def recv_exact(conn, n, have=b""):
    h = hashlib.sha256()
    got = len(have)
    h.update(have[:n])
    while got < n:
        chunk = conn.recv(min(65536, n - got))
        if not chunk:
            raise ConnectionError(f"closed after {got} of {n} bytes")
        h.update(chunk)
        got += len(chunk)
    return h.hexdigest()


def wait_eof(conn, seconds=5.0):
    """Let the client close first (its side keeps TIME_WAIT, not ours)."""
    conn.settimeout(seconds)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def serve_tcp(conn, peer, log, slots):
    local = conn.getsockname()[:2]
    peer = peer[:2]
    rec = {"proto": "tcp", "local": local[0], "lport": local[1],
           "peer": peer[0], "pport": peer[1], "request": None}
    try:
        conn.settimeout(IO_TIMEOUT)
        line, rest = recv_line(conn)
        rec["request"] = line[:100]
        words = line.split()
        hello = endpoint_line(local, peer)
        if len(words) == 3 and words[0] in ("GET", "HEAD") and words[2].startswith("HTTP/"):
            head = rest
            while b"\r\n\r\n" not in head and b"\n\n" not in head:
                if len(head) > MAX_LINE:
                    raise ValueError("HTTP headers too long")
                chunk = conn.recv(4096)
                if not chunk:
                    break
                head += chunk
            body = (hello + "\n").encode()
            resp = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            conn.sendall(resp + (body if words[0] == "GET" else b""))
            rec["result"] = "ok"
        elif words == ["HELLO"]:
            conn.sendall((hello + "\n").encode())
            rec["result"] = "ok"
            wait_eof(conn)
        elif words == ["ECHO"]:
            conn.sendall((hello + "\n").encode() + rest)
            rec["echoed"] = len(rest)
            t0 = time.monotonic()
            rec["result"] = "ok"
            # Every read is bounded by IO_TIMEOUT: a silent client is closed.
            while time.monotonic() - t0 < ECHO_MAX_SECONDS:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                conn.sendall(chunk)
                rec["echoed"] += len(chunk)
            else:
                rec["result"] = f"closed after {ECHO_MAX_SECONDS} s"
            rec["seconds"] = round(time.monotonic() - t0, 3)
        elif len(words) == 2 and words[0] == "GET" and words[1].isdigit():
            n = int(words[1])
            if n > MAX_GET:
                raise ValueError(f"GET {n}: more than {MAX_GET}")
            conn.sendall((hello + "\n").encode() + stream(n))
            rec["result"] = "ok"
            wait_eof(conn)
        elif len(words) == 2 and words[0] == "PUT" and words[1].isdigit():
            n = int(words[1])
            if n > MAX_PUT:
                raise ValueError(f"PUT {n}: more than {MAX_PUT}")
            digest = recv_exact(conn, n, rest)
            conn.sendall(f"{hello}\nsha256={digest}\n".encode())
            rec["result"] = "ok"
            wait_eof(conn)
        else:
            conn.sendall(b"error unknown request\n")
            rec["result"] = "unknown request"
    except (OSError, ValueError, ConnectionError) as e:
        rec["result"] = f"{type(e).__name__}: {e}"
    finally:
        try:
            conn.close()
        except OSError:
            pass
        log.write(rec)
        slots.release()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tcp", action="append", default=[], metavar="ITEMS")
    ap.add_argument("--udp", action="append", default=[], metavar="ITEMS")
    ap.add_argument("--log", help="append one JSON line per connection/datagram")
    ap.add_argument("--max-seconds", type=float, default=300.0,
                    help="exit after this long whatever happens (default 300)")
    args = ap.parse_args()
    try:
        tcp = parse_items(args.tcp)
        udp = parse_items(args.udp)
    except ValueError as e:
        ap.error(str(e))
    if not tcp and not udp:
        ap.error("nothing to listen on (give --tcp and/or --udp)")

    # A plain flag, not a threading.Event: the handler runs in the main thread
    # between two bytecodes, and Event.set() takes a lock that thread may
    # hold at that moment (a server stopped under load hung there for good).
    stop = [False]

    def on_signal(*_):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log = Log(args.log)
    sel = selectors.DefaultSelector()
    socks = []
    try:
        for addr, port in tcp:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(512)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, "tcp")
            socks.append(s)
        for addr, port in udp:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, "udp")
            socks.append(s)
    except OSError as e:
        print(f"servers: cannot bind: {e}", file=sys.stderr, flush=True)
        return 1
    print(f"servers: ready ({len(tcp)} TCP, {len(udp)} UDP sockets, pid {os.getpid()})",
          flush=True)

    slots = threading.BoundedSemaphore(MAX_THREADS)
    deadline = time.monotonic() + args.max_seconds
    counts = {"tcp": 0, "udp": 0}
    while not stop[0] and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            if key.data == "tcp":
                if not slots.acquire(blocking=False):
                    continue        # every slot busy: leave it in the backlog
                try:
                    conn, peer = s.accept()
                except (BlockingIOError, InterruptedError, OSError):
                    slots.release()
                    continue
                conn.setblocking(True)
                counts["tcp"] += 1
                threading.Thread(target=serve_tcp, args=(conn, peer, log, slots),
                                 daemon=True).start()
            else:
                for _ in range(64):
                    try:
                        data, peer = s.recvfrom(65535)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    local = s.getsockname()[:2]
                    counts["udp"] += 1
                    reply = (endpoint_line(local, peer) + "\n").encode() + data
                    try:
                        s.sendto(reply, peer)
                        result = "ok"
                    except OSError as e:
                        result = f"{type(e).__name__}: {e}"
                    log.write({"proto": "udp", "local": local[0], "lport": local[1],
                               "peer": peer[0], "pport": peer[1],
                               "request": data[:100].decode("utf-8", "replace"),
                               "result": result})
    for s in socks:
        s.close()
    why = "signal" if stop[0] else f"--max-seconds {args.max_seconds:g}"
    print(f"servers: stopping ({why}): {counts['tcp']} TCP connections, "
          f"{counts['udp']} UDP datagrams", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
