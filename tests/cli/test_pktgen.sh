#!/usr/bin/env bash
# The Pktgen-DPDK scripts (scripts/pktgen/*.lua) without Pktgen (TAP output):
# each one parses (luac5.4 -p), runs under lua5.4 against tests/cli/pktgen_mock.lua
# (only the documented Pktgen Lua functions, arguments checked, a fake clock),
# and makes the calls its scenario needs; a script with a misspelt or misused
# call is refused by the mock.
# usage: test_pktgen.sh SOURCE_ROOT
set -uo pipefail
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
mock="$root/tests/cli/pktgen_mock.lua"
dir="$root/scripts/pktgen"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
check() { # DESC COMMAND...
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d" "$(tail -5 "$log" 2>/dev/null)"; fi
}
for tool in lua5.4 luac5.4; do
	command -v $tool >/dev/null || { echo "1..0 # SKIP $tool not installed (scripts/deps.sh)"; exit 0; }
done

# run NAME [VAR=VALUE...]: runs scripts/pktgen/NAME.lua under the mock; sets $log, $out, $rc
run() {
	local name=$1; shift
	log="$tmp/$name.$n.log"
	out=$(cd "$tmp" && env "$@" lua5.4 "$mock" "$log" "$dir/$name.lua" 2>&1); rc=$?
}
has() { grep -qE -- "$1" "$log"; }
hasnt() { ! grep -qE -- "$1" "$log"; }
count() { grep -cE -- "$1" "$log"; }
# the clock (ms) of the first line matching $1, and of the last
first_at() { grep -E -- "$1" "$log" | head -1 | cut -d' ' -f1; }
last_at() { grep -E -- "$1" "$log" | tail -1 | cut -d' ' -f1; }
common() { # NAME PROTO: what every scenario must do
	local proto=$2
	check "$1: runs under the mock" test "$rc" -eq 0
	check "$1: range mode on port 0" has '^0 set_range 0 on$'
	check "$1: protocol $2 (single and range)" eval 'has "set_proto 0 $proto\$" && has "range.ip_proto 0 $proto\$"'
	check "$1: destination is the VIP 10.0.0.100" eval 'has "set_ipaddr 0 dst 10.0.0.100$" && has "range.dst_ip 0 start 10.0.0.100$" && has "range.dst_ip 0 inc 0.0.0.0$"'
	check "$1: destination MAC 02:70:63:61:70:00" has 'set_mac 0 dst 02:70:63:61:70:00$'
	check "$1: clients from 10.0.1.1" has 'range.src_ip 0 start 10.0.1.1$'
	check "$1: starts and stops port 0 as often" eval '[ "$(count " start 0 ")" -ge 1 ] && [ "$(count " start 0 ")" -eq "$(count " stop 0$")" ]'
	check "$1: nothing still sending at the end" hasnt 'still-sending'
	check "$1: reads port 0 and port 1 counters" eval 'has "portStats 0 port$" && has "portStats 1 port$"'
	check "$1: prints its result" grep -q "^gax-pktgen: .*forwarded .* Mpps.*lost" <<<"$out"
}

names=(udp-established udp-newflows tcp sizes loss-sweep)
for f in "${names[@]}" gax_common; do
	if luac5.4 -p "$dir/$f.lua" 2>"$tmp/luac"; then ok "$f.lua parses"; else not_ok "$f.lua parses" "$(cat "$tmp/luac")"; fi
done

# ---- udp-established: 1K, 64K, 1M flows ---------------------------------------
for flows in 1024 65536 1048576; do
	run udp-established GAX_PKTGEN_FLOWS=$flows
	common "udp-established $flows" udp
	check "udp-established $flows: UDP port 53, 64 bytes" has 'start 0 .* dst_port=53-53 size=64 '
	got=$(grep -oE 'start 0 flows=[0-9]+' "$log" | head -1 | cut -d= -f2)
	# the range gives the flows asked for, within 0.1% (exact splits are not always coprime)
	check "udp-established $flows: range gives $flows flows within 0.1% (got ${got:-none})" \
		awk -v g="${got:-0}" -v w=$flows 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(g > 0 && d <= w / 1000) }'
	check "udp-established $flows: flow count printed is the one sent" grep -q "udp-established: $got flows" <<<"$out"
	# warm-up 2 s + window 10 s between start and stop, then a 1 s settle
	check "udp-established $flows: sends 12 s and stops by itself" eval '[ "$(( $(last_at " stop 0$") - $(first_at " start 0 ") ))" -eq 12000 ] && [ "$(last_at "^[0-9]+ end$")" -le 13000 ]'
done
run udp-established GAX_PKTGEN_WINDOW_MS=3000 GAX_PKTGEN_RATE=50 GAX_PKTGEN_FLOWS=4096
check "udp-established: window and rate overridable" eval 'has "set 0 rate 50" && [ "$(( $(last_at " stop 0$") - $(first_at " start 0 ") ))" -eq 5000 ]'
check "udp-established: rate in the result follows the rate set (5 Mpps at 50%)" grep -q "tx 5.000 Mpps" <<<"$out"

# ---- udp-newflows --------------------------------------------------------------
run udp-newflows
common udp-newflows udp
got=$(grep -oE 'start 0 flows=[0-9]+' "$log" | head -1 | cut -d= -f2)
check "udp-newflows: more than 100M distinct flows (got ${got:-none})" test "${got:-0}" -gt 100000000
check "udp-newflows: sent in the run fewer packets than flows (every packet new)" \
	eval '[ "$(grep -oE "sent [0-9]+" <<<"$out" | head -1 | cut -d" " -f2)" -lt "$got" ]'
