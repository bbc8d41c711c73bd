#!/usr/bin/env bash
# Health checks, drain, failover and traffic split on the namespace testbed
# (issue 7): one TCP listener on 10.0.0.100:80 with two endpoint groups,
# eg-a (70 %: 10.1.0.11, .12) and eg-b (30 %: .13, .14), each endpoint its
# own server process, TCP health checks every second with threshold 2 made
# by gaxd's prober through the kernel twin gax-lan (docs/health.md):
#   - every endpoint turns healthy; new flows split 70/30 between the groups;
#   - long-lived connections to an endpoint set to weight 0 keep working
#     until they close, new ones avoid it, its active flows fall to zero;
#   - `gaxctl endpoint drain` and `undrain` take an endpoint out and back;
#   - a stopped server gets no new connection after interval x threshold
#     plus one interval, and is shown unhealthy with a reason; started
#     again, it is healthy and served again;
#   - a group with every endpoint down hands its share to the other group;
#   - with every endpoint down the listener fails open, logged and counted.
# usage: test_health.sh SOURCE_ROOT GAXD_PATH GAXCTL_PATH
# TAP output; needs root; bounded (every wait has a deadline; about 60 s).
set -uo pipefail
root=$1
gaxd=$2
gaxctl=$3
export GAX_TB_PREFIX=gaxhc$$
P=$GAX_TB_PREFIX
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/e2e.sh"

INTERVAL=1
THRESHOLD=2
DETECT=$((INTERVAL * THRESHOLD + INTERVAL)) # the issue's bound, in seconds

e2e_preamble health timeout stdbuf
config="$work/health.json"
"$py" - "$config" "$INTERVAL" "$THRESHOLD" <<'EOF'
import json, sys
path, interval, threshold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
check = {"enabled": True, "protocol": "tcp", "interval": interval, "timeout": interval,
         "threshold": threshold}
def group(name, pct, addrs):
    return {"name": name, "region": name, "traffic_percentage": pct, "health_check": check,
            "port_overrides": [{"listener_port": 80, "endpoint_port": 8080}],
            "endpoints": [{"type": "ip", "address": a, "weight": 100} for a in addrs]}
json.dump({"interfaces": [
    {"name": "wan", "device": "net_af_packet0", "addresses": ["10.0.0.1/24"],
     "gateway": "10.0.0.254", "kernel_twin": "gax-wan"},
    {"name": "lan", "device": "net_af_packet1", "addresses": ["10.1.0.1/24"],
     "kernel_twin": "gax-lan"}],
  "accelerators": [{"name": "web", "addresses": ["10.0.0.100"], "listeners": [
    {"name": "tcp-80", "protocol": "tcp", "port_ranges": "80", "client_affinity": "none",
     "endpoint_groups": [group("eg-a", 70, ["10.1.0.11", "10.1.0.12"]),
                         group("eg-b", 30, ["10.1.0.13", "10.1.0.14"])]}]}]},
  open(path, "w"), indent=2)
EOF

