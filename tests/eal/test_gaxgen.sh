#!/usr/bin/env bash
# gaxgen (docs/gaxgen.md): refusals of bad scenarios and arguments (exit 1
# naming the JSON path, exit 2 for usage), --check and --write-pcap without
# EAL, a bounded run on net_null stopped by its count and one stopped by
# SIGINT, then end to end through gaxd over two net_memif pairs in one run:
# gaxgen plays the clients on one pair and the endpoints on the other
# (--reply-port), gaxd balances a UDP listener over endpoints of weights
# 200, 100, 50 and 0 with source_ip affinity, and a TCP listener over two.
# Asserts loss under 1 %, latency percentiles, the shares of the weights
# within 0.05, nothing for weight 0, every client on exactly one endpoint.
# Two processes on two CPUs: each gets its own (main and worker lcores on
# one CPU). TAP output. usage: test_gaxgen.sh GAXGEN GAXD SOURCE_ROOT
set -uo pipefail
gaxgen=$1
gaxd=$2
root=$3
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gaxgen-test.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp" /var/run/dpdk/gaxgt-*-$$ 2>/dev/null
}
trap cleanup EXIT

eal=(--no-huge -m 512 --no-pci --no-telemetry --log-level=lib.eal:error)
scen=$root/config/scenarios

# ---- refusals -------------------------------------------------------------------
cat >"$tmp/bad.json" <<'J'
{ "name": "bad", "protocol": "sctp", "flows": 500, "frame_size": 40, "colour": "blue",
  "destination": { "address": "10.0.0.300", "ports": "53" },
  "source": { "addresses": { "first": "10.0.1.1", "count": 2 }, "ports": { "from": 1000, "to": 1099 } } }
J
run "$gaxgen" --scenario "$tmp/bad.json" --check
check "a bad scenario is refused (exit 1), every problem named by its JSON path" 1 \
	"$tmp/bad.json: colour: unknown field; expected one of name," "protocol: \"sctp\" is neither" \
	"destination.address: \"10.0.0.300\" is not an IPv4 address" \
	"frame_size: 40 bytes cannot hold" "flows: 500 flows need more client address x port pairs than the 200" \
	"invalid scenario (5 error(s))"
printf '{"destination": {"address": "10.0.0.100", "ports": 53},\n "source": ' >"$tmp/trunc.json"
run "$gaxgen" --scenario "$tmp/trunc.json" --check
check "a scenario that is not JSON is refused with its line" 1 "line 2"
run "$gaxgen" --scenario "$tmp/missing.json" --check
check "a missing scenario file is refused" 1 "cannot read: No such file or directory"

run "$gaxgen" --check
check "no --scenario is a usage error (exit 2)" 2 "--scenario FILE is required" "usage:"
run "$gaxgen" --scenario "$scen/udp-64k.json" --bogus
check "an unknown option is a usage error" 2 "unknown option '--bogus'"
run "$gaxgen" --scenario "$scen/udp-64k.json" --rate fast
check "a rate that is not a number is a usage error" 2 "--rate: 'fast' is not a whole number"
run "$gaxgen" --scenario "$scen/udp-64k.json" --duration -1
check "a negative duration is a usage error" 2 "--duration: '-1' is not a number of seconds"
run "$gaxgen" --scenario "$scen/udp-64k.json" --count 0 --write-pcap "$tmp/x.pcap"
check "--count 0 is a usage error" 2 "--count: must be at least 1"
run "$gaxgen" --scenario "$scen/udp-64k.json" --tx-port 1 --reply-port 1
check "--reply-port equal to the tx port is a usage error" 2 "--reply-port must differ"
run "$gaxgen" --scenario "$scen/udp-64k.json" --write-pcap
check "--write-pcap without a file is a usage error" 2 "--write-pcap needs a value"
run "$gaxgen" --scenario "$scen/udp-64k.json" --check --write-pcap "$tmp/x.pcap"
check "--check with --write-pcap is a usage error" 2 "exclude each other"
run "$gaxgen" --scenario "$scen/udp-64k.json" --reply-port 1
check "--reply-port with a scenario whose replies are off is refused (exit 1)" 1 "reply.enabled: must be true"
run "$gaxgen" --help
check "--help prints the usage and exits 0" 0 "--reply-port N"

