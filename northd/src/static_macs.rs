//! SB `Static_MAC_Binding`: NB's static neighbours of router ports, with the router's
//! datapath, for the chassis to resolve next hops without ARP/ND. Pure: NB and SB rows
//! in, the operations that make SB match out.
//!
//! A router whose datapath the same transaction creates is referred to by that insert's
//! `uuid-name`, so a binding made together with its router is in SB as soon as the router.
//! A binding whose port is not a router port has no SB row; ovn-northd 23.03 leaves such
//! a row in SB if it had one, rovn-northd removes it, so SB never names a port that
//! cannot use it.

use std::collections::{BTreeMap, HashMap};

use northd_core::Northbound;
use ovn_db::{nb, sb};
use ovsdb::{Atom, Condition, Datum, Operation, Row, Uuid};

use crate::sb_sync::Tables;

/// What one SB row holds, keyed by (logical_port, ip).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Want {
    mac: String,
    override_dynamic_mac: bool,
    datapath: DpRef,
}

/// A router's SB datapath: an existing row, or one `pending` inserts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DpRef {
    Row(Uuid),
    Named(String),
}

impl DpRef {
    fn datum(&self) -> Datum {
        match self {
            DpRef::Row(u) => Datum::uuid(*u),
            DpRef::Named(n) => Datum::atom(Atom::NamedUuid(n.clone())),
        }
    }
}

/// NB router UUID of a Datapath_Binding row, from `external_ids:logical-router`.
fn router_of(r: &Row) -> Option<&str> {
    r.get(sb::DatapathBinding::COL_EXTERNAL_IDS)?
        .map_get("logical-router")?
        .as_str()
}

fn str_col(r: &Row, c: &str) -> String {
    r.get(c).and_then(Datum::as_str).unwrap_or_default().to_string()
}

/// The operations that make SB `Static_MAC_Binding` match NB's, to run after `pending`
/// (the rest of the same transaction).
pub fn ops(
    model: &Northbound,
    nb_tables: &Tables,
    sb_tables: &Tables,
    pending: &[Operation],
) -> Vec<Operation> {
    type N = nb::StaticMacBinding;
    type S = sb::StaticMacBinding;
    let empty = BTreeMap::new();
    let nb_rows = nb_tables.get(N::TABLE).unwrap_or(&empty);
    let sb_rows = sb_tables.get(S::TABLE).unwrap_or(&empty);
    if nb_rows.is_empty() && sb_rows.is_empty() {
        return Vec::new();
    }
    // Router → its SB datapath, existing or inserted by `pending`.
    let mut router_dp: HashMap<&str, DpRef> = sb_tables
        .get(sb::DatapathBinding::TABLE)
        .into_iter()
        .flatten()
        .filter_map(|(u, r)| Some((router_of(r)?, DpRef::Row(*u))))
        .collect();
    for op in pending {
        if let Operation::Insert {
            table,
            row,
            uuid_name: Some(name),
        } = op
            && table == sb::DatapathBinding::TABLE
            && let Some(lr) = router_of(row)
        {
            router_dp.insert(lr, DpRef::Named(name.clone()));
        }
    }
    let mut port_dp: HashMap<&str, &DpRef> = HashMap::new();
    for (lr_uuid, lr) in &model.routers {
        let Some(dp) = router_dp.get(lr_uuid.as_str()) else {
            continue;
        };
        for p in lr.ports.iter().filter_map(|p| model.router_ports.get(p)) {
            port_dp.insert(&p.name, dp);
        }
    }
    let mut want: BTreeMap<(String, String), Want> = BTreeMap::new();
    for r in nb_rows.values() {
        let port = str_col(r, N::COL_LOGICAL_PORT);
        let Some(dp) = port_dp.get(port.as_str()) else {
            continue;
        };
        let w = Want {
            mac: str_col(r, N::COL_MAC),
            override_dynamic_mac: r
                .get(N::COL_OVERRIDE_DYNAMIC_MAC)
                .and_then(Datum::as_bool)
                .unwrap_or(false),
            datapath: (*dp).clone(),
        };
        want.insert((port, str_col(r, N::COL_IP)), w);
    }
    let mut out = Vec::new();
    for (u, r) in sb_rows {
        let key = (str_col(r, S::COL_LOGICAL_PORT), str_col(r, S::COL_IP));
        let have = Want {
            mac: str_col(r, S::COL_MAC),
            override_dynamic_mac: r
                .get(S::COL_OVERRIDE_DYNAMIC_MAC)
                .and_then(Datum::as_bool)
                .unwrap_or(false),
            datapath: DpRef::Row(
                r.get(S::COL_DATAPATH)
                    .and_then(Datum::as_uuid)
                    .unwrap_or_default(),
            ),
        };
        match want.remove(&key) {
            Some(w) if w == have => {}
            Some(w) => out.push(Operation::Update {
                table: S::TABLE.into(),
                conditions: vec![Condition::uuid(*u)],
                row: row(&w, None),
            }),
            None => out.push(Operation::Delete {
                table: S::TABLE.into(),
                conditions: vec![Condition::uuid(*u)],
            }),
        }
    }
    for ((port, ip), w) in want {
        out.push(Operation::Insert {
            table: S::TABLE.into(),
            row: row(&w, Some((&port, &ip))),
            uuid_name: None,
        });
    }
    out
}

