//! Builds the OpenFlow side's input, [`LocalState`], from the replicas, and the
//! set of names that need a conntrack zone. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use ovsdb::{Row, Uuid};

use crate::db::Replica;
use crate::of::state::{
    Datapath, Encap, LoadBalancer, LocalState, LogicalFlow, MacBinding, MulticastGroup, Pipeline, PortBinding,
};
use crate::row;

/// Lookups shared by the conversions.
struct Index<'a> {
    dp_keys: HashMap<Uuid, u32>,
    pb_names: HashMap<Uuid, &'a str>,
    chassis_names: HashMap<Uuid, &'a str>,
    dp_groups: HashMap<Uuid, Vec<u32>>,
}

fn key(r: &Row, col: &str) -> Option<u32> {
    row::int(r, col).and_then(|k| u32::try_from(k).ok())
}

impl<'a> Index<'a> {
    fn new(sb: &'a Replica) -> Self {
        let dp_keys: HashMap<Uuid, u32> = sb
            .table("Datapath_Binding")
            .filter_map(|(u, r)| Some((*u, key(r, "tunnel_key")?)))
            .collect();
        let dp_groups = sb
            .table("Logical_DP_Group")
            .map(|(u, r)| {
                let mut keys: Vec<u32> = row::uuids(r, "datapaths")
                    .iter()
                    .filter_map(|d| dp_keys.get(d).copied())
                    .collect();
                keys.sort_unstable();
                (*u, keys)
            })
            .collect();
        Index {
            pb_names: sb
                .table("Port_Binding")
                .map(|(u, r)| (*u, row::str(r, "logical_port")))
                .collect(),
            chassis_names: sb
                .table("Chassis")
                .map(|(u, r)| (*u, row::str(r, "name")))
                .collect(),
            dp_keys,
            dp_groups,
        }
    }

    fn dp(&self, r: &Row, col: &str) -> Option<u32> {
        row::uuid(r, col).and_then(|u| self.dp_keys.get(&u).copied())
    }