# ---- without EAL ------------------------------------------------------------------
all_valid=1
for f in "$scen"/*.json; do
	run "$gaxgen" --scenario "$f" --check
	[ "$rc" -eq 0 ] && grep -q ": valid: scenario" <<<"$out" || { all_valid=0; break; }
done
if [ "$all_valid" = 1 ]; then ok "every scenario in config/scenarios passes --check"; else not_ok "every scenario in config/scenarios passes --check" "$f" "$out"; fi

# as an unprivileged user when run as root (nobody), to show no EAL is involved
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(runuser -u nobody --)
chmod 755 "$tmp"
run "${as_user[@]}" "$gaxgen" --scenario "$scen/udp-64k.json" --write-pcap "$tmp/w/u.pcap"
check "--write-pcap into a missing folder fails cleanly (exit 1)" 1 "cannot write $tmp/w/u.pcap"
mkdir -m 777 "$tmp/w"
run "${as_user[@]}" "$gaxgen" --scenario "$scen/udp-64k.json" --write-pcap "$tmp/w/64k.pcap"
check "--write-pcap runs without EAL, root or hugepages" 0 "wrote 65536 frames of scenario udp-64k"
size=$(stat -c %s "$tmp/w/64k.pcap" 2>/dev/null || echo 0)
if [ "$size" -eq $((24 + 65536 * (16 + 60))) ]; then ok "the pcap holds 65536 records of 60 bytes"; else not_ok "the pcap holds 65536 records of 60 bytes" "size $size"; fi
run "$gaxgen" --scenario "$scen/tcp-affinity.json" --write-pcap "$tmp/t.pcap"
check "--write-pcap needs mac.destination (no port to resolve it on)" 1 "mac.destination: required to write a pcap"
run "$gaxgen" --scenario "$scen/udp-1k.json" --write-pcap "$tmp/c.pcap" --count 10
size=$(stat -c %s "$tmp/c.pcap" 2>/dev/null || echo 0)
if [ "$rc" -eq 0 ] && [ "$size" -eq $((24 + 10 * 76)) ]; then ok "--count bounds the frames written"; else not_ok "--count bounds the frames written" "rc $rc size $size" "$out"; fi

# ---- EAL on net_null ---------------------------------------------------------------
run "$gaxgen" "${eal[@]}" -l 0 --file-prefix "gaxgt-a-$$" --vdev net_null0 -- --list-ports
check "--list-ports lists the ports EAL gave" 0 "port 0: net_null0"
run "$gaxgen" "${eal[@]}" -l 0 --file-prefix "gaxgt-b-$$" --vdev net_null0 -- --scenario "$scen/udp-64k.json" --tx-port 3
check "a tx port EAL does not have is a usage error" 2 "EAL has 1 port(s)"
run "$gaxgen" "${eal[@]}" -l 0,1 --file-prefix "gaxgt-c-$$" --vdev net_null0 -- --scenario "$scen/tcp-affinity.json" --reply-port 1 --tx-port 0
check "a --reply-port EAL does not have is a usage error" 2 "EAL has 1 port(s)"
run "$gaxgen" "${eal[@]}" -l 0,1 --file-prefix "gaxgt-d-$$" --vdev net_null0,no-rx=1 -- --scenario "$scen/udp-64k.json" --count 100000 --json "$tmp/null.json"
check "a bounded count on net_null: sends exactly --count and reports" 0 "tx             100000" "loss 100000 (100.000 %)"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tx"]["packets"] == 100000 and d["rx"]["packets"] == 0 and d["tx"]["flows_opened"] == 65536' "$tmp/null.json" 2>/dev/null; then
	ok "--json writes the report (tx 100000, flows opened 65536)"
else
	not_ok "--json writes the report (tx 100000, flows opened 65536)" "$(head -c 1500 "$tmp/null.json" 2>&1)"
fi
timeout 60 "$gaxgen" "${eal[@]}" -l 0,1 --file-prefix "gaxgt-e-$$" --vdev net_null0,no-rx=1 -- --scenario "$scen/udp-64k.json" --duration 30 >"$tmp/int.out" 2>&1 &
p=$!
sleep 2
kill -INT "$p"
start=$SECONDS
wait "$p"; rc=$?
out=$(cat "$tmp/int.out")
if [ $((SECONDS - start)) -le 5 ]; then check "SIGINT stops a 30 s run within a few seconds, with its report" 0 "gaxgen: scenario udp-64k"; else not_ok "SIGINT stops a 30 s run within a few seconds" "took $((SECONDS - start)) s"; fi

run "$gaxgen" --scenario "$scen/udp-64k.json" --rx-only --count 5
check "--rx-only with --count is a usage error" 2 "--count does not apply"

# two gaxgen processes: a sender, and a receiver with --rx-only (the testbed's way, docs/gaxgen.md).
# Neither may be polling its memif port when the other closes: DPDK 22.11's memif unmaps the rings
# on its control thread while rte_eth_rx_burst() may be reading them (a crash 1 run in about 10,
# seen in core dumps). So the sender sends for well under a second, then lingers unpolled (4 s)
# while the receiver (2 s) finishes and leaves first.
rm -f "$tmp"/*.sock
timeout -k 5 30 "$gaxgen" "${eal[@]}" --lcores='(0,1)@1' --main-lcore 0 --file-prefix "gaxgt-s-$$" \
	--vdev "net_memif0,role=server,socket=$tmp/p.sock" -- --scenario "$scen/udp-64k.json" \
	--count 100000 --rate 500000 --linger 4 --json "$tmp/send.json" >"$tmp/send.out" 2>&1 &
sp=$!
pids+=("$sp")
sleep 0.5
timeout -k 5 30 "$gaxgen" "${eal[@]}" --lcores='(0,1)@0' --main-lcore 0 --file-prefix "gaxgt-r-$$" \
	--vdev "net_memif0,role=client,socket=$tmp/p.sock" -- --scenario "$scen/udp-64k.json" \
	--rx-only --duration 2 --json "$tmp/recv.json" >"$tmp/recv.out" 2>&1 &
rp=$!
pids+=("$rp")
wait "$sp"; src=$?
wait "$rp"; rrc=$?
if [ $src -eq 0 ] && [ $rrc -eq 0 ] && python3 -c '
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert s["tx"]["packets"] == 100000, s["tx"]
assert r["tx"]["packets"] == 0 and r["rx"]["packets"] == 100000, r["rx"]
assert r["rx"]["bad_csum"] == 0 and r["affinity"]["clients"] == 16, r
assert r["endpoints"][0]["address"] == "10.0.0.100" and r["endpoints"][0]["port"] == 53, r["endpoints"]
' "$tmp/send.json" "$tmp/recv.json" 2>"$tmp/py.err"; then
	ok "a sender and an --rx-only receiver over net_memif: 100000 sent, 100000 stamped frames received"
else
	not_ok "a sender and an --rx-only receiver over net_memif: 100000 sent, 100000 stamped frames received" \
		"exit $src/$rrc" "$(cat "$tmp/py.err")" "$(tail -8 "$tmp/send.out")" "$(tail -8 "$tmp/recv.out")"
fi

# ---- end to end: gaxgen -> gaxd -> gaxgen over net_memif ------------------------------
cat >"$tmp/gaxd.json" <<'J'
{
  "interfaces": [
    { "name": "wan", "device": "net_memif0", "addresses": ["10.0.0.1/24"], "gateway": "10.0.0.254" },
    { "name": "lan", "device": "net_memif1", "addresses": ["10.1.0.1/24"] }
  ],
  "accelerators": [
    { "name": "gen", "addresses": ["10.0.0.100"],
      "listeners": [
        { "name": "udp-53", "protocol": "udp", "port_ranges": "53", "client_affinity": "source_ip",
          "endpoint_groups": [ { "name": "eg-udp", "endpoints": [
            { "address": "10.1.0.11", "weight": 200 }, { "address": "10.1.0.12", "weight": 100 },
            { "address": "10.1.0.13", "weight": 50 }, { "address": "10.1.0.14", "weight": 0 } ] } ] },
        { "name": "tcp-web", "protocol": "tcp", "port_ranges": "80,8080~8081", "client_affinity": "source_ip",
          "endpoint_groups": [ { "name": "eg-tcp", "endpoints": [
            { "address": "10.1.0.21", "weight": 3 }, { "address": "10.1.0.22", "weight": 1 } ] } ] } ] } ]
}
J
# gaxgen is the memif server on both sockets (it starts first), gaxd the client;
# no static neighbours: gaxgen answers gaxd's ARP for the gateway and the endpoints
# gaxgen sends for 2 s from when gaxd is up, drains, then lingers 5 s unpolled; gaxd stops by
# itself 4 s after it started, inside that window, so neither polls when the other leaves (above).
memif_run() { # TAG SCENARIO: gaxgen and gaxd, bounded; report in $tmp/TAG.json
	local tag=$1 sc=$2 gp dp
	rm -f "$tmp"/*.sock
	timeout -k 5 40 "$gaxgen" "${eal[@]}" --lcores='(0,1)@1' --main-lcore 0 --file-prefix "gaxgt-g$tag-$$" \
		--vdev "net_memif0,role=server,socket=$tmp/c.sock,mac=02:00:00:00:00:01" \
		--vdev "net_memif1,role=server,socket=$tmp/e.sock,mac=02:00:00:00:01:01" \
		-- --scenario "$sc" --tx-port 0 --reply-port 1 --linger 5 --json "$tmp/$tag.json" \
		>"$tmp/$tag.gen" 2>&1 &
	gp=$!
	pids+=("$gp")
	sleep 0.5
	timeout -k 5 40 "$gaxd" "${eal[@]}" --lcores='(0,1)@0' --main-lcore 0 --file-prefix "gaxgt-d$tag-$$" \
		--vdev "net_memif0,role=client,socket=$tmp/c.sock,mac=02:70:63:61:70:00" \
		--vdev "net_memif1,role=client,socket=$tmp/e.sock,mac=02:70:63:61:70:01" \
		-- --config "$tmp/gaxd.json" --duration 4 --stats-json "$tmp/$tag.gaxd.json" \
		--socket "$tmp/gaxd.sock" >"$tmp/$tag.gaxd" 2>&1 &
	dp=$!
	pids+=("$dp")
	wait "$gp"; grc=$?
	wait "$dp"; drc=$?
}

memif_run udp "$scen/memif-udp-reply.json"
out=$(cat "$tmp/udp.gen")
rc=$grc
check "gaxgen -> gaxd -> gaxgen over net_memif: 200 kpps for 2 s, exit 0 (gaxd's MAC by ARP)" 0 "10.0.0.100 is at 02:70:63:61:70:00" "gaxgen: scenario memif-udp-reply"
check_report() { # DESC PYTHON-ASSERTIONS (d: gaxgen's report)
	local msg
	if msg=$(python3 - "$tmp/$tag.json" 2>&1 <<PY
import json, sys
d = json.load(open(sys.argv[1]))
a = {e["address"]: e for e in d["endpoint_addresses"]}
def share(x): return a[x]["share"] if x in a else 0.0
$2
PY
	); then ok "$1"; else not_ok "$1" "$msg" "$(head -15 "$tmp/$tag.gen")"; fi
}
tag=udp
check_report "loss under 1 % (rx within 1 % of tx)" \
	'assert 380000 <= d["tx"]["packets"] <= 400000, d["tx"]; assert d["loss"]["ratio"] < 0.01, d["loss"]; assert d["rx"]["bad_csum"] == 0 and d["rx"]["unstamped"] == 0, d["rx"]'
check_report "latency percentiles present and ordered" \
	'l = d["latency_us"]; assert l["samples"] == d["rx"]["packets"]; assert 0 < l["min"] <= l["p50"] <= l["p90"] <= l["p99"] <= l["p99_9"] <= l["max"], l'
check_report "the shares follow the weights 200:100:50 within 0.05" \
	'exp = {"10.1.0.11": 200/350, "10.1.0.12": 100/350, "10.1.0.13": 50/350}
for k, v in exp.items(): assert abs(share(k) - v) < 0.05, (k, share(k), v)'
check_report "the endpoint of weight 0 gets nothing" 'assert "10.1.0.14" not in a, a'
check_report "source_ip affinity: all 1024 clients seen, each on exactly one endpoint" \
	'assert d["affinity"]["clients"] == 1024, d["affinity"]; assert d["affinity"]["clients_multiple_endpoints"] == 0, d["affinity"]'
check_report "gaxgen answered gaxd's ARP (gateway and endpoints) and replied to every frame" \
	'assert d["arp_replies"] >= 4, d["arp_replies"]; assert d["replies"] >= d["rx"]["packets"], d'
# a full memif ring (gaxgen's CPU taken by other work for a moment) is the only drop allowed
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); dr=d["drops"]; assert sum(v for k, v in dr.items() if k != "tx_full") == 0 and dr.get("tx_full", 0) < 4000, dr' "$tmp/udp.gaxd.json" 2>/dev/null; then
	ok "gaxd dropped nothing but, at most, under 1 % for a full ring"
else
	not_ok "gaxd dropped nothing but, at most, under 1 % for a full ring" "$(grep -A3 'drops' "$tmp/udp.gaxd" | head -5)"
fi

memif_run tcp "$scen/tcp-affinity.json"
out=$(cat "$tmp/tcp.gen")
rc=$grc
tag=tcp
check "TCP (SYN, then ACKs) on three listener ports through gaxd, answered as the endpoints" 0 "gaxgen: scenario tcp-affinity"
check_report "TCP: loss under 1 %, shares 3:1 within 0.05, each client on one endpoint" \
	'assert d["tx"]["packets"] >= 380000 and d["loss"]["ratio"] < 0.01, (d["tx"], d["loss"])
assert abs(share("10.1.0.21") - 0.75) < 0.05 and abs(share("10.1.0.22") - 0.25) < 0.05, a
assert d["affinity"]["clients"] == 1024 and d["affinity"]["clients_multiple_endpoints"] == 0, d["affinity"]
assert len(d["endpoints"]) == 6, d["endpoints"]'

tap_end