fn row(w: &Want, key: Option<(&str, &str)>) -> Row {
    type S = sb::StaticMacBinding;
    let mut r = Row::new();
    if let Some((port, ip)) = key {
        r.insert(S::COL_LOGICAL_PORT.into(), Datum::string(port));
        r.insert(S::COL_IP.into(), Datum::string(ip));
    }
    r.insert(S::COL_MAC.into(), Datum::string(&w.mac));
    r.insert(
        S::COL_OVERRIDE_DYNAMIC_MAC.into(),
        Datum::boolean(w.override_dynamic_mac),
    );
    r.insert(S::COL_DATAPATH.into(), w.datapath.datum());
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use northd_core::{LogicalRouter, LogicalRouterPort};

    fn model() -> Northbound {
        let mut m = Northbound::default();
        m.router_ports.insert(
            "p1".into(),
            LogicalRouterPort {
                name: "lrp1".into(),
                ..Default::default()
            },
        );
        m.routers.insert(
            "r1".into(),
            LogicalRouter {
                name: "lr1".into(),
                ports: vec!["p1".into()],
                ..Default::default()
            },
        );
        m
    }

    fn row(cols: &[(&str, Datum)]) -> Row {
        let mut r = Row::new();
        for (k, v) in cols {
            r.insert((*k).into(), v.clone());
        }
        r
    }

    fn tables(rows: &[(&str, Uuid, Row)]) -> Tables {
        let mut t = Tables::new();
        for (table, u, r) in rows {
            t.entry((*table).to_string()).or_default().insert(*u, r.clone());
        }
        t
    }

    fn nb_binding(port: &str, mac: &str) -> (&'static str, Uuid, Row) {
        let r = row(&[
            ("logical_port", Datum::string(port)),
            ("ip", Datum::string("10.0.0.9")),
            ("mac", Datum::string(mac)),
            ("override_dynamic_mac", Datum::boolean(true)),
        ]);
        ("Static_MAC_Binding", Uuid::new_v4(), r)
    }

    #[test]
    fn follows_nb_for_router_ports_only() {
        let m = model();
        let dp = Uuid::new_v4();
        let dp_row = (
            "Datapath_Binding",
            dp,
            row(&[("external_ids", Datum::string_map([("logical-router", "r1")]))]),
        );
        let nb1 = tables(&[
            nb_binding("lrp1", "02:00:00:00:00:09"),
            nb_binding("nonesuch", "02:00:00:00:00:01"),
        ]);
        let sb0 = tables(std::slice::from_ref(&dp_row));
        let ops = ops(&m, &nb1, &sb0, &[]);
        assert_eq!(ops.len(), 1, "{ops:?}");
        let Operation::Insert { row: r, .. } = &ops[0] else {
            panic!("{ops:?}")
        };
        assert_eq!(r.get("logical_port").and_then(Datum::as_str), Some("lrp1"));
        assert_eq!(r.get("datapath").and_then(Datum::as_uuid), Some(dp));
        assert_eq!(r.get("override_dynamic_mac").and_then(Datum::as_bool), Some(true));

        // Once SB has it: nothing to do; a new MAC in NB updates it; gone from NB, deleted.
        let mut sb_row = r.clone();
        sb_row.insert("ip".into(), Datum::string("10.0.0.9"));
        let sb1 = tables(&[dp_row.clone(), ("Static_MAC_Binding", Uuid::new_v4(), sb_row)]);
        assert!(super::ops(&m, &nb1, &sb1, &[]).is_empty());
        let nb2 = tables(&[nb_binding("lrp1", "02:00:00:00:00:0a")]);
        let up = super::ops(&m, &nb2, &sb1, &[]);
        assert!(
            matches!(&up[..], [Operation::Update { row, .. }]
                if row.get("mac").and_then(Datum::as_str) == Some("02:00:00:00:00:0a")),
            "{up:?}"
        );
        let del = super::ops(&m, &Tables::new(), &sb1, &[]);
        assert!(matches!(&del[..], [Operation::Delete { .. }]), "{del:?}");
    }

    #[test]
    fn a_router_created_in_the_same_transaction_is_referred_to_by_name() {
        let m = model();
        let nb = tables(&[nb_binding("lrp1", "02:00:00:00:00:09")]);
        let insert = Operation::Insert {
            table: "Datapath_Binding".into(),
            row: row(&[("external_ids", Datum::string_map([("logical-router", "r1")]))]),
            uuid_name: Some("dp7".into()),
        };
        let ops = ops(&m, &nb, &Tables::new(), &[insert]);
        let [Operation::Insert { row: r, .. }] = &ops[..] else {
            panic!("{ops:?}")
        };
        assert_eq!(
            r.get("datapath"),
            Some(&Datum::atom(Atom::NamedUuid("dp7".into())))
        );
    }
}
