//! Monitor requests and table updates (RFC 7047 §4.1.5 and the Open vSwitch
//! extensions `monitor_cond`, `monitor_cond_since` and `monitor_cond_change`,
//! ovsdb-server(7)). Pure code: builds request parameters and parses replies and
//! notifications into [`TableUpdates`]; applying them is the [`crate::idl`]'s job.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::datum::{Datum, Row};
use crate::error::Error;
use crate::ops::Condition;
use crate::row::ColumnsCache;
use crate::schema::{DatabaseSchema, TableSchema};

/// The three generations of the monitor protocol, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonitorMethod {
    /// RFC 7047 `monitor`, answered by `update` notifications (whole old/new rows).
    Monitor,
    /// `monitor_cond`: conditions, and `update2` notifications carrying diffs.
    MonitorCond,
    /// `monitor_cond_since`: like `monitor_cond`, plus resuming from a transaction id
    /// after a reconnect; `update3` notifications carry the transaction id.
    MonitorCondSince,
}

impl MonitorMethod {
    pub fn name(self) -> &'static str {
        match self {
            MonitorMethod::Monitor => "monitor",
            MonitorMethod::MonitorCond => "monitor_cond",
            MonitorMethod::MonitorCondSince => "monitor_cond_since",
        }
    }

    /// The method to try when the server does not know this one.
    pub fn fallback(self) -> Option<MonitorMethod> {
        match self {
            MonitorMethod::MonitorCondSince => Some(MonitorMethod::MonitorCond),
            MonitorMethod::MonitorCond => Some(MonitorMethod::Monitor),
            MonitorMethod::Monitor => None,
        }
    }

    /// The notification method carrying this monitor's updates.
    pub fn update_method(self) -> &'static str {
        match self {
            MonitorMethod::Monitor => "update",
            MonitorMethod::MonitorCond => "update2",
            MonitorMethod::MonitorCondSince => "update3",
        }
    }

    pub fn supports_conditions(self) -> bool {
        self != MonitorMethod::Monitor
    }
}

/// Whether an RPC error means "this server does not implement the method".
pub fn is_unknown_method(error: &Error) -> bool {
    match error {
        Error::Rpc { error, .. } => {
            let text = error
                .as_str()
                .map(str::to_string)
                .or_else(|| error.get("error").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            text.contains("unknown method")
        }
        _ => false,
    }
}

/// One clause of a monitor condition. The clauses of a table's condition are a
/// **disjunction**: a row is sent when it matches any of them; an empty list, or no
/// condition at all, matches every row, and `[False]` matches none.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    True,
    False,
    Cond(Condition),
}

impl Clause {
    pub fn to_json(&self) -> Value {
        match self {
            Clause::True => json!(true),
            Clause::False => json!(false),
            Clause::Cond(c) => c.to_json(),
        }
    }
}

impl From<Condition> for Clause {
    fn from(c: Condition) -> Self {
        Clause::Cond(c)
    }
}

/// What to monitor in one table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableMonitor {
    /// Columns to replicate; `None` means every column of the schema.
    pub columns: Option<Vec<String>>,
    /// Rows to replicate (see [`Clause`]); `None` means all rows. Ignored by servers
    /// that only speak plain `monitor`.
    pub condition: Option<Vec<Clause>>,
}

impl TableMonitor {
    pub fn all() -> Self {
        Self::default()
    }

    pub fn columns<S: Into<String>>(cols: impl IntoIterator<Item = S>) -> Self {
        TableMonitor {
            columns: Some(cols.into_iter().map(Into::into).collect()),
            condition: None,
        }
    }

    pub fn with_condition(mut self, clauses: Vec<Clause>) -> Self {
        self.condition = Some(clauses);
        self
    }

    /// The columns actually monitored given a schema: the requested ones that exist
    /// (servers reject unknown columns), or all of them.
    pub fn effective_columns(&self, table: &TableSchema) -> Vec<String> {
        match &self.columns {
            Some(c) => c
                .iter()
                .filter(|c| table.columns.contains_key(c.as_str()))
                .cloned()
                .collect(),
            None => table.columns.keys().cloned().collect(),
        }
    }

