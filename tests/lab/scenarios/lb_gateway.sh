#!/usr/bin/env bash
# Seed 004, load balancer on a gateway router: gw1 (options:chassis=hv1) joins
# ls-ext (the client, gw-client@hv2) and ls-web (backends gw-web1@hv2 and
# gw-web2@hv3, each serving its name over HTTP). The LB is made as in the seed,
# with the generic `create load_balancer vips:VIP="B1,B2"` (no ports: every
# port of the VIP goes to the backends' same port) and attached with
# `set logical_router gw1 load_balancer=$uuid`. gw1's ports and their peers
# are l3gateway Port_Bindings on hv1, so every packet crosses hv1, where alone
# the router pipeline (and the LB's DNAT) runs. No physical network: the
# client routes the VIP via gw1, the backends route the client's subnet via gw1.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin lb_gateway

EXT_NET=172.16.50 WEB_NET=172.16.60
VIP=172.16.150.100
C=$EXT_NET.31 W1=$WEB_NET.21 W2=$WEB_NET.22
GW_HV=hv1
LB_UUID=""

# The LB goes last, after gw1 (which references it) is gone.
drop_lb() { [ -z "$LB_UUID" ] || nbctl --if-exists destroy load_balancer "$LB_UUID"; }
on_cleanup drop_lb

# serve <vm>: python's HTTP server in the backend, answering with the VM's name.
serve() {
  local vm=$1 dir
  dir=$(vm_dir "$vm")/www
  mkdir -p "$dir"; echo "backend $vm" > "$dir/index.html"
  vm_bg "$vm" http python3 -m http.server 8000 --bind "$(vm_ip "$vm")" --directory "$dir"
}
get() { nsx gw-client curl -s --max-time 2 "http://$1:8000/"; }

# pb_col <port> <column>: one column of a Port_Binding, bare.
pb_col() { sbctl --bare --columns="$2" find Port_Binding logical_port="$1"; }
is_l3gw_on() {
  [ "$(pb_col "$1" type)" = l3gateway ] && is_bound_to "$1" "$2" \
    && pb_col "$1" options | has -w "l3gateway-chassis=$2"
}

step "gw1 (chassis=$GW_HV) between ls-ext (gw-client@hv2) and ls-web (gw-web1@hv2, gw-web2@hv3)"
gateway_router $GW_HV ext 02:ac:10:ff:02:01 $EXT_NET web 02:ac:10:ff:02:02 $WEB_NET
vm_port ls-ext ls-ext-client 02:ac:10:ff:00:51 $C
vm_port ls-web ls-web-web1 02:ac:10:ff:00:61 $W1
vm_port ls-web ls-web-web2 02:ac:10:ff:00:62 $W2
t0=$(now_ms)
add_vm gw-client hv2 02:ac:10:ff:00:51 $C/24 ls-ext-client
add_vm gw-web1 hv2 02:ac:10:ff:00:61 $W1/24 ls-web-web1
add_vm gw-web2 hv3 02:ac:10:ff:00:62 $W2/24 ls-web-web2
route_via gw-client $EXT_NET.1 $WEB_NET.0/24 $VIP/32
route_via gw-web1 $WEB_NET.1 $EXT_NET.0/24
route_via gw-web2 $WEB_NET.1 $EXT_NET.0/24
serve gw-web1; serve gw-web2
wait_bound ls-ext-client hv2; wait_bound ls-web-web1 hv2; wait_bound ls-web-web2 hv3

step "gw1's ports and their peers are l3gateway Port_Bindings bound to $GW_HV"
for p in gw1-ext gw1-web ls-ext-gw1 ls-web-gw1; do
  wait_for 15 "$p l3gateway on $GW_HV" is_l3gw_on $p $GW_HV \
    || fail "Port_Binding $p: type '$(pb_col $p type)', chassis '$(bound_chassis $p)', options '$(pb_col $p options)'; expected l3gateway on $GW_HV"
  info "Port_Binding $p: type l3gateway, chassis $GW_HV"
done
nbctl --wait=hv sync
timing "lb_gateway: topology up, l3gateway ports bound" "$t0"

step "gw1 answers on its ports; backends answer directly (TCP through gw1 on $GW_HV)"
t0=$(now_ms)
ping_ok gw-client $EXT_NET.1
ping_ok gw-web1 $WEB_NET.1
wait_for 10 "gw-web1 serving" get $W1 || fail "no HTTP answer from gw-web1 ($W1) via gw1"
wait_for 10 "gw-web2 serving" get $W2 || fail "no HTTP answer from gw-web2 ($W2) via gw1"
timing "lb_gateway: backends reachable over HTTP via gw1" "$t0"
info "client -> web1: $(get $W1)"
info "client -> web2: $(get $W2)"
if get $VIP >/dev/null; then fail "VIP $VIP answers before any LB exists"; fi

