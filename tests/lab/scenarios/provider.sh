#!/usr/bin/env bash
# Seed 003's provider network: ls-pn has a localnet port for physnet1, which every
# host maps to its br-ex (ovn-bridge-mappings) and whose NIC sits on a shared L2
# segment with pnhost, a machine that knows nothing of OVN. VMs on ls-pn reach
# pnhost and each other over that segment, not over Geneve; with a VLAN tag on the
# localnet port their frames leave tagged and still reach each other.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin provider

PN_NET=172.16.90
P1=$PN_NET.11 P2=$PN_NET.12 HOST=$PN_NET.100

step "provider network physnet1: br-ex with eth2 on every host, pnhost $HOST beside them"
provider_network physnet1
nsx pnhost ip addr add $HOST/24 dev eth0
nbctl ls-add ls-pn
nbctl lsp-add ls-pn ln-pn -- lsp-set-type ln-pn localnet -- lsp-set-addresses ln-pn unknown \
  -- lsp-set-options ln-pn network_name=physnet1
vm_port ls-pn ls-pn-pn1 02:ac:10:ff:00:91 $P1
vm_port ls-pn ls-pn-pn2 02:ac:10:ff:00:92 $P2
add_vm pn1 hv1 02:ac:10:ff:00:91 $P1/24 ls-pn-pn1
add_vm pn2 hv2 02:ac:10:ff:00:92 $P2/24 ls-pn-pn2
wait_bound ls-pn-pn1 hv1; wait_bound ls-pn-pn2 hv2
nbctl --wait=hv sync
has_patch() { vsctl "$1" list-ports br-int | has -x patch-br-int-to-ln-pn; }
for h in hv1 hv2; do
  wait_for 10 "$h patch port to br-ex" has_patch $h || fail "$h: no patch port for ln-pn on br-int"
  info "$h: br-int $(vsctl $h list-ports br-int | grep patch- | tr '\n' ' ')"
done

step "VMs and the provider network's host reach each other"
t0=$(now_ms)
wait_for 10 "pn1 reaches pnhost" ping_ok pn1 $HOST 1 || fail "pn1 cannot reach pnhost over physnet1"
timing "provider: localnet plugged -> pnhost answers" "$t0"
ping_ok pnhost $P2
ping_ok pn2 $HOST

step "pn1@hv1 <-> pn2@hv2 cross the provider network (eth2), not the Geneve underlay"
ping_ok pn1 $P2 1
before=$(nic_packets hv2 eth2) before_ul=$(nic_packets hv2 eth1)
ping_ok pn1 $P2 20
delta=$(( $(nic_packets hv2 eth2) - before )) delta_ul=$(( $(nic_packets hv2 eth1) - before_ul ))
info "for 20 pings hv2's provider NIC carried $delta packets, its underlay NIC $delta_ul"
(( delta >= 40 )) || fail "hv2 eth2 saw only $delta packets for 20 echo requests + replies"
(( delta_ul < 20 )) || fail "hv2's underlay carried $delta_ul packets: the pings went over Geneve too"

step "VLAN 100 on the localnet port: VM frames leave tagged, the untagged pnhost goes dark"
# pnhost sees what the wire carries (the lab kernel has no 8021q for a tagged host).
sniff_vlan() { nsx pnhost python3 "$LAB_REPO/tests/lab/tools/vlan-sniff.py" eth0 "$1" 4; }
seen=$( (sleep 0.3; nsx pn1 ping -n -c 2 -W 1 $HOST >/dev/null 2>&1 || true) & sniff_vlan 02:ac:10:ff:00:91) \
  || fail "pnhost saw nothing from pn1"
[ "$seen" = vlan=none ] || fail "untagged localnet: pn1's frames arrive as $seen"
nbctl --wait=hv set logical_switch_port ln-pn tag=100
seen=$( (sleep 0.3; nsx pn1 ping -n -c 2 -W 1 $HOST >/dev/null 2>&1 || true) & sniff_vlan 02:ac:10:ff:00:91) \
  || fail "pnhost saw nothing from pn1 on VLAN 100"
[ "$seen" = vlan=100 ] || fail "localnet tag 100: pn1's frames arrive as $seen"
info "pnhost sees pn1's frames with $seen"
ping_fails pn1 $HOST
step "VLAN 100: pn1@hv1 <-> pn2@hv2 still cross the provider network, tagged both ways"
before=$(nic_packets hv2 eth2)
t0=$(now_ms)
ping_ok pn1 $P2 10
timing "provider: vlan 100 -> cross-host ping" "$t0"
delta=$(( $(nic_packets hv2 eth2) - before ))
(( delta >= 20 )) || fail "hv2 eth2 saw only $delta packets for 10 echo requests + replies on VLAN 100"

step "without the localnet port the VMs still talk over Geneve, pnhost is unreachable"
nbctl --wait=hv lsp-del ln-pn
ping_fails pn1 $HOST
ping_ok pn1 $P2

scenario_exit
