#!/usr/bin/env bash
# QoS as Neutron's QoS policies write it (DSCP marking): vm1@hv1 and vm2@hv2 on ls-q.
# A from-lport rule marks vm1's traffic with DSCP 10 and vm2 sees the TOS byte it
# carries across Geneve; a to-lport rule marks what vm2 receives from anyone; removing
# the rules leaves traffic unmarked. (Rate limits become `set_meter` flows; rovn-controller
# does not install OpenFlow meters yet, so they are not checked here.)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin qos

NET=172.16.71
TOOL=$LAB_REPO/tests/lab/tools/udp-tos.py

# tos_seen: the TOS byte of vm1's UDP datagrams as vm2 receives them.
tos_seen() {
  local port=$(( 40000 + RANDOM % 1000 ))
  ( sleep 0.5; nsx vm1 python3 "$TOOL" send $NET.22 $port 5 ) &
  nsx vm2 python3 "$TOOL" listen $NET.22 $port 4 || true
  wait
}

step "ls-q: vm1@hv1, vm2@hv2"
on_cleanup nbctl --if-exists ls-del ls-q
nbctl ls-add ls-q
vm_port ls-q ls-q-vm1 02:ac:10:47:00:11 $NET.11
vm_port ls-q ls-q-vm2 02:ac:10:47:00:22 $NET.22
add_vm vm1 hv1 02:ac:10:47:00:11 $NET.11/24 ls-q-vm1
add_vm vm2 hv2 02:ac:10:47:00:22 $NET.22/24 ls-q-vm2
wait_bound ls-q-vm1 hv1; wait_bound ls-q-vm2 hv2
nbctl --wait=hv sync
wait_for 10 "vm1 reaches vm2" ping_ok vm1 $NET.22 1 || fail "vm1 cannot reach vm2"
out=$(tos_seen); info "no QoS: $out"
[ "$out" = "tos=0x00" ] || fail "without QoS rules vm1's datagrams must arrive unmarked: $out"

step "from-lport DSCP 10 on vm1's traffic"
nbctl --wait=hv qos-add ls-q from-lport 100 'inport == "ls-q-vm1" && ip4' dscp=10
nbctl qos-list ls-q | sed 's/^/    /'
out=$(tos_seen); info "vm2 sees: $out"
[ "$out" = "tos=0x28" ] || fail "vm1's datagrams must arrive with DSCP 10 (tos 0x28): $out"

step "a higher-priority to-lport rule re-marks what vm2 receives with DSCP 46"
nbctl --wait=hv qos-add ls-q to-lport 200 'outport == "ls-q-vm2" && udp' dscp=46
out=$(tos_seen); info "vm2 sees: $out"
[ "$out" = "tos=0xb8" ] || fail "datagrams to vm2 must arrive with DSCP 46 (tos 0xb8): $out"

step "qos-del: unmarked again"
nbctl --wait=hv qos-del ls-q
out=$(tos_seen); info "vm2 sees: $out"
[ "$out" = "tos=0x00" ] || fail "with the rules gone datagrams must arrive unmarked: $out"
