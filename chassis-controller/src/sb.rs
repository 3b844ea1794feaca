//! The Southbound tables the controller monitors, held as the typed structs
//! `ovn-db` generates from `schemas/ovn-sb.ovsschema`, so that no code indexes
//! Southbound rows by column name.
//!
//! Rows are converted once, when they change ([`SbTables::apply`], called by
//! `db::DbConn::refresh` for the changed rows only). Conversion is lenient, as
//! `row.rs` reads untyped rows: a column with an unexpected type (a newer or
//! broken server) reads as its type's default (`""`, empty, `None`, 0, nil)
//! and is logged; the rest of the row is kept.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ovn_db::sb;
use ovsdb::typed::{Table, TypedError};
use ovsdb::{Atom, Datum, Row, Uuid};

/// `from_row`, but a column that does not fit its type is dropped (read as its
/// default) with a warning instead of failing the whole row.
pub fn lenient<T: Table + Default>(row: &Row) -> T {
    let mut err = match T::from_row(row) {
        Ok(t) => return t,
        Err(e) => e,
    };
    let mut row = row.clone();
    loop {
        tracing::warn!("{err}: read as empty");
        if row.remove(&err.column).is_none() {
            // Cannot happen (only present columns fail); never loop.
            return T::default();
        }
        match T::from_row(&row) {
            Ok(t) => return t,
            Err(e) => err = e,
        }
    }
}

/// A reference that may be unset: the nil UUID (a missing or mistyped scalar
/// reference read leniently) counts as none.
pub fn opt(u: Uuid) -> Option<Uuid> {
    (!u.is_nil()).then_some(u)
}

/// A Southbound Logical_Flow row, the controller's most numerous (tens of
/// thousands), held lean: only what the flows are built from, with the match
/// and actions texts shared (not copied) by `LocalState`'s logical flows. The
/// generated struct took ~0.5 kB a row beside the IDL's own copy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LflowRow {
    pub uuid: Uuid,
    pub logical_datapath: Option<Uuid>,
    pub logical_dp_group: Option<Uuid>,
    /// `pipeline` is `egress` (else ingress).
    pub egress: bool,
    pub table_id: i64,
    pub priority: i64,
    pub match_: Arc<str>,
    pub actions: Arc<str>,
}

impl From<sb::LogicalFlow> for LflowRow {
    fn from(f: sb::LogicalFlow) -> LflowRow {
        LflowRow {
            uuid: f.uuid,
            logical_datapath: f.logical_datapath,
            logical_dp_group: f.logical_dp_group,
            egress: f.pipeline == "egress",
            table_id: f.table_id,
            priority: f.priority,
            match_: f.r#match.into(),
            actions: f.actions.into(),
        }
    }
}

impl Table for LflowRow {
    const TABLE: &'static str = sb::LogicalFlow::TABLE;

    fn from_row(row: &Row) -> Result<LflowRow, TypedError> {
        let mut f = LflowRow::from(sb::LogicalFlow::from_row(row)?);
        // The texts the IDL's row holds, shared rather than copied.
        let shared = |column| match row.get(column).and_then(Datum::as_atom) {
            Some(Atom::String(s)) => Some(s.to_arc()),
            _ => None,
        };
        if let Some(m) = shared(sb::LogicalFlow::COL_MATCH) {
            f.match_ = m;
        }
        if let Some(a) = shared(sb::LogicalFlow::COL_ACTIONS) {
            f.actions = a;
        }
        Ok(f)
    }

    fn to_row(&self) -> Row {
        sb::LogicalFlow {
            uuid: self.uuid,
            logical_datapath: self.logical_datapath,
            logical_dp_group: self.logical_dp_group,
            pipeline: if self.egress { "egress" } else { "ingress" }.to_string(),
            table_id: self.table_id,
            priority: self.priority,
            r#match: self.match_.to_string(),
            actions: self.actions.to_string(),
            ..Default::default()
        }
        .to_row()
    }
}

/// A generated SB struct stored in [`SbTables`].
pub trait SbRow: Table + Default {
    /// The map of [`SbTables`] that holds this table.
    fn rows(t: &mut SbTables) -> &mut BTreeMap<Uuid, Self>;
    #[cfg(test)]
    fn uuid(&self) -> Uuid;
    fn set_uuid(&mut self, u: Uuid);
}

