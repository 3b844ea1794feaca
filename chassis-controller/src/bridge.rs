//! The integration bridge (br-int) in the local Open_vSwitch database: its
//! creation and settings (ovn-controller's `process_br_int`), and the
//! conntrack zones persisted in its `external_ids:ct-zone-<name>`.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::{Atom, Condition, Datum, Mutation, Operation, Row, Uuid};

use crate::config::ChassisConfig;
use crate::db::Replica;
use crate::row;
use crate::vswitch::{Bridge, Interface, OpenVswitch, Port};

pub const CT_ZONE_PREFIX: &str = "ct-zone-";
/// Zone 0 is the default zone and never allocated.
const MAX_ZONE: u16 = u16::MAX;

/// The bridge named `name`, if it exists.
pub fn find<'a>(ovs: &'a Replica, name: &str) -> Option<(Uuid, &'a Row)> {
    ovs.find(Bridge::TABLE, Bridge::COL_NAME, name)
        .map(|(u, r)| (*u, r))
}

/// The single `Open_vSwitch` row.
pub fn root(ovs: &Replica) -> Option<(Uuid, &Row)> {
    ovs.table(OpenVswitch::TABLE).next().map(|(u, r)| (*u, r))
}

/// The datapath type to create the bridge with: `ovn-bridge-datapath-type`, else
/// the type every other bridge uses when they agree on one (a host whose
/// underlay bridge is `netdev` needs a `netdev` br-int), else `system` as
/// ovn-controller 23.03 writes it.
pub fn datapath_type_for_new(ovs: &Replica, cfg: &ChassisConfig) -> String {
    if let Some(t) = &cfg.bridge_datapath_type {
        return t.clone();
    }
    let types: BTreeSet<&str> = ovs
        .table(Bridge::TABLE)
        .map(|(_, r)| row::str(r, Bridge::COL_DATAPATH_TYPE))
        .collect();
    match types.into_iter().collect::<Vec<_>>().as_slice() {
        [t] if !t.is_empty() => t.to_string(),
        _ => "system".to_string(),
    }
}

/// Operations that create br-int (bridge, internal port and interface named like
/// it) or fix its settings; empty when nothing is needed.
pub fn ensure_ops(ovs: &Replica, cfg: &ChassisConfig) -> Vec<Operation> {
    let Some((root_uuid, _)) = root(ovs) else {
        return Vec::new();
    };
    let name = cfg.bridge.as_str();
    match find(ovs, name) {
        None => {
            let iface = row::build([
                (Interface::COL_NAME, Datum::string(name)),
                (Interface::COL_TYPE, Datum::string("internal")),
            ]);
            let port = row::build([
                (Port::COL_NAME, Datum::string(name)),
                (Port::COL_INTERFACES, Datum::atom(Atom::NamedUuid("iface".into()))),
            ]);
            let bridge = row::build([
                (Bridge::COL_NAME, Datum::string(name)),
                (Bridge::COL_FAIL_MODE, Datum::string("secure")),
                (
                    Bridge::COL_OTHER_CONFIG,
                    Datum::string_map([("disable-in-band", "true")]),
                ),
                (Bridge::COL_PORTS, Datum::atom(Atom::NamedUuid("port".into()))),
                (
                    Bridge::COL_DATAPATH_TYPE,
                    Datum::string(datapath_type_for_new(ovs, cfg)),
                ),
            ]);
            vec![
                Operation::Comment(format!("ovn-controller: creating integration bridge '{name}'")),
                insert(Interface::TABLE, iface, "iface"),
                insert(Port::TABLE, port, "port"),
                insert(Bridge::TABLE, bridge, "bridge"),
                Operation::Mutate {
                    table: OpenVswitch::TABLE.into(),
                    conditions: vec![Condition::uuid(root_uuid)],
                    mutations: vec![Mutation::new(
                        OpenVswitch::COL_BRIDGES,
                        "insert",
                        Datum::atom(Atom::NamedUuid("bridge".into())),
                    )],
                },
            ]
        }
        Some((uuid, br)) => {
            let mut upd = Row::new();
            if row::str(br, Bridge::COL_FAIL_MODE) != "secure" {
                upd.insert(Bridge::COL_FAIL_MODE.into(), Datum::string("secure"));
            }
            if let Some(t) = &cfg.bridge_datapath_type
                && row::str(br, Bridge::COL_DATAPATH_TYPE) != t
            {
                upd.insert(Bridge::COL_DATAPATH_TYPE.into(), Datum::string(t.clone()));
            }
            let mut ops = Vec::new();
            if !upd.is_empty() {
                ops.push(Operation::Update {
                    table: Bridge::TABLE.into(),
                    conditions: vec![Condition::uuid(uuid)],
                    row: upd,
                });
            }
            if row::smap_get(br, Bridge::COL_OTHER_CONFIG, "disable-in-band") != Some("true") {
                ops.push(set_map_keys(
                    Bridge::TABLE,
                    uuid,
                    Bridge::COL_OTHER_CONFIG,
                    &[("disable-in-band".into(), "true".into())],
                ));
            }
            ops
        }
    }
}

