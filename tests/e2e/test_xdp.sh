#!/usr/bin/env bash
# AF_XDP mode end to end: gaxd runs on the testbed (scripts/testbed.sh) over
# net_af_xdp with gax's XDP steering program (lib/xdp, docs/xdp.md), and the
# kernel of the forwarder namespace keeps an address of its own on wan0,
# 10.0.0.2/24 (not one of gax's), with a TCP service on it. Checks:
#   - the host's service answers the clients through the kernel while gaxd
#     runs, and gaxd serves its listener beside it;
#   - a listener port changed through the API (gaxctl listener update) is
#     steered at once: the new port reaches the endpoint within a second,
#     the old one no longer does, and its probes go to the kernel;
#   - SIGTERM: gaxd exits and leaves no XDP program on its interfaces;
#   - kill -9: the program stays attached (the crash case), and the host's
#     service still answers through it; even the frames it steers to gax
#     reach the kernel (no socket bound: XDP_PASS), shown with a kernel
#     service on gax's own address and port.
# TAP output; needs root. usage: test_xdp.sh SOURCE_ROOT GAXD GAXCTL
# (GAX_XDP_OBJ: the built gax_xdp.bpf.o; meson sets it). Every wait is
# bounded; the whole test takes about 20 s, under 90 s in any case.
set -uo pipefail
root=$1
gaxd=$2
gaxctl=$3
export GAX_TB_PREFIX=gaxxdp$$
P=$GAX_TB_PREFIX
tb="$root/scripts/testbed.sh"
tools="$root/tests/e2e/tools"
py=${PYTHON:-python3}
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
GAX_E2E_DRIVER=af_xdp
. "$(dirname "${BASH_SOURCE[0]}")/driver.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root for network namespaces and BPF"
	exit 0
fi
for tool in "$py" ethtool timeout stdbuf; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is missing (scripts/deps.sh)"; exit 0; }
done
driver_init

