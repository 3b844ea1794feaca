//! This chassis's own Southbound rows: `Chassis`, its `Encap`s and
//! `Chassis_Private` (ovn-controller's chassis.c). Pure: computes the desired
//! rows and the operations that bring the database there.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::{Atom, Condition, Datum, Operation, Row, Uuid};

use crate::config::ChassisConfig;
use crate::db::Replica;
use crate::row;

/// The OVN 23.03 feature flags northd checks on every chassis (all "true").
pub const FEATURE_FLAGS: [&str; 4] = [
    "port-up-notif",
    "ct-no-masked-label",
    "mac-binding-timestamp",
    "ovn-ct-lb-related",
];

/// One wanted Encap row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EncapSpec {
    pub encap_type: String,
    pub ip: String,
    pub options: BTreeMap<String, String>,
}

/// The Chassis row this controller maintains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChassisSpec {
    pub name: String,
    pub hostname: String,
    pub other_config: BTreeMap<String, String>,
    pub encaps: BTreeSet<EncapSpec>,
    pub transport_zones: BTreeSet<String>,
}

/// Facts from the local Open_vSwitch database that go into `other_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalFacts {
    /// br-int's `datapath_type`.
    pub datapath_type: String,
    /// `Open_vSwitch.iface_types`.
    pub iface_types: Vec<String>,
}

