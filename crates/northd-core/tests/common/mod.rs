//! Loading of the fixtures written by `fixtures/generate.sh` (raw OVSDB `select` results,
//! RFC 7047 JSON) into the crate's input types, and flattening of real northd's SB output
//! for comparison.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use northd_core::*;
use serde_json::Value;

pub fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Elements of an OVSDB set column (a bare atom is a one-element set).
fn set(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) if a.len() == 2 && a[0] == "set" => a[1].as_array().unwrap().clone(),
        other => vec![other.clone()],
    }
}

fn atom_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) if a.len() == 2 && (a[0] == "uuid" || a[0] == "named-uuid") => {
            a[1].as_str().unwrap().to_string()
        }
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("unexpected atom {other}"),
    }
}

fn strings(row: &Value, col: &str) -> Vec<String> {
    set(&row[col]).iter().map(atom_str).collect()
}

fn opt_string(row: &Value, col: &str) -> Option<String> {
    strings(row, col).into_iter().next()
}

fn string(row: &Value, col: &str) -> String {
    row[col].as_str().unwrap_or_default().to_string()
}

fn map(row: &Value, col: &str) -> Map {
    let v = &row[col];
    let mut m = Map::new();
    if let Value::Array(a) = v
        && a.len() == 2
        && a[0] == "map"
    {
        for kv in a[1].as_array().unwrap() {
            m.insert(atom_str(&kv[0]), atom_str(&kv[1]));
        }
    }
    m
}

fn opt_bool(row: &Value, col: &str) -> Option<bool> {
    set(&row[col]).first().and_then(Value::as_bool)
}

fn uuid(row: &Value) -> String {
    atom_str(&row["_uuid"])
}

/// The rows of `table`; none if the dump predates the table (seeds 1-7 have no ACL).
fn rows<'a>(db: &'a Value, table: &str) -> &'a [Value] {
    db[table].as_array().map_or(&[], Vec::as_slice)
}

