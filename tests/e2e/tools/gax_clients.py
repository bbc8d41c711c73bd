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
    gax_clients.py hold   --target 10.0.0.100:80 --sources 10.0.0.11-30 \
                          --interval 0.05 --duration 90 --stop-file F --ready R
    gax_clients.py stream --target 10.0.0.100:53 --sources 10.0.0.31-34 \
                          --rate 200 --duration 90 --stop-file F --ready R

tcp     connect, send HELLO, read "endpoint=A:P peer=B:Q"
udp     send a datagram, expect the endpoint line and the payload echoed,
        from the address and port it was sent to (--retries R sends it again
        from the same socket when no answer came within timeout/(R+1))
get     GET n: the endpoint line then n bytes; checks their sha256 against
        the stream the servers send (gax_servers.stream)
put     PUT n of random bytes; the server answers their sha256, checked here
closed  expects no service: ok when nothing answers within --timeout (or the
        connection is refused); not ok when a connection or reply comes
hold    long-lived TCP connections (one per source, or --count of them over
        the sources): connect, send ECHO, read the endpoint line, then every
        --interval send a numbered line and expect it echoed whole within
        --timeout, until --duration or until --stop-file exists; then close
        (shutdown, then the server's EOF). A connection is ok when it never
        saw an error (reset, timeout, wrong echo) and closed cleanly. Once
        every connection has its endpoint line (or failed), --ready FILE gets
        {"connections": [{"i", "source", "sport", "endpoint", "peer", "ok",
        "error"}]} (written beside, then renamed).
stream  a steady UDP stream: one socket per source, --rate datagrams per
        second in all (round robin over the sockets), each numbered; every
        answer is matched to its number (the endpoint line and the payload
        echoed, from the target). Stops sending at --duration or when
        --stop-file exists, then waits --grace seconds for the last answers.
        ok when every datagram was answered exactly once and correctly.
        --ready FILE is written once every socket had an answer (or after
        5 s, with what is known).

Sources: "10.0.0.10-42" (last octet range), "10.0.0.10-10.0.0.42", or a
comma-separated mix. Attempts: --per-source K rounds over all sources, or
--count N attempts cycling over them (at most --max-attempts). Bounded:
--timeout per operation, --deadline for the whole run (attempts not started
by then are recorded as not attempted), and --give-up N stops early when the
first N attempts all fail (a dead forwarder then costs seconds, not minutes).

Output: one JSON object on stdout: {"scenario", "target", "records":
[{"i", "source", "sport", "ok", "endpoint", "peer", "error", "ms", ...}],
"summary": {"attempts", "ok", "failed", "not_attempted", "endpoints",
"errors", "seconds"}}; hold and stream print their own "summary" (and
hold one record per connection: "sent", "echoed", "error", "error_at"
(seconds after "started", a Unix time in the summary), "close", ...).
Exit status 0 when every attempt is ok, 1 otherwise, 2 on a usage error.
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


def write_atomic(path, obj):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.write("\n")
    os.replace(tmp, path)


def stop_requested(args, end):
    return time.monotonic() >= end or (args.stop_file and os.path.exists(args.stop_file))


def hold(args, sources):
    """Long-lived echo connections; see the module doc."""
    n = args.count if args.count is not None else len(sources)
    started = time.time()
    start = time.monotonic()
    end = start + args.duration
    recs = [{"i": i, "source": sources[i % len(sources)], "sport": None, "ok": False,
             "endpoint": None, "peer": None, "error": None, "error_at": None,
             "sent": 0, "echoed": 0, "rtt_max_ms": None, "close": None}
            for i in range(n)]
    connected = threading.Barrier(n + 1)
    lock = threading.Lock()

    def fail(rec, e):
        with lock:
            if rec["error"] is None:
                rec["error"] = f"{error_kind(e)}: {e}" if str(e) else error_kind(e)
                rec["error_at"] = round(time.monotonic() - start, 3)

    def run(rec):
        s = None
        clock = Attempt(args.timeout, args.timeout * 2, end)
        try:
            s = tcp_connect(rec["source"], args.target, clock, rec)
            s.sendall(b"ECHO\n")
            line, buf = read_line(s, clock)
            parse_hello(line, rec)
        except (OSError, ValueError, ConnectionError) as e:
            fail(rec, e)
            if s is not None:
                s.close()
            s = None
        try:
            connected.wait(timeout=args.timeout * 3 + 1)
        except threading.BrokenBarrierError:
            pass
        if s is None:
            return
        rtt_max = 0.0
        pad = "x" * max(0, args.size - 24)
        try:
            with s:
                seq = 0
                next_t = time.monotonic()
                while not stop_requested(args, end):
                    msg = f"{rec['i']} {seq} {pad}\n".encode()
                    t0 = time.monotonic()
                    s.sendall(msg)
                    rec["sent"] += 1
                    clock = Attempt(args.timeout, args.timeout, t0 + args.timeout)
                    line, buf = read_line(s, clock, buf)
                    if (line + "\n").encode() != msg:
                        raise ValueError(f"message {seq} echoed as {line[:40]!r}")
                    rec["echoed"] += 1
                    rtt_max = max(rtt_max, time.monotonic() - t0)
                    seq += 1
                    next_t += args.interval
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    else:
                        next_t = time.monotonic()
                # A clean close: our FIN, then the server's EOF (not a reset).
                s.shutdown(socket.SHUT_WR)
                clock = Attempt(args.timeout, args.timeout, time.monotonic() + args.timeout)
                clock.arm(s)
                extra = s.recv(4096)
                if extra:
                    raise ValueError(f"unexpected bytes after the last echo: {extra[:40]!r}")
                rec["close"] = "eof"
        except (OSError, ValueError, ConnectionError) as e:
            fail(rec, e)
        rec["rtt_max_ms"] = round(rtt_max * 1000, 1)
        rec["ok"] = rec["error"] is None and rec["close"] == "eof"

    threads = [threading.Thread(target=run, args=(r,), daemon=True) for r in recs]
    for t in threads:
        t.start()
    try:
        connected.wait(timeout=args.timeout * 3 + 2)
    except threading.BrokenBarrierError:
        pass
    if args.ready:
        with lock:
            write_atomic(args.ready, {"connections": [
                {k: r[k] for k in ("i", "source", "sport", "endpoint", "peer", "error")}
                | {"ok": r["error"] is None} for r in recs]})
    for t in threads:
        t.join(timeout=max(0.0, end - time.monotonic()) + args.timeout * 3 + 2)
    alive = sum(t.is_alive() for t in threads)
    errors = {}
    for r in recs:
        if r["error"]:
            kind = r["error"].split(":", 1)[0]
            errors[kind] = errors.get(kind, 0) + 1
    endpoints = {}
    for r in recs:
        if r["endpoint"]:
            endpoints[r["endpoint"]] = endpoints.get(r["endpoint"], 0) + 1
    summary = {
        "connections": n,
        "ok": sum(r["ok"] for r in recs),
        "failed": sum(not r["ok"] for r in recs),
        "messages_sent": sum(r["sent"] for r in recs),
        "messages_echoed": sum(r["echoed"] for r in recs),
        "rtt_max_ms": max((r["rtt_max_ms"] or 0) for r in recs),
        "endpoints": dict(sorted(endpoints.items())),
        "errors": dict(sorted(errors.items())),
        "threads_stuck": alive,
        "started": started,
        "seconds": round(time.monotonic() - start, 2),
    }
    json.dump({"scenario": "hold", "target": f"{args.target[0]}:{args.target[1]}",
               "summary": summary, "records": recs}, sys.stdout)
    sys.stdout.write("\n")
    return 0 if summary["ok"] == n and not alive else 1


def udp_stream(args, sources):
    """A numbered UDP stream; see the module doc (scenario "stream")."""
    import selectors
    sel = selectors.DefaultSelector()
    socks = []
    for src in sources:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, len(socks))
        socks.append(s)
    names = [f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in socks]
    started = time.time()
    start = time.monotonic()
    end = start + args.duration
    sent_at = []                    # seq -> send time
    answers = {}                    # seq -> count
    bad, stray, send_errors = [], 0, []
    rtts = []
    per_sock = [{"socket": names[i], "sent": 0, "answered": 0, "endpoints": {}}
                for i in range(len(socks))]
    interval = 1.0 / args.rate
    lag_max = 0.0
    ready_written = not args.ready

    def receive(timeout):
        nonlocal stray
        for key, _ in sel.select(timeout=max(0.0, timeout)):
            s, k = key.fileobj, key.data
            for _ in range(64):
                try:
                    data, frm = s.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as e:
                    bad.append(f"{names[k]}: {error_kind(e)}: {e}")
                    break
                now = time.monotonic()
                if frm[:2] != args.target:
                    stray += 1
                    continue
                line, _, echo = data.partition(b"\n")
                words = echo.decode("utf-8", "replace").split()
                rec = {}
                try:
                    parse_hello(line.decode("utf-8", "replace"), rec)
                    if len(words) != 3 or words[0] != "gaxstream" or words[2] != names[k]:
                        raise ValueError(f"payload {echo[:60]!r}")
                    seq = int(words[1])
                    if not 0 <= seq < len(sent_at):
                        raise ValueError(f"sequence number {seq} was never sent")
                except ValueError as e:
                    if len(bad) < 50:
                        bad.append(f"{names[k]}: {e}")
                    continue
                if args.expect_endpoint and rec["endpoint"] != args.expect_endpoint:
                    if len(bad) < 50:
                        bad.append(f"{names[k]}: #{seq} answered by {rec['endpoint']}")
                    continue
                answers[seq] = answers.get(seq, 0) + 1
                if answers[seq] == 1:
                    rtts.append(now - sent_at[seq])
                    per_sock[k]["answered"] += 1
                    eps = per_sock[k]["endpoints"]
                    eps[rec["endpoint"]] = eps.get(rec["endpoint"], 0) + 1

    while not stop_requested(args, end) and len(sent_at) < args.max_datagrams:
        seq = len(sent_at)
        due = start + seq * interval
        now = time.monotonic()
        if due > now:
            receive(due - now)
            continue
        lag_max = max(lag_max, now - due)
        k = seq % len(socks)
        sent_at.append(now)
        try:
            socks[k].sendto(f"gaxstream {seq} {names[k]}".encode(), args.target)
            per_sock[k]["sent"] += 1
        except OSError as e:
            if len(send_errors) < 20:
                send_errors.append(f"#{seq} from {names[k]}: {error_kind(e)}: {e}")
        receive(0)
        if not ready_written and (all(p["answered"] for p in per_sock) or
                                  now - start > 5):
            write_atomic(args.ready, {"sockets": per_sock, "seconds": round(now - start, 3)})
            ready_written = True
    stopped = time.monotonic()
    while time.monotonic() < stopped + args.grace and len(answers) < len(sent_at):
        receive(stopped + args.grace - time.monotonic())
    if not ready_written:
        write_atomic(args.ready, {"sockets": per_sock, "seconds": None})
    for s in socks:
        s.close()

    lost = [i for i in range(len(sent_at)) if i not in answers]
    runs, run_len = 0, 0
    for i in range(len(sent_at)):
        run_len = run_len + 1 if i not in answers else 0
        runs = max(runs, run_len)
    rtts.sort()
    summary = {
        "sockets": len(socks),
        "rate": args.rate,
        "sent": len(sent_at) - len(send_errors),
        "send_errors": send_errors,
        "answered": len(answers),
        "lost": len(lost),
        "lost_seqs": lost[:40],
        "lost_at_s": [round(sent_at[i] - start, 3) for i in lost[:40]],
        "longest_loss_run": runs,
        "duplicates": sum(c - 1 for c in answers.values()),
        "bad": bad[:20],
        "n_bad": len(bad),
        "stray": stray,
        "rtt_max_ms": round(rtts[-1] * 1000, 2) if rtts else None,
        "rtt_p99_ms": round(rtts[int(len(rtts) * 0.99)] * 1000, 2) if rtts else None,
        "send_lag_max_ms": round(lag_max * 1000, 1),
        "per_socket": per_sock,
        "started": started,
        "send_seconds": round(stopped - start, 2),
        "seconds": round(time.monotonic() - start, 2),
    }
    good = (len(sent_at) > 0 and not lost and not bad and not send_errors and not stray
            and summary["duplicates"] == 0)
    summary["ok"] = good
    json.dump({"scenario": "stream", "target": f"{args.target[0]}:{args.target[1]}",
               "summary": summary}, sys.stdout)
    sys.stdout.write("\n")
    return 0 if good else 1


