#!/usr/bin/env bash
# bench_forward: gaxd's forwarding rate beside dpdk-testpmd io-fwd on the same
# virtual devices, in the same run (perf/README.md, "bench_forward").
#
#   perf/bench_forward.sh [--flows 1K,64K,1M] [--repeat 3] [--window 3]
#                         [--newflow-flows N] [--no-context] [--hugepages]
#                         [--build DIR] [--out DIR] [--quick]
#
# net_pcap0 (rx_pcap=FILE, infinite_rx=1) replays a pcap of N distinct 64-byte
# UDP flows into the client side; net_null0 (no-rx=1) is the endpoint side.
# Both processes get the same EAL core list (-l 0,1: main lcore 0, one
# forwarding lcore 1) and run back to back, each measurement repeated.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
Options:
  --flows LIST        flow counts, comma separated, K/M suffixes (default 1K,64K,1M)
  --repeat N          measurements per flow count and forwarder; the median is
                      reported (default 3)
  --window S          seconds of the established-rate window (default 3)
  --newflow-flows N   flows of the new-flow / full-table runs (default: the
                      largest of --flows; 0 skips them)
  --no-context        skip the context references: testpmd's macswap and
                      csum modes once per flow count (a MAC swap per frame;
                      a parse and software IPv4 and L4 checksums per frame),
                      which show what a little per-packet work costs on
                      these devices beside io-fwd's nothing
  --hugepages         run both forwarders on 2 MB hugepages, as DPDK runs in
                      production, instead of --no-huge (4 KB pages): reserves
                      what the largest run needs (mounting hugetlbfs on
                      /dev/hugepages if nothing is), gives it back at the end
  --build DIR         meson build folder (default build)
  --out DIR           where forward.md, forward.json, forward.png go
                      (default perf/results)
  --pcap-cache DIR    where generated pcaps are kept between runs
                      (default ${TMPDIR:-/tmp}/gax-bench-forward-pcaps)
  --quick             smoke run (under 20 s): --flows 64K --repeat 1
                      --window 1 --newflow-flows 64K, results in a
                      temporary folder unless --out is given
EOF
}

flows="1K,64K,1M"; repeat=3; window=3; newflow=""; build="$root/build"; context=1; huge=0
out=""; quick=0; cache="${TMPDIR:-/tmp}/gax-bench-forward-pcaps"
while [ $# -gt 0 ]; do
	case "$1" in
	--flows) flows="${2:?--flows needs a list}"; shift 2 ;;
	--repeat) repeat="${2:?--repeat needs a number}"; shift 2 ;;
	--window) window="${2:?--window needs seconds}"; shift 2 ;;
	--newflow-flows) newflow="${2:?--newflow-flows needs a number}"; shift 2 ;;
	--no-context) context=0; shift ;;
	--hugepages) huge=1; shift ;;
	--build) build="${2:?--build needs a folder}"; shift 2 ;;
	--out) out="${2:?--out needs a folder}"; shift 2 ;;
	--pcap-cache) cache="${2:?--pcap-cache needs a folder}"; shift 2 ;;
	--quick) quick=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench_forward: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
if [ "$quick" = 1 ]; then
	flows="64K"; repeat=1; window=1; newflow="${newflow:-64K}"; context=0
fi

gaxd="$build/app/gaxd/gaxd"
gaxgen="$build/app/gaxgen/gaxgen"
testpmd="$(command -v dpdk-testpmd || true)"
fail() { echo "bench_forward: $*" >&2; exit 1; }
[ -x "$gaxd" ] || fail "no $gaxd: build first (scripts/build.sh, or --build DIR)"
[ -x "$gaxgen" ] || fail "no $gaxgen: build first (scripts/build.sh, or --build DIR)"
[ -n "$testpmd" ] || fail "dpdk-testpmd not found: it is the reference (Debian package dpdk; scripts/deps.sh)"
command -v python3 >/dev/null || fail "python3 not found (scripts/deps.sh)"
command -v timeout >/dev/null || fail "timeout (coreutils) not found"
[ "$(id -u)" -eq 0 ] || echo "bench_forward: not root: DPDK may refuse to start (run as root)" >&2

export BF_ROOT="$root" BF_GAXD="$gaxd" BF_TESTPMD="$testpmd" BF_FLOWS="$flows" \
	BF_REPEAT="$repeat" BF_WINDOW="$window" BF_NEWFLOW="$newflow" BF_OUT="$out" \
	BF_QUICK="$quick" BF_CACHE="$cache" BF_GAXGEN="$gaxgen" BF_CONTEXT="$context" BF_HUGE="$huge"

