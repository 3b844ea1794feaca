#!/usr/bin/env bash
# Mixed overlay: hv3 runs Debian's real ovn-controller beside the lab's other
# chassis (rovn's, by default), on one logical switch: Geneve between the two
# implementations both ways, and a VM migrating from one to the other and back.
# hv3's controller is stopped and a real ovn-controller started in its place (even
# when it already was one, so the swap itself is always exercised), and the
# original implementation is restored after.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin mixed

OVN_HV=hv3
IP1=172.16.255.11 IP2=172.16.255.22 IP3=172.16.255.33
orig=$(cat "$LAB/$OVN_HV/controller.impl")
step "$OVN_HV: $orig controller -> real ovn-controller, taking over chassis $OVN_HV"
on_cleanup restart_controller $OVN_HV "$orig"
restart_controller $OVN_HV ovn
others=""
for h in $LAB_HOSTS; do [ $h = $OVN_HV ] || others+="$h=$(cat "$LAB/$h/controller.impl") "; done
if [[ $others != *rovn* ]]; then
  info "note: the other chassis run OVN too ($others), so this run is not actually mixed"
fi

step "ls1: vm1@hv1, vm2@hv2 ($others), vm3@$OVN_HV (ovn)"
on_cleanup nbctl --if-exists ls-del ls1
nbctl ls-add ls1
vm_port ls1 ls1-vm1 02:ac:10:ff:00:11 $IP1
vm_port ls1 ls1-vm2 02:ac:10:ff:00:22 $IP2
vm_port ls1 ls1-vm3 02:ac:10:ff:00:33 $IP3
add_vm vm1 hv1 02:ac:10:ff:00:11 $IP1/24 ls1-vm1
add_vm vm2 hv2 02:ac:10:ff:00:22 $IP2/24 ls1-vm2
add_vm vm3 $OVN_HV 02:ac:10:ff:00:33 $IP3/24 ls1-vm3
wait_bound ls1-vm1 hv1; wait_bound ls1-vm2 hv2; wait_bound ls1-vm3 $OVN_HV
echo "TIMING mixed: plug -> first vm1->vm3 reply: $(first_reply 15 vm1 $IP3)s"
sbctl show

step "tunnels both ways between the implementations"
for h in hv1 $OVN_HV; do
  info "$h geneve ports: $(vsctl $h --bare --columns=name,options find Interface type=geneve | xargs)"
done
vsctl $OVN_HV --bare --columns=options find Interface type=geneve | has "remote_ip=$(hv_ip hv1)" \
  || fail "$OVN_HV has no Geneve port to hv1"
vsctl hv1 --bare --columns=options find Interface type=geneve | has "remote_ip=$(hv_ip $OVN_HV)" \
  || fail "hv1 has no Geneve port to $OVN_HV"

step "traffic between the chassis"
ping_ok vm1 $IP3
ping_ok vm3 $IP1
ping_ok vm2 $IP3
ping_ok vm3 $IP2

step "migrate vm1 hv1 -> $OVN_HV and back"
t0=$(now_ms)
move_vm vm1 hv1 $OVN_HV
wait_bound ls1-vm1 $OVN_HV
echo "TIMING mixed: migration to $OVN_HV -> first vm2->vm1 reply: $(first_reply 15 vm2 $IP1)s"
ping_ok vm2 $IP1
move_vm vm1 $OVN_HV hv1
wait_bound ls1-vm1 hv1
echo "TIMING mixed: migration back to hv1 -> first vm3->vm1 reply: $(first_reply 15 vm3 $IP1)s"
ping_ok vm3 $IP1
timing "mixed: both migrations" "$t0"
