#!/usr/bin/env bash
# The main job of this release: take config/demo.json (or the file given),
# validate it, print the review of what applying it would change, say what
# the forwarder will do with it, and then (as root) run gaxd with it on the
# namespace testbed and drive real traffic through it: curl and a UDP client
# from 33 client addresses, a table of what each endpoint received against
# its weight, and gaxd's own counters. Installs and builds what is missing.
# Idempotent; touches nothing outside build/ and the namespaces that step 5
# creates and removes again.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-config/demo.json}

scripts/deps.sh
scripts/build.sh >/dev/null

echo "== 1. Validate $config"
build/app/gaxctl/gaxctl validate "$config"
echo
echo "== 2. Review: what applying $config to an empty forwarder changes"
build/app/gaxctl/gaxctl diff - "$config"
echo
echo "== 3. What the forwarder will do"
build/app/gaxctl/gaxctl explain "$config"
echo
echo "== 4. A change reviewed before it is applied (config/demo-change.json)"
build/app/gaxctl/gaxctl diff "$config" config/demo-change.json

echo
echo "== 5. Real traffic through gaxd on the namespace testbed"
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: running gaxd on the testbed needs root (network namespaces, net_af_packet)"
	exit 0
fi
if [ "$config" != config/demo.json ]; then
	echo "note: the servers and the traffic are those of config/demo.json; gaxd runs with $config"
fi

