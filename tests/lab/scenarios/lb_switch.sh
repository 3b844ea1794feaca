#!/usr/bin/env bash
# Seed 004, load balancer on the client's logical switch: VIP 172.16.100.100:8000
# on ls2, where the client is; backends web1@hv2 and web2@hv3 on ls1 behind lr1,
# each serving its name over HTTP. Requests to the VIP are answered, by both.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin lb_switch

VIP=172.16.100.100
W1=$LS1_NET.21 W2=$LS1_NET.22 C=$LS2_NET.31

# serve <vm>: python's HTTP server in the backend, answering with the VM's name.
serve() {
  local vm=$1 dir
  dir=$(vm_dir "$vm")/www
  mkdir -p "$dir"; echo "backend $vm" > "$dir/index.html"
  vm_bg "$vm" http python3 -m http.server 8000 --bind "$(vm_ip "$vm")" --directory "$dir"
}
get() { nsx client curl -s --max-time 2 "http://$1:8000/"; }

step "ls1 (web1@hv2, web2@hv3) -- lr1 -- ls2 (client@hv1)"
two_switches_one_router
vm_port ls1 ls1-web1 02:ac:10:ff:00:21 $W1
vm_port ls1 ls1-web2 02:ac:10:ff:00:22 $W2
vm_port ls2 ls2-client 02:ac:10:ff:00:31 $C
add_vm web1 hv2 02:ac:10:ff:00:21 $W1/24 ls1-web1
add_vm web2 hv3 02:ac:10:ff:00:22 $W2/24 ls1-web2
add_vm client hv1 02:ac:10:ff:00:31 $C/24 ls2-client
route_via web1 $LS1_NET.1 $LS2_NET.0/24
route_via web2 $LS1_NET.1 $LS2_NET.0/24
route_via client $LS2_NET.1 $LS1_NET.0/24 $VIP/32
serve web1; serve web2
wait_bound ls1-web1 hv2; wait_bound ls1-web2 hv3; wait_bound ls2-client hv1

step "backends answer directly (TCP through lr1 and Geneve)"
t0=$(now_ms)
wait_for 10 "web1 serving" get $W1 || fail "no HTTP answer from web1 ($W1) via lr1"
wait_for 10 "web2 serving" get $W2 || fail "no HTTP answer from web2 ($W2) via lr1"
timing "lb_switch: backends reachable over HTTP" "$t0"
info "client -> web1: $(get $W1)"
info "client -> web2: $(get $W2)"

step "lb1: $VIP:8000 -> web1, web2, on the client's switch ls2"
t0=$(now_ms)
on_cleanup nbctl --if-exists lb-del lb1
nbctl lb-add lb1 $VIP:8000 "$W1:8000,$W2:8000" tcp
nbctl ls-lb-add ls2 lb1
nbctl --wait=hv sync
nbctl lb-list
nbctl ls-lb-list ls2 | has lb1 || fail "ls-lb-list ls2 does not list lb1"
wait_for 10 "VIP answers" get $VIP || fail "no HTTP answer from VIP $VIP:8000"
timing "lb_switch: lb attached -> VIP answers" "$t0"

step "the VIP is served by both backends"
seen1=0 seen2=0 n=0
while (( n < 30 )) && (( seen1 == 0 || seen2 == 0 )); do
  n=$(( n + 1 ))
  out=$(get $VIP) || fail "request $n to $VIP:8000 failed (curl rc $?)"
  info "request $n: $out"
  case $out in
    "backend web1") seen1=$(( seen1 + 1 )) ;;
    "backend web2") seen2=$(( seen2 + 1 )) ;;
    *) fail "unexpected answer from the VIP: '$out'" ;;
  esac
done
(( seen1 > 0 && seen2 > 0 )) || fail "after $n requests: web1 answered $seen1, web2 $seen2; both must"
info "both backends answered within $n requests"

step "without the LB the VIP is dead"
nbctl --wait=hv ls-lb-del ls2 lb1
if get $VIP >/dev/null; then fail "VIP still answers after ls-lb-del"; fi
info "VIP no longer answers"

step "lb1 through a load balancer group on ls2 (as ovn-kubernetes attaches services)"
grp=$(nbctl create load_balancer_group name=lbg-web)
on_cleanup nbctl --if-exists destroy load_balancer_group "$grp"
nbctl add load_balancer_group "$grp" load_balancer "$(nbctl --bare --columns=_uuid find load_balancer name=lb1)"
nbctl --wait=hv add logical_switch ls2 load_balancer_group "$grp"
wait_for 10 "VIP answers through the group" get $VIP || fail "no HTTP answer from VIP $VIP:8000 through lbg-web"
info "through the group: $(get $VIP)"
nbctl --wait=hv clear load_balancer_group "$grp" load_balancer
if get $VIP >/dev/null; then fail "VIP still answers after lb1 left the group"; fi
info "lb1 out of the group: VIP no longer answers"
nbctl remove logical_switch ls2 load_balancer_group "$grp"
