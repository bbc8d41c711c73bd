#!/usr/bin/env bash
# Instructions per packet of the worker's burst path (lib/fwd over bursts of
# 32 64-byte UDP frames, perf/bench_burst.c), counted by callgrind: the same
# figure whatever else the machine does. Beside it, in the same run, the
# reference: the copies and a MAC swap per frame (what testpmd's macswap
# mode does to a frame). Writes perf/results/ipp.md and ipp.json.
# usage: perf/bench_ipp.sh [--flows N] [--rounds R] [--smoke]
set -euo pipefail
cd "$(dirname "$0")/.."
flows=65536
rounds=2
while [ $# -gt 0 ]; do
	case $1 in
	--flows) flows=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--smoke) flows=1024; rounds=1; shift ;;
	*) echo "usage: $0 [--flows N] [--rounds R] [--smoke]" >&2; exit 2 ;;
	esac
done
bench=${BENCH_BURST:-build/perf/bench_burst}
[ -x "$bench" ] || { echo "$bench is not built (scripts/build.sh)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is missing (scripts/deps.sh)" >&2; exit 1; }

# count FUNCTION: instructions callgrind counts inside FUNCTION (and what it calls)
count() {
	local out
	out=$(mktemp)
	timeout 900 valgrind --tool=callgrind --toggle-collect="$1" --callgrind-out-file="$out" \
		"$bench" --flows "$flows" --rounds "$rounds" >/dev/null 2>&1
	awk '/^summary:/ { print $2 }' "$out"
	rm -f "$out"
}
packets=$((flows / 32 * 32 * rounds))
new_packets=$((flows / 32 * 32))
est=$(count run_established)
all=$(count run_gax)
ref=$(count run_reference)
ipp=$((est / packets))
ipp_new=$(((all - est) / new_packets))
ipp_ref=$((ref / packets))
printf 'instructions per packet, %d flows, 64-byte UDP, bursts of 32 (callgrind)\n' "$flows"
printf '  gax, established flows: %6d\n' "$ipp"
printf '  gax, new flows:         %6d\n' "$ipp_new"
printf '  reference (copy + MAC swap, same run): %d\n' "$ipp_ref"
mkdir -p perf/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cat >perf/results/ipp.md <<MD
| flows | gax established (instr/packet) | gax new flow (instr/packet) | reference: copy + MAC swap | commit |
|---|---|---|---|---|
| $flows | $ipp | $ipp_new | $ipp_ref | $commit |
MD
printf '{"flows": %d, "established": %d, "new_flow": %d, "reference": %d, "commit": "%s"}\n' \
	"$flows" "$ipp" "$ipp_new" "$ipp_ref" "$commit" >perf/results/ipp.json
