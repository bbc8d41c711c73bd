#!/usr/bin/env bash
# gaxctl from the outside, as an operator or a script meets it (TAP output):
# exit codes, the messages for every bad config in tests/configs/bad, that
# every shipped example validates, hostile input never crashes it, and the
# diff and explain outputs.
# usage: test_cli.sh GAXCTL SOURCE_ROOT
set -uo pipefail
gaxctl=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
# run CMD...: sets $out (stdout+stderr) and $rc; no timeout: `diff -` reads this script's stdin
run() { out=$("$@" 2>&1); rc=$?; }

expect_rc() { # DESC WANT
	if [ "$rc" -eq "$2" ]; then ok "$1"; else not_ok "$1" "exit $rc, wanted $2" "$(printf '%s' "$out" | head -20)"; fi
}

expect_out() { # DESC SUBSTRING
	if grep -qF -- "$2" <<<"$out"; then ok "$1"; else not_ok "$1" "missing: $2" "$(printf '%s' "$out" | head -20)"; fi
}

# ---- usage errors: exit 2 --------------------------------------------------
run "$gaxctl"; expect_rc "no arguments is a usage error" 2
run "$gaxctl" frobnicate; expect_rc "unknown command is a usage error" 2
run "$gaxctl" validate; expect_rc "validate without FILE is a usage error" 2
run "$gaxctl" validate a b; expect_rc "validate with two files is a usage error" 2
run "$gaxctl" validate --bogus x; expect_rc "unknown option is a usage error" 2
run "$gaxctl" diff onlyone; expect_rc "diff with one file is a usage error" 2
run "$gaxctl" --help; expect_rc "--help exits 0" 0

# ---- files that cannot be read: exit 1 -------------------------------------
run "$gaxctl" validate "$tmp/does-not-exist.json"; expect_rc "missing file is refused" 1
expect_out "missing file is named" "does-not-exist.json"
run "$gaxctl" validate "$tmp"; expect_rc "a directory is refused" 1

