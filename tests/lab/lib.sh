# rovn lab library: sourced by tests/lab/lab.sh and by every scenario.
#
# The lab is one central node and N hypervisors, each a network namespace on one
# machine, joined by a veth underlay on a Linux bridge in the central namespace.
# Everything it creates lives under $LAB (pidfiles, sockets, logs, databases) and
# in namespaces named ${LAB_PREFIX}*, recorded in $LAB/netns so teardown never has
# to guess. Processes are only ever stopped through their pidfiles.
#
# Which implementation runs each role (rovn or Debian's OVN 23.03):
#   LAB_IMPL                     default for every role (rovn)
#   LAB_NORTHD, LAB_CONTROLLER   per role; LAB_CONTROLLER_<hv> per host
#   LAB_NBCTL, LAB_SBCTL         the CLIs behind the nbctl/sbctl wrappers
# Daemon choices are fixed at `up` (recorded in $LAB/lab.env); the CLI choices may
# be overridden per call.
# shellcheck shell=bash

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_LIB_DIR/../.." && pwd)
LAB=${ROVN_LAB:-/tmp/rovn-lab}
# Daemons and sockets sit in $LAB: unix socket paths must stay under ~100 bytes.
(( ${#LAB} <= 60 )) || { echo "lab: ROVN_LAB path too long (unix sockets): $LAB" >&2; exit 2; }

# A lab that is up pins its own settings (prefix, hosts, daemon choices); `up`
# itself sets LAB_FRESH=1 so a new lab follows the current environment only.
if [ -f "$LAB/lab.env" ] && [ "${LAB_FRESH:-0}" != 1 ]; then
  # shellcheck source=/dev/null
  . "$LAB/lab.env"
fi
LAB_PREFIX=${LAB_PREFIX:-rovn-}
LAB_HOSTS=${LAB_HOSTS:-"hv1 hv2 hv3"}

UL_NET=192.168.77
CENTRAL_IP=$UL_NET.1
NS_CENTRAL=${LAB_PREFIX}central
NB_SOCK=$LAB/central/ovnnb_db.sock
SB_SOCK=$LAB/central/ovnsb_db.sock
VM_MTU=1400 # Geneve adds 58 bytes on the 1500-byte underlay

# ------------------------------------------------------------------ output
# has <grep args>: grep's verdict without its output. Not `grep -q`: that exits at
# the first match, and under `set -o pipefail` the writer it leaves behind (a
# line-buffered printf or CLI) dies of SIGPIPE and fails the pipeline at random.
has() { grep "$@" >/dev/null; }

log()  { printf '=== [%s] %s\n' "$(date +%T)" "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# secs_since <ms>: elapsed seconds with two decimals, for TIMING lines.
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%02d' $(( d / 1000 )) $(( d % 1000 / 10 )); }
timing() { printf 'TIMING %s: %ss\n' "$1" "$(secs_since "$2")"; }

# wait_for <secs> <desc> cmd...: polls cmd until it succeeds; a bounded wait is
# the only kind of wait in the lab, so a hang becomes a clear failure.
wait_for() {
  local secs=$1 desc=$2; shift 2
  local end=$(( $(now_ms) + secs * 1000 ))
  until "$@" >/dev/null 2>&1; do
    if (( $(now_ms) >= end )); then
      printf 'TIMEOUT after %ss waiting for: %s\n' "$secs" "$desc" >&2
      return 1
    fi
    sleep 0.1
  done
}

# ------------------------------------------------------------------ implementations
check_impl() {
  case $2 in rovn|ovn) ;; *) fail "$1=$2: expected rovn or ovn" ;; esac
}
northd_impl()     { echo "${LAB_NORTHD:-${LAB_IMPL:-rovn}}"; }
controller_impl() { local v="LAB_CONTROLLER_$1"; echo "${!v:-${LAB_CONTROLLER:-${LAB_IMPL:-rovn}}}"; }
nbctl_impl()      { echo "${LAB_NBCTL:-${LAB_IMPL:-rovn}}"; }
sbctl_impl()      { echo "${LAB_SBCTL:-${LAB_IMPL:-rovn}}"; }

# rovn_bin <tool>: newest rovn-<tool> among $ROVN_BIN_DIR and the cargo target
# dirs, so a fresh debug build is not shadowed by an old release one.
rovn_bin() {
  local tool=rovn-$1 best="" d
  if [ -n "${ROVN_BIN_DIR:-}" ]; then
    [ -x "$ROVN_BIN_DIR/$tool" ] || fail "ROVN_BIN_DIR=$ROVN_BIN_DIR has no $tool"
    echo "$ROVN_BIN_DIR/$tool"; return
  fi
  for d in ${CARGO_TARGET_DIR:+"$CARGO_TARGET_DIR/release" "$CARGO_TARGET_DIR/debug"} \
           "$LAB_REPO/target/release" "$LAB_REPO/target/debug"; do
    [ -x "$d/$tool" ] || continue
    if [ -z "$best" ] || [ "$d/$tool" -nt "$best" ]; then best=$d/$tool; fi
  done
  [ -n "$best" ] || fail "$tool not built (cargo build -p ...), or set ROVN_BIN_DIR, or LAB_IMPL=ovn"
  echo "$best"
}

# impl_bin <impl> <tool>: the program playing <tool> (northd, controller, nbctl, sbctl).
impl_bin() {
  check_impl "$2" "$1"
  if [ "$1" = ovn ]; then
    command -v "ovn-$2" >/dev/null || fail "ovn-$2 not installed"
    command -v "ovn-$2"
  else
    rovn_bin "$2"
  fi
}

# ------------------------------------------------------------------ CLIs
nbctl() { timeout 60 "$(impl_bin "$(nbctl_impl)" nbctl)" --db="unix:$NB_SOCK" "$@"; }
sbctl() { timeout 60 "$(impl_bin "$(sbctl_impl)" sbctl)" --db="unix:$SB_SOCK" "$@"; }

# Per-host OVS tools find br-int.mgmt and the daemons' control sockets through
# OVS_RUNDIR, which is the host's directory.
hv_env() { echo "OVS_RUNDIR=$LAB/$1 OVS_DBDIR=$LAB/$1 OVS_LOGDIR=$LAB/$1 OVS_SYSCONFDIR=$LAB/$1/etc OVN_RUNDIR=$LAB/$1 OVN_LOGDIR=$LAB/$1 OVN_DBDIR=$LAB/$1 OVN_SYSCONFDIR=$LAB/$1/etc"; }
vsctl()  { local h=$1; shift; ovs-vsctl --timeout=60 --db="unix:$LAB/$h/db.sock" "$@"; }
# shellcheck disable=SC2046
ofctl()  { local h=$1; shift; env $(hv_env "$h") ovs-ofctl --timeout=20 "$@"; }
# shellcheck disable=SC2046
appctl() { local h=$1; shift; env $(hv_env "$h") ovs-appctl --timeout=20 "$@"; }
nsx()    { local ns=$1; shift; ip netns exec "$LAB_PREFIX$ns" "$@"; }

# ------------------------------------------------------------------ bookkeeping
# The marker makes `down` refuse to delete a directory the lab did not create.
lab_mark() { mkdir -p "$LAB"; touch "$LAB/.rovn-lab"; }
lab_is_up() { [ -f "$LAB/lab.env" ] && [ -S "$NB_SOCK" ]; }
require_lab() { lab_is_up || fail "no lab at $LAB (run: scripts/lab up)"; }

netns_add() {
  ip netns add "$1"
  echo "$1" >> "$LAB/netns"
  ip -n "$1" link set lo up
  # No IPv6: no router solicitations, DAD or MLD to muddle counters and traces.
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

netns_del() {
  local ns=$1 pids
  ip netns list | awk '{print $1}' | has -x "$ns" || return 0
  # A process left inside would keep the namespace alive unseen: these are all
  # processes this lab started, found by pid through the namespace we own.
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  if [ -n "$pids" ]; then
    warn "processes still in $ns: $(echo $pids); stopping them"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true; sleep 0.3
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
  fi
  ip netns del "$ns"
  [ -f "$LAB/netns" ] && sed -i "/^$ns\$/d" "$LAB/netns"
  return 0
}

# pid_alive <pid>: running, and not a zombie. Detached daemons are reparented to
# PID 1, which may reap them seconds later; a zombie has already stopped.
pid_alive() {
  kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# kill_pidfile <file>: stops the process only if its command line names this lab,
# so a stale pidfile whose pid was reused can never hit an unrelated process.
kill_pidfile() {
  local f=$1 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" \
     && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | has -F "$LAB"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do pid_alive "$pid" || break; sleep 0.05; done
    if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

# ------------------------------------------------------------------ txoff
# txoff <ns> <ifname>...: clears TX checksum offload (what `ethtool -K IF tx off`
# does, without needing ethtool). The userspace datapath forwards packets whose
# TCP/UDP checksum the sending kernel left for "hardware" to fill in; nothing
# fills it, and receivers drop them. ICMP survives, TCP (incl. the SB link) not.
txoff() {
  local ns=$1; shift
  ip netns exec "$ns" python3 - "$@" <<'EOF'
import array, fcntl, socket, struct, sys
ETHTOOL_STXCSUM, SIOCETHTOOL = 0x17, 0x8946
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for name in sys.argv[1:]:
    val = array.array('I', [ETHTOOL_STXCSUM, 0])
    req = struct.pack('16sP', name.encode(), val.buffer_info()[0])
    fcntl.ioctl(s, SIOCETHTOOL, req)
EOF
}

# ------------------------------------------------------------------ daemons
# start_daemon <ns> <envs> <pidfile> <cmd>...: a --detach daemon that must write
# <pidfile> and stay up. Its early output goes to <pidfile minus .pid>.out, so no
# caller's pipe stays open behind it.
start_daemon() {
  local ns=$1 envs=$2 pidfile=$3 out=${3%.pid}.out name; shift 3
  name=$(basename "$1")
  rm -f "$pidfile"
  # shellcheck disable=SC2086
  ip netns exec "$ns" env $envs "$@" </dev/null >>"$out" 2>&1 \
    || { tail -n 20 "$out" >&2; fail "$name exited with an error in $ns (see $out)"; }
  if ! wait_for 10 "$name pidfile" daemon_running "$pidfile"; then
    tail -n 20 "$out" "${pidfile%.pid}.log" >&2 2>/dev/null || true
    fail "$name did not stay up with pidfile $pidfile (see ${pidfile%.pid}.log)"
  fi
}
daemon_running() { [ -s "$1" ] && pid_alive "$(cat "$1")"; }

start_central() {
  local d=$LAB/central impl bin
  mkdir -p "$d"
  netns_add "$NS_CENTRAL"
  ip -n "$NS_CENTRAL" link add br-ul type bridge
  ip -n "$NS_CENTRAL" addr add "$CENTRAL_IP/24" dev br-ul
  ip -n "$NS_CENTRAL" link set br-ul up
  txoff "$NS_CENTRAL" br-ul
  # The repo's own DB launcher, as a deployment would use it; in the namespace so
  # the TCP listeners bind the underlay address.
  ip netns exec "$NS_CENTRAL" "$LAB_REPO/scripts/rovn-ctl" start-dbs \
    --run-dir="$d" --log-dir="$d" --db-dir="$d" --listen-ip="$CENTRAL_IP" </dev/null >"$d/rovn-ctl.out" 2>&1 \
    || { cat "$d/rovn-ctl.out" >&2; fail "rovn-ctl start-dbs failed"; }
  impl=$(northd_impl); bin=$(impl_bin "$impl" northd)
  start_daemon "$NS_CENTRAL" "OVN_RUNDIR=$d OVN_LOGDIR=$d" "$d/$(basename "$bin").pid" \
    "$bin" --ovnnb-db="unix:$NB_SOCK" --ovnsb-db="unix:$SB_SOCK" \
    --pidfile="$d/$(basename "$bin").pid" --log-file="$d/$(basename "$bin").log" --detach --no-chdir
  echo "$impl" > "$d/northd.impl"
  wait_for 10 "NB answers" nbctl show || fail "NB database not answering"
  wait_for 10 "SB answers" sbctl show || fail "SB database not answering"
  info "central: NB tcp:$CENTRAL_IP:6641, SB tcp:$CENTRAL_IP:6642, northd: $bin ($impl)"
}

hv_ip()  { echo "$UL_NET.$(( 10 + ${1#hv} ))"; }
hv_mac() { printf '02:77:00:00:00:%02x' "${1#hv}"; }

# start_hv <hv>: namespace, underlay cable, ovsdb-server, ovs-vswitchd, br-phy
# carrying the tunnel IP, br-int, the chassis' external_ids. No controller yet.
start_hv() {
  local h=$1 ns=$LAB_PREFIX$1 d=$LAB/$1 envs
  envs=$(hv_env "$h")
  mkdir -p "$d/etc"
  netns_add "$ns"
  ip -n "$NS_CENTRAL" link add "ul-$h" type veth peer name eth1 netns "$ns"
  ip -n "$NS_CENTRAL" link set "ul-$h" master br-ul up
  ip -n "$ns" link set eth1 up
  txoff "$NS_CENTRAL" "ul-$h"
  txoff "$ns" eth1

  ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  start_daemon "$ns" "$envs" "$d/ovsdb-server.pid" ovsdb-server "$d/conf.db" \
    --remote="punix:$d/db.sock" --pidfile="$d/ovsdb-server.pid" --log-file="$d/ovsdb-server.log" \
    --detach --no-chdir
  vsctl "$h" --no-wait init
  start_daemon "$ns" "$envs" "$d/ovs-vswitchd.pid" ovs-vswitchd "unix:$d/db.sock" \
    --pidfile="$d/ovs-vswitchd.pid" --log-file="$d/ovs-vswitchd.log" --detach --no-chdir
  wait_for 10 "$h ovs-vswitchd" appctl "$h" version || fail "$h: ovs-vswitchd not answering"

  # Userspace tunnelling: the underlay NIC is a port of a netdev bridge and the
  # tunnel endpoint IP lives on that bridge's internal port; OVS routes encapsulated
  # packets by the namespace's routes. A pinned MAC keeps neighbours stable.
  vsctl "$h" -- add-br br-phy -- set bridge br-phy datapath_type=netdev \
    other-config:hwaddr=\""$(hv_mac "$h")"\" -- add-port br-phy eth1
  ip -n "$ns" addr add "$(hv_ip "$h")/24" dev br-phy
  ip -n "$ns" link set br-phy up
  # fail-mode=secure: nothing forwards until a controller installs flows.
  vsctl "$h" -- add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure \
    other-config:disable-in-band=true
  vsctl "$h" set open_vswitch . external-ids:system-id="$h" external-ids:hostname="$h" \
    external-ids:ovn-remote="tcp:$CENTRAL_IP:6642" external-ids:ovn-encap-type=geneve \
    external-ids:ovn-encap-ip="$(hv_ip "$h")" external-ids:ovn-bridge=br-int \
    external-ids:ovn-bridge-datapath-type=netdev
}

# central_reachable <hv>: the SB TCP listener answers over the underlay.
central_reachable() {
  ip netns exec "$LAB_PREFIX$1" timeout 2 bash -c "exec 3<>/dev/tcp/$CENTRAL_IP/6642" 2>/dev/null
}

controller_pidfile() { local f; for f in "$LAB/$1"/*controller.pid; do [ -f "$f" ] && echo "$f"; done; return 0; }

# start_controller <hv> [impl]: the chassis controller, once the host reaches
# central (a controller started earlier just backs off and adds seconds).
start_controller() {
  local h=$1 impl=${2:-$(controller_impl "$1")} d=$LAB/$1 bin
  bin=$(impl_bin "$impl" controller)
  wait_for 15 "$h reaches central over the underlay" central_reachable "$h" \
    || fail "$h cannot reach $CENTRAL_IP:6642"
  start_daemon "$LAB_PREFIX$h" "$(hv_env "$h")" "$d/$(basename "$bin").pid" \
    "$bin" "unix:$d/db.sock" --pidfile="$d/$(basename "$bin").pid" \
    --log-file="$d/$(basename "$bin").log" --detach --no-chdir
  echo "$impl" > "$d/controller.impl"
  info "$h: tunnel IP $(hv_ip "$h"), controller: $bin ($impl)"
}

stop_controller() {
  local f
  for f in $(controller_pidfile "$1"); do kill_pidfile "$f"; done
  rm -f "$LAB/$1/controller.impl"
}

# chassis_registered <name>: the Chassis row and its Encap exist (for waits).
chassis_registered() {
  [ -n "$(sbctl --bare --columns=_uuid find Chassis name="$1")" ] \
    && [ -n "$(sbctl --bare --columns=ip find Encap chassis_name="$1")" ]
}

# Tunnel neighbours are resolved by OVS itself (ARP on br-phy); static entries
# only make the very first encapsulated packet deterministic.
static_tunnel_neighbors() {
  local h o
  for h in $LAB_HOSTS; do for o in $LAB_HOSTS; do
    [ "$h" = "$o" ] || appctl "$h" tnl/neigh/set br-phy "$(hv_ip "$o")" "$(hv_mac "$o")" >/dev/null
  done; done
}

write_lab_env() {
  local h
  {
    echo "# written by 'scripts/lab up'; a setting already in the environment wins"
    echo ": \"\${LAB_PREFIX:=$LAB_PREFIX}\""
    echo ": \"\${LAB_HOSTS:=$LAB_HOSTS}\""
    echo ": \"\${LAB_NORTHD:=$(northd_impl)}\""
    echo ": \"\${LAB_NBCTL:=$(nbctl_impl)}\""
    echo ": \"\${LAB_SBCTL:=$(sbctl_impl)}\""
    for h in $LAB_HOSTS; do echo ": \"\${LAB_CONTROLLER_$h:=$(controller_impl "$h")}\""; done
  } > "$LAB/lab.env"
}

lab_up() {
  local t0 h
  t0=$(now_ms)
  [ ! -e "$LAB/.rovn-lab" ] || fail "a lab is still at $LAB (scripts/lab down)"
  for h in $LAB_HOSTS; do [[ $h =~ ^hv[0-9]+$ ]] || fail "LAB_HOSTS: '$h' is not hvN"; done
  # Fail early on a bad choice, before anything is started.
  check_impl LAB_NORTHD "$(northd_impl)"; impl_bin "$(northd_impl)" northd >/dev/null
  for h in $LAB_HOSTS; do impl_bin "$(controller_impl "$h")" controller >/dev/null; done
  impl_bin "$(nbctl_impl)" nbctl >/dev/null; impl_bin "$(sbctl_impl)" sbctl >/dev/null
  lab_mark
  : > "$LAB/netns"
  write_lab_env
  log "lab up in $LAB (namespaces ${LAB_PREFIX}*)"
  start_central
  for h in $LAB_HOSTS; do start_hv "$h"; done
  for h in $LAB_HOSTS; do start_controller "$h"; done
  for h in $LAB_HOSTS; do
    wait_for 30 "chassis $h in SB" chassis_registered "$h" || fail "chassis $h never registered in SB"
  done
  static_tunnel_neighbors
  info "nbctl: $(impl_bin "$(nbctl_impl)" nbctl), sbctl: $(impl_bin "$(sbctl_impl)" sbctl)"
  timing "lab up ($(echo "$LAB_HOSTS" | wc -w) hosts)" "$t0"
}

# lab_down: workloads, controllers, switches, local DBs, northd, central DBs, then
# namespaces. Safe to run twice, and on a half-built lab.
lab_down() {
  local h f vm
  if [ -d "$LAB" ] && [ ! -f "$LAB/.rovn-lab" ] && [ -n "$(ls -A "$LAB")" ]; then
    fail "$LAB exists and is not a rovn lab; refusing to touch it"
  fi
  if [ -d "$LAB/vms" ]; then
    for vm in "$LAB"/vms/*/; do [ -d "$vm" ] && for f in "$vm"*.pid; do kill_pidfile "$f"; done; done
  fi
  for f in "$LAB"/hv*/*controller.pid; do kill_pidfile "$f"; done
  for f in "$LAB"/hv*/ovs-vswitchd.pid "$LAB"/hv*/ovsdb-server.pid "$LAB"/central/*northd.pid; do
    kill_pidfile "$f"
  done
  # The pidfiles `rovn-ctl start-dbs` wrote (its stop-dbs would do the same, but
  # waits out the zombie phase above).
  for f in "$LAB"/central/ovsdb-server-sb.pid "$LAB"/central/ovsdb-server-nb.pid; do kill_pidfile "$f"; done
  # Namespaces: those recorded, plus the fixed ones in case the record was lost.
  local list=""
  [ -f "$LAB/netns" ] && list=$(cat "$LAB/netns")
  for h in $LAB_HOSTS; do list+=" $LAB_PREFIX$h"; done
  for f in $list "$NS_CENTRAL"; do netns_del "$f"; done
  if [ -d "$LAB" ]; then rm -rf "$LAB"; fi
  echo "lab down ($LAB removed)"
}

# ------------------------------------------------------------------ VMs
vm_dir() { echo "$LAB/vms/$1"; }
vm_get() { cat "$(vm_dir "$1")/$2"; }
vm_host() { vm_get "$1" hv; }

# plug <vm> <hv>: the VM's veth peer joins the host's br-int, bound by iface-id.
plug() {
  local vm=$1 h=$2 ifid
  ifid=$(vm_get "$vm" iface-id)
  ip -n "$LAB_PREFIX$h" link set "tap-$vm" mtu "$VM_MTU" up
  if [ -n "$ifid" ]; then
    vsctl "$h" add-port br-int "tap-$vm" -- set interface "tap-$vm" external_ids:iface-id="$ifid"
  else
    vsctl "$h" add-port br-int "tap-$vm"
  fi
  echo "$h" > "$(vm_dir "$vm")/hv"
}

# add_vm <vm> <hv> <mac> <ip/len> [iface-id]: a namespace ${LAB_PREFIX}<vm> with
# eth0, on a veth pair whose other end tap-<vm> is a br-int port on <hv>. A veth
# rather than an OVS internal port: an internal port moved into a namespace passes
# traffic but OVS reports it down.
add_vm() {
  local vm=$1 h=$2 mac=$3 ipl=$4 ifid=${5:-} ns=$LAB_PREFIX$1
  (( ${#vm} <= 11 )) || fail "VM name '$vm' too long (tap-$vm must fit IFNAMSIZ)"
  [ -d "$LAB/$h" ] || fail "add_vm $vm: no host $h"
  mkdir -p "$(vm_dir "$vm")"
  echo "$mac" > "$(vm_dir "$vm")/mac"; echo "$ipl" > "$(vm_dir "$vm")/ip"
  echo "$ifid" > "$(vm_dir "$vm")/iface-id"
  netns_add "$ns"
  ip -n "$LAB_PREFIX$h" link add "tap-$vm" type veth peer name eth0 netns "$ns"
  ip -n "$ns" link set eth0 address "$mac" mtu "$VM_MTU"
  ip -n "$ns" addr add "$ipl" dev eth0
  ip -n "$ns" link set eth0 up
  txoff "$ns" eth0
  plug "$vm" "$h"
  [ -n "${SCENARIO:-}" ] && on_cleanup del_vm "$vm"
  return 0
}

# move_vm <vm> <from> <to>: migration. Unplug on <from>, carry the same NIC (MAC,
# IP, the guest's state) to <to> and plug it there under the same iface-id, as a
# hypervisor does after a live migration.
move_vm() {
  local vm=$1 from=$2 to=$3
  [ "$(vm_host "$vm")" = "$from" ] || fail "move_vm: $vm is on $(vm_host "$vm"), not $from"
  vsctl "$from" --if-exists del-port br-int "tap-$vm"
  ip -n "$LAB_PREFIX$from" link set "tap-$vm" netns "$LAB_PREFIX$to"
  plug "$vm" "$to"
}

# del_vm <vm>: its background processes, its port, its namespace.
del_vm() {
  local vm=$1 d h f
  d=$(vm_dir "$vm")
  [ -d "$d" ] || return 0
  for f in "$d"/*.pid; do kill_pidfile "$f"; done
  h=$(cat "$d/hv" 2>/dev/null || true)
  if [ -n "$h" ] && [ -S "$LAB/$h/db.sock" ]; then
    vsctl "$h" --if-exists del-port br-int "tap-$vm" || true
    ip -n "$LAB_PREFIX$h" link del "tap-$vm" 2>/dev/null || true
  fi
  netns_del "$LAB_PREFIX$vm"
  rm -rf "$d"
}

# vm_bg <vm> <name> cmd...: a background workload inside the VM, with a pidfile
# under the VM's directory so del_vm and `down` can stop it.
vm_bg() {
  local vm=$1 name=$2 d; shift 2
  d=$(vm_dir "$vm")
  # `ip netns exec` execs the command, so $! is the workload itself.
  ip netns exec "$LAB_PREFIX$vm" "$@" </dev/null >"$d/$name.log" 2>&1 &
  echo $! > "$d/$name.pid"
}

vm_ip() { local a; a=$(vm_get "$1" ip); echo "${a%/*}"; }

# ------------------------------------------------------------------ traffic
# ping_ok <vm> <ip> [count]: every one of a few pings must be answered, within a
# few seconds. Prints ping's report (ttl included) for the reader.
ping_ok() {
  local vm=$1 dst=$2 n=${3:-3} out
  if out=$(nsx "$vm" ping -n -c "$n" -i 0.1 -W 1 -w $(( n + 2 )) "$dst" 2>&1); then
    printf '%s\n' "$out" | grep -E 'bytes from|packets transmitted' | sed "s/^/    [$vm] /"
    return 0
  fi
  printf '%s\n' "$out" | sed "s/^/    [$vm] /" >&2
  fail "ping $vm -> $dst: not all $n answered"
}

# ping_fails <vm> <ip> [ping options]: no reply at all (exit 1), not a local error
# like "no route" (exit 2), which would pass for the wrong reason.
ping_fails() {
  local vm=$1 dst=$2 rc=0 out; shift 2
  out=$(nsx "$vm" ping -n -c 3 -i 0.2 -W 1 -w 2 "$@" "$dst" 2>&1) || rc=$?
  printf '%s\n' "$out" | grep -E 'packets transmitted' | sed "s/^/    [$vm] /"
  case $rc in
    0) fail "ping $vm -> $dst was answered but must be dropped" ;;
    1) return 0 ;;
    *) printf '%s\n' "$out" >&2; fail "ping $vm -> $dst failed locally (rc $rc), not in the network" ;;
  esac
}

rx_packets() { nsx "$1" cat /sys/class/net/eth0/statistics/rx_packets; }

# ping_dropped <vm> <dst-vm> [ping options]: the network drops vm's pings before
# they reach dst-vm. A failed ping alone proves little (the reply could be what
# got lost), so the receiver's packet counter must stay (almost) still: a stray
# ARP refresh is tolerated, the ~10 pings are not.
ping_dropped() {
  local vm=$1 dst=$2 before after; shift 2
  before=$(rx_packets "$dst")
  ping_fails "$vm" "$(vm_ip "$dst")" "$@"
  after=$(rx_packets "$dst")
  (( after - before <= 2 )) || fail "$vm -> $dst: $(( after - before )) packets reached $dst; they must be dropped at $vm's port"
  info "$dst received $(( after - before )) packets meanwhile"
}

# first_reply <secs> <vm> <ip>: pings every 10 ms until one reply (bounded), for
# measuring how soon a change takes effect; prints the seconds it took.
first_reply() {
  local secs=$1 vm=$2 dst=$3 t0
  t0=$(now_ms)
  nsx "$vm" ping -n -q -c 1 -i 0.01 -W 1 -w "$secs" "$dst" >/dev/null 2>&1 \
    || fail "no reply from $dst to $vm within ${secs}s"
  secs_since "$t0"
}

# ping_ttl <vm> <ip>: the ttl of the replies (all equal, or fails).
ping_ttl() {
  local out ttls
  out=$(nsx "$1" ping -n -c 2 -i 0.2 -W 1 -w 3 "$2" 2>&1) || { echo "$out" >&2; fail "ping $1 -> $2 failed"; }
  ttls=$(printf '%s\n' "$out" | sed -n 's/.*ttl=\([0-9]*\).*/\1/p' | sort -u)
  [ "$(echo "$ttls" | wc -l)" = 1 ] || fail "ping $1 -> $2: differing ttls: $ttls"
  echo "$ttls"
}

# ------------------------------------------------------------------ SB queries
# bound_chassis <logical-port>: name of the chassis in Port_Binding.chassis, or "".
bound_chassis() {
  local c
  c=$(sbctl --bare --columns=chassis find Port_Binding logical_port="$1")
  [ -n "$c" ] || return 0
  sbctl --bare --columns=name list Chassis "$c"
}
is_bound_to() { [ "$(bound_chassis "$1")" = "$2" ]; }

# wait_bound <port> <chassis> [secs]
wait_bound() {
  local t0; t0=$(now_ms)
  wait_for "${3:-15}" "$1 bound to $2" is_bound_to "$1" "$2" \
    || fail "Port_Binding $1: chassis is '$(bound_chassis "$1")', expected $2"
  info "Port_Binding $1 -> chassis $2 ($(secs_since "$t0")s)"
}

# show_chassis_of <port> <sbctl-show-output>: the chassis under which `show` lists
# the binding (names may be quoted, as OVN does for some values).
show_chassis_of() {
  printf '%s\n' "$2" | awk -v p="$1" '
    { gsub(/"/, "") }
    $1 == "Chassis" { c = $2 }
    $1 == "Port_Binding" && $2 == p { print c }'
}

# ------------------------------------------------------------------ scenarios
# scenario_begin <name>: every scenario runs on an up lab, undoes what it built
# (VMs, logical objects) on exit even when it fails, and reports its time.
# LAB_KEEP=1 leaves its network in place to look at.
SCENARIO_CLEANUP=()
scenario_begin() {
  SCENARIO=$1
  require_lab
  SCENARIO_T0=$(now_ms)
  trap scenario_exit EXIT
  trap 'exit 130' INT TERM
  log "scenario $SCENARIO (northd: $(cat "$LAB/central/northd.impl"), controllers: $(controllers_summary), nbctl: $(nbctl_impl), sbctl: $(sbctl_impl))"
}

controllers_summary() {
  local h s=""
  for h in $LAB_HOSTS; do s+="$h=$(cat "$LAB/$h/controller.impl" 2>/dev/null || echo none) "; done
  echo "${s% }"
}

# on_cleanup cmd...: run at scenario exit, last registered first.
on_cleanup() { SCENARIO_CLEANUP+=("$(printf '%q ' "$@")"); }

scenario_exit() {
  local rc=$? i
  trap - EXIT
  trap '' INT TERM   # a second signal must not cut the cleanup short
  if [ "${LAB_KEEP:-0}" = 1 ]; then
    info "LAB_KEEP=1: leaving $SCENARIO's network in place"
  else
    for (( i=${#SCENARIO_CLEANUP[@]}-1; i>=0; i-- )); do
      eval "${SCENARIO_CLEANUP[$i]}" >/dev/null 2>&1 || warn "cleanup failed: ${SCENARIO_CLEANUP[$i]}"
    done
  fi
  if [ $rc = 0 ]; then
    echo "PASS $SCENARIO ($(secs_since "$SCENARIO_T0")s)"
  else
    echo "FAILED $SCENARIO (rc $rc, after $(secs_since "$SCENARIO_T0")s); logs under $LAB" >&2
  fi
  exit $rc
}

step() { log "$SCENARIO: $*"; }

# ------------------------------------------------------------------ shared topologies
# two_switches_one_router: ls1 172.16.255.0/24 and ls2 172.16.254.0/24 joined by
# lr1 (.1 on each side), the topology of seed 004. Registers its own cleanup.
LS1_NET=172.16.255 LS2_NET=172.16.254
two_switches_one_router() {
  on_cleanup nbctl --if-exists lr-del lr1
  on_cleanup nbctl --if-exists ls-del ls2
  on_cleanup nbctl --if-exists ls-del ls1
  nbctl ls-add ls1 -- ls-add ls2 -- lr-add lr1
  nbctl lrp-add lr1 lr1-ls1 02:ac:10:ff:01:01 $LS1_NET.1/24
  nbctl lrp-add lr1 lr1-ls2 02:ac:10:ff:01:02 $LS2_NET.1/24
  local s
  for s in ls1 ls2; do link_router $s $s-lr1 lr1-$s; done
}

# link_router <switch> <lsp> <lrp>: router-type port <lsp> on <switch>, peer of LRP <lrp>.
link_router() {
  nbctl lsp-add "$1" "$2" -- lsp-set-type "$2" router -- lsp-set-addresses "$2" router \
    -- lsp-set-options "$2" router-port="$3"
}

# gateway_router <hv> <a> <mac-a> <net-a> <b> <mac-b> <net-b>: gateway router gw1
# (options:chassis=<hv>) joining switches ls-<a> and ls-<b> as the .1 of each /24.
# Registers its own cleanup.
gateway_router() {
  local hv=$1 a=$2 b=$5 s
  on_cleanup nbctl --if-exists lr-del gw1
  on_cleanup nbctl --if-exists ls-del "ls-$b"
  on_cleanup nbctl --if-exists ls-del "ls-$a"
  nbctl ls-add "ls-$a" -- ls-add "ls-$b" -- lr-add gw1 -- set logical_router gw1 options:chassis="$hv"
  nbctl lrp-add gw1 "gw1-$a" "$3" "$4.1/24"
  nbctl lrp-add gw1 "gw1-$b" "$6" "$7.1/24"
  for s in "$a" "$b"; do link_router "ls-$s" "ls-$s-gw1" "gw1-$s"; done
}

# vm_port <switch> <port> <mac> <ip>: a VM's logical port, addresses = port security.
vm_port() {
  nbctl lsp-add "$1" "$2" -- lsp-set-addresses "$2" "$3 $4" -- lsp-set-port-security "$2" "$3 $4"
}

# provider_network <physnet>: a provider (physical) L2 network, as seed 003's
# physnet1. A bridge br-pn in the central namespace stands for the datacenter
# switch; each host gets a second NIC eth2 in an OVS bridge br-ex that
# `ovn-bridge-mappings=<physnet>:br-ex` names; and "pnhost", a plain machine
# (namespace) on that network with no OVS at all. Removed at scenario exit.
provider_network() {
  local pn=$1 h ns=${LAB_PREFIX}pnhost
  ip -n "$NS_CENTRAL" link add br-pn type bridge
  ip -n "$NS_CENTRAL" link set br-pn up
  for h in $LAB_HOSTS; do
    ip -n "$NS_CENTRAL" link add "pn-$h" type veth peer name eth2 netns "$LAB_PREFIX$h"
    ip -n "$NS_CENTRAL" link set "pn-$h" master br-pn up
    ip -n "$LAB_PREFIX$h" link set eth2 up
    txoff "$NS_CENTRAL" "pn-$h"
    txoff "$LAB_PREFIX$h" eth2
    vsctl "$h" -- add-br br-ex -- set bridge br-ex datapath_type=netdev -- add-port br-ex eth2 \
      -- set open_vswitch . external-ids:ovn-bridge-mappings="$pn:br-ex"
  done
  netns_add "$ns"
  ip -n "$NS_CENTRAL" link add pn-host type veth peer name eth0 netns "$ns"
  ip -n "$NS_CENTRAL" link set pn-host master br-pn up
  ip -n "$ns" link set eth0 up
  txoff "$NS_CENTRAL" pn-host
  txoff "$ns" eth0
  [ -n "${SCENARIO:-}" ] && on_cleanup provider_network_del
  return 0
}

provider_network_del() {
  local h
  for h in $LAB_HOSTS; do
    [ -S "$LAB/$h/db.sock" ] || continue
    vsctl "$h" remove open_vswitch . external-ids ovn-bridge-mappings -- --if-exists del-br br-ex || true
    ip -n "$NS_CENTRAL" link del "pn-$h" 2>/dev/null || true
  done
  netns_del "${LAB_PREFIX}pnhost"
  ip -n "$NS_CENTRAL" link del br-pn 2>/dev/null || true
}

# nic_packets <hv> <ifname>: packets the host's NIC received plus sent.
nic_packets() {
  local d=/sys/class/net/$2/statistics
  echo $(( $(ip netns exec "$LAB_PREFIX$1" cat "$d/rx_packets") + $(ip netns exec "$LAB_PREFIX$1" cat "$d/tx_packets") ))
}

# route_via <vm> <gateway> <net/len>...: specific routes only; a default route in
# a VM namespace could leak lab traffic somewhere it does not belong.
route_via() {
  local vm=$1 gw=$2 n; shift 2
  for n in "$@"; do nsx "$vm" ip route add "$n" via "$gw"; done
}

# restart_controller <hv> <impl>: swap the chassis controller in place; the new one
# takes over the chassis (same system-id) and br-int's flows.
restart_controller() {
  local h=$1 impl=$2 t0
  t0=$(now_ms)
  stop_controller "$h"
  start_controller "$h" "$impl"
  wait_for 30 "chassis $h back in SB" chassis_registered "$h" || fail "$h: chassis gone after restart"
  nbctl --wait=hv sync
  timing "restart $h controller as $impl -> hv caught up" "$t0"
}
