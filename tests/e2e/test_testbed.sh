#!/usr/bin/env bash
# The namespace testbed is sound: it comes up, carries ping and a 1 MiB TCP
# transfer with the Linux kernel as the forwarder, and goes away without a
# trace. The end-to-end tests of gaxd stand on it. TAP output; needs root.
# usage: test_testbed.sh SOURCE_ROOT
set -uo pipefail
root=$1
export GAX_TB_PREFIX=gaxtt$$
tb="$root/scripts/testbed.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
trap '"$tb" down >/dev/null 2>&1' EXIT

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root for network namespaces"
	exit 0
fi
if out=$("$tb" up 2>&1); then ok "testbed comes up"; else not_ok "testbed comes up" "$out"; fi
sleep 1
out=$(timeout 60 "$tb" kernel-check 2>&1)
rc=$?
while IFS= read -r line; do
	case $line in
	ok:*) ok "${line#ok: }" ;;
	FAIL:*) not_ok "${line#FAIL: }" ;;
	esac
done <<<"$out"
[ $rc -eq 0 ] || not_ok "kernel-check exit status" "$out"
"$tb" down >/dev/null 2>&1
if ip netns list | grep -q "^${GAX_TB_PREFIX}"; then not_ok "testbed goes away"; else ok "testbed goes away"; fi
tap_end
