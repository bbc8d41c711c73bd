#!/usr/bin/env bash
# The namespace testbed: three network namespaces joined by two veth pairs,
# with gax (or, for comparison, the Linux kernel) forwarding between them.
#
#   ${P}c  clients   c0: 10.0.0.10/24 plus 10.0.0.11-10.0.0.42 (many sources)
#                     |  veth
#   ${P}f  forwarder wan0 ......... lan0     (gaxd opens these with net_af_packet)
#                                    |  veth
#   ${P}s  servers   s0: 10.1.0.11-14, .21-22, .31-32, .41/24 (endpoints)
#
# The addresses match config/demo.json: gax's interfaces are 10.0.0.1 (wan)
# and 10.1.0.1 (lan), the accelerated addresses 10.0.0.100 and 10.0.0.101.
# Clients route everything through 10.0.0.1 and servers through 10.1.0.1, so
# replies of reserve-client-IP flows come back through the forwarder.
# Checksum offload is off on the sending veths (testbed-notes: partial
# checksums would reach the receivers), and so are TSO/GSO/GRO, so the
# forwarder sees real frames of at most the MTU.
#
# usage: scripts/testbed.sh up | down | status | kernel-check | kernel-on | kernel-off
#   up            (re)create the namespaces; the forwarder's veths carry no address
#   down          remove them (and everything running in them stops with them)
#   status        list what exists
#   kernel-check  prove the wiring with the kernel as the forwarder: give
#                 wan0/lan0 gax's addresses, route, ping and move 1 MiB over TCP
#                 from a client to a server, then take the addresses away again
#   kernel-on     make the kernel the forwarder and leave it so (to try test
#                 tools without gaxd; no accelerated addresses, no NAT: clients
#                 reach the server addresses directly)
#   kernel-off    undo kernel-on (the forwarder's veths carry no address again)
# GAX_TB_PREFIX (default "gax") names the namespaces, so runs can coexist.
# Every command is bounded by a timeout; only addresses inside these
# namespaces are ever used as targets.
set -euo pipefail

P=${GAX_TB_PREFIX:-gax}
NC=${P}c
NF=${P}f
NS=${P}s
CLIENTS=32
SERVERS=(10.1.0.11 10.1.0.12 10.1.0.13 10.1.0.14 10.1.0.21 10.1.0.22 10.1.0.31 10.1.0.32 10.1.0.41)

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

offloads_off() { # NS DEV
	in_ns "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 ||
		in_ns "$1" ethtool -K "$2" tx off >/dev/null
}

down() {
	local ns
	for ns in "$NC" "$NF" "$NS"; do
		if ip netns list | grep -qw "$ns"; then
			# Stop whatever still runs inside (servers, gaxd) before removing it.
			ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
			sleep 0.2
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
			ip netns del "$ns"
		fi
	done
}

up() {
	local i addr
	down
	ip netns add "$NC"
	ip netns add "$NF"
	ip netns add "$NS"
	ip link add c0 netns "$NC" type veth peer name wan0 netns "$NF"
	ip link add s0 netns "$NS" type veth peer name lan0 netns "$NF"
	for ns in "$NC" "$NF" "$NS"; do
		in_ns "$ns" ip link set lo up
	done

	in_ns "$NC" ip link set c0 address 02:00:00:00:00:0a
	in_ns "$NC" ip addr add 10.0.0.10/24 dev c0
	for i in $(seq 11 $((10 + CLIENTS))); do
		in_ns "$NC" ip addr add "10.0.0.$i/24" dev c0
	done
	in_ns "$NC" ip link set c0 up
	in_ns "$NC" ip route add default via 10.0.0.1
	offloads_off "$NC" c0

	in_ns "$NS" ip link set s0 address 02:00:00:00:01:0a
	for addr in "${SERVERS[@]}"; do
		in_ns "$NS" ip addr add "$addr/24" dev s0
	done
	in_ns "$NS" ip link set s0 up
	in_ns "$NS" ip route add default via 10.1.0.1
	offloads_off "$NS" s0

	# The forwarder's ends: up, no address (gaxd owns the addresses), no IPv6
	# chatter, no kernel reaction to what arrives.
	for dev in wan0 lan0; do
		in_ns "$NF" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
		in_ns "$NF" ip link set "$dev" up
		offloads_off "$NF" "$dev"
	done
	in_ns "$NF" sysctl -qw net.ipv4.ip_forward=0
	echo "testbed up: $NC (10.0.0.10-$((10 + CLIENTS))) -- $NF (wan0, lan0) -- $NS (${#SERVERS[@]} endpoint addresses)"
}

status() {
	local ns
	for ns in "$NC" "$NF" "$NS"; do
		if ip netns list | grep -qw "$ns"; then
			echo "== $ns"
			in_ns "$ns" ip -br addr
		else
			echo "== $ns: absent"
		fi
	done
}

kernel_on() {
	in_ns "$NF" ip addr replace 10.0.0.1/24 dev wan0
	in_ns "$NF" ip addr replace 10.1.0.1/24 dev lan0
	in_ns "$NF" sysctl -qw net.ipv4.ip_forward=1
}

kernel_off() {
	in_ns "$NF" sysctl -qw net.ipv4.ip_forward=0
	in_ns "$NF" ip addr flush dev wan0
	in_ns "$NF" ip addr flush dev lan0
}

kernel_check() {
	local dir srv rc=0 got
	kernel_on
	dir=$(mktemp -d)
	head -c 1048576 /dev/urandom >"$dir/blob"
	(cd "$dir" && exec timeout 20 ip netns exec "$NS" python3 -m http.server \
		--bind 10.1.0.11 8080 >/dev/null 2>&1) &
	srv=$!
	for _ in $(seq 1 50); do
		in_ns "$NS" python3 -c 'import socket; socket.create_connection(("10.1.0.11", 8080), 1)' \
			2>/dev/null && break
		sleep 0.1
	done
	if timeout 10 ip netns exec "$NC" ping -c 2 -W 1 -q 10.1.0.12 >/dev/null; then
		echo "ok: ping 10.0.0.10 -> 10.1.0.12 through the kernel"
	else
		echo "FAIL: ping through the kernel"; rc=1
	fi
	got=$(timeout 20 ip netns exec "$NC" python3 -c '
import hashlib, sys, urllib.request
data = urllib.request.urlopen("http://10.1.0.11:8080/blob", timeout=10).read()
print(len(data), hashlib.sha256(data).hexdigest())' 2>&1) || true
	if [ "$got" = "1048576 $(sha256sum "$dir/blob" | cut -d' ' -f1)" ]; then
		echo "ok: 1 MiB over TCP from 10.1.0.11:8080 arrived intact"
	else
		echo "FAIL: TCP transfer: $got"; rc=1
	fi
	kill "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	rm -rf "$dir"
	kernel_off
	return $rc
}

case ${1:-} in
up) up ;;
down) down; echo "testbed down" ;;
status) status ;;
kernel-check) kernel_check ;;
kernel-on) kernel_on; echo "kernel forwards between wan0 (10.0.0.1) and lan0 (10.1.0.1) in $NF" ;;
kernel-off) kernel_off; echo "kernel no longer forwards in $NF" ;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
