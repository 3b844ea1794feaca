//! Tunnel ports on br-int toward every other chassis (ovn-controller's
//! encaps.c), named and tagged as OVN does so that rovn and OVN chassis mesh:
//! Port `ovn-<first 6 chars of the chassis>-<n>` with
//! `external_ids:ovn-chassis-id=<chassis>@<remote ip>`, Interface of the best
//! common encap type with `options:remote_ip`, `key=flow` and `csum`.

use std::collections::{BTreeMap, BTreeSet};

use ovn_db::sb;
use ovsdb::{Atom, Condition, Datum, Mutation, Operation, Row, Uuid};

use crate::config::{ChassisConfig, ENCAP_TYPES};
use crate::db::Replica;
use crate::row;
use crate::vswitch::{Bridge, Interface, Port};

pub const CHASSIS_ID_KEY: &str = "ovn-chassis-id";

/// One wanted tunnel port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelSpec {
    pub chassis: String,
    pub encap_type: String,
    pub options: BTreeMap<String, String>,
}

/// An existing tunnel port on the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub port: Uuid,
    pub name: String,
    pub iface_type: String,
    pub options: BTreeMap<String, String>,
    pub ofport: Option<i64>,
}

/// `<chassis>@<ip>`, the key tunnels are identified by.
pub fn tunnel_id(chassis: &str, ip: &str) -> String {
    format!("{chassis}@{ip}")
}