    fn request_json(&self, table: &TableSchema, method: MonitorMethod) -> Value {
        let mut o = serde_json::Map::new();
        o.insert("columns".into(), json!(self.effective_columns(table)));
        if method.supports_conditions()
            && let Some(cond) = &self.condition
        {
            o.insert(
                "where".into(),
                Value::Array(cond.iter().map(Clause::to_json).collect()),
            );
        }
        Value::Object(o)
    }
}

/// Builds the `params` of a monitor request. Tables missing from `schema` are
/// skipped (the server would refuse the whole request).
pub fn monitor_params(
    method: MonitorMethod,
    db: &str,
    monitor_id: &Value,
    schema: &DatabaseSchema,
    tables: &BTreeMap<String, TableMonitor>,
    last_txn_id: Option<&str>,
) -> Value {
    let mut reqs = serde_json::Map::new();
    for (name, mon) in tables {
        if let Some(ts) = schema.table(name) {
            let r = mon.request_json(ts, method);
            // `monitor` takes one request object; the conditional methods take arrays.
            reqs.insert(
                name.clone(),
                if method == MonitorMethod::Monitor {
                    r
                } else {
                    json!([r])
                },
            );
        }
    }
    let mut p = vec![json!(db), monitor_id.clone(), Value::Object(reqs)];
    if method == MonitorMethod::MonitorCondSince {
        p.push(json!(last_txn_id.unwrap_or(ZERO_TXN_ID)));
    }
    Value::Array(p)
}

/// `monitor_cond_since`'s "I have nothing" transaction id.
pub const ZERO_TXN_ID: &str = "00000000-0000-0000-0000-000000000000";

/// `monitor_cond_change` params replacing the conditions of some tables.
pub fn cond_change_params(monitor_id: &Value, changes: &BTreeMap<String, Vec<Clause>>) -> Value {
    let reqs: serde_json::Map<String, Value> = changes
        .iter()
        .map(|(t, c)| {
            (
                t.clone(),
                json!([{"where": c.iter().map(Clause::to_json).collect::<Vec<_>>()}]),
            )
        })
        .collect();
    json!([monitor_id, monitor_id, reqs])
}

/// What happened to one row, as the server reported it.
#[derive(Debug, Clone, PartialEq)]
pub enum RowUpdate {
    /// The row's full contents (`initial`/`insert` of update2, `new` of update).
    /// Columns omitted by the server have their default value.
    Insert(Row),
    /// Diffs of the changed columns (update2 `modify`).
    Modify(Row),
    /// The full new contents of an existing row (update `old`+`new`).
    Replace(Row),
    Delete,
}

/// Row updates grouped by table, in the order the server listed them.
pub type TableUpdates = BTreeMap<String, Vec<(Uuid, RowUpdate)>>;

/// Which wire format an update uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateFormat {
    /// `update` (RFC 7047 `<table-updates>`).
    V1,
    /// `update2`/`update3` (`<table-updates2>`).
    V2,
}

/// Parses `<table-updates>`/`<table-updates2>`, typing each value by the column
/// type in `schema` (columns it does not know are parsed untyped). Everything is
/// parsed before anything is applied, so a malformed update changes nothing.
pub fn parse_table_updates(
    v: &Value,
    format: UpdateFormat,
    schema: &DatabaseSchema,
) -> Result<TableUpdates, Error> {
    parse_table_updates_owned(v.clone(), format, schema)
}

/// [`parse_table_updates`], consuming the JSON: each row's JSON is freed as soon as
/// it is parsed, so a large update (a full dump, the echo of a big transaction) never
/// exists twice in full, as JSON and as rows.
pub fn parse_table_updates_owned(
    v: Value,
    format: UpdateFormat,
    schema: &DatabaseSchema,
) -> Result<TableUpdates, Error> {
    let bad = |what: &str| Error::Protocol(format!("malformed table updates: {what}"));
    let Value::Object(tables) = v else {
        return Err(bad("not an object"));
    };
    let mut out = TableUpdates::new();
    for (tname, rows) in tables {
        let ts = schema.table(&tname);
        let Value::Object(rows) = rows else {
            return Err(bad("table updates not an object"));
        };
        let list = out.entry(tname).or_default();
        list.reserve(rows.len());
        let mut cols = ColumnsCache::default();
        for (uuid, ru) in rows {
            list.push(parse_row_update(&uuid, ru, format, ts, &mut cols)?);
        }
    }
    Ok(out)
}