pub fn spec(cfg: &ChassisConfig, facts: &LocalFacts) -> ChassisSpec {
    let mut oc: BTreeMap<String, String> = [
        ("ovn-bridge-mappings", cfg.bridge_mappings.clone()),
        ("datapath-type", facts.datapath_type.clone()),
        ("iface-types", facts.iface_types.join(",")),
        ("ovn-cms-options", cfg.cms_options.clone()),
        ("ovn-chassis-mac-mappings", cfg.chassis_mac_mappings.clone()),
        ("ovn-monitor-all", cfg.monitor_all.to_string()),
        ("is-interconn", cfg.is_interconn.to_string()),
        ("ovn-enable-lflow-cache", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    oc.extend(cfg.lflow_cache.iter().cloned());
    for f in FEATURE_FLAGS {
        oc.insert(f.to_string(), "true".to_string());
    }
    let csum = if cfg.encap_csum { "true" } else { "false" };
    let encaps = cfg
        .encap_types
        .iter()
        .flat_map(|t| {
            cfg.encap_ips.iter().map(move |ip| EncapSpec {
                encap_type: t.clone(),
                ip: ip.clone(),
                options: [("csum".to_string(), csum.to_string())].into(),
            })
        })
        .collect();
    ChassisSpec {
        name: cfg.system_id.clone(),
        hostname: cfg.hostname.clone(),
        other_config: oc,
        encaps,
        transport_zones: cfg.transport_zones.iter().cloned().collect(),
    }
}

/// The Chassis row named `name`.
pub fn find<'a>(sb: &'a Replica, name: &str) -> Option<(Uuid, &'a Row)> {
    sb.find("Chassis", "name", name).map(|(u, r)| (*u, r))
}

/// The encaps a Chassis row currently references.
pub fn current_encaps(sb: &Replica, chassis: &Row) -> BTreeSet<EncapSpec> {
    row::uuids(chassis, "encaps")
        .iter()
        .filter_map(|u| sb.row("Encap", u))
        .map(|e| EncapSpec {
            encap_type: row::str(e, "type").to_string(),
            ip: row::str(e, "ip").to_string(),
            options: row::smap(e, "options"),
        })
        .collect()
}

fn encap_inserts(spec: &ChassisSpec, ops: &mut Vec<Operation>) -> Datum {
    let mut refs = Vec::new();
    for (i, e) in spec.encaps.iter().enumerate() {
        let name = format!("encap{i}");
        ops.push(Operation::Insert {
            table: "Encap".into(),
            row: row::build([
                ("type", Datum::string(e.encap_type.clone())),
                ("ip", Datum::string(e.ip.clone())),
                ("options", Datum::string_map(e.options.clone())),
                ("chassis_name", Datum::string(spec.name.clone())),
            ]),
            uuid_name: Some(name.clone()),
        });
        refs.push(Atom::NamedUuid(name));
    }
    Datum::set(refs)
}

/// Operations that create or update Chassis, Encap and Chassis_Private; empty
/// when the database already matches. Keys of `other_config` that this
/// controller does not manage are preserved.
pub fn sync_ops(sb: &Replica, spec: &ChassisSpec) -> Vec<Operation> {
    let mut ops = Vec::new();
    let chassis_ref = match find(sb, &spec.name) {
        None => {
            let encaps = encap_inserts(spec, &mut ops);
            ops.push(Operation::Insert {
                table: "Chassis".into(),
                row: row::build([
                    ("name", Datum::string(spec.name.clone())),
                    ("hostname", Datum::string(spec.hostname.clone())),
                    ("other_config", Datum::string_map(spec.other_config.clone())),
                    ("encaps", encaps),
                    (
                        "transport_zones",
                        row::string_set(spec.transport_zones.iter().cloned()),
                    ),
                ]),
                uuid_name: Some("chassis".into()),
            });
            Atom::NamedUuid("chassis".into())
        }
        Some((uuid, ch)) => {
            let mut upd = Row::new();
            if row::str(ch, "hostname") != spec.hostname {
                upd.insert("hostname".into(), Datum::string(spec.hostname.clone()));
            }
            let mut oc = row::smap(ch, "other_config");
            let before = oc.clone();
            oc.extend(spec.other_config.clone());
            if oc != before {
                upd.insert("other_config".into(), Datum::string_map(oc));
            }
            let tz: BTreeSet<String> = row::strings(ch, "transport_zones").into_iter().collect();
            if tz != spec.transport_zones {
                upd.insert(
                    "transport_zones".into(),
                    row::string_set(spec.transport_zones.iter().cloned()),
                );
            }
            if current_encaps(sb, ch) != spec.encaps || row::uuids(ch, "encaps").len() != spec.encaps.len() {
                let encaps = encap_inserts(spec, &mut ops);
                upd.insert("encaps".into(), encaps);
            }
            if !upd.is_empty() {
                ops.push(Operation::Update {
                    table: "Chassis".into(),
                    conditions: vec![Condition::uuid(uuid)],
                    row: upd,
                });
            }
            Atom::Uuid(uuid)
        }
    };
    match sb.find("Chassis_Private", "name", &spec.name) {
        None => ops.push(Operation::Insert {
            table: "Chassis_Private".into(),
            row: row::build([
                ("name", Datum::string(spec.name.clone())),
                ("chassis", Datum::atom(chassis_ref)),
            ]),
            uuid_name: None,
        }),
        Some((uuid, cp)) => {
            let current = row::uuid(cp, "chassis").map(Atom::Uuid);
            if current.as_ref() != Some(&chassis_ref) {
                ops.push(Operation::Update {
                    table: "Chassis_Private".into(),
                    conditions: vec![Condition::uuid(*uuid)],
                    row: row::build([("chassis", Datum::atom(chassis_ref))]),
                });
            }
        }
    }
    if !ops.is_empty() {
        ops.insert(
            0,
            Operation::Comment(format!("ovn-controller: registering chassis '{}'", spec.name)),
        );
    }
    ops
}

/// Operations recording that flows for `nb_cfg` are installed; `None` when
/// Chassis_Private already says so (or does not exist yet).
pub fn nb_cfg_ops(sb: &Replica, name: &str, nb_cfg: i64, now_ms: i64) -> Option<Vec<Operation>> {
    let (uuid, cp) = sb.find("Chassis_Private", "name", name)?;
    if row::int(cp, "nb_cfg") == Some(nb_cfg) {
        return None;
    }
    Some(vec![Operation::Update {
        table: "Chassis_Private".into(),
        conditions: vec![Condition::uuid(*uuid)],
        row: row::build([
            ("nb_cfg", Datum::integer(nb_cfg)),
            ("nb_cfg_timestamp", Datum::integer(now_ms)),
        ]),
    }])
}

/// Operations removing this chassis's rows (graceful exit); Encaps go with the
/// Chassis (they are not root rows).
pub fn delete_ops(name: &str) -> Vec<Operation> {
    ["Chassis_Private", "Chassis"]
        .into_iter()
        .map(|t| Operation::Delete {
            table: t.into(),
            conditions: vec![Condition::eq("name", Datum::string(name))],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ChassisConfig {
        ChassisConfig {
            system_id: "hv1".into(),
            hostname: "host1".into(),
            encap_types: vec!["geneve".into(), "vxlan".into()],
            encap_ips: vec!["10.0.0.1".into()],
            encap_csum: true,
            bridge: "br-int".into(),
            ..Default::default()
        }
    }

    #[test]
    fn registers_then_is_idempotent() {
        let s = spec(&cfg(), &LocalFacts::default());
        assert_eq!(s.encaps.len(), 2);
        for f in FEATURE_FLAGS {
            assert_eq!(s.other_config[f], "true");
        }
        let mut sb = Replica::default();
        let ops = sync_ops(&sb, &s);
        // comment, 2 encaps, chassis, chassis_private
        assert_eq!(ops.len(), 5);
        // Simulate the committed state.
        let (e1, e2, ch) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        for (u, e) in [e1, e2].iter().zip(&s.encaps) {
            sb.insert(
                "Encap",
                *u,
                row::build([
                    ("type", Datum::string(e.encap_type.clone())),
                    ("ip", Datum::string(e.ip.clone())),
                    ("options", Datum::string_map(e.options.clone())),
                ]),
            );
        }
        let mut oc = s.other_config.clone();
        oc.insert("extra".into(), "kept".into());
        sb.insert(
            "Chassis",
            ch,
            row::build([
                ("name", Datum::string("hv1")),
                ("hostname", Datum::string("host1")),
                ("other_config", Datum::string_map(oc)),
                ("encaps", Datum::set([Atom::Uuid(e1), Atom::Uuid(e2)])),
            ]),
        );
        sb.insert(
            "Chassis_Private",
            Uuid::new_v4(),
            row::build([("name", Datum::string("hv1")), ("chassis", Datum::uuid(ch))]),
        );
        assert!(sync_ops(&sb, &s).is_empty());
        // An encap change re-creates the encaps only.
        let mut c = cfg();
        c.encap_csum = false;
        let ops = sync_ops(&sb, &spec(&c, &LocalFacts::default()));
        assert_eq!(ops.len(), 4, "{ops:?}");
        assert_eq!(nb_cfg_ops(&sb, "hv1", 3, 1).map(|o| o.len()), Some(1));
        assert!(nb_cfg_ops(&sb, "hv2", 3, 1).is_none());
    }
}
