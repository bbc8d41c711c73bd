#!/usr/bin/env bash
# Kernel twins (the exception path, docs/dataplane.md): on the namespace
# testbed, with tests/e2e/dataplane.json plus a kernel_twin on each interface,
# the host's own sockets in the forwarder namespace go out and come back
# through gaxd's ports, while gaxd keeps serving the accelerated addresses:
#   - the twins exist with the interfaces' addresses, IPv6 off, and the
#     nftables guard on the net_af_packet ports' kernel interfaces;
#   - a TCP service of the host on 10.0.0.1:2222 answers a client;
#   - the host reaches an endpoint over TCP and UDP and pings it (no
#     duplicate replies: the kernel does not also take frames from lan0);
#   - gax's own flows work at the same time, their NAT source ports outside
#     the kernel's ephemeral range and the kernel's inside it;
#   - an apply that changes a twin is refused with its path;
#   - counters; SIGTERM removes the twins and the guard; after kill -9 the
#     twins are gone with the process and the next start works.
# usage: test_twin.sh SOURCE_ROOT GAXD_PATH GAXCTL_PATH
# TAP output; needs root; bounded (every client has a timeout; under 90 s).
set -uo pipefail
root=$1
gaxd=$2
gaxctl=$3
export GAX_TB_PREFIX=gaxtw$$
P=$GAX_TB_PREFIX
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/e2e.sh"

e2e_preamble twin curl ping nft timeout stdbuf
config="$work/twin.json"
"$py" - "$root/tests/e2e/dataplane.json" "$config" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["interfaces"][0]["kernel_twin"] = "gax-wan"
d["interfaces"][1]["kernel_twin"] = "gax-lan"
json.dump(d, open(sys.argv[2], "w"), indent=2)
EOF
inf() { ip netns exec "${P}f" "$@"; }
read -r klo khi < <(inf cat /proc/sys/net/ipv4/ip_local_port_range)

e2e_servers --tcp 10.1.0.11-13:8080 --udp 10.1.0.21:53
# The host's own service on every address (an SSH stand-in), in gaxd's namespace.
timeout 120 ip netns exec "${P}f" "$py" -m http.server 2222 --bind 0.0.0.0 \
	>"$work/host-service.out" 2>&1 &
host_pid=$!
trap 'kill $host_pid 2>/dev/null; e2e_cleanup' EXIT

e2e_gaxd_start "gaxd starts with kernel twins gax-wan and gax-lan" "$config"

