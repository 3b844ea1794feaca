#!/usr/bin/env python3
"""Sends one broadcast ARP request for TARGET_IP out of IFACE and prints the MAC that
answers ("is-at 02:..") or "no reply". The lab VMs have no arping; this also asks
exactly once, so a test can count what the request caused elsewhere.
Exits 0 on a reply, 1 without one.

usage: arp-probe.py IFACE SRC_IP TARGET_IP [TIMEOUT_SECS]
"""
import socket
import struct
import sys
import time

IFACE, SRC_IP, TARGET = sys.argv[1], sys.argv[2], sys.argv[3]
TIMEOUT = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
ETH_P_ARP = 0x0806

with open(f"/sys/class/net/{IFACE}/address") as f:
    src_mac = bytes.fromhex(f.read().strip().replace(":", ""))
spa, tpa = socket.inet_aton(SRC_IP), socket.inet_aton(TARGET)

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
s.bind((IFACE, 0))
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac, spa, b"\0" * 6, tpa)
s.send(b"\xff" * 6 + src_mac + struct.pack("!H", ETH_P_ARP) + arp)

end = time.monotonic() + TIMEOUT
while (left := end - time.monotonic()) > 0:
    s.settimeout(left)
    try:
        frame = s.recv(2048)
    except socket.timeout:
        break
    if len(frame) < 42:
        continue
    op, sha, sender = struct.unpack("!H6s4s", frame[20:32])
    if op == 2 and sender == tpa:
        print("is-at " + ":".join(f"{b:02x}" for b in sha))
        sys.exit(0)
print("no reply")
sys.exit(1)
