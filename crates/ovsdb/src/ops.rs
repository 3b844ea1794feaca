//! Transaction operations (RFC 7047 §5.2) and their results.

use serde_json::{Value, json};

use crate::datum::{Datum, Row, row_from_json, row_to_json};
use crate::error::{Error, TxnError};
use uuid::Uuid;

/// `[column, function, value]`, e.g. `["name", "==", "ls1"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub function: String,
    pub value: Datum,
}

impl Condition {
    pub fn new(column: impl Into<String>, function: impl Into<String>, value: Datum) -> Self {
        Condition {
            column: column.into(),
            function: function.into(),
            value,
        }
    }

    pub fn eq(column: impl Into<String>, value: Datum) -> Self {
        Self::new(column, "==", value)
    }

    pub fn uuid(u: Uuid) -> Self {
        Self::eq("_uuid", Datum::uuid(u))
    }

    pub fn to_json(&self) -> Value {
        json!([self.column, self.function, self.value.to_json()])
    }
}

/// `[column, mutator, value]`, e.g. `["ports", "insert", ["set", [..]]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub column: String,
    pub mutator: String,
    pub value: Datum,
}

impl Mutation {
    pub fn new(column: impl Into<String>, mutator: impl Into<String>, value: Datum) -> Self {
        Mutation {
            column: column.into(),
            mutator: mutator.into(),
            value,
        }
    }

    pub fn to_json(&self) -> Value {
        json!([self.column, self.mutator, self.value.to_json()])
    }
}

/// An operation that writes its own JSON when the transaction is sent, so that
/// a large transaction need not hold every row as a [`Row`] until then (a cold
/// Southbound write is tens of thousands of inserts).
pub trait WriteOp: std::fmt::Debug + Send + Sync {
    /// Appends the operation's JSON object to `out`.
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;

    /// The table it inserts a row into, if it is an `insert` (whose result then
    /// carries the new row's UUID).
    fn inserts_into(&self) -> Option<&str> {
        None
    }
}

impl PartialEq for dyn WriteOp {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        self.write_json(&mut a).is_ok() && other.write_json(&mut b).is_ok() && a == b
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Written by the caller's code at send time (see [`WriteOp`]).
    Deferred(std::sync::Arc<dyn WriteOp>),
    Insert {
        table: String,
        row: Row,
        uuid_name: Option<String>,
    },
    Select {
        table: String,
        conditions: Vec<Condition>,
        columns: Option<Vec<String>>,
    },
    Update {
        table: String,
        conditions: Vec<Condition>,
        row: Row,
    },
    Mutate {
        table: String,
        conditions: Vec<Condition>,
        mutations: Vec<Mutation>,
    },
    Delete {
        table: String,
        conditions: Vec<Condition>,
    },
    Wait {
        table: String,
        timeout_ms: Option<u64>,
        conditions: Vec<Condition>,
        columns: Vec<String>,
        until_equal: bool,
        rows: Vec<Row>,
    },
    Commit {
        durable: bool,
    },
    Abort,
    Comment(String),
    Assert {
        lock: String,
    },
}