fn insert(table: &str, row: Row, name: &str) -> Operation {
    Operation::Insert {
        table: table.into(),
        row,
        uuid_name: Some(name.into()),
    }
}

/// Sets keys of a map column without touching the others (delete then insert,
/// as `ovs-vsctl set` does for map keys).
pub fn set_map_keys(table: &str, uuid: Uuid, col: &str, pairs: &[(String, String)]) -> Operation {
    Operation::Mutate {
        table: table.into(),
        conditions: vec![Condition::uuid(uuid)],
        mutations: vec![
            Mutation::new(
                col,
                "delete",
                Datum::set(pairs.iter().map(|(k, _)| Atom::string(k.clone()))),
            ),
            Mutation::new(col, "insert", Datum::string_map(pairs.iter().cloned())),
        ],
    }
}

/// Removes keys of a map column.
pub fn remove_map_keys(table: &str, uuid: Uuid, col: &str, keys: &[String]) -> Operation {
    Operation::Mutate {
        table: table.into(),
        conditions: vec![Condition::uuid(uuid)],
        mutations: vec![Mutation::new(
            col,
            "delete",
            Datum::set(keys.iter().map(|k| Atom::string(k.clone()))),
        )],
    }
}

/// The zones persisted in a bridge's `external_ids`.
pub fn persisted_zones(br: &Row) -> BTreeMap<String, u16> {
    row::smap(br, Bridge::COL_EXTERNAL_IDS)
        .into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(CT_ZONE_PREFIX)?;
            let zone: u16 = v.parse().ok().filter(|z| *z > 0)?;
            Some((name.to_string(), zone))
        })
        .collect()
}

/// A zone allocation and what must change in `external_ids` to persist it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZonePlan {
    pub zones: BTreeMap<String, u16>,
    pub add: Vec<(String, u16)>,
    pub remove: Vec<String>,
}

/// Assigns a zone to every name of `needed`: existing assignments are kept,
/// `requested` zones (e.g. a router's `snat-ct-zone`) are honoured when free, and
/// new names get the lowest free zone. Names no longer needed are released.
pub fn plan_zones(
    existing: &BTreeMap<String, u16>,
    needed: &BTreeSet<String>,
    requested: &BTreeMap<String, u16>,
) -> ZonePlan {
    let mut plan = ZonePlan::default();
    let mut used = BTreeSet::new();
    // Requested zones first: they may evict nothing but must be reserved.
    for (name, z) in requested {
        if needed.contains(name) && *z > 0 && used.insert(*z) {
            plan.zones.insert(name.clone(), *z);
        }
    }
    for (name, z) in existing {
        if needed.contains(name) && !plan.zones.contains_key(name) && used.insert(*z) {
            plan.zones.insert(name.clone(), *z);
        }
    }
    let mut next = 1u16;
    for name in needed {
        if plan.zones.contains_key(name) {
            continue;
        }
        while used.contains(&next) && next < MAX_ZONE {
            next += 1;
        }
        if used.contains(&next) {
            tracing::warn!("out of conntrack zones for {name}");
            continue;
        }
        used.insert(next);
        plan.zones.insert(name.clone(), next);
    }
    for (name, z) in &plan.zones {
        if existing.get(name) != Some(z) {
            plan.add.push((format!("{CT_ZONE_PREFIX}{name}"), *z));
        }
    }
    for name in existing.keys() {
        if !plan.zones.contains_key(name) {
            plan.remove.push(format!("{CT_ZONE_PREFIX}{name}"));
        }
    }
    plan
}

