#!/usr/bin/env bash
# gaxd's health checks and drain (docs/health.md), with no testbed: gaxd runs
# on net_null inside a network namespace of its own, where the endpoint
# addresses sit on a dummy interface and small python3 servers listen on
# them, so the kernel carries the probes locally. Checks: endpoints become
# healthy; a stopped server turns unhealthy within interval x threshold +
# interval (plus slack) and leaves its group's Maglev table; a group with
# none left hands its share to the other group; a listener with none at all
# fails open (logged, counted) and recovers; drain/undrain; a bad health_check
# is refused by field path while the running config keeps serving.
# TAP output. usage: test_health.sh GAXD GAXCTL SOURCE_ROOT   (root)
set -uo pipefail
gaxd=$1
gaxctl=$2
root=$3
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (a network namespace of its own)"
	exit 0
fi
ns=gaxhc$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gaxhealth.XXXXXX")
cfg=$tmp/gax.json
sock=$tmp/gaxd.sock
log=$tmp/gaxd.log
pid=
declare -A srv=()
cleanup() {
	local p
	for p in "${srv[@]}" $pid; do kill "$p" 2>/dev/null; done
	if [ -n "$pid" ]; then
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	fi
	wait 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
N() { ip netns exec "$ns" "$@"; }

ip netns add "$ns" || { echo "Bail out! cannot create network namespace $ns"; exit 1; }
N ip link set lo up
# A dummy interface where the kernel has the module, else the namespace's loopback:
# either way the addresses are local and the kernel answers the probes itself.
dev=d0
if N ip link add d0 type dummy 2>/dev/null; then N ip link set d0 up; else dev=lo; fi
for a in 10.1.0.11 10.1.0.12 10.1.0.13 10.1.0.21 10.1.0.22; do
	N ip addr add $a/32 dev $dev || { echo "Bail out! cannot add $a to $dev in $ns"; exit 1; }
done

# An HTTP server on ADDR:PORT answering 200 to everything (a tcp check only connects).
cat >"$tmp/srv.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
class S(http.server.HTTPServer):
    allow_reuse_address = True
    def handle_error(self, *a):
        pass  # the probes close with a reset (SO_LINGER 0): not worth a traceback
S((sys.argv[1], int(sys.argv[2])), H).serve_forever()
EOF
start_srv() { # ADDR PORT (ip netns exec execs python3: $! is the server itself)
	ip netns exec "$ns" python3 "$tmp/srv.py" "$1" "$2" >>"$tmp/srv.log" 2>&1 &
	srv[$1]=$!
}
stop_srv() { # ADDR
	kill "${srv[$1]}" 2>/dev/null
	wait "${srv[$1]}" 2>/dev/null
	unset "srv[$1]"
}

# tcp-80: east (70 %, tcp checks on the lowest listener port, 80) and west
# (30 %, an http check); tcp-90: two endpoints checked on the port override 9090.
cat >"$cfg" <<'EOF'
{
  "interfaces": [
    { "name": "wan", "device": "net_null0", "addresses": ["10.0.0.1/24"] },
    { "name": "lan", "device": "net_null1", "addresses": ["10.1.0.1/24"] }
  ],
  "accelerators": [
    { "name": "web", "addresses": ["10.0.0.100"],
      "listeners": [
        { "name": "tcp-80", "protocol": "tcp", "port_ranges": "80,8080",
          "endpoint_groups": [
            { "name": "east", "traffic_percentage": 70,
              "health_check": { "protocol": "tcp", "interval": 1, "timeout": 1, "threshold": 2 },
              "endpoints": [ { "address": "10.1.0.11" }, { "address": "10.1.0.12" } ] },
            { "name": "west", "traffic_percentage": 30,
              "health_check": { "protocol": "http", "path": "/healthz", "interval": 1,
                                "timeout": 1, "threshold": 2 },
              "endpoints": [ { "address": "10.1.0.13" } ] } ] },
        { "name": "tcp-90", "protocol": "tcp", "port_ranges": "90",
          "endpoint_groups": [
            { "name": "solo", "port_overrides": [ { "listener_port": 90, "endpoint_port": 9090 } ],
              "health_check": { "protocol": "tcp", "interval": 1, "timeout": 1, "threshold": 2 },
              "endpoints": [ { "address": "10.1.0.21" }, { "address": "10.1.0.22" } ] } ] } ] } ]
}
EOF
for a in 10.1.0.11 10.1.0.12 10.1.0.13; do start_srv $a 80; done
for a in 10.1.0.21 10.1.0.22; do start_srv $a 9090; done

G=("$gaxctl" --socket "$sock")
ip netns exec "$ns" "$gaxd" --no-huge -m 256 --no-pci --no-telemetry --log-level=lib.eal:error -l 0,1 \
	--file-prefix gaxhc$$ --vdev net_null0 --vdev net_null1 -- \
	--config "$cfg" --socket "$sock" --duration 58 >"$log" 2>&1 &
pid=$!
for _ in $(seq 150); do
	"${G[@]}" ping >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
"${G[@]}" ping >/dev/null 2>&1 || {
	echo "Bail out! gaxd does not answer on $sock"; sed 's/^/# /' "$log"; exit 1; }

# FIELD of the endpoint KEY in show endpoints --json (of listener/group entries with
# WHAT=listeners|endpoint-groups); NOKEY when it is not there.
field() { # WHAT KEY FIELD
	"${G[@]}" --json show "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)
arr = r.get("endpoints") or r.get("listeners") or r.get("endpoint_groups") or []
v = next((e.get(sys.argv[2], "NOFIELD") for e in arr if e["key"] == sys.argv[1]), "NOKEY")
v = round(v, 1) if isinstance(v, float) else v  # shares as gaxctl prints them
print(json.dumps(v) if not isinstance(v, str) else v)' "$2" "$3"
}
ep() { field endpoints "$@"; }
hstat() { # FIELD of stats --json "health"
	"${G[@]}" --json stats | python3 -c '
import json, sys; print(json.load(sys.stdin)["health"][sys.argv[1]])' "$1"
}
ms_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); } # MS as seconds
# wait_until SECONDS CMD...: CMD every 0.2 s until it succeeds; $waited: seconds it took.
wait_until() {
	local limit=$1 start now
	shift
	start=$(date +%s%N)
	while :; do
		now=$(date +%s%N)
		if "$@"; then waited=$(ms_s $(((now - start) / 1000000))); return 0; fi
		[ $(((now - start) / 1000000000)) -ge "$limit" ] && { waited=$limit; return 1; }
		sleep 0.2
	done
}
is() { [ "$("${@:1:$#-1}")" = "${!#}" ]; } # is CMD... WANT: CMD prints WANT
E=web/tcp-80/east
W=web/tcp-80/west
S=web/tcp-90/solo
# interval 1 s x threshold 2 + one interval, plus 2 s of slack for scheduling and the republish
bound=5

# ---- healthy -------------------------------------------------------------------------
all_healthy() {
	local k
	for k in $E/10.1.0.11 $E/10.1.0.12 $W/10.1.0.13 $S/10.1.0.21 $S/10.1.0.22; do
		is ep $k health healthy || return 1
	done
}
if wait_until 8 all_healthy; then ok "every endpoint becomes healthy (${waited} s)"
else not_ok "every endpoint becomes healthy" "$("${G[@]}" show endpoints)"; fi
expect_eq() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', wanted '$3'"; fi
}
expect_eq "a tcp check probes the lowest listener port when there is no override" \
	"$(ep $E/10.1.0.11 probe)" "tcp 10.1.0.11:80"
expect_eq "a check probes the port override of the listener's port" \
	"$(ep $S/10.1.0.21 probe)" "tcp 10.1.0.21:9090"
expect_eq "an http check gets 200 from the server" "$(ep $W/10.1.0.13 reason)" "http status 200"
expect_eq "a healthy endpoint serves" "$(ep $E/10.1.0.11 state)" "serving"
expect_eq "show endpoints --json: last_result" "$(ep $E/10.1.0.11 last_result)" "ok"
expect_eq "show endpoints --json: drained" "$(ep $E/10.1.0.11 drained)" "false"

# ---- one endpoint down ----------------------------------------------------------------
share0=$(ep $E/10.1.0.11 share)
stop_srv 10.1.0.11
if wait_until 10 is ep $E/10.1.0.11 health unhealthy; then
	if awk -v w="$waited" -v b="$bound" 'BEGIN { exit !(w <= b) }'; then
		ok "a stopped server is unhealthy within $bound s (${waited} s)"
	else
		not_ok "a stopped server is unhealthy within $bound s" "took ${waited} s"
	fi
else
	not_ok "a stopped server turns unhealthy" "$("${G[@]}" show endpoints)"
fi
expect_eq "the unhealthy endpoint's reason is the probe's" "$(ep $E/10.1.0.11 reason)" \
	"connect refused"
expect_eq "the unhealthy endpoint's last result fails" "$(ep $E/10.1.0.11 last_result)" "fail"
wait_until 3 is ep $E/10.1.0.11 share 0.0
expect_eq "the unhealthy endpoint leaves its group's Maglev table (share 0, was $share0)" \
	"$(ep $E/10.1.0.11 share)" "0.0"
expect_eq "the other endpoint of the group takes the whole table" "$(ep $E/10.1.0.12 share)" \
	"100.0"
expect_eq "its state says why it takes no new flows" "$(ep $E/10.1.0.11 state)" "unhealthy"
lc=$(ep $E/10.1.0.11 last_change)
if [[ $lc =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}Z$ ]]; then
	ok "show endpoints --json: last_change is a UTC time ($lc)"
else
	not_ok "show endpoints --json: last_change is a UTC time" "got '$lc'"
fi
run "${G[@]}" show endpoints
check "show endpoints: drained, health, last result, time of change, reason" 0 "DRAINED" \
	"HEALTH" "LAST" "CHANGED" "REASON" "unhealthy" "connect refused" "s ago)"
if grep -q "endpoint $E/10.1.0.11 (listener web/tcp-80) is unhealthy (was healthy): connect refused" "$log"
then ok "the change is logged with the endpoint, its listener and the reason"
else not_ok "the change is logged with the endpoint, its listener and the reason" "$(tail -20 "$log")"; fi

# ---- a group down: its share goes to the other group ------------------------------------
stop_srv 10.1.0.12
if wait_until 10 is field endpoint-groups $E share 0.0; then
	ok "a group with no healthy endpoint gets no share (${waited} s)"
else
	not_ok "a group with no healthy endpoint gets no share" "$("${G[@]}" show endpoint-groups)"
fi
expect_eq "the other group takes all new flows" "$(field endpoint-groups $W share)" "100.0"
expect_eq "the listener does not fail open while a group serves" \
	"$(field listeners web/tcp-80 failed_open)" "false"

# ---- every endpoint of a listener down: fail open ------------------------------------------
stop_srv 10.1.0.21
stop_srv 10.1.0.22
if wait_until 10 is field listeners web/tcp-90 failed_open true; then
	ok "a listener with every endpoint unhealthy fails open (${waited} s)"
else
	not_ok "a listener with every endpoint unhealthy fails open" "$("${G[@]}" show endpoints)"
fi
expect_eq "its endpoints serve as if healthy" "$(ep $S/10.1.0.21 state)" "failed-open"
expect_eq "... and keep their share of the table" "$(ep $S/10.1.0.21 share)" "50.0"
if grep -q "listener web/tcp-90 FAILED OPEN" "$log"; then ok "fail open is logged"
else not_ok "fail open is logged" "$(tail -20 "$log")"; fi
expect_eq "stats: one listener failed open now" "$(hstat listeners_failed_open)" 1
expect_eq "stats: one fail-open event" "$(hstat fail_open_events)" 1
run "${G[@]}" stats
check "gaxctl stats prints the health counters" 0 "health:" "1 listeners failed open now" \
	"(1 fail-open events)"

# ---- recovery ---------------------------------------------------------------------------
start_srv 10.1.0.21 9090
start_srv 10.1.0.11 80
if wait_until 8 is ep $S/10.1.0.21 health healthy; then
	ok "a restarted server is healthy again after threshold successes (${waited} s)"
else
	not_ok "a restarted server is healthy again" "$("${G[@]}" show endpoints)"
fi
wait_until 3 is field listeners web/tcp-90 failed_open false
expect_eq "the listener no longer fails open" "$(field listeners web/tcp-90 failed_open)" false
expect_eq "the recovered endpoint takes the whole table" "$(ep $S/10.1.0.21 share)" "100.0"
expect_eq "stats: no listener failed open now" "$(hstat listeners_failed_open)" 0
if grep -q "listener web/tcp-90 no longer fails open" "$log"; then ok "the recovery is logged"
else not_ok "the recovery is logged" "$(tail -20 "$log")"; fi
wait_until 8 is ep $E/10.1.0.11 share 100.0
expect_eq "east serves again through its recovered endpoint" "$(ep $E/10.1.0.11 share)" "100.0"
expect_eq "east has its share back" "$(field endpoint-groups $E share)" "70.0"

# ---- drain ----------------------------------------------------------------------------
gen0=$("${G[@]}" --json ping | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
run "${G[@]}" endpoint drain $W/10.1.0.13
check "endpoint drain KEY: drained, existing flows finish" 0 "$W/10.1.0.13 drained"
expect_eq "a drained endpoint shows drained" "$(ep $W/10.1.0.13 drained)" true
expect_eq "... its state is drained" "$(ep $W/10.1.0.13 state)" drained
expect_eq "... it owns no slot" "$(ep $W/10.1.0.13 share)" "0.0"
expect_eq "... and is still checked" "$(ep $W/10.1.0.13 health)" healthy
expect_eq "... and its group gives its share away" "$(field endpoint-groups $E share)" "100.0"
if grep -q '"drain' "$cfg"; then not_ok "drain is not written to the config file" "$(cat "$cfg")"
else ok "drain is not written to the config file"; fi
run "${G[@]}" endpoint drain $W/10.1.0.13
check "draining it again changes nothing" 0 "(already so)"
run "${G[@]}" endpoint undrain --accelerator web --listener tcp-80 --group west --address 10.1.0.13
check "endpoint undrain with the options of the endpoint verbs" 0 "$W/10.1.0.13 undrained"
expect_eq "an undrained endpoint takes its share again" "$(ep $W/10.1.0.13 share)" "100.0"
expect_eq "... and is no longer drained" "$(ep $W/10.1.0.13 state)" serving
run "${G[@]}" endpoint drain $W/10.9.9.9
check "drain of an unknown endpoint is refused and says so" 1 \
	"no endpoint $W/10.9.9.9 in the running configuration"
run "${G[@]}" endpoint drain
check "drain without an endpoint is a usage error" 2 "missing --accelerator"
run "${G[@]}" endpoint drain --dry-run $S/10.1.0.21
check "drain --dry-run changes nothing" 0 "dry run: $S/10.1.0.21 is not drained"
expect_eq "... really nothing" "$(ep $S/10.1.0.21 drained)" false
# Both of tcp-90's endpoints drained (one healthy, one down): nothing serves, no fail open.
"${G[@]}" endpoint drain $S/10.1.0.21 >/dev/null
"${G[@]}" endpoint drain $S/10.1.0.22 >/dev/null
expect_eq "a listener whose endpoints are all drained does not fail open" \
	"$(field listeners web/tcp-90 failed_open)" false
expect_eq "... and takes no new flows" "$(field endpoint-groups $S share)" "0.0"
"${G[@]}" endpoint undrain $S/10.1.0.21 >/dev/null
"${G[@]}" endpoint undrain $S/10.1.0.22 >/dev/null
expect_eq "undrained, the healthy endpoint serves alone" "$(ep $S/10.1.0.21 share)" "100.0"

# ---- a bad health_check is refused by its path ------------------------------------------
python3 - "$cfg" "$tmp/bad.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["accelerators"][0]["listeners"][1]["endpoint_groups"][0]["health_check"]["threshold"] = 1
json.dump(d, open(sys.argv[2], "w"), indent=2)
EOF
gen1=$("${G[@]}" --json ping | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
run "${G[@]}" apply "$tmp/bad.json"
check "an apply with a bad health_check is refused with the field's path" 1 \
	"accelerators[0].listeners[1].endpoint_groups[0].health_check.threshold"
gen2=$("${G[@]}" --json ping | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
expect_eq "the running configuration keeps serving (generation unchanged)" "$gen2" "$gen1"
expect_eq "... with its health checks" "$(ep $S/10.1.0.21 health)" healthy
if [ "$gen1" -gt "$gen0" ]; then ok "drain and health changes republished ($gen0 -> $gen1)"
else not_ok "drain and health changes republished" "generation $gen0 -> $gen1"; fi
kill -0 "$pid" 2>/dev/null && ok "gaxd still runs" || not_ok "gaxd still runs" "$(tail -20 "$log")"
tap_end
