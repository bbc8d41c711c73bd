#!/usr/bin/env bash
# gaxd's control socket (docs/control.md) with gaxctl as its client, on
# virtual devices (no hugepages, no NIC): ping, show, apply (dry run, valid,
# refused), every API verb, reload, stats, flows, persistence to the config
# file, and the socket's limits: garbage, unknown commands, a 70 MiB line, a
# client that stalls, 40 clients at once. gaxd runs on a temporary copy of
# tests/eal/null.json, since changes are written back to the file.
# TAP output. usage: test_control.sh GAXD GAXCTL SOURCE_ROOT
set -uo pipefail
gaxd=$1
gaxctl=$2
root=$3
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
expect() { # DESC COMMAND...: the command (a test) succeeds
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "failed: $*"; fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gaxctl.XXXXXX")
cfg=$tmp/gax.json
sock=$tmp/gaxd.sock
cp "$root/tests/eal/null.json" "$cfg"
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Speaks the protocol directly, for what gaxctl does not do (standard library only).
cat >"$tmp/raw.py" <<'EOF'
import json, socket, sys, threading, time

def conn(path, timeout=15.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s

def read_line(s):
    """One reply line, or None when the connection closes first."""
    buf = b""
    while b"\n" not in buf:
        try:
            chunk = s.recv(1 << 16)
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf.split(b"\n", 1)[0]

def request(path, req):
    s = conn(path)
    s.sendall(json.dumps(req).encode() + b"\n")
    line = read_line(s)
    s.close()
    return json.loads(line)

def say(line):
    """What a client got: the reply's ok and error, or CLOSED."""
    if line is None:
        return "CLOSED"
    r = json.loads(line)
    return "REPLY ok=%s error=%s" % (r.get("ok"), r.get("error"))

cmd, path = sys.argv[1], sys.argv[2]
if cmd == "config":      # the running document, canonical, and its generation
    r = request(path, {"cmd": "config.get"})
    print(json.dumps(r["config"], sort_keys=True))
    print(r["generation"])
elif cmd == "fields":    # KIND FIELD...: every entry of a reply array has them
    r = request(path, json.loads(sys.argv[3]))
    arr = r[sys.argv[4]]
    missing = [f for e in arr for f in sys.argv[5:] if f not in e]
    print("entries=%d missing=%s" % (len(arr), ",".join(sorted(set(missing))) or "none"))
elif cmd == "line":      # send one raw line, print what came back
    s = conn(path)
    s.sendall(sys.argv[3].encode() + b"\n")
    print(say(read_line(s)))
elif cmd == "big":       # a line of N MiB
    size = int(sys.argv[3]) << 20
    s = conn(path, 30.0)
    got = []
    t = threading.Thread(target=lambda: got.append(read_line(s)))
    t.start()
    head = b'{"cmd": "ping", "pad": "'
    chunk = b"x" * (1 << 20)
    sent = len(head)
    try:
        s.sendall(head)
        while sent < size:
            s.sendall(chunk)
            sent += len(chunk)
        s.sendall(b'"}\n')
    except OSError as e:
        print("send stopped after %d MiB: %s" % (sent >> 20, type(e).__name__))
    t.join(30)
    print(say(got[0] if got else None))
elif cmd == "stall":     # half a line, then nothing: seconds until gaxd closes
    s = conn(path, 30.0)
    s.sendall(b'{"cmd": "pi')
    t0 = time.monotonic()
    line = read_line(s)
    print("%s after %.1f s" % (say(line), time.monotonic() - t0))
elif cmd == "many":      # N clients connected at once, then each asks ping
    socks = []
    for _ in range(int(sys.argv[3])):
        try:
            socks.append(conn(path, 15.0))
        except OSError:
            socks.append(None)
    time.sleep(0.5)
    tally = {"ok": 0, "error": 0, "closed": 0, "refused": 0}
    for s in socks:
        if s is None:
            tally["refused"] += 1
            continue
        try:
            s.sendall(b'{"cmd": "ping"}\n')
        except OSError:
            pass
        line = read_line(s)
        if line is None:
            tally["closed"] += 1
        elif json.loads(line).get("ok"):
            tally["ok"] += 1
        else:
            tally["error"] += 1
    for s in socks:
        if s is not None:
            s.close()
    print(" ".join("%s=%d" % kv for kv in tally.items()))
EOF
raw() { timeout 60 python3 "$tmp/raw.py" "$@" 2>&1; }
rawrun() { out=$(raw "$@"); rc=$?; }
G=("$gaxctl" --socket "$sock")

"$gaxd" --no-huge -m 256 --no-pci --no-telemetry --log-level=lib.eal:error -l 0,1 \
	--file-prefix gaxctl$$ --vdev net_null0 --vdev net_null1 -- \
	--config "$cfg" --socket "$sock" --duration 60 >"$tmp/gaxd.log" 2>&1 &
pid=$!
for _ in $(seq 150); do
	"${G[@]}" ping >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done

# ---- ping, show ------------------------------------------------------------------
run "${G[@]}" ping
check "gaxctl ping: gaxd answers with its status" 0 "generation 1" "1 worker" "$cfg" || {
	echo "Bail out! gaxd does not answer on $sock"; cat "$tmp/gaxd.log" | sed 's/^/# /'; exit 1; }
run "${G[@]}" ping --json
check "ping --json: version, generation, uptime_s, workers, config_path" 0 '"version"' \
	'"generation": 1' '"uptime_s"' '"workers": 1' '"config_path"'
run "$gaxctl" --socket "$tmp/nothing.sock" ping
check "gaxctl without a gaxd on the socket exits 2 and says so" 2 "cannot reach gaxd at $tmp/nothing.sock"
run env GAX_SOCKET="$sock" "$gaxctl" ping
check "GAX_SOCKET names the socket" 0 "generation 1"

run "${G[@]}" show listeners
check "show listeners: a table with the listener" 0 "ACCELERATOR" "PORTS" "tcp-80" "10.0.0.100"
run "${G[@]}" show endpoint-groups
check "show endpoint-groups: a table with the group" 0 "TRAFFIC" "web/tcp-80" "eg"
run "${G[@]}" show endpoints
check "show endpoints: a table with the endpoint serving" 0 "STATE" "10.1.0.11" "serving"
rawrun fields "$sock" '{"cmd": "show", "what": "listeners"}' listeners key accelerator name \
	protocol ports client_affinity idle_timeout addresses groups new_flows active_flows
check "show listeners: every field of the contract" 0 "entries=1 missing=none"
rawrun fields "$sock" '{"cmd": "show", "what": "endpoint-groups"}' endpoint_groups key listener \
	name region traffic_percentage share reserve_client_ip port_overrides endpoints active_flows
check "show endpoint-groups: every field of the contract" 0 "entries=1 missing=none"
rawrun fields "$sock" '{"cmd": "show", "what": "endpoints"}' endpoints key group address type \
	resolved weight state health share new_flows active_flows
check "show endpoints: every field of the contract" 0 "entries=1 missing=none"
run "${G[@]}" show routes
check "show of an unknown kind is a usage error" 2 "cannot show 'routes'"

# ---- apply -------------------------------------------------------------------------
before=$(raw config "$sock")
sum0=$(cksum <"$cfg")
python3 - "$cfg" "$tmp/change.json" "$tmp/bad.json" "$tmp/iface.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["accelerators"][0]["listeners"][0]["endpoint_groups"][0]["endpoints"].append(
    {"address": "10.1.0.12", "weight": 7})
json.dump(d, open(sys.argv[2], "w"), indent=2)
d["accelerators"][0]["listeners"][0]["port_ranges"] = "80,70000"
json.dump(d, open(sys.argv[3], "w"), indent=2)
d = json.load(open(sys.argv[2]))
d["interfaces"][1]["device"] = "net_null9"
json.dump(d, open(sys.argv[4], "w"), indent=2)
EOF

run "${G[@]}" apply --dry-run "$tmp/change.json"
check "apply --dry-run: the review, nothing applied" 0 "+ endpoint 10.1.0.12" "dry run: nothing applied"
after=$(raw config "$sock")
expect "apply --dry-run changes neither the running config nor the generation" [ "$before" = "$after" ]
expect "apply --dry-run leaves the config file as it was" [ "$(cksum <"$cfg")" = "$sum0" ]

run "${G[@]}" apply "$tmp/bad.json"
check "apply of a bad config is refused (exit 1) naming the field" 1 \
	"$tmp/bad.json: accelerators[0].listeners[0].port_ranges: port 70000 is outside 1-65499" \
	"apply refused"
after=$(raw config "$sock")
expect "a refused apply leaves the running config and generation as they were" [ "$before" = "$after" ]
expect "a refused apply leaves the config file as it was" [ "$(cksum <"$cfg")" = "$sum0" ]

run "${G[@]}" apply "$tmp/iface.json"
check "apply that changes an interface's device is refused naming it" 1 "interfaces[1]"

printf '{"interfaces": [\n  {"name": "wan",}\n]}\n' >"$tmp/syntax.json"
run "${G[@]}" apply "$tmp/syntax.json"
check "apply of a file with a JSON syntax error: line and column, nothing sent" 1 \
	"$tmp/syntax.json:2:" "nothing sent to gaxd"

run "${G[@]}" apply "$tmp/change.json"
check "apply of a valid change: the review, then the new generation" 0 "+ endpoint 10.1.0.12" \
	"applied: generation 2"
after=$(raw config "$sock")
expect "after apply, config.get has generation 2 and the new endpoint" \
	grep -q '10.1.0.12' <<<"$after"
expect "after apply, the generation is 2" [ "$(tail -1 <<<"$after")" = 2 ]
expect "apply persisted the change to the config file" grep -q '10.1.0.12' "$cfg"
run "$gaxctl" validate "$cfg"
check "the persisted config file is valid" 0 "valid"

run "${G[@]}" apply --json "$tmp/change.json"
check "apply --json prints gaxd's reply" 0 '"ok": true' '"review"' '"generation": 3'

# ---- the API verbs ------------------------------------------------------------------
A=(--accelerator web)
run "${G[@]}" listener create "${A[@]}" --name tcp-81 --protocol tcp --ports 81,90~91 --affinity source-ip --dry-run
check "listener create --dry-run: reviewed, nothing applied" 0 "+ listener tcp-81" "dry run"
run "${G[@]}" listener delete "${A[@]}" --name tcp-81
check "listener delete of a listener that does not exist: refused, says which" 1 \
	'accelerator "web" has no listener "tcp-81"'
run "${G[@]}" listener create "${A[@]}" --name tcp-81 --protocol tcp --ports 81,90~91 --affinity source-ip
check "listener create" 0 "+ listener tcp-81" "applied: generation 4"
run "${G[@]}" listener create "${A[@]}" --name tcp-81 --protocol tcp --ports 82
check "listener create of a name that exists: refused" 1 'already has a listener "tcp-81"'
run "${G[@]}" listener create "${A[@]}" --name tcp-82 --protocol tcp --ports 80
check "listener create that clashes on a port: refused naming the field" 1 \
	"accelerators[0].listeners[2].port_ranges"
run "${G[@]}" listener update "${A[@]}" --name tcp-81 --idle-timeout 60 --affinity none
check "listener update" 0 "idle_timeout" "applied: generation 5"
run "${G[@]}" endpoint-group create "${A[@]}" --listener tcp-81 --name eg-2 --region r2 \
	--traffic-percentage 50 --port-override 81:8081 --port-override 90:9090
check "endpoint-group create" 0 "+ endpoint group eg-2" "applied: generation 6"
run "${G[@]}" endpoint-group update "${A[@]}" --listener tcp-81 --name eg-2 --reserve-client-ip true --region default
check "endpoint-group update" 0 "reserve_client_ip" "applied: generation 7"
run "${G[@]}" endpoint create "${A[@]}" --listener tcp-81 --group eg-2 --address 10.1.0.21 --weight 3
check "endpoint create" 0 "+ endpoint 10.1.0.21" "applied: generation 8"
run "${G[@]}" endpoint update "${A[@]}" --listener tcp-81 --group eg-2 --address 10.1.0.21 --weight 4 --type ip
check "endpoint update" 0 "weight: 3 -> 4" "applied: generation 9"
run "${G[@]}" endpoint set-weight "${A[@]}" --listener tcp-81 --group eg-2 --address 10.1.0.21 --weight 0
check "endpoint set-weight" 0 "weight: 4 -> 0" "applied: generation 10"
run "${G[@]}" show endpoints
check "show endpoints: the new endpoint drains at weight 0" 0 "web/tcp-81/eg-2" "weight-0"
run "${G[@]}" show endpoint-groups
check "show endpoint-groups: the new group's port overrides and share" 0 "81:8081,90:9090" "reserved"
run "${G[@]}" endpoint set-weight "${A[@]}" --listener tcp-81 --group eg-2 --address 10.1.0.21 --weight 256
check "endpoint set-weight 256: refused naming the field" 1 \
	"accelerators[0].listeners[1].endpoint_groups[0].endpoints[0].weight"
run "${G[@]}" endpoint delete "${A[@]}" --listener tcp-81 --group eg-2 --address 10.1.0.99
check "endpoint delete of an endpoint that does not exist: refused, says which" 1 \
	'endpoint group "web/tcp-81/eg-2" has no endpoint "10.1.0.99"'
run "${G[@]}" endpoint delete "${A[@]}" --listener tcp-81 --group eg-2 --address 10.1.0.21
check "endpoint delete" 0 "- endpoint 10.1.0.21" "applied: generation 11"
run "${G[@]}" endpoint-group delete "${A[@]}" --listener tcp-81 --name eg-2
check "endpoint-group delete" 0 "- endpoint group eg-2" "applied: generation 12"
run "${G[@]}" listener delete "${A[@]}" --name tcp-81
check "listener delete" 0 "- listener tcp-81" "applied: generation 13"
run "$gaxctl" diff "$tmp/change.json" "$cfg"
check "after creating and deleting, the persisted file is what was applied" 0 "No changes."
run "${G[@]}" listener create "${A[@]}" --name tcp-83 --protocol sctp --ports 83
check "a bad option value is a usage error naming the option" 2 "--protocol takes"
run "${G[@]}" endpoint set-weight "${A[@]}" --listener tcp-80 --group eg --address 10.1.0.11
check "a missing required option is a usage error naming it" 2 "missing --weight"
run "${G[@]}" listener delete "${A[@]}" --name tcp-80 --bogus
check "an unknown option is a usage error naming it" 2 "unknown option '--bogus'"

run "${G[@]}" reload
check "reload rereads the (persisted) file: no changes" 0 "No changes." "applied: generation 14"

# ---- stats, flows ---------------------------------------------------------------------
run "${G[@]}" stats
check "stats: ports, listeners, endpoints, flows, drops" 0 "ports" "net_null0" "web/tcp-80" \
	"10.1.0.11" "flows:" "drops:"
run "${G[@]}" stats --json
check "stats --json: the counters of --stats-json with generation and uptime" 0 '"ports"' \
	'"listeners"' '"endpoints"' '"drops"' '"flows"' '"generation"' '"uptime_s"'
run "${G[@]}" stats --watch 0.3 --count 2
expect "stats --watch 0.3 --count 2 prints twice, with rates" \
	[ "$rc:$(grep -c '^generation' <<<"$out"):$(grep -c 'RX PPS' <<<"$out")" = 0:2:2 ]
run "${G[@]}" flows
check "flows answers" 0 "flows in all tables"
run "${G[@]}" flows --json --listener web/tcp-80 --client 10.0.0.9 --limit 5
check "flows --json with filters: count, matched, flows" 0 '"count"' '"matched"' '"flows"'
run "${G[@]}" flows --listener web/nope
check "flows of a listener that does not exist: refused" 1 "web/nope"

# ---- the socket's limits ----------------------------------------------------------------
rawrun line "$sock" '{"cmd": "ping", oops'
check "a line that is not JSON gets an error reply" 0 "REPLY ok=False"
rawrun line "$sock" '[1, 2, 3]'
check "a line that is not an object gets an error reply" 0 "REPLY ok=False"
rawrun line "$sock" '{"cmd": "frobnicate"}'
check "an unknown cmd gets an error reply naming it" 0 "REPLY ok=False" "frobnicate"
rawrun line "$sock" '{"cmd": "endpoint.set-weight", "accelerator": "web"}'
check "an API verb with a field missing gets an error reply naming it" 0 "REPLY ok=False" '"listener"'
rawrun big "$sock" 70
if [ "$rc" -eq 0 ] && grep -qE 'REPLY ok=False|CLOSED' <<<"$out"; then
	ok "a 70 MiB line gets an error reply or a close ($(tail -1 <<<"$out"))"
else
	not_ok "a 70 MiB line gets an error reply or a close" "$out"
fi
run "${G[@]}" ping
check "gaxd serves after the 70 MiB line" 0 "generation 14"

raw stall "$sock" >"$tmp/stall.out" &
stall_pid=$!
sleep 1
t0=$(date +%s%N)
run "${G[@]}" ping
t1=$(date +%s%N)
check "while a client stalls mid-line, others are served" 0 "generation 14"
expect "...at once (under 2 s)" [ $(((t1 - t0) / 1000000)) -lt 2000 ]
rawrun many "$sock" 40
if [ "$rc" -eq 0 ] && python3 -c '
import sys
t = dict(kv.split("=") for kv in sys.argv[1].split())
t = {k: int(v) for k, v in t.items()}
assert sum(t.values()) == 40 and t["ok"] <= 32 and t["ok"] >= 1, t
' "$(tail -1 <<<"$out")" 2>/dev/null; then
	ok "40 clients at once: at most 32 served, every other one an error reply or a close ($out)"
else
	not_ok "40 clients at once: at most 32 served, every other one an error reply or a close" "$out"
fi
wait "$stall_pid"
out=$(cat "$tmp/stall.out")
secs=$(sed -n 's/.* after \([0-9.]*\) s$/\1/p' <<<"$out")
if [ -n "$secs" ] && python3 -c 'import sys; assert 8 <= float(sys.argv[1]) <= 14' "$secs"; then
	ok "a client that stalls mid-line is closed after about 10 s ($out)"
else
	not_ok "a client that stalls mid-line is closed after about 10 s" "$out"
fi

run "${G[@]}" ping
check "gaxd is up and serving after all of that" 0 "generation 14"
expect "gaxd's process is alive" kill -0 "$pid"
rawrun config "$sock"
expect "the running config is still the one last applied" grep -q '10.1.0.12' <<<"$out"

tap_end