/// One row's `<row-update>`/`<row-update2>` (the JSON under its UUID).
fn parse_row_update(
    uuid: &str,
    ru: Value,
    format: UpdateFormat,
    ts: Option<&TableSchema>,
    cols: &mut ColumnsCache,
) -> Result<(Uuid, RowUpdate), Error> {
    let bad = |what: &str| Error::Protocol(format!("malformed table updates: {what}"));
    let uuid = Uuid::parse_str(uuid).map_err(|_| bad("row key is not a uuid"))?;
    let Value::Object(mut ru) = ru else {
        return Err(bad("row update not an object"));
    };
    let update = match format {
        UpdateFormat::V1 => match (ru.remove("new"), ru.contains_key("old")) {
            (Some(new), true) => RowUpdate::Replace(parse_columns(&new, ts, cols)?),
            (Some(new), false) => RowUpdate::Insert(parse_columns(&new, ts, cols)?),
            (None, true) => RowUpdate::Delete,
            (None, false) => return Err(bad("row update with neither old nor new")),
        },
        UpdateFormat::V2 => {
            if let Some(r) = ru.remove("initial").or_else(|| ru.remove("insert")) {
                RowUpdate::Insert(parse_columns(&r, ts, cols)?)
            } else if let Some(r) = ru.remove("modify") {
                RowUpdate::Modify(parse_columns(&r, ts, cols)?)
            } else if ru.contains_key("delete") {
                RowUpdate::Delete
            } else {
                return Err(bad("row update2 without initial/insert/modify/delete"));
            }
        }
    };
    Ok((uuid, update))
}

/// An update notification's parameters parsed from their text, for monitor
/// `monitor_id`: (update3's transaction id, the updates). `Ok(None)` for another
/// method or another monitor. Only one row's JSON exists at a time: the rows are
/// built as the text is read (the same rows [`parse_table_updates`] gives).
pub fn parse_raw_update(
    method: &str,
    params: &RawValue,
    monitor_id: &Value,
    schema: &DatabaseSchema,
) -> Result<Option<(Option<String>, TableUpdates)>, Error> {
    let (format, v3) = match method {
        "update" => (UpdateFormat::V1, false),
        "update2" => (UpdateFormat::V2, false),
        "update3" => (UpdateFormat::V2, true),
        _ => return Ok(None),
    };
    let seed = ParamsSeed {
        v3,
        monitor_id,
        format,
        schema,
    };
    let mut de = serde_json::Deserializer::from_str(params.get());
    seed.deserialize(&mut de)
        .map_err(|e| Error::Protocol(format!("malformed {method} notification: {e}")))
}

/// `[<monitor id>, (<txn id>,) <table updates>]`.
struct ParamsSeed<'s> {
    v3: bool,
    monitor_id: &'s Value,
    format: UpdateFormat,
    schema: &'s DatabaseSchema,
}

type RawParsed = Option<(Option<String>, TableUpdates)>;

impl<'de> DeserializeSeed<'de> for ParamsSeed<'_> {
    type Value = RawParsed;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawParsed, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ParamsSeed<'_> {
    type Value = RawParsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("update notification parameters")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawParsed, A::Error> {
        let id: Value = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("no monitor id"))?;
        let txn = match self.v3 {
            true => Some(
                seq.next_element::<String>()?
                    .ok_or_else(|| de::Error::custom("no transaction id"))?,
            ),
            false => None,
        };
        if id != *self.monitor_id {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(None);
        }
        let tables = TablesSeed {
            format: self.format,
            schema: self.schema,
        };
        let ups = seq
            .next_element_seed(tables)?
            .ok_or_else(|| de::Error::custom("no table updates"))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("too many parameters"));
        }
        Ok(Some((txn, ups)))
    }
}

/// `<table-updates>`/`<table-updates2>`, row by row.
struct TablesSeed<'s> {
    format: UpdateFormat,
    schema: &'s DatabaseSchema,
}

