//! The IDL: a live in-memory replica of monitored tables, kept up to date from
//! monitor replies and `update`/`update2`/`update3` notifications.
//!
//! [`Idl`] is a pure state machine: feed it the JSON the server sent
//! ([`Idl::apply_monitor_reply`], [`Idl::apply_notification`]) and read the replica
//! and the changes since the consumer last looked ([`Idl::take_changes`]). The
//! [`crate::session::Session`] drives one over a reconnecting connection.
//!
//! Change tracking coalesces: a row inserted and then modified before the consumer
//! looks shows up once as inserted; inserted then deleted does not show up at all;
//! after a resync that replaced the whole replica, only rows that really differ show up.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::collections::AtomMap;
use crate::datum::{Atom, AtomSet, Columns, Datum, Row};
use crate::error::Error;
use crate::monitor::{
    self, Clause, MonitorMethod, RowUpdate, TableMonitor, TableUpdates, UpdateFormat, UpdateNotification,
};
use crate::schema::{ColumnType, DatabaseSchema, TableSchema};
use crate::typed::{Table, TypedError};

/// What happened to one row since the consumer last took the changes.
#[derive(Debug, Clone, PartialEq)]
pub enum RowChange {
    Inserted { new: Row },
    Modified { old: Row, new: Row },
    Deleted { old: Row },
}

impl RowChange {
    /// The row as it is now (`None` when deleted).
    pub fn new_row(&self) -> Option<&Row> {
        match self {
            RowChange::Inserted { new } | RowChange::Modified { new, .. } => Some(new),
            RowChange::Deleted { .. } => None,
        }
    }

    /// The row as it was (`None` when inserted).
    pub fn old_row(&self) -> Option<&Row> {
        match self {
            RowChange::Modified { old, .. } | RowChange::Deleted { old } => Some(old),
            RowChange::Inserted { .. } => None,
        }
    }

    /// Names of the columns whose value differs between old and new.
    pub fn changed_columns(&self) -> Vec<&str> {
        match self {
            RowChange::Modified { old, new } => new
                .iter()
                .filter(|(k, v)| old.get(k.as_str()) != Some(v))
                .map(|(k, _)| k.as_str())
                .chain(old.keys().filter(|k| !new.contains_key(k)).map(String::as_str))
                .collect(),
            RowChange::Inserted { new: r } | RowChange::Deleted { old: r } => {
                r.keys().map(String::as_str).collect()
            }
        }
    }
}

/// Changes per table, per row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub tables: BTreeMap<String, BTreeMap<Uuid, RowChange>>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(BTreeMap::is_empty)
    }

    pub fn table(&self, name: &str) -> impl Iterator<Item = (&Uuid, &RowChange)> {
        self.tables.get(name).into_iter().flatten()
    }

    /// Number of changed rows over all tables.
    pub fn len(&self) -> usize {
        self.tables.values().map(BTreeMap::len).sum()
    }
}

/// How a monitor reply was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    /// The server still had our last transaction: only the delta was applied.
    Resumed,
    /// The replica was replaced by the server's full contents (changes are the difference).
    Replaced,
}

/// The monitor id the IDL uses for its database.
pub const MONITOR_ID: &str = "idl";

pub struct Idl {
    db: String,
    schema: Option<DatabaseSchema>,
    requests: BTreeMap<String, TableMonitor>,
    tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
    /// For each row changed since the last `take_changes`: its value back then.
    pending: BTreeMap<String, BTreeMap<Uuid, Option<Row>>>,
    seqno: u64,
    last_txn_id: Option<String>,
    monitor_id: Value,
    /// Conditions changed while no connection could carry them: the next monitor
    /// request uses them, and cannot resume (the server's history is for the old ones).
    conditions_dirty: bool,
    /// Whether the last monitor request asked to resume from a transaction id.
    sent_txn_id: bool,
    /// Replicate every table of whatever schema is set.
    all_tables: bool,
    /// Per table, the columns its rows have, shared by all of them.
    layouts: BTreeMap<String, Layout>,
}

/// The shape of a replica table's rows: the monitored columns and `_uuid`.
#[derive(Clone)]
struct Layout {
    cols: Arc<Columns>,
    /// Each column's default, in `cols` order (`_uuid`'s is never used).
    defaults: Vec<Datum>,
}

