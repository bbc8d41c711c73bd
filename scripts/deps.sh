#!/usr/bin/env bash
# Installs what gax needs to build and test on Debian 12, and nothing when it
# is all there already (idempotent). Needs root (or sudo) only when something
# is missing. Prints one line per step.
set -euo pipefail

packages=(
	# build
	gcc libc6-dev meson ninja-build pkg-config
	# libraries (pkg-config names: libdpdk, jansson, libbpf, criterion, openssl)
	dpdk dpdk-dev libdpdk-dev libjansson-dev libbpf-dev libcriterion-dev libssl-dev openssl
	# tests and tools (clang and its runtime build the libFuzzer targets)
	python3 valgrind iproute2 ethtool iputils-ping clang libclang-rt-14-dev curl
	# Pktgen-DPDK scripts are checked against a mock of its Lua API (tests/cli/test_pktgen.sh)
	lua5.4
	# benchmark plots (perf/bench_forward.sh)
	gnuplot-nox
	# the XDP steering program: bpftool generates its libbpf skeleton (lib/xdp, clang builds the object)
	bpftool
	# gaxd's kernel twins on net_af_packet ports: an nftables ingress rule keeps the kernel off them
	nftables
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
	sudo="sudo"
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
