//! `LocalState` → the complete desired flow table (physical flows plus
//! compiled logical flows). Pure.

use super::flow_table::FlowTable;
use super::lflows::{GroupIds, logical_flows};
use super::local::Topology;
use super::physical::physical_flows;
use super::state::LocalState;

/// Counters from one computation, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub local_datapaths: usize,
    /// Physical flows computed (before merging flows with the same key).
    pub physical_flows: usize,
    pub logical_flows_compiled: usize,
    pub logical_flows_failed: usize,
    pub flows: usize,
    pub groups: usize,
    /// Flows dropped because an earlier flow had the same key.
    pub conflicts: usize,
}

/// Computes every flow and group this chassis needs. `tun_index` is the
/// `tun_metadataN` the switch mapped OVN's Geneve option to; `groups`
/// keeps load-balancer group ids stable across calls.
pub fn desired_flows(state: &LocalState, tun_index: u8, groups: &mut GroupIds) -> (FlowTable, Stats) {
    let topo = Topology::new(state);
    let mut table = physical_flows(&topo, tun_index);
    let physical = table.len();
    let lf = logical_flows(&topo, groups);
    table.extend(lf.flows);
    let stats = Stats {
        local_datapaths: topo.local_datapaths.len(),
        physical_flows: physical,
        logical_flows_compiled: lf.compiled,
        logical_flows_failed: lf.failed,
        flows: table.len(),
        groups: table.group_count(),
        conflicts: table.conflicts(),
    };
    (table, stats)
}
