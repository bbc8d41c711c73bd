#!/usr/bin/env bash
# Configures (once) and builds gax into build/ with warnings as errors.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f build/build.ninja ]; then
	meson setup build -Dwerror=true
else
	meson configure build -Dwerror=true >/dev/null
fi
ninja -C build
