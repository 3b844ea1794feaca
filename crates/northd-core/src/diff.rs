//! Difference between two desired SB states: what the daemon must insert, update and
//! delete. Rows are matched by their natural keys (datapath NB UUID, `logical_port`,
//! (datapath, group name), flow identity, ...), so the result does not depend on SB row
//! UUIDs.
//!
//! When applying, insert datapaths before the rows that reference them and delete
//! referencing rows before datapaths (Port_Binding/Multicast_Group/Logical_Flow point
//! at Datapath_Binding).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Map;
use crate::model::nb::Uuid;
use crate::model::sb::{
    DatapathBinding, LogicalFlow, MulticastGroup, PortBinding, SbHaChassisGroup, SbLoadBalancer, Southbound,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDiff<K, V> {
    pub insert: Vec<(K, V)>,
    /// New value of rows whose key exists on both sides but whose content changed.
    pub update: Vec<(K, V)>,
    pub delete: Vec<K>,
}

impl<K, V> Default for TableDiff<K, V> {
    fn default() -> Self {
        TableDiff {
            insert: Vec::new(),
            update: Vec::new(),
            delete: Vec::new(),
        }
    }
}

impl<K, V> TableDiff<K, V> {
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetDiff<T> {
    pub insert: Vec<T>,
    pub delete: Vec<T>,
}

impl<T> Default for SetDiff<T> {
    fn default() -> Self {
        SetDiff {
            insert: Vec::new(),
            delete: Vec::new(),
        }
    }
}

impl<T> SetDiff<T> {
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty() && self.delete.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SbDiff {
    /// New SB_Global (nb_cfg, options, ipsec) if any of them changed.
    pub sb_global: Option<(i64, Map, bool)>,
    pub datapaths: TableDiff<Uuid, DatapathBinding>,
    pub port_bindings: TableDiff<String, PortBinding>,
    pub multicast_groups: TableDiff<(Uuid, String), MulticastGroup>,
    pub logical_flows: SetDiff<LogicalFlow>,
    pub load_balancers: TableDiff<Uuid, SbLoadBalancer>,
    pub address_sets: TableDiff<String, Vec<String>>,
    pub port_groups: TableDiff<String, Vec<String>>,
    pub ha_chassis_groups: TableDiff<String, SbHaChassisGroup>,
}

impl SbDiff {
    pub fn is_empty(&self) -> bool {
        self.sb_global.is_none()
            && self.datapaths.is_empty()
            && self.port_bindings.is_empty()
            && self.multicast_groups.is_empty()
            && self.logical_flows.is_empty()
            && self.load_balancers.is_empty()
            && self.address_sets.is_empty()
            && self.port_groups.is_empty()
            && self.ha_chassis_groups.is_empty()
    }
}

fn table<K: Ord + Clone, V: PartialEq + Clone>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
) -> TableDiff<K, V> {
    let mut d = TableDiff::default();
    for (k, v) in new {
        match old.get(k) {
            None => d.insert.push((k.clone(), v.clone())),
            Some(o) if o != v => d.update.push((k.clone(), v.clone())),
            Some(_) => {}
        }
    }
    d.delete = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    d
}

fn set<T: Ord + Clone>(old: &BTreeSet<T>, new: &BTreeSet<T>) -> SetDiff<T> {
    SetDiff {
        insert: new.difference(old).cloned().collect(),
        delete: old.difference(new).cloned().collect(),
    }
}

/// What turns `old` into `new`.
pub fn diff(old: &Southbound, new: &Southbound) -> SbDiff {
    let global_changed = old.nb_cfg != new.nb_cfg || old.options != new.options || old.ipsec != new.ipsec;
    SbDiff {
        sb_global: global_changed.then(|| (new.nb_cfg, new.options.clone(), new.ipsec)),
        datapaths: table(&old.datapaths, &new.datapaths),
        port_bindings: table(&old.port_bindings, &new.port_bindings),
        multicast_groups: table(&old.multicast_groups, &new.multicast_groups),
        logical_flows: set(&old.logical_flows, &new.logical_flows),
        load_balancers: table(&old.load_balancers, &new.load_balancers),
        address_sets: table(&old.address_sets, &new.address_sets),
        port_groups: table(&old.port_groups, &new.port_groups),
        ha_chassis_groups: table(&old.ha_chassis_groups, &new.ha_chassis_groups),
    }
}