read -r -d '' prog <<'PY' || true
import json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time

E = os.environ
ROOT, GAXD, TESTPMD, GAXGEN = E["BF_ROOT"], E["BF_GAXD"], E["BF_TESTPMD"], E["BF_GAXGEN"]
REPEAT, WINDOW, QUICK = int(E["BF_REPEAT"]), float(E["BF_WINDOW"]), E["BF_QUICK"] == "1"
CACHE = E["BF_CACHE"]
CONTEXT = E["BF_CONTEXT"] == "1"
HUGE = E["BF_HUGE"] == "1"
HUGE_DIR = "/dev/hugepages"
NR_HUGE = "/proc/sys/vm/nr_hugepages"
huge_state = {}         # what --hugepages changed, to put back: "nr" (the old count), "mounted"
CONTEXT_MODES = ("macswap", "csum")   # testpmd modes measured once per flow count, for context
ENDPOINTS = 32          # 32 x 64512 full-NAT ports: room for 1M flows with Maglev's spread
CORES = "0,1"           # main lcore 0, one forwarding lcore 1, for both processes
RUN_ID = "%d" % os.getpid()


def die(msg):
    print("bench_forward: " + msg, file=sys.stderr)
    sys.exit(1)


def parse_count(s):
    s = s.strip().upper()
    mult = 1
    if s.endswith("K"):
        mult, s = 1024, s[:-1]
    elif s.endswith("M"):
        mult, s = 1024 * 1024, s[:-1]
    try:
        n = int(s) * mult
    except ValueError:
        die("not a flow count: %r (use e.g. 1000, 64K, 1M)" % s)
    if n < 1 or n > 8 * 1024 * 1024:
        die("flow count %d out of range 1..8M" % n)
    return n


