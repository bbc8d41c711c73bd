#!/usr/bin/env bash
# Observing a running gaxd from outside: DPDK telemetry and packet capture.
# On the namespace testbed (scripts/testbed.sh) with tests/e2e/dataplane.json,
# gaxd runs with telemetry on; dpdk-telemetry.py -f PREFIX answers /gax/info
# (the generation), /gax/stats (ports that received packets after some
# traffic), /gax/listeners, /gax/endpoint_groups and /gax/endpoints, and
# follows a change applied through the control socket. With hugepages (set
# up and restored here: a private hugetlbfs mount given to gaxd with
# --huge-dir, nr_hugepages raised only if too few are free), dpdk-dumpcap
# --file-prefix PREFIX attaches as a secondary process and captures gaxd's
# wan port while a ping runs; the pcap must hold the ICMP echo requests to
# the accelerated address (read here with Python). Without hugepages that
# part is skipped with the reason. TAP output; needs root.
# usage: test_observe.sh SOURCE_ROOT GAXD_PATH
# Bounded: every process runs under timeout; about 15 s, well under 60 s.
# GAX_E2E_KEEP=1 keeps the work folder even on success; it is always kept on
# failure. GAX_E2E_NO_HUGE=1 leaves hugepages alone (the capture is skipped).
set -uo pipefail
root=$1
gaxd=$2
export GAX_TB_PREFIX=gaxob$$
P=$GAX_TB_PREFIX
tb="$root/scripts/testbed.sh"
tools="$root/tests/e2e/tools"
py=${PYTHON:-python3}
VIP=10.0.0.100
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root for network namespaces"
	exit 0
fi
for tool in "$py" ping ethtool timeout stdbuf dpdk-telemetry.py; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is missing (scripts/deps.sh)"; exit 0; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gax-observe.XXXXXX")
config="$work/observe.json"
cp "$root/tests/e2e/dataplane.json" "$config"
sock="$work/gaxd.sock"
huge="$work/huge"
gaxd_pid=
srv_pid=
cap_pid=
huge_mounted=0
huge_orig=
huge_raised=0

huge_restore() {
	local i
	if [ $huge_mounted -eq 1 ]; then
		for i in $(seq 1 20); do umount "$huge" 2>/dev/null && break; sleep 0.2; done
		mountpoint -q "$huge" 2>/dev/null || huge_mounted=0
	fi
	if [ $huge_raised -eq 1 ]; then
		echo "$huge_orig" >/proc/sys/vm/nr_hugepages 2>/dev/null && huge_raised=0
	fi
}
cleanup() {
	local pid
	for pid in $cap_pid $gaxd_pid $srv_pid; do kill "$pid" 2>/dev/null || true; done
	sleep 0.3
	for pid in $cap_pid $gaxd_pid $srv_pid; do kill -9 "$pid" 2>/dev/null || true; done
	"$tb" down >/dev/null 2>&1
	huge_restore
	rm -rf "/var/run/dpdk/$P"
	if [ $failed -eq 0 ] && [ -z "${GAX_E2E_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$SECONDS
gaxd_tail() {
	echo "gaxd stdout (last 10 lines):"; tail -10 "$work/gaxd.out"
	echo "gaxd stderr (last 15 lines):"; tail -15 "$work/gaxd.err"
}

# -- hugepages for the capture (a secondary process needs them) -------------------
# gaxd takes -m 128 (64 pages of 2 MiB); ask for 96 free pages.
HUGE_NEED=96
huge_why=
if [ -n "${GAX_E2E_NO_HUGE:-}" ]; then
	huge_why="GAX_E2E_NO_HUGE is set"
elif ! command -v dpdk-dumpcap >/dev/null; then
	huge_why="dpdk-dumpcap is missing (scripts/deps.sh installs dpdk)"
elif [ "$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)" != 2048 ]; then
	huge_why="the default hugepage size is not 2 MiB"
else
	huge_orig=$(cat /proc/sys/vm/nr_hugepages)
	free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	if [ "$free" -lt $HUGE_NEED ]; then
		if echo $((huge_orig + HUGE_NEED - free)) >/proc/sys/vm/nr_hugepages 2>/dev/null; then
			huge_raised=1
		fi
		free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	fi
	if [ "$free" -lt $HUGE_NEED ]; then
		huge_why="only $free free 2 MiB hugepages (need $HUGE_NEED) after asking the kernel for more"
	elif ! mkdir -p "$huge" || ! mount -t hugetlbfs -o pagesize=2M nodev "$huge" 2>"$work/mount.err"; then
		huge_why="cannot mount hugetlbfs: $(cat "$work/mount.err" 2>/dev/null)"
	else
		huge_mounted=1
	fi
	[ -z "$huge_why" ] || huge_restore
fi
if [ -z "$huge_why" ]; then
	ok "hugepages for the capture: $free free 2 MiB pages (nr_hugepages $huge_orig$([ $huge_raised -eq 1 ] &&
		echo " raised to $(cat /proc/sys/vm/nr_hugepages)")), hugetlbfs mounted at $huge"
	mem=(-m 128 --huge-dir "$huge")
