#!/usr/bin/env python3
"""Write a pcap of 64-byte UDP frames, one frame per distinct flow.

    mkpcap.py --flows N --out FILE [--dst-ip 10.0.0.100] [--dst-port 53]
              [--dst-mac 02:70:63:61:70:00] [--src-mac 02:00:00:00:00:01]

Flow i comes from client 10.0.x.y : port, where the client address advances
every PORTS_PER_CLIENT flows (so 1M flows use 256 addresses, 4096 ports each)
and goes to the accelerated address and port. Frames are 60 bytes on the wire
file (64 with the FCS the NIC adds), with correct IPv4 and UDP checksums.
Client addresses start at 10.0.1.1 and skip .0 and .255 of each /24, so none
is the network's own address, gax's (10.0.0.1) or the VIP's (10.0.0.100).
Python 3 standard library only.
"""
import argparse
import os
import struct
import sys

PORTS_PER_CLIENT = 4096
FIRST_PORT = 10000
PAYLOAD = b"gax-bench-forward!"  # 18 bytes: 14 + 20 + 8 + 18 = 60


def ip_to_int(s):
    a = [int(x) for x in s.split(".")]
    if len(a) != 4 or any(x < 0 or x > 255 for x in a):
        raise ValueError("bad IPv4 address: " + s)
    return (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]


def mac_to_bytes(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC address: " + s)
    return b


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def sum16(b):
    if len(b) % 2:
        b += b"\0"
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


def write_pcap(path, flows, dst_ip, dst_port, dst_mac, src_mac):
    dip = ip_to_int(dst_ip)
    udp_len = 8 + len(PAYLOAD)
    ip_len = 20 + udp_len
    frame_len = 14 + ip_len
    eth = dst_mac + src_mac + b"\x08\x00"
    # IPv4 header without source address and checksum: constant part of its sum
    ip_const = (0x4500 + ip_len + 0 + 0x4000 + (64 << 8 | 17)
                + (dip >> 16) + (dip & 0xFFFF))
    # UDP checksum: pseudo-header (dst, proto, length), dst port, length, payload
    udp_const = ((dip >> 16) + (dip & 0xFFFF) + 17 + udp_len
                 + dst_port + udp_len + sum16(PAYLOAD))
    rec_hdr = struct.Struct("<IIII")
    body = struct.Struct("!HHHHBBHIIHHHH")
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "wb", buffering=1 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        hdr = rec_hdr.pack(0, 0, frame_len, frame_len)
        out = []
        for i in range(flows):
            k, p = divmod(i, PORTS_PER_CLIENT)
            third, fourth = divmod(k, 254)
            sip = (10 << 24) | ((1 + third) << 8) | (1 + fourth)  # 10.0.x.y
            sport = FIRST_PORT + p
            s_hi, s_lo = sip >> 16, sip & 0xFFFF
            ipck = (~fold(ip_const + s_hi + s_lo)) & 0xFFFF
            uck = (~fold(udp_const + s_hi + s_lo + sport)) & 0xFFFF
            if uck == 0:
                uck = 0xFFFF
            out.append(hdr + eth + body.pack(0x4500, ip_len, 0, 0x4000, 64, 17, ipck,
                                             sip, dip, sport, dst_port, udp_len, uck) + PAYLOAD)
            if len(out) >= 65536:
                f.write(b"".join(out))
                out.clear()
        f.write(b"".join(out))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="Write a pcap of 64-byte UDP frames, one per distinct flow.")
    ap.add_argument("--flows", type=int, required=True, help="number of distinct flows (frames)")
    ap.add_argument("--out", required=True, help="pcap file to write")
    ap.add_argument("--dst-ip", default="10.0.0.100")
    ap.add_argument("--dst-port", type=int, default=53)
    ap.add_argument("--dst-mac", default="02:70:63:61:70:00", help="net_pcap0's MAC by default")
    ap.add_argument("--src-mac", default="02:00:00:00:00:fe")
    a = ap.parse_args()
    limit = 254 * 254 * PORTS_PER_CLIENT
    if a.flows < 1 or a.flows > limit:
        sys.exit("mkpcap: --flows must be 1..%d" % limit)
    write_pcap(a.out, a.flows, a.dst_ip, a.dst_port,
               mac_to_bytes(a.dst_mac), mac_to_bytes(a.src_mac))


if __name__ == "__main__":
    main()
