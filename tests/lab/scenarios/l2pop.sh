#!/usr/bin/env bash
# Seed 001: what Neutron needed the l2population agent for, done in flows with no
# agent and no learning. ls1 spans hv1 and hv2, ls2 lives on hv3 only. The central
# bridge's port to each host shows the Geneve traffic between hosts:
#  - an ARP request for a known IP is answered on the asker's host: nothing leaves it;
#  - a broadcast (ARP for an unknown IP) reaches the hosts with ports on ls1 (hv2), not
#    hv3, which has none; once ls1 has a port on hv3, it reaches hv3 too;
#  - unicast to a known MAC goes to its host only.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin l2pop

TOOLS=$LAB_REPO/tests/lab/tools
NET1=172.16.81 NET2=172.16.82
MAC1=02:ac:10:51:00:11 MAC2=02:ac:10:51:00:22 MAC3=02:ac:10:52:00:33 MAC4=02:ac:10:51:00:44

# watch_underlay <name> cmd...: runs cmd while counting the Geneve packets on every
# host's underlay cable (geneve-count.py on the central bridge's ports); the counts
# are left in $LAB/l2pop-<name>.<hv>.
watch_underlay() {
  local name=$1 h f pids=(); shift
  for h in $LAB_HOSTS; do
    f=$LAB/l2pop-$name.$h
    rm -f "$f" "$f.err"
    ip netns exec "$NS_CENTRAL" python3 "$TOOLS/geneve-count.py" "ul-$h" 3 >"$f" 2>"$f.err" &
    pids+=($!)
  done
  for h in $LAB_HOSTS; do
    wait_for 5 "Geneve counter on ul-$h" has -x ready "$LAB/l2pop-$name.$h.err" \
      || fail "geneve-count.py on ul-$h did not start: $(cat "$LAB/l2pop-$name.$h.err")"
  done
  "$@" || true
  wait "${pids[@]}" || fail "geneve-count.py failed"
  for h in $LAB_HOSTS; do sed "s/^/    ul-$h: /" "$LAB/l2pop-$name.$h"; done
}

# geneve_to <name> <hv> <inner-regex>: Geneve packets addressed to <hv> whose inner
# kind matches, during watch <name>.
geneve_to() {
  sed -n "s/^dst=$(hv_ip "$2") inner=\($3\) count=\([0-9]*\)$/\2/p" "$LAB/l2pop-$1.$2" \
    | awk '{ n += $1 } END { print n + 0 }'
}

# arp_probe <vm> <ip>: one ARP request from <vm>; its answer ("is-at MAC" or "no
# reply") goes to $LAB/l2pop-answer.
arp_probe() {
  nsx "$1" python3 "$TOOLS/arp-probe.py" eth0 "$(vm_ip "$1")" "$2" 1.5 >"$LAB/l2pop-answer" || true
  info "$1: who-has $2? $(cat "$LAB/l2pop-answer")"
}

step "ls1 (vm1@hv1, vm2@hv2) and ls2 (vm3@hv3): hv3 has no port on ls1"
on_cleanup nbctl --if-exists ls-del ls2
on_cleanup nbctl --if-exists ls-del ls1
nbctl ls-add ls1 -- ls-add ls2
vm_port ls1 ls1-vm1 $MAC1 $NET1.11
vm_port ls1 ls1-vm2 $MAC2 $NET1.22
vm_port ls2 ls2-vm3 $MAC3 $NET2.33
add_vm vm1 hv1 $MAC1 $NET1.11/24 ls1-vm1
add_vm vm2 hv2 $MAC2 $NET1.22/24 ls1-vm2
add_vm vm3 hv3 $MAC3 $NET2.33/24 ls2-vm3
wait_bound ls1-vm1 hv1; wait_bound ls1-vm2 hv2; wait_bound ls2-vm3 hv3
nbctl --wait=hv sync
wait_for 10 "vm1 reaches vm2" ping_ok vm1 $NET1.22 1 || fail "vm1 cannot reach vm2"

step "ARP for a known IP is answered on the asker's host; nothing crosses the underlay"
watch_underlay known arp_probe vm1 $NET1.22
[ "$(cat "$LAB/l2pop-answer")" = "is-at $MAC2" ] || fail "vm1's ARP for vm2 got: $(cat "$LAB/l2pop-answer")"
for h in $LAB_HOSTS; do
  n=$(geneve_to known $h 'arp.*')
  (( n == 0 )) || fail "$n Geneve packets carried an ARP to $h: the known IP was not answered locally"
done

step "a broadcast on ls1 reaches hv2 (ports on ls1) and not hv3 (none)"
watch_underlay bcast arp_probe vm1 $NET1.99
[ "$(cat "$LAB/l2pop-answer")" = "no reply" ] || fail "ARP for an unknown IP got: $(cat "$LAB/l2pop-answer")"
n2=$(geneve_to bcast hv2 "arp tpa=$NET1.99") n3=$(geneve_to bcast hv3 'arp.*')
(( n2 >= 1 )) || fail "the broadcast did not reach hv2, which has ls1-vm2"
(( n3 == 0 )) || fail "the broadcast reached hv3 ($n3 packets), which has no port on ls1"

step "unicast to a known MAC goes to its host only"
watch_underlay unicast ping_ok vm1 $NET1.22 5
n2=$(geneve_to unicast hv2 ip) n3=$(geneve_to unicast hv3 '.*')
(( n2 >= 5 )) || fail "only $n2 of vm1's 5 echo requests reached hv2 over Geneve"
(( n3 == 0 )) || fail "$n3 Geneve packets went to hv3 while vm1 pinged vm2"

step "vm4 on ls1 at hv3: now ls1's broadcasts reach hv3 as well"
vm_port ls1 ls1-vm4 $MAC4 $NET1.44
add_vm vm4 hv3 $MAC4 $NET1.44/24 ls1-vm4
wait_bound ls1-vm4 hv3
nbctl --wait=hv sync
watch_underlay bcast4 arp_probe vm1 $NET1.98
for h in hv2 hv3; do
  n=$(geneve_to bcast4 $h "arp tpa=$NET1.98")
  (( n >= 1 )) || fail "the broadcast did not reach $h, which has a port on ls1"
done
ping_ok vm1 $NET1.44