# One server process per endpoint, so that one can be stopped alone.
declare -A srv
server() { # LAST_OCTET: (re)start the server of 10.1.0.N:8080
	timeout 120 ip netns exec "${P}s" "$py" "$tools/gax_servers.py" --tcp "10.1.0.$1:8080" \
		--log "$work/srv$1.jsonl" --max-seconds 110 >>"$work/srv$1.out" 2>&1 &
	srv[$1]=$!
	for _ in $(seq 1 50); do
		[ "$(grep -c "servers: ready" "$work/srv$1.out" 2>/dev/null)" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
stop_server() { # LAST_OCTET: SIGTERM, 5 s, then SIGKILL (bounded)
	local p=${srv[$1]}
	kill "$p" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 $(pgrep -P "$p") "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}
trap 'for s in "${srv[@]}"; do kill "$s" 2>/dev/null; done; e2e_cleanup' EXIT
up=0
for o in 11 12 13 14; do server $o && up=$((up + 1)); done
if [ $up -eq 4 ]; then ok "four endpoint servers listen in ${P}s"
else not_ok "four endpoint servers listen in ${P}s" "$(cat "$work"/srv*.out)"; fi

ctl() { timeout 10 "$gaxctl" --socket "$work/gaxd.sock" "$@"; }
# endpoints FIELD: "address=value" per endpoint, from show endpoints
endpoints() {
	ctl --json show endpoints 2>/dev/null | "$py" -c '
import json, sys
f = sys.argv[1]
for e in json.load(sys.stdin).get("endpoints", []):
    print(e["address"] + "=" + str(e.get(f)))' "$1"
}
# wait_health ADDR STATE SECONDS: 0 when show endpoints says so in time; sets $waited
wait_health() {
	local t0=$SECONDS
	for _ in $(seq 1 $(($3 * 10))); do
		if grep -qx "$1=$2" <<<"$(endpoints health)"; then waited=$((SECONDS - t0)); return 0; fi
		sleep 0.1
	done
	waited=$((SECONDS - t0))
	return 1
}
# connect NAME COUNT: new connections to the VIP from many sources, into $work/NAME.json
connect() {
	timeout 60 ip netns exec "${P}c" "$py" "$tools/gax_clients.py" tcp --target 10.0.0.100:80 \
		--sources 10.0.0.10-42 --count "$2" --parallel 16 --give-up 32 --timeout 3 \
		--deadline 30 >"$work/$1.json" 2>"$work/$1.err"
}
# verdict NAME DESC EXPR: ok when the python EXPR holds over the run's endpoints counts
# (e: {"10.1.0.11": n, ...}), all: attempts, good: ok ones
verdict() {
	tap_report < <("$py" - "$work/$1.json" "$2" "$3" <<'EOF'
import json, sys
path, desc, expr = sys.argv[1:4]
try:
    run = json.load(open(path))
except (OSError, ValueError) as err:
    run = {"summary": {}, "error": str(err)}
s = run.get("summary", {})
e = {k.rpartition(":")[0]: v for k, v in (s.get("endpoints") or {}).items()}
all_, good = s.get("attempts", 0), s.get("ok", 0)
a = e.get("10.1.0.11", 0) + e.get("10.1.0.12", 0)
b = e.get("10.1.0.13", 0) + e.get("10.1.0.14", 0)
held = eval(expr)
print(("ok" if held else "not ok") + "\t" + desc)
print(f"#\tattempts {all_}, ok {good}, per endpoint {e}, errors {s.get('errors')}")
EOF
)
}

e2e_gaxd_start "gaxd starts with health checks on both groups" "$config"
if [ -n "$gaxd_pid" ]; then
	ok_all=1
	for o in 11 12 13 14; do wait_health "10.1.0.$o" healthy 10 || ok_all=0; done
	if [ $ok_all -eq 1 ]; then ok "every endpoint turns healthy (TCP checks through gax-lan)"
	else not_ok "every endpoint turns healthy (TCP checks through gax-lan)" \
		"$(endpoints health)" "$(endpoints reason)"; fi

	# -- traffic split -----------------------------------------------------------
	connect split 600
	verdict split "600 new flows split 70/30 between eg-a and eg-b (within 6 points)" \
		'good == all_ == 600 and abs(100.0 * a / max(1, a + b) - 70) <= 6'

	# -- weight 0 with long-lived connections -------------------------------------
	timeout 60 ip netns exec "${P}c" "$py" "$tools/gax_clients.py" hold \
		--target 10.0.0.100:80 --sources 10.0.0.11-42 --interval 0.2 --timeout 3 \
		--duration 40 --stop-file "$work/hold.stop" --ready "$work/hold.ready" \
		>"$work/hold.json" 2>"$work/hold.err" &
	hold_pid=$!
	for _ in $(seq 1 100); do [ -s "$work/hold.ready" ] && break; sleep 0.1; done
	held=$("$py" -c '
import json, sys
c = json.load(open(sys.argv[1]))["connections"]
print(sum(1 for x in c if (x.get("endpoint") or "").startswith("10.1.0.11:")))' "$work/hold.ready" 2>&1)
	run "$gaxctl" --socket "$work/gaxd.sock" endpoint set-weight --accelerator web \
		--listener tcp-80 --group eg-a --address 10.1.0.11 --weight 0
	if [ "$rc" -eq 0 ] && [ "${held:-0}" -gt 0 ] 2>/dev/null; then
		ok "weight 0 on 10.1.0.11 while $held long-lived connections use it"
	else not_ok "weight 0 on 10.1.0.11 while long-lived connections use it" \
		"set-weight exit $rc: $out" "connections on it: $held"; fi
	active=$(endpoints active_flows | grep "^10.1.0.11=" | cut -d= -f2)
	connect w0 150
	verdict w0 "new flows avoid the weight-0 endpoint (150 connections, none to 10.1.0.11)" \
		'good == all_ == 150 and e.get("10.1.0.11", 0) == 0'
	sleep 1
	touch "$work/hold.stop"
	wait "$hold_pid"
	tap_report < <("$py" - "$work/hold.json" "$active" <<'EOF'
import json, sys
try:
    s = json.load(open(sys.argv[1]))["summary"]
except (OSError, ValueError, KeyError) as err:
    s = {"error": str(err)}
good = s.get("connections", 0) >= 32 and s.get("ok") == s.get("connections") and \
    s.get("messages_sent", 0) > 0 and s.get("messages_sent") == s.get("messages_echoed")
print(("ok" if good else "not ok") +
      "\tevery long-lived connection kept working through the weight change until it closed")
print(f"#\t{json.dumps(s)}")
good = sys.argv[2].isdigit() and int(sys.argv[2]) > 0
print(("ok" if good else "not ok") + "\tshow endpoints counts the drained endpoint's active flows")
print(f"#\tactive_flows of 10.1.0.11 after the change: {sys.argv[2]}")
EOF
)
	fell=0
	for _ in $(seq 1 200); do # TCP closing timeout (10 s) and the sweep
		[ "$(endpoints active_flows | grep "^10.1.0.11=" | cut -d= -f2)" = 0 ] && { fell=1; break; }
		sleep 0.1
	done
	if [ $fell -eq 1 ]; then ok "its active flows fall to zero once they closed"
	else not_ok "its active flows fall to zero once they closed" "$(endpoints active_flows)"; fi
	ctl endpoint set-weight --accelerator web --listener tcp-80 --group eg-a \
		--address 10.1.0.11 --weight 100 >/dev/null

	# -- drain ---------------------------------------------------------------------
	run "$gaxctl" --socket "$work/gaxd.sock" endpoint drain web/tcp-80/eg-b/10.1.0.13
	st=$(endpoints state | grep "^10.1.0.13=")
	if [ "$rc" -eq 0 ] && [ "$st" = "10.1.0.13=drained" ]; then ok "gaxctl endpoint drain: show endpoints says drained"
	else not_ok "gaxctl endpoint drain: show endpoints says drained" "exit $rc: $out" "$st"; fi
	connect drained 150
	verdict drained "a drained endpoint takes no new flow, the rest of its group does" \
		'good == all_ == 150 and e.get("10.1.0.13", 0) == 0 and e.get("10.1.0.14", 0) > 0'
	run "$gaxctl" --socket "$work/gaxd.sock" endpoint undrain web/tcp-80/eg-b/10.1.0.13
	connect undrained 150
	verdict undrained "undrained, it takes new flows again" \
		'good == all_ == 150 and e.get("10.1.0.13", 0) > 0'
	run "$gaxctl" --socket "$work/gaxd.sock" endpoint drain web/tcp-80/eg-b/10.1.0.99
	if [ "$rc" -ne 0 ] && grep -qi "10.1.0.99" <<<"$out"; then ok "draining an unknown endpoint is refused, naming it"
	else not_ok "draining an unknown endpoint is refused, naming it" "exit $rc: $out"; fi

	# -- an endpoint fails, then recovers -------------------------------------------
	stop_server 11
	if wait_health 10.1.0.11 unhealthy $((DETECT + 3)); then
		ok "10.1.0.11 stopped: unhealthy after $waited s (bound ${DETECT} s + slack)"
	else not_ok "10.1.0.11 stopped: unhealthy within ${DETECT} s + slack" "$(endpoints health)"; fi
	reason=$(endpoints change_reason | grep "^10.1.0.11=")
	if grep -qiE "refused|timeout|reset" <<<"$reason"; then ok "show endpoints gives the reason: ${reason#*=}"
	else not_ok "show endpoints gives the reason" "$reason"; fi
	connect down11 150
	verdict down11 "no new connection reaches the stopped endpoint, none fails" \
		'good == all_ == 150 and e.get("10.1.0.11", 0) == 0 and e.get("10.1.0.12", 0) > 0'

	# -- a whole group down: failover -----------------------------------------------
	stop_server 12
	wait_health 10.1.0.12 unhealthy $((DETECT + 3))
	connect failover 150
	verdict failover "eg-a has no healthy endpoint: eg-b takes every new flow" \
		'good == all_ == 150 and a == 0 and b == 150'

	# -- recovery --------------------------------------------------------------------
	server 11 2
	if wait_health 10.1.0.11 healthy $((DETECT + 3)); then
		ok "10.1.0.11 started again: healthy after $waited s"
	else not_ok "10.1.0.11 started again: healthy within ${DETECT} s + slack" "$(endpoints health)"; fi
	connect back 200
	verdict back "it takes new flows again (eg-a's share, through 10.1.0.11 alone)" \
		'good == all_ == 200 and e.get("10.1.0.11", 0) > 100 and e.get("10.1.0.12", 0) == 0'

	# -- everything down: fail open ----------------------------------------------------
	for o in 11 13 14; do stop_server $o; done
	for o in 11 13 14; do wait_health "10.1.0.$o" unhealthy $((DETECT + 3)); done
	h=$(ctl --json stats 2>/dev/null | "$py" -c '
import json, sys
print(json.dumps(json.load(sys.stdin).get("health", {})))' 2>&1)
	if grep -q '"listeners_failed_open": 1' <<<"$h" && grep -q '"fail_open_events": [1-9]' <<<"$h" &&
			grep -qi "fail.*open" "$work/gaxd.out" "$work/gaxd.err"; then
		ok "every endpoint down: the listener fails open, counted and logged"
	else not_ok "every endpoint down: the listener fails open, counted and logged" "$h" \
		"$(grep -hi "open" "$work/gaxd.out" "$work/gaxd.err" | tail -5)"; fi
	st=$(endpoints state | sort | tr '\n' ' ')
	if [ "$(endpoints state | grep -c "=failed-open$")" -eq 4 ]; then
		ok "show endpoints says failed-open for all four"
	else not_ok "show endpoints says failed-open for all four" "$st"; fi
fi
e2e_gaxd_stop "on SIGTERM gaxd stops within 10 s and exits 0"
e2e_finish
