//! This chassis's own Southbound rows: `Chassis`, its `Encap`s and
//! `Chassis_Private` (ovn-controller's chassis.c). Pure: computes the desired
//! rows and the operations that bring the database there.

use std::collections::{BTreeMap, BTreeSet};

use ovn_db::sb::{self, ChassisPrivate};
use ovsdb::{Atom, Condition, Datum, Operation, Row, Uuid};

use crate::config::ChassisConfig;
use crate::db::Replica;

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
pub fn find<'a>(sb: &'a Replica, name: &str) -> Option<(Uuid, &'a sb::Chassis)> {
    sb.sb
        .chassis
        .iter()
        .find(|(_, c)| c.name == name)
        .map(|(u, c)| (*u, c))
}

/// The Chassis_Private row named `name`.
fn find_private<'a>(sb: &'a Replica, name: &str) -> Option<(Uuid, &'a ChassisPrivate)> {
    sb.sb
        .chassis_private
        .iter()
        .find(|(_, c)| c.name == name)
        .map(|(u, c)| (*u, c))
}

/// The encaps a Chassis row currently references.
pub fn current_encaps(sb: &Replica, chassis: &sb::Chassis) -> BTreeSet<EncapSpec> {
    chassis
        .encaps
        .iter()
        .filter_map(|u| sb.sb.encap.get(u))
        .map(|e| EncapSpec {
            encap_type: e.r#type.clone(),
            ip: e.ip.clone(),
            options: e.options.clone(),
        })
        .collect()
}

fn encap_inserts(spec: &ChassisSpec, ops: &mut Vec<Operation>) -> Datum {
    let mut refs = Vec::new();
    for (i, e) in spec.encaps.iter().enumerate() {
        let name = format!("encap{i}");
        let mut row = Row::new();
        sb::Encap::set_type(&mut row, &e.encap_type);
        sb::Encap::set_ip(&mut row, &e.ip);
        sb::Encap::set_options(&mut row, &e.options);
        sb::Encap::set_chassis_name(&mut row, &spec.name);
        ops.push(Operation::Insert {
            table: sb::Encap::TABLE.into(),
            row,
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
            let mut row = Row::new();
            sb::Chassis::set_name(&mut row, &spec.name);
            sb::Chassis::set_hostname(&mut row, &spec.hostname);
            sb::Chassis::set_other_config(&mut row, &spec.other_config);
            // Named UUIDs have no typed setter.
            row.insert(sb::Chassis::COL_ENCAPS.into(), encaps);
            sb::Chassis::set_transport_zones(&mut row, &spec.transport_zones.iter().cloned().collect());
            ops.push(Operation::Insert {
                table: sb::Chassis::TABLE.into(),
                row,
                uuid_name: Some("chassis".into()),
            });
            Atom::NamedUuid("chassis".into())
        }
        Some((uuid, ch)) => {
            let mut upd = Row::new();
            if ch.hostname != spec.hostname {
                sb::Chassis::set_hostname(&mut upd, &spec.hostname);
            }
            let mut oc = ch.other_config.clone();
            oc.extend(spec.other_config.clone());
            if oc != ch.other_config {
                sb::Chassis::set_other_config(&mut upd, &oc);
            }
            let tz: BTreeSet<String> = ch.transport_zones.iter().cloned().collect();
            if tz != spec.transport_zones {
                sb::Chassis::set_transport_zones(&mut upd, &spec.transport_zones.iter().cloned().collect());
            }
            if current_encaps(sb, ch) != spec.encaps || ch.encaps.len() != spec.encaps.len() {
                let encaps = encap_inserts(spec, &mut ops);
                upd.insert(sb::Chassis::COL_ENCAPS.into(), encaps);
            }
            if !upd.is_empty() {
                ops.push(Operation::Update {
                    table: sb::Chassis::TABLE.into(),
                    conditions: vec![Condition::uuid(uuid)],
                    row: upd,
                });
            }
            Atom::Uuid(uuid)
        }
    };
    // `chassis_ref` may be a named UUID, which has no typed setter.
    let chassis_col = |mut row: Row| {
        row.insert(
            ChassisPrivate::COL_CHASSIS.into(),
            Datum::atom(chassis_ref.clone()),
        );
        row
    };
    match find_private(sb, &spec.name) {
        None => {
            let mut row = Row::new();
            ChassisPrivate::set_name(&mut row, &spec.name);
            ops.push(Operation::Insert {
                table: ChassisPrivate::TABLE.into(),
                row: chassis_col(row),
                uuid_name: None,
            })
        }
        Some((uuid, cp)) => {
            let current = cp.chassis.map(Atom::Uuid);
            if current.as_ref() != Some(&chassis_ref) {
                ops.push(Operation::Update {
                    table: ChassisPrivate::TABLE.into(),
                    conditions: vec![Condition::uuid(uuid)],
                    row: chassis_col(Row::new()),
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
    let (uuid, cp) = find_private(sb, name)?;
    if cp.nb_cfg == nb_cfg {
        return None;
    }
    let mut row = Row::new();
    ChassisPrivate::set_nb_cfg(&mut row, &nb_cfg);
    ChassisPrivate::set_nb_cfg_timestamp(&mut row, &now_ms);
    Some(vec![Operation::Update {
        table: ChassisPrivate::TABLE.into(),
        conditions: vec![Condition::uuid(uuid)],
        row,
    }])
}

/// Operations removing this chassis's rows (graceful exit); Encaps go with the
/// Chassis (they are not root rows).
pub fn delete_ops(name: &str) -> Vec<Operation> {
    [
        (ChassisPrivate::TABLE, ChassisPrivate::COL_NAME),
        (sb::Chassis::TABLE, sb::Chassis::COL_NAME),
    ]
    .into_iter()
    .map(|(table, col)| Operation::Delete {
        table: table.into(),
        conditions: vec![Condition::eq(col, Datum::string(name))],
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
            sb.sb.insert(sb::Encap {
                uuid: *u,
                r#type: e.encap_type.clone(),
                ip: e.ip.clone(),
                options: e.options.clone(),
                ..Default::default()
            });
        }
        let mut oc = s.other_config.clone();
        oc.insert("extra".into(), "kept".into());
        sb.sb.insert(sb::Chassis {
            uuid: ch,
            name: "hv1".into(),
            hostname: "host1".into(),
            other_config: oc,
            encaps: vec![e1, e2],
            ..Default::default()
        });
        sb.sb.insert(ChassisPrivate {
            name: "hv1".into(),
            chassis: Some(ch),
            ..Default::default()
        });
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