/// The tunnels this chassis wants, by tunnel id: one per other chassis and
/// remote encap IP, of the best encap type both support, toward chassis that
/// share a transport zone (or when either side has none).
pub fn desired(sb: &Replica, cfg: &ChassisConfig) -> BTreeMap<String, TunnelSpec> {
    let mine: BTreeSet<&str> = cfg.transport_zones.iter().map(String::as_str).collect();
    let mut out = BTreeMap::new();
    for ch in sb.sb.chassis.values() {
        let name = ch.name.as_str();
        if name.is_empty() || name == cfg.system_id {
            continue;
        }
        let theirs = &ch.transport_zones;
        if !mine.is_empty() && !theirs.is_empty() && !theirs.iter().any(|t| mine.contains(t.as_str())) {
            continue;
        }
        let encaps: Vec<&sb::Encap> = ch.encaps.iter().filter_map(|u| sb.sb.encap.get(u)).collect();
        let Some(best) = ENCAP_TYPES
            .iter()
            .find(|t| cfg.encap_types.iter().any(|m| m == *t) && encaps.iter().any(|e| e.r#type == **t))
        else {
            continue;
        };
        for e in encaps.iter().filter(|e| e.r#type == *best) {
            let ip = e.ip.as_str();
            if ip.is_empty() {
                continue;
            }
            let mut options: BTreeMap<String, String> = [
                ("remote_ip".to_string(), ip.to_string()),
                ("key".to_string(), "flow".to_string()),
            ]
            .into();
            if let Some(c @ ("true" | "false")) = e.options.get("csum").map(String::as_str) {
                options.insert("csum".into(), c.into());
            }
            if let Some(p) = e.options.get("dst_port") {
                options.insert("dst_port".into(), p.clone());
            }
            out.insert(
                tunnel_id(name, ip),
                TunnelSpec {
                    chassis: name.to_string(),
                    encap_type: best.to_string(),
                    options,
                },
            );
        }
    }
    out
}

/// The tunnel ports on `bridge`, by tunnel id.
pub fn existing(ovs: &Replica, bridge: &Row) -> BTreeMap<String, Existing> {
    let mut out = BTreeMap::new();
    for pu in row::uuids(bridge, Bridge::COL_PORTS) {
        let Some(port) = ovs.row(Port::TABLE, &pu) else {
            continue;
        };
        let Some(id) = row::smap_get(port, Port::COL_EXTERNAL_IDS, CHASSIS_ID_KEY) else {
            continue;
        };
        let iface = row::uuids(port, Port::COL_INTERFACES)
            .first()
            .and_then(|u| ovs.row(Interface::TABLE, u));
        out.insert(
            id.to_string(),
            Existing {
                port: pu,
                name: row::str(port, Port::COL_NAME).to_string(),
                iface_type: iface
                    .map(|i| row::str(i, Interface::COL_TYPE).to_string())
                    .unwrap_or_default(),
                options: iface
                    .map(|i| row::smap(i, Interface::COL_OPTIONS))
                    .unwrap_or_default(),
                ofport: iface.and_then(|i| row::int(i, Interface::COL_OFPORT)),
            },
        );
    }
    out
}

/// The first free `ovn-<chassis[..6]>-<n>` name.
pub fn port_name(chassis: &str, taken: &BTreeSet<String>) -> String {
    let short: String = chassis.chars().take(6).collect();
    (0u32..)
        .map(|i| format!("ovn-{short}-{i:x}"))
        .find(|n| !taken.contains(n))
        .unwrap_or_default()
}

/// Operations adding missing tunnels and removing stale or changed ones;
/// `have` is [`existing`] on `bridge`.
pub fn sync_ops(
    ovs: &Replica,
    bridge_uuid: Uuid,
    bridge: &Row,
    have: &BTreeMap<String, Existing>,
    want: &BTreeMap<String, TunnelSpec>,
) -> Vec<Operation> {
    let same = |w: &TunnelSpec, e: &Existing| w.encap_type == e.iface_type && w.options == e.options;
    if have.len() == want.len()
        && want
            .iter()
            .all(|(id, w)| have.get(id).is_some_and(|e| same(w, e)))
    {
        return Vec::new();
    }
    // Every port's name, only when something changes.
    let mut taken: BTreeSet<String> = row::uuids(bridge, Bridge::COL_PORTS)
        .iter()
        .filter_map(|u| ovs.row(Port::TABLE, u))
        .map(|p| row::str(p, Port::COL_NAME).to_string())
        .collect();
    let mut remove = Vec::new();
    for (id, e) in have {
        let keep = want.get(id).is_some_and(|w| same(w, e));
        if !keep {
            tracing::info!("removing tunnel port {} ({id})", e.name);
            remove.push(Atom::Uuid(e.port));
            taken.remove(&e.name);
        }
    }
    let mut ops = Vec::new();
    let mut add = Vec::new();
    for (id, w) in want {
        if have.get(id).is_some_and(|e| same(w, e)) {
            continue;
        }
        let name = port_name(&w.chassis, &taken);
        taken.insert(name.clone());
        tracing::info!("adding tunnel port {name} ({id})");
        let n = add.len();
        ops.push(Operation::Insert {
            table: Interface::TABLE.into(),
            row: row::build([
                (Interface::COL_NAME, Datum::string(name.clone())),
                (Interface::COL_TYPE, Datum::string(w.encap_type.clone())),
                (Interface::COL_OPTIONS, Datum::string_map(w.options.clone())),
            ]),
            uuid_name: Some(format!("tif{n}")),
        });
        ops.push(Operation::Insert {
            table: Port::TABLE.into(),
            row: row::build([
                (Port::COL_NAME, Datum::string(name)),
                (
                    Port::COL_INTERFACES,
                    Datum::atom(Atom::NamedUuid(format!("tif{n}"))),
                ),
                (
                    Port::COL_EXTERNAL_IDS,
                    Datum::string_map([(CHASSIS_ID_KEY, id.as_str())]),
                ),
            ]),
            uuid_name: Some(format!("tport{n}")),
        });
        add.push(Atom::NamedUuid(format!("tport{n}")));
    }
    let mut mutations = Vec::new();
    if !remove.is_empty() {
        mutations.push(Mutation::new(Bridge::COL_PORTS, "delete", Datum::set(remove)));
    }
    if !add.is_empty() {
        mutations.push(Mutation::new(Bridge::COL_PORTS, "insert", Datum::set(add)));
    }
    if !mutations.is_empty() {
        ops.push(Operation::Mutate {
            table: Bridge::TABLE.into(),
            conditions: vec![Condition::uuid(bridge_uuid)],
            mutations,
        });
    }
    ops
}

/// Remote chassis name → OpenFlow port of its tunnel (the lowest one when a
/// chassis has several encap IPs), from [`existing`]. Ports without a valid
/// ofport are skipped.
pub fn ofports(have: &BTreeMap<String, Existing>) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    for (id, e) in have {
        let Some(ofport) = e
            .ofport
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0 && *p < 0xff00)
        else {
            continue;
        };
        let chassis = id.split_once('@').map_or(id.as_str(), |(c, _)| c).to_string();
        out.entry(chassis)
            .and_modify(|p| *p = (*p).min(ofport))
            .or_insert(ofport);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb_with(chassis: &[(&str, &str, &str)]) -> Replica {
        let mut sb = Replica::default();
        for (name, ty, ip) in chassis {
            let e = sb.sb.insert(sb::Encap {
                r#type: ty.to_string(),
                ip: ip.to_string(),
                options: [("csum".to_string(), "true".to_string())].into(),
                ..Default::default()
            });
            sb.sb.insert(sb::Chassis {
                name: name.to_string(),
                encaps: vec![e],
                ..Default::default()
            });
        }
        sb
    }

    fn cfg() -> ChassisConfig {
        ChassisConfig {
            system_id: "hv1".into(),
            encap_types: vec!["geneve".into()],
            encap_ips: vec!["127.0.0.1".into()],
            ..Default::default()
        }
    }

    #[test]
    fn wants_one_tunnel_per_other_chassis() {
        let sb = sb_with(&[
            ("hv1", "geneve", "127.0.0.1"),
            ("hv2", "geneve", "127.0.0.2"),
            ("vx", "vxlan", "127.0.0.3"),
        ]);
        let want = desired(&sb, &cfg());
        assert_eq!(want.len(), 1);
        let t = &want["hv2@127.0.0.2"];
        assert_eq!(t.encap_type, "geneve");
        assert_eq!(t.options["remote_ip"], "127.0.0.2");
        assert_eq!(t.options["key"], "flow");
        assert_eq!(t.options["csum"], "true");
    }

    #[test]
    fn names_like_ovn() {
        let mut taken = BTreeSet::new();
        assert_eq!(port_name("hv2", &taken), "ovn-hv2-0");
        taken.insert("ovn-chassi-0".to_string());
        assert_eq!(port_name("chassis-long-name", &taken), "ovn-chassi-1");
    }

    #[test]
    fn adds_and_removes_ports() {
        let sb = sb_with(&[("hv2", "geneve", "127.0.0.2")]);
        let want = desired(&sb, &cfg());
        let mut ovs = Replica::default();
        let br = Uuid::new_v4();
        let stale = Uuid::new_v4();
        let siface = Uuid::new_v4();
        ovs.insert(
            Interface::TABLE,
            siface,
            row::build([
                (Interface::COL_NAME, Datum::string("ovn-hv3-0")),
                (Interface::COL_TYPE, Datum::string("geneve")),
                (Interface::COL_OFPORT, Datum::integer(7)),
            ]),
        );
        ovs.insert(
            Port::TABLE,
            stale,
            row::build([
                (Port::COL_NAME, Datum::string("ovn-hv3-0")),
                (Port::COL_INTERFACES, Datum::uuid(siface)),
                (
                    Port::COL_EXTERNAL_IDS,
                    Datum::string_map([(CHASSIS_ID_KEY, "hv3@1.1.1.1")]),
                ),
            ]),
        );
        let bridge = row::build([
            (Bridge::COL_NAME, Datum::string("br-int")),
            (Bridge::COL_PORTS, Datum::uuid(stale)),
        ]);
        ovs.insert(Bridge::TABLE, br, bridge.clone());
        let have = existing(&ovs, &bridge);
        assert_eq!(ofports(&have), [("hv3".to_string(), 7)].into());
        assert!(sync_ops(&ovs, br, &bridge, &have, &desired(&Replica::default(), &cfg())).len() == 1);
        let ops = sync_ops(&ovs, br, &bridge, &have, &want);
        assert_eq!(ops.len(), 3);
        let Operation::Mutate { mutations, .. } = &ops[2] else {
            panic!()
        };
        assert_eq!(mutations.len(), 2);
        let Operation::Insert { row: p, .. } = &ops[1] else {
            panic!()
        };
        assert_eq!(row::str(p, Port::COL_NAME), "ovn-hv2-0");
        assert_eq!(
            row::smap_get(p, Port::COL_EXTERNAL_IDS, CHASSIS_ID_KEY),
            Some("hv2@127.0.0.2")
        );
    }
}