pub fn load_nb(db: &Value) -> Northbound {
    let mut nb = Northbound::default();
    if let Some(g) = rows(db, "NB_Global").first() {
        nb.nb_global = NbGlobal {
            uuid: uuid(g),
            nb_cfg: g["nb_cfg"].as_i64().unwrap_or(0),
            options: map(g, "options"),
            ipsec: g["ipsec"].as_bool().unwrap_or(false),
        };
    }
    for r in rows(db, "Logical_Switch") {
        nb.switches.insert(
            uuid(r),
            LogicalSwitch {
                name: string(r, "name"),
                ports: strings(r, "ports"),
                load_balancers: strings(r, "load_balancer"),
                load_balancer_groups: strings(r, "load_balancer_group"),
                acls: strings(r, "acls"),
                qos_rules: strings(r, "qos_rules"),
                other_config: map(r, "other_config"),
                external_ids: map(r, "external_ids"),
            },
        );
    }
    for r in rows(db, "Logical_Switch_Port") {
        nb.switch_ports.insert(
            uuid(r),
            LogicalSwitchPort {
                name: string(r, "name"),
                port_type: string(r, "type"),
                addresses: strings(r, "addresses"),
                port_security: strings(r, "port_security"),
                options: map(r, "options"),
                enabled: opt_bool(r, "enabled"),
                external_ids: map(r, "external_ids"),
                parent_name: opt_string(r, "parent_name"),
                tag: set(&r["tag"]).first().and_then(Value::as_i64),
                dhcpv4_options: set(&r["dhcpv4_options"]).first().map(atom_str),
            },
        );
    }
    for r in rows(db, "Logical_Router") {
        nb.routers.insert(
            uuid(r),
            LogicalRouter {
                name: string(r, "name"),
                ports: strings(r, "ports"),
                static_routes: strings(r, "static_routes"),
                policies: strings(r, "policies"),
                nat: strings(r, "nat"),
                load_balancers: strings(r, "load_balancer"),
                load_balancer_groups: strings(r, "load_balancer_group"),
                options: map(r, "options"),
                enabled: opt_bool(r, "enabled"),
                external_ids: map(r, "external_ids"),
            },
        );
    }
    for r in rows(db, "Logical_Router_Port") {
        nb.router_ports.insert(
            uuid(r),
            LogicalRouterPort {
                name: string(r, "name"),
                mac: string(r, "mac"),
                networks: strings(r, "networks"),
                peer: opt_string(r, "peer"),
                options: map(r, "options"),
                enabled: opt_bool(r, "enabled"),
                external_ids: map(r, "external_ids"),
                gateway_chassis: strings(r, "gateway_chassis"),
                ipv6_ra_configs: map(r, "ipv6_ra_configs"),
                ha_chassis_group: opt_string(r, "ha_chassis_group"),
            },
        );
    }
    for r in rows(db, "Gateway_Chassis") {
        nb.gateway_chassis.insert(
            uuid(r),
            GatewayChassis {
                name: string(r, "name"),
                chassis_name: string(r, "chassis_name"),
                priority: r["priority"].as_i64().unwrap_or(0),
            },
        );
    }
    for r in rows(db, "HA_Chassis_Group") {
        nb.ha_chassis_groups.insert(
            uuid(r),
            HaChassisGroup {
                name: string(r, "name"),
                ha_chassis: strings(r, "ha_chassis"),
                external_ids: map(r, "external_ids"),
            },
        );
    }
    for r in rows(db, "HA_Chassis") {
        nb.ha_chassis.insert(
            uuid(r),
            HaChassis {
                chassis_name: string(r, "chassis_name"),
                priority: r["priority"].as_i64().unwrap_or(0),
            },
        );
    }
    for r in rows(db, "Logical_Router_Static_Route") {
        nb.static_routes.insert(
            uuid(r),
            StaticRoute {
                ip_prefix: string(r, "ip_prefix"),
                nexthop: string(r, "nexthop"),
                output_port: opt_string(r, "output_port"),
                policy: opt_string(r, "policy"),
                route_table: string(r, "route_table"),
                options: map(r, "options"),
                external_ids: map(r, "external_ids"),
            },
        );
    }
    for r in rows(db, "Logical_Router_Policy") {
        nb.router_policies.insert(
            uuid(r),
            RouterPolicy {
                priority: r["priority"].as_i64().unwrap_or(0),
                match_: string(r, "match"),
                action: string(r, "action"),
                nexthop: opt_string(r, "nexthop"),
                nexthops: strings(r, "nexthops"),
                options: map(r, "options"),
                external_ids: map(r, "external_ids"),
            },
        );
    }
    for r in rows(db, "Load_Balancer_Group") {
        nb.load_balancer_groups.insert(
            uuid(r),
            LoadBalancerGroup {
                name: string(r, "name"),
                load_balancers: strings(r, "load_balancer"),
            },
        );
    }
    for r in rows(db, "Load_Balancer") {
        nb.load_balancers.insert(
            uuid(r),
            LoadBalancer {
                name: string(r, "name"),
                vips: map(r, "vips"),
                protocol: opt_string(r, "protocol"),
                options: map(r, "options"),
                external_ids: map(r, "external_ids"),
            },
        );
    }
    for r in rows(db, "Address_Set") {
        nb.address_sets.insert(
            uuid(r),
            AddressSet {
                name: string(r, "name"),
                addresses: strings(r, "addresses"),
            },
        );
    }
    for r in rows(db, "Port_Group") {
        nb.port_groups.insert(
            uuid(r),
            PortGroup {
                name: string(r, "name"),
                ports: strings(r, "ports"),
                acls: strings(r, "acls"),
            },
        );
    }
    for r in rows(db, "DHCP_Options") {
        nb.dhcp_options.insert(
            uuid(r),
            DhcpOptions {
                cidr: string(r, "cidr"),
                options: map(r, "options"),
            },
        );
    }
    for r in rows(db, "NAT") {
        nb.nats.insert(
            uuid(r),
            Nat {
                nat_type: string(r, "type"),
                external_ip: string(r, "external_ip"),
                logical_ip: string(r, "logical_ip"),
                external_mac: opt_string(r, "external_mac"),
                logical_port: opt_string(r, "logical_port"),
                external_port_range: string(r, "external_port_range"),
                options: map(r, "options"),
            },
        );
    }
    let int_map = |r: &Value, col: &str| -> std::collections::BTreeMap<String, i64> {
        map(r, col)
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
            .collect()
    };
    for r in rows(db, "QoS") {
        nb.qos.insert(
            uuid(r),
            Qos {
                direction: string(r, "direction"),
                priority: r["priority"].as_i64().unwrap_or(0),
                match_: string(r, "match"),
                action: int_map(r, "action"),
                bandwidth: int_map(r, "bandwidth"),
            },
        );
    }
    for r in rows(db, "ACL") {
        nb.acls.insert(
            uuid(r),
            Acl {
                direction: string(r, "direction"),
                priority: r["priority"].as_i64().unwrap_or(0),
                match_: string(r, "match"),
                action: string(r, "action"),
                log: r["log"].as_bool().unwrap_or(false),
                name: opt_string(r, "name"),
                severity: opt_string(r, "severity"),
                meter: opt_string(r, "meter"),
                label: r["label"].as_i64().unwrap_or(0),
                options: map(r, "options"),
            },
        );
    }
    nb
}

