#!/usr/bin/env bash
# Seed 003's OVN-native DHCP (no DHCP agent): DHCP_Options on a port make the chassis
# controller of the port's host answer DISCOVER and REQUEST itself; a VM without an
# address leases its IP, router, DNS and MTU, configures them and reaches its
# neighbour. A port without options gets no answer.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin dhcp

NET=172.16.90
D1=$NET.11 D2=$NET.12
client() { nsx "$1" timeout 20 python3 "$LAB_LIB_DIR/tools/dhcp-client.py" eth0 "${2:-3}"; }

step "ls-dhcp: d1@hv2 (native DHCP), d2@hv3 (static, no DHCP options)"
on_cleanup nbctl --if-exists ls-del ls-dhcp
nbctl ls-add ls-dhcp
vm_port ls-dhcp ls-dhcp-d1 02:ac:10:ff:09:11 $D1
vm_port ls-dhcp ls-dhcp-d2 02:ac:10:ff:09:12 $D2
add_vm d1 hv2 02:ac:10:ff:09:11 $D1/24 ls-dhcp-d1
add_vm d2 hv3 02:ac:10:ff:09:12 $D2/24 ls-dhcp-d2
wait_bound ls-dhcp-d1 hv2; wait_bound ls-dhcp-d2 hv3
# d1 starts without an address, as a booting VM does.
nsx d1 ip addr flush dev eth0

step "no DHCP_Options on the port: no answer"
if out=$(client d1 2); then fail "DHCP answered without DHCP_Options: $out"; fi
info "no answer, as expected"

step "DHCP_Options for $NET.0/24 on d1's port"
t0=$(now_ms)
uuid=$(nbctl create DHCP_Options cidr=$NET.0/24 \
  options='"lease_time"="3600" "router"="'$NET.1'" "server_id"="'$NET.1'" "server_mac"="02:ac:10:ff:09:01" "dns_server"="{8.8.8.8, 1.1.1.1}" "mtu"="1400"')
on_cleanup nbctl --if-exists destroy DHCP_Options "$uuid"
nbctl --wait=hv lsp-set-dhcpv4-options ls-dhcp-d1 "$uuid"
lease=$(client d1 5) || fail "no DHCP lease for d1: $lease"
timing "dhcp: options set -> lease" "$t0"
printf '%s\n' "$lease" | sed 's/^/    [d1] /'
want() { printf '%s\n' "$lease" | has -x "$1" || fail "lease lacks $1"; }
want "ip=$D1"; want "netmask=255.255.255.0"; want "router=$NET.1"; want "dns=8.8.8.8,1.1.1.1"
want "mtu=1400"; want "lease=3600"; want "server=$NET.1"

step "d1 configures its lease and reaches d2 across hosts"
nsx d1 ip addr add "$D1/24" dev eth0
nsx d1 ip link set eth0 mtu 1400
ping_ok d1 $D2

step "d2's port (no options) still gets no answer"
nsx d2 ip addr flush dev eth0
if out=$(client d2 2); then fail "DHCP answered d2 without options: $out"; fi
nsx d2 ip addr add "$D2/24" dev eth0
