# TAP helpers sourced by the test scripts (tests/cli, tests/eal, tests/e2e):
# a counter per check, `ok`/`not_ok`/`skip`, details as `# ` comment lines
# (every line of a multi-line detail), `run`/`check` for a program's exit
# status and output, `tap_report` for checks a helper program prints, and
# `tap_end` for the plan and the script's status.
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
comment() { local l line; for l in "$@"; do while IFS= read -r line; do echo "# $line"; done <<<"$l"; done; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; comment "$@"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# run CMD...: $out (stdout and stderr) and $rc, under a 60 s timeout
run() { out=$(timeout 60 "$@" 2>&1); rc=$?; }
check() { # DESC WANT_RC [SUBSTRING...]: the last run's status and output
	local desc=$1 want=$2 s
	shift 2
	if [ "$rc" -ne "$want" ]; then not_ok "$desc" "exit $rc, wanted $want" "$(head -20 <<<"$out")"; return 1; fi
	for s in "$@"; do
		if ! grep -qF -- "$s" <<<"$out"; then not_ok "$desc" "missing: $s" "$(head -20 <<<"$out")"; return 1; fi
	done
	ok "$desc"
}
tap_end() { echo "1..$n"; [ "$failed" -eq 0 ]; }
# tap_report: reads lines "ok<TAB>desc", "not ok<TAB>desc" and "#<TAB>detail"
# (a helper program's verdicts, details after their check) and counts them.
tap_report() {
	local row pending_desc="" pending_status="" details=()
	flush() {
		[ -n "$pending_desc" ] || return 0
		if [ "$pending_status" = ok ]; then ok "$pending_desc"; comment "${details[@]}"
		else not_ok "$pending_desc" "${details[@]}"; fi
		pending_desc=""; details=()
	}
	while IFS= read -r row; do
		case $row in
		"ok	"*) flush; pending_status=ok; pending_desc=${row#ok	} ;;
		"not ok	"*) flush; pending_status="not ok"; pending_desc=${row#not ok	} ;;
		"#	"*) if [ -n "$pending_desc" ]; then details+=("${row#\#	}"); else comment "${row#\#	}"; fi ;;
		*) details+=("$row") ;;
		esac
	done
	flush
}