# ---- every shipped example validates -----------------------------------------
for f in "$root"/config/*.json "$root"/config/examples/*.json "$root"/tests/configs/good/*.json; do
	[ -e "$f" ] || continue
	run "$gaxctl" validate "$f"
	expect_rc "valid: ${f#"$root"/}" 0
done

# ---- every bad config is refused with its message ----------------------------
for f in "$root"/tests/configs/bad/*.json; do
	[ -e "$f" ] || continue
	name=${f#"$root"/}
	run "$gaxctl" validate "$f"
	expect_rc "refused: $name" 1
	exp=${f%.json}.expect
	if [ -f "$exp" ]; then
		while IFS= read -r line || [ -n "$line" ]; do
			[ -n "$line" ] || continue
			expect_out "$name says: $line" "$line"
		done <"$exp"
	else
		not_ok "$name has an .expect file"
	fi
done

# ---- hostile input: a clear refusal, never a crash ---------------------------
: >"$tmp/empty.json"
printf '[1,2,3]' >"$tmp/array.json"
printf '"just a string"' >"$tmp/string.json"
printf '42' >"$tmp/number.json"
printf 'null' >"$tmp/null.json"
python3 -c "print('[' * 200000)" >"$tmp/deep.json"
python3 -c "print('{\"a\":' * 100000 + '1' + '}' * 100000)" >"$tmp/deep-objects.json"
printf '{"interfaces": 99999999999999999999999999999}' >"$tmp/huge-int.json"
printf '{"interfaces": 1e400}' >"$tmp/huge-real.json"
printf '{"interfaces": [], "accelerators": [{"name": "\xff\xfe bad"}]}' >"$tmp/non-utf8.json"
printf '{"interfaces": [], "acc\x00elerators": []}' >"$tmp/nul-byte.json"
python3 -c "print('{\"interfaces\": [], \"accelerators\": [{\"name\": \"' + 'a' * 5000000 + '\"}]}')" >"$tmp/long-string.json"
for f in "$tmp"/*.json; do
	run "$gaxctl" validate "$f"
	expect_rc "hostile input refused cleanly: $(basename "$f")" 1
done
run "$gaxctl" validate "$tmp/empty.json"; expect_out "empty file gives a position" "empty.json:1:"
run "$gaxctl" validate "$tmp/deep.json"; expect_out "deep nesting is a syntax error" "JSON syntax error"

# Random bytes and mutations of a good file: exit 0 or 1, never a signal.
crashes=0
for i in $(seq 1 150); do
	if [ $((i % 3)) -eq 0 ]; then
		head -c $((RANDOM % 2000)) /dev/urandom >"$tmp/rand.json"
	else
		python3 - "$root/config/demo.json" "$tmp/rand.json" "$i" <<'PY'
import random, sys
random.seed(int(sys.argv[3]))
data = bytearray(open(sys.argv[1], 'rb').read())
for _ in range(random.randint(1, 8)):
    op = random.randint(0, 2)
    pos = random.randrange(len(data))
    if op == 0:
        data[pos] = random.choice(b'{}[]",:0123456789-~eE.\\ \x00\xff' + bytes([random.randrange(256)]))
    elif op == 1:
        del data[pos:pos + random.randint(1, 20)]
    else:
        data[pos:pos] = data[random.randrange(len(data)):][:random.randint(1, 40)]
open(sys.argv[2], 'wb').write(data)
PY
	fi
	"$gaxctl" validate "$tmp/rand.json" >/dev/null 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
		crashes=$((crashes + 1))
		cp "$tmp/rand.json" "$tmp/crash-$i.json"
	fi
done
if [ $crashes -eq 0 ]; then ok "150 random and mutated files: no crash"; else not_ok "random files crashed gaxctl $crashes times"; fi

# ---- validate --json -----------------------------------------------------------
run "$gaxctl" validate --json "$root/config/demo.json"; expect_rc "validate --json on a valid file" 0
if python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["valid"] is True' <<<"$out"; then
	ok "validate --json says valid"; else not_ok "validate --json says valid" "$out"; fi
printf '{"interfaces": [], "bogus": 1}' >"$tmp/bogus.json"
out=$("$gaxctl" validate --json "$tmp/bogus.json" 2>/dev/null); rc=$?
expect_rc "validate --json on an invalid file exits 1" 1
if python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["valid"] is False; assert any(x["path"]=="bogus" for x in d["diagnostics"])' <<<"$out"; then
	ok "validate --json lists the unknown field by path"; else not_ok "validate --json lists the unknown field by path" "$out"; fi

# ---- diff ---------------------------------------------------------------------
run "$gaxctl" diff "$root/config/demo.json" "$root/config/demo.json"
expect_rc "diff of a file with itself" 0
expect_out "diff of a file with itself says so" "No changes."
run "$gaxctl" diff --exit-code "$root/config/demo.json" "$root/config/demo.json"
expect_rc "diff --exit-code with no changes exits 0" 0
run "$gaxctl" diff "$root/config/demo.json" "$root/config/demo-change.json"
expect_rc "diff demo -> demo-change" 0
expect_out "diff shows the drained endpoint" "(drain: no new flows)"
expect_out "diff shows the added endpoint" "+ endpoint 10.1.0.14"
expect_out "diff shows the removed listener" "- listener udp-53"
expect_out "diff shows the changed ports" "80,8080~8085 -> 80,8080~8086"
expect_out "diff shows a summary" "Summary:"
run "$gaxctl" diff --exit-code "$root/config/demo.json" "$root/config/demo-change.json"
expect_rc "diff --exit-code with changes exits 1" 1
out=$("$gaxctl" diff --json "$root/config/demo.json" "$root/config/demo-change.json" 2>/dev/null)
if python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
ch = d["changes"]
assert any(c["kind"] == "endpoint" and c["op"] == "modify" and c["field"] == "weight" and c["old"] == "100" and c["new"] == "0" for c in ch), ch
assert any(c["kind"] == "listener" and c["op"] == "remove" and c["object"] == "web/udp-53" for c in ch), ch
assert d["summary"]["added"] >= 2
' <<<"$out"; then ok "diff --json carries the changes"; else not_ok "diff --json carries the changes" "$(head -c 2000 <<<"$out")"; fi
run "$gaxctl" diff - "$root/config/demo.json"
expect_out "diff from nothing adds every accelerator" "+ accelerator web"
printf '{"interfaces": [{"name": "x"}]}' >"$tmp/bad-new.json"
run "$gaxctl" diff "$root/config/demo.json" "$tmp/bad-new.json"
expect_rc "diff refuses an invalid NEW" 1
expect_out "diff names the invalid field" "interfaces[0].device"

# ---- explain ------------------------------------------------------------------
run "$gaxctl" explain "$root/config/demo.json"
expect_rc "explain demo" 0
expect_out "explain names the listener" "listener tcp-80: tcp ports 80,8080~8085"
expect_out "explain shows the port mapping" "80->8080"
expect_out "explain shows the traffic split" "70.0% of new flows"
expect_out "explain shows the drained endpoint" "weight 0: takes no new flows"
expect_out "explain shows reserve client IP" "client IP reserved"
run "$gaxctl" explain "$tmp/bogus.json"
expect_rc "explain refuses an invalid file" 1

tap_end