/// SB-side context from a real SB dump: chassis, and optionally the key allocations.
pub fn load_ctx(sb: &Value, with_keys: bool) -> SbContext {
    let encaps: BTreeMap<String, String> = rows(sb, "Encap")
        .iter()
        .map(|r| (uuid(r), string(r, "type")))
        .collect();
    let mut ctx = SbContext::default();
    for r in rows(sb, "Chassis") {
        ctx.chassis.push(Chassis {
            name: string(r, "name"),
            hostname: string(r, "hostname"),
            encap_types: strings(r, "encaps")
                .iter()
                .filter_map(|u| encaps.get(u).cloned())
                .collect(),
            other_config: map(r, "other_config"),
        });
    }
    if let Some(g) = rows(sb, "SB_Global").first() {
        ctx.sb_global_options = map(g, "options");
    }
    if with_keys {
        let real = RealSb::new(sb);
        for d in real.datapaths.values() {
            ctx.datapath_keys.insert(d.nb_uuid.clone(), d.key);
        }
        for p in real.ports.values() {
            let dp = &real.datapaths[&p.datapath];
            ctx.port_keys
                .insert(p.logical_port.clone(), (dp.nb_uuid.clone(), p.tunnel_key));
        }
    }
    ctx
}

pub struct RealDatapath {
    pub nb_uuid: String,
    pub name: String,
    pub key: u32,
    pub external_ids: Map,
}

pub struct RealPort {
    pub logical_port: String,
    /// SB datapath row UUID.
    pub datapath: String,
    pub tunnel_key: u32,
    pub port_type: String,
    pub options: Map,
    pub mac: Vec<String>,
    pub port_security: Vec<String>,
    pub nat_addresses: Vec<String>,
    pub external_ids: Map,
    /// Chassis name.
    pub requested_chassis: Option<String>,
    /// `HA_Chassis_Group` name.
    pub ha_chassis_group: Option<String>,
}

/// Real northd's SB output, with SB row UUIDs resolved to names.
pub struct RealSb {
    pub options: Map,
    /// By SB row UUID.
    pub datapaths: BTreeMap<String, RealDatapath>,
    /// By logical_port.
    pub ports: BTreeMap<String, RealPort>,
    /// (datapath name, group) -> (key, sorted member names).
    pub mcast: BTreeMap<(String, String), (u32, Vec<String>)>,
    /// (datapath name, pipeline, table, priority, match, actions), groups expanded.
    pub flows: BTreeSet<FlowKey>,
    pub address_sets: BTreeMap<String, Vec<String>>,
    /// name -> (vips, protocol, options, external_ids, datapath names)
    pub lbs: BTreeMap<String, LbKey>,
    /// `HA_Chassis_Group`s: name -> sorted (chassis-name, priority), checked against the
    /// `chassis` reference.
    pub ha_groups: BTreeMap<String, Vec<(String, i64)>>,
}

/// (vips, protocol, options, external_ids, sorted datapath names).
pub type LbKey = (Map, Option<String>, Map, Map, Vec<String>);

pub type FlowKey = (String, String, u8, u16, String, String);

