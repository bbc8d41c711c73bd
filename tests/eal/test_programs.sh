#!/usr/bin/env bash
# gaxd and gaxgen start EAL on virtual devices (no hugepages, no NIC) and
# exit cleanly; gaxd refuses a bad config and a device EAL does not have.
# TAP output. usage: test_programs.sh GAXD GAXGEN SOURCE_ROOT
set -uo pipefail
gaxd=$1
gaxgen=$2
root=$3
eal=(--no-huge -m 256 --no-pci --no-telemetry --log-level=lib.eal:error)
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
run() { out=$(timeout 60 "$@" 2>&1); rc=$?; }
check() { # DESC WANT_RC [SUBSTRING]
	if [ "$rc" -ne "$2" ]; then not_ok "$1" "exit $rc, wanted $2" "$(head -20 <<<"$out")"; return; fi
	if [ $# -ge 3 ] && ! grep -qF -- "$3" <<<"$out"; then not_ok "$1" "missing: $3" "$(head -20 <<<"$out")"; return; fi
	ok "$1"
}

run "$gaxd" "${eal[@]}" --file-prefix gaxt1 --vdev net_null0 --vdev net_null1 -- --config "$root/tests/eal/null.json"
check "gaxd starts EAL, loads the config, finds its devices and exits 0" 0 "interface lan: net_null1 is port 1"

run "$gaxd" "${eal[@]}" --file-prefix gaxt2 --vdev net_null0 -- --config "$root/tests/eal/null.json"
check "gaxd refuses to start when a device is missing" 1 "no DPDK port named 'net_null1'"

printf '{"interfaces": [{"name": "wan", "device": "net_null0", "addresses": ["10.0.0.1/33"]}]}' >"${TMPDIR:-/tmp}/gaxd-bad.json"
run "$gaxd" "${eal[@]}" --file-prefix gaxt3 --vdev net_null0 -- --config "${TMPDIR:-/tmp}/gaxd-bad.json"
check "gaxd refuses an invalid config and names the field" 1 "interfaces[0].addresses[0]"
rm -f "${TMPDIR:-/tmp}/gaxd-bad.json"

run "$gaxd" "${eal[@]}" --file-prefix gaxt4 --
check "gaxd without --config is a usage error" 1 "usage:"

run "$gaxgen" "${eal[@]}" --file-prefix gaxt5 --vdev net_null0
check "gaxgen starts EAL and exits 0" 0 "port 0: net_null0"

echo "1..$n"
[ $failed -eq 0 ]