def label(n):
    if n % (1024 * 1024) == 0:
        return "%dM" % (n // (1024 * 1024))
    if n % 1024 == 0:
        return "%dK" % (n // 1024)
    return str(n)


FLOWS = [parse_count(x) for x in E["BF_FLOWS"].split(",") if x.strip()]
if not FLOWS:
    die("--flows is empty")
NEWFLOW = parse_count(E["BF_NEWFLOW"]) if E["BF_NEWFLOW"] not in ("", "0") else (0 if E["BF_NEWFLOW"] == "0" else max(FLOWS))
TARGETS = {64 * 1024: 0.6, 1024 * 1024: 0.4}   # issue 5: >= 0.6 x testpmd at 64K, >= 0.4 x at 1M
NEWFLOW_TARGET = 0.25

tmp = tempfile.mkdtemp(prefix="gax-bench-forward.")
children = []


def cleanup(*_):
    # children are `timeout` processes: SIGTERM is passed on to gaxd / testpmd,
    # which stop cleanly; SIGKILL only if they do not within 10 s
    for p in children:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
            except OSError:
                pass
    shutil.rmtree(tmp, ignore_errors=True)
    # EAL's runtime folders of this run's --file-prefix values
    import glob
    for d in glob.glob("/var/run/dpdk/gaxbf-*-%s" % RUN_ID):
        shutil.rmtree(d, ignore_errors=True)
    huge_release()


def on_signal(sig, _):
    cleanup()
    die("interrupted (signal %d): stopped the forwarders, removed %s" % (sig, tmp))


signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def loadavg():
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except Exception:
        return -1.0


def busy_share(seconds=0.5):
    """Share of all CPUs busy over a short interval (other work on the machine)."""
    def snap():
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(v), v[3] + v[4]
    try:
        t0, i0 = snap()
        time.sleep(seconds)
        t1, i1 = snap()
        return 1.0 - (i1 - i0) / max(1, t1 - t0)
    except Exception:
        return -1.0


PORTS_PER_CLIENT = 4096   # client 10.0.1.1 upwards (.0 and .255 skipped), ports 10000-14095


def pcap_for(n):
    """A pcap of n distinct 60-byte UDP flows (64 with the FCS) to 10.0.0.100:53,
    written by gaxgen --write-pcap (docs/gaxgen.md) and kept in the cache."""
    os.makedirs(CACHE, exist_ok=True)
    stamp = "%d-%d" % (os.path.getmtime(GAXGEN), os.path.getsize(GAXGEN))
    path = os.path.join(CACHE, "udp64-%d-%s.pcap" % (n, stamp))
    if not os.path.exists(path):
        t = time.monotonic()
        scenario = {
            "name": "bench-forward-%d" % n, "protocol": "udp",
            "destination": {"address": "10.0.0.100", "ports": "53"},
            "source": {"addresses": {"first": "10.0.1.1",
                                     "count": (n + PORTS_PER_CLIENT - 1) // PORTS_PER_CLIENT},
                       "ports": {"from": 10000, "to": 10000 + PORTS_PER_CLIENT - 1},
                       "order": "sequential"},
            "flows": n, "frame_size": 60,
            # net_pcap0's MAC: the frames are addressed to gaxd's client-side port
            "mac": {"source": "02:00:00:00:00:fe", "destination": "02:70:63:61:70:00"}}
        sc = os.path.join(tmp, "bench-forward-%d.scenario.json" % n)
        with open(sc, "w") as f:
            json.dump(scenario, f)
        part = path + ".tmp.%d" % os.getpid()
        r = subprocess.run([GAXGEN, "--scenario", sc, "--write-pcap", part, "--count", str(n)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            die("gaxgen --write-pcap failed for %d flows: %s" % (n, (r.stderr or r.stdout).strip()))
        os.replace(part, path)
        print("  wrote %s (%d flows, %.1f s)" % (path, n, time.monotonic() - t), flush=True)
    return path


def write_config(path):
    eps = ["10.1.1.%d" % (i + 1) for i in range(ENDPOINTS)]
    cfg = {
        "limits": {"endpoints_per_group": ENDPOINTS},
        "interfaces": [
            {"name": "wan", "device": "net_pcap0", "addresses": ["10.0.0.1/24"],
             "gateway": "10.0.0.254",
             "neighbors": [{"address": "10.0.0.254", "mac": "02:00:00:00:00:fe"}]},
            {"name": "lan", "device": "net_null0", "addresses": ["10.1.0.1/16"],
             "neighbors": [{"address": a, "mac": "02:00:00:01:01:%02x" % (i + 1)}
                           for i, a in enumerate(eps)]}],
        "accelerators": [{"name": "bench", "addresses": ["10.0.0.100"], "listeners": [
            {"name": "udp-53", "protocol": "udp", "port_ranges": "53",
             "client_affinity": "none", "idle_timeout": 20,
             "endpoint_groups": [{"name": "eg-bench", "region": "local",
                                  "endpoints": [{"address": a} for a in eps]}]}]}]}
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)


CONFIG = os.path.join(tmp, "bench.json")
write_config(CONFIG)


def mem_mb(mbufs, flows):
    # measured: 1M mbufs (2176-byte data room + headers) do not fit in -m 4096
    # without hugepages, but do in 6144; the flow table is 96 B a record plus
    # its index; the rest is the EAL, rings and the Maglev tables
    return 1024 + (mbufs * 4300 + flows * 300) // (1024 * 1024)


def meminfo(key):
    for l in open("/proc/meminfo"):
        if l.startswith(key + ":"):
            return int(l.split()[1])
    return 0


def huge_reserve(mb):
    """--hugepages: at least mb MB of free 2 MB pages, on a mounted hugetlbfs."""
    if meminfo("Hugepagesize") != 2048:
        die("--hugepages: the default hugepage size here is %d kB, not 2048" % meminfo("Hugepagesize"))
    mounted = any(l.split()[1] == HUGE_DIR and l.split()[2] == "hugetlbfs" for l in open("/proc/mounts"))
    if not mounted:
        os.makedirs(HUGE_DIR, exist_ok=True)
        if subprocess.call(["mount", "-t", "hugetlbfs", "nodev", HUGE_DIR]) != 0:
            die("--hugepages: cannot mount hugetlbfs on %s (root?)" % HUGE_DIR)
        huge_state["mounted"] = True
    old = int(open(NR_HUGE).read())
    want = (mb + 1) // 2 + 64
    free = meminfo("HugePages_Free")
    if free < want:
        huge_state["nr"] = old
        try:
            with open(NR_HUGE, "w") as f:
                f.write(str(old + want - free))
        except OSError as e:
            die("--hugepages: cannot reserve %d pages: %s" % (want, e))
        free = meminfo("HugePages_Free")
        if free < want:
            die("--hugepages: asked for %d free 2 MB pages, the kernel gave %d (memory too "
                "fragmented, or too little): fewer flows, or reserve them at boot" % (want, free))
    return free


def huge_release():
    if "nr" in huge_state:
        try:
            with open(NR_HUGE, "w") as f:
                f.write(str(huge_state.pop("nr")))
        except OSError:
            pass
    if huge_state.pop("mounted", False):
        subprocess.call(["umount", HUGE_DIR])


def eal(prefix, pcap, mbufs, flows):
    # --no-huge: 4 KB pages, anywhere; --huge-unlink: hugepage files gone once mapped
    mem = ["--huge-unlink"] if HUGE else ["--no-huge"]
    return mem + ["-m", str(mem_mb(mbufs, flows)), "--no-pci", "--no-telemetry",
            "-l", CORES, "--file-prefix", "gaxbf-%s-%s" % (prefix, RUN_ID),
            "--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap,
            "--vdev", "net_null0,no-rx=1"]


class Output:
    """Collects a child's stdout+stderr in a thread (so its pipe never fills)."""
    def __init__(self, p):
        self.lines, self.p = [], p
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        for l in self.p.stdout:
            self.lines.append(l)

    def text(self):
        self.t.join(timeout=5)
        return "".join(self.lines)

    def tail(self, n=15):
        return "".join(self.lines[-n:])


class Ctl:
    def __init__(self, path, deadline, proc, out):
        while True:
            if proc.poll() is not None:
                raise RuntimeError("gaxd exited (code %s) before its control socket answered:\n%s"
                                   % (proc.returncode, out.tail()))
            if time.monotonic() > deadline:
                raise RuntimeError("gaxd's control socket %s did not answer in time:\n%s" % (path, out.tail()))
            try:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(10)
                s.connect(path)
                break
            except OSError:
                s.close()
                time.sleep(0.02)
        self.s, self.f = s, s.makefile("rwb")

    def stats(self):
        self.f.write(b'{"cmd":"stats"}\n')
        self.f.flush()
        line = self.f.readline()
        if not line:
            raise RuntimeError("gaxd closed its control socket")
        d = json.loads(line)
        if not d.get("ok"):
            raise RuntimeError("stats refused: %s" % d.get("error"))
        return d

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def port(d, name):
    for p in d["ports"]:
        if p["name"] == name:
            return p
    raise RuntimeError("no port %s in gaxd's stats" % name)


def start_gaxd(tag, pcap, flows_cap, mbufs, duration):
    sock = os.path.join(tmp, "gaxd-%s.sock" % tag)
    sj = os.path.join(tmp, "gaxd-%s.stats.json" % tag)
    cmd = ["timeout", "-k", "5", str(int(duration + 60)), GAXD] + eal("gaxd-" + tag, pcap, mbufs, flows_cap) + [
        "--", "--config", CONFIG, "--flows", str(flows_cap), "--mbufs", str(mbufs),
        "--duration", str(int(duration)), "--stats-json", sj, "--socket", sock]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, text=True)
    children.append(p)
    return p, Output(p), sock, sj


def stop(p, out, what):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)   # timeout passes it on; gaxd prints its counters and exits 0
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise RuntimeError("%s did not stop within 30 s of SIGINT: killed" % what)
    return out.text()


def pass_deadline(n, start_s):
    # room for loading the pcap (net_pcap reads it all into mbufs) and the first pass
    return time.monotonic() + start_s + n / 200000.0


def gaxd_established(n, pcap, rep):
    """Established rate: a window after the first full replay (every flow created)."""
    cap, mbufs = max(2 * n, 4096), n + 16384
    p, out, sock, _ = start_gaxd("fwd-%d-%d" % (n, rep), pcap, cap, mbufs, 30 + WINDOW + n / 100000.0)
    ctl = None
    try:
        ctl = Ctl(sock, pass_deadline(n, 20), p, out)
        deadline = pass_deadline(n, 20)
        while True:   # warm-up: the first pass creates the flows; wait for the second to start
            d = ctl.stats()
            if d["flows"]["inserts"] >= n and port(d, "net_pcap0")["rx_packets"] >= 2 * n + 1024:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("gaxd did not finish the first pass over %d flows in time "
                                   "(inserts %d, rx %d)" % (n, d["flows"]["inserts"], port(d, "net_pcap0")["rx_packets"]))
            time.sleep(0.01)
        a = ctl.stats()
        time.sleep(WINDOW)
        b = ctl.stats()
    finally:
        if ctl:
            ctl.close()
        stop(p, out, "gaxd")
    dt = b["uptime_s"] - a["uptime_s"]
    tx = port(b, "net_null0")["tx_packets"] - port(a, "net_null0")["tx_packets"]
    rx = port(b, "net_pcap0")["rx_packets"] - port(a, "net_pcap0")["rx_packets"]
    drops = sum(b["drops"].values()) - sum(a["drops"].values())
    new = b["flows"]["inserts"] - a["flows"]["inserts"]
    if p.returncode not in (0, None):
        raise RuntimeError("gaxd exited with code %d:\n%s" % (p.returncode, out.tail()))
    return {"mpps": tx / dt / 1e6, "rx_mpps": rx / dt / 1e6, "window_s": dt, "drops": drops,
            "new_flows_in_window": new, "active": b["flows"]["active"]}


PPS = re.compile(r"^\s*Tx-pps:\s+(\d+)")
HDR = re.compile(r"NIC statistics for port (\d+)")


def testpmd_io(n, pcap, rep, mode="io"):
    mbufs = n + 16384
    warm = 3 + n / 300000.0
    dur = warm + WINDOW + 2
    cmd = ["timeout", "-s", "INT", "-k", "10", "%.0f" % dur, TESTPMD] + eal("tpmd-%s-%d-%d" % (mode, n, rep), pcap, mbufs, 0) + [
        "--", "--forward-mode=" + mode, "--total-num-mbufs", str(mbufs), "--stats-period", "1", "-a"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, text=True)
    children.append(p)
    out = Output(p)
    try:
        p.wait(timeout=dur + 30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise RuntimeError("testpmd outlived its timeout: killed")
    text = out.text()
    # net_null0 is port 1 (second --vdev): its Tx-pps is what testpmd forwarded
    cur, samples = None, []
    for line in text.splitlines():
        m = HDR.search(line)
        if m:
            cur = int(m.group(1))
            continue
        m = PPS.match(line)
        if m and cur == 1:
            samples.append(int(m.group(1)))
    if "Port 1:" not in text or "Port 0: 02:70:63:61:70:00" not in text:
        raise RuntimeError("testpmd did not open net_pcap0 as port 0 and net_null0 as port 1:\n%s"
                           % "".join(out.lines[-15:]))
    live = [s for s in samples if s > 0]
    # the first non-zero sample covers the start (partial interval): drop it
    use = live[1:] if len(live) > 2 else live
    if not use:
        raise RuntimeError("testpmd printed no forwarding rate (exit %s):\n%s" % (p.returncode, "".join(out.lines[-15:])))
    return {"mpps": statistics.median(use) / 1e6, "samples": len(use)}


def gaxd_newflow(n, pcap, cap):
    """First pass of n unique flows through a fresh gaxd of capacity cap."""
    mbufs = n + 16384
    full = cap < n
    p, out, sock, sj = start_gaxd("new-%d-%d" % (n, cap), pcap, max(cap, 1024), mbufs, 30 + n / 100000.0 + WINDOW)
    ctl = None
    samples = []
    try:
        ctl = Ctl(sock, pass_deadline(n, 20), p, out)
        deadline = pass_deadline(n, 20)
        while True:
            d = ctl.stats()
            rx = port(d, "net_pcap0")["rx_packets"]
            samples.append((d["uptime_s"], d["flows"]["inserts"], rx))
            if rx >= n + 1024:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("gaxd did not finish the first pass over %d new flows in time" % n)
            # a sample every 2 ms: back to back, the requests slowed the worker by
            # about 9% (perf/README.md, "new flows")
            time.sleep(0.002)
        if full:   # past the first pass: the table stays full, established flows forwarded
            a = ctl.stats()
            time.sleep(WINDOW)
            b = ctl.stats()
    finally:
        if ctl:
            ctl.close()
        stop(p, out, "gaxd")
    res = {"flows": n, "capacity": cap}
    # rate of the first pass: the samples strictly inside it (every packet a new flow)
    lo, hi = 0.05 * n, 0.95 * n
    inside = [s for s in samples if lo <= s[2] <= hi]
    if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
        (t0, i0, r0), (t1, i1, r1) = inside[0], inside[-1]
        res["first_pass_mpps"] = (r1 - r0) / (t1 - t0) / 1e6
        res["inserts_mpps"] = (i1 - i0) / (t1 - t0) / 1e6
        res["samples"] = len(inside)
    else:
        res["first_pass_mpps"] = None
        res["note"] = "first pass too short to sample (%d samples inside it): use more flows" % len(inside)
    if full:
        dt = b["uptime_s"] - a["uptime_s"]
        rx = port(b, "net_pcap0")["rx_packets"] - port(a, "net_pcap0")["rx_packets"]
        tx = port(b, "net_null0")["tx_packets"] - port(a, "net_null0")["tx_packets"]
        res.update({
            "active": b["flows"]["active"],
            "insert_full": b["flows"]["insert_full"],
            "drops_flow_table_full": b["drops"]["flow_table_full"],
            "rx_mpps": rx / dt / 1e6, "tx_mpps": tx / dt / 1e6,
            "forwarded_share": tx / rx if rx else 0.0,
            "expected_share": b["flows"]["active"] / n,
            "other_drops": sum(v for k, v in b["drops"].items() if k != "flow_table_full"),
        })
    return res


def median(xs):
    return statistics.median(xs) if xs else None


def main():
    out_dir = E["BF_OUT"] or (os.path.join(tmp, "results") if QUICK else os.path.join(ROOT, "perf", "results"))
    os.makedirs(out_dir, exist_ok=True)
    cpu = "unknown"
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                cpu = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    meta = {
        "machine": os.uname().nodename, "kernel": os.uname().release, "cpu": cpu,
        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_commit": sh(["git", "-C", ROOT, "rev-parse", "HEAD"]) or "unknown",
        "git_dirty": bool(sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])),
        "dpdk": sh(["pkg-config", "--modversion", "libdpdk"]) or "unknown",
        "cores": "-l " + CORES + " (main lcore 0, forwarding lcore 1) for both",
        "devices": "net_pcap0 rx_pcap infinite_rx=1 -> net_null0 no-rx=1, 64-byte UDP",
        "repeat": REPEAT, "window_s": WINDOW, "endpoints": ENDPOINTS,
        "memory": "2 MB hugepages" if HUGE else "4 KB pages (--no-huge)",
    }
    if HUGE:
        biggest = max(FLOWS + [NEWFLOW])
        need = mem_mb(biggest + 16384, 2 * biggest)
        print("  --hugepages: %d free 2 MB pages for up to %d MB per process" % (huge_reserve(need), need),
              flush=True)
    busy = busy_share()
    meta["load_before"] = loadavg()
    meta["busy_before"] = busy
    print("bench_forward: %s, %s, %d CPUs, DPDK %s, commit %s%s" % (
        meta["machine"], cpu, meta["cpus"], meta["dpdk"], meta["git_commit"][:12],
        " (dirty)" if meta["git_dirty"] else ""))
    print("  load average %.2f, CPUs busy %.0f%% before the run%s" % (
        meta["load_before"], 100 * busy,
        ": the machine is busy, figures may wobble" if busy > 0.15 else ""), flush=True)

    rows = []
    for n in FLOWS:
        pcap = pcap_for(n)
        g, t = [], []
        for rep in range(REPEAT):
            # back to back, same cores: gaxd then testpmd, REPEAT times
            print("  %s flows, run %d/%d: gaxd ..." % (label(n), rep + 1, REPEAT), end="", flush=True)
            try:
                r = gaxd_established(n, pcap, rep)
            except RuntimeError as e:
                cleanup()
                die("gaxd, %d flows: %s" % (n, e))
            g.append(r)
            print(" %.2f Mpps; testpmd ..." % r["mpps"], end="", flush=True)
            try:
                r2 = testpmd_io(n, pcap, rep)
            except RuntimeError as e:
                cleanup()
                die("testpmd, %d flows: %s" % (n, e))
            t.append(r2)
            print(" %.2f Mpps" % r2["mpps"], flush=True)
        gm, tm = median([x["mpps"] for x in g]), median([x["mpps"] for x in t])
        ratio = gm / tm if tm else 0.0
        target = TARGETS.get(n)
        ctx = {}
        for mode in (CONTEXT_MODES if CONTEXT else ()):
            print("  %s flows, context: testpmd %s ..." % (label(n), mode), end="", flush=True)
            try:
                ctx[mode] = testpmd_io(n, pcap, 0, mode)["mpps"]
            except RuntimeError as e:
                cleanup()
                die("testpmd %s, %d flows: %s" % (mode, n, e))
            print(" %.2f Mpps (%.2f x io)" % (ctx[mode], ctx[mode] / tm if tm else 0.0), flush=True)
        rows.append({
            "context_mpps": ctx,
            "flows": n, "label": label(n), "gaxd_mpps": gm, "testpmd_mpps": tm, "ratio": ratio,
            "target": target, "pass": (ratio >= target) if target else None,
            "gaxd_runs": [x["mpps"] for x in g], "testpmd_runs": [x["mpps"] for x in t],
            "gaxd_drops_in_window": [x["drops"] for x in g],
            "gaxd_new_flows_in_window": [x["new_flows_in_window"] for x in g],
        })

    newflow = []
    NF = NEWFLOW
    if NF:
        pcap = pcap_for(NF)
        ref = next((r["testpmd_mpps"] for r in rows if r["flows"] == NF), None)
        if ref is None:
            print("  testpmd reference at %s flows ..." % label(NF), end="", flush=True)
            try:
                ref = testpmd_io(NF, pcap, 99)["mpps"]
            except RuntimeError as e:
                cleanup()
                die("testpmd, %d flows: %s" % (NF, e))
            print(" %.2f Mpps" % ref, flush=True)
        for cap in (2 * NF, NF // 2):
            what = "new flows" if cap > NF else "table full"
            print("  %s: %s flows into a table of %s ..." % (what, label(NF), label(cap)), end="", flush=True)
            try:
                r = gaxd_newflow(NF, pcap, cap)
            except RuntimeError as e:
                cleanup()
                die("gaxd %s, %d flows: %s" % (what, NF, e))
            r["testpmd_mpps"] = ref
            r["ratio"] = (r["first_pass_mpps"] / ref) if (r["first_pass_mpps"] and ref) else None
            newflow.append(r)
            print(" first pass %s" % ("%.2f Mpps" % r["first_pass_mpps"] if r["first_pass_mpps"] else "not sampled"), flush=True)

    meta["load_after"] = loadavg()
    meta["busy_after"] = busy_share()
    report(out_dir, meta, rows, newflow)


def fmt(x, f="%.2f"):
    return "-" if x is None else f % x


def report(out_dir, meta, rows, newflow):
    L = []
    L.append("# Forwarding rate: gaxd beside testpmd io-fwd (perf/bench_forward.sh)")
    L.append("")
    L.append("%s, %s (%d CPUs), DPDK %s, commit %s%s, %s." % (
        meta["machine"], meta["cpu"], meta["cpus"], meta["dpdk"], meta["git_commit"][:12],
        " (uncommitted changes)" if meta["git_dirty"] else "", meta["date"]))
    L.append("%s; %s; EAL memory on %s; median of %d runs, each a %.0f s window after the first full replay."
             % (meta["devices"], meta["cores"], meta["memory"], meta["repeat"], meta["window_s"]))
    L.append("Load average %.2f before, %.2f after; CPUs busy %.0f%% before, %.0f%% after%s." % (
        meta["load_before"], meta["load_after"], 100 * meta["busy_before"], 100 * meta["busy_after"],
        " (the machine was busy: figures may wobble)" if max(meta["busy_before"], meta["busy_after"]) > 0.15 else ""))
    L.append("")
    L.append("| flows | gaxd Mpps | testpmd Mpps | ratio | target | result | gaxd runs | testpmd runs |")
    L.append("|---:|---:|---:|---:|---:|---|---|---|")
    for r in rows:
        L.append("| %s | %.2f | %.2f | %.2f | %s | %s | %s | %s |" % (
            r["label"], r["gaxd_mpps"], r["testpmd_mpps"], r["ratio"],
            ("≥ %.1f" % r["target"]) if r["target"] else "-",
            ("PASS" if r["pass"] else "FAIL") if r["target"] else "-",
            " ".join("%.2f" % x for x in r["gaxd_runs"]), " ".join("%.2f" % x for x in r["testpmd_runs"])))
    if any(r["context_mpps"] for r in rows):
        L.append("")
        L.append("Context, not targets: testpmd's own modes that touch each frame, measured once per "
                 "flow count after the runs above, as a share of the io-fwd median. macswap swaps the "
                 "MACs; csum parses each frame and computes its IPv4 and L4 checksums in software "
                 "(these devices report no checksum offload), about the per-packet work gax does "
                 "before it looks up a flow and rewrites it.")
        L.append("")
        L.append("| flows | io Mpps | " + " | ".join("%s Mpps | %s / io" % (m, m) for m in CONTEXT_MODES)
                 + " | gaxd / io |")
        L.append("|---:|---:|" + "---:|---:|" * len(CONTEXT_MODES) + "---:|")
        for r in rows:
            c = r["context_mpps"]
            if not c:
                continue
            L.append("| %s | %.2f | %s | %.2f |" % (r["label"], r["testpmd_mpps"], " | ".join(
                "%s | %s" % (fmt(c.get(m)), fmt(c[m] / r["testpmd_mpps"] if c.get(m) and r["testpmd_mpps"] else None))
                for m in CONTEXT_MODES), r["ratio"]))
    wobbly = [r["label"] for r in rows
              if max(r["gaxd_runs"] + r["testpmd_runs"]) and len(r["gaxd_runs"]) > 1 and
              (max(r["gaxd_runs"]) - min(r["gaxd_runs"]) > 0.1 * r["gaxd_mpps"] or
               max(r["testpmd_runs"]) - min(r["testpmd_runs"]) > 0.1 * r["testpmd_mpps"])]
    if wobbly:
        L.append("")
        L.append("Runs spread by more than 10%% of the median at %s flows: other work on the machine "
                 "or a cold first run; the medians are less certain there." % ", ".join(wobbly))
    if newflow:
        L.append("")
        L.append("New flows: every packet of the first pass opens a flow (fresh gaxd); table full: "
                 "capacity below the flow count.")
        L.append("")
        L.append("| flows | table | first pass Mpps | testpmd Mpps | ratio | target | result | after the first pass |")
        L.append("|---:|---:|---:|---:|---:|---:|---|---|")
        for r in newflow:
            ok = r["ratio"] is not None and r["ratio"] >= NEWFLOW_TARGET
            if r["capacity"] >= r["flows"]:
                after = "-"
                tgt, res = "≥ %.2f" % NEWFLOW_TARGET, ("PASS" if ok else "FAIL") if r["ratio"] is not None else "not sampled"
            else:
                after = ("active %d, insert_full %d, drops.flow_table_full %d, forwarded %.2f of %.2f Mpps "
                         "(share %.3f, expected %.3f), other drops %d" % (
                             r["active"], r["insert_full"], r["drops_flow_table_full"], r["tx_mpps"],
                             r["rx_mpps"], r["forwarded_share"], r["expected_share"], r["other_drops"]))
                tgt, res = "-", "-"
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label(r["flows"]), label(r["capacity"]), fmt(r["first_pass_mpps"]), fmt(r["testpmd_mpps"]),
                fmt(r["ratio"]), tgt, res, after))
    L.append("")
    md = "\n".join(L)
    print()
    print(md)
    if out_dir.startswith(tmp):
        print("(--quick: results written to a temporary folder, removed at exit; --out DIR keeps them)")
    with open(os.path.join(out_dir, "forward.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out_dir, "forward.json"), "w") as f:
        json.dump({"meta": meta, "established": rows, "new_flows": newflow}, f, indent=1)
        f.write("\n")
    dat = os.path.join(tmp, "forward.dat")
    with open(dat, "w") as f:
        for r in rows:
            f.write("%d %.4f %.4f\n" % (r["flows"], r["gaxd_mpps"], r["testpmd_mpps"]))
    png = os.path.join(out_dir, "forward.png")
    if shutil.which("gnuplot"):
        gp = "\n".join([
            "set terminal pngcairo size 800,500" if "pngcairo" in sh(["gnuplot", "-e", "set terminal"]) else "set terminal png size 800,500",
            "set output '%s'" % png, "set logscale x 2", "set xlabel 'established flows'",
            "set xtics (%s)" % ", ".join('"%s" %d' % (r["label"], r["flows"]) for r in rows),
            "set offsets graph 0.05, graph 0.05, 0, 0",
            "set ylabel 'Mpps (64-byte UDP, one forwarding core)'", "set yrange [0:*]", "set grid",
            "set key top right",
            "set title 'gaxd vs testpmd io-fwd, net\\_pcap -> net\\_null (%s)'" % meta["date"][:10],
            "plot '%s' using 1:3 with linespoints lw 2 title 'testpmd io-fwd', "
            "'' using 1:2 with linespoints lw 2 title 'gaxd'" % dat, ""])
        r = subprocess.run(["gnuplot"], input=gp, capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            print("wrote %s, forward.json and forward.png" % os.path.join(out_dir, "forward.md"))
        else:
            print("wrote %s and forward.json; gnuplot failed: %s" % (os.path.join(out_dir, "forward.md"), r.stderr.strip()))
    else:
        print("wrote %s and forward.json; no plot: gnuplot is not installed (Debian: gnuplot-nox, scripts/deps.sh)"
              % os.path.join(out_dir, "forward.md"))


try:
    main()
finally:
    cleanup()
PY

exec python3 -c "$prog"