impl Idl {
    /// An IDL replicating `requests` (table → columns/condition) of database `db`.
    /// A schema must be given with [`Idl::set_schema`] before updates can be applied;
    /// a [`crate::session::Session`] does so with the server's schema on every connect.
    pub fn new(db: impl Into<String>, requests: BTreeMap<String, TableMonitor>) -> Self {
        let mut tables = BTreeMap::new();
        for t in requests.keys() {
            tables.insert(t.clone(), BTreeMap::new());
        }
        Idl {
            db: db.into(),
            schema: None,
            requests,
            tables,
            pending: BTreeMap::new(),
            seqno: 0,
            last_txn_id: None,
            monitor_id: Value::String(MONITOR_ID.into()),
            conditions_dirty: false,
            sent_txn_id: false,
            all_tables: false,
            layouts: BTreeMap::new(),
        }
    }

    /// An IDL replicating every table and column of database `db` (as the server's
    /// schema defines them).
    pub fn new_all_tables(db: impl Into<String>) -> Self {
        let mut idl = Idl::new(db, BTreeMap::new());
        idl.all_tables = true;
        idl
    }

    /// Uses another monitor id (several IDLs may share one connection).
    pub fn with_monitor_id(mut self, id: Value) -> Self {
        self.monitor_id = id;
        self
    }

    /// Whether this IDL monitors anything at all.
    pub fn is_monitoring(&self) -> bool {
        self.all_tables || !self.requests.is_empty()
    }

    /// Like [`Idl::new`] with a known schema, e.g. for tests or an offline replica.
    pub fn with_schema(schema: DatabaseSchema, requests: BTreeMap<String, TableMonitor>) -> Self {
        let mut idl = Idl::new(schema.name.clone(), requests);
        idl.set_schema(schema);
        idl
    }

    /// Replicate every table and column of the schema.
    pub fn all_tables(schema: &DatabaseSchema) -> BTreeMap<String, TableMonitor> {
        schema
            .tables
            .keys()
            .map(|t| (t.clone(), TableMonitor::all()))
            .collect()
    }

    pub fn database(&self) -> &str {
        &self.db
    }

    pub fn schema(&self) -> Option<&DatabaseSchema> {
        self.schema.as_ref()
    }

    /// Sets the schema used to type values (the server's, which may be newer than ours).
    pub fn set_schema(&mut self, schema: DatabaseSchema) {
        if self.all_tables {
            for t in schema.tables.keys() {
                self.requests.entry(t.clone()).or_default();
                self.tables.entry(t.clone()).or_default();
            }
        }
        self.schema = Some(schema);
        // The same columns keep the same `Columns`, so rows from before (a reconnect
        // sets the schema again) and after still share them.
        let old = std::mem::take(&mut self.layouts);
        for t in self.requests.keys() {
            let mut l = self.new_layout(t);
            if let Some(o) = old.get(t)
                && o.cols == l.cols
            {
                l.cols = o.cols.clone();
            }
            self.layouts.insert(t.clone(), l);
        }
    }

    pub fn requests(&self) -> &BTreeMap<String, TableMonitor> {
        &self.requests
    }

    pub fn monitor_id(&self) -> &Value {
        &self.monitor_id
    }

    /// Incremented every time the replica changes.
    pub fn seqno(&self) -> u64 {
        self.seqno
    }

    /// The last transaction id seen (from `monitor_cond_since` and `update3`).
    pub fn last_txn_id(&self) -> Option<&str> {
        self.last_txn_id.as_deref()
    }

    /// Forgets the last transaction id, forcing a full resync on the next monitor.
    pub fn forget_txn_id(&mut self) {
        self.last_txn_id = None;
    }

    /// The `params` of a monitor request with `method`, resuming from the last
    /// transaction id when possible (not after conditions changed unsent).
    pub fn monitor_request(&mut self, method: MonitorMethod) -> Result<Value, Error> {
        let schema = self.schema.as_ref().ok_or_else(no_schema)?;
        let last = if self.conditions_dirty {
            None
        } else {
            self.last_txn_id.as_deref()
        };
        self.sent_txn_id = last.is_some() && method == MonitorMethod::MonitorCondSince;
        let p = monitor::monitor_params(method, &self.db, &self.monitor_id, schema, &self.requests, last);
        self.conditions_dirty = false;
        Ok(p)
    }

