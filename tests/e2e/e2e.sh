# Helpers of the end-to-end scripts, sourced after tests/tap.sh, with $root,
# $gaxd and $P (the testbed prefix) set: the preamble (root and tools, a
# work folder, cleanup), gaxd started in the forwarder namespace and waited
# for, stopped by SIGTERM with its exit checked, and the test servers.
#
#   e2e_preamble NAME TOOL...   skip the whole script unless root and TOOLs
#   e2e_servers ARGS...         gax_servers.py in ${P}s, waited for
#   e2e_gaxd_start DESC CONFIG [GAXD_OPTS...]   gaxd in ${P}f on wan0/lan0
#   e2e_gaxd_stop DESC          SIGTERM, 10 s, exit 0
#   e2e_finish                  the closing comments and the plan
# gaxd's output is $work/gaxd.out and .err, its socket $work/gaxd.sock, its
# final counters $work/stats.json. Every wait is bounded.
py=${PYTHON:-python3}
tb="$root/scripts/testbed.sh"
tools="$root/tests/e2e/tools"
gaxd_pid=
srv_pid=
e2e_start=$SECONDS

e2e_cleanup() {
	local pid
	for pid in $gaxd_pid $srv_pid; do kill "$pid" 2>/dev/null || true; done
	sleep 0.3
	for pid in $gaxd_pid $srv_pid; do kill -9 "$pid" 2>/dev/null || true; done
	"$tb" down >/dev/null 2>&1
	if [ "$failed" -eq 0 ] && [ -z "${GAX_E2E_KEEP:-}" ]; then rm -rf "$work"; fi
}

e2e_preamble() { # NAME TOOL...
	local name=$1 tool
	shift
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root for network namespaces"
		exit 0
	fi
	for tool in "$py" "$@"; do
		command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is missing (scripts/deps.sh)"; exit 0; }
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/gax-$name.XXXXXX")
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	if out=$("$tb" up 2>&1); then ok "testbed comes up"; else not_ok "testbed comes up" "$out"; fi
}

e2e_servers() { # ARGS... of gax_servers.py (--log is $work/servers.jsonl)
	timeout 150 ip netns exec "${P}s" "$py" "$tools/gax_servers.py" "$@" \
		--log "$work/servers.jsonl" --max-seconds 140 >"$work/servers.out" 2>&1 &
	srv_pid=$!
	for _ in $(seq 1 100); do
		grep -q "servers: ready" "$work/servers.out" 2>/dev/null && break
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "servers: ready" "$work/servers.out"; then ok "test servers listen in ${P}s"
	else not_ok "test servers listen in ${P}s" "$(cat "$work/servers.out")"; fi
}

e2e_gaxd_start() { # DESC CONFIG [GAXD_OPTS...]: sets gaxd_pid, empty when it did not start
	local desc=$1 config=$2 ready=0 why
	shift 2
	: >"$work/gaxd.out"
	timeout 150 ip netns exec "${P}f" stdbuf -oL -eL "$gaxd" --no-huge -m 512 --no-pci \
		--no-telemetry --file-prefix "$P$$" -l 0,1 \
		--vdev net_af_packet0,iface=wan0 --vdev net_af_packet1,iface=lan0 \
		-- --config "$config" --socket "$work/gaxd.sock" --stats-json "$work/stats.json" "$@" \
		>>"$work/gaxd.out" 2>"$work/gaxd.err" &
	gaxd_pid=$!
	for _ in $(seq 1 200); do # 20 s
		if grep -q "gaxd: ready" "$work/gaxd.out" 2>/dev/null; then ready=1; break; fi
		kill -0 "$gaxd_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ $ready -eq 1 ] && kill -0 "$gaxd_pid" 2>/dev/null; then
		ok "$desc"
		return 0
	fi
	why="still not ready after 20 s"
	if ! kill -0 "$gaxd_pid" 2>/dev/null; then
		wait "$gaxd_pid"
		why="exited with status $? without printing 'gaxd: ready'"
	else
		kill -9 "$gaxd_pid" 2>/dev/null
		wait "$gaxd_pid" 2>/dev/null
	fi
	gaxd_pid=
	not_ok "$desc" "gaxd $why" "stdout (last 15 lines):" "$(tail -15 "$work/gaxd.out")" \
		"stderr (last 15 lines):" "$(tail -15 "$work/gaxd.err")"
	return 1
}

e2e_gaxd_stop() { # DESC
	local rc
	if [ -z "$gaxd_pid" ]; then
		not_ok "$1" "not run: gaxd is not running"
		return 1
	fi
	kill -TERM "$gaxd_pid"
	for _ in $(seq 1 100); do kill -0 "$gaxd_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$gaxd_pid" 2>/dev/null; then
		not_ok "$1" "still running 10 s after SIGTERM" "stdout (last 15 lines):" \
			"$(tail -15 "$work/gaxd.out")"
		kill -9 "$gaxd_pid" 2>/dev/null
		wait "$gaxd_pid" 2>/dev/null
		gaxd_pid=
		return 1
	fi
	wait "$gaxd_pid"; rc=$?
	gaxd_pid=
	if [ $rc -eq 0 ]; then ok "$1"; return 0; fi
	not_ok "$1" "exit status $rc" "stderr (last 15 lines):" "$(tail -15 "$work/gaxd.err")"
	return 1
}

e2e_finish() {
	comment "took $((SECONDS - e2e_start)) s"
	if [ "$failed" -ne 0 ] || [ -n "${GAX_E2E_KEEP:-}" ]; then
		comment "work folder kept: $work"
	fi
	tap_end
}