macro_rules! sb_tables {
    ($($field:ident: $ty:ty),* $(,)?) => {
        /// The monitored Southbound tables, by row UUID.
        #[derive(Debug, Clone)]
        pub struct SbTables {
            $(pub $field: BTreeMap<Uuid, $ty>,)*
            /// Per table, a stamp that changes whenever a row of it changes.
            stamps: BTreeMap<&'static str, u64>,
            /// Per table, the latest changes: (stamp, row), oldest first.
            log: BTreeMap<&'static str, VecDeque<(u64, Uuid)>>,
            /// Per table, the newest stamp dropped from `log`.
            floor: BTreeMap<&'static str, u64>,
            /// A stamp taken when these tables were created empty: the log
            /// knows nothing from before.
            created: u64,
            /// Port_Binding rows by name, chassis and type.
            pub ports: PortIndex,
        }

        impl Default for SbTables {
            fn default() -> Self {
                SbTables {
                    $($field: BTreeMap::new(),)*
                    stamps: BTreeMap::new(),
                    log: BTreeMap::new(),
                    floor: BTreeMap::new(),
                    created: next_stamp(),
                    ports: PortIndex::default(),
                }
            }
        }

        impl SbTables {
            /// Names of the tables held here.
            #[cfg(test)]
            pub const TABLES: &'static [&'static str] = &[$(<$ty as Table>::TABLE),*];

            /// Applies one row change (`None`: deleted). Returns false when
            /// `table` is not one of these tables.
            pub fn apply(&mut self, table: &str, uuid: Uuid, row: Option<&Row>) -> bool {
                $(
                    if table == <$ty as Table>::TABLE {
                        self.put::<$ty>(uuid, row);
                        return true;
                    }
                )*
                false
            }
        }

        $(
            impl SbRow for $ty {
                fn rows(t: &mut SbTables) -> &mut BTreeMap<Uuid, Self> {
                    &mut t.$field
                }
                #[cfg(test)]
                fn uuid(&self) -> Uuid {
                    self.uuid
                }
                fn set_uuid(&mut self, u: Uuid) {
                    self.uuid = u;
                }
            }
        )*
    };
}

sb_tables! {
    sb_global: sb::SbGlobal,
    chassis: sb::Chassis,
    chassis_private: sb::ChassisPrivate,
    encap: sb::Encap,
    datapath_binding: sb::DatapathBinding,
    port_binding: sb::PortBinding,
    ha_chassis_group: sb::HaChassisGroup,
    ha_chassis: sb::HaChassis,
    gateway_chassis: sb::GatewayChassis,
    multicast_group: sb::MulticastGroup,
    logical_flow: LflowRow,
    logical_dp_group: sb::LogicalDpGroup,
    mac_binding: sb::MacBinding,
    static_mac_binding: sb::StaticMacBinding,
    load_balancer: sb::LoadBalancer,
    address_set: sb::AddressSet,
    port_group: sb::PortGroup,
}

/// Port_Binding rows by the columns the main loop looks ports up by, kept up
/// to date with the table, so that a pass never scans every port to find the
/// few it needs.
#[derive(Debug, Clone, Default)]
pub struct PortIndex {
    by_name: HashMap<String, BTreeSet<Uuid>>,
    /// By `chassis` and by every `additional_chassis`.
    by_chassis: HashMap<Uuid, BTreeSet<Uuid>>,
    /// By `type`, VIFs (`""`) left out: they are most rows.
    by_type: HashMap<String, BTreeSet<Uuid>>,
}

/// Adds or removes `uuid` under `key`, dropping empty sets.
fn index_set<K: std::hash::Hash + Eq>(m: &mut HashMap<K, BTreeSet<Uuid>>, key: K, uuid: Uuid, add: bool) {
    if add {
        m.entry(key).or_default().insert(uuid);
    } else if let Some(set) = m.get_mut(&key) {
        set.remove(&uuid);
        if set.is_empty() {
            m.remove(&key);
        }
    }
}

impl PortIndex {
    fn update(&mut self, uuid: Uuid, pb: &sb::PortBinding, add: bool) {
        index_set(&mut self.by_name, pb.logical_port.clone(), uuid, add);
        for c in pb.chassis.iter().chain(&pb.additional_chassis) {
            index_set(&mut self.by_chassis, *c, uuid, add);
        }
        if !pb.r#type.is_empty() {
            index_set(&mut self.by_type, pb.r#type.clone(), uuid, add);
        }
    }