    /// Changes the condition of a monitored table; returns the `monitor_cond_change`
    /// params to send if connected. If not sent, call [`Idl::conditions_not_sent`].
    pub fn set_condition(&mut self, table: &str, condition: Option<Vec<Clause>>) -> Option<Value> {
        self.set_conditions([(table, condition)])
    }

    /// [`Idl::set_condition`] for several tables at once: one `monitor_cond_change`
    /// carrying the tables whose condition changed (`None` if none did).
    pub fn set_conditions<'a>(
        &mut self,
        conditions: impl IntoIterator<Item = (&'a str, Option<Vec<Clause>>)>,
    ) -> Option<Value> {
        let mut ch = BTreeMap::new();
        for (table, condition) in conditions {
            let Some(req) = self.requests.get_mut(table) else {
                continue;
            };
            if req.condition == condition {
                continue;
            }
            req.condition = condition.clone();
            ch.insert(table.to_string(), condition.unwrap_or(vec![Clause::True]));
        }
        (!ch.is_empty()).then(|| monitor::cond_change_params(&self.monitor_id, &ch))
    }

    /// If conditions changed without reaching the server, the `monitor_cond_change`
    /// params carrying all current conditions (and the flag is cleared).
    pub fn pending_condition_change(&mut self) -> Option<Value> {
        if !self.conditions_dirty {
            return None;
        }
        self.conditions_dirty = false;
        let ch = self
            .requests
            .iter()
            .map(|(t, r)| (t.clone(), r.condition.clone().unwrap_or(vec![Clause::True])))
            .collect();
        Some(monitor::cond_change_params(&self.monitor_id, &ch))
    }

    /// Records that a condition change could not be sent: the next monitor request
    /// carries the new conditions and starts from scratch.
    pub fn conditions_not_sent(&mut self) {
        self.conditions_dirty = true;
    }

    /// Applies the reply to the monitor request sent with `method`.
    pub fn apply_monitor_reply(&mut self, method: MonitorMethod, result: &Value) -> Result<SyncKind, Error> {
        self.apply_monitor_reply_owned(method, result.clone())
    }

    /// [`Idl::apply_monitor_reply`], consuming the reply: its JSON is freed row by row
    /// as the rows are parsed (a full dump is the largest message a client receives).
    pub fn apply_monitor_reply_owned(
        &mut self,
        method: MonitorMethod,
        result: Value,
    ) -> Result<SyncKind, Error> {
        let schema = self.schema.as_ref().ok_or_else(no_schema)?;
        let (kind, updates, txn) = match method {
            MonitorMethod::MonitorCondSince => {
                let r = monitor::parse_since_reply_owned(result)?;
                let ups = monitor::parse_table_updates_owned(r.updates, UpdateFormat::V2, schema)?;
                let kind = if r.found && self.sent_txn_id {
                    SyncKind::Resumed
                } else {
                    SyncKind::Replaced
                };
                (kind, ups, Some(r.last_txn_id))
            }
            MonitorMethod::MonitorCond => (
                SyncKind::Replaced,
                monitor::parse_table_updates_owned(result, UpdateFormat::V2, schema)?,
                None,
            ),
            MonitorMethod::Monitor => (
                SyncKind::Replaced,
                monitor::parse_table_updates_owned(result, UpdateFormat::V1, schema)?,
                None,
            ),
        };
        match kind {
            SyncKind::Resumed => self.apply_updates(updates)?,
            SyncKind::Replaced => self.replace(updates)?,
        }
        self.last_txn_id = txn;
        Ok(kind)
    }

    /// Applies a notification if it is an update for this IDL's monitor; returns
    /// whether it was one. On error the replica is unchanged and the transaction id
    /// forgotten (the caller should reconnect and resync).
    pub fn apply_notification(&mut self, method: &str, params: &Value) -> Result<bool, Error> {
        self.take_notification(method, &mut params.clone())
    }

    /// [`Idl::apply_notification`] without copying the update: when the notification is
    /// for this IDL, its updates are moved out of `params` (left `null`) and freed row by
    /// row as they are parsed; any other notification leaves `params` as it was.
    pub fn take_notification(&mut self, method: &str, params: &mut Value) -> Result<bool, Error> {
        let Some(n) = UpdateNotification::take(method, params, &self.monitor_id)? else {
            return Ok(false);
        };
        let schema = self.schema.as_ref().ok_or_else(no_schema)?;
        let ups = match monitor::parse_table_updates_owned(n.updates, n.format, schema) {
            Ok(u) => u,
            Err(e) => {
                self.last_txn_id = None;
                return Err(e);
            }
        };
        self.apply_updates(ups)?;
        if let Some(t) = n.last_txn_id {
            self.last_txn_id = Some(t);
        }
        Ok(true)
    }