LONG_RUNS = {"hold": hold, "stream": udp_stream}

SCENARIOS = {"tcp": do_tcp, "udp": do_udp, "get": do_get, "put": do_put,
             "closed": do_closed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(SCENARIOS) + sorted(LONG_RUNS))
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
    ap.add_argument("--duration", type=float, default=30.0,
                    help="hold/stream: run at most this long (s)")
    ap.add_argument("--stop-file", help="hold/stream: stop early once this file exists")
    ap.add_argument("--ready", metavar="FILE", help="hold/stream: written once under way")
    ap.add_argument("--interval", type=float, default=0.05,
                    help="hold: seconds between the messages of a connection")
    ap.add_argument("--size", type=int, default=48, help="hold: message size (bytes)")
    ap.add_argument("--rate", type=float, default=200.0,
                    help="stream: datagrams per second, all sockets together")
    ap.add_argument("--grace", type=float, default=2.0,
                    help="stream: wait this long for answers after the last send")
    ap.add_argument("--max-datagrams", type=int, default=200000, help="stream: at most")
    ap.add_argument("--expect-endpoint", metavar="ADDR:PORT",
                    help="stream: an answer from another endpoint is an error")
    args = ap.parse_args()
    try:
        sources = parse_sources(args.sources)
        args.target = parse_target(args.target)
    except ValueError as e:
        ap.error(str(e))
    if args.scenario in LONG_RUNS:
        if not (0 < args.duration <= 3600) or args.timeout <= 0 or args.interval <= 0 \
                or not (0 < args.rate <= 100000) or args.grace < 0:
            ap.error("--duration (up to 3600), --timeout, --interval, --rate must be "
                     "positive")
        if args.count is not None and not 1 <= args.count <= 1000:
            ap.error("hold: --count must be 1..1000")
        return LONG_RUNS[args.scenario](args, sources)
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
