//! Converts replica rows into `northd-core`'s input: the Northbound snapshot and
//! the Southbound context (chassis feature flags, previously allocated keys).
//! Pure; a row with a malformed column reads as that column's default, and the
//! translation reports what it cannot use.

use std::collections::BTreeMap;

use northd_core::{
    Acl, AddressSet, Chassis, DhcpOptions, GatewayChassis, HaChassis, HaChassisGroup, LoadBalancer,
    LoadBalancerGroup, LogicalRouter, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort, Nat, NbGlobal,
    Northbound, PortGroup, Qos, RouterPolicy, SbContext, StaticRoute,
};
use ovn_db::{nb, sb};
use ovsdb::typed::Table;
use ovsdb::{Row, Uuid};

use crate::sb_sync::Tables;

/// NB tables (and columns) northd reads.
pub const NB_TABLES: &[&str] = &[
    nb::NbGlobal::TABLE,
    nb::LogicalSwitch::TABLE,
    nb::LogicalSwitchPort::TABLE,
    nb::LogicalRouter::TABLE,
    nb::LogicalRouterPort::TABLE,
    nb::LogicalRouterStaticRoute::TABLE,
    nb::LogicalRouterPolicy::TABLE,
    nb::LoadBalancer::TABLE,
    nb::LoadBalancerGroup::TABLE,
    nb::AddressSet::TABLE,
    nb::PortGroup::TABLE,
    nb::Acl::TABLE,
    nb::Nat::TABLE,
    nb::DhcpOptions::TABLE,
    nb::GatewayChassis::TABLE,
    nb::HaChassisGroup::TABLE,
    nb::HaChassis::TABLE,
    nb::StaticMacBinding::TABLE,
    nb::Qos::TABLE,
    nb::Meter::TABLE,
    nb::MeterBand::TABLE,
];

/// SB tables northd reads or owns.
pub const SB_TABLES: &[&str] = &[
    sb::SbGlobal::TABLE,
    sb::Chassis::TABLE,
    sb::ChassisPrivate::TABLE,
    sb::Encap::TABLE,
    sb::DatapathBinding::TABLE,
    sb::PortBinding::TABLE,
    sb::MulticastGroup::TABLE,
    sb::LogicalFlow::TABLE,
    sb::LogicalDpGroup::TABLE,
    sb::LoadBalancer::TABLE,
    sb::AddressSet::TABLE,
    sb::PortGroup::TABLE,
    sb::MacBinding::TABLE,
    sb::Fdb::TABLE,
    sb::DhcpOptions::TABLE,
    sb::Dhcpv6Options::TABLE,
    sb::HaChassisGroup::TABLE,
    sb::HaChassis::TABLE,
    sb::StaticMacBinding::TABLE,
    sb::Meter::TABLE,
    sb::MeterBand::TABLE,
];

/// UUIDs as `northd-core` keys them.
fn uuid_strings(v: Vec<Uuid>) -> Vec<String> {
    v.iter().map(Uuid::to_string).collect()
}

/// The rows of table `T`, keyed by UUID string.
fn rows<T: Table>(t: &Tables) -> impl Iterator<Item = (String, &Row)> {
    t.get(T::TABLE)
        .into_iter()
        .flatten()
        .map(|(u, r)| (u.to_string(), r))
}

