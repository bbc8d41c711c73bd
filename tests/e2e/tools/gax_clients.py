#!/usr/bin/env python3
"""Test clients for gax's end-to-end checks (Python standard library only).

Runs in the client namespace of the testbed (scripts/testbed.sh) against
tests/e2e/tools/gax_servers.py behind the forwarder. Every attempt binds one
of the given source addresses (the kernel picks the source port, so every
attempt is a new 5-tuple) and records what the server said.

    gax_clients.py tcp    --target 10.0.0.100:80 --sources 10.0.0.10-42 --per-source 4
    gax_clients.py udp    --target 10.0.0.100:53 --sources 10.0.0.10-42 --count 100
    gax_clients.py get    --target 10.0.0.100:80 --bytes 1048576
    gax_clients.py put    --target 10.0.0.100:80 --bytes 1048576
    gax_clients.py closed --target 10.0.0.100:81 [--proto udp]

tcp     connect, send HELLO, read "endpoint=A:P peer=B:Q"
udp     send a datagram, expect the endpoint line and the payload echoed,
        from the address and port it was sent to (--retries R sends it again
        from the same socket when no answer came within timeout/(R+1))
get     GET n: the endpoint line then n bytes; checks their sha256 against
        the stream the servers send (gax_servers.stream)
put     PUT n of random bytes; the server answers their sha256, checked here
closed  expects no service: ok when nothing answers within --timeout (or the
        connection is refused); not ok when a connection or reply comes

Sources: "10.0.0.10-42" (last octet range), "10.0.0.10-10.0.0.42", or a
comma-separated mix. Attempts: --per-source K rounds over all sources, or
--count N attempts cycling over them (at most --max-attempts). Bounded:
--timeout per operation, --deadline for the whole run (attempts not started
by then are recorded as not attempted), and --give-up N stops early when the
first N attempts all fail (a dead forwarder then costs seconds, not minutes).

Output: one JSON object on stdout: {"scenario", "target", "records":
[{"i", "source", "sport", "ok", "endpoint", "peer", "error", "ms", ...}],
"summary": {"attempts", "ok", "failed", "not_attempted", "endpoints",
"errors", "seconds"}}. Exit status 0 when every attempt is ok, 1 otherwise,
2 on a usage error.
"""
import argparse
import concurrent.futures
import errno
import hashlib
import ipaddress
import json
import os
import socket
import sys
import threading
import time


