//! Output: the desired contents of the Southbound tables northd owns.
//!
//! Rows reference datapaths by the NB UUID of their switch/router and ports by
//! `logical_port` name; the daemon maps these natural keys to SB row UUIDs. All
//! collections are ordered so two translations of the same input compare equal and diffs
//! are cheap.

use std::collections::{BTreeMap, BTreeSet};

use super::Map;
use super::nb::Uuid;
use crate::flows::{Pipeline, Stage};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Southbound {
    pub nb_cfg: i64,
    pub options: Map,
    pub ipsec: bool,
    /// By NB switch/router UUID.
    pub datapaths: BTreeMap<Uuid, DatapathBinding>,
    /// By `logical_port`.
    pub port_bindings: BTreeMap<String, PortBinding>,
    /// By (datapath NB UUID, group name).
    pub multicast_groups: BTreeMap<(Uuid, String), MulticastGroup>,
    pub logical_flows: BTreeSet<LogicalFlow>,
    /// By NB `Load_Balancer` UUID.
    pub load_balancers: BTreeMap<Uuid, SbLoadBalancer>,
    /// By set name; values are sorted addresses.
    pub address_sets: BTreeMap<String, Vec<String>>,
    /// By SB port group name (`<dp key>_<pg>`); values are sorted port names.
    pub port_groups: BTreeMap<String, Vec<String>>,
    /// By group name: the NB `HA_Chassis_Group`'s, or the distributed gateway port's name
    /// for one made from its `Gateway_Chassis` rows (as ovn-northd 23.03 converts them).
    pub ha_chassis_groups: BTreeMap<String, SbHaChassisGroup>,
}

/// One SB `HA_Chassis_Group` with its `HA_Chassis` rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SbHaChassisGroup {
    pub name: String,
    /// (chassis name, priority), sorted; the daemon resolves the names to `Chassis` rows
    /// (a missing chassis leaves the reference empty) and writes the name into
    /// `external_ids:chassis-name`.
    pub chassis: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DatapathKind {
    Switch,
    Router,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatapathBinding {
    pub kind: DatapathKind,
    pub name: String,
    pub tunnel_key: u32,
    /// `logical-switch`/`logical-router`, `name`, optional `name2`, `snat-ct-zone`.
    pub external_ids: Map,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortBinding {
    pub logical_port: String,
    /// NB UUID of the owning switch/router.
    pub datapath: Uuid,
    pub tunnel_key: u32,
    pub port_type: String,
    pub options: Map,
    pub mac: Vec<String>,
    pub port_security: Vec<String>,
    pub external_ids: Map,
    pub parent_port: Option<String>,
    pub tag: Option<i64>,
    /// Name of the chassis resolved from `options:requested-chassis`.
    pub requested_chassis: Option<String>,
    pub nat_addresses: Vec<String>,
    /// Name of the SB `HA_Chassis_Group` (chassisredirect ports).
    pub ha_chassis_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MulticastGroup {
    pub datapath: Uuid,
    pub name: String,
    pub tunnel_key: u32,
    /// Member `logical_port` names, sorted.
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbLoadBalancer {
    pub name: String,
    pub vips: Map,
    pub protocol: Option<String>,
    pub options: Map,
    pub external_ids: Map,
    /// NB UUIDs of the switches it is applied to (the `datapath_group`).
    pub datapaths: Vec<Uuid>,
}

/// One `Logical_Flow` row, always bound to a single datapath (the daemon may group
/// identical flows into `Logical_DP_Group`s; ovn-controller accepts either form).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogicalFlow {
    /// NB UUID of the switch/router, shared by the flows built for one object.
    pub datapath: std::sync::Arc<str>,
    pub stage: Stage,
    pub priority: u16,
    /// Shared by every copy of the flow (the engine keeps several) and by the
    /// daemon's indexes: only the first is an allocation.
    pub match_: std::sync::Arc<str>,
    pub actions: std::sync::Arc<str>,
    /// `tags:in_out_port`, set when the match pins the flow to one port.
    pub in_out_port: Option<std::sync::Arc<str>>,
}

impl LogicalFlow {
    pub fn pipeline(&self) -> Pipeline {
        self.stage.pipeline()
    }

    pub fn table_id(&self) -> u8 {
        self.stage.table()
    }

    /// `external_ids` as northd writes them (`stage-name`), in key order; static,
    /// so a consumer keeping them per flow allocates nothing.
    pub fn external_ids(&self) -> [(&'static str, &'static str); 1] {
        [("stage-name", self.stage.name())]
    }
}
