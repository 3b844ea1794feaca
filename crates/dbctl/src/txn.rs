//! One command line = one OVSDB transaction. Commands read rows with `select`
//! (only what they need, never a full replica), see their own earlier changes
//! through a local cache, and queue writes; [`Txn::commit`] sends every write in a
//! single `transact`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use ovsdb::ops::OpResult;
use ovsdb::schema::TableSchema;
use ovsdb::{Atom, Client, Condition, DatabaseSchema, Datum, Mutation, Operation, Row, Uuid};
use serde_json::json;
use tokio::runtime::Runtime;

use crate::CtlError;

/// A row's identity: `Atom::Uuid` for rows in the database, `Atom::NamedUuid` for
/// rows inserted by this transaction.
pub type RowKey = Atom;

/// What the server assigned when the transaction committed.
#[derive(Debug, Default)]
pub struct Committed {
    /// named-uuid → real uuid of every inserted row.
    pub inserted: HashMap<String, Uuid>,
    /// Results of the operations queued with [`Txn::increment`], in order.
    pub increments: Vec<i64>,
}

pub struct Txn {
    rt: Runtime,
    client: Client,
    notes: Option<tokio::sync::mpsc::UnboundedReceiver<ovsdb::client::Notification>>,
    /// Monitors opened by waits so far (each wait names its own).
    waits: u32,
    pub schema: DatabaseSchema,
    pub db: String,
    cache: HashMap<String, BTreeMap<RowKey, Row>>,
    full: HashSet<String>,
    deleted: BTreeSet<RowKey>,
    new_rows: Vec<(String, RowKey)>,
    ops: Vec<Operation>,
    increments: Vec<usize>,
    next_named: usize,
}

