#!/usr/bin/env bash
# Seed 003's NAT on a gateway router: gw1 (options:chassis=hv1) joins ls-out, where
# "outside"@hv2 stands for the external network (it has no route to the inner
# subnet), and ls-in with in1@hv3 and in2@hv2. SNAT lets the inner subnet reach
# outside as gw1's address; a floating IP (dnat_and_snat) makes in2 reachable from
# outside and gives its own traffic that address; deleting the rule takes it away.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin nat

OUT_NET=172.16.70 IN_NET=172.16.80
O=$OUT_NET.31 I1=$IN_NET.11 I2=$IN_NET.12 FIP=$OUT_NET.50

# outside answers HTTP with the source address it saw.
serve_peer() {
  local ip=$1
  vm_bg outside peer python3 -c "
import http.server as h
class H(h.BaseHTTPRequestHandler):
    def do_GET(s):
        s.send_response(200); s.end_headers(); s.wfile.write(s.client_address[0].encode())
    def log_message(s, *a): pass
h.HTTPServer(('$ip', 8000), H).serve_forever()"
}
seen_as() { nsx "$1" curl -s --max-time 2 "http://$O:8000/"; }

step "gw1 (chassis=hv1) between ls-out (outside@hv2) and ls-in (in1@hv3, in2@hv2)"
gateway_router hv1 out 02:ac:10:ff:03:01 $OUT_NET in 02:ac:10:ff:03:02 $IN_NET
vm_port ls-out ls-out-outside 02:ac:10:ff:00:71 $O
vm_port ls-in ls-in-in1 02:ac:10:ff:00:81 $I1
vm_port ls-in ls-in-in2 02:ac:10:ff:00:82 $I2
add_vm outside hv2 02:ac:10:ff:00:71 $O/24 ls-out-outside
add_vm in1 hv3 02:ac:10:ff:00:81 $I1/24 ls-in-in1
add_vm in2 hv2 02:ac:10:ff:00:82 $I2/24 ls-in-in2
route_via in1 $IN_NET.1 $OUT_NET.0/24
route_via in2 $IN_NET.1 $OUT_NET.0/24
serve_peer $O
wait_bound ls-out-outside hv2; wait_bound ls-in-in1 hv3; wait_bound ls-in-in2 hv2
ping_ok outside $OUT_NET.1
ping_ok in1 $IN_NET.1

step "no NAT: outside cannot answer the inner subnet (no route back)"
ping_fails in1 $O

step "SNAT $IN_NET.0/24 -> $OUT_NET.1: the inner VMs reach outside as gw1"
t0=$(now_ms)
nbctl --wait=hv lr-nat-add gw1 snat $OUT_NET.1 $IN_NET.0/24
nbctl lr-nat-list gw1
ping_ok in1 $O
timing "nat: snat added -> outside answers" "$t0"
wait_for 10 "outside serving" seen_as in1 || fail "no HTTP answer from outside"
src=$(seen_as in1); [ "$src" = $OUT_NET.1 ] || fail "outside saw in1 as '$src', expected $OUT_NET.1"
info "outside sees in1 as $src"
src=$(seen_as in2); [ "$src" = $OUT_NET.1 ] || fail "outside saw in2 as '$src', expected $OUT_NET.1"
info "outside sees in2 as $src"

step "floating IP $FIP for in2 (dnat_and_snat)"
ping_fails outside $FIP
# Linux leaves a FAILED neighbour entry that it does not re-probe for a while (with
# ovn-controller as with rovn); a real upstream router would retry later.
nsx outside ip neigh flush to $FIP
t0=$(now_ms)
nbctl --wait=hv lr-nat-add gw1 dnat_and_snat $FIP $I2
nbctl lr-nat-list gw1
ping_ok outside $FIP
timing "nat: floating IP added -> answers from outside" "$t0"
src=$(seen_as in2); [ "$src" = $FIP ] || fail "outside saw in2 as '$src', expected its floating IP $FIP"
info "outside sees in2 as $src (its floating IP), in1 still as $(seen_as in1)"
[ "$(seen_as in1)" = $OUT_NET.1 ] || fail "in1 lost its SNAT address"

step "the floating IP removed: unreachable from outside again, in2 back behind SNAT"
nbctl --wait=hv lr-nat-del gw1 dnat_and_snat $FIP
ping_fails outside $FIP
src=$(seen_as in2); [ "$src" = $OUT_NET.1 ] || fail "outside saw in2 as '$src' after lr-nat-del, expected $OUT_NET.1"
info "outside sees in2 as $src"

step "IPv6 (dual stack): SNAT of the inner IPv6 subnet, then an IPv6 floating IP for in2"
OUT6=fd00:70 IN6=fd00:80 O6=fd00:70::31 FIP6=fd00:70::50
v6_vm() {
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
    net.ipv6.conf.eth0.disable_ipv6=0
  nsx "$1" ip -6 addr add "$2/64" dev eth0 nodad
}
nbctl set logical_router_port gw1-out networks="\"$OUT_NET.1/24\" \"$OUT6::1/64\""
nbctl set logical_router_port gw1-in networks="\"$IN_NET.1/24\" \"$IN6::1/64\""
for p in "ls-out-outside 02:ac:10:ff:00:71 $O $O6" "ls-in-in1 02:ac:10:ff:00:81 $I1 $IN6::11" \
         "ls-in-in2 02:ac:10:ff:00:82 $I2 $IN6::12"; do
  set -- $p
  nbctl lsp-set-addresses "$1" "$2 $3 $4" -- lsp-set-port-security "$1" "$2 $3 $4"
done
v6_vm outside $O6; v6_vm in1 $IN6::11; v6_vm in2 $IN6::12
for vm in in1 in2; do nsx $vm ip -6 route add $OUT6::/64 via $IN6::1; done
vm_bg outside peer6 python3 -c "
import http.server as h, socket
class S(h.HTTPServer):
    address_family = socket.AF_INET6
class H(h.BaseHTTPRequestHandler):
    def do_GET(s):
        s.send_response(200); s.end_headers(); s.wfile.write(s.client_address[0].encode())
    def log_message(s, *a): pass
S(('$O6', 8000), H).serve_forever()"
seen6_as() { nsx "$1" curl -s -g --max-time 2 "http://[$O6]:8000/"; }
nbctl --wait=hv lr-nat-add gw1 snat $OUT6::1 $IN6::/64
nbctl lr-nat-list gw1 | sed 's/^/    /'
wait_for 10 "outside answers in1 over IPv6" seen6_as in1 || fail "no HTTP answer over IPv6 behind IPv6 SNAT"
src=$(seen6_as in1); [ "$src" = $OUT6::1 ] || fail "outside saw in1 as '$src', expected $OUT6::1"
info "outside sees in1 as $src"
nbctl --wait=hv lr-nat-add gw1 dnat_and_snat $FIP6 $IN6::12
wait_for 10 "outside reaches in2's IPv6 floating IP" \
  nsx outside ping -6 -n -c 1 -W 1 $FIP6 || fail "outside cannot reach the IPv6 floating IP $FIP6"
src=$(seen6_as in2); [ "$src" = $FIP6 ] || fail "outside saw in2 as '$src', expected its floating IP $FIP6"
info "outside sees in2 as $src (its IPv6 floating IP), in1 still as $(seen6_as in1)"
