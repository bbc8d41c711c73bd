#!/usr/bin/env python3
"""Speak gaxd's control socket (docs/control.md) from tests (Python standard
library only): newline-delimited JSON over a Unix stream socket, one reply
line per request.

    gax_ctl.py --socket /run/gax/gaxd.sock '{"cmd": "ping"}'
    gax_ctl.py --socket S ping
    gax_ctl.py --socket S show what=endpoints
    gax_ctl.py --socket S flows client=10.0.0.11 limit=5
    gax_ctl.py --socket S apply config=@file.json dry_run=true

A request is a JSON object, or a cmd followed by key=value fields (a value
that parses as JSON is taken as such, "@FILE" is the JSON in FILE, anything
else is a string). Prints the reply line; exit status 0 when the reply has
"ok": true, 1 when it has "ok": false, 2 when there is no reply (cannot
connect, timeout, closed). Bounded by --timeout.

As a module: Ctl(path).request({...}) -> dict, on one connection.
"""
import argparse
import json
import socket
import sys


class CtlError(Exception):
    pass


class Ctl:
    def __init__(self, path, timeout=10.0):
        self.path = path
        self.timeout = timeout
        self.sock = None
        self.buf = b""

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            raise CtlError(f"cannot connect to {self.path}: {e}") from e
        self.sock = s
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def request(self, req):
        """Sends one request (a dict) and returns the reply (a dict)."""
        if self.sock is None:
            self.connect()
        line = json.dumps(req, separators=(",", ":")).encode() + b"\n"
        try:
            self.sock.sendall(line)
            while b"\n" not in self.buf:
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    raise CtlError("gaxd closed the connection without a reply")
                self.buf += chunk
        except OSError as e:
            self.close()
            raise CtlError(f"no reply: {type(e).__name__}: {e}") from e
        reply, _, self.buf = self.buf.partition(b"\n")
        try:
            out = json.loads(reply)
        except ValueError as e:
            raise CtlError(f"reply is not JSON: {reply[:200]!r}") from e
        if not isinstance(out, dict):
            raise CtlError(f"reply is not an object: {reply[:200]!r}")
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def request_once(path, req, timeout=10.0):
    with Ctl(path, timeout) as c:
        return c.request(req)


def parse_request(words):
    if len(words) == 1 and words[0].lstrip().startswith("{"):
        return json.loads(words[0])
    req = {"cmd": words[0]}
    for w in words[1:]:
        key, sep, value = w.partition("=")
        if not sep:
            raise ValueError(f"{w!r}: expected key=value")
        if value.startswith("@"):
            with open(value[1:]) as f:
                req[key] = json.load(f)
            continue
        try:
            req[key] = json.loads(value)
        except ValueError:
            req[key] = value
    return req


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--socket", default="/run/gax/gaxd.sock")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--pretty", action="store_true", help="indent the reply")
    ap.add_argument("request", nargs="+", help="a JSON object, or CMD [key=value ...]")
    args = ap.parse_args()
    try:
        req = parse_request(args.request)
    except (ValueError, OSError) as e:
        ap.error(str(e))
    try:
        reply = request_once(args.socket, req, args.timeout)
    except CtlError as e:
        print(f"gax_ctl: {e}", file=sys.stderr)
        return 2
    json.dump(reply, sys.stdout, indent=2 if args.pretty else None)
    sys.stdout.write("\n")
    return 0 if reply.get("ok") is True else 1


if __name__ == "__main__":
    sys.exit(main())
