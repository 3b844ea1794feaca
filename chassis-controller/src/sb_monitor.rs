//! Which Southbound rows this chassis replicates. Unless `ovn-monitor-all=true`,
//! the per-datapath tables are monitored only for the chassis's local
//! datapaths, as ovn-controller does by default: a chassis with ports on a few
//! switches does not hold every other switch's logical flows.
//!
//! The conditions are a pure function of what the main loop already knows (its
//! chassis, its VIFs' `iface-id`s, its local datapaths); they grow in rounds
//! (a claimed port makes its datapath local, whose rows then arrive), and the
//! main loop submits no flows while a round is under way.

use std::collections::BTreeSet;

use ovn_db::sb::{LogicalFlow, MacBinding, MulticastGroup, PortBinding, StaticMacBinding};
use ovsdb::monitor::Clause;
use ovsdb::{Condition, Datum, Uuid};

/// One table's condition; `None`: every row.
pub type TableCondition = (&'static str, Option<Vec<Clause>>);

/// The tables whose conditions this module decides; every other monitored
/// table is replicated whole (chassis, encaps, datapaths, datapath groups,
/// HA groups, load balancers, address sets and port groups: small, or needed
/// before anything is known to be local).
pub const CONDITIONED: [&str; 5] = [
    PortBinding::TABLE,
    LogicalFlow::TABLE,
    MacBinding::TABLE,
    StaticMacBinding::TABLE,
    MulticastGroup::TABLE,
];

/// What the conditions depend on.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// This chassis (name, `Chassis` row), once registered.
    pub chassis: Option<(&'a str, Uuid)>,
    /// The `iface-id`s of the VIFs on the integration bridge whose bindings
    /// are not on a local datapath (those come with their datapath).
    pub ifaces: &'a BTreeSet<String>,
    pub datapaths: &'a BTreeSet<Uuid>,
}

/// The condition of each of [`CONDITIONED`], in that order.
pub fn conditions(monitor_all: bool, local: Local<'_>) -> Vec<TableCondition> {
    if monitor_all {
        return CONDITIONED.iter().map(|t| (*t, None)).collect();
    }
    let dp_is = |column: &str| -> Vec<Clause> {
        local
            .datapaths
            .iter()
            .map(|dp| Condition::eq(column, Datum::uuid(*dp)).into())
            .collect()
    };

    // Patch ports are always here: they tell which datapaths a local one
    // reaches, so the whole set is known one round after the first port.
    let mut pb: Vec<Clause> = ["patch", "chassisredirect", "external"]
        .iter()
        .map(|t| Condition::eq(PortBinding::COL_TYPE, Datum::string(*t)).into())
        .collect();
    if let Some((name, uuid)) = local.chassis {
        // Ports bound here (to release them when they should not be), ports
        // asked to come here, and gateway ports pinned here (their datapaths
        // may have no VIF here).
        pb.push(Condition::eq(PortBinding::COL_CHASSIS, Datum::uuid(uuid)).into());
        pb.push(Condition::eq(PortBinding::COL_REQUESTED_CHASSIS, Datum::uuid(uuid)).into());
        // A migration's second chassis: without these a port whose VIF left
        // could keep this chassis in `additional_chassis` (ovn-controller
        // 23.03 has no such clauses).
        for col in [
            PortBinding::COL_ADDITIONAL_CHASSIS,
            PortBinding::COL_REQUESTED_ADDITIONAL_CHASSIS,
        ] {
            pb.push(Condition::new(col, "includes", Datum::uuid(uuid)).into());
        }
        for key in ["l2gateway-chassis", "l3gateway-chassis"] {
            let pinned = Datum::string_map([(key, name)]);
            pb.push(Condition::new(PortBinding::COL_OPTIONS, "includes", pinned).into());
        }
    }
    for iface in local.ifaces {
        pb.push(Condition::eq(PortBinding::COL_LOGICAL_PORT, Datum::string(iface.as_str())).into());
        pb.push(Condition::eq(PortBinding::COL_PARENT_PORT, Datum::string(iface.as_str())).into());
    }
    pb.extend(dp_is(PortBinding::COL_DATAPATH));

    // Flows shared through a datapath group are all taken, as ovn-controller
    // does: ovn-northd replaces a group (new UUID) when its datapaths change,
    // and a condition naming groups would drop their flows for a round trip.
    let mut lf = dp_is(LogicalFlow::COL_LOGICAL_DATAPATH);
    lf.push(Condition::new(LogicalFlow::COL_LOGICAL_DP_GROUP, "!=", Datum::empty_set()).into());

    vec![
        (PortBinding::TABLE, Some(pb)),
        (LogicalFlow::TABLE, Some(lf)),
        (
            MacBinding::TABLE,
            Some(or_nothing(dp_is(MacBinding::COL_DATAPATH))),
        ),
        (
            StaticMacBinding::TABLE,
            Some(or_nothing(dp_is(StaticMacBinding::COL_DATAPATH))),
        ),
        (
            MulticastGroup::TABLE,
            Some(or_nothing(dp_is(MulticastGroup::COL_DATAPATH))),
        ),
    ]
}

/// No clause would mean every row to the server.
fn or_nothing(clauses: Vec<Clause>) -> Vec<Clause> {
    if clauses.is_empty() {
        vec![Clause::False]
    } else {
        clauses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn u(i: u8) -> Uuid {
        Uuid::from_bytes([i; 16])
    }

    fn json_of(c: &[TableCondition], table: &str) -> Value {
        let (_, cond) = c.iter().find(|(t, _)| *t == table).expect("table conditioned");
        match cond {
            None => Value::Null,
            Some(clauses) => Value::Array(clauses.iter().map(Clause::to_json).collect()),
        }
    }

    fn uuid_json(i: u8) -> Value {
        json!(["uuid", u(i).to_string()])
    }

    #[test]
    fn monitor_all_takes_every_row() {
        let none = BTreeSet::new();
        let dps = BTreeSet::from([u(1)]);
        let local = Local {
            chassis: Some(("hv1", u(9))),
            ifaces: &none,
            datapaths: &dps,
        };
        let c = conditions(true, local);
        assert_eq!(c.iter().map(|(t, _)| *t).collect::<Vec<_>>(), CONDITIONED);
        assert!(c.iter().all(|(_, cond)| cond.is_none()));
    }

    /// Before anything is local: the links between datapaths and the shared
    /// flows, nothing of any datapath. `[false]`, not `[]`: an empty list
    /// selects every row.
    #[test]
    fn a_new_chassis_takes_links_and_shared_flows_only() {
        let c = conditions(
            false,
            Local {
                chassis: None,
                ifaces: &BTreeSet::new(),
                datapaths: &BTreeSet::new(),
            },
        );
        assert_eq!(
            json_of(&c, PortBinding::TABLE),
            json!([
                ["type", "==", "patch"],
                ["type", "==", "chassisredirect"],
                ["type", "==", "external"]
            ])
        );
        assert_eq!(
            json_of(&c, LogicalFlow::TABLE),
            json!([["logical_dp_group", "!=", ["set", []]]])
        );
        for t in [MacBinding::TABLE, StaticMacBinding::TABLE, MulticastGroup::TABLE] {
            assert_eq!(json_of(&c, t), json!([false]), "{t}");
        }
    }

    #[test]
    fn local_ports_and_datapaths_are_taken() {
        let ifaces = BTreeSet::from(["vm1".to_string()]);
        let dps = BTreeSet::from([u(1), u(2)]);
        let c = conditions(
            false,
            Local {
                chassis: Some(("hv1", u(9))),
                ifaces: &ifaces,
                datapaths: &dps,
            },
        );
        let pb = json_of(&c, PortBinding::TABLE);
        let pb = pb.as_array().unwrap();
        for clause in [
            json!(["chassis", "==", uuid_json(9)]),
            json!(["requested_chassis", "==", uuid_json(9)]),
            json!(["additional_chassis", "includes", uuid_json(9)]),
            json!(["requested_additional_chassis", "includes", uuid_json(9)]),
            json!(["options", "includes", ["map", [["l3gateway-chassis", "hv1"]]]]),
            json!(["options", "includes", ["map", [["l2gateway-chassis", "hv1"]]]]),
            json!(["logical_port", "==", "vm1"]),
            json!(["parent_port", "==", "vm1"]),
            json!(["datapath", "==", uuid_json(1)]),
            json!(["datapath", "==", uuid_json(2)]),
        ] {
            assert!(pb.contains(&clause), "{clause} in {pb:?}");
        }
        assert_eq!(
            json_of(&c, LogicalFlow::TABLE),
            json!([
                ["logical_datapath", "==", uuid_json(1)],
                ["logical_datapath", "==", uuid_json(2)],
                ["logical_dp_group", "!=", ["set", []]]
            ])
        );
        assert_eq!(
            json_of(&c, MulticastGroup::TABLE),
            json!([["datapath", "==", uuid_json(1)], ["datapath", "==", uuid_json(2)]])
        );
    }
}
