//! Input: a snapshot of the Northbound database plus the Southbound-side context the
//! translation needs (chassis feature flags, previously allocated tunnel keys).
//!
//! Rows reference each other by NB row UUID strings, exactly as the OVSDB columns do;
//! `Logical_Switch.ports` etc. are UUID lists. Every table is a `BTreeMap` keyed by row
//! UUID so that iteration order, and therefore the output, is deterministic.

use std::collections::BTreeMap;

use super::Map;

/// NB row UUID in its canonical text form.
pub type Uuid = String;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Northbound {
    pub nb_global: NbGlobal,
    pub switches: BTreeMap<Uuid, LogicalSwitch>,
    pub switch_ports: BTreeMap<Uuid, LogicalSwitchPort>,
    pub routers: BTreeMap<Uuid, LogicalRouter>,
    pub router_ports: BTreeMap<Uuid, LogicalRouterPort>,
    pub static_routes: BTreeMap<Uuid, StaticRoute>,
    pub router_policies: BTreeMap<Uuid, RouterPolicy>,
    pub load_balancers: BTreeMap<Uuid, LoadBalancer>,
    pub load_balancer_groups: BTreeMap<Uuid, LoadBalancerGroup>,
    pub address_sets: BTreeMap<Uuid, AddressSet>,
    pub port_groups: BTreeMap<Uuid, PortGroup>,
    pub acls: BTreeMap<Uuid, Acl>,
    pub qos: BTreeMap<Uuid, Qos>,
    pub nats: BTreeMap<Uuid, Nat>,
    pub dhcp_options: BTreeMap<Uuid, DhcpOptions>,
    pub gateway_chassis: BTreeMap<Uuid, GatewayChassis>,
    pub ha_chassis_groups: BTreeMap<Uuid, HaChassisGroup>,
    pub ha_chassis: BTreeMap<Uuid, HaChassis>,
}

/// One NB `Gateway_Chassis` row (a chassis a distributed gateway port may be active on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayChassis {
    pub name: String,
    pub chassis_name: String,
    pub priority: i64,
}

/// One NB `HA_Chassis_Group` row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HaChassisGroup {
    pub name: String,
    /// `HA_Chassis` UUIDs.
    pub ha_chassis: Vec<Uuid>,
    pub external_ids: Map,
}

/// One NB `HA_Chassis` row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HaChassis {
    pub chassis_name: String,
    pub priority: i64,
}

