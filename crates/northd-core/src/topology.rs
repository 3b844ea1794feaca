//! Resolves a `Northbound` snapshot into per-object *views*: for every switch, switch
//! port, router, router port and (load balancer, datapath) pair, a self-contained value
//! holding exactly the parsed facts that object's flows are computed from.
//!
//! The flow generators take nothing but a view, so an object's flows can only change if
//! its view changes; the incremental engine relies on this by comparing views.
//! Resolution itself (name lookup, parsing, validation, key allocation) is linear in the
//! size of the NB and is redone for every snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::addresses::{Cidr, LportAddresses, LrpNetworks, Mac, parse_lport_addresses};
use crate::dgp::{RouterDgp, cr_name};
use crate::keys::{self, KeyRequest};
use crate::lb::{LbView, NeighborMode, ParsedLb, parse_lb};
use crate::model::nb::{
    Acl, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort, Northbound, SbContext, Uuid,
};
use crate::model::sb::SbHaChassisGroup;
use crate::nat::{self, ParsedNat};
use crate::warning::{RowRef, Warning};

/// Settings that affect flows on every datapath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Globals {
    /// All chassis support `ct_mark`-based LB flags (`ct-no-masked-label`).
    pub ct_lb_mark: bool,
    /// All chassis support `ct_commit_nat` for related traffic (`ovn-ct-lb-related`).
    pub ct_lb_related: bool,
    /// NB_Global `options:use_ct_inv_match` (default true).
    pub use_ct_inv_match: bool,
    /// NB_Global `options:default_acl_drop`: traffic no ACL allows is dropped.
    pub default_acl_drop: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SwitchView {
    pub uuid: Uuid,
    pub globals: Globals,
    pub has_lb_vip: bool,
    /// Some enabled port has an `unknown` address (so `_MC_unknown` exists).
    pub has_unknown: bool,
    pub vlan_passthru: bool,
    /// The switch's own ACLs, then those of every port group with a port on it (each
    /// once).
    pub acls: Vec<Acl>,
    /// Some of `acls` is `allow-related`: the switch sends IP traffic through conntrack.
    pub has_stateful_acl: bool,
    pub qos: Vec<QosRule>,
}

/// A QoS rule of a switch, as `build_qos` applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QosRule {
    /// `from-lport`: the ingress pipeline; else egress.
    pub ingress: bool,
    pub priority: u16,
    pub match_: String,
    pub dscp: Option<i64>,
    /// kbps; 0 means no meter.
    pub rate: i64,
    pub burst: i64,
}

fn switch_qos(nb: &Northbound, ls: &crate::model::nb::LogicalSwitch, w: &mut Vec<Warning>) -> Vec<QosRule> {
    let mut out = Vec::new();
    let mut ids = ls.qos_rules.clone();
    ids.sort();
    for id in &ids {
        let Some(q) = nb.qos.get(id) else {
            w.push(Warning::Dangling {
                row: RowRef::new("Logical_Switch", ls.name.clone()),
                column: "qos_rules",
                target: id.clone(),
            });
            continue;
        };
        let Ok(priority) = u16::try_from(q.priority) else {
            continue;
        };
        out.push(QosRule {
            ingress: q.direction == "from-lport",
            priority,
            match_: q.match_.clone(),
            dscp: q.action.get("dscp").copied(),
            rate: q.bandwidth.get("rate").copied().unwrap_or(0),
            burst: q.bandwidth.get("burst").copied().unwrap_or(0),
        });
    }
    out
}

/// A router port as seen from a switch it is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttachedRouterPort {
    /// LRP name.
    pub name: String,
    /// NB UUID of its router.
    pub router: Uuid,
    pub networks: LrpNetworks,
    pub enabled: bool,
    /// Reachable IPv4/IPv6 LB VIPs of its router, sorted (flooded ARP/NS targets).
    pub router_lb_ips: Vec<IpAddr>,
    /// DNAT addresses of its router (ARP requests for them go to the router too).
    pub router_nat_ips: Vec<IpAddr>,
    pub dynamic_neigh_routers: bool,
    /// LSP on the switch that connects to it.
    pub switch_port: String,
    /// This LRP is a distributed gateway port: its `cr-` port's name.
    pub dgp_cr: Option<String>,
    /// This LRP has `options:reside-on-redirect-chassis=true` on a router with a
    /// distributed gateway port: that port's `cr-` name.
    pub reside_cr: Option<String>,
    /// Floating IPs of its router applied on their logical port's chassis (external MAC,
    /// logical port), when the router has a distributed gateway port.
    pub distributed_nats: Vec<(Mac, String)>,
    /// `external_mac`s of its router's DNAT rules (self-originated ARP sources).
    pub nat_macs: Vec<Mac>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SwitchPortView {
    pub name: String,
    pub datapath: Uuid,
    pub globals: Globals,
    pub port_type: String,
    pub enabled: bool,
    /// Destination MACs for `ls_in_l2_lkup`, in `addresses` order.
    pub macs: Vec<Mac>,
    /// Addresses the ARP/ND responder answers for (peer LRP networks for router ports).
    pub addrs: Vec<LportAddresses>,
    pub has_unknown: bool,
    pub has_port_security: bool,
    pub localnet_learn_fdb: bool,
    pub switch_has_lb_vip: bool,
    pub switch_has_stateful_acl: bool,
    /// The switch passes VLAN tags through (no ARP/ND responder then).
    pub switch_vlan_passthru: bool,
    /// The switch has a `localnet` port.
    pub switch_has_localnet: bool,
    /// Every port of the switch is a router port (no L2 flooding to VMs needed).
    pub switch_only_router_ports: bool,
    /// Native DHCPv4 options (`dhcpv4_options`).
    pub dhcp4: Option<crate::model::nb::DhcpOptions>,
    /// `options:hostname` (the DHCP hostname option).
    pub hostname: Option<String>,
    /// For router-type ports: the connected LRP.
    pub peer: Option<AttachedRouterPort>,
    /// All router ports attached to the switch (including `peer`).
    pub switch_routers: Vec<AttachedRouterPort>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub prefix: Cidr,
    pub src_policy: bool,
    /// Route table id (0: the main table).
    pub table: u32,
    /// Where matching packets go; `None` for a `discard` route, which drops them.
    pub via: Option<RouteVia>,
}

/// A route's next hop, output LRP and the source address chosen on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteVia {
    pub nexthop: IpAddr,
    pub out_port: String,
    pub out_mac: Mac,
    pub src_ip: IpAddr,
}

/// Static routes of one router: those alone on their prefix, and ECMP groups of
/// routes sharing one (numbered from 1 in the order northd numbers them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Routes {
    pub single: Vec<Route>,
    pub ecmp: Vec<EcmpGroup>,
    /// IPv6 next hops as the routes spell them, valid routes or not: northd solicits
    /// each one (`lr_in_arp_request`).
    pub ipv6_nexthops: Vec<(String, std::net::Ipv6Addr)>,
    /// Router ports with `options:route_table`, and the id of that table: packets entering
    /// there are routed by that table's routes (and the main table's).
    pub port_tables: Vec<(String, u32)>,
}

/// Route table ids of one router, numbered from 1 as northd numbers them: first the
/// ports' tables in port order, then the tables only routes name, in route order.
#[derive(Default)]
struct RouteTables(Vec<String>);

impl RouteTables {
    fn id(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let i = match self.0.iter().position(|t| t == name) {
            Some(i) => i,
            None => {
                self.0.push(name.to_string());
                self.0.len() - 1
            }
        };
        u32::try_from(i + 1).unwrap_or(0)
    }
}

