#!/usr/bin/env bash
# bench_memif: the two-process round-trip rate over net_memif, gaxgen -> gaxd
# -> gaxgen beside gaxgen -> dpdk-testpmd io-fwd -> gaxgen, same scenario,
# same run (perf/README.md, "bench_memif").
#
#   perf/bench_memif.sh [--scenario FILE] [--duration S] [--repeat N]
#                       [--build DIR] [--out DIR] [--quick]
#
# gaxgen is the memif server of two sockets: on the client side it sends the
# scenario's frames as fast as it can, on the endpoint side (--reply-port) it
# answers each as the endpoints, and counts the answers that come back. The
# forwarder in the middle is the memif client: gaxd (full NAT, 4 endpoints,
# no affinity) or testpmd io-fwd (port 0 <-> port 1, frames untouched).
# Each process gets its own CPU: main and worker lcore on one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

usage() {
	sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	cat <<'EOT'
Options:
  --scenario FILE   gaxgen scenario (default config/scenarios/memif-bench.json;
                    it must give mac.destination and enable replies)
  --duration S      seconds of sending per measurement (default 5)
  --repeat N        measurements per forwarder, the median is reported (default 3)
  --build DIR       meson build folder (default build)
  --out DIR         where memif.md and memif.json go (default perf/results)
  --quick           smoke run (under 20 s): --duration 1 --repeat 1, results in
                    a temporary folder unless --out is given
EOT
}

scenario="$root/config/scenarios/memif-bench.json"; duration=5; repeat=3
build="$root/build"; out=""; quick=0
while [ $# -gt 0 ]; do
	case "$1" in
	--scenario) scenario="${2:?--scenario needs a file}"; shift 2 ;;
	--duration) duration="${2:?--duration needs seconds}"; shift 2 ;;
	--repeat) repeat="${2:?--repeat needs a number}"; shift 2 ;;
	--build) build="${2:?--build needs a folder}"; shift 2 ;;
	--out) out="${2:?--out needs a folder}"; shift 2 ;;
	--quick) quick=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench_memif: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ "$quick" = 1 ] && { duration=1; repeat=1; }
case "$duration" in ''|*[!0-9.]*) echo "bench_memif: --duration: '$duration' is not a number of seconds" >&2; exit 2 ;; esac
case "$repeat" in ''|*[!0-9]*|0) echo "bench_memif: --repeat: '$repeat' is not a count" >&2; exit 2 ;; esac

gaxgen="$build/app/gaxgen/gaxgen"
gaxd="$build/app/gaxd/gaxd"
testpmd="$(command -v dpdk-testpmd || true)"
fail() { echo "bench_memif: $*" >&2; exit 1; }
[ -x "$gaxgen" ] || fail "no $gaxgen: build first (scripts/build.sh, or --build DIR)"
[ -x "$gaxd" ] || fail "no $gaxd: build first (scripts/build.sh, or --build DIR)"
[ -n "$testpmd" ] || fail "dpdk-testpmd not found: it is the reference (Debian package dpdk; scripts/deps.sh)"
command -v python3 >/dev/null || fail "python3 not found (scripts/deps.sh)"
"$gaxgen" --scenario "$scenario" --check >/dev/null || fail "invalid scenario $scenario"
python3 - "$scenario" <<'PY' || fail "$scenario: needs mac.destination (testpmd answers no ARP) and reply.enabled"
import json, sys
d = json.load(open(sys.argv[1]))
assert "destination" in d.get("mac", {}) and d.get("reply", {}).get("enabled", True) and "reply" in d
PY
[ "$(id -u)" -eq 0 ] || echo "bench_memif: not root: DPDK may refuse to start (run as root)" >&2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gax-bench-memif.XXXXXX")
if [ -z "$out" ]; then
	if [ "$quick" = 1 ]; then out="$tmp/results"; else out="$root/perf/results"; fi
fi
mkdir -p "$out"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp" /var/run/dpdk/gaxbm-*-$$ 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "bench_memif: interrupted: stopped the processes, removed $tmp" >&2; exit 1' INT TERM

eal=(--no-huge -m 1024 --no-pci --no-telemetry --log-level=lib.eal:error)
# the forwarder's client-side MAC is the scenario's mac.destination
fwd_mac=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mac"]["destination"])' "$scenario")