impl Operation {
    pub fn to_json(&self) -> Value {
        let conds = |c: &[Condition]| Value::Array(c.iter().map(Condition::to_json).collect());
        match self {
            Operation::Deferred(w) => {
                let mut out = Vec::new();
                match w.write_json(&mut out).map(|_| serde_json::from_slice(&out)) {
                    Ok(Ok(v)) => v,
                    _ => Value::Null,
                }
            }
            Operation::Insert {
                table,
                row,
                uuid_name,
            } => {
                let mut v = json!({"op": "insert", "table": table, "row": row_to_json(row)});
                if let Some(n) = uuid_name {
                    v["uuid-name"] = json!(n);
                }
                v
            }
            Operation::Select {
                table,
                conditions,
                columns,
            } => {
                let mut v = json!({"op": "select", "table": table, "where": conds(conditions)});
                if let Some(c) = columns {
                    v["columns"] = json!(c);
                }
                v
            }
            Operation::Update {
                table,
                conditions,
                row,
            } => {
                json!({"op": "update", "table": table, "where": conds(conditions), "row": row_to_json(row)})
            }
            Operation::Mutate {
                table,
                conditions,
                mutations,
            } => json!({
                "op": "mutate", "table": table, "where": conds(conditions),
                "mutations": mutations.iter().map(Mutation::to_json).collect::<Vec<_>>()
            }),
            Operation::Delete { table, conditions } => {
                json!({"op": "delete", "table": table, "where": conds(conditions)})
            }
            Operation::Wait {
                table,
                timeout_ms,
                conditions,
                columns,
                until_equal,
                rows,
            } => {
                let mut v = json!({
                    "op": "wait", "table": table, "where": conds(conditions), "columns": columns,
                    "until": if *until_equal { "==" } else { "!=" },
                    "rows": rows.iter().map(row_to_json).collect::<Vec<_>>()
                });
                if let Some(t) = timeout_ms {
                    v["timeout"] = json!(t);
                }
                v
            }
            Operation::Commit { durable } => json!({"op": "commit", "durable": durable}),
            Operation::Abort => json!({"op": "abort"}),
            Operation::Comment(c) => json!({"op": "comment", "comment": c}),
            Operation::Assert { lock } => json!({"op": "assert", "lock": lock}),
        }
    }
}

/// What one operation of a successful transaction returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpResult {
    /// The new row's UUID, for `insert`.
    pub uuid: Option<Uuid>,
    /// Rows affected, for `update`, `mutate` and `delete`.
    pub count: Option<u64>,
    /// Rows returned, for `select`.
    pub rows: Option<Vec<Row>>,
}

/// Interprets a `transact` reply: all results, or the first error (RFC 7047 §4.1.3: an
/// error object appears at the failing operation's index, or one past the end when
/// the commit itself failed).
pub fn parse_results(result: &Value, n_ops: usize) -> Result<Vec<OpResult>, Error> {
    let items = result
        .as_array()
        .ok_or_else(|| Error::Protocol(format!("transact result is not an array: {result}")))?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    finish(
        items.iter().map(|v| (!v.is_null()).then_some(v)).collect(),
        n_ops,
        |v| Some((text(v, "error")?, text(v, "details"))),
        |v| {
            let mut r = OpResult::default();
            if let Some(u) = v.get("uuid") {
                r.uuid = Datum::from_json(u)?.as_uuid();
            }
            r.count = v.get("count").and_then(Value::as_u64);
            if let Some(rows) = v.get("rows").and_then(Value::as_array) {
                r.rows = Some(rows.iter().map(row_from_json).collect::<Result<_, _>>()?);
            }
            Ok(r)
        },
    )
}

/// [`parse_results`] from the result's text, without a JSON tree of it (one map
/// per operation, ~0.6 kB each).
pub fn parse_results_text(
    result: &serde_json::value::RawValue,
    n_ops: usize,
) -> Result<Vec<OpResult>, Error> {
    // Fixed-size fields only, in the usual case: an insert's result is a UUID, not
    // a tree of strings.
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        uuid: Option<ResultUuid>,
        #[serde(default)]
        count: Option<u64>,
        #[serde(default)]
        rows: Option<Vec<Value>>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        details: Option<String>,
    }
    let Ok(items) = serde_json::from_str::<Vec<Option<Item>>>(result.get()) else {
        // Not the usual shape: the tree-based reading says what is wrong with it.
        let v: Value = serde_json::from_str(result.get())
            .map_err(|e| Error::Protocol(format!("transact result: {e}")))?;
        return parse_results(&v, n_ops);
    };
    finish(
        items,
        n_ops,
        |it| Some((it.error.clone()?, it.details.clone())),
        |it| {
            Ok(OpResult {
                uuid: it.uuid.map(|u| u.0),
                count: it.count,
                rows: match it.rows {
                    Some(rows) => Some(rows.iter().map(row_from_json).collect::<Result<_, _>>()?),
                    None => None,
                },
            })
        },
    )
}

/// `["uuid", "<uuid>"]`, read without allocating.
struct ResultUuid(Uuid);

