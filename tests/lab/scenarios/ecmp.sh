#!/usr/bin/env bash
# ECMP and discard static routes, and router policies, on a distributed router: lr1 joins ls1 (client@hv1)
# and ls2, where two next-hop "routers" nh1@hv2 and nh2@hv3 both own 10.61.0.1 (on
# their loopback) behind the prefix 10.61.0.0/24. Two routes for that prefix make one
# ECMP group: new connections from the client are spread over both next hops (each
# serves its name over HTTP); deleting one route sends everything to the other. Router
# policies override the routes: a reroute to one next hop, an ECMP reroute to both, a
# drop for TCP only. A route table on the client's router port overrides the main table.
# A static MAC binding resolves a next hop that answers no ARP.
# A discard route drops its prefix at the router.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin ecmp

NET1=172.16.61 NET2=172.16.62 DEST=10.61.0.1
C=$NET1.11 NH1=$NET2.21 NH2=$NET2.22

# serve <vm>: python's HTTP server on the shared destination address, answering with
# the VM's name.
serve() {
  local vm=$1 dir
  dir=$(vm_dir "$vm")/www
  mkdir -p "$dir"; echo "$vm" > "$dir/index.html"
  vm_bg "$vm" http python3 -m http.server 8000 --bind $DEST --directory "$dir"
}
# answers <n>: who served each of <n> new connections to DEST, counted ("12 nh1").
answers() {
  local i
  for (( i = 0; i < $1; i++ )); do
    nsx client curl -s --max-time 2 "http://$DEST:8000/" || echo "no-answer"
  done | sort | uniq -c | sed 's/^ *//'
}

step "lr1: ls1 (client@hv1) -- ls2 (nh1@hv2, nh2@hv3, both owning $DEST)"
on_cleanup nbctl --if-exists lr-del lr1
on_cleanup nbctl --if-exists ls-del ls2
on_cleanup nbctl --if-exists ls-del ls1
nbctl ls-add ls1 -- ls-add ls2 -- lr-add lr1
nbctl lrp-add lr1 lr1-ls1 02:ac:10:3d:01:01 $NET1.1/24
nbctl lrp-add lr1 lr1-ls2 02:ac:10:3e:01:01 $NET2.1/24
link_router ls1 ls1-lr1 lr1-ls1
link_router ls2 ls2-lr1 lr1-ls2
vm_port ls1 ls1-client 02:ac:10:3d:00:11 $C
# Next hops forward for others: no port security on their source addresses.
nbctl lsp-add ls2 ls2-nh1 -- lsp-set-addresses ls2-nh1 "02:ac:10:3e:00:21 $NH1"
nbctl lsp-add ls2 ls2-nh2 -- lsp-set-addresses ls2-nh2 "02:ac:10:3e:00:22 $NH2"
add_vm client hv1 02:ac:10:3d:00:11 $C/24 ls1-client
add_vm nh1 hv2 02:ac:10:3e:00:21 $NH1/24 ls2-nh1
add_vm nh2 hv3 02:ac:10:3e:00:22 $NH2/24 ls2-nh2
for vm in nh1 nh2; do
  nsx $vm ip addr add $DEST/32 dev lo
  route_via $vm $NET2.1 $NET1.0/24
  serve $vm
done
route_via client $NET1.1 10.61.0.0/24 10.62.0.0/24
wait_bound ls1-client hv1; wait_bound ls2-nh1 hv2; wait_bound ls2-nh2 hv3

step "one route: every connection goes to nh1"
nbctl lr-route-add lr1 10.61.0.0/24 $NH1
nbctl --wait=hv sync
wait_for 10 "$DEST answering" nsx client curl -s --max-time 2 "http://$DEST:8000/" \
  || fail "no HTTP answer from $DEST via lr1 and nh1"
out=$(answers 6); info "6 connections: $(echo $out)"
[ "$out" = "6 nh1" ] || fail "with one route all connections must reach nh1: $out"

step "ECMP: a second route for the prefix spreads new connections over nh1 and nh2"
nbctl --wait=hv --ecmp lr-route-add lr1 10.61.0.0/24 $NH2
nbctl lr-route-list lr1 | sed 's/^/    /'
nbctl lr-route-list lr1 | has -E "10\.61\.0\.0/24 +$NH2 +dst-ip +ecmp" || fail "lr-route-list does not mark the ECMP route"
t0=$(now_ms)
out=$(answers 24); info "24 connections: $(echo $out)"
has -x "[0-9]* nh1" <<<"$out" || fail "no connection reached nh1 over ECMP: $out"
has -x "[0-9]* nh2" <<<"$out" || fail "no connection reached nh2 over ECMP: $out"
! has no-answer <<<"$out" || fail "some connections got no answer over ECMP: $out"