step "LB as in the seed: create load_balancer vips:$VIP=\"$W1,$W2\"; set logical_router gw1 load_balancer=\$uuid"
t0=$(now_ms)
LB_UUID=$(nbctl create load_balancer vips:$VIP="$W1,$W2")
[[ $LB_UUID =~ ^[0-9a-f-]{36}$ ]] || fail "create load_balancer printed '$LB_UUID', not a UUID"
info "load_balancer $LB_UUID"
nbctl set logical_router gw1 load_balancer="$LB_UUID"
nbctl --wait=hv sync
out=$(nbctl lr-lb-list gw1); printf '%s\n' "$out" | sed 's/^/    /'
printf '%s\n' "$out" | grep "^$LB_UUID" | grep -F "$VIP" | has -F "$W1,$W2" \
  || fail "lr-lb-list gw1 does not list $LB_UUID with $VIP -> $W1,$W2"
out=$(nbctl lb-list); printf '%s\n' "$out" | sed 's/^/    /'
printf '%s\n' "$out" | grep "^$LB_UUID" | grep -F "$VIP" | has -F "$W1,$W2" \
  || fail "lb-list does not list $LB_UUID with $VIP -> $W1,$W2"
out=$(sbctl lflow-list gw1 | grep -F "$VIP" | grep -E 'lr_in_(defrag|dnat)' || true)
printf '%s\n' "$out" | sed 's/^/    /'
printf '%s\n' "$out" | has lr_in_dnat || fail "no lr_in_dnat flow for $VIP in gw1's logical flows"
wait_for 10 "VIP answers" get $VIP || fail "no HTTP answer from VIP $VIP:8000"
timing "lb_gateway: lb attached -> VIP answers" "$t0"

step "the VIP is served by both backends"
seen1=0 seen2=0 n=0
while (( n < 30 )) && (( seen1 == 0 || seen2 == 0 )); do
  n=$(( n + 1 ))
  rc=0; out=$(get $VIP) || rc=$?
  [ $rc = 0 ] || fail "request $n to $VIP:8000 failed (curl rc $rc)"
  info "request $n: $out"
  case $out in
    "backend gw-web1") seen1=$(( seen1 + 1 )) ;;
    "backend gw-web2") seen2=$(( seen2 + 1 )) ;;
    *) fail "unexpected answer from the VIP: '$out'" ;;
  esac
done
(( seen1 > 0 && seen2 > 0 )) || fail "after $n requests: gw-web1 answered $seen1, gw-web2 $seen2; both must"
info "both backends answered within $n requests"

step "lb_force_snat_ip=router_ip: load balanced connections reach the backends from gw1's address"
# sources_since <n1> <n2>: client addresses of the backends' HTTP log lines after line n1
# (gw-web1) and n2 (gw-web2), one per line.
log_lines() { wc -l < "$(vm_dir "$1")/http.log"; }
sources_since() {
  { tail -n +$(( $1 + 1 )) "$(vm_dir gw-web1)/http.log"; tail -n +$(( $2 + 1 )) "$(vm_dir gw-web2)/http.log"; } \
    | awk '/"GET / {print $1}'
}
vip_sources() {
  local n1 n2 i
  n1=$(log_lines gw-web1) n2=$(log_lines gw-web2)
  for i in 1 2 3 4; do get $VIP >/dev/null || fail "VIP request $i failed"; done
  sources_since "$n1" "$n2" | sort | uniq -c | sed 's/^ *//'
}
out=$(vip_sources); info "without force SNAT the backends see: $(echo $out)"
[ "$out" = "4 $C" ] || fail "without force SNAT the backends must see the client $C: $out"
nbctl --wait=hv set logical_router gw1 options:lb_force_snat_ip=router_ip
out=$(vip_sources); info "with lb_force_snat_ip=router_ip: $(echo $out)"
[ "$out" = "4 $WEB_NET.1" ] || fail "with lb_force_snat_ip=router_ip the backends must see gw1's $WEB_NET.1: $out"
n1=$(log_lines gw-web1) n2=$(log_lines gw-web2)
get $W1 >/dev/null || fail "direct request to gw-web1 failed with lb_force_snat_ip"
[ "$(sources_since "$n1" "$n2")" = "$C" ] || fail "a direct (not load balanced) request must keep the client's address"
nbctl --wait=hv remove logical_router gw1 options lb_force_snat_ip
out=$(vip_sources)
[ "$out" = "4 $C" ] || fail "with the option removed the backends must see the client $C again: $out"

step "clear logical_router gw1 load_balancer: the VIP is dead"
nbctl --wait=hv clear logical_router gw1 load_balancer
[ -z "$(nbctl lr-lb-list gw1)" ] || fail "lr-lb-list gw1 still lists an LB after clear"
if get $VIP >/dev/null; then fail "VIP still answers after clear logical_router gw1 load_balancer"; fi
info "VIP no longer answers; the backends still do directly: $(get $W1), $(get $W2)"

step "destroy load_balancer removes it"
nbctl destroy load_balancer "$LB_UUID"
if nbctl --bare --columns=_uuid list load_balancer | has -x "$LB_UUID"; then
  fail "Load_Balancer $LB_UUID is left after destroy"
fi
if nbctl lb-list | has -F "$VIP"; then fail "lb-list still shows $VIP after destroy"; fi
LB_UUID=""
info "Load_Balancer row gone"
