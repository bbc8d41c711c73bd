#!/usr/bin/env bash
# gaxd and gaxgen start EAL on virtual devices (no hugepages, no NIC) and
# exit cleanly; gaxd refuses a bad config and a device EAL does not have.
# TAP output. usage: test_programs.sh GAXD GAXGEN SOURCE_ROOT
set -uo pipefail
gaxd=$1
gaxgen=$2
root=$3
eal=(--no-huge -m 256 --no-pci --no-telemetry --log-level=lib.eal:error)
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

run "$gaxd" "${eal[@]}" -l 0,1 --file-prefix gaxt1 --vdev net_null0 --vdev net_null1 -- --config "$root/tests/eal/null.json" --check
check "gaxd --check loads the config, opens its devices and exits 0" 0 "check passed: 2 interface(s), 1 worker(s)"
check "gaxd checks TCP/UDP checksums in software by default" 0 "TCP/UDP checksums: checked in software"

run "$gaxd" "${eal[@]}" -l 0,1 --file-prefix gaxt1 --vdev net_null0 --vdev net_null1 -- --config "$root/tests/eal/null.json" --check --trust-l4-checksums
check "gaxd --trust-l4-checksums says it trusts them" 0 "TCP/UDP checksums: trusted where the NIC does not check them"

stats="${TMPDIR:-/tmp}/gaxd-stats.$$.json"
run "$gaxd" "${eal[@]}" -l 0,1 --file-prefix gaxt6 --vdev net_null0 --vdev net_null1 -- --config "$root/tests/eal/null.json" --duration 1 --stats-json "$stats" --flows 4096 --socket "${TMPDIR:-/tmp}/gaxt6.$$.sock"
check "gaxd forwards for --duration 1 s, then stops by itself and prints its counters" 0 "gaxd: counters"
check "gaxd says when it is ready" 0 "gaxd: ready: 1 worker(s), 2 port(s)"
# net_null receives endless garbage frames: every one must be counted as a drop.
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ports"][0]["rx_packets"] > 0; assert sum(d["drops"].values()) >= d["ports"][0]["rx_packets"]' "$stats" 2>/dev/null; then
	ok "gaxd's final counters (JSON) count every frame net_null gave it as a drop"
else
	not_ok "gaxd's final counters (JSON) count every frame net_null gave it as a drop" "$(head -c 2000 "$stats" 2>&1)"
fi
rm -f "$stats"

run "$gaxd" "${eal[@]}" -l 0 --file-prefix gaxt7 --vdev net_null0 --vdev net_null1 -- --config "$root/tests/eal/null.json"
check "gaxd without a worker lcore says what to give it" 1 "no worker lcore"

run "$gaxd" "${eal[@]}" -l 0,1 --file-prefix gaxt8 --vdev net_null0 --vdev net_null1 -- --config "$root/tests/eal/null.json" --flows 0
check "gaxd refuses a flow capacity of 0" 1 "--flows must be 1 to"

run "$gaxd" "${eal[@]}" -l 0,1 --file-prefix gaxt2 --vdev net_null0 -- --config "$root/tests/eal/null.json"
check "gaxd refuses to start when a device is missing" 1 "no DPDK port named 'net_null1'"

printf '{"interfaces": [{"name": "wan", "device": "net_null0", "addresses": ["10.0.0.1/33"]}]}' >"${TMPDIR:-/tmp}/gaxd-bad.json"
run "$gaxd" "${eal[@]}" --file-prefix gaxt3 --vdev net_null0 -- --config "${TMPDIR:-/tmp}/gaxd-bad.json"
check "gaxd refuses an invalid config and names the field" 1 "interfaces[0].addresses[0]"
rm -f "${TMPDIR:-/tmp}/gaxd-bad.json"

run "$gaxd" "${eal[@]}" --file-prefix gaxt4 --
check "gaxd without --config is a usage error" 1 "usage:"

run "$gaxgen" "${eal[@]}" --file-prefix gaxt5 --vdev net_null0 -- --list-ports
check "gaxgen starts EAL, lists its ports and exits 0" 0 "port 0: net_null0"

tap_end
