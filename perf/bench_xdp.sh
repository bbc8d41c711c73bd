#!/usr/bin/env bash
# bench_xdp: gaxd's forwarding rate on the namespace testbed's veths over
# net_af_xdp (gax's XDP steering program in front) and over net_af_packet,
# beside dpdk-testpmd io-fwd over the same devices, in the same run
# (perf/README.md, "bench_xdp"; docs/xdp.md).
#
#   perf/bench_xdp.sh [--duration S] [--build DIR] [--out DIR] [--quick]
#
# gaxgen sends 64-byte UDP to 10.0.0.100:53 (1000 flows) as fast as it can
# from the client namespace (net_af_packet on c0, CPU 0); the forwarder runs
# in the forwarder namespace on CPU 1 (main and worker lcore together):
# gaxd (full NAT to 2 endpoints) or testpmd io-fwd (wan0 <-> lan0, frames
# untouched; over af_xdp with the PMD's default program, which takes every
# frame). The rate is what arrives on s0 (its kernel rx_packets counter)
# over a window, the same measure for both forwarders.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

usage() {
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	cat <<'EOT'
Options:
  --duration S   seconds of the measured window per run (default 4)
  --build DIR    meson build folder (default build)
  --out DIR      where xdp.md and xdp.json go (default perf/results)
  --quick        smoke run (about 20 s): --duration 1, results in a temporary
                 folder unless --out is given
EOT
}

duration=4; build="$root/build"; out=""; quick=0
while [ $# -gt 0 ]; do
	case "$1" in
	--duration) duration="${2:?--duration needs seconds}"; shift 2 ;;
	--build) build="${2:?--build needs a folder}"; shift 2 ;;
	--out) out="${2:?--out needs a folder}"; shift 2 ;;
	--quick) quick=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench_xdp: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ "$quick" = 1 ] && duration=1
case "$duration" in ''|*[!0-9]*|0) echo "bench_xdp: --duration: '$duration' is not a whole number of seconds" >&2; exit 2 ;; esac

gaxd="$build/app/gaxd/gaxd"
gaxgen="$build/app/gaxgen/gaxgen"
obj="$build/lib/xdp/gax_xdp.bpf.o"
testpmd="$(command -v dpdk-testpmd || true)"
fail() { echo "bench_xdp: $*" >&2; exit 1; }
# 77: meson's "skipped" (the perf-smoke test as a user)
[ "$(id -u)" -eq 0 ] || { echo "bench_xdp: needs root (network namespaces, BPF): skipped" >&2; exit 77; }
for f in "$gaxd" "$gaxgen" "$obj"; do
	[ -e "$f" ] || fail "no $f: build first (scripts/build.sh, or --build DIR)"
done
[ -n "$testpmd" ] || fail "dpdk-testpmd not found: it is the reference (Debian package dpdk; scripts/deps.sh)"

export GAX_TB_PREFIX=gaxbx$$
P=$GAX_TB_PREFIX
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gax-bench-xdp.XXXXXX")
[ -n "$out" ] || { [ "$quick" = 1 ] && out="$tmp/results" || out="$root/perf/results"; }
mkdir -p "$out"
fwd_pid=
gen_pid=
cleanup() {
	local pid
	for pid in $fwd_pid $gen_pid; do kill "$pid" 2>/dev/null || true; done
	sleep 0.3
	for pid in $fwd_pid $gen_pid; do kill -9 "$pid" 2>/dev/null || true; done
	"$root/scripts/testbed.sh" down >/dev/null 2>&1 || true
	rm -rf /var/run/dpdk/gaxbx$$*
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$root/scripts/testbed.sh" up >/dev/null
wan_mac=$(ip netns exec "${P}f" cat /sys/class/net/wan0/address)
cat >"$tmp/scenario.json" <<EOF
{ "name": "bench-xdp", "protocol": "udp",
  "destination": { "address": "10.0.0.100", "ports": "53" },
  "source": { "addresses": { "first": "10.0.0.50", "count": 100 }, "ports": { "from": 20000, "to": 20009 } },
  "flows": 1000, "frame_size": 60, "rate_pps": 0, "duration_s": 60,
  "mac": { "source": "02:00:00:00:00:0a", "destination": "$wan_mac" } }
EOF
config() { # DRIVER
	cat <<EOF
{ "interfaces": [
    { "name": "wan", "device": "net_$10", "addresses": ["10.0.0.1/24"] },
    { "name": "lan", "device": "net_$11", "addresses": ["10.1.0.1/24"] } ],
  "accelerators": [ { "name": "bench", "addresses": ["10.0.0.100"],
    "listeners": [ { "name": "udp-53", "protocol": "udp", "port_ranges": "53",
      "client_affinity": "none",
      "endpoint_groups": [ { "name": "eg", "reserve_client_ip": false,
        "endpoints": [ { "address": "10.1.0.21", "weight": 1 },
                       { "address": "10.1.0.22", "weight": 1 } ] } ] } ] } ] }
EOF
}
EAL_FWD=(--no-huge -m 512 --no-pci --no-telemetry --lcores='(0,1)@1' --main-lcore 0)
counter() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }

