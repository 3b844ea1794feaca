//! Converts replica rows into `northd-core`'s input: the Northbound snapshot and
//! the Southbound context (chassis feature flags, previously allocated keys).
//! Pure; a row with a malformed column reads as that column's default, and the
//! translation reports what it cannot use.

use std::collections::BTreeMap;

use northd_core::{
    AddressSet, Chassis, LoadBalancer, LogicalRouter, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort,
    Map, NbGlobal, Northbound, PortGroup, SbContext, StaticRoute,
};
use ovsdb::{Datum, Row, Uuid};

use crate::sb_sync::Tables;

/// NB tables (and columns) northd reads.
pub const NB_TABLES: &[&str] = &[
    "NB_Global",
    "Logical_Switch",
    "Logical_Switch_Port",
    "Logical_Router",
    "Logical_Router_Port",
    "Logical_Router_Static_Route",
    "Load_Balancer",
    "Address_Set",
    "Port_Group",
];

/// SB tables northd reads or owns.
pub const SB_TABLES: &[&str] = &[
    "SB_Global",
    "Chassis",
    "Chassis_Private",
    "Encap",
    "Datapath_Binding",
    "Port_Binding",
    "Multicast_Group",
    "Logical_Flow",
    "Logical_DP_Group",
    "Load_Balancer",
    "Address_Set",
    "Port_Group",
    "MAC_Binding",
    "FDB",
];

struct R<'a>(&'a Row);

impl R<'_> {
    fn d(&self, c: &str) -> Option<&Datum> {
        self.0.get(c)
    }
    fn s(&self, c: &str) -> String {
        self.d(c).and_then(Datum::as_str).unwrap_or_default().to_string()
    }
    fn opt_s(&self, c: &str) -> Option<String> {
        self.d(c).and_then(Datum::as_str).map(str::to_string)
    }
    fn strings(&self, c: &str) -> Vec<String> {
        self.d(c).map(Datum::strings).unwrap_or_default()
    }
    fn map(&self, c: &str) -> Map {
        self.d(c).map(Datum::string_pairs).unwrap_or_default()
    }
    fn uuids(&self, c: &str) -> Vec<String> {
        self.d(c)
            .map(|d| d.uuids().iter().map(Uuid::to_string).collect())
            .unwrap_or_default()
    }
    fn opt_bool(&self, c: &str) -> Option<bool> {
        self.d(c).and_then(Datum::as_bool)
    }
    fn int(&self, c: &str) -> Option<i64> {
        self.d(c).and_then(Datum::as_integer)
    }
}

fn rows<'a>(t: &'a Tables, name: &str) -> impl Iterator<Item = (String, R<'a>)> {
    t.get(name)
        .into_iter()
        .flatten()
        .map(|(u, r)| (u.to_string(), R(r)))
}

