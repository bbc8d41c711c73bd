#!/usr/bin/env bash
# Runs every test of gax: installs what is missing, builds with warnings as
# errors, runs `meson test` (unit tests, command-line checks, benchmark smoke
# runs), then the unit tests again under AddressSanitizer and UBSan.
# Ends with one line "N passed, N failed". Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
scripts/build.sh

status=0
meson test -C build --print-errorlogs --num-processes 2 || status=1

# Sanitizers over the plain-C modules (no EAL involved).
if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug >/dev/null
fi
ninja -C build-asan >/dev/null
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit --suite cli \
	|| status=1

python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        res = r.get("result")
        if res in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif res == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