impl<'de> DeserializeSeed<'de> for TablesSeed<'_> {
    type Value = TableUpdates;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TableUpdates, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TablesSeed<'_> {
    type Value = TableUpdates;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("table updates")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TableUpdates, A::Error> {
        let mut out = TableUpdates::new();
        while let Some(tname) = map.next_key::<String>()? {
            let rows = RowsSeed {
                format: self.format,
                ts: self.schema.table(&tname),
            };
            let rows = map.next_value_seed(rows)?;
            out.entry(tname).or_default().extend(rows);
        }
        Ok(out)
    }
}

/// One table's row updates: each row's JSON parsed and dropped before the next.
struct RowsSeed<'s> {
    format: UpdateFormat,
    ts: Option<&'s TableSchema>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = Vec<(Uuid, RowUpdate)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = Vec<(Uuid, RowUpdate)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("row updates")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut cols = ColumnsCache::default();
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(uuid) = map.next_key::<String>()? {
            let ru: Value = map.next_value()?;
            out.push(
                parse_row_update(&uuid, ru, self.format, self.ts, &mut cols).map_err(de::Error::custom)?,
            );
        }
        Ok(out)
    }
}

/// Parses a row or a row's diff; rows with the same columns share their names.
fn parse_columns(v: &Value, ts: Option<&TableSchema>, cols: &mut ColumnsCache) -> Result<Row, Error> {
    let o = v
        .as_object()
        .ok_or_else(|| Error::Protocol(format!("row is not an object: {v}")))?;
    let mut pairs = Vec::with_capacity(o.len());
    for (col, val) in o {
        let d = match ts.and_then(|t| t.column(col)) {
            // Diffs of sets may exceed the column's size bounds, so only atom types
            // are checked here, never sizes.
            Some(cs) => {
                Datum::from_json_typed(val, &cs.ty).map_err(|e| Error::Datum(format!("column {col}: {e}")))?
            }
            None => Datum::from_json(val)?,
        };
        pairs.push((col.as_str(), d));
    }
    Ok(cols.row(pairs))
}

/// A parsed `monitor_cond_since` reply.
#[derive(Debug, Clone, PartialEq)]
pub struct SinceReply {
    /// The server still had our last transaction: `updates` is a delta.
    pub found: bool,
    pub last_txn_id: String,
    pub updates: Value,
}

pub fn parse_since_reply(v: &Value) -> Result<SinceReply, Error> {
    parse_since_reply_owned(v.clone())
}

/// [`parse_since_reply`], moving the updates out of the reply instead of copying them.
pub fn parse_since_reply_owned(v: Value) -> Result<SinceReply, Error> {
    let bad = |v: &Value| {
        Error::Protocol(format!(
            "malformed monitor_cond_since reply: {}",
            crate::monitor::truncate(v)
        ))
    };
    match v {
        Value::Array(a) if matches!(a.as_slice(), [Value::Bool(_), Value::String(_), _]) => {
            let mut it = a.into_iter();
            match (it.next(), it.next(), it.next()) {
                (Some(Value::Bool(found)), Some(Value::String(last_txn_id)), Some(updates)) => {
                    Ok(SinceReply {
                        found,
                        last_txn_id,
                        updates,
                    })
                }
                _ => Err(bad(&Value::Null)),
            }
        }
        v => Err(bad(&v)),
    }
}

/// A parsed update notification: which monitor, the transaction id (update3) and the
/// raw table updates.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateNotification {
    pub monitor_id: Value,
    pub format: UpdateFormat,
    pub last_txn_id: Option<String>,
    pub updates: Value,
}

impl UpdateNotification {
    /// Recognizes `update`, `update2` and `update3`; `Ok(None)` for other methods.
    pub fn parse(method: &str, params: &Value) -> Result<Option<Self>, Error> {
        let Some(h) = NotificationHeader::parse(method, params)? else {
            return Ok(None);
        };
        let updates = params
            .as_array()
            .and_then(|p| p.last())
            .cloned()
            .unwrap_or_default();
        Ok(Some(h.with_updates(updates)))
    }