step "deleting nh1's route sends everything to nh2"
nbctl --wait=hv lr-route-del lr1 10.61.0.0/24 $NH1
out=$(answers 6); info "6 connections: $(echo $out)"
[ "$out" = "6 nh2" ] || fail "with nh1's route gone all connections must reach nh2: $out"

step "router policies: reroute to nh1 against the route to nh2, then to both, then drop TCP"
nbctl --wait=hv lr-policy-add lr1 1000 "ip4.dst == 10.61.0.0/24" reroute $NH1
nbctl lr-policy-list lr1 | sed 's/^/    /'
out=$(answers 6); info "6 connections: $(echo $out)"
[ "$out" = "6 nh1" ] || fail "the reroute policy must send all connections to nh1: $out"
nbctl lr-policy-del lr1 1000
nbctl --wait=hv lr-policy-add lr1 1000 "ip4.dst == 10.61.0.0/24" reroute $NH1,$NH2
out=$(answers 24); info "24 connections: $(echo $out)"
has -x "[0-9]* nh1" <<<"$out" || fail "no connection reached nh1 over the ECMP policy: $out"
has -x "[0-9]* nh2" <<<"$out" || fail "no connection reached nh2 over the ECMP policy: $out"
nbctl --wait=hv lr-policy-add lr1 2000 "ip4.dst == 10.61.0.0/24 && tcp" drop
out=$(answers 2); info "2 connections: $(echo $out)"
[ "$out" = "2 no-answer" ] || fail "the drop policy must stop TCP to $DEST: $out"
ping_ok client $DEST 2
nbctl --wait=hv lr-policy-del lr1
out=$(answers 4); info "without policies, 4 connections: $(echo $out)"
[ "$out" = "4 nh2" ] || fail "with the policies gone the route to nh2 must apply again: $out"

step "route table t1 on ls1's router port: its route to nh1 wins over the main table's to nh2"
nbctl lrp-set-options lr1-ls1 route_table=t1
nbctl --wait=hv --route-table=t1 lr-route-add lr1 10.61.0.0/24 $NH1
out=$(answers 6); info "6 connections: $(echo $out)"
[ "$out" = "6 nh1" ] || fail "packets from ls1 must follow route table t1 to nh1: $out"
nbctl --wait=hv lrp-set-options lr1-ls1
out=$(answers 4); info "port back on the main table, 4 connections: $(echo $out)"
[ "$out" = "4 nh2" ] || fail "without its route table ls1's packets must follow the main table to nh2: $out"
nbctl --route-table=t1 lr-route-del lr1 10.61.0.0/24

step "static MAC binding: a next hop nobody answers ARP for, bound to nh1's MAC"
nbctl lr-route-del lr1 10.61.0.0/24
nbctl --wait=hv lr-route-add lr1 10.61.0.0/24 $NET2.99
out=$(answers 2); info "next hop $NET2.99 unresolved, 2 connections: $(echo $out)"
[ "$out" = "2 no-answer" ] || fail "a next hop nobody answers ARP for must not route: $out"
nbctl --wait=hv static-mac-binding-add lr1-ls2 $NET2.99 02:ac:10:3e:00:21
nbctl static-mac-binding-list | sed 's/^/    /'
[ "$(sbctl --bare --columns=mac find static_mac_binding logical_port=lr1-ls2)" = 02:ac:10:3e:00:21 ] \
  || fail "SB has no Static_MAC_Binding for lr1-ls2 $NET2.99"
out=$(answers 4); info "bound statically to nh1's MAC, 4 connections: $(echo $out)"
[ "$out" = "4 nh1" ] || fail "with the static MAC binding connections must reach nh1: $out"
nbctl --wait=hv static-mac-binding-del lr1-ls2 $NET2.99
[ -z "$(sbctl --bare --columns=mac find static_mac_binding logical_port=lr1-ls2)" ] \
  || fail "SB keeps the Static_MAC_Binding after static-mac-binding-del"
nbctl lr-route-del lr1 10.61.0.0/24
nbctl --wait=hv lr-route-add lr1 10.61.0.0/24 $NH2

step "a discard route drops its prefix at the router"
for vm in nh1 nh2; do nsx $vm ip addr add 10.62.0.1/32 dev lo; done
nbctl --wait=hv lr-route-add lr1 10.62.0.0/24 $NH2
ping_ok client 10.62.0.1 2
nbctl --wait=hv lr-route-del lr1 10.62.0.0/24
nbctl --wait=hv lr-route-add lr1 10.62.0.0/24 discard
ping_fails client 10.62.0.1
ping_ok client $DEST 2
