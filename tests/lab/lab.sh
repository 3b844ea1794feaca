#!/usr/bin/env bash
# rovn's multi-host lab: a central node and three hypervisors in network
# namespaces on this machine, with rovn's daemons or OVN's (see lib.sh).
#
# Usage: scripts/lab <command> [args]
#   up                 build the lab (tears down a previous one first)
#   down               stop every lab process by pidfile, delete the namespaces
#   demo               install what is missing, build rovn, up + the seed000 scenario,
#                      then leave the lab up to explore (LAB_NO_PREPARE=1 skips the first two)
#   run <scenario>...  run scenarios on the lab that is up (names from tests/lab/scenarios)
#   test [scenario...] up, every (or the named) scenario, down; down also on failure
#   status             what runs where
#   nbctl|sbctl ...    the NB/SB CLI against the lab
#   vsctl|ofctl|appctl <hv> ...   OVS tools against one hypervisor
#   list               the scenarios (opt-in ones, e.g. faults, only with LAB_EXTRA)
#
# Environment: ROVN_LAB (lab dir, default /tmp/rovn-lab), LAB_PREFIX (namespace
# prefix, default rovn-), LAB_IMPL=rovn|ovn and per role LAB_NORTHD, LAB_CONTROLLER,
# LAB_CONTROLLER_hvN, LAB_NBCTL, LAB_SBCTL; ROVN_BIN_DIR for rovn's binaries;
# LAB_KEEP=1 keeps a scenario's network after it ends; LAB_EXTRA="faults" adds
# opt-in scenarios to the default list.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIOS=$HERE/scenarios

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

need_root() {
  [ "$(id -u)" = 0 ] || { echo "lab: needs root (network namespaces)" >&2; exit 2; }
  local p
  for p in ip ovsdb-server ovsdb-tool ovs-vswitchd ovs-vsctl ovs-ofctl ovs-appctl python3 ping curl timeout; do
    command -v "$p" >/dev/null || { echo "lab: $p is not installed (scripts/install-deps)" >&2; exit 2; }
  done
}

# Each command runs in its own process so that `up` can tear down the old lab
# with the old lab's settings and then build with the current environment.
cmd_down() { . "$HERE/lib.sh"; lab_down; }
cmd_up() {
  "$0" down >/dev/null
  LAB_FRESH=1
  . "$HERE/lib.sh"
  # fail() exits from deep inside lab_up: only a trap sees every failure.
  trap 'rc=$?; echo "lab: up failed; tearing down" >&2; "$0" down >/dev/null 2>&1; exit $rc' EXIT
  trap 'exit 130' INT TERM
  lab_up
  trap - EXIT INT TERM
  echo "lab is up: scripts/lab sbctl show | scripts/lab status | scripts/lab down"
}

scenario_path() {
  local f=$SCENARIOS/${1%.sh}.sh
  [ -x "$f" ] || { echo "lab: no scenario '$1' (scripts/lab list)" >&2; exit 2; }
  echo "$f"
}

# run_scenario <file>: in the background so that a signal to us is passed on, and
# waited for, so that its cleanup is over when we return or exit.
STOPPED=0
run_scenario() {
  local pid rc
  "$1" & pid=$!
  trap 'STOPPED=1; kill -TERM '"$pid"' 2>/dev/null || true' INT TERM
  while :; do
    rc=0; wait "$pid" || rc=$?
    kill -0 "$pid" 2>/dev/null || break   # a signal interrupted the wait, not the scenario
  done
  trap - INT TERM
  return "$rc"
}