check "udp-newflows: no warm-up, bounded 5 s run" eval '[ "$(( $(last_at " stop 0$") - $(first_at " start 0 ") ))" -eq 5000 ]'

# ---- tcp -----------------------------------------------------------------------
run tcp
common tcp tcp
check "tcp: one run to port 80 then one to 443" eval '[ "$(grep -oE "dst_port=[0-9-]+" "$log" | tr "\n" " ")" = "dst_port=80-80 dst_port=443-443 " ]'
check "tcp: frames rewritten to SYN at TCP offset 46 while sending" eval '[ "$(count "start 0 .*rnd=46:........ 00000010 00100000 00001110")" -eq 2 ]'
check "tcp: SYN mask keeps the TCP checksum (flags -0x0e, window +0x0e)" \
	awk 'BEGIN { old = 0x5010 + 0x2000; new = 0x5002 + 0x200e; exit !(old == new) }'
check "tcp: random bits switched off at the end" has 'rnd 0 0 46 off$'
got=$(grep -oE 'start 0 flows=[0-9]+' "$log" | head -1 | cut -d= -f2)
check "tcp: every SYN of a run a new connection (${got:-none} flows)" test "${got:-0}" -gt 100000000

# ---- sizes ---------------------------------------------------------------------
run sizes
common sizes udp
check "sizes: one run per size 64 128 512 1024 1518" eval '[ "$(grep -oE "start 0 .* size=[0-9]+" "$log" | grep -oE "size=[0-9]+" | tr "\n" " ")" = "size=64 size=128 size=512 size=1024 size=1518 " ]'
check "sizes: prints a row per size" eval '[ "$(grep -cE "^gax-pktgen: sizes: +[0-9]+ \|" <<<"$out")" -eq 5 ]'
check "sizes: bounded (5 runs of 6 s plus settle)" eval '[ "$(last_at "^[0-9]+ end$")" -le 35000 ]'

# ---- loss-sweep (two-port layout) ----------------------------------------------
run loss-sweep
common loss-sweep udp
check "loss-sweep: runs at 10 25 50 75 100%" eval '[ "$(grep -oE "start 0 .* rate=[0-9]+" "$log" | grep -oE "rate=[0-9]+" | tr "\n" " ")" = "rate=10 rate=25 rate=50 rate=75 rate=100 " ]'
# the mock forwards 90% of port 0 to port 1: loss 10% at every rate
check "loss-sweep: loss = tx(port 0) - rx(port 1)" grep -q "sent 6000000, forwarded 5400000, lost 600000 (10.000%)" <<<"$out"
check "loss-sweep: reports that no rate is within tolerance" grep -q "no rate stayed within 0.100% loss" <<<"$out"
run loss-sweep GAX_PKTGEN_LOSS_TOLERANCE_PCT=15
check "loss-sweep: highest rate within a 15% tolerance is 100%" grep -q "within 15.000% loss: 100%" <<<"$out"

# ---- the mock refuses what Pktgen would not take --------------------------------
bad() { # DESC LUA-BODY EXPECTED-MESSAGE
	printf '%s\n' "$2" >"$tmp/bad.lua"
	log="$tmp/bad.log"
	out=$(lua5.4 "$mock" "$log" "$tmp/bad.lua" 2>&1); rc=$?
	if [ "$rc" -ne 0 ] && grep -qF -- "$3" <<<"$out"; then ok "mock refuses $1"; else not_ok "mock refuses $1" "exit $rc" "$out"; fi
}
bad "a misspelt function" 'pktgen.set_ipadr("0", "dst", "10.0.0.100")' "pktgen.set_ipadr is not a Pktgen Lua function"
bad "a misspelt range function" 'pktgen.range.src_ports("0", "min", 1)' "pktgen.range.src_ports is not"
bad "a port number instead of a port list" 'pktgen.start(0)' "port list must be a string"
bad "a port that does not exist" 'pktgen.stop("2")' "port 2 does not exist"
bad "a bad IPv4 address" 'pktgen.range.dst_ip("0", "start", "10.0.0.300")' "not an IPv4 address"
bad "a source address without prefix" 'pktgen.set_ipaddr("0", "src", "10.0.1.1")' "needs a /prefix"
bad "a bad MAC address" 'pktgen.set_mac("0", "dst", "02:70:63:61:70")' "not a MAC address"
bad "an unknown range op" 'pktgen.range.src_port("0", "first", 10)' "is not one of start, min, max, inc"
bad "a port increment over 64" 'pktgen.range.src_port("0", "inc", 100)' "outside 0..64"
bad "a wrong argument count" 'pktgen.set("0", "rate")' "2 arguments, Pktgen wants 3"
bad "a rate over 100%" 'pktgen.set("0", "rate", 150)' "percent in (0, 100]"
bad "start without range mode" 'pktgen.start("0")' "range mode is off"
bad "a rnd mask of 31 bits" 'pktgen.rnd("0", 0, 46, "0000000000000000000000000000000")' "32 bits"
# a whole scenario with one typo in it fails too
sed 's/pktgen.set_range(p, "on")/pktgen.set_rang(p, "on")/' "$dir/gax_common.lua" >"$tmp/gax_common.lua"
sed "s|^package.path = here .. \"?.lua;|package.path = \"$tmp/?.lua;\" .. here .. \"?.lua;|" "$dir/udp-established.lua" >"$tmp/udp-established-typo.lua"
out=$(lua5.4 "$mock" "$tmp/typo.log" "$tmp/udp-established-typo.lua" 2>&1); rc=$?
if [ "$rc" -ne 0 ] && grep -qF "pktgen.set_rang is not" <<<"$out"; then ok "a scenario with a misspelt call fails"; else not_ok "a scenario with a misspelt call fails" "exit $rc" "$out"; fi

tap_end