/// One NB `DHCP_Options` row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhcpOptions {
    pub cidr: String,
    /// Option name → value as the CMS wrote it (`server_id`, `server_mac`, `lease_time`,
    /// `router`, `dns_server`, ...).
    pub options: Map,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NbGlobal {
    /// Row UUID; only used to derive stable defaults (e.g. a MAC prefix) when none is set.
    pub uuid: Uuid,
    pub nb_cfg: i64,
    pub options: Map,
    pub ipsec: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalSwitch {
    pub name: String,
    /// `Logical_Switch_Port` UUIDs.
    pub ports: Vec<Uuid>,
    /// `Load_Balancer` UUIDs.
    pub load_balancers: Vec<Uuid>,
    /// `Load_Balancer_Group` UUIDs: their load balancers apply as if listed here.
    pub load_balancer_groups: Vec<Uuid>,
    /// `ACL` UUIDs.
    pub acls: Vec<Uuid>,
    /// `QoS` UUIDs.
    pub qos_rules: Vec<Uuid>,
    /// Includes `requested-tnl-key`.
    pub other_config: Map,
    pub external_ids: Map,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalSwitchPort {
    pub name: String,
    /// `""` (VIF), `router`, `localnet`, `localport`, ...
    pub port_type: String,
    pub addresses: Vec<String>,
    pub port_security: Vec<String>,
    /// Includes `router-port`, `requested-tnl-key`, `requested-chassis`, `network_name`.
    pub options: Map,
    /// `None` means enabled (the column is optional in the schema).
    pub enabled: Option<bool>,
    pub external_ids: Map,
    pub parent_name: Option<String>,
    pub tag: Option<i64>,
    /// `DHCP_Options` UUID for native DHCPv4.
    pub dhcpv4_options: Option<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalRouter {
    pub name: String,
    /// `Logical_Router_Port` UUIDs.
    pub ports: Vec<Uuid>,
    /// `Logical_Router_Static_Route` UUIDs.
    pub static_routes: Vec<Uuid>,
    /// `Logical_Router_Policy` UUIDs.
    pub policies: Vec<Uuid>,
    /// `NAT` UUIDs.
    pub nat: Vec<Uuid>,
    /// `Load_Balancer` UUIDs.
    pub load_balancers: Vec<Uuid>,
    /// `Load_Balancer_Group` UUIDs.
    pub load_balancer_groups: Vec<Uuid>,
    /// Includes `chassis` (gateway router) and `requested-tnl-key`.
    pub options: Map,
    pub enabled: Option<bool>,
    pub external_ids: Map,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalRouterPort {
    pub name: String,
    pub mac: String,
    pub networks: Vec<String>,
    /// Name of a peer `Logical_Router_Port` (router-to-router links).
    pub peer: Option<String>,
    pub options: Map,
    pub enabled: Option<bool>,
    pub external_ids: Map,
    /// `Gateway_Chassis` UUIDs: non-empty makes this a distributed gateway port.
    pub gateway_chassis: Vec<Uuid>,
    /// `HA_Chassis_Group` UUID; ignored when `gateway_chassis` is set (as in 23.03).
    pub ha_chassis_group: Option<Uuid>,
    /// IPv6 router advertisement settings (`address_mode`, `mtu`, ...).
    pub ipv6_ra_configs: Map,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticRoute {
    pub ip_prefix: String,
    pub nexthop: String,
    pub output_port: Option<String>,
    /// `None`/`dst-ip` or `src-ip`.
    pub policy: Option<String>,
    pub route_table: String,
    pub options: Map,
    pub external_ids: Map,
}

/// One NB `Logical_Router_Policy` row: packets matching `match_` (logical-flow syntax) at
/// `priority` are allowed, dropped or rerouted to `nexthops` (or the older `nexthop`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterPolicy {
    pub priority: i64,
    pub match_: String,
    /// `allow`, `drop` or `reroute`.
    pub action: String,
    pub nexthop: Option<String>,
    pub nexthops: Vec<String>,
    /// `pkt_mark`.
    pub options: Map,
    pub external_ids: Map,
}

/// One NB `Load_Balancer_Group` row: load balancers a switch or router takes as a set
/// (ovn-kubernetes attaches its cluster-wide services this way).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadBalancerGroup {
    pub name: String,
    /// `Load_Balancer` UUIDs.
    pub load_balancers: Vec<Uuid>,
}

impl Northbound {
    /// The load balancers a switch or router applies: its own, then those of its groups
    /// (in group order), each once. Groups that do not exist add nothing.
    pub fn lbs_with_groups(&self, own: &[Uuid], groups: &[Uuid]) -> Vec<Uuid> {
        let mut out = own.to_vec();
        for g in groups.iter().filter_map(|g| self.load_balancer_groups.get(g)) {
            for lb in &g.load_balancers {
                if !out.contains(lb) {
                    out.push(lb.clone());
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadBalancer {
    pub name: String,
    /// "VIP[:port]" -> "backend[:port],backend[:port]".
    pub vips: Map,
    /// `tcp` (default), `udp` or `sctp`.
    pub protocol: Option<String>,
    pub options: Map,
    pub external_ids: Map,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressSet {
    pub name: String,
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortGroup {
    pub name: String,
    /// `Logical_Switch_Port` UUIDs.
    pub ports: Vec<Uuid>,
    /// `ACL` UUIDs.
    pub acls: Vec<Uuid>,
}

/// One NB `NAT` row (attached to a `Logical_Router`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nat {
    /// `snat`, `dnat` or `dnat_and_snat`.
    pub nat_type: String,
    pub external_ip: String,
    /// A host address, or for `snat` also a network (`10.0.0.0/24`).
    pub logical_ip: String,
    pub external_mac: Option<String>,
    pub logical_port: Option<String>,
    /// `""` or `PORT[-PORT]`.
    pub external_port_range: String,
    /// `stateless`.
    pub options: Map,
}

/// One NB `ACL` row (attached to a `Logical_Switch` or a `Port_Group`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    /// `from-lport` or `to-lport`.
    pub direction: String,
    /// 0..=32767.
    pub priority: i64,
    pub match_: String,
    /// `allow`, `allow-related`, `allow-stateless`, `drop` or `reject`.
    pub action: String,
    pub log: bool,
    pub name: Option<String>,
    pub severity: Option<String>,
    pub meter: Option<String>,
    /// 0 means no label.
    pub label: i64,
    /// `apply-after-lb`, `log-related`.
    pub options: Map,
}

/// One NB `QoS` row: DSCP marking and a rate limit for a switch's traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Qos {
    /// `from-lport` or `to-lport`.
    pub direction: String,
    /// 0..=32767.
    pub priority: i64,
    pub match_: String,
    /// `dscp` → 0..=63.
    pub action: BTreeMap<String, i64>,
    /// `rate` and `burst` (kbps, kb).
    pub bandwidth: BTreeMap<String, i64>,
}

/// Southbound-side facts the translation depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SbContext {
    pub chassis: Vec<Chassis>,
    /// Options of the existing SB_Global row (keeps `mac_prefix`/`svc_monitor_mac` stable
    /// if NB_Global lost them).
    pub sb_global_options: Map,
    /// Existing `Datapath_Binding.tunnel_key` by NB switch/router UUID.
    pub datapath_keys: BTreeMap<Uuid, u32>,
    /// Existing `Port_Binding` keys by `logical_port`: (NB datapath UUID, tunnel_key).
    /// A key is reused only while the port stays on the same datapath.
    pub port_keys: BTreeMap<String, (Uuid, u32)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chassis {
    pub name: String,
    pub hostname: String,
    /// `Encap.type` of each of the chassis' encaps (`geneve`, `vxlan`, `stt`).
    pub encap_types: Vec<String>,
    /// Feature flags live here (`ct-no-masked-label`, `ovn-ct-lb-related`, ...).
    pub other_config: Map,
}