impl Txn {
    /// Connects to the first reachable remote and fetches the schema of `db`.
    pub fn connect(remotes: &[ovsdb::remote::Remote], db: &str) -> Result<Txn, CtlError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CtlError::msg(format!("cannot start runtime: {e}")))?;
        let (client, notes, schema) = rt.block_on(async {
            let (client, notes) = Client::connect_any(remotes).await?;
            let schema = client.get_schema(db).await?;
            Ok::<_, ovsdb::Error>((client, notes, schema))
        })?;
        Ok(Txn {
            rt,
            client,
            notes: Some(notes),
            waits: 0,
            schema,
            db: db.to_string(),
            cache: HashMap::new(),
            full: HashSet::new(),
            deleted: BTreeSet::new(),
            new_rows: Vec::new(),
            ops: Vec::new(),
            increments: Vec::new(),
            next_named: 0,
        })
    }

    pub fn table_schema(&self, table: &str) -> Result<&TableSchema, CtlError> {
        self.schema
            .table(table)
            .ok_or_else(|| CtlError::msg(format!("unknown table \"{table}\"")))
    }

    /// Runs a read-only transaction now.
    fn transact_now(&self, ops: &[Operation]) -> Result<Vec<OpResult>, CtlError> {
        Ok(self.rt.block_on(self.client.transact(&self.db, ops))?)
    }

    fn merge(&mut self, table: &str, rows: Vec<Row>) {
        let cache = self.cache.entry(table.to_string()).or_default();
        for mut row in rows {
            row.remove("_version");
            let Some(u) = row.get("_uuid").and_then(Datum::as_uuid) else {
                continue;
            };
            cache.entry(Atom::Uuid(u)).or_insert(row);
        }
    }

    /// Loads every row of `table` (once) and returns their keys.
    pub fn all(&mut self, table: &str) -> Result<Vec<RowKey>, CtlError> {
        self.table_schema(table)?;
        if !self.full.contains(table) {
            let r = self.transact_now(&[Operation::Select {
                table: table.to_string(),
                conditions: vec![],
                columns: None,
            }])?;
            let rows = r.into_iter().next().and_then(|r| r.rows).unwrap_or_default();
            self.merge(table, rows);
            self.full.insert(table.to_string());
        }
        Ok(self.local_matches(table, &[]))
    }

    fn local_matches(&self, table: &str, conds: &[Condition]) -> Vec<RowKey> {
        self.cache
            .get(table)
            .map(|rows| {
                rows.iter()
                    .filter(|(k, row)| !self.deleted.contains(k) && conds.iter().all(|c| eval(c, row)))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rows of `table` matching all `conds` (`==`, `includes`), as this transaction
    /// sees them.
    pub fn select(&mut self, table: &str, conds: &[Condition]) -> Result<Vec<RowKey>, CtlError> {
        self.table_schema(table)?;
        let named = conds
            .iter()
            .any(|c| c.value.keys().iter().any(|a| matches!(a, Atom::NamedUuid(_))));
        if !self.full.contains(table) && !named {
            let r = self.transact_now(&[Operation::Select {
                table: table.to_string(),
                conditions: conds.to_vec(),
                columns: None,
            }])?;
            let rows = r.into_iter().next().and_then(|r| r.rows).unwrap_or_default();
            self.merge(table, rows);
        }
        Ok(self.local_matches(table, conds))
    }

    /// Looks a row up by uuid in `table`.
    pub fn by_uuid(&mut self, table: &str, u: Uuid) -> Result<Option<RowKey>, CtlError> {
        Ok(self.select(table, &[Condition::uuid(u)])?.into_iter().next())
    }

    /// Fetches several rows of `table` by key in one round trip (rows already cached
    /// are not fetched again).
    pub fn fetch(&mut self, table: &str, keys: &[RowKey]) -> Result<(), CtlError> {
        let missing: Vec<Uuid> = keys
            .iter()
            .filter(|k| !self.cache.get(table).is_some_and(|c| c.contains_key(k)))
            .filter_map(Atom::as_uuid)
            .collect();
        if missing.is_empty() || self.full.contains(table) {
            return Ok(());
        }
        let ops: Vec<Operation> = missing
            .iter()
            .map(|u| Operation::Select {
                table: table.to_string(),
                conditions: vec![Condition::uuid(*u)],
                columns: None,
            })
            .collect();
        let r = self.transact_now(&ops)?;
        let rows = r.into_iter().flat_map(|r| r.rows.unwrap_or_default()).collect();
        self.merge(table, rows);
        Ok(())
    }

    pub fn row(&self, table: &str, key: &RowKey) -> Option<&Row> {
        if self.deleted.contains(key) {
            return None;
        }
        self.cache.get(table)?.get(key)
    }

    /// A column of a cached row, or the column's default.
    pub fn get(&self, table: &str, key: &RowKey, column: &str) -> Datum {
        self.row(table, key)
            .and_then(|r| r.get(column).cloned())
            .unwrap_or_default()
    }

    pub fn get_str(&self, table: &str, key: &RowKey, column: &str) -> String {
        self.get(table, key, column)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A fresh uuid-name for a row to insert.
    pub fn new_name(&mut self) -> String {
        self.next_named += 1;
        format!("row{}", self.next_named)
    }

    /// Whether a row was inserted under this uuid-name.
    pub fn is_inserted(&self, name: &str) -> bool {
        self.new_rows
            .iter()
            .any(|(_, k)| matches!(k, Atom::NamedUuid(n) if n == name))
    }

    /// Queues an insert; the row gets the defaults of the columns not given.
    pub fn insert(&mut self, table: &str, row: Row) -> Result<RowKey, CtlError> {
        self.insert_named(table, row, None)
    }

    /// Like [`Txn::insert`], under a uuid-name from [`Txn::new_name`].
    pub fn insert_named(
        &mut self,
        table: &str,
        mut row: Row,
        name: Option<String>,
    ) -> Result<RowKey, CtlError> {
        let ts = self.table_schema(table)?.clone();
        for (name, col) in &ts.columns {
            row.get_or_insert_with(name, || col.ty.default_datum());
        }
        let name = name.unwrap_or_else(|| self.new_name());
        let key = Atom::NamedUuid(name);
        row.insert("_uuid".into(), Datum::atom(key.clone()));
        self.cache
            .entry(table.to_string())
            .or_default()
            .insert(key.clone(), row);
        self.new_rows.push((table.to_string(), key.clone()));
        Ok(key)
    }

    fn cached_mut(&mut self, table: &str, key: &RowKey) -> Result<&mut Row, CtlError> {
        self.cache
            .get_mut(table)
            .and_then(|t| t.get_mut(key))
            .ok_or_else(|| CtlError::msg(format!("row {key} of table {table} is not loaded")))
    }

    /// Writes a whole column.
    pub fn set(&mut self, table: &str, key: &RowKey, column: &str, value: Datum) -> Result<(), CtlError> {
        self.cached_mut(table, key)?
            .insert(column.to_string(), value.clone());
        if let Atom::Uuid(u) = key {
            let mut row = Row::new();
            row.insert(column.to_string(), value);
            self.ops.push(Operation::Update {
                table: table.to_string(),
                conditions: vec![Condition::uuid(*u)],
                row,
            });
        }
        Ok(())
    }

    /// Adds elements to a set (or pairs to a map, keeping existing keys), as the
    /// `insert` mutator does.
    pub fn insert_into(
        &mut self,
        table: &str,
        key: &RowKey,
        column: &str,
        add: Datum,
    ) -> Result<(), CtlError> {
        let row = self.cached_mut(table, key)?;
        let cur = row.get_or_insert_with(column, Datum::default);
        *cur = union(cur, &add);
        if let Atom::Uuid(u) = key {
            self.ops.push(Operation::Mutate {
                table: table.to_string(),
                conditions: vec![Condition::uuid(*u)],
                mutations: vec![Mutation::new(column, "insert", add)],
            });
        }
        Ok(())
    }

    /// Removes elements from a set, or keys (a set) or pairs (a map) from a map.
    pub fn delete_from(
        &mut self,
        table: &str,
        key: &RowKey,
        column: &str,
        rm: Datum,
    ) -> Result<(), CtlError> {
        let row = self.cached_mut(table, key)?;
        let cur = row.get_or_insert_with(column, Datum::default);
        *cur = difference(cur, &rm);
        if let Atom::Uuid(u) = key {
            self.ops.push(Operation::Mutate {
                table: table.to_string(),
                conditions: vec![Condition::uuid(*u)],
                mutations: vec![Mutation::new(column, "delete", rm)],
            });
        }
        Ok(())
    }

    /// Deletes a row (an explicit `delete` operation).
    pub fn delete(&mut self, table: &str, key: &RowKey) {
        self.deleted.insert(key.clone());
        match key {
            Atom::Uuid(u) => self.ops.push(Operation::Delete {
                table: table.to_string(),
                conditions: vec![Condition::uuid(*u)],
            }),
            _ => self.new_rows.retain(|(_, k)| k != key),
        }
    }

    /// Hides a row that the server will garbage-collect once unreferenced.
    pub fn forget(&mut self, key: &RowKey) {
        self.deleted.insert(key.clone());
    }

    /// Queues `column += 1` on an existing row and a read-back of the new value,
    /// as the IDL's `ovsdb_idl_txn_increment` does.
    pub fn increment(&mut self, table: &str, key: &RowKey, column: &str) {
        if let Atom::Uuid(u) = key {
            self.ops.push(Operation::Mutate {
                table: table.to_string(),
                conditions: vec![Condition::uuid(*u)],
                mutations: vec![Mutation::new(column, "+=", Datum::integer(1))],
            });
            self.increments.push(self.ops.len());
            self.ops.push(Operation::Select {
                table: table.to_string(),
                conditions: vec![Condition::uuid(*u)],
                columns: Some(vec![column.to_string()]),
            });
        }
    }

    pub fn has_changes(&self) -> bool {
        !self.new_rows.is_empty() || !self.ops.is_empty()
    }

    /// Sends every queued write in one transaction (nothing when there is none).
    pub fn commit(&mut self) -> Result<Committed, CtlError> {
        if !self.has_changes() {
            return Ok(Committed::default());
        }
        let mut ops = Vec::new();
        let mut names = Vec::new();
        for (table, key) in &self.new_rows {
            let Atom::NamedUuid(name) = key else { continue };
            let ts = self.table_schema(table)?;
            let mut row = self.cache[table][key].clone();
            row.remove("_uuid");
            // Empty sets and maps are the server's defaults; scalars are always sent
            // (an enum column's server-side default may not be a valid value).
            row.retain(|c, v| ts.column(c).is_some() && !v.is_empty());
            names.push(name.clone());
            ops.push(Operation::Insert {
                table: table.clone(),
                row,
                uuid_name: Some(name.clone()),
            });
        }
        let n_inserts = ops.len();
        ops.append(&mut self.ops.clone());
        ops.push(Operation::Comment(std::env::args().collect::<Vec<_>>().join(" ")));
        let results = self.transact_now(&ops)?;
        let mut done = Committed::default();
        for (name, r) in names.into_iter().zip(&results) {
            if let Some(u) = r.uuid {
                done.inserted.insert(name, u);
            }
        }
        for &i in &self.increments {
            let v = results
                .get(n_inserts + i)
                .and_then(|r| r.rows.as_ref())
                .and_then(|rows| rows.first())
                .and_then(|row| row.values().next())
                .and_then(Datum::as_integer)
                .unwrap_or(0);
            done.increments.push(v);
        }
        self.ops.clear();
        self.new_rows.clear();
        Ok(done)
    }

    /// Waits until `table`'s rows satisfy `done`, watching them with a monitor of its
    /// own (several waits in one invocation each get one; the monitor is cancelled after).
    pub fn wait_for_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        mut done: impl FnMut(&HashMap<String, Row>) -> bool,
    ) -> Result<(), CtlError> {
        let mut notes = self
            .notes
            .take()
            .ok_or_else(|| CtlError::msg("already waiting"))?;
        self.waits += 1;
        let id = format!("rovn-ctl-wait-{}", self.waits);
        let params = json!([self.db, id, {table: {"columns": columns}}]);
        let res = self.rt.block_on(async {
            let initial = self.client.call("monitor", params).await?;
            let mut rows: HashMap<String, Row> = HashMap::new();
            apply_update(&mut rows, initial.get(table));
            loop {
                if done(&rows) {
                    let _ = self.client.call("monitor_cancel", json!([id])).await;
                    return Ok(());
                }
                let Some(n) = notes.recv().await else {
                    return Err(CtlError::msg("database connection closed while waiting"));
                };
                if n.method == "update" && n.params.get(0).and_then(|v| v.as_str()) == Some(id.as_str()) {
                    apply_update(&mut rows, n.params.get(1).and_then(|u| u.get(table)));
                }
            }
        });
        self.notes = Some(notes);
        res
    }
}

fn apply_update(rows: &mut HashMap<String, Row>, upd: Option<&serde_json::Value>) {
    let Some(obj) = upd.and_then(|u| u.as_object()) else {
        return;
    };
    for (uuid, change) in obj {
        match change.get("new") {
            Some(new) => {
                if let Ok(r) = ovsdb::datum::row_from_json(new) {
                    rows.insert(uuid.clone(), r);
                }
            }
            None => {
                rows.remove(uuid);
            }
        }
    }
}

/// Evaluates a condition the way the server would, for the functions commands use.
fn eval(c: &Condition, row: &Row) -> bool {
    let have = row.get(&c.column).cloned().unwrap_or_default();
    match c.function.as_str() {
        "==" => have == c.value || (have.is_empty() && c.value.is_empty()),
        "!=" => have != c.value,
        "includes" => match (&have, &c.value) {
            (Datum::Map(h), Datum::Map(w)) => w.iter().all(|(k, v)| h.get(k) == Some(v)),
            _ => {
                let hk = have.keys();
                c.value.keys().iter().all(|a| hk.contains(a))
            }
        },
        _ => false,
    }
}

fn union(a: &Datum, b: &Datum) -> Datum {
    match (a, b) {
        (Datum::Map(x), Datum::Map(y)) => {
            let mut m = x.clone();
            for (k, v) in y {
                if !m.contains_key(k) {
                    m.insert(k.clone(), v.clone());
                }
            }
            Datum::Map(m)
        }
        (Datum::Set(x), Datum::Map(y)) if x.is_empty() => Datum::Map(y.clone()),
        (x, y) => Datum::set(x.keys().into_iter().chain(y.keys()).cloned()),
    }
}

fn difference(a: &Datum, b: &Datum) -> Datum {
    match (a, b) {
        (Datum::Map(x), Datum::Map(y)) => Datum::Map(
            x.iter()
                .filter(|(k, v)| y.get(k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        (Datum::Map(x), Datum::Set(y)) => Datum::Map(
            x.iter()
                .filter(|(k, _)| !y.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        (x, y) => {
            let rm = y.keys();
            Datum::set(x.keys().into_iter().filter(|a| !rm.contains(a)).cloned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_set_and_map_arithmetic() {
        let s = Datum::set([Atom::string("a"), Atom::string("b")]);
        assert_eq!(union(&s, &Datum::string("c")).len(), 3);
        assert_eq!(difference(&s, &Datum::string("a")), Datum::string("b"));
        let m = Datum::string_map([("k", "v"), ("x", "y")]);
        assert_eq!(union(&m, &Datum::string_map([("k", "other")])), m);
        assert_eq!(
            difference(&m, &Datum::string("k")),
            Datum::string_map([("x", "y")])
        );
        assert_eq!(difference(&m, &Datum::string_map([("x", "no")])), m);
        assert_eq!(union(&Datum::empty_set(), &m), m);
    }

    #[test]
    fn conditions_evaluate_locally() {
        let mut row = Row::new();
        row.insert("name".into(), Datum::string("ls1"));
        row.insert(
            "ports".into(),
            Datum::set([Atom::string("p1"), Atom::string("p2")]),
        );
        assert!(eval(&Condition::eq("name", Datum::string("ls1")), &row));
        assert!(!eval(&Condition::eq("name", Datum::string("ls2")), &row));
        assert!(eval(
            &Condition::new("ports", "includes", Datum::string("p2")),
            &row
        ));
        assert!(!eval(
            &Condition::new("ports", "includes", Datum::string("p3")),
            &row
        ));
    }
}
