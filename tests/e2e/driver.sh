# The DPDK driver the end-to-end tests run gaxd's interfaces with, sourced by
# them after tap.sh. GAX_E2E_DRIVER picks it:
#   af_packet (default)  --vdev net_af_packetN,iface=DEV
#   af_xdp               --vdev net_af_xdpN,iface=DEV,xdp_prog=$GAX_XDP_OBJ: gax's
#                        steering program (lib/xdp) in front of the AF_XDP sockets;
#                        bpffs is mounted on /sys/fs/bpf inside the `ip netns exec`
#                        that runs gaxd (a mount namespace of its own, so parallel
#                        runs never share the pinned maps).
# driver_init WORK: check the driver's needs ("1..0 # SKIP ..." and exit when
#   the machine lacks them), set $driver.
# driver_config SRC DST: SRC with the devices renamed for the driver.
# driver_gaxd NS IFACE...: the command prefix that runs gaxd in NS with one
#   vdev per IFACE, in the config's order (gaxd's arguments follow).
driver=${GAX_E2E_DRIVER:-af_packet}

driver_init() {
	case $driver in
	af_packet) ;;
	af_xdp)
		if [ -z "${GAX_XDP_OBJ:-}" ] || [ ! -f "$GAX_XDP_OBJ" ]; then
			echo "1..0 # SKIP GAX_E2E_DRIVER=af_xdp needs GAX_XDP_OBJ, the built gax_xdp.bpf.o (meson sets it)"
			exit 0
		fi
		if ! grep -qw bpf /proc/filesystems; then
			echo "1..0 # SKIP the kernel has no bpf filesystem (needed to share the XDP maps)"
			exit 0
		fi
		;;
	*)
		echo "Bail out! GAX_E2E_DRIVER must be af_packet or af_xdp, not '$driver'"
		exit 1
		;;
	esac
}

driver_config() { # SRC DST
	sed "s/\"net_af_packet\([0-9]*\)\"/\"net_${driver}\1\"/g" "$1" >"$2"
}

driver_gaxd() { # NS IFACE...: sets the array gaxd_cmd
	local ns=$1 i=0 dev
	shift
	gaxd_cmd=(ip netns exec "$ns")
	if [ "$driver" = af_xdp ]; then
		# exec: the pid stays gaxd's (the tests signal it).
		gaxd_cmd+=(sh -c 'mount -t bpf bpf /sys/fs/bpf && exec "$@"' sh)
	fi
	gaxd_vdevs=()
	for dev in "$@"; do
		case $driver in
		af_packet) gaxd_vdevs+=(--vdev "net_af_packet$i,iface=$dev") ;;
		af_xdp) gaxd_vdevs+=(--vdev "net_af_xdp$i,iface=$dev,xdp_prog=$GAX_XDP_OBJ") ;;
		esac
		i=$((i + 1))
	done
}