cat >"$tmp/gaxd.json" <<'J'
{
  "interfaces": [
    { "name": "wan", "device": "net_memif0", "addresses": ["10.0.0.1/24"], "gateway": "10.0.0.254" },
    { "name": "lan", "device": "net_memif1", "addresses": ["10.1.0.1/24"] }
  ],
  "accelerators": [
    { "name": "bench", "addresses": ["10.0.0.100"],
      "listeners": [
        { "name": "udp-53", "protocol": "udp", "port_ranges": "53", "client_affinity": "none",
          "endpoint_groups": [ { "name": "eg-bench", "endpoints": [
            { "address": "10.1.0.11" }, { "address": "10.1.0.12" },
            { "address": "10.1.0.13" }, { "address": "10.1.0.14" } ] } ] } ] } ]
}
J

# one measurement: FORWARDER (gaxd|testpmd) RUN -> gaxgen's report in $tmp/FORWARDER-RUN.json
measure() {
	local fwd=$1 i=$2 tag="$1-$2" gp fp grc
	rm -f "$tmp"/*.sock
	timeout -k 5 "$(python3 -c "print(int($duration + 40))")" "$gaxgen" "${eal[@]}" \
		--lcores='(0,1)@1' --main-lcore 0 --file-prefix "gaxbm-g$tag-$$" \
		--vdev "net_memif0,role=server,socket=$tmp/c.sock,mac=02:00:00:00:00:01" \
		--vdev "net_memif1,role=server,socket=$tmp/e.sock,mac=02:00:00:00:01:01" \
		-- --scenario "$scenario" --tx-port 0 --reply-port 1 --rate 0 --duration "$duration" \
		--json "$tmp/$tag.json" >"$tmp/$tag.gen" 2>&1 &
	gp=$!
	pids+=("$gp")
	sleep 0.5
	local feal=("${eal[@]}" --lcores='(0,1)@0' --main-lcore 0 --file-prefix "gaxbm-f$tag-$$"
		--vdev "net_memif0,role=client,socket=$tmp/c.sock,mac=$fwd_mac"
		--vdev "net_memif1,role=client,socket=$tmp/e.sock,mac=02:70:63:61:70:01")
	if [ "$fwd" = gaxd ]; then
		timeout -k 5 "$(python3 -c "print(int($duration + 30))")" "$gaxd" "${feal[@]}" -- \
			--config "$tmp/gaxd.json" --socket "$tmp/gaxd.sock" >"$tmp/$tag.fwd" 2>&1 &
	else
		timeout -k 5 "$(python3 -c "print(int($duration + 30))")" "$testpmd" "${feal[@]}" -- \
			--forward-mode=io --stats-period 1 -a >"$tmp/$tag.fwd" 2>&1 </dev/null &
	fi
	fp=$!
	pids+=("$fp")
	grc=0
	wait "$gp" || grc=$?
	kill -INT "$fp" 2>/dev/null || true
	wait "$fp" 2>/dev/null || true
	if [ "$grc" -ne 0 ] || [ ! -s "$tmp/$tag.json" ]; then
		echo "bench_memif: gaxgen against $fwd failed (exit $grc):" >&2
		tail -15 "$tmp/$tag.gen" >&2
		echo "--- $fwd:" >&2
		tail -15 "$tmp/$tag.fwd" >&2
		exit 1
	fi
}

load_before=$(cut -d' ' -f1 /proc/loadavg)
echo "bench_memif: $(basename "$scenario"), ${duration} s x $repeat per forwarder"
for i in $(seq "$repeat"); do
	for fwd in gaxd testpmd; do
		printf '  %s, run %d/%d ...' "$fwd" "$i" "$repeat"
		measure "$fwd" "$i"
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" %.2f Mpps round trip (tx %.2f Mpps, loss %.2f %%)" % (d["rx"]["pps"]/1e6, d["tx"]["pps"]/1e6, 100*d["loss"]["ratio"]))' "$tmp/$fwd-$i.json"
	done
done
load_after=$(cut -d' ' -f1 /proc/loadavg)

BM_TMP="$tmp" BM_OUT="$out" BM_REPEAT="$repeat" BM_DURATION="$duration" BM_SCENARIO="$scenario" \
BM_ROOT="$root" BM_LOAD="$load_before $load_after" BM_QUICK="$quick" python3 - <<'PY'
import json, os, platform, statistics, subprocess, time
E = os.environ
tmp, out, rep = E["BM_TMP"], E["BM_OUT"], int(E["BM_REPEAT"])
def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
runs = {f: [json.load(open(os.path.join(tmp, "%s-%d.json" % (f, i)))) for i in range(1, rep + 1)]
        for f in ("gaxd", "testpmd")}
def med(f, key):
    return statistics.median([r["rx"]["pps"] if key == "rx" else r["tx"]["pps"] if key == "tx"
                              else r["loss"]["ratio"] for r in runs[f]])
g, t = med("gaxd", "rx"), med("testpmd", "rx")
lb, la = (float(x) for x in E["BM_LOAD"].split())
meta = {"machine": platform.node(), "cpu": cpu, "cpus": os.cpu_count(),
        "dpdk": sh(["pkg-config", "--modversion", "libdpdk"]),
        "git_commit": sh(["git", "-C", E["BM_ROOT"], "rev-parse", "HEAD"]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "scenario": os.path.basename(E["BM_SCENARIO"]),
        "duration_s": float(E["BM_DURATION"]), "repeat": rep, "load_before": lb, "load_after": la}
res = {"meta": meta,
       "gaxd": {"round_trip_mpps": g / 1e6, "tx_mpps": med("gaxd", "tx") / 1e6,
                "loss_ratio": med("gaxd", "loss"), "runs_mpps": [r["rx"]["pps"] / 1e6 for r in runs["gaxd"]],
                "tx_retries_per_s": statistics.median([r["tx"]["retries"] / r["elapsed_s"] for r in runs["gaxd"]])},
       "testpmd": {"round_trip_mpps": t / 1e6, "tx_mpps": med("testpmd", "tx") / 1e6,
                   "loss_ratio": med("testpmd", "loss"), "runs_mpps": [r["rx"]["pps"] / 1e6 for r in runs["testpmd"]],
                   "tx_retries_per_s": statistics.median([r["tx"]["retries"] / r["elapsed_s"] for r in runs["testpmd"]])},
       "ratio": (g / t) if t else None}
L = ["# Round trip over net_memif: gaxd beside testpmd io-fwd (perf/bench_memif.sh)", "",
     "%s, %s (%d CPUs), DPDK %s, commit %s, %s." % (meta["machine"], cpu, meta["cpus"], meta["dpdk"],
                                                  meta["git_commit"][:12] or "?", meta["date"]),
     "Scenario %s, %g s of sending per run, median of %d runs; gaxgen (one CPU: tx, reply, rx) and "
     "the forwarder (the other CPU) are two processes joined by two net_memif pairs. "
     "Load average %.2f before, %.2f after." % (meta["scenario"], meta["duration_s"], rep, lb, la), "",
     "A round trip is a frame sent by gaxgen's clients, forwarded to the endpoint side, answered by "
     "gaxgen there and forwarded back: the forwarder handles two frames per round trip.", "",
     "| forwarder | round trips Mpps | frames forwarded Mpps | gaxgen tx Mpps | loss | tx ring full, M/s | runs |",
     "|---|---:|---:|---:|---:|---:|---|"]
for f in ("gaxd", "testpmd"):
    r = res[f]
    L.append("| %s | %.2f | %.2f | %.2f | %.2f %% | %.2f | %s |" % (
        "gaxd (full NAT)" if f == "gaxd" else "testpmd io-fwd", r["round_trip_mpps"],
        2 * r["round_trip_mpps"], r["tx_mpps"], 100 * r["loss_ratio"], r["tx_retries_per_s"] / 1e6,
        " ".join("%.2f" % x for x in r["runs_mpps"])))
wobbly = [f for f in ("gaxd", "testpmd") if len(res[f]["runs_mpps"]) > 1 and
          max(res[f]["runs_mpps"]) - min(res[f]["runs_mpps"]) > 0.1 * res[f]["round_trip_mpps"]]
busy = max(lb, la) > 0.5
L += ["", "Ratio gaxd / testpmd: %s" % ("%.2f" % res["ratio"] if res["ratio"] is not None else "-"), ""]
if wobbly or busy:
    L += ["Other work on the machine (load average above 0.5) or runs spread by more than 10 %% of "
          "the median (%s): with two CPUs and two busy-polling processes, any other work takes CPU "
          "time from one of them; the figures and the ratio are uncertain, run again on a quiet "
          "machine." % (", ".join(wobbly) or "none"), ""]
res["uncertain"] = bool(wobbly or busy)
L += [
      "\"tx ring full\": times per second gaxgen found its client-side memif ring full and offered "
      "frames again. Near 0 for both forwarders, gaxgen's own CPU was the limit and the ratio only "
      "bounds gaxd's cost from below; well above 0, the forwarder was the limit.", ""]
md = "\n".join(L)
print()
print(md)
with open(os.path.join(out, "memif.md"), "w") as f:
    f.write(md)
with open(os.path.join(out, "memif.json"), "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")
if E["BM_QUICK"] == "1" and out.startswith(tmp):
    print("(--quick: results written to a temporary folder, removed at exit; --out DIR keeps them)")
else:
    print("wrote %s and memif.json" % os.path.join(out, "memif.md"))
PY