def stream(n):
    """Same bytes as gax_servers.stream(n)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"gax" + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:n])


def parse_sources(spec):
    out = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if "-" in item:
            first, last = item.split("-", 1)
            a = ipaddress.IPv4Address(first)
            b = ipaddress.IPv4Address(last) if "." in last else \
                ipaddress.IPv4Address(int(a) & ~0xFF | int(last))
            if int(b) < int(a):
                raise ValueError(f"{item!r}: reversed range")
            out += [str(ipaddress.IPv4Address(x)) for x in range(int(a), int(b) + 1)]
        else:
            out.append(str(ipaddress.IPv4Address(item)))
    if not out:
        raise ValueError("no source address")
    return out


def parse_target(spec):
    addr, sep, port = spec.rpartition(":")
    if not sep:
        raise ValueError(f"{spec!r}: expected ADDR:PORT")
    return str(ipaddress.IPv4Address(addr)), int(port)


def error_kind(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, OSError) and e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    return type(e).__name__


class Deadline(Exception):
    pass


class Attempt:
    """Per-attempt clock: every blocking call gets the smaller of --timeout
    and what is left of the attempt's and the run's time."""

    def __init__(self, timeout, limit, run_deadline):
        self.timeout = timeout
        self.end = min(time.monotonic() + limit, run_deadline)

    def arm(self, sock):
        left = self.end - time.monotonic()
        if left <= 0:
            raise socket.timeout("attempt time is up")
        sock.settimeout(min(self.timeout, left))


def parse_hello(line, rec):
    words = dict(w.split("=", 1) for w in line.split() if "=" in w)
    if "endpoint" not in words or "peer" not in words:
        raise ValueError(f"unexpected answer {line[:80]!r}")
    rec["endpoint"] = words["endpoint"]
    rec["peer"] = words["peer"]


def read_line(sock, clock, buf=b""):
    while b"\n" not in buf:
        clock.arm(sock)
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed by the far end after {len(buf)} bytes"
                                  if buf else "closed by the far end without an answer")
        buf += chunk
        if len(buf) > 8192:
            raise ValueError("answer line too long")
    line, _, rest = buf.partition(b"\n")
    return line.decode("utf-8", "replace").rstrip("\r"), rest


def tcp_connect(src, target, clock, rec):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        rec["sport"] = s.getsockname()[1]
        clock.arm(s)
        s.connect(target)
    except BaseException:
        s.close()
        raise
    return s


def do_tcp(args, src, clock, rec):
    s = tcp_connect(src, args.target, clock, rec)
    with s:
        s.sendall(b"HELLO\n")
        line, _ = read_line(s, clock)
        parse_hello(line, rec)


def do_get(args, src, clock, rec):
    n = args.bytes
    s = tcp_connect(src, args.target, clock, rec)
    with s:
        s.sendall(f"GET {n}\n".encode())
        line, rest = read_line(s, clock)
        parse_hello(line, rec)
        h = hashlib.sha256(rest[:n])
        got = len(rest)
        while got < n:
            clock.arm(s)
            chunk = s.recv(min(262144, n - got))
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
        rec["bytes"] = got
        rec["sha256"] = h.hexdigest()
        if got != n:
            raise ValueError(f"received {got} of {n} bytes")
        if rec["sha256"] != args.expect_sha:
            raise ValueError(f"sha256 {rec['sha256'][:16]}... differs from the "
                             f"stream's {args.expect_sha[:16]}...")


def do_put(args, src, clock, rec):
    n = args.bytes
    s = tcp_connect(src, args.target, clock, rec)
    with s:
        s.sendall(f"PUT {n}\n".encode())
        view = memoryview(args.payload)
        sent = 0
        while sent < n:
            clock.arm(s)
            sent += s.send(view[sent:sent + 262144])
        rec["bytes"] = sent
        line, rest = read_line(s, clock)
        parse_hello(line, rec)
        line, _ = read_line(s, clock, rest)
        rec["sha256"] = line.partition("=")[2]
        if line != f"sha256={args.expect_sha}":
            raise ValueError(f"server hashed {line[:30]!r}, sent sha256="
                             f"{args.expect_sha[:16]}...")


def do_udp(args, src, clock, rec):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        rec["sport"] = s.getsockname()[1]
        payload = f"gax {src}:{rec['sport']} #{rec['i']}".encode()
        # --retries: the same datagram again from the same socket (the same
        # flow) when nothing came back within its share of --timeout.
        tries = args.retries + 1
        per_try = args.timeout / tries
        rec["tries"] = 0
        while True:
            if rec["tries"] < tries and (rec["tries"] == 0 or
                                         time.monotonic() >= next_send):
                s.sendto(payload, args.target)
                rec["tries"] += 1
                next_send = time.monotonic() + per_try
            clock.arm(s)
            if rec["tries"] < tries:
                s.settimeout(max(0.001, min(s.gettimeout(), next_send - time.monotonic())))
            try:
                data, frm = s.recvfrom(65535)
            except socket.timeout:
                if rec["tries"] < tries and time.monotonic() < clock.end:
                    continue
                raise
            rec["from"] = f"{frm[0]}:{frm[1]}"
            if frm[:2] == args.target:
                break
            # An answer from elsewhere (no reverse NAT?) is recorded and
            # counted as an error unless the right one follows.
            rec["stray"] = rec.get("stray", 0) + 1
            if rec["stray"] >= 3:
                raise ValueError(f"answers come from {rec['from']}, not "
                                 f"{args.target[0]}:{args.target[1]}")
        line, _, echo = data.partition(b"\n")
        parse_hello(line.decode("utf-8", "replace"), rec)
        if echo != payload:
            raise ValueError(f"payload not echoed: got {echo[:60]!r}")


def do_closed(args, src, clock, rec):
    """ok (raises nothing) when there is no service; raises when served."""
    if args.proto == "tcp":
        try:
            s = tcp_connect(src, args.target, clock, rec)
        except OSError as e:
            rec["outcome"] = error_kind(e)
            return
        with s:
            rec["outcome"] = "connected"
            try:
                s.sendall(b"HELLO\n")
                line, _ = read_line(s, clock)
                rec["answer"] = line[:100]
            except (OSError, ValueError, ConnectionError) as e:
                rec["answer_error"] = error_kind(e)
        raise ValueError("a connection was accepted" +
                         (f", answer {rec['answer']!r}" if "answer" in rec else ""))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        rec["sport"] = s.getsockname()[1]
        s.sendto(f"gax closed {src}:{rec['sport']}".encode(), args.target)
        try:
            clock.arm(s)
            data, frm = s.recvfrom(65535)
        except OSError as e:
            rec["outcome"] = error_kind(e)
            return
        rec["outcome"] = "answered"
        rec["answer"] = data[:100].decode("utf-8", "replace")
        rec["from"] = f"{frm[0]}:{frm[1]}"
        raise ValueError(f"an answer came from {rec['from']}: {rec['answer']!r}")


SCENARIOS = {"tcp": do_tcp, "udp": do_udp, "get": do_get, "put": do_put,
             "closed": do_closed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--target", required=True, help="ADDR:PORT")
    ap.add_argument("--sources", default="10.0.0.10", help="e.g. 10.0.0.10-42")
    ap.add_argument("--per-source", type=int, help="K rounds over all sources")
    ap.add_argument("--count", type=int, help="N attempts cycling over the sources")
    ap.add_argument("--max-attempts", type=int, default=5000)
    ap.add_argument("--timeout", type=float, default=2.0, help="per operation (s)")
    ap.add_argument("--attempt-limit", type=float, default=20.0,
                    help="whole attempt (s), for get/put")
    ap.add_argument("--deadline", type=float, default=60.0, help="whole run (s)")
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--give-up", type=int, default=0, metavar="N",
                    help="stop when the first N attempts all fail (0: never)")
    ap.add_argument("--bytes", type=int, default=1 << 20, help="get/put size")
    ap.add_argument("--retries", type=int, default=0,
                    help="udp: send the datagram again this many times (same socket) "
                         "while no answer came")
    ap.add_argument("--proto", choices=["tcp", "udp"], default="tcp", help="closed only")
    ap.add_argument("--summary-only", action="store_true", help="leave the records out")
    args = ap.parse_args()
    try:
        sources = parse_sources(args.sources)
        args.target = parse_target(args.target)
    except ValueError as e:
        ap.error(str(e))
    if args.per_source is not None and args.count is not None:
        ap.error("give --per-source or --count, not both")
    total = args.count if args.count is not None else \
        (args.per_source if args.per_source is not None else 1) * len(sources)
    if total < 1 or total > args.max_attempts:
        ap.error(f"{total} attempts: must be 1..{args.max_attempts} (--max-attempts)")
    if args.parallel < 1 or args.timeout <= 0 or args.deadline <= 0:
        ap.error("--parallel, --timeout and --deadline must be positive")
    if args.scenario == "get":
        args.expect_sha = hashlib.sha256(stream(args.bytes)).hexdigest()
    elif args.scenario == "put":
        args.payload = os.urandom(args.bytes)
        args.expect_sha = hashlib.sha256(args.payload).hexdigest()
    if args.scenario in ("get", "put") and args.attempt_limit < args.timeout:
        args.attempt_limit = args.timeout
    if args.retries < 0:
        ap.error("--retries must be 0 or more")
    limit = args.attempt_limit if args.scenario in ("get", "put") else args.timeout * 3

    start = time.monotonic()
    run_deadline = start + args.deadline
    lock = threading.Lock()
    state = {"done": 0, "ok": 0, "abort": None}
    fn = SCENARIOS[args.scenario]

    def one(i):
        src = sources[i % len(sources)]
        rec = {"i": i, "source": src, "sport": None, "ok": False,
               "endpoint": None, "peer": None, "error": None}
        with lock:
            abort = state["abort"]
        if abort:
            rec["error"] = f"not attempted: {abort}"
            rec["attempted"] = False
            return rec
        if time.monotonic() >= run_deadline:
            rec["error"] = f"not attempted: --deadline {args.deadline:g} s reached"
            rec["attempted"] = False
            return rec
        t0 = time.monotonic()
        try:
            fn(args, src, Attempt(args.timeout, limit, run_deadline), rec)
            rec["ok"] = True
        except (OSError, ValueError, ConnectionError, Deadline) as e:
            rec["error"] = f"{error_kind(e)}: {e}" if str(e) else error_kind(e)
        rec["ms"] = round((time.monotonic() - t0) * 1000, 1)
        with lock:
            state["done"] += 1
            state["ok"] += rec["ok"]
            if (args.give_up and state["done"] >= args.give_up and state["ok"] == 0
                    and not state["abort"]):
                state["abort"] = f"the first {args.give_up} attempts all failed (--give-up)"
        return rec

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel) as ex:
        records = list(ex.map(one, range(total)))

    endpoints, errors = {}, {}
    for r in records:
        if r["ok"] and r["endpoint"]:
            endpoints[r["endpoint"]] = endpoints.get(r["endpoint"], 0) + 1
        if r["error"]:
            kind = r["error"].split(":", 1)[0]
            errors[kind] = errors.get(kind, 0) + 1
        if args.scenario == "closed" and r.get("outcome"):
            key = "outcome " + r["outcome"]
            errors[key] = errors.get(key, 0) + 1
    attempted = [r for r in records if r.get("attempted", True)]
    summary = {
        "attempts": total,
        "ok": sum(r["ok"] for r in records),
        "failed": sum(not r["ok"] for r in attempted),
        "not_attempted": total - len(attempted),
        "sources": len(sources),
        "endpoints": dict(sorted(endpoints.items())),
        "errors": dict(sorted(errors.items())),
        "seconds": round(time.monotonic() - start, 2),
    }
    out = {"scenario": args.scenario, "target": f"{args.target[0]}:{args.target[1]}",
           "summary": summary}
    if args.scenario == "closed":
        out["proto"] = args.proto
    if not args.summary_only:
        out["records"] = records
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0 if summary["ok"] == total else 1


if __name__ == "__main__":
    sys.exit(main())
