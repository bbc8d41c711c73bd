#!/usr/bin/env bash
# gaxd forwards real traffic: on the namespace testbed (scripts/testbed.sh),
# with tests/e2e/dataplane.json, clients in one namespace reach test servers
# (tests/e2e/tools/gax_servers.py) in another through gaxd, and what the
# servers answered and logged proves the behaviour: source-IP affinity,
# weighted distribution, weight 0, port override, full NAT and reserved client
# IP, UDP, 1 MiB transfers, ICMP echo, no service where no listener is, and
# gaxd's final counters agreeing with the servers. TAP output; needs root.
# usage: test_dataplane.sh SOURCE_ROOT GAXD_PATH
# Bounded: every client run has a deadline and gives up early when its first
# attempts all fail; gaxd and the servers run under timeout; the whole test
# takes well under 120 s even when gaxd forwards nothing.
# GAX_E2E_DRIVER=af_xdp runs gaxd over net_af_xdp with gax's XDP steering
# program instead of net_af_packet (tests/e2e/driver.sh).
# GAX_E2E_KEEP=1 keeps the work folder (logs, client output, stats) even on
# success; it is always kept on failure.
set -uo pipefail
root=$1
gaxd=$2
export GAX_TB_PREFIX=gaxdp$$
P=$GAX_TB_PREFIX
config="$root/tests/e2e/dataplane.json"
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
work=$(mktemp -d "${TMPDIR:-/tmp}/gax-dataplane.XXXXXX")
driver_config "$config" "$work/dataplane.json"
config=$work/dataplane.json
gaxd_pid=
srv_pid=
cleanup() {
	local pid
	for pid in $gaxd_pid $srv_pid; do kill "$pid" 2>/dev/null || true; done
	sleep 0.3
	for pid in $gaxd_pid $srv_pid; do kill -9 "$pid" 2>/dev/null || true; done
	"$tb" down >/dev/null 2>&1
	if [ $failed -eq 0 ] && [ -z "${GAX_E2E_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$SECONDS

# -- the testbed, the servers, gaxd --------------------------------------------
if out=$("$tb" up 2>&1); then ok "testbed comes up"; else not_ok "testbed comes up" "$out"; fi

# Servers: every (address, port) the config sends to, plus port 80 on the
# tcp-80 endpoints (a missing 80->8080 override then shows as endpoint :80
# instead of a refused connection).
e2e_servers \
	--tcp 10.1.0.11-13:80,10.1.0.11-13:8080-8081,10.1.0.31-32:9000,10.1.0.14:7000,10.1.0.41:7000 \
	--udp 10.1.0.21:53,10.1.0.22:5353

driver_gaxd "${P}f" wan0 lan0
timeout 150 "${gaxd_cmd[@]}" stdbuf -oL -eL "$gaxd" --no-huge -m 512 --no-pci --no-telemetry \
	--file-prefix "gaxdp$$" -l 0,1 "${gaxd_vdevs[@]}" \
	-- --config "$config" --socket "$work/gaxd.sock" --stats-json "$work/stats.json" \
	>"$work/gaxd.out" 2>"$work/gaxd.err" &
gaxd_pid=$!
ready=0
for _ in $(seq 1 200); do # 20 s
	if grep -q "gaxd: ready" "$work/gaxd.out" 2>/dev/null; then ready=1; break; fi
	kill -0 "$gaxd_pid" 2>/dev/null || break
	sleep 0.1
done
alive=1
kill -0 "$gaxd_pid" 2>/dev/null || alive=0
if [ $ready -eq 1 ] && [ $alive -eq 1 ]; then
	ok "gaxd starts on wan0/lan0 ($driver) with dataplane.json and prints 'gaxd: ready' ($((SECONDS - start)) s)"
else
	why="still not ready after 20 s"
	if [ $alive -eq 0 ]; then
		wait "$gaxd_pid"
		why="exited with status $? without printing 'gaxd: ready'"
		gaxd_pid=
	fi
	not_ok "gaxd starts on wan0/lan0 with dataplane.json and prints 'gaxd: ready'" \
		"gaxd $why" "stdout (last 15 lines):" "$(tail -15 "$work/gaxd.out")" \
		"stderr (last 15 lines):" "$(tail -15 "$work/gaxd.err")"
fi

# -- traffic -------------------------------------------------------------------
clients() { # NAME SCENARIO ARGS...: client output to $work/NAME.json
	local name=$1; shift
	timeout 60 ip netns exec "${P}c" "$py" "$tools/gax_clients.py" "$@" \
		>"$work/$name.json" 2>"$work/$name.err"
}
pings() { # ADDR: ping output to $work/ping-ADDR.txt, status to .rc
	timeout 10 ip netns exec "${P}c" ping -c 3 -W 1 -i 0.3 "$1" >"$work/ping-$1.txt" 2>&1
	echo $? >"$work/ping-$1.rc"
}

checks=(
	"ICMP echo to the accelerated address 10.0.0.100 is answered"
	"ICMP echo to the accelerated address 10.0.0.101 is answered"
	"ICMP echo to gaxd's wan address 10.0.0.1 is answered"
)
if [ -n "$gaxd_pid" ]; then
	# ICMP first: it also resolves ARP both ways before the timed runs.
	pids=()
	for a in 10.0.0.100 10.0.0.101 10.0.0.1; do pings "$a" & pids+=($!); done
	wait "${pids[@]}"
	i=0
	for a in 10.0.0.100 10.0.0.101 10.0.0.1; do
		if [ "$(cat "$work/ping-$a.rc")" = 0 ]; then ok "${checks[$i]}"
		else not_ok "${checks[$i]}" "ping -c 3 -W 1 $a from 10.0.0.10 exited $(cat "$work/ping-$a.rc"):" \
			"$(cat "$work/ping-$a.txt")"; fi
		i=$((i + 1))
	done

	all=(--sources 10.0.0.10-42 --parallel 8 --give-up 16 --timeout 3)
	clients aff80 tcp --target 10.0.0.100:80 "${all[@]}" --per-source 4 --deadline 15
	clients aff8081 tcp --target 10.0.0.100:8081 "${all[@]}" --per-source 2 --deadline 10
	clients spread tcp --target 10.0.0.101:9000 --sources 10.0.0.10-42 --count 600 \
		--parallel 16 --give-up 32 --timeout 3 --deadline 25
	clients keep7000 tcp --target 10.0.0.101:7000 "${all[@]}" --per-source 1 --deadline 10
	clients udp53 udp --target 10.0.0.100:53 "${all[@]}" --per-source 2 --retries 1 --deadline 10
	clients udp5353 udp --target 10.0.0.101:5353 "${all[@]}" --per-source 2 --retries 1 --deadline 10
	xfer=(--sources 10.0.0.20 --bytes 1048576 --timeout 3 --attempt-limit 15 --deadline 15)
	clients get80 get --target 10.0.0.100:80 "${xfer[@]}"
	clients put80 put --target 10.0.0.100:80 "${xfer[@]}"
	clients get7000 get --target 10.0.0.101:7000 "${xfer[@]}"
	clients put7000 put --target 10.0.0.101:7000 "${xfer[@]}"
	closed=(--sources 10.0.0.10-42 --count 3 --parallel 3 --timeout 2 --deadline 8)
	pids=()
	clients closed-tcp81 closed --target 10.0.0.100:81 "${closed[@]}" & pids+=($!)
	clients closed-udp80 closed --proto udp --target 10.0.0.100:80 "${closed[@]}" & pids+=($!)
	clients closed-tcp5353 closed --target 10.0.0.101:5353 "${closed[@]}" & pids+=($!)
	wait "${pids[@]}"
	comment "traffic done after $((SECONDS - start)) s"
fi

# What the clients saw and the servers logged. One line per check on stdout:
# "ok<TAB>description" or "not ok<TAB>description", details as "#<TAB>text".
analyse() { # PHASE
	"$py" - "$1" "$work" "$config" <<'EOF'
import collections, json, os, sys

phase, work, config = sys.argv[1:4]
results = []


def check(desc, good, *details):
    results.append((bool(good), desc, [str(d) for d in details]))


def load(name):
    path = os.path.join(work, name + ".json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        err = ""
        try:
            err = open(os.path.join(work, name + ".err")).read().strip()
        except OSError:
            pass
        return {"error": f"{name}: no client output ({e}) {err[-300:]}", "records": [],
                "summary": {}}


def server_log():
    out = []
    try:
        with open(os.path.join(work, "servers.jsonl")) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def addr(hp):
    return hp.rpartition(":")[0] if hp else None


def port(hp):
    return int(hp.rpartition(":")[2]) if hp else None


def failures(run, limit=4):
    """Why a client run was not all ok, as detail lines."""
    if "error" in run:
        return [run["error"]]
    s = run["summary"]
    out = [f"{run['scenario']} {run['target']}: {s.get('ok')} of {s.get('attempts')} ok, "
           f"{s.get('not_attempted')} not attempted, errors {s.get('errors')}"]
    bad = [r for r in run["records"] if not r["ok"]]
    for r in bad[:limit]:
        out.append(f"  e.g. from {r['source']}:{r['sport']}: {r['error']}")
    return out


def all_ok(run):
    s = run.get("summary", {})
    return "error" not in run and s.get("attempts", 0) > 0 and s.get("ok") == s.get("attempts")


def oks(run):
    return [r for r in run.get("records", []) if r["ok"]]


def pct(a, b):
    return 100.0 * a / b if b else 0.0


log = server_log()


def traffic():
    aff80, aff8081, spread = load("aff80"), load("aff8081"), load("spread")
    keep, udp53, udp5353 = load("keep7000"), load("udp53"), load("udp5353")

    # Source-IP affinity, per port and across the listener's ports.
    for runs, desc in (([aff80], "source-IP affinity: each of 33 client addresses reaches one "
                        "endpoint over 4 connections to 10.0.0.100:80 from different source ports"),
                       ([aff80, aff8081], "source-IP affinity holds across the listener's ports "
                        "(80 and 8081: same endpoint address per client address)")):
        per = collections.defaultdict(lambda: collections.defaultdict(list))
        for run in runs:
            for r in oks(run):
                per[r["source"]][addr(r["endpoint"])].append(r["sport"])
        split = {s: dict(e) for s, e in per.items() if len(e) > 1}
        sports_ok = all(len(set(sum(e.values(), []))) >= 2 for e in per.values())
        details = []
        for run in runs:
            if not all_ok(run):
                details += failures(run)
        for s, e in sorted(split.items())[:6]:
            details.append(f"client {s} reached " + ", ".join(
                f"{a} (source ports {sorted(p)})" for a, p in sorted(e.items())))
        if len(split) > 6:
            details.append(f"... {len(split)} client addresses in all reached more than one endpoint")
        if not sports_ok:
            details.append("some client address did not make two connections")
        check(desc, all(all_ok(r) for r in runs) and not split and sports_ok and per, *details)

    # Both weighted endpoints get clients; the weight-0 one gets nothing.
    by_ep = collections.Counter()
    per = {}
    for r in oks(aff80):
        per[r["source"]] = addr(r["endpoint"])
    by_ep.update(per.values())
    n = len(per)
    check("source-IP listener spreads client addresses over 10.1.0.11 (weight 100) and "
          "10.1.0.12 (weight 50)",
          n > 0 and by_ep["10.1.0.11"] > 0 and by_ep["10.1.0.12"] > 0,
          f"{n} client addresses: 10.1.0.11 got {by_ep['10.1.0.11']} ({pct(by_ep['10.1.0.11'], n):.0f}%, "
          f"expected about 67%), 10.1.0.12 got {by_ep['10.1.0.12']} ({pct(by_ep['10.1.0.12'], n):.0f}%, "
          f"about 33%), 10.1.0.13 got {by_ep['10.1.0.13']}")
    tcp80_runs = [aff80, aff8081, load("get80"), load("put80")]
    seen13 = [r for run in tcp80_runs for r in oks(run) if addr(r["endpoint"]) == "10.1.0.13"]
    log13 = [e for e in log if e["local"] == "10.1.0.13"]
    served = sum(len(oks(run)) for run in tcp80_runs)
    check("the weight-0 endpoint 10.1.0.13 gets no connection",
          served > 0 and not seen13 and not log13,
          f"{served} connections through tcp-80 were answered; 10.1.0.13 answered "
          f"{len(seen13)} of them and logged {len(log13)} connections",
          *(["(no connection through tcp-80 was answered at all, so this proves nothing)"]
            if served == 0 else []),
          *[f"  logged: {json.dumps(e)}" for e in log13[:3]])

    # Port override and kept port.
    for runs, lport, eport in (([aff80, load("get80"), load("put80")], 80, 8080),
                               ([aff8081], 8081, 8081)):
        answered = [r for run in runs for r in oks(run)]
        wrong = collections.Counter(port(r["endpoint"]) for r in answered if port(r["endpoint"]) != eport)
        logged_80 = [e for e in log if e["proto"] == "tcp" and e["lport"] == 80]
        bad = bool(wrong) or (lport == 80 and logged_80)
        what = "override" if lport != eport else "kept"
        check(f"port {what}: connections to 10.0.0.100:{lport} reach endpoint port {eport}",
              answered and not bad and all(all_ok(r) for r in runs),
              f"{len(answered)} answered; endpoint ports other than {eport}: {dict(wrong) or 'none'}",
              *([f"servers logged {len(logged_80)} connections on port 80"] if lport == 80 and logged_80 else []),
              *[l for run in runs if not all_ok(run) for l in failures(run)])

    # Distribution with client_affinity none, weights 200:100.
    cnt = collections.Counter(addr(r["endpoint"]) for r in oks(spread))
    total = sum(cnt.values())
    share = pct(cnt["10.1.0.31"], total)
    attempts = spread.get("summary", {}).get("attempts", 0)
    good = total >= 0.98 * 600 and abs(share - 200 / 3) <= 7.0 and set(cnt) <= {"10.1.0.31", "10.1.0.32"}
    check("distribution: 600 connections to 10.0.0.101:9000 (affinity none, weights 200:100) "
          "give 10.1.0.31 66.7% +-7 points (at least 98% answered)", good,
          f"{total} of {attempts} answered: 10.1.0.31 {cnt['10.1.0.31']} ({share:.1f}%), "
          f"10.1.0.32 {cnt['10.1.0.32']} ({pct(cnt['10.1.0.32'], total):.1f}%)"
          + (f", elsewhere {dict((k, v) for k, v in cnt.items() if k not in ('10.1.0.31', '10.1.0.32'))}"
             if set(cnt) - {"10.1.0.31", "10.1.0.32"} else ""),
          "tolerance: +-7 points is 3.6 standard deviations of a 600-sample share of 2/3",
          *(failures(spread) if not all_ok(spread) else []))

    # Full NAT vs reserved client IP.
    nat_runs = [aff80, aff8081, spread, load("get80"), load("put80")]
    nat = [r for run in nat_runs for r in oks(run)]
    not_nat = [r for r in nat if addr(r["peer"]) != "10.1.0.1"]
    nat_log = [e for e in log if e["proto"] == "tcp" and e["local"] in
               ("10.1.0.11", "10.1.0.12", "10.1.0.13", "10.1.0.31", "10.1.0.32")]
    not_nat_log = [e for e in nat_log if e["peer"] != "10.1.0.1"]
    check("full NAT: endpoints of tcp-80 and tcp-9000 see every connection come from 10.1.0.1",
          nat and not not_nat and not not_nat_log,
          f"{len(nat)} answered connections, {len(not_nat)} with another peer; servers logged "
          f"{len(nat_log)}, {len(not_nat_log)} from another address",
          *[f"  e.g. client {r['source']}:{r['sport']} -> {r['endpoint']} saw peer {r['peer']}"
            for r in not_nat[:3]],
          *[f"  logged: {json.dumps(e)}" for e in not_nat_log[:3]])
    kept = oks(keep) + oks(load("get7000")) + oks(load("put7000"))
    wrong = [r for r in kept if r["peer"] != f"{r['source']}:{r['sport']}"]
    eps = collections.Counter(addr(r["endpoint"]) for r in oks(keep))
    check("reserve client IP: tcp-7000 endpoints see the client's own address and source port",
          all_ok(keep) and kept and not wrong,
          f"{len(kept)} answered ({dict(eps)}), {len(wrong)} with another peer",
          *[f"  e.g. client {r['source']}:{r['sport']} -> {r['endpoint']} saw peer {r['peer']}"
            for r in wrong[:3]],
          *(failures(keep) if not all_ok(keep) else []))

    # UDP through both kinds of group.
    for run, ep, want_peer, kind in ((udp53, "10.1.0.21:53", "nat", "full NAT"),
                                     (udp5353, "10.1.0.22:5353", "client", "reserve client IP")):
        answered = oks(run)
        bad = []
        for r in answered:
            peer_ok = addr(r["peer"]) == "10.1.0.1" if want_peer == "nat" else \
                r["peer"] == f"{r['source']}:{r['sport']}"
            if r["endpoint"] != ep or not peer_ok:
                bad.append(r)
        retried = sum(1 for r in answered if r.get("tries", 1) > 1)
        check(f"UDP {kind}: 66 datagrams to {run.get('target')} answered from there by {ep}, "
              f"which saw " + ("10.1.0.1" if want_peer == "nat" else "the client's address and port"),
              all_ok(run) and not bad,
              f"{len(answered)} answered ({retried} needed a second send); {len(bad)} wrong",
              *[f"  e.g. from {r['source']}:{r['sport']}: endpoint {r['endpoint']} peer {r['peer']}"
                for r in bad[:3]],
              *(failures(run) if not all_ok(run) else []))

    # 1 MiB both ways.
    for port_, kind in ((80, "full NAT"), (7000, "reserve client IP")):
        get, put = load(f"get{port_}"), load(f"put{port_}")
        details = []
        for run in (get, put):
            for r in run.get("records", []):
                details.append(f"{run['scenario'].upper()} 1048576 via {run['target']}: "
                               f"{'intact' if r['ok'] else 'FAILED'}, {r.get('bytes')} bytes, "
                               f"endpoint {r.get('endpoint')}, {r.get('ms')} ms"
                               + ("" if r["ok"] else f": {r['error']}"))
            if "error" in run:
                details.append(run["error"])
        check(f"1 MiB TCP transfer each way through 10.0.0.{100 if port_ == 80 else 101}:{port_} "
              f"({kind}) arrives intact (sha256)", all_ok(get) and all_ok(put), *details)

    # No service where no listener is (while the same addresses do serve).
    for name, desc, served_run in (
            ("closed-tcp81", "TCP to 10.0.0.100:81 (no listener) is not served", aff80),
            ("closed-udp80", "UDP to 10.0.0.100:80 (a TCP-only port) is not answered", aff80),
            ("closed-tcp5353", "TCP to 10.0.0.101:5353 (a UDP-only port) is not served", udp5353)):
        run = load(name)
        outcomes = collections.Counter(r.get("outcome") for r in run.get("records", []))
        vacuous = not oks(served_run)
        check(desc + " (while the same address serves its listeners)",
              all_ok(run) and not vacuous,
              f"{run.get('summary', {}).get('ok')} of 3 attempts got no service; outcomes {dict(outcomes)}",
              *(["the same address served nothing either, so this proves nothing"] if vacuous else []),
              *[f"  served: {r['error']}" for r in run.get("records", []) if not r["ok"]][:3],
              *([run["error"]] if "error" in run else []))

    # The clients' answers really came from the servers.
    logged = {(e["local"], e["lport"], e["peer"], e["pport"]) for e in log}
    answered = [r for name in ("aff80", "aff8081", "spread", "keep7000", "udp53", "udp5353",
                               "get80", "put80", "get7000", "put7000") for r in oks(load(name))]
    missing = [r for r in answered
               if (addr(r["endpoint"]), port(r["endpoint"]), addr(r["peer"]), port(r["peer"]))
               not in logged]
    check("every answer the clients got is in the servers' log (same endpoint and peer)",
          answered and not missing,
          f"{len(answered)} answers, {len(log)} server log lines, {len(missing)} answers not logged",
          *[f"  e.g. {r['source']}:{r['sport']} got endpoint {r['endpoint']} peer {r['peer']}"
            for r in missing[:3]])

def stats():
    try:
        with open(os.path.join(work, "stats.json")) as f:
            st = json.load(f)
        shape = all(isinstance(st.get(k), list) for k in ("ports", "listeners", "endpoints")) \
            and all(isinstance(st.get(k), dict) for k in ("drops", "flows"))
        check("--stats-json is written, parses, and has ports, listeners, endpoints, drops, flows",
              shape, *([] if shape else [f"top-level keys: {sorted(st)}"]))
    except (OSError, ValueError) as e:
        check("--stats-json is written, parses, and has ports, listeners, endpoints, drops, flows",
              False, f"{e}")
        st = None
    if st is not None:
        cfg = json.load(open(config))
        listeners, weights = {}, {}
        for acc in cfg["accelerators"]:
            for li in acc["listeners"]:
                for g in li.get("endpoint_groups", []):
                    for ep in g.get("endpoints", []):
                        key = f"{acc['name']}/{li['name']}/{g['name']}/{ep['address']}"
                        listeners[key] = (f"{acc['name']}/{li['name']}", li["protocol"])
                        weights[key] = ep.get("weight", 128)
        # Flows the servers saw per (proto, address): each address serves one
        # endpoint in dataplane.json. A flow = distinct (local, lport, peer, pport).
        flows = collections.Counter()
        for e in {(e["proto"], e["local"], e["lport"], e["peer"], e["pport"]) for e in log}:
            flows[(e[0], e[1])] += 1
        eps = {e.get("key"): e for e in st.get("endpoints", []) if isinstance(e, dict)}
        rows, bad = [], []
        for key, (lkey, proto) in listeners.items():
            e = eps.get(key)
            want = flows[(proto, key.rsplit("/", 1)[1])]
            got = e.get("new_flows") if e else None
            tol = max(2, round(0.05 * want))
            fine = got is not None and abs(got - want) <= tol and (weights[key] or got == 0)
            rows.append(f"{key:36} weight {weights[key]:3}  new_flows {got!s:>5}  servers saw {want:5}"
                        f"  {'ok' if fine else 'MISMATCH'}")
            if not fine:
                bad.append(key)
        extra = sorted(set(eps) - set(listeners))
        check("stats: each endpoint's new_flows matches the flows its server logged "
              "(+-max(2, 5%)); the weight-0 endpoint has 0",
              not bad and not extra and sum(flows.values()) > 0, *rows,
              *([f"endpoints in the stats that the config does not have: {extra}"] if extra else []))
        lst = {l.get("key"): l for l in st.get("listeners", []) if isinstance(l, dict)}
        rows, good = [], bool(lst)
        for lkey in sorted({v[0] for v in listeners.values()}):
            l = lst.get(lkey, {})
            s = sum(eps.get(k, {}).get("new_flows", 0) or 0 for k, v in listeners.items() if v[0] == lkey)
            fine = l.get("new_flows") == s and (l.get("packets_in") or 0) > 0 and (l.get("packets_out") or 0) > 0
            good = good and fine
            rows.append(f"{lkey:16} new_flows {l.get('new_flows')!s:>5} (endpoints' sum {s})  "
                        f"packets in {l.get('packets_in')} out {l.get('packets_out')}  "
                        f"{'ok' if fine else 'MISMATCH'}")
        check("stats: every listener counted packets in and out, and its new_flows is the sum "
              "of its endpoints'", good, *rows)
        drops = st.get("drops", {})
        if os.environ.get("GAX_E2E_DRIVER") != "af_xdp":
            check("stats: drops.no_listener > 0 (the probes of ports without a listener)",
                  isinstance(drops.get("no_listener"), int) and drops["no_listener"] > 0,
                  f"drops: {json.dumps(drops)}")
        else:
            # Over AF_XDP the steering program gives such probes to the kernel: gax never sees them.
            xdp = st.get("xdp", {})
            check("stats: the probes of ports without a listener went to the kernel, not to gax "
                  "(xdp.pass_no_listener > 0, drops.no_listener == 0); the XDP program steered "
                  "listener traffic, NAT replies and reserve-client-IP replies to gax",
                  (xdp.get("pass_no_listener") or 0) > 0 and drops.get("no_listener") == 0 and
                  all((xdp.get(k) or 0) > 0 for k in ("redirect_listener", "redirect_nat_reply",
                                                        "redirect_endpoint_reply", "redirect_arp",
                                                        "redirect_icmp")) and
                  xdp.get("no_socket") == 0,
                  f"xdp: {json.dumps(xdp)}", f"drops.no_listener: {drops.get('no_listener')}")
        ports = {p.get("interface"): p for p in st.get("ports", []) if isinstance(p, dict)}
        good = all((ports.get(i, {}).get(k) or 0) > 0 for i in ("wan", "lan")
                   for k in ("rx_packets", "tx_packets"))
        fl = st.get("flows", {})
        lsum = sum((l.get("new_flows") or 0) for l in lst.values())
        good_fl = (fl.get("inserts") or 0) >= lsum and fl.get("insert_full") == 0
        check("stats: both ports received and sent packets; the flow table took every new flow "
              "(inserts >= listeners' new flows, insert_full 0)", good and good_fl,
              *[f"port {i}: " + ", ".join(f"{k} {ports.get(i, {}).get(k)}" for k in
                ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes")) for i in ("wan", "lan")],
              f"flows: {json.dumps(fl)}; listeners' new_flows sum {lsum}")

try:
    {"traffic": traffic, "stats": stats}[phase]()
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


traffic_checks=(
	"source-IP affinity (per port, across ports, both weighted endpoints used)"
	"the weight-0 endpoint gets no connection"
	"port override 80->8080 and kept port 8081"
	"distribution 2:1 over 600 connections"
	"full NAT and reserve client IP (TCP)"
	"UDP through a full-NAT and a reserve-client-IP group"
	"1 MiB transfers through both kinds of group"
	"no service without a listener (TCP port, UDP to TCP port, TCP to UDP port)"
	"ICMP echo to the VIPs and 10.0.0.1"
)
if [ -n "$gaxd_pid" ]; then
	tap_report < <(analyse traffic)
	# Details of passing checks are useful too (shares, counts): they are
	# printed as comments under their ok line.
	if kill -0 "$gaxd_pid" 2>/dev/null; then
		ok "gaxd is still running after the traffic"
	else
		wait "$gaxd_pid"; rc=$?
		not_ok "gaxd is still running after the traffic" "gaxd exited with status $rc" \
			"stdout (last 15 lines):" "$(tail -15 "$work/gaxd.out")" \
			"stderr (last 15 lines):" "$(tail -15 "$work/gaxd.err")"
		gaxd_pid=
	fi
else
	for c in "${traffic_checks[@]}"; do not_ok "$c" "not run: gaxd is not running (see above)"; done
fi

# -- SIGTERM, final counters, stats JSON ---------------------------------------
if [ -n "$gaxd_pid" ]; then
	kill -TERM "$gaxd_pid"
	for _ in $(seq 1 100); do kill -0 "$gaxd_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$gaxd_pid" 2>/dev/null; then
		not_ok "on SIGTERM gaxd stops within 10 s and exits 0" "still running 10 s after SIGTERM" \
			"stdout (last 15 lines):" "$(tail -15 "$work/gaxd.out")"
		kill -9 "$gaxd_pid" 2>/dev/null
		wait "$gaxd_pid" 2>/dev/null
	else
		wait "$gaxd_pid"; rc=$?
		if [ $rc -eq 0 ]; then ok "on SIGTERM gaxd stops within 10 s and exits 0"
		else not_ok "on SIGTERM gaxd stops within 10 s and exits 0" "exit status $rc" \
			"stderr (last 15 lines):" "$(tail -15 "$work/gaxd.err")"; fi
	fi
	gaxd_pid=
	comment "gaxd's final counters (stdout after 'gaxd: ready', at most 60 lines):" \
		"$(sed -n '/gaxd: ready/,$p' "$work/gaxd.out" | sed 1d | head -60)"
	tap_report < <(analyse stats)
else
	for c in "on SIGTERM gaxd stops within 10 s and exits 0" "stats JSON and counters"; do
		not_ok "$c" "not run: gaxd is not running (see above)"
	done
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
	comment "work folder kept: $work (client output *.json, servers.jsonl, gaxd.out/.err, stats.json)"
fi
tap_end