    fn dps(&self, r: &Row, single: &str, group: &str) -> Vec<u32> {
        let mut v: Vec<u32> = row::uuids(r, single)
            .iter()
            .filter_map(|u| self.dp_keys.get(u).copied())
            .collect();
        if let Some(g) = row::uuid(r, group).and_then(|g| self.dp_groups.get(&g)) {
            v.extend(g);
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Everything from SB/OVS the OpenFlow side needs.
pub fn build(
    sb: &Replica,
    chassis_name: &str,
    vif_ofports: BTreeMap<String, u32>,
    tunnel_ofports: BTreeMap<String, u32>,
    ct_zones: BTreeMap<String, u16>,
) -> LocalState {
    let ix = Index::new(sb);
    let mut s = LocalState {
        chassis_name: chassis_name.to_string(),
        vif_ofports,
        tunnel_ofports,
        ct_zones,
        ..Default::default()
    };
    s.datapaths = sb
        .table("Datapath_Binding")
        .filter_map(|(u, r)| {
            let external_ids = row::smap(r, "external_ids");
            Some(Datapath {
                uuid: u.to_string(),
                tunnel_key: key(r, "tunnel_key")?,
                is_switch: external_ids.contains_key("logical-switch"),
                external_ids,
            })
        })
        .collect();
    s.port_bindings = sb
        .table("Port_Binding")
        .filter_map(|(u, r)| {
            Some(PortBinding {
                uuid: u.to_string(),
                logical_port: row::str(r, "logical_port").to_string(),
                datapath: ix.dp(r, "datapath")?,
                tunnel_key: key(r, "tunnel_key")?,
                port_type: row::str(r, "type").to_string(),
                chassis: row::uuid(r, "chassis")
                    .and_then(|c| ix.chassis_names.get(&c))
                    .map(|n| n.to_string()),
                options: row::smap(r, "options"),
                mac: row::strings(r, "mac"),
                port_security: row::strings(r, "port_security"),
            })
        })
        .collect();
    s.multicast_groups = sb
        .table("Multicast_Group")
        .filter_map(|(_, r)| {
            Some(MulticastGroup {
                datapath: ix.dp(r, "datapath")?,
                name: row::str(r, "name").to_string(),
                tunnel_key: key(r, "tunnel_key")?,
                ports: row::uuids(r, "ports")
                    .iter()
                    .filter_map(|p| ix.pb_names.get(p).map(|n| n.to_string()))
                    .collect(),
            })
        })
        .collect();
    s.logical_flows = sb
        .table("Logical_Flow")
        .filter_map(|(u, r)| {
            let datapaths = ix.dps(r, "logical_datapath", "logical_dp_group");
            if datapaths.is_empty() {
                return None;
            }
            Some(LogicalFlow {
                uuid: u.to_string(),
                datapaths,
                pipeline: if row::str(r, "pipeline") == "egress" {
                    Pipeline::Egress
                } else {
                    Pipeline::Ingress
                },
                table_id: u8::try_from(row::int(r, "table_id")?).ok()?,
                priority: u16::try_from(row::int(r, "priority")?).ok()?,
                match_: row::str(r, "match").to_string(),
                actions: row::str(r, "actions").to_string(),
            })
        })
        .collect();
    s.mac_bindings = sb
        .table("MAC_Binding")
        .filter_map(|(_, r)| {
            Some(MacBinding {
                logical_port: row::str(r, "logical_port").to_string(),
                ip: row::str(r, "ip").to_string(),
                mac: row::str(r, "mac").to_string(),
                datapath: ix.dp(r, "datapath")?,
            })
        })
        .collect();
    s.load_balancers = sb
        .table("Load_Balancer")
        .map(|(_, r)| LoadBalancer {
            vips: row::smap(r, "vips"),
            protocol: row::opt_str(r, "protocol").map(str::to_string),
            datapaths: ix.dps(r, "datapaths", "datapath_group"),
        })
        .collect();
    s.address_sets = sb
        .table("Address_Set")
        .map(|(_, r)| {
            (
                row::str(r, "name").to_string(),
                row::strings(r, "addresses").into_iter().collect(),
            )
        })
        .collect();
    s.port_groups = sb
        .table("Port_Group")
        .map(|(_, r)| {
            (
                row::str(r, "name").to_string(),
                row::strings(r, "ports").into_iter().collect(),
            )
        })
        .collect();
    s.chassis = sb
        .table("Chassis")
        .map(|(_, r)| {
            let encaps = row::uuids(r, "encaps")
                .iter()
                .filter_map(|e| sb.row("Encap", e))
                .map(|e| Encap {
                    encap_type: row::str(e, "type").to_string(),
                    ip: row::str(e, "ip").to_string(),
                    csum: row::smap_get(e, "options", "csum") == Some("true"),
                })
                .collect();
            (row::str(r, "name").to_string(), encaps)
        })
        .collect();
    // Deterministic order, so that an unchanged database gives an equal state.
    s.datapaths.sort_by_key(|d| d.tunnel_key);
    s.port_bindings
        .sort_by(|a, b| a.logical_port.cmp(&b.logical_port));
    s.multicast_groups.sort_by_key(|m| (m.datapath, m.tunnel_key));
    s.logical_flows.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    s.mac_bindings
        .sort_by(|a, b| (&a.logical_port, &a.ip).cmp(&(&b.logical_port, &b.ip)));
    s
}

/// Datapaths (by UUID) with a port resident on this chassis, plus everything
/// reachable from them through patch ports.
pub fn local_datapaths(sb: &Replica, me_uuid: Uuid, me_name: &str) -> BTreeSet<Uuid> {
    let mut by_name: HashMap<&str, &Row> = HashMap::new();
    let mut by_dp: HashMap<Uuid, Vec<&Row>> = HashMap::new();
    let mut todo = VecDeque::new();
    for (_, pb) in sb.table("Port_Binding") {
        by_name.insert(row::str(pb, "logical_port"), pb);
        let Some(dp) = row::uuid(pb, "datapath") else {
            continue;
        };
        by_dp.entry(dp).or_default().push(pb);
        let resident = row::uuid(pb, "chassis") == Some(me_uuid)
            || row::uuids(pb, "additional_chassis").contains(&me_uuid)
            || (row::str(pb, "type") == "l3gateway"
                && row::smap_get(pb, "options", "l3gateway-chassis") == Some(me_name));
        if resident {
            todo.push_back(dp);
        }
    }
    let mut local = BTreeSet::new();
    while let Some(dp) = todo.pop_front() {
        if !local.insert(dp) {
            continue;
        }
        for pb in by_dp.get(&dp).into_iter().flatten() {
            let ty = row::str(pb, "type");
            let crosses = ty == "patch"
                || (ty == "l3gateway" && row::smap_get(pb, "options", "l3gateway-chassis") == Some(me_name));
            if !crosses {
                continue;
            }
            if let Some(peer) = row::smap_get(pb, "options", "peer").and_then(|p| by_name.get(p))
                && let Some(pdp) = row::uuid(peer, "datapath")
            {
                todo.push_back(pdp);
            }
        }
    }
    local
}

/// Names that need a conntrack zone, as ovn-controller 23.03 allocates them
/// (checked against it): every local interface's `iface-id`, the `localnet`
/// ports of local datapaths, `l3gateway` ports resident here, and
/// `<dp-uuid>_dnat`/`_snat` for every local datapath (switches included);
/// patch ports get none. Also returns the zones routers request with
/// `external_ids:snat-ct-zone`.
pub fn zone_names(
    sb: &Replica,
    local_dps: &BTreeSet<Uuid>,
    vifs: &BTreeSet<String>,
    me_name: &str,
) -> (BTreeSet<String>, BTreeMap<String, u16>) {
    let mut names: BTreeSet<String> = vifs.clone();
    let mut requested = BTreeMap::new();
    for (_, pb) in sb.table("Port_Binding") {
        let port = row::str(pb, "logical_port");
        if port.is_empty() {
            continue;
        }
        let on_local_dp = row::uuid(pb, "datapath").is_some_and(|d| local_dps.contains(&d));
        let wanted = match row::str(pb, "type") {
            "localnet" => on_local_dp,
            "l3gateway" => row::smap_get(pb, "options", "l3gateway-chassis") == Some(me_name),
            _ => false,
        };
        if wanted {
            names.insert(port.to_string());
        }
    }
    for dp in local_dps {
        let Some(r) = sb.row("Datapath_Binding", dp) else {
            continue;
        };
        names.insert(format!("{dp}_dnat"));
        names.insert(format!("{dp}_snat"));
        if let Some(z) = row::smap_get(r, "external_ids", "snat-ct-zone").and_then(|z| z.parse().ok()) {
            requested.insert(format!("{dp}_snat"), z);
        }
    }
    (names, requested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::Datum;

    #[test]
    fn builds_state_and_local_datapaths() {
        let me = Uuid::new_v4();
        let mut sb = Replica::default();
        let (ls1, lr1, ls2) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        for (u, k, sw) in [(ls1, 1, true), (lr1, 2, false), (ls2, 3, true)] {
            let ids = if sw {
                Datum::string_map([("logical-switch", "x")])
            } else {
                Datum::string_map([("logical-router", "y"), ("snat-ct-zone", "77")])
            };
            sb.insert(
                "Datapath_Binding",
                u,
                row::build([("tunnel_key", Datum::integer(k)), ("external_ids", ids)]),
            );
        }
        let ch = Uuid::new_v4();
        sb.insert("Chassis", me, row::build([("name", Datum::string("hv1"))]));
        let pb =
            |sb: &mut Replica, name: &str, dp: Uuid, k: i64, ty: &str, peer: &str, chassis: Option<Uuid>| {
                sb.insert(
                    "Port_Binding",
                    Uuid::new_v4(),
                    row::build([
                        ("logical_port", Datum::string(name)),
                        ("datapath", Datum::uuid(dp)),
                        ("tunnel_key", Datum::integer(k)),
                        ("type", Datum::string(ty)),
                        ("options", Datum::string_map([("peer", peer)])),
                        ("chassis", row::opt_uuid(chassis)),
                    ]),
                )
            };
        pb(&mut sb, "vm1", ls1, 1, "", "", Some(me));
        pb(&mut sb, "vm2", ls2, 1, "", "", Some(ch));
        pb(&mut sb, "ls1-lr1", ls1, 2, "patch", "lr1-ls1", None);
        pb(&mut sb, "lr1-ls1", lr1, 1, "patch", "ls1-lr1", None);
        pb(&mut sb, "lr1-ls2", lr1, 2, "patch", "ls2-lr1", None);
        pb(&mut sb, "ls2-lr1", ls2, 2, "patch", "lr1-ls2", None);
        let local = local_datapaths(&sb, me, "hv1");
        assert_eq!(local, [ls1, lr1, ls2].into());
        let vifs: BTreeSet<String> = ["vm1".to_string()].into();
        let (names, req) = zone_names(&sb, &local, &vifs, "hv1");
        assert!(names.contains("vm1") && !names.contains("vm2"));
        assert!(!names.contains("lr1-ls2"), "patch ports get no zone");
        assert!(names.contains(&format!("{lr1}_snat")) && names.contains(&format!("{ls1}_dnat")));
        assert_eq!(req[&format!("{lr1}_snat")], 77);
        let s = build(&sb, "hv1", BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        assert_eq!(s.datapaths.len(), 3);
        assert_eq!(s.port("vm1").and_then(|p| p.chassis.as_deref()), Some("hv1"));
        assert!(s.datapath(2).is_some_and(|d| !d.is_switch));
    }

    /// Rows with missing or mistyped columns (as a newer or broken server might
    /// send) are skipped or read as empty by every planner: no panic.
    #[test]
    fn garbage_rows_do_not_panic() {
        use crate::binding::{self, Me};
        use crate::config::ChassisConfig;
        use crate::{chassis, mac_binding, patch, tunnels};
        use ovsdb::Atom;
        let mut sb = Replica::default();
        let me = Uuid::new_v4();
        let junk = || {
            row::build([
                ("name", Datum::integer(7)),
                ("logical_port", Datum::set([Atom::string("a"), Atom::string("b")])),
                ("tunnel_key", Datum::integer(-5)),
                ("datapath", Datum::string("not-a-uuid")),
                ("logical_datapath", Datum::uuid(Uuid::new_v4())),
                ("table_id", Datum::integer(100_000)),
                ("priority", Datum::integer(-1)),
                ("options", Datum::string("x")),
                ("encaps", Datum::uuid(Uuid::new_v4())),
                ("chassis", Datum::uuid(me)),
                ("type", Datum::string("l3gateway")),
            ])
        };
        for t in [
            "Chassis",
            "Encap",
            "Datapath_Binding",
            "Port_Binding",
            "Multicast_Group",
            "Logical_Flow",
            "Logical_DP_Group",
            "MAC_Binding",
            "Load_Balancer",
            "Address_Set",
            "Port_Group",
            "SB_Global",
        ] {
            sb.insert(t, Uuid::new_v4(), junk());
            sb.insert(t, Uuid::new_v4(), Row::new());
        }
        let cfg = ChassisConfig {
            system_id: "hv1".into(),
            encap_types: vec!["geneve".into()],
            encap_ips: vec!["1.1.1.1".into()],
            ..Default::default()
        };
        let _ = build(&sb, "hv1", BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let dps = local_datapaths(&sb, me, "hv1");
        let _ = zone_names(&sb, &dps, &BTreeSet::new(), "hv1");
        let m = Me {
            name: "hv1".into(),
            hostname: String::new(),
            uuid: me,
        };
        let _ = binding::plan(
            &sb,
            &m,
            &BTreeMap::new(),
            &Default::default(),
            std::time::Instant::now(),
        );
        let _ = tunnels::desired(&sb, &cfg);
        let _ = chassis::sync_ops(&sb, &chassis::spec(&cfg, &Default::default()));
        let _ = patch::desired(&sb, &Replica::default(), "br-int", &BTreeMap::new(), &dps);
        let l = mac_binding::Learned {
            datapath: 1,
            logical_port: "a".into(),
            ip: "10.0.0.1".parse().unwrap(),
            mac: "00:00:00:00:00:01".into(),
        };
        let _ = mac_binding::ops(&sb, &l, 0);
    }
}
