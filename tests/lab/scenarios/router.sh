#!/usr/bin/env bash
# Routing: lr1 between ls1 (172.16.255.0/24) and ls2 (172.16.254.0/24); VMs on
# different hosts reach each other through the router, which answers on its own
# addresses; a routed packet arrives with its TTL decremented once, a switched one
# unchanged.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin router

step "lr1 between ls1 and ls2; vm1@hv1 and vm3@hv3 on ls1, vm2@hv2 on ls2"
two_switches_one_router
vm_port ls1 ls1-vm1 02:ac:10:ff:00:11 $LS1_NET.11
vm_port ls2 ls2-vm2 02:ac:10:ff:00:22 $LS2_NET.22
vm_port ls1 ls1-vm3 02:ac:10:ff:00:33 $LS1_NET.33
nbctl show
t0=$(now_ms)
add_vm vm1 hv1 02:ac:10:ff:00:11 $LS1_NET.11/24 ls1-vm1
add_vm vm2 hv2 02:ac:10:ff:00:22 $LS2_NET.22/24 ls2-vm2
add_vm vm3 hv3 02:ac:10:ff:00:33 $LS1_NET.33/24 ls1-vm3
route_via vm1 $LS1_NET.1 $LS2_NET.0/24
route_via vm3 $LS1_NET.1 $LS2_NET.0/24
route_via vm2 $LS2_NET.1 $LS1_NET.0/24
wait_bound ls1-vm1 hv1; wait_bound ls2-vm2 hv2; wait_bound ls1-vm3 hv3
echo "TIMING router: plug -> first routed vm1->vm2 reply: $(first_reply 15 vm1 $LS2_NET.22)s"
timing "router: topology up and routing" "$t0"

step "the router answers on its ports"
ping_ok vm1 $LS1_NET.1
ping_ok vm2 $LS2_NET.1

step "routed across hosts: vm1 (hv1, ls1) <-> vm2 (hv2, ls2), vm3 (hv3) -> vm2"
ping_ok vm1 $LS2_NET.22
ping_ok vm2 $LS1_NET.11
ping_ok vm3 $LS2_NET.22

step "TTL: 63 through lr1, 64 within ls1"
ttl=$(ping_ttl vm1 $LS2_NET.22)
[ "$ttl" = 63 ] || fail "vm1 -> vm2 through lr1: reply ttl=$ttl, expected 63 (64 - one hop)"
info "vm1 -> vm2 (routed): ttl=$ttl"
ttl=$(ping_ttl vm2 $LS1_NET.33)
[ "$ttl" = 63 ] || fail "vm2 -> vm3 through lr1: reply ttl=$ttl, expected 63"
info "vm2 -> vm3 (routed): ttl=$ttl"
ttl=$(ping_ttl vm1 $LS1_NET.33)
[ "$ttl" = 64 ] || fail "vm1 -> vm3 on ls1: reply ttl=$ttl, expected 64 (no router hop)"
info "vm1 -> vm3 (switched): ttl=$ttl"

step "TTL 1 expires in lr1: the router answers ICMP time exceeded (icmp4_error in the controller)"
out=$(nsx vm1 ping -n -c 1 -t 1 -W 2 $LS2_NET.22 2>&1 || true)
printf '%s\n' "$out" | grep -E "^From" | sed "s/^/    [vm1] /"
printf '%s\n' "$out" | has "From $LS1_NET.1 .*Time to live exceeded" \
  || fail "vm1 -> vm2 with TTL 1: no time exceeded from lr1 ($LS1_NET.1):"$'\n'"$out"

step "no route without the router: lr-del lr1 cuts ls1 from ls2"
nbctl --wait=hv lr-del lr1
ping_fails vm1 $LS2_NET.22
ping_ok vm1 $LS1_NET.33