/// A router policy as `lr_in_policy` applies it: `match_` at `priority`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    pub priority: u16,
    pub match_: String,
    pub action: PolicyAction,
    /// `options:pkt_mark` (0: none).
    pub pkt_mark: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PolicyAction {
    Allow,
    Drop,
    Reroute(PolicyHop),
    /// Several next hops: one is picked per flow with `select()`; ECMP policy groups
    /// are numbered from 1 in policy order.
    Ecmp {
        group: u16,
        hops: Vec<PolicyHop>,
    },
}

/// A reroute next hop as the policy spells it, with the router port whose network holds
/// it and that port's address in the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyHop {
    pub nexthop: String,
    pub v4: bool,
    pub src_ip: IpAddr,
    pub mac: Mac,
    pub port: String,
}

/// Routes with the same prefix and policy: packets are spread over the members
/// (`select()`); member `i` (from 1) is `members[i - 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EcmpGroup {
    pub id: u16,
    pub members: Vec<Route>,
}

/// A router's `dnat_force_snat_ip` / `lb_force_snat_ip` options: traffic it DNATed or
/// load balanced leaves with these source addresses (the first IPv4 and IPv6 of each).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ForceSnat {
    pub dnat: Vec<IpAddr>,
    pub lb: Vec<IpAddr>,
    /// `lb_force_snat_ip=router_ip` on a gateway router: load balanced traffic leaves
    /// with the address of the port it leaves by.
    pub lb_router_ip: bool,
}

impl ForceSnat {
    fn parse(lr: &crate::model::nb::LogicalRouter, w: &mut Vec<Warning>) -> ForceSnat {
        let ips = |key: &str, w: &mut Vec<Warning>| -> Vec<IpAddr> {
            let Some(s) = lr.options.get(key) else {
                return Vec::new();
            };
            let parsed: Result<Vec<IpAddr>, _> = s.split_whitespace().map(str::parse::<IpAddr>).collect();
            match parsed {
                Ok(all) if !all.is_empty() => {
                    let v4 = all.iter().find(|a| a.is_ipv4());
                    let v6 = all.iter().find(|a| a.is_ipv6());
                    v4.into_iter().chain(v6).copied().collect()
                }
                _ => {
                    w.push(Warning::BadOption {
                        row: RowRef::new("Logical_Router", lr.name.clone()),
                        key: key.to_string(),
                        value: s.clone(),
                    });
                    Vec::new()
                }
            }
        };
        let gateway = lr.options.contains_key("chassis");
        let lb_router_ip = gateway
            && lr
                .options
                .get("lb_force_snat_ip")
                .is_some_and(|v| v == "router_ip");
        ForceSnat {
            dnat: ips("dnat_force_snat_ip", w),
            lb: if lb_router_ip {
                Vec::new()
            } else {
                ips("lb_force_snat_ip", w)
            },
            lb_router_ip,
        }
    }

