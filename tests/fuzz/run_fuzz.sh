#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Fuzz the packet module (lib/packet) with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer.
#
# Usage: tests/fuzz/run_fuzz.sh [SECONDS]        (default 60)
#
#   CLANG=clang-14 tests/fuzz/run_fuzz.sh 600    another compiler, ten minutes
#   KEEP=1 tests/fuzz/run_fuzz.sh 60             keep the work directory
#
# Needs clang with the libFuzzer runtime (Debian 12: clang-14 and
# libclang-rt-14-dev). The target, tests/fuzz/fuzz_packet.c, is built straight
# from the module's sources (no meson, no DPDK) into a temporary directory,
# then run for SECONDS from a copy of the seed corpus tests/fuzz/corpus/
# (valid TCP, UDP, ICMP echo, ICMP errors about NATed flows, ARP), so the
# repository is never written to. At the end it prints the number of
# executions. On a crash, leak or sanitizer report it exits non-zero and keeps
# the work directory, which holds the crashing input (crash-*) and the log;
# reproduce with: <workdir>/fuzz_packet <workdir>/crash-...
set -eu

secs=${1:-60}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CLANG:-clang}
work=$(mktemp -d "${TMPDIR:-/tmp}/gax-fuzz-packet.XXXXXX")
cleanup() {
	if [ "${KEEP:-0}" = 0 ] && [ "${failed:-1}" = 0 ]; then
		rm -rf "$work"
	else
		echo "work directory kept: $work" >&2
	fi
}
trap cleanup EXIT

echo "building $work/fuzz_packet with $cc"
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I"$root/lib/packet" "$root"/lib/packet/*.c "$root/tests/fuzz/fuzz_packet.c" \
	-o "$work/fuzz_packet"

mkdir "$work/corpus"
cp "$root"/tests/fuzz/corpus/* "$work/corpus/"

echo "fuzzing for $secs s from $(find "$work/corpus" -type f | wc -l) seeds"
status=0
(cd "$work" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	./fuzz_packet -max_total_time="$secs" -max_len=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" corpus) >"$work/log" 2>&1 || status=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
if [ -z "$execs" ]; then
	execs=$(sed -n 's/.*#\([0-9][0-9]*\).*/\1/p' "$work/log" | tail -n 1)
fi
grep -v '^"\|^####' "$work/log" | tail -n 12
inputs=$(find "$work/corpus" -type f | wc -l)
echo "executions: ${execs:-unknown} in $secs s; corpus grew to $inputs inputs"
if [ "$status" -ne 0 ] || ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
	grep -E -A 40 '==ERROR|runtime error|deadly signal' "$work/log" | head -n 60 >&2 || true
	echo "FAIL: the fuzzer found a problem (exit status $status)" >&2
	failed=1
	exit 1
fi
failed=0
echo "PASS: no crash"