else
	skip "hugepages for the capture" "$huge_why"
	mem=(--no-huge -m 512)
fi

# -- the testbed, servers, gaxd with telemetry -------------------------------------
if out=$("$tb" up 2>&1); then ok "testbed comes up"; else not_ok "testbed comes up" "$out"; fi
timeout 55 ip netns exec "${P}s" "$py" "$tools/gax_servers.py" \
	--tcp 10.1.0.11-13:8080 --udp 10.1.0.21:53 \
	--log "$work/servers.jsonl" --max-seconds 50 >"$work/servers.out" 2>&1 &
srv_pid=$!
for _ in $(seq 1 100); do
	grep -q "servers: ready" "$work/servers.out" 2>/dev/null && break
	kill -0 "$srv_pid" 2>/dev/null || break
	sleep 0.1
done
grep -q "servers: ready" "$work/servers.out" || comment "servers: $(cat "$work/servers.out")"

timeout 55 ip netns exec "${P}f" stdbuf -oL -eL "$gaxd" "${mem[@]}" --no-pci \
	--file-prefix "$P" -l 0,1 \
	--vdev net_af_packet0,iface=wan0 --vdev net_af_packet1,iface=lan0 \
	-- --config "$config" --socket "$sock" --flows 65536 \
	>"$work/gaxd.out" 2>"$work/gaxd.err" &
gaxd_pid=$!
ready=0
for _ in $(seq 1 200); do # 20 s
	if grep -q "gaxd: ready" "$work/gaxd.out" 2>/dev/null; then ready=1; break; fi
	kill -0 "$gaxd_pid" 2>/dev/null || break
	sleep 0.1
done
gaxd_real=$(ps -o pid= --ppid "$gaxd_pid" 2>/dev/null | tr -d ' ' | head -1)
if [ $ready -eq 1 ] && kill -0 "$gaxd_pid" 2>/dev/null; then
	ok "gaxd starts with telemetry on ($([ -z "$huge_why" ] && echo "hugepages" || echo "--no-huge")) and prints 'gaxd: ready' ($((SECONDS - start)) s)"
else
	not_ok "gaxd starts with telemetry on and prints 'gaxd: ready'" "$(gaxd_tail)"
	kill -0 "$gaxd_pid" 2>/dev/null || gaxd_pid=
fi

