#!/usr/bin/env bash
# Seed 000, OVN's 3-host lab: ls1 with vm1@hv1 and vm2@hv2 (addresses and port
# security "MAC IP"), `sbctl show` lists each binding under its chassis, ping across
# Geneve, vm3 added on hv1 and migrated to hv2 (the binding follows, traffic too),
# spoofed source MAC and IP from vm1 are dropped, `ls-del ls1` leaves no binding.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin seed000

MAC1=02:ac:10:ff:00:11 IP1=172.16.255.11
MAC2=02:ac:10:ff:00:22 IP2=172.16.255.22
MAC3=02:ac:10:ff:00:33 IP3=172.16.255.33

# add_port <port> <mac> <ip>: a VM port whose addresses are also its only allowed
# source (port security), as a CMS would create it.
add_port() {
  nbctl lsp-add ls1 "$1" -- lsp-set-addresses "$1" "$2 $3" -- lsp-set-port-security "$1" "$2 $3"
}

# expect_show_binding <show-output> <port> <chassis>
expect_show_binding() {
  local c; c=$(show_chassis_of "$2" "$1")
  [ "$c" = "$3" ] || fail "sbctl show lists $2 under chassis '${c:-none}', expected $3"
  info "sbctl show: $2 under Chassis $3"
}

# recovered <vm> <ip>: after a spoofing test the guest's neighbour entry may be
# failed, or hold a queued packet with the spoofed source; start it afresh.
recovered() {
  nsx "$1" ip neigh flush dev eth0
  echo "TIMING seed000: spoofing undone -> first reply: $(first_reply 5 "$1" "$2")s"
  ping_ok "$1" "$2"
}

step "ls1 with ls1-vm1, ls1-vm2 (addresses + port security)"
on_cleanup nbctl --if-exists ls-del ls1
nbctl ls-add ls1
add_port ls1-vm1 $MAC1 $IP1
add_port ls1-vm2 $MAC2 $IP2
nbctl show ls1

step "vm1 on hv1, vm2 on hv2"
t0=$(now_ms)
add_vm vm1 hv1 $MAC1 $IP1/24 ls1-vm1
add_vm vm2 hv2 $MAC2 $IP2/24 ls1-vm2
wait_bound ls1-vm1 hv1
wait_bound ls1-vm2 hv2
echo "TIMING seed000: plug -> first vm1->vm2 reply: $(first_reply 15 vm1 $IP2)s"
timing "seed000: plug -> bound and answering" "$t0"
t0=$(now_ms); nbctl --wait=hv sync; timing "seed000: nbctl --wait=hv sync" "$t0"

step "sbctl show"
show=$(sbctl show)
printf '%s\n' "$show"
expect_show_binding "$show" ls1-vm1 hv1
expect_show_binding "$show" ls1-vm2 hv2

step "ping vm1 (hv1) <-> vm2 (hv2) across Geneve"
ping_ok vm1 $IP2
ping_ok vm2 $IP1

step "vm3 on hv1"
add_port ls1-vm3 $MAC3 $IP3
add_vm vm3 hv1 $MAC3 $IP3/24 ls1-vm3
wait_bound ls1-vm3 hv1
echo "TIMING seed000: vm3 plug -> first vm2->vm3 reply: $(first_reply 15 vm2 $IP3)s"
ping_ok vm2 $IP3
ping_ok vm1 $IP3

step "migrate vm3 hv1 -> hv2 (same MAC, IP, iface-id)"
t0=$(now_ms)
move_vm vm3 hv1 hv2
wait_bound ls1-vm3 hv2
echo "TIMING seed000: migration replug -> first vm1->vm3 reply: $(first_reply 15 vm1 $IP3)s"
timing "seed000: migration total" "$t0"
show=$(sbctl show)
printf '%s\n' "$show"
expect_show_binding "$show" ls1-vm3 hv2
expect_show_binding "$show" ls1-vm1 hv1
ping_ok vm1 $IP3   # hv1 -> hv2, tunnelled now
ping_ok vm2 $IP3   # local to hv2 now
ping_ok vm3 $IP1

step "port security: vm1 with a spoofed source MAC is dropped"
nsx vm1 ip link set eth0 address 02:ac:10:ff:00:99
ping_dropped vm1 vm2
nsx vm1 ip link set eth0 address $MAC1
recovered vm1 $IP2

step "port security: vm1 with a spoofed source IP is dropped"
nsx vm1 ip addr add 172.16.255.99/24 dev eth0
nsx vm1 ip neigh flush dev eth0   # the next ARP carries the spoofed IP too
ping_dropped vm1 vm2 -I 172.16.255.99
nsx vm1 ip addr del 172.16.255.99/24 dev eth0
recovered vm1 $IP2

if [ "${LAB_KEEP:-0}" = 1 ]; then
  info "LAB_KEEP=1: skipping the ls-del cleanup check, ls1 stays up"
  exit 0
fi

step "ls-del ls1: every binding goes"
t0=$(now_ms)
nbctl --wait=hv ls-del ls1
left=$(sbctl --bare --columns=logical_port find Port_Binding | grep -E '^ls1-' || true)
[ -z "$left" ] || fail "Port_Binding rows left after ls-del ls1: $left"
[ -z "$(sbctl --bare --columns=_uuid find Datapath_Binding external_ids:name=ls1)" ] \
  || fail "Datapath_Binding for ls1 left after ls-del"
timing "seed000: ls-del -> bindings gone" "$t0"
ping_fails vm1 $IP2
