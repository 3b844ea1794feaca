//! The translation input kept up to date from the NB replica's change tracking:
//! only changed rows are converted, and the changed row UUIDs become the engine's
//! [`NbChanges`]. Pure: replica changes in, model and change set out.

use std::collections::BTreeMap;

use northd_core::{NbChanges, Northbound};
use ovn_db::nb;
use ovsdb::idl::{Changes, RowChange};

use crate::sb_sync::Tables;
use crate::snapshot;

/// A row change only in columns the model does not read and northd itself writes
/// (`Logical_Switch_Port.up`, all 20 k of them echoed after a large cold start):
/// nothing to convert.
fn unread_only(table: &str, c: &RowChange) -> bool {
    table == nb::LogicalSwitchPort::TABLE
        && matches!(c, RowChange::Modified { .. })
        && c.changed_columns()
            .iter()
            .all(|k| *k == nb::LogicalSwitchPort::COL_UP)
}

/// Applies `changes` (rows inserted, modified or deleted in the NB replica) to
/// `model` and returns which model rows changed.
pub fn apply(model: &mut Northbound, changes: &Changes) -> NbChanges {
    // Convert only the rows as they are now, with the usual snapshot code.
    let mut now = Tables::new();
    for (table, rows) in &changes.tables {
        let t: &mut BTreeMap<_, _> = now.entry(table.clone()).or_default();
        for (u, c) in rows {
            if unread_only(table, c) {
                continue;
            }
            if let Some(r) = c.new_row() {
                t.insert(*u, r.clone());
            }
        }
    }
    let fresh = snapshot::northbound(&now);
    let mut out = NbChanges::default();
    if changes.table(nb::NbGlobal::TABLE).next().is_some() {
        // NB_Global has one row; a deleted one reads as the default.
        model.nb_global = fresh.nb_global.clone();
    }
    macro_rules! table {
        ($table:expr, $field:ident, $set:expr) => {
            for (u, c) in changes.table($table) {
                if unread_only($table, c) {
                    continue;
                }
                let k = u.to_string();
                let new = fresh.$field.get(&k);
                // Columns the model does not read (e.g. `up`, written by northd
                // itself) change nothing.
                if model.$field.get(&k) == new {
                    continue;
                }
                match new {
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
    table!(nb::LogicalSwitch::TABLE, switches, |o: &mut NbChanges, k| {
        o.switches.insert(k);
    });
    table!(
        nb::LogicalSwitchPort::TABLE,
        switch_ports,
        |o: &mut NbChanges, k| {
            o.switch_ports.insert(k);
        }
    );
    table!(nb::LogicalRouter::TABLE, routers, |o: &mut NbChanges, k| {
        o.routers.insert(k);
    });
    table!(
        nb::LogicalRouterPort::TABLE,
        router_ports,
        |o: &mut NbChanges, k| {
            o.router_ports.insert(k);
        }
    );
    table!(
        nb::LogicalRouterStaticRoute::TABLE,
        static_routes,
        |o: &mut NbChanges, k| {
            o.static_routes.insert(k);
        }
    );
    table!(
        nb::LogicalRouterPolicy::TABLE,
        router_policies,
        |o: &mut NbChanges, k| {
            o.router_policies.insert(k);
        }
    );
    table!(
        nb::LoadBalancerGroup::TABLE,
        load_balancer_groups,
        |o: &mut NbChanges, k| {
            o.load_balancer_groups.insert(k);
        }
    );
    table!(nb::LoadBalancer::TABLE, load_balancers, |o: &mut NbChanges, k| {
        o.load_balancers.insert(k);
    });
    table!(nb::AddressSet::TABLE, address_sets, |o: &mut NbChanges, _k| {
        o.named_sets = true;
    });
    table!(nb::PortGroup::TABLE, port_groups, |o: &mut NbChanges, k| {
        o.named_sets = true;
        o.port_groups.insert(k);
    });
    table!(nb::DhcpOptions::TABLE, dhcp_options, |o: &mut NbChanges, k| {
        o.dhcp_options.insert(k);
    });
    table!(nb::Nat::TABLE, nats, |o: &mut NbChanges, k| {
        o.nats.insert(k);
    });
    table!(nb::Qos::TABLE, qos, |o: &mut NbChanges, k| {
        o.qos.insert(k);
    });
    table!(nb::Acl::TABLE, acls, |o: &mut NbChanges, k| {
        o.acls.insert(k);
    });
    table!(
        nb::GatewayChassis::TABLE,
        gateway_chassis,
        |o: &mut NbChanges, _k| {
            o.gateway_chassis = true;
        }
    );
    table!(
        nb::HaChassisGroup::TABLE,
        ha_chassis_groups,
        |o: &mut NbChanges, _k| {
            o.gateway_chassis = true;
        }
    );
    table!(nb::HaChassis::TABLE, ha_chassis, |o: &mut NbChanges, _k| {
        o.gateway_chassis = true;
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::{Row, Uuid};

    fn ls(name: &str) -> Row {
        let mut r = Row::new();
        nb::LogicalSwitch::set_name(&mut r, &name.to_string());
        r
    }

    #[test]
    fn applies_inserts_updates_and_deletes() {
        let u = Uuid::new_v4();
        let mut full = Tables::new();
        full.entry(nb::LogicalSwitch::TABLE.into())
            .or_default()
            .insert(u, ls("a"));
        let mut model = snapshot::northbound(&full);
        let mut ch = Changes::default();
        ch.tables
            .entry(nb::LogicalSwitch::TABLE.into())
            .or_default()
            .insert(
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
            .get_mut(nb::LogicalSwitch::TABLE)
            .unwrap()
            .insert(u, RowChange::Deleted { old: ls("b") });
        apply(&mut model, &ch);
        assert!(model.switches.is_empty());
    }

    #[test]
    fn a_port_whose_up_alone_changed_is_no_change() {
        let u = Uuid::new_v4();
        let lsp = |up: Option<bool>| {
            let mut r = Row::new();
            nb::LogicalSwitchPort::set_name(&mut r, &"p".to_string());
            nb::LogicalSwitchPort::set_up(&mut r, &up);
            r
        };
        let mut full = Tables::new();
        full.entry(nb::LogicalSwitchPort::TABLE.into())
            .or_default()
            .insert(u, lsp(None));
        let mut model = snapshot::northbound(&full);
        let before = model.clone();
        let mut ch = Changes::default();
        ch.tables
            .entry(nb::LogicalSwitchPort::TABLE.into())
            .or_default()
            .insert(
                u,
                RowChange::Modified {
                    old: lsp(None),
                    new: lsp(Some(false)),
                },
            );
        assert!(apply(&mut model, &ch).is_empty());
        assert_eq!(model, before);
    }
}
