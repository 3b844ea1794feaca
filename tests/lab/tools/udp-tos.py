#!/usr/bin/env python3
"""Shows the IP TOS byte (DSCP << 2 | ECN) that datagrams arrive with, to see what QoS
marking the network applied; the lab VMs have no tcpdump.

usage: udp-tos.py listen IP PORT [TIMEOUT_SECS]   prints "tos=0x28" for the first datagram
       udp-tos.py send IP PORT [COUNT]            sends COUNT datagrams (default 3)
Exits 1 if listening times out.
"""
import socket
import sys
import time

IP_RECVTOS = getattr(socket, "IP_RECVTOS", 13)
mode, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if mode == "send":
    for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 3):
        s.sendto(b"tos?", (ip, port))
        time.sleep(0.1)
    sys.exit(0)
s.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
s.bind((ip, port))
s.settimeout(float(sys.argv[4]) if len(sys.argv) > 4 else 5.0)
try:
    _, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(4))
except socket.timeout:
    print("no datagram")
    sys.exit(1)
tos = next((c[0] for lvl, typ, c in anc if lvl == socket.IPPROTO_IP and typ in (1, IP_RECVTOS)), None)
print("tos=none" if tos is None else f"tos={tos:#04x}")