    /// [`Idl::take_notification`] for a notification whose parameters are still text
    /// ([`crate::client::Notification::raw`]): the rows are parsed straight from it,
    /// never as a JSON tree of the whole update.
    pub fn take_raw_notification(&mut self, method: &str, params: &RawValue) -> Result<bool, Error> {
        let schema = self.schema.as_ref().ok_or_else(no_schema)?;
        let (txn, ups) = match monitor::parse_raw_update(method, params, &self.monitor_id, schema) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Ok(false),
            Err(e) => {
                self.last_txn_id = None;
                return Err(e);
            }
        };
        self.apply_updates(ups)?;
        if let Some(t) = txn {
            self.last_txn_id = Some(t);
        }
        Ok(true)
    }

    /// Applies parsed updates as a delta.
    pub fn apply_updates(&mut self, updates: TableUpdates) -> Result<(), Error> {
        let schema = self.schema.as_ref().ok_or_else(no_schema)?;
        let mut changed = false;
        for (tname, rows) in updates {
            let ts = schema.table(&tname);
            let layout = self
                .layouts
                .get(&tname)
                .cloned()
                .unwrap_or_else(|| self.new_layout(&tname));
            let table = self.tables.entry(tname.clone()).or_default();
            let pending = self.pending.entry(tname.clone()).or_default();
            for (uuid, up) in rows {
                let cur = table.get(&uuid);
                let new = match (up, cur) {
                    (RowUpdate::Insert(r) | RowUpdate::Replace(r), _) => Some(complete_row(r, uuid, &layout)),
                    (RowUpdate::Modify(diff), Some(o)) => Some(apply_diff(o.clone(), diff, ts)),
                    (RowUpdate::Modify(_), None) => {
                        tracing::warn!("{tname}: modify of unknown row {uuid}; ignored");
                        continue;
                    }
                    (RowUpdate::Delete, Some(_)) => None,
                    (RowUpdate::Delete, None) => {
                        tracing::warn!("{tname}: delete of unknown row {uuid}; ignored");
                        continue;
                    }
                };
                if new.as_ref() == cur {
                    continue;
                }
                let old = match new {
                    Some(r) => table.insert(uuid, r),
                    None => table.remove(&uuid),
                };
                pending.entry(uuid).or_insert(old);
                changed = true;
            }
        }
        if changed {
            self.seqno += 1;
        }
        Ok(())
    }

    /// Replaces the replica by a full dump (`initial` rows), recording only the
    /// differences as changes.
    fn replace(&mut self, updates: TableUpdates) -> Result<(), Error> {
        let mut fresh: BTreeMap<String, BTreeMap<Uuid, Row>> = BTreeMap::new();
        for t in self.requests.keys() {
            fresh.insert(t.clone(), BTreeMap::new());
        }
        for (tname, rows) in updates {
            let layout = self
                .layouts
                .get(&tname)
                .cloned()
                .unwrap_or_else(|| self.new_layout(&tname));
            let t = fresh.entry(tname).or_default();
            for (uuid, up) in rows {
                match up {
                    RowUpdate::Insert(r) | RowUpdate::Replace(r) => {
                        t.insert(uuid, complete_row(r, uuid, &layout));
                    }
                    RowUpdate::Modify(_) | RowUpdate::Delete => {
                        return Err(Error::Protocol("modify/delete in an initial dump".into()));
                    }
                }
            }
        }
        let mut changed = false;
        let old_tables = std::mem::take(&mut self.tables);
        let names: std::collections::BTreeSet<String> =
            old_tables.keys().chain(fresh.keys()).cloned().collect();
        let empty = BTreeMap::new();
        for name in &names {
            let old = old_tables.get(name).unwrap_or(&empty);
            let new = fresh.get(name).unwrap_or(&empty);
            let pending = self.pending.entry(name.clone()).or_default();
            for (u, r) in old {
                if new.get(u) != Some(r) {
                    pending.entry(*u).or_insert_with(|| Some(r.clone()));
                    changed = true;
                }
            }
            for u in new.keys() {
                if !old.contains_key(u) {
                    pending.entry(*u).or_insert(None);
                    changed = true;
                }
            }
        }
        self.tables = fresh;
        if changed {
            self.seqno += 1;
        }
        Ok(())
    }

    fn monitored_columns(&self, table: &str) -> Vec<(String, ColumnType)> {
        let (Some(schema), Some(req)) = (&self.schema, self.requests.get(table)) else {
            return Vec::new();
        };
        let Some(ts) = schema.table(table) else {
            return Vec::new();
        };
        req.effective_columns(ts)
            .into_iter()
            .filter_map(|c| ts.column(&c).map(|cs| (c, cs.ty.clone())))
            .collect()
    }

    fn new_layout(&self, table: &str) -> Layout {
        let mut cols: BTreeMap<String, Datum> = self
            .monitored_columns(table)
            .into_iter()
            .map(|(c, ty)| (c, ty.default_datum()))
            .collect();
        cols.insert("_uuid".into(), Datum::default());
        Layout {
            cols: Arc::new(Columns::new(cols.keys().cloned())),
            defaults: cols.into_values().collect(),
        }
    }

    /// Whether changes are waiting for [`Idl::take_changes`].
    pub fn has_changes(&self) -> bool {
        self.pending.values().any(|t| !t.is_empty())
    }

    /// The changes since the last call, coalesced per row.
    pub fn take_changes(&mut self) -> Changes {
        let pending = std::mem::take(&mut self.pending);
        self.changes_of(pending)
    }

    /// Like [`Idl::take_changes`], but at most `max_rows` changed rows, taken in table
    /// then UUID order; the rest stay for the next call. Changes hold a copy of each
    /// changed row beside the replica's, so a consumer that can work in batches takes
    /// a large sync (thousands of inserted rows) in pieces instead of copying it whole.
    pub fn take_changes_upto(&mut self, max_rows: usize) -> Changes {
        let mut taken = BTreeMap::new();
        let mut room = max_rows;
        while room > 0 {
            let Some(mut first) = self.pending.first_entry() else {
                break;
            };
            let rows = first.get_mut();
            if rows.len() <= room {
                room -= rows.len();
                let (name, rows) = first.remove_entry();
                taken.insert(name, rows);
            } else {
                let Some(cut) = rows.keys().nth(room).copied() else {
                    break;
                };
                let rest = rows.split_off(&cut);
                let head = std::mem::replace(rows, rest);
                taken.insert(first.key().clone(), head);
                room = 0;
            }
        }
        self.pending.retain(|_, rows| !rows.is_empty());
        self.changes_of(taken)
    }

    /// Forgets the pending changes without copying anything (a consumer that is about
    /// to read the whole replica anyway).
    pub fn discard_changes(&mut self) {
        self.pending.clear();
    }

    fn changes_of(&self, pending: BTreeMap<String, BTreeMap<Uuid, Option<Row>>>) -> Changes {
        let mut out = Changes::default();
        for (tname, rows) in pending {
            let current = self.tables.get(&tname);
            let mut t = BTreeMap::new();
            for (uuid, old) in rows {
                let new = current.and_then(|c| c.get(&uuid)).cloned();
                let change = match (old, new) {
                    (None, Some(new)) => RowChange::Inserted { new },
                    (Some(old), Some(new)) if old != new => RowChange::Modified { old, new },
                    (Some(old), None) => RowChange::Deleted { old },
                    _ => continue,
                };
                t.insert(uuid, change);
            }
            if !t.is_empty() {
                out.tables.insert(tname, t);
            }
        }
        out
    }

    /// The rows of a table (empty if not monitored).
    pub fn table(&self, name: &str) -> impl Iterator<Item = (&Uuid, &Row)> {
        self.tables.get(name).into_iter().flatten()
    }

    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        self.tables.get(table)?.get(uuid)
    }

    pub fn len(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, BTreeMap::len)
    }

    /// All tables, for dumps and tests.
    pub fn tables(&self) -> &BTreeMap<String, BTreeMap<Uuid, Row>> {
        &self.tables
    }

    /// The rows of a table as generated typed structs.
    pub fn typed<T: Table>(&self) -> Result<Vec<T>, TypedError> {
        self.table(T::TABLE).map(|(_, r)| T::from_row(r)).collect()
    }

    /// One row as a typed struct.
    pub fn get<T: Table>(&self, uuid: &Uuid) -> Option<Result<T, TypedError>> {
        self.row(T::TABLE, uuid).map(T::from_row)
    }
}

