#!/usr/bin/env bash
# IPv6 on a dual-stack network: lr6 joins ls6 (fd00:6::/64, a@hv1, b@hv2) and ls7
# (fd00:7::/64, c@hv3). Neighbour discovery for a known address is answered on the
# asking VM's own chassis (nd_na from the switch's ND responder, nd_na_router for
# the router's address); c's IPv6 address is not in NB, so lr6 solicits it (nd_ns)
# and learns it (put_nd → SB MAC_Binding).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin ipv6

A4=172.16.60.11 B4=172.16.60.12 C4=172.16.70.13
A6=fd00:6::11 B6=fd00:6::12 C6=fd00:7::13

# v6_vm <vm> <addr>: the lab's namespaces start without IPv6; this VM gets it,
# without duplicate address detection (it would hold the address back ~1 s).
v6_vm() {
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
    net.ipv6.conf.eth0.disable_ipv6=0
  nsx "$1" ip -6 addr add "$2/64" dev eth0 nodad
}
ping6_ok() {
  local out
  out=$(nsx "$1" ping -6 -n -c 3 -i 0.2 -W 1 -w 5 "$2" 2>&1) \
    || { printf '%s\n' "$out" >&2; fail "ping -6 $1 -> $2 failed"; }
  printf '%s\n' "$out" | grep -E 'packets transmitted' | sed "s/^/    [$1] /"
}
# flow_hits <hv> <text>: packets through br-int's flows whose line contains <text>.
flow_hits() {
  ofctl "$1" -O OpenFlow15 dump-flows br-int | grep -F -- "$2" \
    | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^n_packets=/) { split($i, v, /[=,]/); n += v[2] }} END {print n + 0}'
}
neigh_of() { nsx "$1" ip -6 neigh show "$2" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }

step "lr6 between ls6 (a@hv1, b@hv2) and ls7 (c@hv3), dual-stack"
on_cleanup nbctl --if-exists lr-del lr6
on_cleanup nbctl --if-exists ls-del ls7
on_cleanup nbctl --if-exists ls-del ls6
nbctl ls-add ls6 -- ls-add ls7 -- lr-add lr6
nbctl lrp-add lr6 lr6-ls6 02:ac:10:ff:06:01 172.16.60.1/24 fd00:6::1/64
nbctl lrp-add lr6 lr6-ls7 02:ac:10:ff:07:01 172.16.70.1/24 fd00:7::1/64
link_router ls6 ls6-lr6 lr6-ls6
link_router ls7 ls7-lr6 lr6-ls7
vm_port ls6 ls6-a 02:ac:10:ff:06:11 "$A4 $A6"
vm_port ls6 ls6-b 02:ac:10:ff:06:12 "$B4 $B6"
# c's IPv6 address is unknown to OVN: the router has to discover it.
nbctl lsp-add ls7 ls7-c -- lsp-set-addresses ls7-c "02:ac:10:ff:07:13 $C4"
add_vm a hv1 02:ac:10:ff:06:11 $A4/24 ls6-a
add_vm b hv2 02:ac:10:ff:06:12 $B4/24 ls6-b
add_vm c hv3 02:ac:10:ff:07:13 $C4/24 ls7-c
v6_vm a $A6; v6_vm b $B6; v6_vm c $C6
nsx a ip -6 route add fd00:7::/64 via fd00:6::1
nsx c ip -6 route add fd00:6::/64 via fd00:7::1
wait_bound ls6-a hv1; wait_bound ls6-b hv2; wait_bound ls7-c hv3
nbctl --wait=hv sync

step "a@hv1 -> b@hv2: b's address resolved by the ND responder on hv1"
ping6_ok a $B6
[ "$(neigh_of a $B6)" = 02:ac:10:ff:06:12 ] || fail "a resolved $B6 to '$(neigh_of a $B6)'"
info "a: $B6 is $(neigh_of a $B6)"
n=$(flow_hits hv1 "nd_target=$B6 ")
(( n >= 1 )) || fail "hv1's ND responder for $B6 saw no solicitation: answered elsewhere?"
info "hv1's ND responder for $B6 answered $n solicitation(s)"

step "the router answers on its IPv6 address (nd_na_router, echo reply)"
ping6_ok a fd00:6::1
[ "$(neigh_of a fd00:6::1)" = 02:ac:10:ff:06:01 ] || fail "a resolved fd00:6::1 to '$(neigh_of a fd00:6::1)'"

step "a -> c across lr6: the router solicits c's unknown address (nd_ns) and learns it"
t0=$(now_ms)
ping6_ok a $C6
timing "ipv6: first routed ping incl. neighbour discovery" "$t0"
mb=$(sbctl --bare --columns=mac find MAC_Binding ip="\"$C6\"")
[ "$mb" = 02:ac:10:ff:07:13 ] || fail "no MAC_Binding for $C6 (got '$mb')"
info "SB MAC_Binding: $C6 is $mb"
n=$(flow_hits hv1 "userdata=00.00.00.09")
(( n >= 1 )) || fail "no nd_ns on hv1 (a's chassis, where lr6 routes a's packets)"
ping6_ok c $A6

step "SLAAC: with ipv6_ra_configs on lr6-ls6 a new VM's router solicitation is answered"
nbctl --wait=hv set logical_router_port lr6-ls6 ipv6_ra_configs:address_mode=slaac ipv6_ra_configs:mtu=1400
# MAC only: the address the VM makes for itself is not pinned.
nbctl lsp-add ls6 ls6-s -- lsp-set-addresses ls6-s 02:ac:10:ff:06:15
add_vm s hv2 02:ac:10:ff:06:15 172.16.60.15/24 ls6-s
wait_bound ls6-s hv2
nbctl --wait=hv sync
# The EUI-64 address the prefix fd00:6::/64 gives 02:ac:10:ff:06:15.
S6=fd00:6::ac:10ff:feff:615
nsx s sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
  net.ipv6.conf.eth0.accept_ra=2 net.ipv6.conf.eth0.autoconf=1 net.ipv6.conf.eth0.addr_gen_mode=0 \
  net.ipv6.conf.eth0.disable_ipv6=0
has_slaac() { nsx s ip -6 addr show dev eth0 | has "inet6 $S6/64"; }
t0=$(now_ms)
wait_for 20 "s configures $S6 from the router advertisement" has_slaac \
  || fail "s did not configure $S6: $(nsx s ip -6 addr show dev eth0)"
timing "ipv6: IPv6 enabled -> SLAAC address" "$t0"
mtu=$(nsx s cat /proc/sys/net/ipv6/conf/eth0/mtu)
[ "$mtu" = 1400 ] || fail "the advertised MTU 1400 was not applied (eth0 IPv6 MTU $mtu)"
info "s: $S6 (SLAAC), IPv6 MTU $mtu from the advertisement"
ping6_ok s fd00:6::1

scenario_exit