# run DRIVER FORWARDER: prints "offered_pps forwarded_pps"
run() {
	local drv=$1 fw=$2 tag="gaxbx$$$1$2" vdevs=() wrap=() t0 t1 rx0 rx1 tx0 tx1 i
	if [ "$drv" = af_xdp ]; then
		wrap=(sh -c 'mount -t bpf bpf /sys/fs/bpf && exec "$@"' sh)
		if [ "$fw" = gaxd ]; then
			vdevs=(--vdev "net_af_xdp0,iface=wan0,xdp_prog=$obj" --vdev "net_af_xdp1,iface=lan0,xdp_prog=$obj")
		else
			vdevs=(--vdev net_af_xdp0,iface=wan0 --vdev net_af_xdp1,iface=lan0)
		fi
	else
		vdevs=(--vdev net_af_packet0,iface=wan0 --vdev net_af_packet1,iface=lan0)
	fi
	if [ "$fw" = gaxd ]; then
		config "$drv" >"$tmp/$drv.json"
		timeout -s INT $((duration + 30)) ip netns exec "${P}f" "${wrap[@]}" "$gaxd" "${EAL_FWD[@]}" \
			--file-prefix "$tag" "${vdevs[@]}" -- --config "$tmp/$drv.json" \
			--socket "$tmp/$tag.sock" >"$tmp/$tag.out" 2>&1 &
		fwd_pid=$!
		for i in $(seq 1 100); do grep -q "gaxd: ready" "$tmp/$tag.out" && break; sleep 0.1; done
	else
		timeout -s INT $((duration + 30)) ip netns exec "${P}f" "${wrap[@]}" "$testpmd" "${EAL_FWD[@]}" \
			--file-prefix "$tag" "${vdevs[@]}" -- --forward-mode=io --total-num-mbufs 16384 \
			--stats-period 1 -a >"$tmp/$tag.out" 2>&1 &
		fwd_pid=$!
		for i in $(seq 1 100); do grep -q "Tx-pps" "$tmp/$tag.out" && break; sleep 0.1; done
	fi
	kill -0 "$fwd_pid" 2>/dev/null || fail "$fw over $drv did not start: $(tail -5 "$tmp/$tag.out")"
	timeout $((duration + 30)) ip netns exec "${P}c" "$gaxgen" --no-huge -m 512 --no-pci --no-telemetry \
		--lcores='(0,1)@0' --main-lcore 0 --file-prefix "${tag}g" --vdev net_af_packet0,iface=c0 \
		-- --scenario "$tmp/scenario.json" --duration $((duration + 3)) >"$tmp/${tag}g.out" 2>&1 &
	gen_pid=$!
	sleep 2 # ARP, the first flows, the sender at full speed
	t0=$(date +%s.%N); rx0=$(counter "${P}s" s0 rx_packets); tx0=$(counter "${P}c" c0 tx_packets)
	sleep "$duration"
	t1=$(date +%s.%N); rx1=$(counter "${P}s" s0 rx_packets); tx1=$(counter "${P}c" c0 tx_packets)
	wait "$gen_pid" 2>/dev/null || true
	gen_pid=
	kill -INT "$fwd_pid" 2>/dev/null || true
	wait "$fwd_pid" 2>/dev/null || true
	fwd_pid=
	python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); \
print('%.0f %.0f' % ((int(sys.argv[6])-int(sys.argv[5]))/t, (int(sys.argv[4])-int(sys.argv[3]))/t))" \
		"$t0" "$t1" "$rx0" "$rx1" "$tx0" "$tx1"
}

declare -A R
for drv in af_packet af_xdp; do
	for fw in gaxd testpmd; do
		echo -n "bench_xdp: $fw over $drv ..." >&2
		R[$drv.$fw]=$(run "$drv" "$fw")
		echo " ${R[$drv.$fw]#* } pps forwarded" >&2
	done
done

commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo ", dirty tree" || true)
python3 - "$out" "$duration" "$commit$dirty" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" \
	"${R[af_packet.gaxd]}" "${R[af_packet.testpmd]}" "${R[af_xdp.gaxd]}" "${R[af_xdp.testpmd]}" <<'EOF'
import datetime, json, sys
out, dur, commit, cpus, load = sys.argv[1:6]
runs = {}
for key, v in zip(("af_packet/gaxd", "af_packet/testpmd", "af_xdp/gaxd", "af_xdp/testpmd"), sys.argv[6:10]):
    offered, fwd = (float(x) for x in v.split())
    runs[key] = {"offered_pps": offered, "forwarded_pps": fwd}
date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
L = ["# gaxd over veths: net_af_xdp and net_af_packet beside testpmd io-fwd (perf/bench_xdp.sh)", "",
     f"Commit {commit}, {date}, {cpus} CPUs, load average {load} at the end; "
     f"one {dur} s window per run. Sender: gaxgen on c0 (net_af_packet, CPU 0), 64-byte UDP, 1000 flows; "
     "forwarder on CPU 1; rate = frames arriving on s0.", "",
     "| driver | gaxd kpps | testpmd io-fwd kpps | ratio | offered to gaxd / testpmd kpps |",
     "|---|---:|---:|---:|---:|"]
for drv in ("af_packet", "af_xdp"):
    g, t = runs[drv + "/gaxd"], runs[drv + "/testpmd"]
    ratio = g["forwarded_pps"] / t["forwarded_pps"] if t["forwarded_pps"] else 0
    L.append(f"| {drv} | {g['forwarded_pps'] / 1e3:.0f} | {t['forwarded_pps'] / 1e3:.0f} | {ratio:.2f} | "
             f"{g['offered_pps'] / 1e3:.0f} / {t['offered_pps'] / 1e3:.0f} |")
text = "\n".join(L) + "\n"
open(f"{out}/xdp.md", "w").write(text)
json.dump({"date": date, "commit": commit, "duration_s": float(dur), "cpus": int(cpus),
           "load_before": float(load), "runs": runs}, open(f"{out}/xdp.json", "w"), indent=2)
print(text, end="")
EOF
[ "$out" = "$tmp/results" ] || echo "bench_xdp: results in $out/xdp.md and xdp.json" >&2