fn no_schema() -> Error {
    Error::Schema("the IDL has no schema yet".into())
}

/// A full row: the monitored columns the server omitted get their default, and
/// `_uuid` is added. The row takes the table's shared columns; a column outside them
/// (one the schema does not know) gives this row columns of its own.
fn complete_row(r: Row, uuid: Uuid, layout: &Layout) -> Row {
    let (given_cols, given_vals) = r.into_parts();
    let mut given = given_cols.names().iter().zip(given_vals).peekable();
    let mut vals = Vec::with_capacity(layout.cols.len());
    let mut extra = Vec::new();
    for (name, default) in layout.cols.names().iter().zip(&layout.defaults) {
        while let Some((n, _)) = given.peek()
            && n.as_str() < name.as_str()
        {
            extra.extend(given.next());
        }
        let v = match given.next_if(|(n, _)| *n == name) {
            Some((_, v)) => v,
            None => default.clone(),
        };
        vals.push(if name == "_uuid" { Datum::uuid(uuid) } else { v });
    }
    extra.extend(given);
    let mut row = Row::from_parts(layout.cols.clone(), vals).unwrap_or_default();
    for (n, v) in extra {
        row.insert(n.clone(), v);
    }
    row
}

/// Applies an update2 `modify` to a row. Per ovsdb-server(7) and OVS's
/// `ovsdb_datum_apply_diff`: a column that can hold at most one value is replaced;
/// for a set, the diff is the symmetric difference; for a map, each diff pair adds a
/// key that is absent, removes a key present with the same value, and replaces the
/// value of a key present with another value.
pub fn apply_diff(mut row: Row, diff: Row, ts: Option<&TableSchema>) -> Row {
    let (names, vals) = diff.into_parts();
    for (col, d) in names.names().iter().zip(vals) {
        let composite = ts
            .and_then(|t| t.column(col))
            .is_some_and(|cs| cs.ty.max.is_none_or(|m| m > 1));
        match row.get_mut(col) {
            Some(cur) if composite => *cur = apply_datum_diff(std::mem::take(cur), d),
            Some(cur) => *cur = d,
            None if composite => {
                row.insert(col.clone(), apply_datum_diff(Datum::default(), d));
            }
            None => {
                row.insert(col.clone(), d);
            }
        }
    }
    row
}