impl RealSb {
    pub fn new(sb: &Value) -> RealSb {
        let mut datapaths = BTreeMap::new();
        for r in rows(sb, "Datapath_Binding") {
            let ext = map(r, "external_ids");
            let nb_uuid = ext
                .get("logical-switch")
                .or_else(|| ext.get("logical-router"))
                .cloned()
                .unwrap();
            datapaths.insert(
                uuid(r),
                RealDatapath {
                    nb_uuid,
                    name: ext["name"].clone(),
                    key: r["tunnel_key"].as_u64().unwrap() as u32,
                    external_ids: ext,
                },
            );
        }
        let chassis: BTreeMap<String, String> = rows(sb, "Chassis")
            .iter()
            .map(|r| (uuid(r), string(r, "name")))
            .collect();
        let ha_chassis: BTreeMap<String, (String, i64)> = rows(sb, "HA_Chassis")
            .iter()
            .map(|r| {
                let name = map(r, "external_ids")["chassis-name"].clone();
                if let Some(c) = opt_string(r, "chassis") {
                    assert_eq!(chassis[&c], name, "HA_Chassis chassis vs chassis-name");
                }
                (uuid(r), (name, r["priority"].as_i64().unwrap()))
            })
            .collect();
        let mut ha_groups = BTreeMap::new();
        let mut ha_group_names = BTreeMap::new();
        for r in rows(sb, "HA_Chassis_Group") {
            let mut list: Vec<(String, i64)> = strings(r, "ha_chassis")
                .iter()
                .map(|u| ha_chassis[u].clone())
                .collect();
            list.sort();
            ha_group_names.insert(uuid(r), string(r, "name"));
            ha_groups.insert(string(r, "name"), list);
        }
        let mut ports = BTreeMap::new();
        let mut port_by_uuid = BTreeMap::new();
        for r in rows(sb, "Port_Binding") {
            let mut mac = strings(r, "mac");
            mac.sort();
            let mut ps = strings(r, "port_security");
            ps.sort();
            let p = RealPort {
                logical_port: string(r, "logical_port"),
                datapath: atom_str(&r["datapath"]),
                tunnel_key: r["tunnel_key"].as_u64().unwrap() as u32,
                port_type: string(r, "type"),
                options: map(r, "options"),
                mac,
                port_security: ps,
                nat_addresses: strings(r, "nat_addresses"),
                external_ids: map(r, "external_ids"),
                requested_chassis: opt_string(r, "requested_chassis").map(|u| chassis[&u].clone()),
                ha_chassis_group: opt_string(r, "ha_chassis_group").map(|u| ha_group_names[&u].clone()),
            };
            port_by_uuid.insert(uuid(r), p.logical_port.clone());
            ports.insert(p.logical_port.clone(), p);
        }
        let mut mcast = BTreeMap::new();
        for r in rows(sb, "Multicast_Group") {
            let dp = &datapaths[&atom_str(&r["datapath"])];
            let mut members: Vec<String> = strings(r, "ports")
                .iter()
                .map(|u| port_by_uuid[u].clone())
                .collect();
            members.sort();
            mcast.insert(
                (dp.name.clone(), string(r, "name")),
                (r["tunnel_key"].as_u64().unwrap() as u32, members),
            );
        }
        let groups: BTreeMap<String, Vec<String>> = rows(sb, "Logical_DP_Group")
            .iter()
            .map(|r| (uuid(r), strings(r, "datapaths")))
            .collect();
        let mut flows = BTreeSet::new();
        for r in rows(sb, "Logical_Flow") {
            let mut dps = strings(r, "logical_datapath");
            if let Some(g) = opt_string(r, "logical_dp_group") {
                dps.extend(groups[&g].iter().cloned());
            }
            for d in dps {
                flows.insert((
                    datapaths[&d].name.clone(),
                    string(r, "pipeline"),
                    r["table_id"].as_u64().unwrap() as u8,
                    r["priority"].as_u64().unwrap() as u16,
                    string(r, "match"),
                    string(r, "actions"),
                ));
            }
        }
        let address_sets = rows(sb, "Address_Set")
            .iter()
            .map(|r| {
                let mut a = strings(r, "addresses");
                a.sort();
                (string(r, "name"), a)
            })
            .collect();
        let mut lbs = BTreeMap::new();
        for r in rows(sb, "Load_Balancer") {
            let mut dps: Vec<String> = strings(r, "datapath_group")
                .iter()
                .flat_map(|g| groups[g].iter())
                .chain(strings(r, "datapaths").iter())
                .map(|d| datapaths[d].name.clone())
                .collect();
            dps.sort();
            lbs.insert(
                string(r, "name"),
                (
                    map(r, "vips"),
                    opt_string(r, "protocol"),
                    map(r, "options"),
                    map(r, "external_ids"),
                    dps,
                ),
            );
        }
        RealSb {
            options: rows(sb, "SB_Global")
                .first()
                .map(|g| map(g, "options"))
                .unwrap_or_default(),
            datapaths,
            ports,
            mcast,
            flows,
            address_sets,
            lbs,
            ha_groups,
        }
    }
}

/// Our flows in the same flattened form.
pub fn our_flows(sb: &Southbound) -> BTreeSet<FlowKey> {
    sb.logical_flows
        .iter()
        .map(|f| {
            (
                sb.datapaths[&*f.datapath].name.clone(),
                f.pipeline().as_str().to_string(),
                f.table_id(),
                f.priority,
                f.match_.to_string(),
                f.actions.to_string(),
            )
        })
        .collect()
}