    /// Like [`UpdateNotification::parse`], but moves the updates out of `params` (leaving
    /// `null` there), and only when the notification is for `monitor_id`: a large update
    /// is then never copied. Other notifications leave `params` untouched.
    pub fn take(method: &str, params: &mut Value, monitor_id: &Value) -> Result<Option<Self>, Error> {
        let Some(h) = NotificationHeader::parse(method, params)? else {
            return Ok(None);
        };
        if h.monitor_id != *monitor_id {
            return Ok(None);
        }
        let updates = match params.as_array_mut().and_then(|p| p.last_mut()) {
            Some(u) => std::mem::take(u),
            None => Value::Null,
        };
        Ok(Some(h.with_updates(updates)))
    }
}

/// An update notification without its updates.
struct NotificationHeader {
    monitor_id: Value,
    format: UpdateFormat,
    last_txn_id: Option<String>,
}

impl NotificationHeader {
    fn parse(method: &str, params: &Value) -> Result<Option<Self>, Error> {
        let bad = || Error::Protocol(format!("malformed {method} notification: {}", truncate(params)));
        let p = params.as_array().map(Vec::as_slice);
        Ok(Some(match method {
            "update" | "update2" => match p {
                Some([id, _]) => NotificationHeader {
                    monitor_id: id.clone(),
                    format: if method == "update" {
                        UpdateFormat::V1
                    } else {
                        UpdateFormat::V2
                    },
                    last_txn_id: None,
                },
                _ => return Err(bad()),
            },
            "update3" => match p {
                Some([id, Value::String(txn), _]) => NotificationHeader {
                    monitor_id: id.clone(),
                    format: UpdateFormat::V2,
                    last_txn_id: Some(txn.clone()),
                },
                _ => return Err(bad()),
            },
            _ => return Ok(None),
        }))
    }

    fn with_updates(self, updates: Value) -> UpdateNotification {
        UpdateNotification {
            monitor_id: self.monitor_id,
            format: self.format,
            last_txn_id: self.last_txn_id,
            updates,
        }
    }
}