pub fn northbound(nb: &Tables) -> Northbound {
    let mut out = Northbound::default();
    if let Some((u, r)) = rows(nb, "NB_Global").next() {
        out.nb_global = NbGlobal {
            uuid: u,
            nb_cfg: r.int("nb_cfg").unwrap_or(0),
            options: r.map("options"),
            ipsec: r.opt_bool("ipsec").unwrap_or(false),
        };
    }
    out.switches = rows(nb, "Logical_Switch")
        .map(|(u, r)| {
            let ls = LogicalSwitch {
                name: r.s("name"),
                ports: r.uuids("ports"),
                load_balancers: r.uuids("load_balancer"),
                other_config: r.map("other_config"),
                external_ids: r.map("external_ids"),
            };
            (u, ls)
        })
        .collect();
    out.switch_ports = rows(nb, "Logical_Switch_Port")
        .map(|(u, r)| {
            let p = LogicalSwitchPort {
                name: r.s("name"),
                port_type: r.s("type"),
                addresses: r.strings("addresses"),
                port_security: r.strings("port_security"),
                options: r.map("options"),
                enabled: r.opt_bool("enabled"),
                external_ids: r.map("external_ids"),
                parent_name: r.opt_s("parent_name"),
                tag: r.int("tag"),
            };
            (u, p)
        })
        .collect();
    out.routers = rows(nb, "Logical_Router")
        .map(|(u, r)| {
            let lr = LogicalRouter {
                name: r.s("name"),
                ports: r.uuids("ports"),
                static_routes: r.uuids("static_routes"),
                load_balancers: r.uuids("load_balancer"),
                options: r.map("options"),
                enabled: r.opt_bool("enabled"),
                external_ids: r.map("external_ids"),
            };
            (u, lr)
        })
        .collect();
    out.router_ports = rows(nb, "Logical_Router_Port")
        .map(|(u, r)| {
            let p = LogicalRouterPort {
                name: r.s("name"),
                mac: r.s("mac"),
                networks: r.strings("networks"),
                peer: r.opt_s("peer"),
                options: r.map("options"),
                enabled: r.opt_bool("enabled"),
                external_ids: r.map("external_ids"),
            };
            (u, p)
        })
        .collect();
    out.static_routes = rows(nb, "Logical_Router_Static_Route")
        .map(|(u, r)| {
            let s = StaticRoute {
                ip_prefix: r.s("ip_prefix"),
                nexthop: r.s("nexthop"),
                output_port: r.opt_s("output_port"),
                policy: r.opt_s("policy"),
                route_table: r.s("route_table"),
                options: r.map("options"),
                external_ids: r.map("external_ids"),
            };
            (u, s)
        })
        .collect();
    out.load_balancers = rows(nb, "Load_Balancer")
        .map(|(u, r)| {
            let lb = LoadBalancer {
                name: r.s("name"),
                vips: r.map("vips"),
                protocol: r.opt_s("protocol"),
                options: r.map("options"),
                external_ids: r.map("external_ids"),
            };
            (u, lb)
        })
        .collect();
    out.address_sets = rows(nb, "Address_Set")
        .map(|(u, r)| {
            (
                u,
                AddressSet {
                    name: r.s("name"),
                    addresses: r.strings("addresses"),
                },
            )
        })
        .collect();
    out.port_groups = rows(nb, "Port_Group")
        .map(|(u, r)| {
            (
                u,
                PortGroup {
                    name: r.s("name"),
                    ports: r.uuids("ports"),
                },
            )
        })
        .collect();
    out
}

/// The SB facts the translation needs, read from the SB replica.
pub fn sb_context(sb: &Tables) -> SbContext {
    let encap_type: BTreeMap<String, String> = rows(sb, "Encap").map(|(u, r)| (u, r.s("type"))).collect();
    let chassis = rows(sb, "Chassis")
        .map(|(_, r)| Chassis {
            name: r.s("name"),
            hostname: r.s("hostname"),
            encap_types: r
                .uuids("encaps")
                .iter()
                .filter_map(|e| encap_type.get(e).cloned())
                .collect(),
            other_config: r.map("other_config"),
        })
        .collect();
    let sb_global_options = rows(sb, "SB_Global")
        .next()
        .map(|(_, r)| r.map("options"))
        .unwrap_or_default();

    // Existing keys, so that restarts and recomputations keep them.
    let mut dp_nb: BTreeMap<String, String> = BTreeMap::new();
    let mut datapath_keys = BTreeMap::new();
    for (u, r) in rows(sb, "Datapath_Binding") {
        let ids = r.map("external_ids");
        if let (Some(nb), Some(k)) = (
            ids.get("logical-switch").or_else(|| ids.get("logical-router")),
            r.int("tunnel_key"),
        ) {
            datapath_keys.insert(nb.clone(), k as u32);
            dp_nb.insert(u, nb.clone());
        }
    }
    let mut port_keys = BTreeMap::new();
    for (_, r) in rows(sb, "Port_Binding") {
        let dp = r.d("datapath").and_then(Datum::as_uuid).map(|u| u.to_string());
        if let (Some(nb), Some(k)) = (dp.and_then(|d| dp_nb.get(&d).cloned()), r.int("tunnel_key")) {
            port_keys.insert(r.s("logical_port"), (nb, k as u32));
        }
    }
    SbContext {
        chassis,
        sb_global_options,
        datapath_keys,
        port_keys,
    }
}
