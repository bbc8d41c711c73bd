#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Fuzz a module with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer:
# `packet` (lib/packet, the packet path), `config` (lib/config and
# lib/snapshot: the JSON loader, then the compiler on what it accepts) or
# `fwd` (lib/fwd over lib/flow, lib/neigh and lib/packet: a worker fed bursts
# of frames, its timers run as the clock advances).
#
# Usage: tests/fuzz/run_fuzz.sh [SECONDS [TARGET]]   (default 60 packet)
#
#   CLANG=clang-14 tests/fuzz/run_fuzz.sh 600    another compiler, ten minutes
#   KEEP=1 tests/fuzz/run_fuzz.sh 60             keep the work directory
#
# Needs clang with the libFuzzer runtime (Debian 12: clang-14 and
# libclang-rt-14-dev). The target, tests/fuzz/fuzz_TARGET.c, is built straight
# from the modules' sources (no meson, no DPDK) into a temporary directory,
# then run for SECONDS from a copy of its seeds (packet: tests/fuzz/corpus/,
# valid TCP, UDP, ICMP echo, ICMP errors about NATed flows, ARP; config: every
# good and bad configuration in the repository), so the
# repository is never written to. At the end it prints the number of
# executions. On a crash, leak or sanitizer report it exits non-zero and keeps
# the work directory, which holds the crashing input (crash-*) and the log;
# reproduce with: <workdir>/fuzz_TARGET <workdir>/crash-...
# (fwd: its seeds are written by the target itself, see tests/fuzz/fuzz_fwd.c,
# plus the packet seeds aimed at its listeners.)
set -eu

secs=${1:-60}
target=${2:-packet}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS [packet|config|fwd]]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CLANG:-clang}
work=$(mktemp -d "${TMPDIR:-/tmp}/gax-fuzz-$target.XXXXXX")
cleanup() {
	if [ "${KEEP:-0}" = 0 ] && [ "${failed:-1}" = 0 ]; then
		rm -rf "$work"
	else
		echo "work directory kept: $work" >&2
	fi
}
trap cleanup EXIT

echo "building $work/fuzz_$target with $cc"
san="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
mkdir "$work/corpus"
case $target in
packet)
	# shellcheck disable=SC2086
	"$cc" $san -I"$root/lib/packet" "$root"/lib/packet/*.c \
		"$root/tests/fuzz/fuzz_packet.c" -o "$work/fuzz_packet"
	cp "$root"/tests/fuzz/corpus/* "$work/corpus/"
	maxlen=2048
	;;
config)
	# shellcheck disable=SC2086,SC2046
	"$cc" $san -I"$root/lib/hash" -I"$root/lib/config" -I"$root/lib/maglev" \
		-I"$root/lib/snapshot" "$root"/lib/hash/*.c "$root"/lib/config/*.c \
		"$root"/lib/maglev/*.c "$root"/lib/snapshot/*.c "$root/tests/fuzz/fuzz_config.c" \
		$(pkg-config --cflags --libs jansson openssl) -lm -o "$work/fuzz_config"
	i=0
	for f in "$root"/config/*.json "$root"/config/examples/*.json \
		"$root"/tests/configs/good/*.json "$root"/tests/configs/bad/*.json; do
		i=$((i + 1))
		cp "$f" "$work/corpus/seed-$i.json"
	done
	maxlen=16384
	;;
fwd)
	# shellcheck disable=SC2086,SC2046
	"$cc" $san -I"$root/lib/hash" -I"$root/lib/config" -I"$root/lib/maglev" \
		-I"$root/lib/snapshot" -I"$root/lib/packet" -I"$root/lib/flow" \
		-I"$root/lib/neigh" -I"$root/lib/fwd" "$root"/lib/hash/*.c "$root"/lib/config/*.c \
		"$root"/lib/maglev/*.c "$root"/lib/snapshot/*.c "$root"/lib/packet/*.c \
		"$root"/lib/flow/*.c "$root"/lib/neigh/*.c "$root"/lib/fwd/*.c \
		"$root/tests/fuzz/fuzz_fwd.c" \
		$(pkg-config --cflags --libs jansson openssl) -lm -o "$work/fuzz_fwd"
	# the target writes its seeds itself (below)
	maxlen=8192
	;;
*)
	echo "usage: $0 [SECONDS [packet|config|fwd]]" >&2
	exit 2
	;;
esac

if [ "$target" = fwd ]; then
	(cd "$work" && GAX_FUZZ_SEEDS="$work/corpus" GAX_FUZZ_FRAMES="$root/tests/fuzz/corpus" \
		./fuzz_fwd -runs=0 corpus) >"$work/seeds.log" 2>&1 || {
		cat "$work/seeds.log" >&2
		echo "FAIL: the seeds do not run" >&2
		failed=1
		exit 1
	}
fi
echo "fuzzing for $secs s from $(find "$work/corpus" -type f | wc -l) seeds"
status=0
(cd "$work" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	./"fuzz_$target" -max_total_time="$secs" -max_len="$maxlen" -print_final_stats=1 \
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