work=$(mktemp -d "${TMPDIR:-/tmp}/gax-xdp.XXXXXX")
gaxd_pid=
srv_pid=
host_pid=
cleanup() {
	local pid
	for pid in $gaxd_pid $srv_pid $host_pid; do kill "$pid" 2>/dev/null || true; done
	sleep 0.3
	for pid in $gaxd_pid $srv_pid $host_pid; do kill -9 "$pid" 2>/dev/null || true; done
	"$tb" down >/dev/null 2>&1
	rm -rf /var/run/dpdk/gaxxdp$$run /var/run/dpdk/gaxxdp$$crash
	if [ $failed -eq 0 ] && [ -z "${GAX_E2E_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$SECONDS

cat >"$work/xdp.json" <<'EOF'
{
  "interfaces": [
    { "name": "wan", "device": "net_af_xdp0", "addresses": ["10.0.0.1/24"] },
    { "name": "lan", "device": "net_af_xdp1", "addresses": ["10.1.0.1/24"] }
  ],
  "accelerators": [
    { "name": "web", "addresses": ["10.0.0.100"],
      "listeners": [
        { "name": "tcp-a", "protocol": "tcp", "port_ranges": "80", "client_affinity": "none",
          "endpoint_groups": [
            { "name": "eg", "reserve_client_ip": false,
              "endpoints": [ { "address": "10.1.0.11", "weight": 1 } ] } ] } ] }
  ]
}
EOF

# -- the testbed, the endpoint, the host's own service ---------------------------
if out=$("$tb" up 2>&1); then ok "testbed comes up"; else not_ok "testbed comes up" "$out"; fi
ip netns exec "${P}f" ip addr add 10.0.0.2/24 dev wan0

wait_ready() { # FILE PID: 10 s for "servers: ready"
	for _ in $(seq 1 100); do
		grep -q "servers: ready" "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
timeout 80 ip netns exec "${P}s" "$py" "$tools/gax_servers.py" --tcp 10.1.0.11:80-81 \
	--log "$work/servers.jsonl" --max-seconds 75 >"$work/servers.out" 2>&1 &
srv_pid=$!
# The host's service: SSH's port on the kernel's own address of the same interface.
timeout 80 ip netns exec "${P}f" "$py" "$tools/gax_servers.py" --tcp 10.0.0.2:22 \
	--log "$work/host.jsonl" --max-seconds 75 >"$work/host.out" 2>&1 &
host_pid=$!
if wait_ready "$work/servers.out" $srv_pid && wait_ready "$work/host.out" $host_pid; then
	ok "endpoint 10.1.0.11:80-81 listens in ${P}s, the host's service 10.0.0.2:22 in ${P}f"
else
	not_ok "endpoint and host service listen" "$(cat "$work/servers.out" "$work/host.out")"
fi

# hello ADDR PORT [DEADLINE_S]: from the client namespace, connect and say HELLO,
# retrying every 0.1 s (0.25 s per attempt) until an answer or the deadline;
# prints "<answer> after <ms> ms" or "no answer (<last error>) after <ms> ms".
hello() {
	timeout 15 ip netns exec "${P}c" "$py" - "$1" "$2" "${3:-0.25}" <<'EOF'
import socket, sys, time
addr, port, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
err = "no attempt"
while True:
    try:
        with socket.create_connection((addr, port), timeout=0.25,
                                      source_address=("10.0.0.10", 0)) as s:
            s.sendall(b"HELLO\n")
            line = s.makefile().readline().strip()
            if line:
                print(f"{line} after {(time.monotonic() - t0) * 1e3:.0f} ms")
                sys.exit(0)
            err = "empty answer"
    except OSError as e:
        err = str(e) or type(e).__name__
    if time.monotonic() - t0 >= deadline:
        break
    time.sleep(0.1)
print(f"no answer ({err}) after {(time.monotonic() - t0) * 1e3:.0f} ms")
sys.exit(1)
EOF
}

start_gaxd() { # TAG
	driver_gaxd "${P}f" wan0 lan0
	timeout 80 "${gaxd_cmd[@]}" stdbuf -oL -eL "$gaxd" --no-huge -m 512 --no-pci --no-telemetry \
		--file-prefix "gaxxdp$$$1" -l 0,1 "${gaxd_vdevs[@]}" \
		-- --config "$work/xdp.json" --socket "$work/gaxd.sock" \
		>"$work/gaxd-$1.out" 2>"$work/gaxd-$1.err" &
	gaxd_pid=$!
	for _ in $(seq 1 150); do # 15 s
		grep -q "gaxd: ready" "$work/gaxd-$1.out" 2>/dev/null && return 0
		kill -0 "$gaxd_pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
xdp_prog() { # DEV: the XDP program attached to DEV in the forwarder namespace, if any
	ip netns exec "${P}f" ip link show dev "$1" | grep -o 'prog/xdp id [0-9]* name [a-z_]*'
}
xdp_stat() { # NAME: a counter of gaxd's "xdp" stats
	timeout 10 "$gaxctl" --socket "$work/gaxd.sock" --json stats |
		"$py" -c "import json,sys; print(json.load(sys.stdin)['xdp']['$1'])"
}
gaxctl_() { timeout 10 "$gaxctl" --socket "$work/gaxd.sock" "$@"; }

# -- gaxd running: the host's service and gax side by side --------------------------
if start_gaxd run; then
	ok "gaxd starts over net_af_xdp with the steering program ($((SECONDS - start)) s)"
	comment "$(grep -h "steered by XDP" "$work/gaxd-run.err")"
else
	not_ok "gaxd starts over net_af_xdp with the steering program" \
		"stdout:" "$(tail -5 "$work/gaxd-run.out")" "stderr:" "$(tail -15 "$work/gaxd-run.err")"
fi
if prog=$(xdp_prog wan0) && grep -q gax_xdp_steer <<<"$prog"; then
	ok "wan0 runs gax_xdp_steer ($prog)"
else
	not_ok "wan0 runs gax_xdp_steer" "$(ip netns exec "${P}f" ip link show dev wan0)"
fi

if got=$(hello 10.0.0.2 22 3) && grep -q "endpoint=10.0.0.2:22" <<<"$got"; then
	ok "while gaxd runs, the host's TCP service 10.0.0.2:22 on wan0 answers through the kernel ($got)"
else
	not_ok "while gaxd runs, the host's TCP service 10.0.0.2:22 on wan0 answers through the kernel" "$got"
fi
if got=$(hello 10.0.0.100 80 3) && grep -q "endpoint=10.1.0.11:80" <<<"$got"; then
	ok "gaxd serves 10.0.0.100:80 on the same interface ($got)"
else
	not_ok "gaxd serves 10.0.0.100:80 on the same interface" "$got" "$(tail -5 "$work/gaxd-run.err")"
fi
before_nl=$(xdp_stat pass_no_listener 2>&1)
before_no=$(xdp_stat pass_not_ours 2>&1)
if [ "${before_no:-0}" -gt 0 ] 2>/dev/null; then
	ok "gaxd's stats count the host's frames the program passed (xdp.pass_not_ours $before_no)"
else
	not_ok "gaxd's stats count the host's frames the program passed" "xdp.pass_not_ours: $before_no"
fi

# -- a listener port changed through the API is steered at once ---------------------
if out=$(gaxctl_ listener update --accelerator web --name tcp-a --ports 81 2>&1); then
	ok "gaxctl listener update moves web/tcp-a from port 80 to 81"
else
	not_ok "gaxctl listener update moves web/tcp-a from port 80 to 81" "$out"
fi
if got=$(hello 10.0.0.100 81 1) && grep -q "endpoint=10.1.0.11:81" <<<"$got"; then
	ok "the new port 81 reaches the endpoint within a second of the change ($got)"
else
	not_ok "the new port 81 reaches the endpoint within a second of the change" "$got" \
		"xdp stats: $(timeout 10 "$gaxctl" --socket "$work/gaxd.sock" --json stats | \
		"$py" -c 'import json,sys; print(json.load(sys.stdin).get("xdp"))' 2>&1)"
fi
if got=$(hello 10.0.0.100 80 0.5); then
	not_ok "the old port 80 no longer reaches the endpoint" "$got"
else
	ok "the old port 80 no longer reaches the endpoint ($got)"
fi
after_nl=$(xdp_stat pass_no_listener 2>&1)
if [ "$after_nl" -gt "$before_nl" ] 2>/dev/null; then
	ok "the old port's probes went to the kernel (xdp.pass_no_listener $before_nl -> $after_nl)"
else
	not_ok "the old port's probes went to the kernel" "xdp.pass_no_listener $before_nl -> $after_nl"
fi

# -- SIGTERM: detached; kill -9: attached, passing -----------------------------------
if [ -n "$gaxd_pid" ]; then
	kill -TERM "$gaxd_pid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$gaxd_pid" 2>/dev/null || break; sleep 0.1; done
	wait "$gaxd_pid" 2>/dev/null; rc=$?
	gaxd_pid=
	left="$(xdp_prog wan0) $(xdp_prog lan0)"
	if [ $rc -eq 0 ] && [ "$left" = " " ]; then
		ok "on SIGTERM gaxd exits 0 and leaves no XDP program on wan0 or lan0"
	else
		not_ok "on SIGTERM gaxd exits 0 and leaves no XDP program on wan0 or lan0" \
			"exit status $rc; left: $left" "$(tail -5 "$work/gaxd-run.err")"
	fi
fi
if start_gaxd crash && hello 10.0.0.100 81 3 >/dev/null; then
	# $gaxd_pid is timeout's; gaxd is its child (ip netns exec, sh and stdbuf exec).
	child=$(pgrep -P "$gaxd_pid")
	if [ "$(cat "/proc/$child/comm" 2>/dev/null)" = gaxd ] && kill -9 "$child"; then
		ok "gaxd (pid $child) killed with SIGKILL"
	else
		not_ok "gaxd killed with SIGKILL" "timeout's child is '$child' ($(cat "/proc/$child/comm" 2>&1))"
	fi
	wait "$gaxd_pid" 2>/dev/null
	gaxd_pid=
	prog=$(xdp_prog wan0)
	if grep -q gax_xdp_steer <<<"$prog"; then
		ok "after kill -9 the steering program is still attached to wan0 ($prog)"
	else
		not_ok "after kill -9 the steering program is still attached to wan0" \
			"$(ip netns exec "${P}f" ip link show dev wan0)"
	fi
	if got=$(hello 10.0.0.2 22 3) && grep -q "endpoint=10.0.0.2:22" <<<"$got"; then
		ok "after kill -9 the host's service 10.0.0.2:22 still answers through the kernel ($got)"
	else
		not_ok "after kill -9 the host's service 10.0.0.2:22 still answers through the kernel" "$got"
	fi
	# Frames the program still steers (to gax's listener) fall back to XDP_PASS:
	# give the kernel gax's address and a service on gax's port, and it answers.
	ip netns exec "${P}f" ip addr add 10.0.0.100/32 dev wan0
	timeout 30 ip netns exec "${P}f" "$py" "$tools/gax_servers.py" --tcp 10.0.0.100:81 \
		--log "$work/host2.jsonl" --max-seconds 25 >"$work/host2.out" 2>&1 &
	host2_pid=$!
	if wait_ready "$work/host2.out" $host2_pid && got=$(hello 10.0.0.100 81 3) &&
			grep -q "endpoint=10.0.0.100:81" <<<"$got"; then
		ok "after kill -9 even frames steered to gax (10.0.0.100:81, no socket left) reach the kernel ($got)"
	else
		not_ok "after kill -9 even frames steered to gax (10.0.0.100:81, no socket left) reach the kernel" \
			"$got" "$(cat "$work/host2.out")"
	fi
	kill "$host2_pid" 2>/dev/null
	wait "$host2_pid" 2>/dev/null
	ip netns exec "${P}f" ip link set dev wan0 xdp off
	ip netns exec "${P}f" ip link set dev lan0 xdp off
else
	not_ok "gaxd starts again and serves 10.0.0.100:81 (for the kill -9 checks)" \
		"$(tail -10 "$work/gaxd-crash.err")"
fi

if out=$("$tb" down 2>&1); then ok "testbed goes away"; else not_ok "testbed goes away" "$out"; fi
comment "took $((SECONDS - start)) s"
if [ $failed -ne 0 ] || [ -n "${GAX_E2E_KEEP:-}" ]; then
	comment "work folder kept: $work"
fi
tap_end
