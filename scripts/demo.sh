#!/usr/bin/env bash
# The main job of this release: take config/demo.json (or the file given),
# validate it, print the review of what applying it would change, and say
# what the forwarder will do with it. Installs and builds what is missing.
# Idempotent; touches nothing outside build/.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-config/demo.json}

scripts/deps.sh
scripts/build.sh >/dev/null

echo "== 1. Validate $config"
build/app/gaxctl/gaxctl validate "$config"
echo
echo "== 2. Review: what applying $config to an empty forwarder changes"
build/app/gaxctl/gaxctl diff - "$config"
echo
echo "== 3. What the forwarder will do"
build/app/gaxctl/gaxctl explain "$config"
echo
echo "== 4. A change reviewed before it is applied (config/demo-change.json)"
build/app/gaxctl/gaxctl diff "$config" config/demo-change.json
