#!/usr/bin/env bash
# Domain-name endpoints: gaxd resolves them off the packet path, follows a
# change of address (new flows go to the new one, existing flows stay),
# keeps the last known address when a re-resolution fails, and says so.
# The names live in the forwarder namespace's own hosts file
# (/etc/netns/NS/hosts, which `ip netns exec` mounts over /etc/hosts), so no
# DNS is needed and nothing outside the test's namespaces changes.
# TAP output; needs root. usage: test_domain.sh SOURCE_ROOT GAXD_PATH
set -uo pipefail
root=$1
gaxd=$2
export GAX_TB_PREFIX=gaxdn$$
P=$GAX_TB_PREFIX
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/e2e.sh"

e2e_preamble domain timeout stdbuf
hosts_dir=/etc/netns/${P}f
trap 'rm -rf "$hosts_dir"; e2e_cleanup' EXIT
gaxd_log() { cat "$work/gaxd.out" "$work/gaxd.err"; }

# The hosts file is rewritten in place (same inode) so the bind mount sees it.
set_hosts() { printf '127.0.0.1 localhost\n%s\n' "$1" >"$hosts_dir/hosts"; }
ctl() { timeout 15 python3 "$tools/gax_ctl.py" --socket "$work/gaxd.sock" "$@"; }
# endpoint_field FIELD: FIELD of the domain endpoint in `show endpoints`
endpoint_field() {
	ctl show what=endpoints | python3 -c 'import json, sys
e = [x for x in json.load(sys.stdin)["endpoints"] if x["type"] == "domain"][0]
v = e
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print(v)' "$1"
}
# reached SOURCES: the endpoint addresses that answered HELLO, "addr:port" sorted and unique
reached() {
	ip netns exec "${P}c" timeout 30 python3 "$tools/gax_clients.py" tcp --target 10.0.0.100:80 \
		--sources "$1" --per-source 1 --timeout 2 --deadline 20 --summary-only |
		python3 -c 'import json, sys
print(" ".join(sorted(json.load(sys.stdin)["summary"]["endpoints"])))'
}

mkdir -p "$hosts_dir"
set_hosts "10.1.0.14 app.gax.test"
python3 - "$root/config/demo.json" "$work/domain.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["interfaces"][1].pop("neighbors", None)
g = c["accelerators"][0]["listeners"][0]["endpoint_groups"][0]
g["endpoints"] = [{"type": "domain", "address": "app.gax.test", "weight": 10}]
c["accelerators"][0]["listeners"][1]["endpoint_groups"][0]["endpoints"] = [
    {"type": "domain", "address": "never.gax.test"}]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY

e2e_servers --tcp 10.1.0.11:8080,10.1.0.14:8080
e2e_gaxd_start "gaxd starts with domain endpoints" "$work/domain.json" --resolve-interval 1

got=$(endpoint_field resolved)
[ "$got" = "10.1.0.14" ] && ok "the name resolved before gaxd served (10.1.0.14)" ||
	not_ok "the name resolved before gaxd served" "resolved: $got"
got=$(reached 10.0.0.10-14)
[ "$got" = "10.1.0.14:8080" ] && ok "clients reach the name's address" ||
	not_ok "clients reach the name's address" "reached: $got"

# A long-lived flow opened now must stay on 10.1.0.14 after the change.
ip netns exec "${P}c" timeout 40 python3 - >"$work/held.out" 2>&1 <<'PY' &
import socket, time
s = socket.create_connection(("10.0.0.100", 80), timeout=5, source_address=("10.0.0.20", 0))
s.sendall(b"HELLO\n")
first = s.makefile().readline().strip()
time.sleep(6)  # the address changes meanwhile
try:
    s.sendall(b"x")
    alive = True
except OSError:
    alive = False
print(first, "alive" if alive else "dead")
PY
held_pid=$!
sleep 1

set_hosts "10.1.0.11 app.gax.test"
for _ in $(seq 50); do
	[ "$(endpoint_field resolved)" = "10.1.0.11" ] && break
	sleep 0.2
done
got=$(endpoint_field resolved)
[ "$got" = "10.1.0.11" ] && ok "a new address is followed within seconds (10.1.0.11)" ||
	not_ok "a new address is followed within seconds" "resolved: $got" \
		"$(gaxd_log | grep -i resol | tail -5)"
got=$(reached 10.0.0.30-34)
[ "$got" = "10.1.0.11:8080" ] && ok "new connections go to the new address" ||
	not_ok "new connections go to the new address" "reached: $got"
gaxd_log | grep -q "republishing" && ok "gaxd logs the republication" ||
	not_ok "gaxd logs the republication" "$(gaxd_log | tail -5)"

wait "$held_pid"
grep -q "endpoint=10.1.0.14:8080" "$work/held.out" && ok "a flow opened before the change stayed on the old address" ||
	not_ok "a flow opened before the change stayed on the old address" "$(cat "$work/held.out")"

# The name disappears: the last known address is kept, and it is said.
set_hosts "10.1.0.99 other.gax.test"
for _ in $(seq 50); do
	[ "$(endpoint_field resolution.state)" = "failed-keeping" ] && break
	sleep 0.2
done
got="$(endpoint_field resolution.state) $(endpoint_field resolved)"
[ "$got" = "failed-keeping 10.1.0.11" ] && ok "a failed re-resolution keeps the last address and says so" ||
	not_ok "a failed re-resolution keeps the last address and says so" "state and address: $got"
got=$(reached 10.0.0.35-37)
[ "$got" = "10.1.0.11:8080" ] && ok "and traffic still flows to it" || not_ok "and traffic still flows to it" "reached: $got"

# A name that never resolved serves nothing and is shown so.
got=$(ctl show what=endpoints | python3 -c 'import json, sys
e = [x for x in json.load(sys.stdin)["endpoints"] if x["address"] == "never.gax.test"][0]
print(e["state"], e["resolved"], e["resolution"]["state"])')
[ "$got" = "unresolved None never-resolved" ] && ok "a name that never resolved is shown unresolved" ||
	not_ok "a name that never resolved is shown unresolved" "got: $got"

e2e_gaxd_stop "gaxd exits 0 on SIGTERM"
e2e_finish