tel() { # COMMANDS... -> one JSON line each in $work/tel-NAME.txt
	local name=$1; shift
	printf '%s\n' "$@" | timeout 10 dpdk-telemetry.py -f "$P" >"$work/tel-$name.txt" 2>&1
}
analyse() { # STEP: reads $work/tel-*.txt; prints "ok<TAB>..." lines
	"$py" - "$1" "$work" "$tools" "$sock" <<'EOF'
import json, os, sys
step, work, tools, sock = sys.argv[1:5]
sys.path.insert(0, tools)
from gax_ctl import request_once
results = []
def check(desc, good, *details):
    results.append((bool(good), desc, [str(d) for d in details]))

def tel(name):
    """{command: reply} from dpdk-telemetry.py's output lines."""
    out, raw = {}, ""
    try:
        raw = open(os.path.join(work, f"tel-{name}.txt")).read()
    except OSError as e:
        raw = str(e)
    for line in raw.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.update(obj)
    return out, raw[:1500]

def prefixed(d, prefix):
    return {k: v for k, v in (d or {}).items() if k.startswith(prefix) and isinstance(v, dict)}

def before():
    r, raw = tel("before")
    info = r.get("/gax/info")
    ping = request_once(sock, {"cmd": "ping"})
    check("telemetry /gax/info answers: version, generation 1 (as the control socket's ping), workers",
          isinstance(info, dict) and info.get("generation") == 1 == ping.get("generation")
          and info.get("version") == ping.get("version") and info.get("workers") == 1,
          f"/gax/info: {json.dumps(info)}" if info is not None else f"output: {raw}")
    st = r.get("/gax/stats")
    ports = prefixed(st, "ports/")
    rows = [f"{k}: rx_packets {v.get('rx_packets')} tx_packets {v.get('tx_packets')} "
            f"icmp_echo_replies {v.get('icmp_echo_replies')}" for k, v in sorted(ports.items())]
    lst = prefixed(st, "listeners/")
    udp = lst.get("listeners/web/udp_53", {})
    good = set(ports) == {"ports/wan", "ports/lan"} and \
        all((v.get("rx_packets") or 0) > 0 and (v.get("tx_packets") or 0) > 0 for v in ports.values())
    check("telemetry /gax/stats: ports/wan and ports/lan received and sent packets after the "
          "traffic; listeners/web/udp_53 counted the 20 datagrams",
          good and (udp.get("packets_in") or 0) >= 20 and udp.get("new_flows") == 20, *rows,
          f"listeners/web/udp_53: {json.dumps(udp)}",
          *([] if st is not None else [f"output: {raw}"]))
    eps = prefixed(r.get("/gax/endpoints"), "endpoints/")
    by_addr = {v.get("address"): v for v in eps.values()}
    want = {"10.1.0.11", "10.1.0.12", "10.1.0.13", "10.1.0.14", "10.1.0.21", "10.1.0.22",
            "10.1.0.31", "10.1.0.32", "10.1.0.41"}
    e13, e21 = by_addr.get("10.1.0.13", {}), by_addr.get("10.1.0.21", {})
    check("telemetry /gax/endpoints: the 9 endpoints, with weight and state (10.1.0.13 weight-0); "
          "10.1.0.21 counted the UDP flows",
          len(eps) == 9 and set(by_addr) == want and e13.get("state") == "weight-0"
          and e13.get("weight") == 0 and e21.get("new_flows") == 20
          and by_addr.get("10.1.0.11", {}).get("weight") == 100,
          *[f"{k}: weight {v.get('weight')} state {v.get('state')} share {v.get('share')} "
            f"new_flows {v.get('new_flows')} active_flows {v.get('active_flows')}"
            for k, v in sorted(eps.items())],
          *([] if eps else [f"output: {raw}"]))
    ls = prefixed(r.get("/gax/listeners"), "listeners/")
    gs = prefixed(r.get("/gax/endpoint_groups"), "endpoint_groups/")
    check("telemetry /gax/listeners and /gax/endpoint_groups: 5 listeners, 5 groups",
          len(ls) == 5 and len(gs) == 5 and
          {v.get("key") for v in ls.values()} == {"web/tcp-80", "web/udp-53", "api/tcp-9000",
                                                 "api/tcp-7000", "api/udp-5353"},
          f"listeners: {sorted(v.get('key') for v in ls.values())}",
          f"groups: {sorted(v.get('key') for v in gs.values())}")

def change():
    cfg = request_once(sock, {"cmd": "config.get"})["config"]
    eps = cfg["accelerators"][0]["listeners"][0]["endpoint_groups"][0]["endpoints"]
    [e for e in eps if e["address"] == "10.1.0.12"][0]["weight"] = 7
    r = request_once(sock, {"cmd": "apply", "config": cfg})
    print("#\tapply: ok " + str(r.get("ok")) + " generation " + str(r.get("generation"))
          + ("" if r.get("ok") else " error " + str(r.get("error"))))

def after():
    r, raw = tel("after")
    info = r.get("/gax/info") or {}
    eps = prefixed(r.get("/gax/endpoints"), "endpoints/")
    e12 = {v.get("address"): v for v in eps.values()}.get("10.1.0.12", {})
    check("telemetry follows a change applied through the control socket: /gax/info generation "
          "2, /gax/endpoints shows 10.1.0.12's new weight 7",
          info.get("generation") == 2 and e12.get("weight") == 7,
          f"/gax/info generation {info.get('generation')}; 10.1.0.12: weight {e12.get('weight')} "
          f"state {e12.get('state')}", *([] if info else [f"output: {raw}"]))

def pcap():
    import struct
    path = os.path.join(work, "wan.pcap")
    frames, fmt = [], "?"
    try:
        data = open(path, "rb").read()
    except OSError as e:
        check("dpdk-dumpcap wrote a capture file", False, str(e))
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        fmt = "pcap"
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        link = struct.unpack(e + "I", data[20:24])[0]
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
            frames.append(data[off + 16:off + 16 + incl])
            off += 16 + incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        fmt, link = "pcapng", 1
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        off = 0
        while off + 12 <= len(data):
            btype, blen = struct.unpack(e + "II", data[off:off + 8])
            if blen < 12:
                break
            if btype == 6:  # enhanced packet block
                cap = struct.unpack(e + "I", data[off + 20:off + 24])[0]
                frames.append(data[off + 28:off + 28 + cap])
            off += blen
    else:
        link = None
    req = rep = other = 0
    vip = bytes([10, 0, 0, 100])
    for f in frames:
        if len(f) < 34 or f[12:14] != b"\x08\x00":
            other += 1
            continue
        ip = f[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 1 or len(ip) < ihl + 8:
            other += 1
            continue
        icmp_type = ip[ihl]
        if icmp_type == 8 and ip[16:20] == vip:
            req += 1
        elif icmp_type == 0 and ip[12:16] == vip:
            rep += 1
        else:
            other += 1
    check(f"the capture of gaxd's wan port holds the ICMP echo requests to {'.'.join(map(str, vip))} "
          "(and gaxd's replies)", link == 1 and req >= 5 and rep >= 5,
          f"{path}: {fmt}, link type {link}, {len(frames)} frames: {req} echo requests to the VIP, "
          f"{rep} echo replies from it, {other} other")

try:
    {"before": before, "change": change, "after": after, "pcap": pcap}[step]()
except Exception:
    import traceback
    check(f"the {step} analysis runs to its end", False, traceback.format_exc())
for good, desc, details in results:
    print(("ok" if good else "not ok") + "\t" + desc)
    for d in details:
        for line in d.split("\n"):
            print("#\t" + line)
EOF
}

# -- telemetry -------------------------------------------------------------------
ALL=(/gax/info /gax/stats /gax/listeners /gax/endpoint_groups /gax/endpoints)
if [ -n "$gaxd_pid" ]; then
	timeout 10 ip netns exec "${P}c" ping -c 2 -W 1 -i 0.3 "$VIP" >"$work/ping0.txt" 2>&1
	timeout 30 ip netns exec "${P}c" "$py" "$tools/gax_clients.py" udp --target "$VIP:53" \
		--sources 10.0.0.10-29 --count 20 --retries 1 --timeout 2 --deadline 15 \
		--summary-only >"$work/udp.json" 2>&1
	timeout 30 ip netns exec "${P}c" "$py" "$tools/gax_clients.py" tcp --target "$VIP:80" \
		--sources 10.0.0.10-19 --count 10 --timeout 2 --deadline 15 \
		--summary-only >"$work/tcp.json" 2>&1
	comment "traffic: udp $(cat "$work/udp.json" | cut -c1-200)" "tcp $(cat "$work/tcp.json" | cut -c1-200)"
	tel before "${ALL[@]}"
	tap_report < <(analyse before)
	tap_report < <(analyse change)
	tel after /gax/info /gax/endpoints
	tap_report < <(analyse after)
else
	not_ok "telemetry" "not run: gaxd is not running (see above)"
fi

# -- packet capture ----------------------------------------------------------------
CAPTURE="dpdk-dumpcap --file-prefix $P captures gaxd's wan port while ping runs"
if [ -n "$huge_why" ]; then
	skip "$CAPTURE" "$huge_why"
elif [ -n "$gaxd_pid" ]; then
	timeout 20 stdbuf -oL -eL dpdk-dumpcap --file-prefix="$P" -i net_af_packet0 -p -P \
		-w "$work/wan.pcap" -a duration:12 >"$work/dumpcap.out" 2>&1 &
	cap_pid=$!
	for _ in $(seq 1 100); do # 10 s
		grep -q "Capturing on" "$work/dumpcap.out" 2>/dev/null && break
		kill -0 "$cap_pid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "Capturing on" "$work/dumpcap.out"; then
		timeout 10 ip netns exec "${P}c" ping -c 5 -i 0.2 -W 1 "$VIP" >"$work/ping-cap.txt" 2>&1
		ping_rc=$?
		sleep 0.3
		kill -INT "$cap_pid" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$cap_pid" 2>/dev/null || break; sleep 0.1; done
		wait "$cap_pid"; cap_rc=$?
		cap_pid=
		if [ $ping_rc -eq 0 ] && [ $cap_rc -eq 0 ] && [ -s "$work/wan.pcap" ]; then
			ok "$CAPTURE (5 echoes answered meanwhile)"
			comment "$(grep -i 'packets' "$work/dumpcap.out")"
		else
			not_ok "$CAPTURE" "ping exit $ping_rc, dumpcap exit $cap_rc" \
				"$(cat "$work/ping-cap.txt")" "dumpcap: $(cat "$work/dumpcap.out")"
		fi
		tap_report < <(analyse pcap)
	else
		kill "$cap_pid" 2>/dev/null
		wait "$cap_pid" 2>/dev/null
		cap_pid=
		not_ok "$CAPTURE" "dpdk-dumpcap did not start capturing within 10 s:" \
			"$(cat "$work/dumpcap.out")" "$(gaxd_tail)"
	fi
else
	not_ok "$CAPTURE" "not run: gaxd is not running (see above)"
fi

# -- SIGTERM, restore ----------------------------------------------------------------
if [ -n "$gaxd_pid" ]; then
	if kill -0 "$gaxd_pid" 2>/dev/null; then
		kill -TERM "${gaxd_real:-$gaxd_pid}"
		for _ in $(seq 1 100); do kill -0 "$gaxd_pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$gaxd_pid" 2>/dev/null; then
			not_ok "gaxd ran through it and exits 0 on SIGTERM" "still running 10 s after SIGTERM" \
				"$(gaxd_tail)"
			kill -9 "$gaxd_real" "$gaxd_pid" 2>/dev/null
			wait "$gaxd_pid" 2>/dev/null
		else
			wait "$gaxd_pid"; rc=$?
			if [ $rc -eq 0 ]; then ok "gaxd ran through it and exits 0 on SIGTERM"
			else not_ok "gaxd ran through it and exits 0 on SIGTERM" "exit status $rc" "$(gaxd_tail)"; fi
		fi
	else
		wait "$gaxd_pid"; rc=$?
		not_ok "gaxd ran through it and exits 0 on SIGTERM" "gaxd exited by itself with status $rc" \
			"$(gaxd_tail)"
	fi
	gaxd_pid=
fi
kill "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
srv_pid=
"$tb" down >/dev/null 2>&1
if ip netns list | grep -q "^${P}[cfs]\b"; then
	not_ok "testbed goes away" "$(ip netns list | grep "^${P}")"
else
	ok "testbed goes away"
fi
if [ -z "$huge_why" ]; then
	huge_restore
	if [ $huge_mounted -eq 0 ] && [ $huge_raised -eq 0 ]; then
		ok "hugepages restored (hugetlbfs unmounted, nr_hugepages $(cat /proc/sys/vm/nr_hugepages), was $huge_orig)"
	else
		not_ok "hugepages restored" "mounted: $huge_mounted, nr_hugepages $(cat /proc/sys/vm/nr_hugepages) (was $huge_orig)" \
			"$(grep -i huge /proc/meminfo)"
	fi
fi
rm -rf "/var/run/dpdk/$P"
comment "took $((SECONDS - start)) s"
if [ $failed -ne 0 ] || [ -n "${GAX_E2E_KEEP:-}" ]; then
	comment "work folder kept: $work (tel-*.txt, wan.pcap, dumpcap.out, gaxd.out/.err)"
fi
tap_end
