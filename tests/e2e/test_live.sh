#!/usr/bin/env bash
# No loss under change: on the namespace testbed (scripts/testbed.sh), while
# 20 long-lived TCP connections each exchange a small message every 50 ms
# through gaxd and a steady numbered UDP stream (200 datagrams/s over 4
# flows) runs on a listener that never changes, 100 changes are applied
# through gaxd's control socket (docs/control.md), half by `apply` and half
# by the API verbs (endpoint.set-weight, listener.create/delete,
# endpoint.create/delete, endpoint-group.update), 0.1 s apart and the last
# 10 back to back, `stats` read after each: endpoint weights (to 0 and
# back too), a listener added and removed, an endpoint added to a group and
# removed, a group's traffic_percentage, one configuration with a port out of
# range and one changing an interface's device (both must be refused, naming
# the field). Then: every connection survived with every echo correct, no
# datagram was lost, the counters never went down, the generation counts the
# good changes, config.get and the config file hold the last document, new
# connections avoid a weight-0 endpoint, a removed listener's port is not
# served, the counters add up, `flows` and `show endpoints` show the
# long-lived connections, SIGHUP rereads the edited file, and gaxd exits 0 on
# SIGTERM. TAP output; needs root.
# usage: test_live.sh SOURCE_ROOT GAXD_PATH
# Bounded: every process runs under timeout, the clients stop by themselves,
# the change driver has a deadline; the whole test takes about 25 s and well
# under 150 s even when gaxd forwards nothing.
# GAX_E2E_KEEP=1 keeps the work folder (logs, client output, stats) even on
# success; it is always kept on failure. gaxd runs two workers on one CPU
# (GAX_LIVE_WORKERS=1: one); GAX_LIVE_SEED picks other random weights
# (default 1).
set -uo pipefail
root=$1
gaxd=$2
export GAX_TB_PREFIX=gaxlv$$
P=$GAX_TB_PREFIX
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/driver.sh"
. "$(dirname "${BASH_SOURCE[0]}")/e2e.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root for network namespaces"
	exit 0
fi
for tool in "$py" ping ethtool timeout stdbuf; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is missing (scripts/deps.sh)"; exit 0; }
done