export GAX_TB_PREFIX=gaxdemo$$
P=$GAX_TB_PREFIX
tools=tests/e2e/tools
work=$(mktemp -d "${TMPDIR:-/tmp}/gax-demo.XXXXXX")
gaxd_pid=
srv_pid=
teardown() {
	local pid
	for pid in $gaxd_pid $srv_pid; do kill "$pid" 2>/dev/null || true; done
	sleep 0.3
	for pid in $gaxd_pid $srv_pid; do kill -9 "$pid" 2>/dev/null || true; done
	scripts/testbed.sh down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

scripts/testbed.sh up
# Test servers on every endpoint address and port of config/demo.json. They
# answer plain HTTP (curl), HELLO/GET/PUT lines and UDP datagrams with
# "endpoint=<their address:port> peer=<the address:port they saw>".
timeout 150 ip netns exec "${P}s" python3 "$tools/gax_servers.py" \
	--tcp 10.1.0.11-13:8080-8085,10.1.0.31-32:443,10.1.0.41:443 --udp 10.1.0.21-22:53 \
	--log "$work/servers.jsonl" --max-seconds 140 >"$work/servers.out" 2>&1 &
srv_pid=$!
for _ in $(seq 1 100); do
	grep -q "servers: ready" "$work/servers.out" 2>/dev/null && break
	sleep 0.1
done
echo "$(head -1 "$work/servers.out") in ${P}s"

# gaxd writes what is applied back to its config file: it runs on a copy.
cp "$config" "$work/running.json"
timeout 150 ip netns exec "${P}f" stdbuf -oL -eL build/app/gaxd/gaxd --no-huge -m 512 --no-pci \
	--no-telemetry --file-prefix "gaxdemo$$" -l 0,1 \
	--vdev net_af_packet0,iface=wan0 --vdev net_af_packet1,iface=lan0 \
	-- --config "$work/running.json" --socket "$work/gaxd.sock" --stats-json "$work/stats.json" \
	>"$work/gaxd.out" 2>"$work/gaxd.err" &
gaxd_pid=$!
for _ in $(seq 1 200); do # 20 s
	grep -q "gaxd: ready" "$work/gaxd.out" 2>/dev/null && break
	kill -0 "$gaxd_pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "gaxd: ready" "$work/gaxd.out"; then
	echo "gaxd did not become ready (no 'gaxd: ready' within 20 s); its output:"
	tail -n 20 "$work/gaxd.out" "$work/gaxd.err"
	exit 1
fi
echo "$(grep -m1 "gaxd: ready" "$work/gaxd.out") in ${P}f"

# Traffic, bounded: every curl has -m 3, every loop a fixed count, each
# client run a timeout. Client addresses 10.0.0.10-42.
echo "curl from each of 33 client addresses: 3 requests to http://10.0.0.100/ (port 80), 1 to"
echo "  http://10.0.0.100:8080/, 3 to http://10.0.0.101:443/ (plain HTTP through the tcp listener);"
echo "UDP: 3 datagrams from each client address to 10.0.0.100:53"
timeout 120 ip netns exec "${P}c" bash -c '
	ask() { printf "%-10s %-25s " "$1" "$2"; curl -sS -m 3 --interface "$1" "$2" 2>&1 | head -1; }
	for round in 1 2 3; do
		for i in $(seq 10 42); do
			ask "10.0.0.$i" http://10.0.0.100:80/
			ask "10.0.0.$i" http://10.0.0.101:443/
			[ $round != 1 ] || ask "10.0.0.$i" http://10.0.0.100:8080/
		done
	done' >"$work/curl.txt" 2>&1 || true
timeout 60 ip netns exec "${P}c" python3 "$tools/gax_clients.py" udp --target 10.0.0.100:53 \
	--sources 10.0.0.10-42 --per-source 3 --retries 1 --give-up 16 --deadline 30 \
	>"$work/udp.json" 2>"$work/udp.err" || true
echo "a few answers (client, URL, what the endpoint said):"
{ grep -m2 "10.0.0.100:80/" "$work/curl.txt"; grep -m1 "10.0.0.100:8080/" "$work/curl.txt"
  grep -m2 "10.0.0.101:443/" "$work/curl.txt"; } | sed 's/^/  /' || true
python3 - "$work/udp.json" "$work/curl.txt" <<'PY' || true
import json, sys
lines = open(sys.argv[2]).read().splitlines()
answered = sum("endpoint=" in l for l in lines)
try:
    d = json.load(open(sys.argv[1]))
except ValueError:
    d = {"records": [], "summary": {"ok": 0, "attempts": "?"}}
for r in d["records"][:2]:
    said = f"endpoint={r['endpoint']} peer={r['peer']}" if r["ok"] else f"({r['error']})"
    print(f"  {r['source']:10} {'udp://10.0.0.100:53':25} {said}")
s = d["summary"]
print(f"curl: {answered} of {len(lines)} requests answered; "
      f"UDP: {s['ok']} of {s['attempts']} datagrams answered")
PY

echo
echo "== 6. A live change: drain endpoint 10.1.0.11 (weight 0) while gaxd serves"
gaxctl=(build/app/gaxctl/gaxctl --socket "$work/gaxd.sock")
"${gaxctl[@]}" endpoint set-weight --accelerator web --listener tcp-80 --group eg-local \
	--address 10.1.0.11 --weight 0 | sed 's/^/  /' || true
timeout 60 ip netns exec "${P}c" bash -c '
	for i in $(seq 10 42); do curl -sS -m 3 --interface "10.0.0.$i" http://10.0.0.100:80/ 2>&1 | head -1; done' \
	>"$work/curl2.txt" 2>&1 || true
echo "33 new requests to http://10.0.0.100/ after the change went to:"
grep -o "endpoint=[0-9.:]*" "$work/curl2.txt" | sort | uniq -c | sed 's/^/  /' || true
echo "gaxctl show endpoints (flows counted since start; the drained one takes no new ones):"
"${gaxctl[@]}" show endpoints 2>&1 | sed 's/^/  /' || true

kill -TERM "$gaxd_pid"
rc=0
wait "$gaxd_pid" || rc=$?
gaxd_pid=
echo
echo "gaxd stopped on SIGTERM (exit status $rc); its final counters:"
sed -n '/gaxd: ready/,$p' "$work/gaxd.out" | sed 1d | sed 's/^/  /'

echo
python3 - "$config" "$work/servers.jsonl" "$work/stats.json" <<'PY'
import collections, json, sys

config, log_path, stats_path = sys.argv[1:4]
cfg = json.load(open(config))
flows = collections.Counter()
seen = set()
try:
    for line in open(log_path):
        e = json.loads(line)
        key = (e["proto"], e["local"], e["lport"], e["peer"], e["pport"])
        if key not in seen:  # one flow per 5-tuple (a datagram sent twice is one flow)
            seen.add(key)
            flows[(e["proto"], e["local"])] += 1
except OSError:
    pass
try:
    stats = {e["key"]: e for e in json.load(open(stats_path)).get("endpoints", [])}
except (OSError, ValueError, KeyError, TypeError, AttributeError):
    stats = {}

print("What each endpoint received (flows: connections or UDP 5-tuples the test servers logged;")
print("expected: its share of the listener's new flows by traffic_percentage and weight)")
print(f"  {'endpoint':34} {'weight':>6} {'expected':>8} {'flows':>6} {'share':>6} {'gaxd new_flows':>15}")
for acc in cfg.get("accelerators", []):
    for li in acc.get("listeners", []):
        proto = "udp" if li["protocol"] == "udp" else "tcp"
        groups = li.get("endpoint_groups", [])
        pct_total = sum(g.get("traffic_percentage", 100) for g in groups) or 1
        rows = []
        for g in groups:
            eps = g.get("endpoints", [])
            wsum = sum(e.get("weight", 128) for e in eps) or 1
            for e in eps:
                w = e.get("weight", 128)
                expected = g.get("traffic_percentage", 100) / pct_total * w / wsum
                key = f"{acc['name']}/{li['name']}/{g['name']}/{e['address']}"
                rows.append((key, w, expected, flows[(proto, e["address"])]))
        total = sum(r[3] for r in rows)
        affinity = li.get("client_affinity", "none")
        ports = li["port_ranges"]
        if isinstance(ports, list):
            ports = ",".join(str(r["from_port"]) if r["from_port"] == r["to_port"]
                             else f"{r['from_port']}~{r['to_port']}" for r in ports)
        print(f"  {acc['name']}/{li['name']}: {li['protocol']} ports {ports}, "
              f"client_affinity {affinity}, {total} flows")
        for key, w, expected, n in rows:
            share = f"{100 * n / total:5.1f}%" if total else "     -"
            g = stats.get(key, {}).get("new_flows", "-")
            print(f"    {key:32} {w:6} {100 * expected:7.1f}% {n:6} {share:>6} {g!s:>15}")
        if affinity == "source_ip":
            print("    (source_ip: each client address sticks to one endpoint, so with 33 client "
                  "addresses the share moves in steps of 3 points)")
PY
echo
echo "(the testbed and gaxd are torn down on exit)"