    fn add(&mut self, uuid: Uuid, pb: &sb::PortBinding) {
        self.update(uuid, pb, true);
    }

    fn remove(&mut self, uuid: Uuid, pb: &sb::PortBinding) {
        self.update(uuid, pb, false);
    }

    /// Rows with `logical_port` `name`, in UUID order.
    pub fn named(&self, name: &str) -> impl Iterator<Item = Uuid> + '_ {
        self.by_name.get(name).into_iter().flatten().copied()
    }

    /// Rows whose `chassis` or `additional_chassis` is `chassis`.
    pub fn on_chassis(&self, chassis: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.by_chassis.get(&chassis).into_iter().flatten().copied()
    }

    /// Rows of `type` `ty` (not `""`).
    pub fn of_type(&self, ty: &str) -> impl Iterator<Item = Uuid> + '_ {
        self.by_type.get(ty).into_iter().flatten().copied()
    }
}

/// Stamps are unique across replicas, so a stamp from a replica that was
/// replaced (a new session) never matches one of its successor.
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

/// A new stamp, larger than every one handed out before (also used for the
/// untyped tables of `db::Replica`).
pub fn next_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}

/// Changes kept per table (a large initial sync is never needed row by row).
const MAX_LOG: usize = 1 << 15;

impl SbTables {
    /// Changes whenever a row of `table` changes (0: never changed). Lets a
    /// consumer skip a table that did not change since it last looked.
    pub fn stamp(&self, table: &str) -> u64 {
        self.stamps.get(table).copied().unwrap_or(0)
    }

    /// Changes whenever a row of any table but `skip` changes.
    pub fn stamp_except(&self, skip: &[&str]) -> u64 {
        // Stamps only grow, so the largest one moves with any change.
        self.stamps
            .iter()
            .filter(|(t, _)| !skip.contains(t))
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(0)
    }

    /// The rows of `table` inserted, modified or deleted since its stamp was
    /// `since`, or `None` if the log does not reach back that far.
    pub fn changed_since(&self, table: &str, since: u64) -> Option<BTreeSet<Uuid>> {
        if since < self.created || self.floor.get(table).is_some_and(|f| since < *f) {
            return None;
        }
        let Some(log) = self.log.get(table) else {
            return Some(BTreeSet::new());
        };
        let from = log.partition_point(|(s, _)| *s <= since);
        Some(log.range(from..).map(|(_, u)| *u).collect())
    }

    /// Records a change of a row of `table`.
    fn touch(&mut self, table: &'static str, uuid: Uuid) {
        let stamp = next_stamp();
        self.stamps.insert(table, stamp);
        let log = self.log.entry(table).or_default();
        log.push_back((stamp, uuid));
        if log.len() > MAX_LOG {
            // Bounded: consumers that fell this far behind start over.
            if let Some((s, _)) = log.get(MAX_LOG / 2 - 1) {
                self.floor.insert(table, *s);
            }
            log.drain(..MAX_LOG / 2);
        }
    }

    fn put<T: SbRow>(&mut self, uuid: Uuid, row: Option<&Row>) {
        let row = row.map(|r| {
            let mut t: T = lenient(r);
            t.set_uuid(uuid);
            t
        });
        self.store(uuid, row);
    }

    /// Replaces (`None`: deletes) a row, keeping the stamps, the log and the
    /// indexes up to date.
    fn store<T: SbRow>(&mut self, uuid: Uuid, row: Option<T>) {
        self.touch(T::TABLE, uuid);
        let is_port = T::TABLE == sb::PortBinding::TABLE;
        if is_port && let Some(old) = self.port_binding.get(&uuid) {
            self.ports.remove(uuid, old);
        }
        match row {
            Some(t) => {
                T::rows(self).insert(uuid, t);
            }
            None => {
                T::rows(self).remove(&uuid);
            }
        }
        if is_port && let Some(new) = self.port_binding.get(&uuid) {
            self.ports.add(uuid, new);
        }
    }

