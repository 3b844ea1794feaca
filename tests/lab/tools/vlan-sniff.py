#!/usr/bin/env python3
"""Waits for a frame from a given source MAC on an interface and prints the 802.1Q
VLAN it carried ("vlan=100", or "vlan=none"). The lab kernel has no 8021q module,
so a plain host cannot join a VLAN; this shows what the wire carries instead. The
kernel moves a received tag out of the frame into the packet's auxdata, which is
where it is read from. Exits 1 if no such frame arrives within the timeout.

usage: vlan-sniff.py IFACE SRC_MAC [TIMEOUT_SECS]
"""
import socket
import struct
import sys
import time

IFACE, SRC = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
TIMEOUT = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID = 263, 8, 0x10
ETH_P_ALL = 0x0003

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.bind((IFACE, 0))
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
end = time.monotonic() + TIMEOUT
while (left := end - time.monotonic()) > 0:
    s.settimeout(left)
    try:
        data, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(20))
    except socket.timeout:
        break
    if data[6:12] != SRC:
        continue
    vlan = None
    for level, typ, cdata in anc:
        if level == SOL_PACKET and typ == PACKET_AUXDATA and len(cdata) >= 20:
            status, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", cdata[:20])
            if status & TP_STATUS_VLAN_VALID:
                vlan = tci & 0xFFF
    if vlan is None and data[12:14] == b"\x81\x00":
        vlan = struct.unpack("!H", data[14:16])[0] & 0xFFF
    print(f"vlan={vlan if vlan is not None else 'none'}")
    sys.exit(0)
sys.exit(1)