impl<'de> serde::Deserialize<'de> for ResultUuid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let (tag, text): (&str, &str) = serde::Deserialize::deserialize(d)?;
        if tag != "uuid" {
            return Err(D::Error::custom("not a uuid"));
        }
        Uuid::parse_str(text).map(ResultUuid).map_err(D::Error::custom)
    }
}

/// Both readings' rules (`None`: a JSON null): the first error wins, with its
/// operation's index (none when the commit itself failed), then every operation
/// must have a result.
fn finish<T>(
    items: Vec<Option<T>>,
    n_ops: usize,
    error: impl Fn(&T) -> Option<(String, Option<String>)>,
    result: impl Fn(T) -> Result<OpResult, Error>,
) -> Result<Vec<OpResult>, Error> {
    let failed = items
        .iter()
        .enumerate()
        .find_map(|(i, it)| Some((i, error(it.as_ref()?)?)));
    if let Some((i, (error, details))) = failed {
        return Err(Error::Txn(TxnError {
            error,
            details,
            op_index: (i < n_ops).then_some(i),
        }));
    }
    if items.len() < n_ops {
        return Err(Error::Protocol(format!(
            "{} results for {n_ops} operations",
            items.len()
        )));
    }
    items
        .into_iter()
        .take(n_ops)
        .map(|it| it.map_or_else(|| Ok(OpResult::default()), &result))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_with_named_uuid() {
        let mut row = Row::new();
        row.insert("name".into(), Datum::string("ls1"));
        let op = Operation::Insert {
            table: "Logical_Switch".into(),
            row,
            uuid_name: Some("ls".into()),
        };
        assert_eq!(
            op.to_json(),
            json!({"op":"insert","table":"Logical_Switch","row":{"name":"ls1"},"uuid-name":"ls"})
        );
    }

    #[test]
    fn results_and_errors() {
        let u = Uuid::new_v4();
        let ok = json!([{"uuid": ["uuid", u.to_string()]}, {"count": 2}, {"rows": [{"name": "a"}]}, {}]);
        let r = parse_results(&ok, 4).unwrap();
        assert_eq!(r[0].uuid, Some(u));
        assert_eq!(r[1].count, Some(2));
        assert_eq!(r[2].rows.as_ref().unwrap()[0]["name"], Datum::string("a"));
        let bad = json!([{"count": 1}, {"error": "constraint violation", "details": "dup"}]);
        let e = parse_results(&bad, 2).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Txn(TxnError {
                    op_index: Some(1),
                    ..
                })
            ),
            "{e}"
        );
        let commit_failed = json!([{}, {"error": "referential integrity violation"}]);
        assert!(matches!(
            parse_results(&commit_failed, 1),
            Err(Error::Txn(TxnError { op_index: None, .. }))
        ));
        assert!(parse_results(&json!({}), 1).is_err());
        assert!(parse_results(&json!([]), 1).is_err());
    }

    /// The text reading gives what the tree reading gives, results and errors alike.
    #[test]
    fn results_from_text_equal_results_from_the_tree() {
        let u = Uuid::new_v4();
        let replies = [
            (
                json!([{"uuid": ["uuid", u.to_string()]}, {"count": 2}, {"rows": [{"name": "a"}]}, {}]),
                4,
            ),
            (
                json!([{"count": 1}, {"error": "constraint violation", "details": "dup"}]),
                2,
            ),
            (json!([{}, {"error": "referential integrity violation"}]), 1),
            (
                json!([{"uuid": ["uuid", u.to_string()]}, null, {"count": -1}, {"rows": 3}]),
                4,
            ),
            (json!([1, "x"]), 2),
            (json!({}), 1),
            (json!([]), 1),
            (json!([{"uuid": ["named-uuid", "x"]}]), 1),
            (json!([{"uuid": "not a uuid"}]), 1),
        ];
        for (reply, n) in replies {
            let text = serde_json::value::RawValue::from_string(reply.to_string()).unwrap();
            let (a, b) = (parse_results(&reply, n), parse_results_text(&text, n));
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{reply}");
        }
    }
}
