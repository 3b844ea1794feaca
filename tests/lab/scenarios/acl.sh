#!/usr/bin/env bash
# Security groups as Neutron's OVN driver writes them: every port in a default-drop
# port group, and a security group (port group + allow-related ACLs) that opens
# egress and selected ingress. Replies of allowed connections pass through
# conntrack; a rule added or removed takes effect on real traffic across hosts; a
# reject rule answers TCP with a RST and UDP with ICMP port unreachable.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
scenario_begin acl

A=$LS1_NET.61 B=$LS1_NET.62
get() { nsx a curl -s --max-time 2 "http://$B:8000/"; }

step "ls1: a@hv1, b@hv2 (serving HTTP on 8000)"
on_cleanup nbctl --if-exists ls-del ls1
nbctl ls-add ls1
vm_port ls1 ls1-a 02:ac:10:ff:00:61 $A
vm_port ls1 ls1-b 02:ac:10:ff:00:62 $B
add_vm a hv1 02:ac:10:ff:00:61 $A/24 ls1-a
add_vm b hv2 02:ac:10:ff:00:62 $B/24 ls1-b
dir=$(vm_dir b)/www
mkdir -p "$dir"; echo "hello from b" > "$dir/index.html"
vm_bg b http python3 -m http.server 8000 --bind "$B" --directory "$dir"
wait_bound ls1-a hv1; wait_bound ls1-b hv2
ping_ok a $B
wait_for 10 "b serving" get || fail "no HTTP answer from b before any ACL"

step "default drop: both ports in pg_drop (ingress and egress IP dropped)"
t0=$(now_ms)
on_cleanup nbctl --if-exists destroy port_group pg_drop
nbctl pg-add pg_drop ls1-a ls1-b
nbctl acl-add pg_drop from-lport 1001 "inport == @pg_drop && ip" drop
nbctl --wait=hv acl-add pg_drop to-lport 1001 "outport == @pg_drop && ip" drop
nbctl acl-list pg_drop
timing "acl: drop ACLs -> --wait=hv" "$t0"
ping_dropped a b
if get >/dev/null; then fail "HTTP to b passes the default drop"; fi

step "security group sg1: egress allowed, ingress ICMP only"
on_cleanup nbctl --if-exists destroy port_group pg_sg1
nbctl pg-add pg_sg1 ls1-a ls1-b
nbctl acl-add pg_sg1 from-lport 1002 "inport == @pg_sg1 && ip4" allow-related
nbctl --wait=hv acl-add pg_sg1 to-lport 1002 "outport == @pg_sg1 && ip4 && icmp4" allow-related
nbctl acl-list pg_sg1
ping_ok a $B
ping_ok b $A
if get >/dev/null; then fail "HTTP to b passes although sg1 allows only ICMP in"; fi
info "HTTP to b blocked"

step "sg1 opens TCP 8000: HTTP works (replies ride the tracked connection)"
t0=$(now_ms)
nbctl --wait=hv acl-add pg_sg1 to-lport 1002 "outport == @pg_sg1 && ip4 && tcp.dst == 8000" allow-related
wait_for 10 "HTTP through sg1" get || fail "no HTTP answer from b after opening tcp/8000"
timing "acl: rule added -> HTTP answers" "$t0"
info "a -> b: $(get)"

step "the rule removed: HTTP blocked again, ping still allowed"
nbctl --wait=hv acl-del pg_sg1 to-lport 1002 "outport == @pg_sg1 && ip4 && tcp.dst == 8000"
if get >/dev/null; then fail "HTTP to b still passes after acl-del"; fi
ping_ok a $B

step "reject: TCP 8000 is refused at once (TCP RST), UDP gets ICMP port unreachable"
# curl exit 7: connection refused (a RST came back); 28 would be a timeout (a drop).
udp_refused() {
  nsx a python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.connect(('$B', 9999))
s.send(b'x')
try:
    s.recv(1)
except ConnectionRefusedError:
    sys.exit(0)
except socket.timeout:
    sys.exit(1)"
}
if udp_refused; then fail "UDP to b refused before any reject rule"; fi
t0=$(now_ms)
nbctl acl-add pg_sg1 to-lport 1003 "outport == @pg_sg1 && ip4 && tcp.dst == 8000" reject
nbctl --wait=hv acl-add pg_sg1 to-lport 1003 "outport == @pg_sg1 && ip4 && udp" reject
rc=0; nsx a curl -s --max-time 2 "http://$B:8000/" >/dev/null || rc=$?
[ $rc -eq 7 ] || fail "HTTP to b: curl exit $rc, expected 7 (connection refused by a TCP RST)"
timing "acl: reject added -> connection refused" "$t0"
udp_refused || fail "UDP to b: no ICMP port unreachable came back"
info "TCP refused (RST), UDP refused (ICMP port unreachable)"
nbctl acl-del pg_sg1 to-lport 1003 "outport == @pg_sg1 && ip4 && tcp.dst == 8000"
nbctl --wait=hv acl-del pg_sg1 to-lport 1003 "outport == @pg_sg1 && ip4 && udp"

step "b leaves both groups: no ACL applies to it, a's egress still allowed"
nbctl --wait=hv pg-set-ports pg_drop ls1-a -- pg-set-ports pg_sg1 ls1-a
wait_for 10 "HTTP with b outside the groups" get || fail "no HTTP answer from b outside the groups"
ping_ok a $B