    /// Test helper: inserts or replaces a row, keyed by its `uuid` (a fresh
    /// one when nil). Returns the key.
    #[cfg(test)]
    pub fn insert<T: SbRow>(&mut self, mut t: T) -> Uuid {
        if t.uuid().is_nil() {
            t.set_uuid(Uuid::new_v4());
        }
        let u = t.uuid();
        self.store(u, Some(t));
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The change log names the rows changed since a stamp, and says when it
    /// cannot (trimmed, or a stamp from before these tables existed).
    #[test]
    fn change_log() {
        let before = SbTables::default().created;
        let mut t = SbTables::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        t.apply(sb::AddressSet::TABLE, a, Some(&Row::new()));
        let s1 = t.stamp(sb::AddressSet::TABLE);
        t.apply(sb::AddressSet::TABLE, b, Some(&Row::new()));
        t.apply(sb::AddressSet::TABLE, a, None);
        assert_eq!(t.changed_since(sb::AddressSet::TABLE, s1), Some([a, b].into()));
        let s2 = t.stamp(sb::AddressSet::TABLE);
        assert_eq!(t.changed_since(sb::AddressSet::TABLE, s2), Some(BTreeSet::new()));
        assert_eq!(t.changed_since(sb::AddressSet::TABLE, before), None);
        for _ in 0..MAX_LOG {
            t.apply(sb::AddressSet::TABLE, b, Some(&Row::new()));
        }
        assert_eq!(t.changed_since(sb::AddressSet::TABLE, s2), None);
        let s3 = t.stamp(sb::AddressSet::TABLE);
        t.apply(sb::AddressSet::TABLE, a, Some(&Row::new()));
        assert_eq!(t.changed_since(sb::AddressSet::TABLE, s3), Some([a].into()));
        assert!(t.stamp_except(&[sb::AddressSet::TABLE]) < s3);
    }

    /// A mistyped column reads as its default; the rest of the row is kept, and
    /// the row is keyed (and its `uuid` set) by the replica's UUID.
    #[test]
    fn lenient_conversion_keeps_good_columns() {
        let u = Uuid::new_v4();
        let mut r = Row::new();
        sb::PortBinding::set_logical_port(&mut r, &"vm1".to_string());
        sb::PortBinding::set_tunnel_key(&mut r, &3);
        r.insert(
            sb::PortBinding::COL_TYPE.into(),
            Datum::set([Atom::string("a"), Atom::string("b")]),
        );
        r.insert(sb::PortBinding::COL_OPTIONS.into(), Datum::string("x"));
        let mut t = SbTables::default();
        assert!(t.apply(sb::PortBinding::TABLE, u, Some(&r)));
        let pb = &t.port_binding[&u];
        assert_eq!((pb.uuid, pb.logical_port.as_str(), pb.tunnel_key), (u, "vm1", 3));
        assert_eq!(pb.r#type, "");
        assert!(pb.options.is_empty());
        assert!(t.apply(sb::PortBinding::TABLE, u, None));
        assert!(t.port_binding.is_empty());
        assert!(!t.apply(crate::vswitch::Bridge::TABLE, u, Some(&r)));
    }

    /// A Logical_Flow row is held with the match and actions texts of the
    /// row it came from (the IDL's), not copies; the rest converts as usual.
    #[test]
    fn logical_flow_rows_share_their_texts() {
        let u = Uuid::new_v4();
        let dp = Uuid::new_v4();
        let row = sb::LogicalFlow {
            logical_datapath: Some(dp),
            pipeline: "egress".into(),
            table_id: 3,
            priority: 100,
            r#match: "outport == \"lsp1\" && eth.src == 00:00:00:00:00:01".into(),
            actions: "output; /* a long enough action text */".into(),
            ..Default::default()
        }
        .to_row();
        let mut t = SbTables::default();
        assert!(t.apply(sb::LogicalFlow::TABLE, u, Some(&row)));
        let f = &t.logical_flow[&u];
        let text = |c| match row.get(c).and_then(Datum::as_atom) {
            Some(Atom::String(s)) => s.to_arc(),
            _ => unreachable!(),
        };
        assert!(Arc::ptr_eq(&f.match_, &text(sb::LogicalFlow::COL_MATCH)));
        assert!(Arc::ptr_eq(&f.actions, &text(sb::LogicalFlow::COL_ACTIONS)));
        assert_eq!(
            (f.uuid, f.logical_datapath, f.egress, f.table_id, f.priority),
            (u, Some(dp), true, 3, 100)
        );
    }
}