driver_init
work=$(mktemp -d "${TMPDIR:-/tmp}/gax-live.XXXXXX")
config="$work/live.json"
sock="$work/gaxd.sock"
gaxd_pid=
srv_pid=
hold_pid=
stream_pid=
cleanup() {
	local pid
	touch "$work/stop" 2>/dev/null
	for pid in $hold_pid $stream_pid $gaxd_pid $srv_pid; do kill "$pid" 2>/dev/null || true; done
	sleep 0.3
	for pid in $hold_pid $stream_pid $gaxd_pid $srv_pid; do kill -9 "$pid" 2>/dev/null || true; done
	"$tb" down >/dev/null 2>&1
	rm -rf "/var/run/dpdk/$P"
	if [ $failed -eq 0 ] && [ -z "${GAX_E2E_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$SECONDS

gaxd_tail() {
	echo "gaxd stdout (last 15 lines):"; tail -15 "$work/gaxd.out"
	echo "gaxd stderr (last 15 lines):"; tail -15 "$work/gaxd.err"
}

# -- the configuration (a copy gaxd may rewrite) ---------------------------------
"$py" - "$config" <<'EOF'
import json, sys
doc = {
  "interfaces": [
    {"name": "wan", "device": "net_af_packet0", "addresses": ["10.0.0.1/24"],
     "gateway": "10.0.0.254"},
    {"name": "lan", "device": "net_af_packet1", "addresses": ["10.1.0.1/24"]}],
  "accelerators": [
    {"name": "web", "addresses": ["10.0.0.100"],
     "listeners": [
       {"name": "tcp-hold", "protocol": "tcp", "port_ranges": "80", "client_affinity": "none",
        "endpoint_groups": [
          {"name": "eg-a", "region": "a", "traffic_percentage": 100,
           "endpoints": [{"type": "ip", "address": "10.1.0.11", "weight": 100},
                         {"type": "ip", "address": "10.1.0.12", "weight": 100},
                         {"type": "ip", "address": "10.1.0.13", "weight": 100}]},
          {"name": "eg-b", "region": "b", "traffic_percentage": 50,
           "endpoints": [{"type": "ip", "address": "10.1.0.31", "weight": 100}]}]},
       {"name": "udp-stream", "protocol": "udp", "port_ranges": "53",
        "client_affinity": "none",
        "endpoint_groups": [
          {"name": "eg-dns", "endpoints": [{"address": "10.1.0.21", "weight": 1}]}]}]}]}
with open(sys.argv[1], "w") as f:
    json.dump(doc, f, indent=2)
EOF
driver_config "$config" "$config.driver" && mv "$config.driver" "$config"

# -- the testbed, the servers, gaxd --------------------------------------------
if out=$("$tb" up 2>&1); then ok "testbed comes up"; else not_ok "testbed comes up" "$out"; fi

e2e_servers --tcp 10.1.0.11-14:80,10.1.0.31:80,10.1.0.41:8081 --udp 10.1.0.21:53

# Two workers sharing CPU 1 (docs/dataplane.md): every change is published to
# both, and replies reach the worker owning their flow through a hand-over.
# GAX_LIVE_WORKERS=1: one worker. Over net_af_xdp one worker (the testbed's
# veths have one queue each).
driver_gaxd "${P}f" wan0 lan0
if [ "${GAX_LIVE_WORKERS:-2}" = 2 ] && [ "$driver" = af_packet ]; then
	lcores=(--lcores '0@0,(1,2)@1')
	gaxd_vdevs=(--vdev "net_af_packet0,iface=wan0,qpairs=2" --vdev "net_af_packet1,iface=lan0,qpairs=2")
else
	lcores=(-l 0,1)
fi
comment "driver $driver: ${gaxd_vdevs[*]}"
timeout 140 "${gaxd_cmd[@]}" stdbuf -oL -eL "$gaxd" --no-huge -m 512 --no-pci --no-telemetry \
	--file-prefix "$P" "${lcores[@]}" "${gaxd_vdevs[@]}" \
	-- --config "$config" --socket "$sock" --stats-json "$work/stats.json" \
	>"$work/gaxd.out" 2>"$work/gaxd.err" &
gaxd_pid=$!
ready=0
for _ in $(seq 1 200); do # 20 s
	if grep -q "gaxd: ready" "$work/gaxd.out" 2>/dev/null; then ready=1; break; fi
	kill -0 "$gaxd_pid" 2>/dev/null || break
	sleep 0.1
done
# The process signals go to (timeout execs nothing: gaxd is its child).
gaxd_real=$(ps -o pid= --ppid "$gaxd_pid" 2>/dev/null | tr -d ' ' | head -1)
if [ $ready -eq 1 ] && [ -n "$gaxd_real" ] && kill -0 "$gaxd_pid" 2>/dev/null &&
	ctl_out=$(timeout 15 "$py" "$tools/gax_ctl.py" --socket "$sock" ping 2>&1); then
	ok "gaxd starts with --socket, prints 'gaxd: ready' and answers ping ($((SECONDS - start)) s)"
	comment "$ctl_out"
else
	not_ok "gaxd starts with --socket, prints 'gaxd: ready' and answers ping" \
		"ready=$ready pid=$gaxd_pid child=${gaxd_real:-none}" "ping: ${ctl_out:-}" "$(gaxd_tail)"
	kill -0 "$gaxd_pid" 2>/dev/null || gaxd_pid=
fi

# -- long-lived traffic ----------------------------------------------------------
if [ -n "$gaxd_pid" ]; then
	# ARP both ways before the timed traffic, for every client address used:
	# gaxd holds at most 16 packets per address while it resolves one (with
	# two workers on one CPU that can take longer than 16 datagrams).
	timeout 10 ip netns exec "${P}c" ping -c 2 -W 1 -i 0.3 10.0.0.100 >"$work/ping.txt" 2>&1
	pids=()
	for i in $(seq 11 34); do
		timeout 10 ip netns exec "${P}c" ping -c 1 -W 3 -I "10.0.0.$i" 10.0.0.100 \
			>>"$work/ping.txt" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	timeout 110 ip netns exec "${P}c" "$py" "$tools/gax_clients.py" stream \
		--target 10.0.0.100:53 --sources 10.0.0.31-34 --rate 200 --duration 100 \
		--grace 2 --expect-endpoint 10.1.0.21:53 --stop-file "$work/stop" \
		--ready "$work/stream.ready" >"$work/stream.json" 2>"$work/stream.err" &
	stream_pid=$!
	timeout 110 ip netns exec "${P}c" "$py" "$tools/gax_clients.py" hold \
		--target 10.0.0.100:80 --sources 10.0.0.11-30 --interval 0.05 --timeout 3 \
		--duration 100 --stop-file "$work/stop" \
		--ready "$work/hold.ready" >"$work/hold.json" 2>"$work/hold.err" &
	hold_pid=$!
	for _ in $(seq 1 150); do # 15 s
		[ -e "$work/hold.ready" ] && [ -e "$work/stream.ready" ] && break
		sleep 0.1
	done
	held=$("$py" -c 'import json,sys; c=json.load(open(sys.argv[1]))["connections"]
print(sum(x["ok"] for x in c), len(c))' "$work/hold.ready" 2>/dev/null)
	if [ "$held" = "20 20" ]; then
		ok "20 long-lived TCP connections through 10.0.0.100:80 are up ($((SECONDS - start)) s)"
	else
		not_ok "20 long-lived TCP connections through 10.0.0.100:80 are up" \
			"connected/total: ${held:-no ready file}" "$(head -c 2000 "$work/hold.ready" 2>/dev/null)" \
			"$(cat "$work/hold.err")"
	fi
	if [ -e "$work/stream.ready" ] && "$py" -c 'import json,sys
s=json.load(open(sys.argv[1]))["sockets"]; sys.exit(0 if all(x["answered"] for x in s) else 1)' \
		"$work/stream.ready"; then
		ok "the UDP stream to 10.0.0.100:53 is answered on all 4 flows"
	else
		not_ok "the UDP stream to 10.0.0.100:53 is answered on all 4 flows" \
			"$(cat "$work/stream.ready" 2>/dev/null)" "$(cat "$work/stream.err")"
	fi
fi

# -- 100 changes through the control socket, with probes --------------------------
# Runs in the client namespace: it speaks to the socket (a file) and makes the
# probe connections. Prints "ok<TAB>..." lines for tap_report.
drive() {
	timeout 100 ip netns exec "${P}c" "$py" - "$sock" "$config" "$work" "$tools" "$gaxd_real" <<'EOF'
import collections, copy, json, os, random, signal, subprocess, sys, time
sock, config, work, tools, gaxd_pid = sys.argv[1:6]
gaxd_pid = int(gaxd_pid)
sys.path.insert(0, tools)
from gax_ctl import Ctl, CtlError

results = []
def check(desc, good, *details):
    results.append((bool(good), desc, [str(d) for d in details]))

def emit():
    for good, desc, details in results:
        print(("ok" if good else "not ok") + "\t" + desc)
        for d in details:
            for line in d.split("\n"):
                print("#\t" + line)
    sys.stdout.flush()

def addr(ep):
    return ep.rsplit(":", 1)[0] if ep else None

def main():
    ctl = Ctl(sock, timeout=10)
    deadline = time.monotonic() + 75
    held = json.load(open(os.path.join(work, "hold.ready")))["connections"]
    held = [c for c in held if c["ok"]]
    held_on = collections.Counter(addr(c["endpoint"]) for c in held)
    TCP_EPS = ["10.1.0.11", "10.1.0.12", "10.1.0.13", "10.1.0.31"]

    def flows_of(c):
        r = ctl.request({"cmd": "flows", "client": c["source"]})
        want = {"client": f"{c['source']}:{c['sport']}", "vip": "10.0.0.100:80",
                "endpoint": c["endpoint"], "nat": c["peer"], "protocol": "tcp",
                "listener": "web/tcp-hold", "state": "established"}
        fl = r.get("flows") or []
        got = {k: fl[0].get(k) for k in want} if len(fl) == 1 else None
        return r.get("ok") is True and r.get("matched") == 1 and got == want, \
            f"client {c['source']}: ok {r.get('ok')} matched {r.get('matched')} " \
            f"flows {json.dumps(fl)[:300]} want {json.dumps(want)}" + \
            (f" error {r.get('error')}" if r.get("error") else "")

    def flows_check(when):
        bad = []
        for c in held:
            good, why = flows_of(c)
            if not good:
                bad.append(why)
        r = ctl.request({"cmd": "flows", "listener": "web/udp-stream"})
        udp_ok = r.get("ok") is True and r.get("matched") == 4
        check(f"flows {when}: filtered by client, each of the {len(held)} long-lived connections "
              "is one established flow of web/tcp-hold with the endpoint and NAT address its "
              "server saw; web/udp-stream holds the stream's 4 flows",
              held and not bad and udp_ok,
              f"{len(held) - len(bad)} of {len(held)} connections found as expected",
              *bad[:5],
              f"flows listener=web/udp-stream: matched {r.get('matched')} (count {r.get('count')})")

    def endpoints():
        r = ctl.request({"cmd": "show", "what": "endpoints"})
        return {e.get("address"): e for e in r.get("endpoints") or [] if isinstance(e, dict)}

    # -- before the changes -------------------------------------------------------
    flows_check("before the changes")
    eps = endpoints()
    rows, good = [], bool(eps)
    for a in TCP_EPS + ["10.1.0.21"]:
        e = eps.get(a, {})
        want = held_on.get(a, 0) if a != "10.1.0.21" else 4
        fine = e.get("active_flows") == want and e.get("new_flows") == want
        good = good and fine
        rows.append(f"{a:10} active_flows {e.get('active_flows')!s:>3} new_flows "
                    f"{e.get('new_flows')!s:>3} (long-lived connections/stream flows on it: {want})"
                    f"  {'ok' if fine else 'MISMATCH'}")
    check("show endpoints: each endpoint's active_flows and new_flows are the long-lived "
          "connections (or stream flows) it serves", good, *rows)

    # -- the changes ---------------------------------------------------------------
    rng = random.Random(int(os.environ.get("GAX_LIVE_SEED", "1")))
    cur = ctl.request({"cmd": "config.get"})["config"]
    start_gen = ctl.request({"cmd": "ping"}).get("generation")
    eg_a = [a for a in ("10.1.0.11", "10.1.0.12", "10.1.0.13")]
    # The endpoint set to weight 0: the one of eg-a serving most long-lived connections.
    zero = max(eg_a, key=lambda a: (held_on.get(a, 0), a))
    other = [a for a in eg_a if a != zero][0]
    extra_listener = {
        "name": "tcp-extra", "protocol": "tcp", "port_ranges": "8081", "client_affinity": "none",
        "endpoint_groups": [{"name": "eg-x", "endpoints": [{"address": "10.1.0.41", "weight": 1}]}]}

    def listeners(d):
        return d["accelerators"][0]["listeners"]

    def group(d, name):
        return [g for g in listeners(d)[0]["endpoint_groups"] if g["name"] == name][0]

    def endpoint(d, a):
        for g in listeners(d)[0]["endpoint_groups"]:
            for e in g["endpoints"]:
                if e["address"] == a:
                    return e
        return None

    # Each change: the expected document, and the API verb making the same edit
    # (None: only apply can). Odd changes use the verb, even ones apply.
    HOLD = {"accelerator": "web", "listener": "tcp-hold"}

    def group_of(d, a):
        return [g["name"] for g in listeners(d)[0]["endpoint_groups"]
                if any(e["address"] == a for e in g["endpoints"])][0]

    def weight_verb(d, a, w):
        return {"cmd": "endpoint.set-weight", **HOLD, "group": group_of(d, a), "address": a,
                "weight": w}

    def set_weight(a, w):
        def f(d):
            endpoint(d, a)["weight"] = w
            return f"weight of {a} -> {w}", None, weight_verb(d, a, w)
        return f

    def add_listener(d):
        listeners(d).append(copy.deepcopy(extra_listener))
        return "add listener tcp-extra (10.0.0.100:8081 -> 10.1.0.41:8081)", None, \
            {"cmd": "listener.create", "accelerator": "web", "listener": extra_listener}

    def del_listener(d):
        d["accelerators"][0]["listeners"] = [l for l in listeners(d) if l["name"] != "tcp-extra"]
        return "remove listener tcp-extra", None, \
            {"cmd": "listener.delete", "accelerator": "web", "name": "tcp-extra"}

    def add_ep(d):
        ep = {"type": "ip", "address": "10.1.0.14", "weight": rng.randint(1, 255)}
        group(d, "eg-a")["endpoints"].append(ep)
        return "add endpoint 10.1.0.14 to eg-a", None, \
            {"cmd": "endpoint.create", **HOLD, "group": "eg-a", "endpoint": ep}

    def del_ep(d):
        g = group(d, "eg-a")
        g["endpoints"] = [e for e in g["endpoints"] if e["address"] != "10.1.0.14"]
        return "remove endpoint 10.1.0.14 from eg-a", None, \
            {"cmd": "endpoint.delete", **HOLD, "group": "eg-a", "address": "10.1.0.14"}

    def percentage(d):
        g = group(d, "eg-b")
        g["traffic_percentage"] = rng.choice([p for p in (10, 25, 50, 75, 100)
                                              if p != g.get("traffic_percentage", 100)])
        return f"eg-b traffic_percentage -> {g['traffic_percentage']}", None, \
            {"cmd": "endpoint-group.update", **HOLD, "name": "eg-b",
             "group": {"traffic_percentage": g["traffic_percentage"]}}

    def bad_port(d):
        i = len(listeners(d))
        bad = {"name": "tcp-bad", "protocol": "tcp", "port_ranges": "65500",
               "endpoint_groups": [{"name": "eg-y", "endpoints": [
                   {"address": "10.1.0.41", "weight": 1}]}]}
        listeners(d).append(bad)
        return "BAD: add a listener on port 65500", \
            f"accelerators[0].listeners[{i}].port_ranges", \
            {"cmd": "listener.create", "accelerator": "web", "listener": bad}

    def bad_device(d):
        d["interfaces"][0]["device"] = "net_af_packet7"
        return "BAD: interface wan's device -> net_af_packet7", "interfaces[0].device", None

    def random_weight(d):
        zeroed = {a for a in (zero, other) if (endpoint(d, a) or {}).get("weight") == 0}
        a = rng.choice([x for x in TCP_EPS if x not in zeroed])
        w = rng.choice([x for x in range(1, 256) if x != endpoint(d, a)["weight"]])
        endpoint(d, a)["weight"] = w
        return f"weight of {a} -> {w}", None, weight_verb(d, a, w)

    def probe(name, *argv):
        try:
            p = subprocess.run([sys.executable, os.path.join(tools, "gax_clients.py"), *argv],
                               capture_output=True, text=True, timeout=30)
            out = json.loads(p.stdout)
        except (subprocess.TimeoutExpired, ValueError) as e:
            out = {"error": f"{type(e).__name__}: {e}", "summary": {}}
        with open(os.path.join(work, f"probe-{name}.json"), "w") as f:
            json.dump(out, f)
        return out

    probes = {"served": [], "closed": []}
    zero_probe = None
    zero_after = None
    log = open(os.path.join(work, "changes.jsonl"), "w")
    applied = refused_good = 0
    bad_results = []
    gen_errors = []
    gen = start_gen
    n_changes = 0
    last_ctr, ctr_errors, followed = {}, [], set()
    n_verbs = 0
    next_t = time.monotonic()
    for i in range(100):
        if time.monotonic() > deadline:
            break
        if i == 11:
            mut = set_weight(zero, 0)
        elif i == 41:
            mut = set_weight(zero, 100)
        elif i == 60:
            mut = set_weight(other, 0)
        elif i == 70:
            mut = set_weight(other, 100)
        elif i == 51:
            mut = bad_port
        elif i == 76:
            mut = bad_device
        elif i % 20 == 3:
            mut = add_listener
        elif i % 20 == 8:
            mut = del_listener
        elif i % 20 == 13:
            mut = add_ep
        elif i % 20 == 17:
            mut = del_ep
        elif i % 10 == 5:
            mut = percentage
        else:
            mut = random_weight
        new = copy.deepcopy(cur)
        what, bad_path, verb = mut(new)
        progress[0] = f"at change {i} ({what}) or after it"
        req = verb if verb is not None and i % 2 == 1 else {"cmd": "apply", "config": new}
        what = f"{what} [{req['cmd']}]"
        n_verbs += req["cmd"] != "apply"
        t0 = time.time()
        try:
            r = ctl.request(req)
        except CtlError as e:
            r = {"ok": None, "error": f"no reply: {e}"}
            ctl.close()
        n_changes += 1
        ms = round((time.time() - t0) * 1000, 1)
        log.write(json.dumps({"i": i, "t": t0, "what": what, "ok": r.get("ok"), "ms": ms,
                              "generation": r.get("generation"), "error": r.get("error"),
                              "diagnostics": r.get("diagnostics")}) + "\n")
        log.flush()
        if r.get("ok") is None:
            # gaxd does not answer (or died): the checks below report it.
            gen_errors.append(f"change {i} ({what}): {r.get('error')}; no more changes sent")
            break
        if bad_path is None:
            if r.get("ok") is True and r.get("generation") == gen + 1 and not r.get("dry_run"):
                applied += 1
                gen += 1
                cur = new
                if r.get("persisted") is not True:
                    gen_errors.append(f"change {i} ({what}): persisted {r.get('persisted')}, "
                                      f"warning {r.get('warning')}")
            else:
                refused_good += 1
                gen_errors.append(f"change {i} ({what}): ok {r.get('ok')} generation "
                                  f"{r.get('generation')} (expected {gen + 1}) error "
                                  f"{r.get('error')} {json.dumps(r.get('diagnostics'))[:300]}")
        else:
            paths = [d.get("path") for d in r.get("diagnostics") or [] if isinstance(d, dict)
                     and d.get("severity") == "error"]
            now_gen = ctl.request({"cmd": "ping"}).get("generation")
            bad_results.append((what, bad_path, r, paths, now_gen, gen))
        # The counters as the changes go: they carry over, so never go down.
        try:
            st = ctl.request({"cmd": "stats"})
        except CtlError as e:
            st = {"error": str(e)}
        now_ctr = {}
        for l in st.get("listeners") or []:
            for k in ("packets_in", "packets_out", "new_flows"):
                now_ctr[f"{l.get('key')} {k}"] = l.get(k)
        for e in st.get("endpoints") or []:
            now_ctr[f"{e.get('key')} new_flows"] = e.get("new_flows")
        for k, v in now_ctr.items():
            was = last_ctr.get(k)
            if not isinstance(v, int) or v < 0 or v > 1 << 40 or (was is not None and v < was):
                if len(ctr_errors) < 8:
                    ctr_errors.append(f"after change {i} ({what}): {k} {was} -> {v}")
        # A removed listener or endpoint is gone; added again, it is a new one.
        followed.update(now_ctr)
        last_ctr = now_ctr
        # Probes right after some changes.
        if i == 11:
            time.sleep(0.05)
            zero_probe = probe("weight0", "tcp", "--target", "10.0.0.100:80",
                               "--sources", "10.0.0.35-42", "--count", "40", "--parallel", "8",
                               "--timeout", "2", "--give-up", "8", "--deadline", "15")
            time.sleep(0.3)
            zero_after = endpoints()
        elif i % 20 == 3 and r.get("ok"):
            time.sleep(0.05)
            probes["served"].append((i, probe(f"served-{i}", "tcp", "--target", "10.0.0.100:8081",
                                              "--sources", "10.0.0.35-37", "--count", "3",
                                              "--timeout", "2", "--deadline", "8")))
            time.sleep(0.3)  # let the probe connections close before the listener goes
        elif i % 20 == 8 and r.get("ok"):
            time.sleep(0.05)
            probes["closed"].append((i, probe(f"closed-{i}", "closed", "--target",
                                              "10.0.0.100:8081", "--sources", "10.0.0.38-40",
                                              "--count", "3", "--timeout", "1",
                                              "--deadline", "5")))
        # 0.1 s apart (a probe that took longer does not make the next ones
        # hurry), except the last 10: back to back.
        if i < 90:
            next_t = max(next_t + 0.1, time.monotonic())
            time.sleep(max(0.0, next_t - time.monotonic()))
    log.close()

    n_good = n_changes - len(bad_results)
    check(f"{n_changes} changes through the control socket ({n_verbs} by API verbs, the others "
          f"by apply): each of the {n_good} good ones applied (ok, generation +1, persisted)",
          n_changes == 100 and applied == n_good and not gen_errors,
          f"{applied} applied, {refused_good} good ones not applied, {len(bad_results)} bad",
          *gen_errors[:8],
          *([f"only {n_changes} of 100 changes made before the driver's deadline"]
            if n_changes < 100 else []))
    check("the counters (stats after every change) carry over: no listener's packets or new "
          "flows and no endpoint's new flows ever go down or jump out of range while the "
          "object stays in the configuration",
          not ctr_errors and last_ctr, *ctr_errors,
          f"{len(followed)} counters followed over {n_changes} changes")
    for what, want, r, paths, now_gen, gen_then in bad_results:
        check(f"refused: {what} (diagnostics name {want}; the generation stays)",
              r.get("ok") is False and want in paths and now_gen == gen_then,
              f"ok {r.get('ok')} error {r.get('error')!r}", f"error paths: {paths}",
              f"generation after it: {now_gen}")

    p = ctl.request({"cmd": "ping"})
    check(f"generation == 1 + good changes ({1 + applied})",
          p.get("generation") == 1 + applied and start_gen == 1,
          f"ping: generation {p.get('generation')}, started at {start_gen}, applied "
          f"{p.get('applied')}, refused {p.get('refused')}")
    got = ctl.request({"cmd": "config.get"})
    check("config.get after the run returns the last applied document (and the generation)",
          got.get("config") == cur and got.get("generation") == 1 + applied,
          f"generation {got.get('generation')}",
          *([] if got.get("config") == cur else
            ["config.get: " + json.dumps(got.get("config"))[:600], "last: " + json.dumps(cur)[:600]]))
    try:
        on_disk = json.load(open(config))
    except (OSError, ValueError) as e:
        on_disk = f"{type(e).__name__}: {e}"
    check("the config file holds the last applied document", on_disk == cur,
          *([] if on_disk == cur else ["file: " + json.dumps(on_disk)[:600]]))

    # weight 0: new connections avoid it; its long-lived connections stay.
    s = zero_probe.get("summary", {}) if zero_probe else {}
    recs = (zero_probe or {}).get("records", [])
    to_zero = [r for r in recs if r.get("ok") and addr(r.get("endpoint")) == zero]
    ze = (zero_after or {}).get(zero, {})
    check(f"after {zero}'s weight -> 0: 40 new connections to 10.0.0.100:80 all served, none by "
          f"{zero}; show endpoints says weight-0 and still counts its {held_on.get(zero, 0)} "
          "long-lived connections active",
          zero_probe and s.get("ok") == 40 and not to_zero and ze.get("state") == "weight-0"
          and ze.get("weight") == 0 and ze.get("active_flows") == held_on.get(zero, 0)
          and held_on.get(zero, 0) > 0,
          f"probe: {s.get('ok')} of 40 ok, endpoints {s.get('endpoints')}, errors {s.get('errors')}",
          f"{zero} in show endpoints: state {ze.get('state')} weight {ze.get('weight')} "
          f"active_flows {ze.get('active_flows')} new_flows {ze.get('new_flows')}",
          *([zero_probe.get("error")] if zero_probe and zero_probe.get("error") else []))

    # The added and removed listener.
    rows, good = [], len(probes["served"]) == 5 and len(probes["closed"]) == 5
    for i, out in probes["served"]:
        s = out.get("summary", {})
        fine = s.get("ok") == 3 and s.get("endpoints") == {"10.1.0.41:8081": 3}
        good = good and fine
        rows.append(f"change {i} (added): {s.get('ok')} of 3 served, endpoints {s.get('endpoints')} "
                    f"errors {s.get('errors')}  {'ok' if fine else 'WRONG'}")
    for i, out in probes["closed"]:
        s = out.get("summary", {})
        fine = s.get("ok") == 3
        good = good and fine
        rows.append(f"change {i} (removed): {s.get('ok')} of 3 unanswered, outcomes "
                    f"{s.get('errors')}  {'ok' if fine else 'SERVED'}")
    check("listener tcp-extra added 5 times and removed 5 times: 10.0.0.100:8081 is served "
          "by 10.1.0.41:8081 after each add and not served after each removal", good, *rows)

    progress[0] = "after the changes"
    flows_check("after the changes")

    # SIGHUP after editing the file on disk.
    edited = copy.deepcopy(cur)
    endpoint(edited, "10.1.0.31")["weight"] = 77 if endpoint(edited, "10.1.0.31")["weight"] != 77 else 78
    group(edited, "eg-b")["traffic_percentage"] = 20
    with open(config, "w") as f:
        json.dump(edited, f, indent=1)
    before = ctl.request({"cmd": "ping"}).get("generation")
    os.kill(gaxd_pid, signal.SIGHUP)
    after = before
    for _ in range(50):
        time.sleep(0.1)
        after = ctl.request({"cmd": "ping"}).get("generation")
        if after != before:
            break
    got = ctl.request({"cmd": "config.get"}).get("config")
    try:
        on_disk = json.load(open(config))
    except (OSError, ValueError) as e:
        on_disk = str(e)
    check("SIGHUP after editing the config file applies it: generation +1, config.get is the "
          "edited document, the file is left as edited",
          after == before + 1 and got == edited and on_disk == edited,
          f"generation {before} -> {after}",
          *([] if got == edited else ["config.get: " + json.dumps(got)[:600]]))
    with open(os.path.join(work, "final-generation"), "w") as f:
        f.write(f"{after}\n")

progress = ["before the first change"]
try:
    main()
except Exception as e:
    import traceback
    check("the change driver runs to its end", False,
          f"stopped {progress[0]}: {type(e).__name__}: {e}"
          + (" (gaxd no longer answers its control socket; see below whether it still runs)"
             if isinstance(e, CtlError) else ""),
          traceback.format_exc())
emit()
EOF
}

if [ -n "$gaxd_pid" ]; then
	tap_report < <(drive)
	comment "changes made by $((SECONDS - start)) s"
else
	not_ok "100 changes under traffic" "not run: gaxd is not running (see above)"
fi

# -- stop the traffic; did anything break? ----------------------------------------
touch "$work/stop"
for pid in $hold_pid $stream_pid; do wait "$pid" 2>/dev/null; done
hold_pid=
stream_pid=

analyse() { # the clients' results, the counters over the socket
	"$py" - "$work" "$tools" "$sock" <<'EOF'
import collections, json, os, sys
work, tools, sock = sys.argv[1:4]
sys.path.insert(0, tools)
from gax_ctl import request_once
results = []
def check(desc, good, *details):
    results.append((bool(good), desc, [str(d) for d in details]))

def load(name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"error": f"{name}: {type(e).__name__}: {e}", "summary": {}}

changes = []
try:
    with open(os.path.join(work, "changes.jsonl")) as f:
        changes = [json.loads(l) for l in f]
except OSError:
    pass

def near(t):
    """The change applied last before Unix time t."""
    before = [c for c in changes if c["t"] <= t]
    if not before:
        return "before any change"
    c = before[-1]
    res = {True: "applied", False: "refused"}.get(c["ok"], f"no reply: {c.get('error')}")
    return f"{t - c['t']:.3f} s after change {c['i']} ({c['what']}: {res})"

def main():
    hold = load("hold.json")
    s = hold.get("summary", {})
    recs = hold.get("records", [])
    broken = [r for r in recs if not r.get("ok")]
    check(f"every long-lived TCP connection survived the changes: no reset, no timeout, every "
          f"echo correct, a clean close ({s.get('ok')} of {s.get('connections')})",
          s.get("connections") == 20 and s.get("ok") == 20 and not s.get("threads_stuck")
          and s.get("messages_sent") and s.get("messages_echoed") == s.get("messages_sent"),
          f"{s.get('messages_sent')} messages sent, {s.get('messages_echoed')} echoed, slowest "
          f"echo {s.get('rtt_max_ms')} ms, over {s.get('seconds')} s; endpoints {s.get('endpoints')}",
          *[f"  connection {r['i']} {r['source']}:{r['sport']} -> {r['endpoint']}: {r['error']} "
            f"after {r['echoed']} echoes, close {r['close']}"
            + (f", at {near(s['started'] + r['error_at'])}" if r.get("error_at") is not None
               and s.get("started") else "") for r in broken[:8]],
          *([hold["error"]] if "error" in hold else []))
    st = load("stream.json")
    s = st.get("summary", {})
    check(f"no UDP datagram lost on the unchanged listener: {s.get('sent')} sent, "
          f"{s.get('answered')} answered",
          s.get("ok") is True and s.get("lost") == 0 and s.get("sent", 0) >= 2000,
          f"rate {s.get('rate')}/s over {s.get('send_seconds')} s on {s.get('sockets')} flows; "
          f"lost {s.get('lost')} (longest run {s.get('longest_loss_run')}), duplicates "
          f"{s.get('duplicates')}, bad {s.get('n_bad')}, stray {s.get('stray')}, "
          f"send errors {len(s.get('send_errors') or [])}",
          f"rtt max {s.get('rtt_max_ms')} ms p99 {s.get('rtt_p99_ms')} ms; sender lag max "
          f"{s.get('send_lag_max_ms')} ms",
          *[f"  lost #{q} sent {near(s['started'] + t)}"
            for q, t in list(zip(s.get("lost_seqs") or [], s.get("lost_at_s") or []))[:10]],
          *(s.get("bad") or [])[:5], *(s.get("send_errors") or [])[:3],
          *([st["error"]] if "error" in st else []))

    # Counters over the socket, the traffic stopped.
    r = request_once(sock, {"cmd": "stats"})
    with open(os.path.join(work, "stats-live.json"), "w") as f:
        json.dump(r, f, indent=1)
    counters(r, "stats over the socket", s)

def counters(r, what, stream_summary):
    lst = {l.get("key"): l for l in r.get("listeners") or []}
    eps = r.get("endpoints") or []
    rows, good = [], r.get("ok", True) is not False and bool(lst)
    for key, l in sorted(lst.items()):
        mine = [e for e in eps if e.get("key", "").startswith(key + "/")]
        total = sum(e.get("new_flows") or 0 for e in mine)
        fine = l.get("new_flows") == total
        good = good and fine
        rows.append(f"{key:16} new_flows {l.get('new_flows')!s:>4} = endpoints' sum {total:4} "
                    f"({', '.join(e['key'].rsplit('/', 1)[1] + ' ' + str(e.get('new_flows')) for e in mine)})"
                    f"  {'ok' if fine else 'MISMATCH'}")
    fl = r.get("flows") or {}
    lsum = sum(l.get("new_flows") or 0 for l in lst.values())
    good = good and (fl.get("inserts") or 0) >= lsum
    rows.append(f"flows.inserts {fl.get('inserts')} >= listeners' new_flows {lsum}; "
                f"flows {json.dumps(fl)}")
    check(f"{what}: each listener's new_flows is the sum of its endpoints'; flows.inserts >= "
          "the listeners' new_flows", good, *rows)
    u = lst.get("web/udp-stream", {})
    sent, answered = stream_summary.get("sent"), stream_summary.get("answered")
    check(f"{what}: web/udp-stream counted exactly the stream: packets_in == datagrams sent "
          f"({sent}), packets_out == answered ({answered}), 4 new flows",
          sent and u.get("packets_in") == sent and u.get("packets_out") == answered
          and u.get("new_flows") == 4,
          f"packets_in {u.get('packets_in')} packets_out {u.get('packets_out')} "
          f"new_flows {u.get('new_flows')}")

phase = os.environ.get("PHASE", "live")
try:
    if phase == "live":
        main()
    else:
        with open(os.path.join(work, "stats.json")) as f:
            st = json.load(f)
        counters(st, "--stats-json at exit", load("stream.json").get("summary", {}))
except Exception:
    import traceback
    check(f"the {phase} analysis runs to its end", False, traceback.format_exc())
for good, desc, details in results:
    print(("ok" if good else "not ok") + "\t" + desc)
    for d in details:
        for line in d.split("\n"):
            print("#\t" + line)
EOF
}

if [ -n "$gaxd_pid" ]; then
	tap_report < <(PHASE=live analyse)
	if kill -0 "$gaxd_pid" 2>/dev/null; then
		ok "gaxd is still running after the changes"
	else
		wait "$gaxd_pid"; rc=$?
		not_ok "gaxd is still running after the changes" "gaxd exited with status $rc" "$(gaxd_tail)"
		gaxd_pid=
	fi
fi

# -- SIGTERM ---------------------------------------------------------------------
if [ -n "$gaxd_pid" ]; then
	kill -TERM "${gaxd_real:-$gaxd_pid}"
	for _ in $(seq 1 100); do kill -0 "$gaxd_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$gaxd_pid" 2>/dev/null; then
		not_ok "on SIGTERM gaxd stops within 10 s and exits 0" "still running 10 s after SIGTERM" \
			"$(gaxd_tail)"
		kill -9 "$gaxd_real" "$gaxd_pid" 2>/dev/null
		wait "$gaxd_pid" 2>/dev/null
	else
		wait "$gaxd_pid"; rc=$?
		if [ $rc -eq 0 ]; then ok "on SIGTERM gaxd stops within 10 s and exits 0"
		else not_ok "on SIGTERM gaxd stops within 10 s and exits 0" "exit status $rc" "$(gaxd_tail)"; fi
	fi
	gaxd_pid=
	tap_report < <(PHASE=exit analyse)
	comment "gaxd's log (NOTICE and up, at most 20 lines):" \
		"$(grep -v '^EAL\|^TELEMETRY' "$work/gaxd.err" | grep -v 'generation [0-9]* published' | head -20)"
else
	not_ok "on SIGTERM gaxd stops within 10 s and exits 0" "not run: gaxd is not running (see above)"
fi

# -- teardown ------------------------------------------------------------------
kill "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
srv_pid=
comment "$(tail -1 "$work/servers.out")"
"$tb" down >/dev/null 2>&1
if ip netns list | grep -q "^${P}[cfs]\b"; then
	not_ok "testbed goes away" "$(ip netns list | grep "^${P}")"
else
	ok "testbed goes away"
fi
comment "took $((SECONDS - start)) s"
if [ $failed -ne 0 ] || [ -n "${GAX_E2E_KEEP:-}" ]; then
	comment "work folder kept: $work (hold.json, stream.json, changes.jsonl, probe-*.json, servers.jsonl, gaxd.out/.err, stats*.json)"
fi
tap_end
