#!/usr/bin/env python3
"""Counts the Geneve packets (UDP 6081) seen on IFACE for SECS seconds, by outer
destination IPv4 address and by what they carry, and prints one line per kind:

    dst=192.168.77.12 inner=arp tpa=172.16.255.99 count=1
    dst=192.168.77.12 inner=ip count=4

("inner" is arp, ip, ip6 or the inner ethertype in hex). Prints "ready" on stderr once
it is listening, so a test can start the traffic after that. Used on the underlay
bridge's ports to show where a VM's frames travel between hosts.

usage: geneve-count.py IFACE SECS
"""
import collections
import socket
import struct
import sys
import time

IFACE, SECS = sys.argv[1], float(sys.argv[2])
ETH_P_ALL = 0x0003
GENEVE_PORT = 6081

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.bind((IFACE, 0))
print("ready", file=sys.stderr, flush=True)
counts = collections.Counter()


def kind(inner):
    if len(inner) < 14:
        return "short"
    ethertype = struct.unpack("!H", inner[12:14])[0]
    if ethertype == 0x0806 and len(inner) >= 42:
        return "arp tpa=" + socket.inet_ntoa(inner[38:42])
    return {0x0800: "ip", 0x86DD: "ip6"}.get(ethertype, f"{ethertype:#06x}")


end = time.monotonic() + SECS
while (left := end - time.monotonic()) > 0:
    s.settimeout(left)
    try:
        frame = s.recv(65535)
    except socket.timeout:
        break
    if len(frame) < 14 + 20 + 8 + 8 or frame[12:14] != b"\x08\x00":
        continue
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != 17 or len(ip) < ihl + 16:
        continue
    if struct.unpack("!H", ip[ihl + 2 : ihl + 4])[0] != GENEVE_PORT:
        continue
    geneve = ip[ihl + 8 :]
    opts = (geneve[0] & 0x3F) * 4
    counts[(socket.inet_ntoa(ip[16:20]), kind(geneve[8 + opts :]))] += 1

for (dst, what), n in sorted(counts.items()):
    print(f"dst={dst} inner={what} count={n}")
