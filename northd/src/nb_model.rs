//! The translation input kept up to date from the NB replica's change tracking:
//! only changed rows are converted, and the changed row UUIDs become the engine's
//! [`NbChanges`]. Pure: replica changes in, model and change set out.

use std::collections::BTreeMap;

use northd_core::{NbChanges, Northbound};
use ovsdb::idl::Changes;

use crate::sb_sync::Tables;
use crate::snapshot;

/// Applies `changes` (rows inserted, modified or deleted in the NB replica) to
/// `model` and returns which model rows changed.
pub fn apply(model: &mut Northbound, changes: &Changes) -> NbChanges {
    // Convert only the rows as they are now, with the usual snapshot code.
    let mut now = Tables::new();
    for (table, rows) in &changes.tables {
        let t: &mut BTreeMap<_, _> = now.entry(table.clone()).or_default();
        for (u, c) in rows {
            if let Some(r) = c.new_row() {
                t.insert(*u, r.clone());
            }
        }
    }
    let fresh = snapshot::northbound(&now);
    let mut out = NbChanges::default();
    if changes.table("NB_Global").next().is_some() {
        model.nb_global = fresh.nb_global.clone();
    }
    macro_rules! table {
        ($name:literal, $field:ident, $set:expr) => {
            for (u, _) in changes.table($name) {
                let k = u.to_string();
                match fresh.$field.get(&k) {
                    Some(v) => {
                        model.$field.insert(k.clone(), v.clone());
                    }
                    None => {
                        model.$field.remove(&k);
                    }
                }
                #[allow(clippy::redundant_closure_call)]
                ($set)(&mut out, k);
            }
        };
    }
    table!("Logical_Switch", switches, |o: &mut NbChanges, k| {
        o.switches.insert(k);
    });
    table!("Logical_Switch_Port", switch_ports, |o: &mut NbChanges, k| {
        o.switch_ports.insert(k);
    });
    table!("Logical_Router", routers, |o: &mut NbChanges, k| {
        o.routers.insert(k);
    });
    table!("Logical_Router_Port", router_ports, |o: &mut NbChanges, k| {
        o.router_ports.insert(k);
    });
    table!(
        "Logical_Router_Static_Route",
        static_routes,
        |o: &mut NbChanges, k| {
            o.static_routes.insert(k);
        }
    );
    table!("Load_Balancer", load_balancers, |o: &mut NbChanges, k| {
        o.load_balancers.insert(k);
    });
    table!("Address_Set", address_sets, |o: &mut NbChanges, _k| {
        o.named_sets = true;
    });
    table!("Port_Group", port_groups, |o: &mut NbChanges, _k| {
        o.named_sets = true;
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::idl::RowChange;
    use ovsdb::{Datum, Row, Uuid};

    fn ls(name: &str) -> Row {
        [("name".to_string(), Datum::string(name))].into()
    }

    #[test]
    fn applies_inserts_updates_and_deletes() {
        let u = Uuid::new_v4();
        let mut full = Tables::new();
        full.entry("Logical_Switch".into())
            .or_default()
            .insert(u, ls("a"));
        let mut model = snapshot::northbound(&full);
        let mut ch = Changes::default();
        ch.tables.entry("Logical_Switch".into()).or_default().insert(
            u,
            RowChange::Modified {
                old: ls("a"),
                new: ls("b"),
            },
        );
        let d = apply(&mut model, &ch);
        assert_eq!(model.switches[&u.to_string()].name, "b");
        assert!(d.switches.contains(&u.to_string()));
        ch.tables
            .get_mut("Logical_Switch")
            .unwrap()
            .insert(u, RowChange::Deleted { old: ls("b") });
        apply(&mut model, &ch);
        assert!(model.switches.is_empty());
    }
}