    /// Whether load balanced traffic is SNATed (with an address or the port's).
    pub fn lb_forced(&self) -> bool {
        self.lb_router_ip || !self.lb.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouterView {
    pub uuid: Uuid,
    pub globals: Globals,
    pub is_gateway: bool,
    pub has_lb_vip: bool,
    pub force_snat: ForceSnat,
    pub routes: Routes,
    pub policies: Vec<Policy>,
    pub nats: Vec<ParsedNat>,
    /// Its distributed gateway port (routers without `options:chassis` only).
    pub dgp: Option<RouterDgp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouterPortView {
    pub name: String,
    pub router: Uuid,
    pub globals: Globals,
    pub networks: LrpNetworks,
    pub enabled: bool,
    pub router_key: u32,
    pub router_has_lb_v4: bool,
    pub router_has_lb_v6: bool,
    pub router_is_gateway: bool,
    /// `lb_force_snat_ip=router_ip` on this gateway router: load balanced traffic leaving
    /// by a port with a peer takes the port's address.
    pub router_lb_force_snat_router_ip: bool,
    /// A switch port or router port names this port as its peer.
    pub has_peer: bool,
    /// The router's SNAT addresses and LB VIPs: traffic to a port address among them is
    /// dropped only after unSNAT/DNAT had their chance.
    pub router_nat_lb_ips: Vec<IpAddr>,
    /// Directly connected LRP (router-to-router link).
    pub lrp_peer: Option<(String, LrpNetworks)>,
    /// The router has a distributed gateway port.
    pub router_has_dgp: bool,
    /// This port is the router's distributed gateway port: the port and the router's NAT
    /// rules (for their ARP flows on it).
    pub dgp: Option<(RouterDgp, Vec<ParsedNat>)>,
    /// The peer switch has a `localnet` port.
    pub peer_has_localnet: bool,
    /// `options:reside-on-redirect-chassis=true` on a router with a distributed gateway
    /// port (not this one): that port's `cr-` name.
    pub reside_cr: Option<String>,
    /// `ipv6_ra_configs` of a port that is not a router-to-router link.
    pub ipv6_ra_configs: crate::model::Map,
}

/// Per-port facts the SB Port_Binding is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortOwner {
    Switch {
        lsp: LogicalSwitchPort,
        /// For router-type ports: the peer LRP's router chassis (l3gateway).
        gateway_chassis: Option<String>,
        /// GARP `nat_addresses` (router-type ports).
        nat_addresses: Vec<String>,
        /// The switch has `other_config:vlan-passthru=true`.
        vlan_passthru: bool,
    },
    Router {
        lrp: LogicalRouterPort,
        networks: LrpNetworks,
        peer: Option<String>,
        gateway_chassis: Option<String>,
        /// For a distributed gateway port: its `cr-` port.
        cr_port: Option<String>,
    },
    /// The `cr-` twin of a distributed gateway port.
    ChassisRedirect {
        lrp: LogicalRouterPort,
        always_redirect: bool,
        ha_group: crate::model::sb::SbHaChassisGroup,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedPort {
    pub datapath: Uuid,
    pub owner: PortOwner,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedDatapath {
    pub is_router: bool,
    pub name: String,
    pub external_ids: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// Member port names in NB order (valid ones only).
    pub ports: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Topology {
    pub globals: Option<Globals>,
    pub vxlan: bool,
    pub datapaths: BTreeMap<Uuid, ResolvedDatapath>,
    pub ports: BTreeMap<String, ResolvedPort>,
    pub dp_keys: BTreeMap<Uuid, u32>,
    pub port_keys: BTreeMap<String, u32>,
    pub switches: BTreeMap<Uuid, SwitchView>,
    pub switch_ports: BTreeMap<String, SwitchPortView>,
    pub routers: BTreeMap<Uuid, RouterView>,
    pub router_ports: BTreeMap<String, RouterPortView>,
    pub lbs: BTreeMap<(Uuid, Uuid), LbView>,
    pub parsed_lbs: BTreeMap<Uuid, ParsedLb>,
    /// Reachable LB VIPs per router, for the `_rtr_lb_<key>_ip4/6` address sets.
    pub router_lb_ips: BTreeMap<Uuid, Vec<IpAddr>>,
    /// DNAT addresses per router that attached switches forward ARP requests for.
    pub router_nat_ips: BTreeMap<Uuid, Vec<IpAddr>>,
    pub warnings: Vec<Warning>,
}

fn enabled(v: Option<bool>) -> bool {
    v.unwrap_or(true)
}

fn opt_true(m: &BTreeMap<String, String>, k: &str) -> bool {
    m.get(k).is_some_and(|v| v == "true")
}

pub(crate) fn globals(nb: &Northbound, ctx: &SbContext) -> Globals {
    let mut g = Globals {
        ct_lb_mark: true,
        ct_lb_related: true,
        use_ct_inv_match: nb
            .nb_global
            .options
            .get("use_ct_inv_match")
            .is_none_or(|v| v != "false"),
        default_acl_drop: opt_true(&nb.nb_global.options, "default_acl_drop"),
    };
    for ch in &ctx.chassis {
        if opt_true(&ch.other_config, "is-remote") {
            continue;
        }
        g.ct_lb_mark &= opt_true(&ch.other_config, "ct-no-masked-label");
        g.ct_lb_related &= opt_true(&ch.other_config, "ovn-ct-lb-related");
    }
    g
}

struct LspParse {
    macs: Vec<Mac>,
    addrs: Vec<LportAddresses>,
    has_unknown: bool,
    has_router: bool,
}

/// Parses `addresses`, dropping malformed entries and MACs/IPs already claimed on the
/// same switch (first claimant in port-name order wins).
fn parse_lsp_addresses(
    lsp: &LogicalSwitchPort,
    claimed_macs: &mut BTreeMap<Mac, String>,
    claimed_ips: &mut BTreeMap<IpAddr, String>,
    warnings: &mut Vec<Warning>,
) -> LspParse {
    let row = RowRef::new("Logical_Switch_Port", lsp.name.clone());
    let mut out = LspParse {
        macs: Vec::new(),
        addrs: Vec::new(),
        has_unknown: false,
        has_router: false,
    };
    for entry in &lsp.addresses {
        let e = entry.trim();
        match e {
            "unknown" => out.has_unknown = true,
            "router" => out.has_router = true,
            // Dynamic addressing needs IPAM, which is not implemented; the entry is
            // reported rather than silently treated as absent.
            _ if e.starts_with("dynamic") => warnings.push(Warning::BadAddress {
                row: row.clone(),
                column: "addresses",
                error: crate::addresses::AddressError::Entry(format!(
                    "{e} (dynamic addresses are not supported)"
                )),
            }),
            _ => match parse_lport_addresses(e) {
                Ok(mut a) => {
                    if let Some(other) = claimed_macs.get(&a.mac) {
                        warnings.push(Warning::Duplicate {
                            row: row.clone(),
                            what: "MAC",
                            value: a.mac.to_string(),
                            other: other.clone(),
                        });
                        continue;
                    }
                    claimed_macs.insert(a.mac, lsp.name.clone());
                    let mut keep = |ip: IpAddr| match claimed_ips.get(&ip) {
                        Some(other) => {
                            warnings.push(Warning::Duplicate {
                                row: row.clone(),
                                what: "IP",
                                value: ip.to_string(),
                                other: other.clone(),
                            });
                            false
                        }
                        None => {
                            claimed_ips.insert(ip, lsp.name.clone());
                            true
                        }
                    };
                    a.ipv4.retain(|ip| keep(IpAddr::V4(*ip)));
                    a.ipv6.retain(|ip| keep(IpAddr::V6(*ip)));
                    out.macs.push(a.mac);
                    out.addrs.push(a);
                }
                Err(error) => warnings.push(Warning::BadAddress {
                    row: row.clone(),
                    column: "addresses",
                    error,
                }),
            },
        }
    }
    out
}

fn parse_lrp(lrp: &LogicalRouterPort, warnings: &mut Vec<Warning>) -> Option<LrpNetworks> {
    let row = RowRef::new("Logical_Router_Port", lrp.name.clone());
    let mac: Mac = match lrp.mac.trim().parse() {
        Ok(m) => m,
        Err(error) => {
            warnings.push(Warning::BadAddress {
                row,
                column: "mac",
                error,
            });
            return None;
        }
    };
    let mut nets = Vec::new();
    for n in &lrp.networks {
        match n.trim().parse::<Cidr>() {
            Ok(c) if n.contains('/') => nets.push(c),
            Ok(_) => warnings.push(Warning::BadAddress {
                row: row.clone(),
                column: "networks",
                error: crate::addresses::AddressError::Cidr(n.clone()),
            }),
            Err(error) => warnings.push(Warning::BadAddress {
                row: row.clone(),
                column: "networks",
                error,
            }),
        }
    }
    Some(LrpNetworks::new(mac, &nets))
}

impl Topology {
    pub(crate) fn build(nb: &Northbound, ctx: &SbContext) -> Topology {
        let mut t = Topology::default();
        let g = globals(nb, ctx);
        t.globals = Some(g);
        t.vxlan = ctx
            .chassis
            .iter()
            .any(|c| c.encap_types.iter().any(|e| e == "vxlan"));
        let w = &mut t.warnings;

        // Datapaths and port membership; port names are global (SB logical_port).
        let mut port_names: BTreeSet<String> = BTreeSet::new();
        let mut lsp_owner: BTreeMap<&str, &str> = BTreeMap::new(); // lsp uuid -> ls uuid
        let mut lsps: BTreeMap<&str, Vec<(&str, &LogicalSwitchPort)>> = BTreeMap::new();
        for (ls_uuid, ls) in &nb.switches {
            let mut ports = Vec::new();
            for pu in &ls.ports {
                let row = RowRef::new("Logical_Switch", ls.name.clone());
                let Some(lsp) = nb.switch_ports.get(pu) else {
                    w.push(Warning::Dangling {
                        row,
                        column: "ports",
                        target: pu.clone(),
                    });
                    continue;
                };
                if lsp_owner.insert(pu, ls_uuid).is_some() {
                    w.push(Warning::SharedPort {
                        row: RowRef::new("Logical_Switch_Port", lsp.name.clone()),
                    });
                    continue;
                }
                if !port_names.insert(lsp.name.clone()) {
                    w.push(Warning::DuplicateName {
                        row: RowRef::new("Logical_Switch_Port", lsp.name.clone()),
                    });
                    continue;
                }
                ports.push((pu.as_str(), lsp));
            }
            lsps.insert(ls_uuid, ports);
        }
        let mut lrp_owner: BTreeMap<&str, &str> = BTreeMap::new();
        let mut lrps: BTreeMap<&str, Vec<(&LogicalRouterPort, LrpNetworks)>> = BTreeMap::new();
        let mut lrp_by_name: BTreeMap<&str, (&str, &LogicalRouterPort, LrpNetworks)> = BTreeMap::new();
        for (lr_uuid, lr) in &nb.routers {
            let mut ports = Vec::new();
            for pu in &lr.ports {
                let row = RowRef::new("Logical_Router", lr.name.clone());
                let Some(lrp) = nb.router_ports.get(pu) else {
                    w.push(Warning::Dangling {
                        row,
                        column: "ports",
                        target: pu.clone(),
                    });
                    continue;
                };
                if lrp_owner.insert(pu, lr_uuid).is_some() {
                    w.push(Warning::SharedPort {
                        row: RowRef::new("Logical_Router_Port", lrp.name.clone()),
                    });
                    continue;
                }
                if !port_names.insert(lrp.name.clone()) {
                    w.push(Warning::DuplicateName {
                        row: RowRef::new("Logical_Router_Port", lrp.name.clone()),
                    });
                    continue;
                }
                let Some(nets) = parse_lrp(lrp, w) else { continue };
                lrp_by_name.insert(&lrp.name, (lr_uuid, lrp, nets.clone()));
                ports.push((lrp, nets));
            }
            lrps.insert(lr_uuid, ports);
        }

        // Distributed gateway ports: one per router (ovn-northd allows several, with NAT
        // rules choosing theirs by `gateway_port`, which is not modelled).
        let mut router_dgp: BTreeMap<&str, (&LogicalRouterPort, LrpNetworks)> = BTreeMap::new();
        for (lr_uuid, ports) in &lrps {
            let lr = &nb.routers[*lr_uuid];
            for (lrp, nets) in ports {
                if lrp.gateway_chassis.is_empty() && lrp.ha_chassis_group.is_none() {
                    continue;
                }
                let row = RowRef::new("Logical_Router_Port", lrp.name.clone());
                if lr.options.get("chassis").is_some_and(|c| !c.is_empty()) {
                    w.push(Warning::Unsupported {
                        row,
                        what: "a distributed gateway port on a gateway router".into(),
                    });
                } else if port_names.contains(&cr_name(&lrp.name)) {
                    // Its chassisredirect twin would take that port's binding.
                    w.push(Warning::ChassisRedirectNameTaken {
                        row,
                        name: cr_name(&lrp.name),
                    });
                } else if router_dgp.contains_key(lr_uuid) {
                    w.push(Warning::Unsupported {
                        row,
                        what: "a second distributed gateway port on one router".into(),
                    });
                } else {
                    router_dgp.insert(lr_uuid, (lrp, nets.clone()));
                }
            }
        }

        // Tunnel keys.
        let mut dp_reqs = Vec::new();
        for (u, ls) in &nb.switches {
            dp_reqs.push(KeyRequest {
                id: u.clone(),
                row: RowRef::new("Logical_Switch", ls.name.clone()),
                requested: ls.other_config.get("requested-tnl-key").cloned(),
                existing: ctx.datapath_keys.get(u).copied(),
            });
        }
        for (u, lr) in &nb.routers {
            dp_reqs.push(KeyRequest {
                id: u.clone(),
                row: RowRef::new("Logical_Router", lr.name.clone()),
                requested: lr.options.get("requested-tnl-key").cloned(),
                existing: ctx.datapath_keys.get(u).copied(),
            });
        }
        let max_dp = if t.vxlan {
            keys::MAX_DP_KEY_VXLAN
        } else {
            keys::MAX_DP_KEY
        };
        t.dp_keys = keys::allocate(&dp_reqs, max_dp, w);
        let max_port = if t.vxlan {
            keys::MAX_PORT_KEY_VXLAN
        } else {
            keys::MAX_PORT_KEY
        };
        let existing_port_key =
            |name: &str, dp: &str| ctx.port_keys.get(name).filter(|(d, _)| d == dp).map(|(_, k)| *k);
        for (ls_uuid, ports) in &lsps {
            let reqs: Vec<_> = ports
                .iter()
                .map(|(_, p)| KeyRequest {
                    id: p.name.clone(),
                    row: RowRef::new("Logical_Switch_Port", p.name.clone()),
                    requested: p.options.get("requested-tnl-key").cloned(),
                    existing: existing_port_key(&p.name, ls_uuid),
                })
                .collect();
            t.port_keys.extend(keys::allocate(&reqs, max_port, w));
        }
        for (lr_uuid, ports) in &lrps {
            let mut reqs: Vec<_> = ports
                .iter()
                .map(|(p, _)| KeyRequest {
                    id: p.name.clone(),
                    row: RowRef::new("Logical_Router_Port", p.name.clone()),
                    requested: p.options.get("requested-tnl-key").cloned(),
                    existing: existing_port_key(&p.name, lr_uuid),
                })
                .collect();
            if let Some((p, _)) = router_dgp.get(lr_uuid) {
                let cr = cr_name(&p.name);
                reqs.push(KeyRequest {
                    existing: existing_port_key(&cr, lr_uuid),
                    id: cr,
                    row: RowRef::new("Logical_Router_Port", p.name.clone()),
                    requested: None,
                });
            }
            t.port_keys.extend(keys::allocate(&reqs, max_port, w));
        }

        // Load balancers.
        for (u, lb) in &nb.load_balancers {
            t.parsed_lbs.insert(u.clone(), parse_lb(u, lb, w));
        }

        // Routers: gateway chassis, LB VIPs.
        let mut router_gw: BTreeMap<&str, Option<String>> = BTreeMap::new();
        let mut router_lbs: BTreeMap<&str, Vec<&ParsedLb>> = BTreeMap::new();
        let mut router_nats: BTreeMap<&str, Vec<ParsedNat>> = BTreeMap::new();
        for (u, lr) in &nb.routers {
            let mut nats = Vec::new();
            let gateway = lr.options.get("chassis").is_some_and(|c| !c.is_empty());
            for nu in &lr.nat {
                match nb.nats.get(nu) {
                    Some(n) => match nat::parse(&lr.name, n, w) {
                        // Distributed gateway ports carry IPv4 NAT only (for now).
                        Some(p) if p.external.is_ipv6() && !gateway => w.push(Warning::BadNat {
                            row: RowRef::new(
                                "NAT",
                                format!("{} {} on {}", n.nat_type, n.external_ip, lr.name),
                            ),
                            reason: "IPv6 NAT is supported on gateway routers only".into(),
                        }),
                        p => nats.extend(p),
                    },
                    None => w.push(Warning::Dangling {
                        row: RowRef::new("Logical_Router", lr.name.clone()),
                        column: "nat",
                        target: nu.clone(),
                    }),
                }
            }
            let chassis = lr.options.get("chassis").filter(|c| !c.is_empty()).cloned();
            router_gw.insert(u, chassis);
            let mut list = Vec::new();
            for lbu in &nb.lbs_with_groups(&lr.load_balancers, &lr.load_balancer_groups) {
                match t.parsed_lbs.get(lbu) {
                    Some(p) => list.push(p),
                    None => w.push(Warning::Dangling {
                        row: RowRef::new("Logical_Router", lr.name.clone()),
                        column: "load_balancer",
                        target: lbu.clone(),
                    }),
                }
            }
            let nets: Vec<&LrpNetworks> = lrps[u.as_str()].iter().map(|(_, n)| n).collect();
            let mut ips = BTreeSet::new();
            for lb in &list {
                for vip in &lb.vips {
                    let reachable = match lb.neighbor_mode {
                        NeighborMode::None => false,
                        NeighborMode::All => true,
                        NeighborMode::Reachable => nets
                            .iter()
                            .any(|n| n.ipv4.iter().chain(&n.ipv6).any(|c| c.contains(&vip.ip))),
                    };
                    if reachable {
                        ips.insert(vip.ip);
                    }
                }
            }
            let lb_ips: Vec<IpAddr> = ips.into_iter().collect();
            t.router_nat_ips
                .insert(u.clone(), nat::forwarded_ips(&nats, &lb_ips));
            t.router_lb_ips.insert(u.clone(), lb_ips);
            router_lbs.insert(u, list);
            router_nats.insert(u, nats);
        }

        // Which LSP points at which LRP.
        let mut lrp_peer_lsp: BTreeMap<String, String> = BTreeMap::new();
        for ports in lsps.values() {
            for (_, lsp) in ports {
                if lsp.port_type == "router" {
                    if let Some(rp) = lsp.options.get("router-port") {
                        if lrp_by_name.contains_key(rp.as_str()) {
                            lrp_peer_lsp.entry(rp.clone()).or_insert(lsp.name.clone());
                        } else {
                            w.push(Warning::MissingPeer {
                                row: RowRef::new("Logical_Switch_Port", lsp.name.clone()),
                                peer: rp.clone(),
                            });
                        }
                    } else {
                        w.push(Warning::MissingPeer {
                            row: RowRef::new("Logical_Switch_Port", lsp.name.clone()),
                            peer: String::new(),
                        });
                    }
                }
            }
        }
        let dp_keys = t.dp_keys.clone();
        let router_nat_ips = t.router_nat_ips.clone();
        let router_dgp_names: BTreeMap<&str, &str> = router_dgp
            .iter()
            .map(|(u, (p, _))| (*u, p.name.as_str()))
            .collect();
        let router_nats_ref = &router_nats;
        let attached = |lsp: &LogicalSwitchPort, lr_ips: &BTreeMap<Uuid, Vec<IpAddr>>| {
            let rp = lsp.options.get("router-port")?;
            let (lr_uuid, lrp, nets) = lrp_by_name.get(rp.as_str())?;
            if !dp_keys.contains_key(*lr_uuid) {
                return None;
            }
            Some(AttachedRouterPort {
                name: lrp.name.clone(),
                router: lr_uuid.to_string(),
                networks: nets.clone(),
                enabled: enabled(lrp.enabled),
                router_lb_ips: lr_ips.get(*lr_uuid).cloned().unwrap_or_default(),
                router_nat_ips: router_nat_ips.get(*lr_uuid).cloned().unwrap_or_default(),
                dynamic_neigh_routers: opt_true(&nb.routers[*lr_uuid].options, "dynamic_neigh_routers"),
                switch_port: lsp.name.clone(),
                reside_cr: reside_cr(lrp, router_dgp_names.get(*lr_uuid).copied()),
                dgp_cr: (router_dgp_names.get(*lr_uuid) == Some(&lrp.name.as_str()))
                    .then(|| cr_name(&lrp.name)),
                distributed_nats: if router_dgp_names.contains_key(*lr_uuid) {
                    router_nats_ref[*lr_uuid]
                        .iter()
                        .filter_map(|n| n.distributed.as_ref().map(|(lp, m)| (*m, lp.clone())))
                        .collect()
                } else {
                    Vec::new()
                },
                nat_macs: router_nats_ref[*lr_uuid]
                    .iter()
                    .filter_map(|n| n.external_mac)
                    .collect(),
            })
        };

        let pg_acls = port_group_acls(nb, &lsp_owner, w);

        // LRPs whose peer switch has a localnet port.
        let mut lrp_peer_localnet: BTreeSet<String> = BTreeSet::new();

        // Switches and their ports.
        for (ls_uuid, ls) in &nb.switches {
            // No key left (e.g. VXLAN's 4095 limit): the datapath is not written at all.
            if !t.dp_keys.contains_key(ls_uuid) {
                continue;
            }
            let ports = &lsps[ls_uuid.as_str()];
            let mut sorted: Vec<&LogicalSwitchPort> = ports.iter().map(|(_, p)| *p).collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            let mut claimed_macs = BTreeMap::new();
            let mut claimed_ips = BTreeMap::new();
            let mut parsed: BTreeMap<&str, LspParse> = BTreeMap::new();
            for lsp in &sorted {
                parsed.insert(
                    &lsp.name,
                    parse_lsp_addresses(lsp, &mut claimed_macs, &mut claimed_ips, w),
                );
            }
            let mut lb_list = Vec::new();
            for lbu in &nb.lbs_with_groups(&ls.load_balancers, &ls.load_balancer_groups) {
                match t.parsed_lbs.get(lbu) {
                    Some(p) => lb_list.push(p.clone()),
                    None => w.push(Warning::Dangling {
                        row: RowRef::new("Logical_Switch", ls.name.clone()),
                        column: "load_balancer",
                        target: lbu.clone(),
                    }),
                }
            }
            let has_lb_vip = lb_list.iter().any(|l| !l.vips.is_empty());
            let has_unknown = ports
                .iter()
                .any(|(_, p)| enabled(p.enabled) && parsed[p.name.as_str()].has_unknown);
            let n_router = ports.iter().filter(|(_, p)| p.port_type == "router").count();
            let has_localnet = ports.iter().any(|(_, p)| p.port_type == "localnet");
            let switch_routers: Vec<AttachedRouterPort> = ports
                .iter()
                .filter(|(_, p)| p.port_type == "router")
                .filter_map(|(_, p)| attached(p, &t.router_lb_ips))
                .collect();

            let acls = switch_acls(nb, ls, pg_acls.get(ls_uuid.as_str()), w);
            let has_stateful_acl = acls.iter().any(|a| a.action == "allow-related");
            t.switches.insert(
                ls_uuid.clone(),
                SwitchView {
                    uuid: ls_uuid.clone(),
                    globals: g,
                    has_lb_vip,
                    has_unknown,
                    vlan_passthru: opt_true(&ls.other_config, "vlan-passthru"),
                    acls,
                    has_stateful_acl,
                    qos: switch_qos(nb, ls, w),
                },
            );
            for lb in lb_list {
                t.lbs.insert(
                    (lb.uuid.clone(), ls_uuid.clone()),
                    LbView {
                        lb,
                        datapath: ls_uuid.clone(),
                        on_router: false,
                        router_force_snat: false,
                        globals: g,
                    },
                );
            }

            let mut names = Vec::new();
            for (_, lsp) in ports {
                names.push(lsp.name.clone());
                let p = parsed.remove(lsp.name.as_str()).unwrap_or(LspParse {
                    macs: vec![],
                    addrs: vec![],
                    has_unknown: false,
                    has_router: false,
                });
                let peer = if lsp.port_type == "router" {
                    attached(lsp, &t.router_lb_ips)
                } else {
                    None
                };
                let mut macs = p.macs;
                let mut addrs = p.addrs;
                if p.has_router
                    && let Some(peer) = &peer
                {
                    macs.push(peer.networks.mac);
                    addrs.push(LportAddresses {
                        mac: peer.networks.mac,
                        ipv4: peer.networks.ipv4.iter().filter_map(|c| v4(c.addr)).collect(),
                        ipv6: peer.networks.ipv6.iter().filter_map(|c| v6(c.addr)).collect(),
                    });
                }
                let gateway_chassis = peer
                    .as_ref()
                    .and_then(|a| router_gw.get(a.router.as_str()).cloned().flatten());
                if has_localnet && let Some(a) = &peer {
                    lrp_peer_localnet.insert(a.name.clone());
                }
                let nat_addresses = match &peer {
                    Some(a) => garp_addresses(lsp, a, gateway_chassis.is_some(), has_localnet, &router_nats),
                    None => Vec::new(),
                };
                t.switch_ports.insert(
                    lsp.name.clone(),
                    SwitchPortView {
                        name: lsp.name.clone(),
                        datapath: ls_uuid.clone(),
                        globals: g,
                        port_type: lsp.port_type.clone(),
                        enabled: enabled(lsp.enabled),
                        macs,
                        addrs,
                        has_unknown: p.has_unknown,
                        has_port_security: !lsp.port_security.is_empty(),
                        localnet_learn_fdb: opt_true(&lsp.options, "localnet_learn_fdb"),
                        switch_has_lb_vip: has_lb_vip,
                        switch_has_stateful_acl: has_stateful_acl,
                        dhcp4: lsp.dhcpv4_options.as_ref().and_then(|d| {
                            let row = nb.dhcp_options.get(d);
                            if row.is_none() {
                                w.push(Warning::Dangling {
                                    row: RowRef::new("Logical_Switch_Port", lsp.name.clone()),
                                    column: "dhcpv4_options",
                                    target: d.clone(),
                                });
                            }
                            row.cloned()
                        }),
                        hostname: lsp.options.get("hostname").cloned(),
                        switch_vlan_passthru: opt_true(&ls.other_config, "vlan-passthru"),
                        switch_has_localnet: has_localnet,
                        switch_only_router_ports: n_router == ports.len(),
                        peer,
                        switch_routers: switch_routers.clone(),
                    },
                );
                t.ports.insert(
                    lsp.name.clone(),
                    ResolvedPort {
                        datapath: ls_uuid.clone(),
                        owner: PortOwner::Switch {
                            lsp: (*lsp).clone(),
                            gateway_chassis,
                            nat_addresses,
                            vlan_passthru: opt_true(&ls.other_config, "vlan-passthru"),
                        },
                    },
                );
            }
            let mut ext = BTreeMap::new();
            ext.insert("logical-switch".to_string(), ls_uuid.clone());
            ext.insert("name".to_string(), ls.name.clone());
            if let Some(n2) = ls.external_ids.get("neutron:network_name") {
                ext.insert("name2".to_string(), n2.clone());
            }
            if let Some(ic) = ls.other_config.get("interconn-ts") {
                ext.insert("interconn-ts".to_string(), ic.clone());
            }
            t.datapaths.insert(
                ls_uuid.clone(),
                ResolvedDatapath {
                    is_router: false,
                    name: ls.name.clone(),
                    external_ids: ext,
                    options: ls.other_config.clone(),
                    ports: names,
                },
            );
        }

        let peer_localnet = |name: &str| lrp_peer_localnet.contains(name);
        // Routers and their ports.
        for (lr_uuid, lr) in &nb.routers {
            // No key left (e.g. VXLAN's 4095 limit): the datapath is not written at all.
            if !t.dp_keys.contains_key(lr_uuid) {
                continue;
            }
            let ports = &lrps[lr_uuid.as_str()];
            let key = t.dp_keys.get(lr_uuid).copied().unwrap_or(0);
            let gw = router_gw[lr_uuid.as_str()].clone();
            let lbs = &router_lbs[lr_uuid.as_str()];
            let has_lb_vip = lbs.iter().any(|l| !l.vips.is_empty());
            let lb_ips = &t.router_lb_ips[lr_uuid];
            let nats = router_nats.get(lr_uuid.as_str()).cloned().unwrap_or_default();
            let force_snat = ForceSnat::parse(&nb.routers[lr_uuid.as_str()], w);
            let mut nat_lb_ips = nat::snat_ips(&nats);
            nat_lb_ips.extend(force_snat.dnat.iter().chain(&force_snat.lb));
            nat_lb_ips.extend(lbs.iter().flat_map(|l| l.vips.iter().map(|v| v.ip)));
            nat_lb_ips.sort();
            nat_lb_ips.dedup();
            let routes = resolve_routes(nb, lr_uuid, ports, w);
            let policies = resolve_policies(nb, lr_uuid, ports, w);
            let dgp = router_dgp.get(lr_uuid.as_str()).map(|(p, n)| RouterDgp {
                port: p.name.clone(),
                mac: n.mac,
            });
            t.routers.insert(
                lr_uuid.clone(),
                RouterView {
                    uuid: lr_uuid.clone(),
                    globals: g,
                    is_gateway: gw.is_some(),
                    has_lb_vip,
                    force_snat: force_snat.clone(),
                    routes,
                    policies,
                    nats: nats.clone(),
                    dgp: dgp.clone(),
                },
            );
            for lb in lbs {
                t.lbs.insert(
                    (lb.uuid.clone(), lr_uuid.clone()),
                    LbView {
                        lb: (*lb).clone(),
                        datapath: lr_uuid.clone(),
                        on_router: true,
                        router_force_snat: force_snat.lb_forced(),
                        globals: g,
                    },
                );
            }
            let mut names = Vec::new();
            for (lrp, nets) in ports {
                names.push(lrp.name.clone());
                let lrp_peer = match &lrp.peer {
                    Some(p) => match lrp_by_name.get(p.as_str()) {
                        Some((_, _, pn)) => Some((p.clone(), pn.clone())),
                        None => {
                            w.push(Warning::MissingPeer {
                                row: RowRef::new("Logical_Router_Port", lrp.name.clone()),
                                peer: p.clone(),
                            });
                            None
                        }
                    },
                    None => None,
                };
                let peer_name = lrp_peer_lsp
                    .get(&lrp.name)
                    .cloned()
                    .or_else(|| lrp_peer.as_ref().map(|(n, _)| n.clone()));
                t.router_ports.insert(
                    lrp.name.clone(),
                    RouterPortView {
                        name: lrp.name.clone(),
                        router: lr_uuid.clone(),
                        globals: g,
                        networks: nets.clone(),
                        enabled: enabled(lrp.enabled),
                        router_key: key,
                        router_has_lb_v4: lb_ips.iter().any(IpAddr::is_ipv4),
                        router_has_lb_v6: lb_ips.iter().any(IpAddr::is_ipv6),
                        router_is_gateway: gw.is_some(),
                        router_lb_force_snat_router_ip: force_snat.lb_router_ip,
                        has_peer: peer_name.is_some(),
                        router_nat_lb_ips: nat_lb_ips.clone(),
                        lrp_peer,
                        router_has_dgp: dgp.is_some(),
                        dgp: dgp
                            .as_ref()
                            .filter(|d| d.port == lrp.name)
                            .map(|d| (d.clone(), nats.clone())),
                        peer_has_localnet: peer_localnet(&lrp.name),
                        reside_cr: reside_cr(lrp, dgp.as_ref().map(|d| d.port.as_str())),
                        ipv6_ra_configs: if lrp.peer.is_some() {
                            Default::default()
                        } else {
                            lrp.ipv6_ra_configs.clone()
                        },
                    },
                );
                if dgp.as_ref().is_some_and(|d| d.port == lrp.name) {
                    let cr = cr_name(&lrp.name);
                    names.push(cr.clone());
                    t.ports.insert(
                        cr,
                        ResolvedPort {
                            datapath: lr_uuid.clone(),
                            owner: PortOwner::ChassisRedirect {
                                lrp: (*lrp).clone(),
                                always_redirect: !nats.iter().any(|n| n.distributed.is_some())
                                    && lrp
                                        .options
                                        .get("redirect-type")
                                        .is_none_or(|r| !r.eq_ignore_ascii_case("bridged")),
                                ha_group: ha_group(nb, lrp, w),
                            },
                        },
                    );
                }
                t.ports.insert(
                    lrp.name.clone(),
                    ResolvedPort {
                        datapath: lr_uuid.clone(),
                        owner: PortOwner::Router {
                            lrp: (*lrp).clone(),
                            networks: nets.clone(),
                            cr_port: dgp
                                .as_ref()
                                .filter(|d| d.port == lrp.name)
                                .map(|_| cr_name(&lrp.name)),
                            peer: peer_name,
                            gateway_chassis: gw.clone(),
                        },
                    },
                );
            }
            let mut ext = BTreeMap::new();
            ext.insert("logical-router".to_string(), lr_uuid.clone());
            ext.insert("name".to_string(), lr.name.clone());
            if let Some(n2) = lr.external_ids.get("neutron:router_name") {
                ext.insert("name2".to_string(), n2.clone());
            }
            if let Some(z) = lr.options.get("snat-ct-zone") {
                ext.insert("snat-ct-zone".to_string(), z.clone());
            }
            if lr
                .options
                .get("always_learn_from_arp_request")
                .map(String::as_str)
                == Some("false")
            {
                ext.insert("always_learn_from_arp_request".to_string(), "false".into());
            }
            t.datapaths.insert(
                lr_uuid.clone(),
                ResolvedDatapath {
                    is_router: true,
                    name: lr.name.clone(),
                    external_ids: ext,
                    options: lr.options.clone(),
                    ports: names,
                },
            );
        }
        t
    }
}

/// For a router port with `options:reside-on-redirect-chassis=true` on a router whose
/// distributed gateway port is `dgp` (another port): that port's `cr-` name, whose
/// chassis runs the router pipeline for this port's switch.
fn reside_cr(lrp: &LogicalRouterPort, dgp: Option<&str>) -> Option<String> {
    let on = lrp
        .options
        .get("reside-on-redirect-chassis")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    dgp.filter(|d| on && *d != lrp.name).map(cr_name)
}

/// SB `HA_Chassis_Group` of a distributed gateway port: its NB `ha_chassis_group`, or
/// one named after the port made of its `Gateway_Chassis` rows (the group wins when
/// both are set, as in ovn-northd).
fn ha_group(nb: &Northbound, lrp: &LogicalRouterPort, w: &mut Vec<Warning>) -> SbHaChassisGroup {
    let row = || RowRef::new("Logical_Router_Port", lrp.name.clone());
    let mut g = SbHaChassisGroup::default();
    if let Some(u) = &lrp.ha_chassis_group {
        match nb.ha_chassis_groups.get(u) {
            Some(grp) => {
                g.name = grp.name.clone();
                for hu in &grp.ha_chassis {
                    match nb.ha_chassis.get(hu) {
                        Some(h) => g.chassis.push((h.chassis_name.clone(), h.priority)),
                        None => w.push(Warning::Dangling {
                            row: RowRef::new("HA_Chassis_Group", grp.name.clone()),
                            column: "ha_chassis",
                            target: hu.clone(),
                        }),
                    }
                }
            }
            None => {
                w.push(Warning::Dangling {
                    row: row(),
                    column: "ha_chassis_group",
                    target: u.clone(),
                });
                g.name = lrp.name.clone();
            }
        }
    } else {
        g.name = lrp.name.clone();
        for gu in &lrp.gateway_chassis {
            match nb.gateway_chassis.get(gu) {
                Some(gc) if !gc.chassis_name.is_empty() => {
                    g.chassis.push((gc.chassis_name.clone(), gc.priority))
                }
                Some(_) => {}
                None => w.push(Warning::Dangling {
                    row: row(),
                    column: "gateway_chassis",
                    target: gu.clone(),
                }),
            }
        }
    }
    g.chassis.sort();
    g
}

/// `Port_Binding.nat_addresses` of a router-type LSP (the addresses its peer router's
/// gateway chassis announces by GARP), as ovn-northd 23.03 fills it. `nat-addresses=router`
/// on a gateway router and LB VIPs in the list are not modelled.
fn garp_addresses(
    lsp: &LogicalSwitchPort,
    peer: &AttachedRouterPort,
    peer_is_gateway_router: bool,
    switch_has_localnet: bool,
    router_nats: &BTreeMap<&str, Vec<ParsedNat>>,
) -> Vec<String> {
    let mut out = Vec::new();
    let port_garp = |out: &mut Vec<String>, suffix: &str| {
        let mut s = peer.networks.mac.to_string();
        for c in &peer.networks.ipv4 {
            s.push_str(&format!(" {}", c.addr));
        }
        s.push_str(suffix);
        out.push(s);
    };
    match &peer.dgp_cr {
        Some(cr) => {
            let resident = format!(" is_chassis_resident({})", crate::flows::quoted(cr));
            let nats = router_nats
                .get(peer.router.as_str())
                .map_or(&[][..], Vec::as_slice);
            match lsp.options.get("nat-addresses").map(String::as_str) {
                Some("router") if !nats.is_empty() => {
                    let mut central = peer.networks.mac.to_string();
                    let mut any_central = false;
                    for n in nats {
                        if let Some((lp, mac)) = &n.distributed {
                            out.push(format!(
                                "{mac} {} is_chassis_resident({})",
                                n.external,
                                crate::flows::quoted(lp)
                            ));
                        } else if !peer.networks.ipv4.iter().any(|c| c.addr == n.external) {
                            central.push_str(&format!(" {}", n.external));
                            any_central = true;
                        }
                    }
                    if any_central {
                        out.push(central + &resident);
                    }
                }
                Some("router") | None => {}
                Some(list) => out.push(format!("{list}{resident}")),
            }
            port_garp(&mut out, &resident);
        }
        None if peer.reside_cr.is_some() => {
            let cr = peer.reside_cr.as_deref().unwrap_or_default();
            port_garp(
                &mut out,
                &format!(" is_chassis_resident({})", crate::flows::quoted(cr)),
            );
        }
        None if peer_is_gateway_router && switch_has_localnet => port_garp(&mut out, ""),
        None => {}
    }
    out.sort();
    out
}

fn v4(a: IpAddr) -> Option<std::net::Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn v6(a: IpAddr) -> Option<std::net::Ipv6Addr> {
    match a {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

/// Resolves static routes to (output port, source IP) like `parsed_routes_add` +
/// `find_static_route_outport`: an explicit `output_port` must be a port of this router;
/// otherwise the first enabled port whose network contains the next hop is used.
fn resolve_routes(
    nb: &Northbound,
    lr_uuid: &str,
    ports: &[(&LogicalRouterPort, LrpNetworks)],
    w: &mut Vec<Warning>,
) -> Routes {
    let lr = &nb.routers[lr_uuid];
    let gateway_router = lr.options.contains_key("chassis");
    let mut out = Vec::new();
    let mut ipv6_nexthops = Vec::new();
    let mut tables = RouteTables::default();
    let port_tables: Vec<(String, u32)> = ports
        .iter()
        .filter_map(|(p, _)| {
            let t = p.options.get("route_table").filter(|t| !t.is_empty())?;
            Some((p.name.clone(), tables.id(t)))
        })
        .collect();
    // Sorted so that the winner among conflicting routes does not depend on set order.
    let mut route_ids = lr.static_routes.clone();
    route_ids.sort();
    for ru in &route_ids {
        let Some(r) = nb.static_routes.get(ru) else {
            w.push(Warning::Dangling {
                row: RowRef::new("Logical_Router", lr.name.clone()),
                column: "static_routes",
                target: ru.clone(),
            });
            continue;
        };
        let row = RowRef::new(
            "Logical_Router_Static_Route",
            format!("{} {} via {}", lr.name, r.ip_prefix, r.nexthop),
        );
        let bad = |reason: &str| Warning::BadRoute {
            row: row.clone(),
            reason: reason.to_string(),
        };
        if let Ok(Cidr {
            addr: IpAddr::V6(a),
            plen: 128,
        }) = r.nexthop.parse::<Cidr>()
        {
            ipv6_nexthops.push((r.nexthop.clone(), a));
        }
        let prefix: Cidr = match r.ip_prefix.parse() {
            Ok(c) => c,
            Err(_) => {
                w.push(bad("bad ip_prefix"));
                continue;
            }
        };
        if gateway_router && r.options.get("ecmp_symmetric_reply").is_some_and(|v| v == "true") {
            w.push(bad("ECMP symmetric reply is not supported"));
            continue;
        }
        if r.nexthop == "discard" {
            out.push(Route {
                prefix,
                src_policy: r.policy.as_deref() == Some("src-ip"),
                table: tables.id(&r.route_table),
                via: None,
            });
            continue;
        }
        let nexthop: IpAddr = match r.nexthop.parse::<Cidr>() {
            Ok(c) if c.plen == if c.is_ipv4() { 32 } else { 128 } => c.addr,
            _ => {
                w.push(bad("bad nexthop"));
                continue;
            }
        };
        if nexthop.is_ipv4() != prefix.is_ipv4() {
            w.push(bad("nexthop and prefix address families differ"));
            continue;
        }
        let candidates: Vec<&(&LogicalRouterPort, LrpNetworks)> = match &r.output_port {
            Some(name) => {
                let c: Vec<_> = ports.iter().filter(|(p, _)| &p.name == name).collect();
                if c.is_empty() {
                    w.push(bad("output_port is not a port of this router"));
                    continue;
                }
                c
            }
            None => ports.iter().collect(),
        };
        let mut found = None;
        for (p, nets) in candidates {
            let list = if nexthop.is_ipv4() { &nets.ipv4 } else { &nets.ipv6 };
            if let Some(c) = list.iter().find(|c| c.contains(&nexthop)) {
                found = Some((p.name.clone(), nets.mac, c.addr));
                break;
            }
            if r.output_port.is_some() {
                // An explicit port outside the next hop's subnet still routes; its first
                // address of the right family is the source.
                if let Some(c) = list.first() {
                    found = Some((p.name.clone(), nets.mac, c.addr));
                }
            }
        }
        let Some((out_port, out_mac, src_ip)) = found else {
            w.push(bad("no router port can reach the nexthop"));
            continue;
        };
        out.push(Route {
            prefix,
            src_policy: r.policy.as_deref() == Some("src-ip"),
            table: tables.id(&r.route_table),
            via: Some(RouteVia {
                nexthop,
                out_port,
                out_mac,
                src_ip,
            }),
        });
    }
    let mut routes = group_ecmp(out);
    ipv6_nexthops.sort();
    ipv6_nexthops.dedup();
    routes.ipv6_nexthops = ipv6_nexthops;
    routes.port_tables = port_tables;
    routes
}

/// Resolves router policies like `build_ingress_policy_flows_for_lrouter`: in row UUID
/// order, each reroute next hop to the first router port (in port order) whose network
/// holds it. A policy with a next hop no port reaches is skipped as a whole (ovn-northd
/// keeps the members it resolved before the failing one, which can never be selected).
fn resolve_policies(
    nb: &Northbound,
    lr_uuid: &str,
    ports: &[(&LogicalRouterPort, LrpNetworks)],
    w: &mut Vec<Warning>,
) -> Vec<Policy> {
    let lr = &nb.routers[lr_uuid];
    let mut ids = lr.policies.clone();
    ids.sort();
    let mut out = Vec::new();
    let mut next_group: u16 = 1;
    for id in &ids {
        let Some(p) = nb.router_policies.get(id) else {
            w.push(Warning::Dangling {
                row: RowRef::new("Logical_Router", lr.name.clone()),
                column: "policies",
                target: id.clone(),
            });
            continue;
        };
        let row = RowRef::new(
            "Logical_Router_Policy",
            format!("{} priority {} {}", lr.name, p.priority, p.match_),
        );
        let bad = |reason: String| Warning::BadPolicy {
            row: row.clone(),
            reason,
        };
        let ecmp = p.action == "reroute" && p.nexthops.len() > 1;
        let group = next_group;
        if ecmp {
            next_group = next_group.saturating_add(1);
        }
        let Ok(priority) = u16::try_from(p.priority) else {
            w.push(bad(format!("priority {} out of range", p.priority)));
            continue;
        };
        let pkt_mark = p
            .options
            .get("pkt_mark")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let hop = |nexthop: &str| -> Result<PolicyHop, String> {
            let v4 = nexthop.contains('.');
            let ip: IpAddr = nexthop.parse().map_err(|_| format!("bad next hop {nexthop}"))?;
            ports
                .iter()
                .find_map(|(lrp, nets)| {
                    let list = if v4 { &nets.ipv4 } else { &nets.ipv6 };
                    let c = list.iter().find(|c| c.contains(&ip))?;
                    Some(PolicyHop {
                        nexthop: nexthop.to_string(),
                        v4,
                        src_ip: c.addr,
                        mac: nets.mac,
                        port: lrp.name.clone(),
                    })
                })
                .ok_or_else(|| format!("no router port reaches next hop {nexthop}"))
        };
        let action = match p.action.as_str() {
            "allow" => PolicyAction::Allow,
            "drop" => PolicyAction::Drop,
            "reroute" if ecmp => {
                let v4 = p.nexthops[0].contains('.');
                if p.nexthops.iter().any(|h| h.contains('.') != v4) {
                    w.push(bad("next hops of different address families".into()));
                    continue;
                }
                match p.nexthops.iter().map(|h| hop(h)).collect::<Result<Vec<_>, _>>() {
                    Ok(hops) => PolicyAction::Ecmp { group, hops },
                    Err(e) => {
                        w.push(bad(e));
                        continue;
                    }
                }
            }
            "reroute" => {
                let Some(nh) = p.nexthops.first().or(p.nexthop.as_ref()) else {
                    w.push(bad("reroute without a next hop".into()));
                    continue;
                };
                match hop(nh) {
                    Ok(h) => PolicyAction::Reroute(h),
                    Err(e) => {
                        w.push(bad(e));
                        continue;
                    }
                }
            }
            other => {
                w.push(bad(format!("unknown action {other:?}")));
                continue;
            }
        };
        out.push(Policy {
            priority,
            match_: p.match_.clone(),
            action,
            pkt_mark,
        });
    }
    out
}

/// Groups routes that share a prefix and policy, as northd does: routes in row UUID
/// order, a group is numbered when its second route is met, members in order.
fn group_ecmp(routes: Vec<Route>) -> Routes {
    #[derive(Clone, Copy)]
    enum Slot {
        Single(usize),
        Group(usize),
    }
    let mut single: Vec<Option<Route>> = Vec::new();
    let mut ecmp: Vec<EcmpGroup> = Vec::new();
    let mut by_match: BTreeMap<(IpAddr, u8, bool, u32), Slot> = BTreeMap::new();
    for r in routes {
        let key = (r.prefix.network(), r.prefix.plen, r.src_policy, r.table);
        match by_match.get(&key).copied() {
            Some(Slot::Group(g)) => ecmp[g].members.push(r),
            Some(Slot::Single(i)) => {
                let Some(first) = single[i].take() else { continue };
                let Ok(id) = u16::try_from(ecmp.len() + 1) else {
                    single[i] = Some(first);
                    continue;
                };
                by_match.insert(key, Slot::Group(ecmp.len()));
                ecmp.push(EcmpGroup {
                    id,
                    members: vec![first, r],
                });
            }
            None => {
                by_match.insert(key, Slot::Single(single.len()));
                single.push(Some(r));
            }
        }
    }
    Routes {
        single: single.into_iter().flatten().collect(),
        ecmp,
        ipv6_nexthops: Vec::new(),
        port_tables: Vec::new(),
    }
}

/// ACL UUIDs of the port groups spanning each switch (a port group spans the switches its
/// ports are on), by switch UUID.
fn port_group_acls<'a>(
    nb: &'a Northbound,
    lsp_owner: &BTreeMap<&str, &'a str>,
    w: &mut Vec<Warning>,
) -> BTreeMap<&'a str, Vec<&'a Uuid>> {
    let mut out: BTreeMap<&str, Vec<&Uuid>> = BTreeMap::new();
    for pg in nb.port_groups.values().filter(|pg| !pg.acls.is_empty()) {
        let mut acls = Vec::new();
        for u in &pg.acls {
            if nb.acls.contains_key(u) {
                acls.push(u);
            } else {
                w.push(Warning::Dangling {
                    row: RowRef::new("Port_Group", pg.name.clone()),
                    column: "acls",
                    target: u.clone(),
                });
            }
        }
        let spanned: BTreeSet<&str> = pg
            .ports
            .iter()
            .filter_map(|p| lsp_owner.get(p.as_str()).copied())
            .collect();
        for ls in spanned {
            out.entry(ls).or_default().extend(acls.iter().copied());
        }
    }
    out
}

/// The ACLs that apply to switch `ls`: its own, then its port groups', each row once.
fn switch_acls(
    nb: &Northbound,
    ls: &LogicalSwitch,
    from_pgs: Option<&Vec<&Uuid>>,
    w: &mut Vec<Warning>,
) -> Vec<Acl> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for u in ls.acls.iter().chain(from_pgs.into_iter().flatten().copied()) {
        if !seen.insert(u) {
            continue;
        }
        match nb.acls.get(u) {
            Some(a) => out.push(a.clone()),
            // Port groups' ACLs were checked in `port_group_acls`.
            None => w.push(Warning::Dangling {
                row: RowRef::new("Logical_Switch", ls.name.clone()),
                column: "acls",
                target: u.clone(),
            }),
        }
    }
    out
}