/// Applies one composite column's diff (see [`apply_diff`]).
pub fn apply_datum_diff(old: Datum, diff: Datum) -> Datum {
    match (old, diff) {
        (Datum::Map(m), Datum::Map(d)) => {
            let mut out = Vec::with_capacity(m.len() + d.len());
            let mut cur = m.into_iter().peekable();
            for (k, v) in d {
                while let Some(p) = cur.next_if(|(ck, _)| *ck < k) {
                    out.push(p);
                }
                match cur.next_if(|(ck, _)| *ck == k) {
                    Some((_, cv)) if cv == v => {}
                    _ => out.push((k, v)),
                }
            }
            out.extend(cur);
            Datum::Map(AtomMap::from_sorted(out))
        }
        // An empty old map parses as an empty set when untyped.
        (Datum::Set(s), Datum::Map(d)) if s.is_empty() => Datum::Map(d),
        (m @ Datum::Map(_), Datum::Set(s)) if s.is_empty() => m,
        (Datum::Set(s), Datum::Set(d)) => {
            let (s, d) = (sorted(s), sorted(d));
            let mut out = Vec::with_capacity(s.len() + d.len());
            let mut cur = s.into_iter().peekable();
            for a in d {
                while let Some(c) = cur.next_if(|c| *c < a) {
                    out.push(c);
                }
                if cur.next_if(|c| *c == a).is_none() {
                    out.push(a);
                }
            }
            out.extend(cur);
            Datum::Set(out.into())
        }
        (_, d) => d,
    }
}

/// A set's atoms sorted and unique, as the wire's are (a set built by hand may not be).
fn sorted(s: AtomSet) -> Vec<Atom> {
    let mut v = s.into_vec();
    if !v.windows(2).all(|w| w[0] < w[1]) {
        v.sort();
        v.dedup();
    }
    v
}

#[cfg(test)]
mod tests;