/// A JSON value shortened for error messages.
pub(crate) fn truncate(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: &str = include_str!("../../../schemas/ovn-nb.ovsschema");

    fn nb() -> DatabaseSchema {
        DatabaseSchema::parse(NB).unwrap()
    }

    #[test]
    fn builds_params_for_each_method() {
        let s = nb();
        let mut t = BTreeMap::new();
        t.insert(
            "Logical_Switch".to_string(),
            TableMonitor::columns(["name", "nope"]).with_condition(vec![
                Clause::Cond(Condition::eq("name", Datum::string("a"))),
                Clause::False,
            ]),
        );
        t.insert("No_Such_Table".to_string(), TableMonitor::all());
        let id = json!("m");
        let p = monitor_params(MonitorMethod::MonitorCondSince, "N", &id, &s, &t, None);
        assert_eq!(
            p,
            json!(["N", "m", {"Logical_Switch": [{"columns": ["name"], "where": [["name", "==", "a"], false]}]}, ZERO_TXN_ID])
        );
        let p = monitor_params(MonitorMethod::MonitorCond, "N", &id, &s, &t, Some("x"));
        assert_eq!(p.as_array().unwrap().len(), 3);
        let p = monitor_params(MonitorMethod::Monitor, "N", &id, &s, &t, None);
        assert_eq!(p, json!(["N", "m", {"Logical_Switch": {"columns": ["name"]}}]));
        let mut ch = BTreeMap::new();
        ch.insert("Logical_Switch".to_string(), vec![Clause::True]);
        assert_eq!(
            cond_change_params(&id, &ch),
            json!(["m", "m", {"Logical_Switch": [{"where": [true]}]}])
        );
    }

    #[test]
    fn fallback_chain_and_unknown_method() {
        assert_eq!(
            MonitorMethod::MonitorCondSince.fallback(),
            Some(MonitorMethod::MonitorCond)
        );
        assert_eq!(MonitorMethod::Monitor.fallback(), None);
        let e = Error::Rpc {
            method: "monitor_cond_since".into(),
            error: json!("unknown method"),
        };
        assert!(is_unknown_method(&e));
        assert!(!is_unknown_method(&Error::Disconnected));
    }

    #[test]
    fn parses_updates_and_rejects_garbage() {
        let s = nb();
        let u = Uuid::new_v4().to_string();
        let v2 = json!({"Logical_Switch": {u.clone(): {"modify": {"ports": ["set", []], "other_config": ["map", [["a", "b"]]]}}}});
        let got = parse_table_updates(&v2, UpdateFormat::V2, &s).unwrap();
        let (_, RowUpdate::Modify(r)) = &got["Logical_Switch"][0] else {
            panic!()
        };
        assert_eq!(r["other_config"], Datum::string_map([("a", "b")]));
        let v1 = json!({"Logical_Switch": {u.clone(): {"old": {"name": "a"}, "new": {"name": "b"}}}});
        let got = parse_table_updates(&v1, UpdateFormat::V1, &s).unwrap();
        assert!(matches!(got["Logical_Switch"][0].1, RowUpdate::Replace(_)));
        for bad in [
            json!([]),
            json!({"Logical_Switch": []}),
            json!({"Logical_Switch": {"not-a-uuid": {"delete": null}}}),
            json!({"Logical_Switch": {u.clone(): {}}}),
            json!({"Logical_Switch": {u.clone(): {"insert": {"name": 5}}}}),
            json!({"Logical_Switch": {u.clone(): {"insert": 7}}}),
        ] {
            assert!(parse_table_updates(&bad, UpdateFormat::V2, &s).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_notifications() {
        let n = UpdateNotification::parse("update3", &json!(["m", "txn", {}]))
            .unwrap()
            .unwrap();
        assert_eq!(n.last_txn_id.as_deref(), Some("txn"));
        assert!(
            UpdateNotification::parse("locked", &json!(["x"]))
                .unwrap()
                .is_none()
        );
        assert!(UpdateNotification::parse("update2", &json!(["m"])).is_err());
        assert!(UpdateNotification::parse("update3", &json!(["m", 1, {}])).is_err());
        assert!(parse_since_reply(&json!([true, "x", {}])).unwrap().found);
        assert!(parse_since_reply(&json!([true, {}])).is_err());
    }

    /// Parsed from text, an update gives the rows the JSON-tree path gives; another
    /// monitor's update or another method is not ours; malformed ones are errors.
    #[test]
    fn raw_updates_parse_like_json_ones() {
        let s = nb();
        let (a, b) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        let tables = json!({
            "Logical_Switch": {
                a.clone(): {"insert": {"name": "ls1", "other_config": ["map", [["k", "v"]]]}},
                b.clone(): {"modify": {"ports": ["set", []]}},
            },
            "Logical_Switch_Port": {b.clone(): {"delete": null}},
        });
        let raw = |v: &Value| RawValue::from_string(v.to_string()).unwrap();
        let id = json!(["m", 1]);
        let want = parse_table_updates(&tables, UpdateFormat::V2, &s).unwrap();
        let got = parse_raw_update("update3", &raw(&json!([id, "txn-9", tables])), &id, &s).unwrap();
        assert_eq!(got, Some((Some("txn-9".to_string()), want.clone())));
        let got = parse_raw_update("update2", &raw(&json!([id, tables])), &id, &s).unwrap();
        assert_eq!(got, Some((None, want)));
        let v1 = json!({"Logical_Switch": {a.clone(): {"old": {"name": "x"}, "new": {"name": "y"}}}});
        let got = parse_raw_update("update", &raw(&json!([id, v1])), &id, &s).unwrap();
        assert_eq!(
            got.map(|(_, u)| u),
            Some(parse_table_updates(&v1, UpdateFormat::V1, &s).unwrap())
        );
        // Not ours.
        assert_eq!(
            parse_raw_update("update2", &raw(&json!(["other", tables])), &id, &s).unwrap(),
            None
        );
        assert_eq!(
            parse_raw_update("locked", &raw(&json!(["x"])), &id, &s).unwrap(),
            None
        );
        for bad in [
            json!([id]),
            json!([id, 5, tables]),
            json!([id, {"Logical_Switch": {"not-a-uuid": {"delete": null}}}]),
            json!([id, {"Logical_Switch": {a.clone(): {"insert": {"name": 5}}}}]),
            json!([id, tables, "extra"]),
        ] {
            let method = if bad.as_array().is_some_and(|p| p.len() == 3 && p[1].is_number()) {
                "update3"
            } else {
                "update2"
            };
            assert!(parse_raw_update(method, &raw(&bad), &id, &s).is_err(), "{bad}");
        }
    }
}
