#!/usr/bin/env bash
# Seed 003's Neutron router with an external gateway: distributed router lr-d joins a
# tenant switch ls-t (t1@hv2, t2@hv3) and the provider network ls-pub (localnet on
# physnet1, where pnhost lives and knows no route to the tenant subnet). lr-d's port on
# ls-pub is a distributed gateway port pinned to hv1 (Gateway_Chassis priority 20, hv2
# 10): the tenant VMs reach pnhost through SNAT on hv1, a floating IP makes t2
# reachable from pnhost, a distributed one (logical_port + external_mac) reaches t1 on
# its own chassis, and raising hv2's priority moves the cr- binding and the traffic to
# hv2.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin dgw

PUB_NET=172.16.100 T_NET=172.16.110
HOST=$PUB_NET.100 GW=$PUB_NET.1 FIP=$PUB_NET.50 DFIP=$PUB_NET.51 T1=$T_NET.11 T2=$T_NET.12

# carried <a> <b> <cmd>...: runs <cmd>; DA and DB are the packets <a>'s and <b>'s
# provider NICs carried meanwhile.
carried() {
  local a=$1 b=$2 ba bb
  shift 2
  ba=$(nic_packets "$a" eth2) bb=$(nic_packets "$b" eth2)
  "$@"
  DA=$(( $(nic_packets "$a" eth2) - ba )) DB=$(( $(nic_packets "$b" eth2) - bb ))
}

# via_gateway <gw> <other> <vm> <n>: <vm> pings pnhost <n> times; the requests and
# replies cross <gw>'s provider NIC, (almost) nothing crosses <other>'s.
via_gateway() {
  local gw=$1 other=$2 vm=$3 n=$4
  carried "$gw" "$other" ping_ok "$vm" $HOST "$n"
  info "for $n pings from $vm $gw's provider NIC carried $DA packets, $other's $DB"
  (( DA >= 2 * n )) || fail "$gw eth2 saw only $DA packets: the gateway is not on $gw"
  (( DB < n / 2 )) || fail "$other eth2 carried $DB packets while $gw is the gateway"
}

step "provider network physnet1 with pnhost $HOST; lr-d between ls-pub and ls-t (t1@hv2, t2@hv3)"
provider_network physnet1
nsx pnhost ip addr add $HOST/24 dev eth0
on_cleanup nbctl --if-exists lr-del lr-d
on_cleanup nbctl --if-exists ls-del ls-t
on_cleanup nbctl --if-exists ls-del ls-pub
nbctl ls-add ls-pub -- ls-add ls-t -- lr-add lr-d
nbctl lsp-add ls-pub ln-pub -- lsp-set-type ln-pub localnet -- lsp-set-addresses ln-pub unknown \
  -- lsp-set-options ln-pub network_name=physnet1
nbctl lrp-add lr-d lr-d-pub 02:ac:10:ff:0a:01 $GW/24
nbctl lrp-add lr-d lr-d-t 02:ac:10:ff:0b:01 $T_NET.1/24
link_router ls-pub ls-pub-lr-d lr-d-pub
nbctl lsp-set-options ls-pub-lr-d router-port=lr-d-pub nat-addresses=router
link_router ls-t ls-t-lr-d lr-d-t
nbctl lrp-set-gateway-chassis lr-d-pub hv1 20
nbctl lrp-set-gateway-chassis lr-d-pub hv2 10
nbctl lr-route-add lr-d 0.0.0.0/0 $HOST
vm_port ls-t ls-t-t1 02:ac:10:ff:0b:11 $T1
vm_port ls-t ls-t-t2 02:ac:10:ff:0b:12 $T2
add_vm t1 hv2 02:ac:10:ff:0b:11 $T1/24 ls-t-t1
add_vm t2 hv3 02:ac:10:ff:0b:12 $T2/24 ls-t-t2
route_via t1 $T_NET.1 $PUB_NET.0/24
route_via t2 $T_NET.1 $PUB_NET.0/24
wait_bound ls-t-t1 hv2; wait_bound ls-t-t2 hv3
wait_bound cr-lr-d-pub hv1
nbctl --wait=hv sync
info "cr-lr-d-pub on $(bound_chassis cr-lr-d-pub)"

step "the gateway port answers on hv1 only; no NAT yet: pnhost has no route back"
ping_ok pnhost $GW
ping_ok t1 $T_NET.1
ping_fails t1 $HOST

step "SNAT $T_NET.0/24 -> $GW: the tenant VMs reach pnhost through hv1"
t0=$(now_ms)
nbctl --wait=hv lr-nat-add lr-d snat $GW $T_NET.0/24
wait_for 10 "t1 reaches pnhost" ping_ok t1 $HOST 1 || fail "t1 cannot reach pnhost through SNAT"
timing "dgw: snat added -> pnhost answers" "$t0"
via_gateway hv1 hv2 t1 10
via_gateway hv1 hv2 t2 10

step "floating IP $FIP for t2 (dnat_and_snat): pnhost reaches t2"
nbctl --wait=hv lr-nat-add lr-d dnat_and_snat $FIP $T2
wait_for 10 "pnhost reaches t2's floating IP" ping_ok pnhost $FIP 1 || fail "pnhost cannot reach $FIP"
ping_ok pnhost $FIP 5

step "distributed floating IP $DFIP for t1 (logical_port + external_mac): served on t1's chassis hv2, not the gateway hv1"
nbctl --wait=hv lr-nat-add lr-d dnat_and_snat $DFIP $T1 ls-t-t1 02:ac:10:ff:0a:51
wait_for 10 "pnhost reaches t1's floating IP" ping_ok pnhost $DFIP 1 || fail "pnhost cannot reach $DFIP"
carried hv2 hv1 ping_ok pnhost $DFIP 10
info "for 10 pings to $DFIP hv2's provider NIC carried $DA packets, the gateway hv1's $DB"
(( DA >= 20 )) || fail "hv2 eth2 saw only $DA packets: $DFIP is not served on t1's chassis"
(( DB < 5 )) || fail "the gateway hv1 carried $DB packets of a distributed floating IP"
nsx pnhost ip neigh show $DFIP | has 02:ac:10:ff:0a:51 || fail "pnhost does not see $DFIP at its external MAC"
nbctl --wait=hv lr-nat-del lr-d dnat_and_snat $DFIP

step "gateway chassis hv2 at priority 30: cr-lr-d-pub moves to hv2, traffic follows"
t0=$(now_ms)
nbctl lrp-set-gateway-chassis lr-d-pub hv2 30
wait_bound cr-lr-d-pub hv2
nbctl --wait=hv sync
wait_for 15 "t1 reaches pnhost via hv2" ping_ok t1 $HOST 1 || fail "t1 cannot reach pnhost after the move"
timing "dgw: gateway moved -> pnhost answers" "$t0"
wait_for 15 "pnhost reaches the floating IP via hv2" ping_ok pnhost $FIP 1 || fail "no FIP after the move"
via_gateway hv2 hv1 t1 10

step "without the floating IP pnhost cannot reach t2"
nbctl --wait=hv lr-nat-del lr-d dnat_and_snat $FIP
ping_fails pnhost $FIP

scenario_exit