/// The operations persisting a zone plan on bridge `br`.
pub fn zone_ops(br: Uuid, plan: &ZonePlan) -> Vec<Operation> {
    let mut ops = Vec::new();
    if !plan.remove.is_empty() {
        ops.push(remove_map_keys(
            Bridge::TABLE,
            br,
            Bridge::COL_EXTERNAL_IDS,
            &plan.remove,
        ));
    }
    if !plan.add.is_empty() {
        let pairs: Vec<(String, String)> = plan.add.iter().map(|(k, z)| (k.clone(), z.to_string())).collect();
        ops.push(set_map_keys(Bridge::TABLE, br, Bridge::COL_EXTERNAL_IDS, &pairs));
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> BTreeSet<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn zones_are_stable_and_lowest_free() {
        let existing: BTreeMap<String, u16> = [("vm1".to_string(), 1), ("old".to_string(), 2)].into();
        let p = plan_zones(&existing, &names(&["vm1", "vm2", "vm3"]), &BTreeMap::new());
        assert_eq!(p.zones["vm1"], 1);
        assert_eq!(p.zones["vm2"], 2);
        assert_eq!(p.zones["vm3"], 3);
        assert_eq!(p.remove, vec!["ct-zone-old".to_string()]);
        assert_eq!(p.add.len(), 2);
        let again = plan_zones(&p.zones, &names(&["vm1", "vm2", "vm3"]), &BTreeMap::new());
        assert!(again.add.is_empty() && again.remove.is_empty());
        let req: BTreeMap<String, u16> = [("vm3".to_string(), 9)].into();
        let p = plan_zones(&p.zones, &names(&["vm1", "vm2", "vm3"]), &req);
        assert_eq!(p.zones["vm3"], 9);
    }

    #[test]
    fn reads_persisted_zones() {
        let br = row::build([(
            Bridge::COL_EXTERNAL_IDS,
            Datum::string_map([("ct-zone-vm1", "4"), ("ct-zone-bad", "x"), ("ovn-nb-cfg", "3")]),
        )]);
        assert_eq!(persisted_zones(&br), [("vm1".to_string(), 4)].into());
    }

    #[test]
    fn creates_bridge_when_missing() {
        let mut ovs = Replica::default();
        let cfg = ChassisConfig {
            bridge: "br-int".into(),
            ..Default::default()
        };
        assert!(ensure_ops(&ovs, &cfg).is_empty(), "no Open_vSwitch row yet");
        ovs.insert(OpenVswitch::TABLE, Uuid::new_v4(), Row::new());
        ovs.insert(
            Bridge::TABLE,
            Uuid::new_v4(),
            row::build([
                (Bridge::COL_NAME, Datum::string("br-phy")),
                (Bridge::COL_DATAPATH_TYPE, Datum::string("netdev")),
            ]),
        );
        let ops = ensure_ops(&ovs, &cfg);
        assert_eq!(ops.len(), 5);
        let Operation::Insert { row: br, .. } = &ops[3] else {
            panic!()
        };
        assert_eq!(row::str(br, Bridge::COL_FAIL_MODE), "secure");
        assert_eq!(row::str(br, Bridge::COL_DATAPATH_TYPE), "netdev");
        let u = Uuid::new_v4();
        ovs.insert(
            Bridge::TABLE,
            u,
            row::build([
                (Bridge::COL_NAME, Datum::string("br-int")),
                (Bridge::COL_FAIL_MODE, Datum::string("secure")),
                (
                    Bridge::COL_OTHER_CONFIG,
                    Datum::string_map([("disable-in-band", "true")]),
                ),
            ]),
        );
        assert!(ensure_ops(&ovs, &cfg).is_empty());
    }
}