pub fn northbound(t: &Tables) -> Northbound {
    type G = nb::NbGlobal;
    type Ls = nb::LogicalSwitch;
    type Lsp = nb::LogicalSwitchPort;
    type Lr = nb::LogicalRouter;
    type Lrp = nb::LogicalRouterPort;
    type Sr = nb::LogicalRouterStaticRoute;
    type Pol = nb::LogicalRouterPolicy;
    type Lb = nb::LoadBalancer;
    type As = nb::AddressSet;
    type Pg = nb::PortGroup;
    type A = nb::Acl;
    type N = nb::Nat;
    let mut out = Northbound::default();
    if let Some((u, r)) = rows::<G>(t).next() {
        out.nb_global = NbGlobal {
            uuid: u,
            nb_cfg: col!(r, G, COL_NB_CFG => nb_cfg),
            options: col!(r, G, COL_OPTIONS => options),
            ipsec: col!(r, G, COL_IPSEC => ipsec),
        };
    }
    out.switches = rows::<Ls>(t)
        .map(|(u, r)| {
            let ls = LogicalSwitch {
                name: col!(r, Ls, COL_NAME => name),
                ports: uuid_strings(col!(r, Ls, COL_PORTS => ports)),
                load_balancers: uuid_strings(col!(r, Ls, COL_LOAD_BALANCER => load_balancer)),
                load_balancer_groups: uuid_strings(
                    col!(r, Ls, COL_LOAD_BALANCER_GROUP => load_balancer_group),
                ),
                acls: uuid_strings(col!(r, Ls, COL_ACLS => acls)),
                qos_rules: uuid_strings(col!(r, Ls, COL_QOS_RULES => qos_rules)),
                other_config: col!(r, Ls, COL_OTHER_CONFIG => other_config),
                external_ids: col!(r, Ls, COL_EXTERNAL_IDS => external_ids),
            };
            (u, ls)
        })
        .collect();
    out.switch_ports = rows::<Lsp>(t)
        .map(|(u, r)| {
            let p = LogicalSwitchPort {
                name: col!(r, Lsp, COL_NAME => name),
                port_type: col!(r, Lsp, COL_TYPE => r#type),
                addresses: col!(r, Lsp, COL_ADDRESSES => addresses),
                port_security: col!(r, Lsp, COL_PORT_SECURITY => port_security),
                options: col!(r, Lsp, COL_OPTIONS => options),
                enabled: col!(r, Lsp, COL_ENABLED => enabled),
                external_ids: col!(r, Lsp, COL_EXTERNAL_IDS => external_ids),
                parent_name: col!(r, Lsp, COL_PARENT_NAME => parent_name),
                tag: col!(r, Lsp, COL_TAG => tag),
                dhcpv4_options: col!(r, Lsp, COL_DHCPV4_OPTIONS => dhcpv4_options).map(|u| u.to_string()),
            };
            (u, p)
        })
        .collect();
    out.routers = rows::<Lr>(t)
        .map(|(u, r)| {
            let lr = LogicalRouter {
                name: col!(r, Lr, COL_NAME => name),
                ports: uuid_strings(col!(r, Lr, COL_PORTS => ports)),
                static_routes: uuid_strings(col!(r, Lr, COL_STATIC_ROUTES => static_routes)),
                policies: uuid_strings(col!(r, Lr, COL_POLICIES => policies)),
                nat: uuid_strings(col!(r, Lr, COL_NAT => nat)),
                load_balancers: uuid_strings(col!(r, Lr, COL_LOAD_BALANCER => load_balancer)),
                load_balancer_groups: uuid_strings(
                    col!(r, Lr, COL_LOAD_BALANCER_GROUP => load_balancer_group),
                ),
                options: col!(r, Lr, COL_OPTIONS => options),
                enabled: col!(r, Lr, COL_ENABLED => enabled),
                external_ids: col!(r, Lr, COL_EXTERNAL_IDS => external_ids),
            };
            (u, lr)
        })
        .collect();
    out.router_ports = rows::<Lrp>(t)
        .map(|(u, r)| {
            let p = LogicalRouterPort {
                name: col!(r, Lrp, COL_NAME => name),
                mac: col!(r, Lrp, COL_MAC => mac),
                networks: col!(r, Lrp, COL_NETWORKS => networks),
                peer: col!(r, Lrp, COL_PEER => peer),
                options: col!(r, Lrp, COL_OPTIONS => options),
                enabled: col!(r, Lrp, COL_ENABLED => enabled),
                external_ids: col!(r, Lrp, COL_EXTERNAL_IDS => external_ids),
                gateway_chassis: uuid_strings(col!(r, Lrp, COL_GATEWAY_CHASSIS => gateway_chassis)),
                ipv6_ra_configs: col!(r, Lrp, COL_IPV6_RA_CONFIGS => ipv6_ra_configs),
                ha_chassis_group: col!(r, Lrp, COL_HA_CHASSIS_GROUP => ha_chassis_group)
                    .map(|u| u.to_string()),
            };
            (u, p)
        })
        .collect();
    out.static_routes = rows::<Sr>(t)
        .map(|(u, r)| {
            let s = StaticRoute {
                ip_prefix: col!(r, Sr, COL_IP_PREFIX => ip_prefix),
                nexthop: col!(r, Sr, COL_NEXTHOP => nexthop),
                output_port: col!(r, Sr, COL_OUTPUT_PORT => output_port),
                policy: col!(r, Sr, COL_POLICY => policy),
                route_table: col!(r, Sr, COL_ROUTE_TABLE => route_table),
                options: col!(r, Sr, COL_OPTIONS => options),
                external_ids: col!(r, Sr, COL_EXTERNAL_IDS => external_ids),
            };
            (u, s)
        })
        .collect();
    out.router_policies = rows::<Pol>(t)
        .map(|(u, r)| {
            let p = RouterPolicy {
                priority: col!(r, Pol, COL_PRIORITY => priority),
                match_: col!(r, Pol, COL_MATCH => r#match),
                action: col!(r, Pol, COL_ACTION => action),
                nexthop: col!(r, Pol, COL_NEXTHOP => nexthop),
                nexthops: col!(r, Pol, COL_NEXTHOPS => nexthops),
                options: col!(r, Pol, COL_OPTIONS => options),
                external_ids: col!(r, Pol, COL_EXTERNAL_IDS => external_ids),
            };
            (u, p)
        })
        .collect();
    type Q = nb::Qos;
    out.qos = rows::<Q>(t)
        .map(|(u, r)| {
            let q = Qos {
                direction: col!(r, Q, COL_DIRECTION => direction),
                priority: col!(r, Q, COL_PRIORITY => priority),
                match_: col!(r, Q, COL_MATCH => r#match),
                action: col!(r, Q, COL_ACTION => action),
                bandwidth: col!(r, Q, COL_BANDWIDTH => bandwidth),
            };
            (u, q)
        })
        .collect();
    type Lbg = nb::LoadBalancerGroup;
    out.load_balancer_groups = rows::<Lbg>(t)
        .map(|(u, r)| {
            let g = LoadBalancerGroup {
                name: col!(r, Lbg, COL_NAME => name),
                load_balancers: uuid_strings(col!(r, Lbg, COL_LOAD_BALANCER => load_balancer)),
            };
            (u, g)
        })
        .collect();
    out.load_balancers = rows::<Lb>(t)
        .map(|(u, r)| {
            let lb = LoadBalancer {
                name: col!(r, Lb, COL_NAME => name),
                vips: col!(r, Lb, COL_VIPS => vips),
                protocol: col!(r, Lb, COL_PROTOCOL => protocol),
                options: col!(r, Lb, COL_OPTIONS => options),
                external_ids: col!(r, Lb, COL_EXTERNAL_IDS => external_ids),
            };
            (u, lb)
        })
        .collect();
    out.address_sets = rows::<As>(t)
        .map(|(u, r)| {
            (
                u,
                AddressSet {
                    name: col!(r, As, COL_NAME => name),
                    addresses: col!(r, As, COL_ADDRESSES => addresses),
                },
            )
        })
        .collect();
    out.port_groups = rows::<Pg>(t)
        .map(|(u, r)| {
            (
                u,
                PortGroup {
                    name: col!(r, Pg, COL_NAME => name),
                    ports: uuid_strings(col!(r, Pg, COL_PORTS => ports)),
                    acls: uuid_strings(col!(r, Pg, COL_ACLS => acls)),
                },
            )
        })
        .collect();
    out.dhcp_options = rows::<nb::DhcpOptions>(t)
        .map(|(u, r)| {
            (
                u,
                DhcpOptions {
                    cidr: col!(r, nb::DhcpOptions, COL_CIDR => cidr),
                    options: col!(r, nb::DhcpOptions, COL_OPTIONS => options),
                },
            )
        })
        .collect();
    out.nats = rows::<N>(t)
        .map(|(u, r)| {
            (
                u,
                Nat {
                    nat_type: col!(r, N, COL_TYPE => r#type),
                    external_ip: col!(r, N, COL_EXTERNAL_IP => external_ip),
                    logical_ip: col!(r, N, COL_LOGICAL_IP => logical_ip),
                    external_mac: col!(r, N, COL_EXTERNAL_MAC => external_mac),
                    logical_port: col!(r, N, COL_LOGICAL_PORT => logical_port),
                    external_port_range: col!(r, N, COL_EXTERNAL_PORT_RANGE => external_port_range),
                    options: col!(r, N, COL_OPTIONS => options),
                },
            )
        })
        .collect();
    out.gateway_chassis = rows::<nb::GatewayChassis>(t)
        .map(|(u, r)| {
            (
                u,
                GatewayChassis {
                    name: col!(r, nb::GatewayChassis, COL_NAME => name),
                    chassis_name: col!(r, nb::GatewayChassis, COL_CHASSIS_NAME => chassis_name),
                    priority: col!(r, nb::GatewayChassis, COL_PRIORITY => priority),
                },
            )
        })
        .collect();
    out.ha_chassis_groups = rows::<nb::HaChassisGroup>(t)
        .map(|(u, r)| {
            (
                u,
                HaChassisGroup {
                    name: col!(r, nb::HaChassisGroup, COL_NAME => name),
                    ha_chassis: uuid_strings(col!(r, nb::HaChassisGroup, COL_HA_CHASSIS => ha_chassis)),
                    external_ids: col!(r, nb::HaChassisGroup, COL_EXTERNAL_IDS => external_ids),
                },
            )
        })
        .collect();
    out.ha_chassis = rows::<nb::HaChassis>(t)
        .map(|(u, r)| {
            (
                u,
                HaChassis {
                    chassis_name: col!(r, nb::HaChassis, COL_CHASSIS_NAME => chassis_name),
                    priority: col!(r, nb::HaChassis, COL_PRIORITY => priority),
                },
            )
        })
        .collect();
    out.acls = rows::<A>(t)
        .map(|(u, r)| {
            (
                u,
                Acl {
                    direction: col!(r, A, COL_DIRECTION => direction),
                    priority: col!(r, A, COL_PRIORITY => priority),
                    match_: col!(r, A, COL_MATCH => r#match),
                    action: col!(r, A, COL_ACTION => action),
                    log: col!(r, A, COL_LOG => log),
                    name: col!(r, A, COL_NAME => name),
                    severity: col!(r, A, COL_SEVERITY => severity),
                    meter: col!(r, A, COL_METER => meter),
                    label: col!(r, A, COL_LABEL => label),
                    options: col!(r, A, COL_OPTIONS => options),
                },
            )
        })
        .collect();
    out
}

/// Where a datapath's `external_ids` name its NB switch or router.
pub const DP_LOGICAL_SWITCH: &str = "logical-switch";
pub const DP_LOGICAL_ROUTER: &str = "logical-router";

/// The SB facts the translation needs, read from the SB replica.
/// The chassis as the translation sees them (small tables: Chassis, Encap).
pub fn sb_chassis(t: &Tables) -> Vec<Chassis> {
    type Ch = sb::Chassis;
    let encap_type: BTreeMap<String, String> = rows::<sb::Encap>(t)
        .map(|(u, r)| (u, col!(r, sb::Encap, COL_TYPE => r#type)))
        .collect();
    rows::<Ch>(t)
        .map(|(_, r)| Chassis {
            name: col!(r, Ch, COL_NAME => name),
            hostname: col!(r, Ch, COL_HOSTNAME => hostname),
            encap_types: col!(r, Ch, COL_ENCAPS => encaps)
                .iter()
                .filter_map(|e| encap_type.get(&e.to_string()).cloned())
                .collect(),
            other_config: col!(r, Ch, COL_OTHER_CONFIG => other_config),
        })
        .collect()
}

/// `SB_Global.options`.
pub fn sb_global_options(t: &Tables) -> northd_core::Map {
    rows::<sb::SbGlobal>(t)
        .next()
        .map(|(_, r)| col!(r, sb::SbGlobal, COL_OPTIONS => options))
        .unwrap_or_default()
}

pub fn sb_context(t: &Tables) -> SbContext {
    type Dp = sb::DatapathBinding;
    type Pb = sb::PortBinding;
    let chassis = sb_chassis(t);
    let sb_global_options = sb_global_options(t);

    // Existing keys, so that restarts and recomputations keep them.
    let mut dp_nb: BTreeMap<Uuid, String> = BTreeMap::new();
    let mut datapath_keys = BTreeMap::new();
    for (u, r) in t.get(Dp::TABLE).into_iter().flatten() {
        let mut ids = col!(r, Dp, COL_EXTERNAL_IDS => external_ids);
        let nb = ids
            .remove(DP_LOGICAL_SWITCH)
            .or_else(|| ids.remove(DP_LOGICAL_ROUTER));
        if let (Some(nb), Some(k)) = (nb, col_opt!(r, Dp, COL_TUNNEL_KEY => tunnel_key)) {
            datapath_keys.insert(nb.clone(), k as u32);
            dp_nb.insert(*u, nb);
        }
    }
    let mut port_keys = BTreeMap::new();
    for r in t.get(Pb::TABLE).into_iter().flatten().map(|(_, r)| r) {
        let dp = col_opt!(r, Pb, COL_DATAPATH => datapath);
        if let (Some(nb), Some(k)) = (
            dp.and_then(|d| dp_nb.get(&d)),
            col_opt!(r, Pb, COL_TUNNEL_KEY => tunnel_key),
        ) {
            port_keys.insert(
                col!(r, Pb, COL_LOGICAL_PORT => logical_port),
                (nb.clone(), k as u32),
            );
        }
    }
    SbContext {
        chassis,
        sb_global_options,
        datapath_keys,
        port_keys,
    }
}