if [ -n "$gaxd_pid" ]; then
	w=$(inf ip -br -4 addr show dev gax-wan 2>&1)
	l=$(inf ip -br -4 addr show dev gax-lan 2>&1)
	if grep -q "10.0.0.1/24" <<<"$w" && grep -q "10.1.0.1/24" <<<"$l"; then
		ok "the twins carry the interfaces' addresses"
	else not_ok "the twins carry the interfaces' addresses" "$w" "$l"; fi
	v6=$(inf ip -6 addr show dev gax-wan 2>&1)
	if [ -z "$v6" ]; then ok "IPv6 is off on the twins"; else not_ok "IPv6 is off on the twins" "$v6"; fi
	g=$(inf nft list table netdev gaxd 2>&1)
	if grep -q '"wan0"' <<<"$g" && grep -q '"lan0"' <<<"$g"; then
		ok "the kernel ignores wan0 and lan0 (nftables table netdev gaxd)"
	else not_ok "the kernel ignores wan0 and lan0 (nftables table netdev gaxd)" "$g"; fi
	want="full-NAT source ports 1024-$((klo - 1)), outside the kernel's ephemeral ports $klo-$khi"
	if grep -qF "$want" "$work/gaxd.out" "$work/gaxd.err"; then ok "gaxd logs: $want"
	else not_ok "gaxd logs: $want" "$(grep -h "kernel twins" "$work/gaxd.out" "$work/gaxd.err")"; fi

	# ARP both ways first: the first ping may race the neighbours' resolution.
	inf ping -c 1 -W 2 10.1.0.11 >/dev/null 2>&1
	out=$(timeout 10 ip netns exec "${P}c" curl -s -m 5 -o /dev/null -w "%{http_code}" \
		http://10.0.0.1:2222/ 2>&1)
	if [ "$out" = 200 ]; then ok "a client reaches the host's own TCP service on 10.0.0.1:2222"
	else not_ok "a client reaches the host's own TCP service on 10.0.0.1:2222" "curl: '$out'"; fi
	out=$(timeout 10 ip netns exec "${P}f" curl -s -m 5 http://10.1.0.11:8080/ 2>&1)
	if grep -q "^endpoint=10.1.0.11:8080 peer=10.1.0.1:" <<<"$out"; then
		ok "the host reaches endpoint 10.1.0.11:8080 over TCP through gax-lan"
	else not_ok "the host reaches endpoint 10.1.0.11:8080 over TCP through gax-lan" "curl: $out"; fi
	out=$(timeout 10 ip netns exec "${P}f" "$py" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"question", ("10.1.0.21", 53))
print(s.recvfrom(2048)[0].decode(errors="replace"))' 2>&1)
	if grep -q "endpoint=10.1.0.21:53" <<<"$out"; then
		ok "the host's UDP query to 10.1.0.21:53 is answered through gax-lan"
	else not_ok "the host's UDP query to 10.1.0.21:53 is answered through gax-lan" "$out"; fi
	out=$(inf ping -c 3 -i 0.3 -W 2 10.1.0.12 2>&1)
	if grep -q " 3 received" <<<"$out" && ! grep -q "DUP" <<<"$out"; then
		ok "the host pings 10.1.0.12: 3 replies, no duplicates"
	else not_ok "the host pings 10.1.0.12: 3 replies, no duplicates" "$out"; fi

	timeout 60 ip netns exec "${P}c" "$py" "$tools/gax_clients.py" tcp --target 10.0.0.100:80 \
		--sources 10.0.0.10-42 --per-source 2 --parallel 8 --give-up 16 --timeout 3 \
		--deadline 20 >"$work/vip.json" 2>"$work/vip.err"
	# Concurrently the kernel's connections, to see both kinds of source ports.
	for _ in 1 2 3 4 5; do
		timeout 5 ip netns exec "${P}f" curl -s -m 3 -o /dev/null http://10.1.0.12:8080/
	done
	tap_report < <("$py" - "$work" "$klo" "$khi" <<'EOF'
import json, os, sys
work, klo, khi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
run = json.load(open(os.path.join(work, "vip.json")))
s = run.get("summary", {})
good = s.get("attempts", 0) == 66 and s.get("ok") == 66
print(("ok" if good else "not ok") + "\tgax still serves 10.0.0.100:80: 66 of 66 connections")
if not good:
    print("#\t" + json.dumps(s))
recs = [json.loads(l) for l in open(os.path.join(work, "servers.jsonl")) if l.strip()]
gax = [r["pport"] for r in recs if r.get("request") == "HELLO" and r.get("peer") == "10.1.0.1"]
host = [r["pport"] for r in recs if (r.get("request") or "").startswith("GET /")]
bad = [p for p in gax if klo <= p <= khi]
good = len(gax) >= 66 and not bad
print(("ok" if good else "not ok") +
      f"\tgax's NAT source ports ({len(gax)}) are all outside the kernel's {klo}-{khi}")
if not good:
    print(f"#\tinside: {bad[:10]}")
bad = [p for p in host if not klo <= p <= khi]
good = len(host) >= 6 and not bad
print(("ok" if good else "not ok") +
      f"\tthe host's own source ports ({len(host)}) are in its range {klo}-{khi}")
if not good:
    print(f"#\toutside: {bad[:10]}")
EOF
)

	"$py" - "$config" "$work/changed.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["interfaces"][0]["kernel_twin"] = "gax-wan2"
json.dump(d, open(sys.argv[2], "w"))
EOF
	run "$gaxctl" --socket "$work/gaxd.sock" apply "$work/changed.json"
	if [ "$rc" -ne 0 ] && grep -q "interfaces\[0\].kernel_twin" <<<"$out" &&
			grep -q "cannot change while gaxd runs" <<<"$out"; then
		ok "an apply that renames a twin is refused, naming interfaces[0].kernel_twin"
	else not_ok "an apply that renames a twin is refused, naming interfaces[0].kernel_twin" \
		"exit $rc" "$out"; fi
fi

e2e_gaxd_stop "on SIGTERM gaxd stops within 10 s and exits 0"
tap_report < <("$py" - "$work/stats.json" <<'EOF'
import json, sys
try:
    st = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    st = {"error": str(e)}
tw = {t["name"]: t for t in st.get("kernel_twins", [])}
ports = {p["interface"]: p for p in st.get("ports", [])}
good = set(tw) == {"gax-wan", "gax-lan"} and all(
    tw[n]["to_kernel"] > 0 and tw[n]["from_kernel"] > 0 for n in tw)
print(("ok" if good else "not ok") + "\tstats: both twins moved frames each way")
if not good:
    print("#\t" + json.dumps(st.get("kernel_twins", st.get("error"))))
good = all(ports.get(n, {}).get("to_kernel", 0) > 0 for n in ("wan", "lan"))
print(("ok" if good else "not ok") + "\tstats: per port to_kernel counts frames given to the twin")
if not good:
    print("#\t" + json.dumps(list(ports.values())))
EOF
)
if ! inf ip link show gax-wan >/dev/null 2>&1 && ! inf ip link show gax-lan >/dev/null 2>&1 &&
		! inf nft list table netdev gaxd >/dev/null 2>&1; then
	ok "after the stop the twins and the nftables table are gone"
else not_ok "after the stop the twins and the nftables table are gone" "$(inf ip -br link)"; fi

# A crash: the taps go with the process; the guard stays until the next start replaces it.
if e2e_gaxd_start "gaxd starts again" "$config"; then
	kill -9 "$(pgrep -P "$gaxd_pid")" # gaxd itself, the child of timeout
	wait "$gaxd_pid" 2>/dev/null
	gaxd_pid=
	gone=0
	for _ in $(seq 1 30); do
		inf ip link show gax-wan >/dev/null 2>&1 || { gone=1; break; }
		sleep 0.1
	done
	if [ $gone -eq 1 ]; then ok "after kill -9 the twins are gone with the process"
	else not_ok "after kill -9 the twins are gone with the process" "$(inf ip -br link)"; fi
	e2e_gaxd_start "after the crash gaxd starts again (its nftables table replaced)" "$config"
	e2e_gaxd_stop "and stops cleanly"
fi
e2e_finish
