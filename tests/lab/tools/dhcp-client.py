#!/usr/bin/env python3
"""Minimal DHCPv4 client for the lab (no dhclient in the VM namespaces): DISCOVER,
OFFER, REQUEST, ACK on a raw socket. Prints the lease as key=value lines and exits 0,
or exits 1 if no server answers within the timeout. Does not configure the interface.

usage: dhcp-client.py IFACE [TIMEOUT_SECS]
"""
import os
import random
import socket
import struct
import sys
import time

IFACE = sys.argv[1]
TIMEOUT = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
MAC = bytes.fromhex(open(f"/sys/class/net/{IFACE}/address").read().strip().replace(":", ""))
XID = random.getrandbits(32)
COOKIE = bytes([99, 130, 83, 99])


def csum(b):
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(options):
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, XID, 0, 0x8000,
                        b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, MAC, b"", b"")
    payload = bootp + COOKIE + options + b"\xff"
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     b"\0" * 4, b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + MAC + b"\x08\x00" + ip + udp


def parse(pkt):
    if len(pkt) < 14 + 20 + 8 + 240 or pkt[12:14] != b"\x08\x00":
        return None
    ihl = (pkt[14] & 0xF) * 4
    if pkt[14 + 9] != 17:
        return None
    udp = 14 + ihl
    if struct.unpack("!H", pkt[udp + 2:udp + 4])[0] != 68:
        return None
    d = pkt[udp + 8:]
    if d[0] != 2 or struct.unpack("!I", d[4:8])[0] != XID or d[236:240] != COOKIE:
        return None
    opts, i = {}, 240
    while i < len(d) and d[i] != 255:
        if d[i] == 0:
            i += 1
            continue
        opts[d[i]] = d[i + 2:i + 2 + d[i + 1]]
        i += 2 + d[i + 1]
    return socket.inet_ntoa(d[16:20]), opts


def exchange(sock, options, want):
    sock.send(frame(options))
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            pkt = sock.recv(2048)
        except socket.timeout:
            break
        r = parse(pkt)
        if r and r[1].get(53) == bytes([want]):
            return r
        if r and r[1].get(53) == bytes([6]):
            print("nak=1")
            sys.exit(1)
    return None


def main():
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sock.bind((IFACE, 0))
    offer = exchange(sock, bytes([53, 1, 1]), 2)
    if not offer:
        print("no offer")
        sys.exit(1)
    ip, opts = offer
    req = bytes([53, 1, 3, 50, 4]) + socket.inet_aton(ip) + bytes([54, 4]) + opts.get(54, b"\0" * 4)
    ack = exchange(sock, req, 5)
    if not ack:
        print("no ack")
        sys.exit(1)
    ip, opts = ack
    print(f"ip={ip}")
    if 1 in opts:
        print(f"netmask={socket.inet_ntoa(opts[1])}")
    if 3 in opts:
        print(f"router={socket.inet_ntoa(opts[3][:4])}")
    if 6 in opts:
        print("dns=" + ",".join(socket.inet_ntoa(opts[6][i:i + 4]) for i in range(0, len(opts[6]), 4)))
    if 26 in opts:
        print(f"mtu={struct.unpack('!H', opts[26])[0]}")
    if 51 in opts:
        print(f"lease={struct.unpack('!I', opts[51])[0]}")
    if 54 in opts:
        print(f"server={socket.inet_ntoa(opts[54])}")


main()