cmd_run() {
  local s f failed=()
  # shellcheck disable=SC2046
  [ $# -gt 0 ] || set -- $(cmd_list)
  for s in "$@"; do scenario_path "$s" >/dev/null; done
  for s in "$@"; do
    f=$(scenario_path "$s")
    run_scenario "$f" || failed+=("$s")
    if [ "$STOPPED" = 1 ]; then echo "lab: interrupted" >&2; exit 130; fi
  done
  if [ ${#failed[@]} -gt 0 ]; then echo "lab: FAILED scenarios: ${failed[*]}" >&2; return 1; fi
  echo "lab: all passed: $*"
}

cmd_test() {
  local t0=$SECONDS rc=0
  trap '"$0" down >/dev/null 2>&1 || true' EXIT
  trap 'exit 130' INT TERM
  "$0" up
  cmd_run "$@" || rc=1
  "$0" down
  trap - EXIT
  echo "lab test: $([ $rc = 0 ] && echo passed || echo FAILED) in $(( SECONDS - t0 ))s"
  return $rc
}

# The main job on a fresh machine: what the lab needs from Debian, then rovn's
# binaries (release build), unless the caller asked for OVN everywhere.
prepare_demo() {
  local repo
  repo=$(cd "$HERE/../.." && pwd)
  "$repo/scripts/install-deps"
  if [ "${LAB_IMPL:-rovn}" = rovn ] || env | grep '^LAB_[A-Z_0-9a-z]*=rovn$' >/dev/null; then
    echo "building rovn (cargo build --release) ..."
    (cd "$repo" && cargo build --release --quiet -p rovn-northd -p rovn-controller -p rovn-nbctl -p rovn-sbctl)
  fi
}

cmd_demo() {
  [ -n "${LAB_NO_PREPARE:-}" ] || prepare_demo
  "$0" up
  . "$HERE/lib.sh"
  # Keep the network the scenario builds, so there is something to explore.
  LAB_KEEP=1 "$SCENARIOS/seed000.sh"
  cat <<EOF

The lab is still up (in $LAB). Explore it with:
  ip netns exec ${LAB_PREFIX}vm1 ping -c 3 $(vm_ip vm2)      # vm1 (hv1) -> vm2 (hv2), over Geneve
  ip netns exec ${LAB_PREFIX}vm2 ping -c 3 $(vm_ip vm3)      # vm3 migrated to hv2
  scripts/lab nbctl show
  scripts/lab sbctl show
  scripts/lab ofctl hv1 dump-flows br-int | less
  scripts/lab status
  scripts/lab down
EOF
}

cmd_status() {
  . "$HERE/lib.sh"
  lab_is_up || { echo "no lab at $LAB"; return 1; }
  local f pid state
  echo "lab $LAB, namespaces: $(tr '\n' ' ' < "$LAB/netns")"
  echo "northd: $(cat "$LAB/central/northd.impl"); controllers: $(controllers_summary); nbctl: $(nbctl_impl); sbctl: $(sbctl_impl)"
  for f in "$LAB"/central/*.pid "$LAB"/hv*/*.pid "$LAB"/vms/*/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f"); state=dead
    kill -0 "$pid" 2>/dev/null && state=running
    printf '  %-50s %7s %s\n' "${f#"$LAB"/}" "$pid" "$state"
  done
}

# The seed scenario first (it is the lab's smoke test), then the rest by name.
# Opt-in scenarios (long measurements) only when named, or listed in LAB_EXTRA
# (space or comma separated, e.g. LAB_EXTRA=faults scripts/lab test).
OPT_IN=()
cmd_list() {
  local f first=(seed000 router lb_switch lb_gateway mac_change mixed faults) s extra=" ${LAB_EXTRA:-} "; extra=${extra//,/ }
  for s in "${first[@]}"; do [ -x "$SCENARIOS/$s.sh" ] && echo "$s"; done
  for f in "$SCENARIOS"/*.sh; do
    s=$(basename "$f" .sh)
    [[ " ${first[*]} " == *" $s "* ]] && continue
    [[ " ${OPT_IN[*]} " == *" $s "* && $extra != *" $s "* ]] && continue
    echo "$s"
  done
}

main() {
  local cmd=${1:-help}
  [ $# -gt 0 ] && shift
  case $cmd in
    demo) [ "$(id -u)" = 0 ] || { echo "lab: needs root (network namespaces)" >&2; exit 2; }; cmd_demo "$@" ;;
    up|down|test|run) need_root; "cmd_$cmd" "$@" ;;
    status) cmd_status ;;
    list) cmd_list ;;
    nbctl|sbctl) . "$HERE/lib.sh"; require_lab; "$cmd" "$@" ;;
    vsctl|ofctl|appctl)
      . "$HERE/lib.sh"; require_lab
      [ $# -gt 0 ] || { echo "usage: scripts/lab $cmd <hv> ..." >&2; exit 2; }
      "$cmd" "$@" ;;
    help|-h|--help) usage ;;
    *) echo "lab: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
  esac
}

main "$@"
