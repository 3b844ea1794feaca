//! OVSDB helpers over the repository's client: watching `NB_Global`'s
//! `nb_cfg`/`sb_cfg` handshake, bumping `nb_cfg`, dumping a whole database and
//! replaying a dump into a fresh server.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use ovsdb::remote::Remote;
use ovsdb::{Client, Condition, Datum, Mutation, Operation};
use serde_json::{Value, json};
use tokio::sync::watch;

pub const NB_DB: &str = "OVN_Northbound";
pub const SB_DB: &str = "OVN_Southbound";

pub async fn connect(
    remote: &str,
) -> Result<(
    Client,
    tokio::sync::mpsc::UnboundedReceiver<ovsdb::client::Notification>,
)> {
    let r = Remote::parse(remote).with_context(|| format!("parsing remote {remote}"))?;
    Client::connect(&r)
        .await
        .with_context(|| format!("connecting to {remote}"))
}

pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `NB_Global`'s handshake columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cfg {
    pub nb_cfg: i64,
    pub sb_cfg: i64,
    pub nb_cfg_timestamp: i64,
    pub sb_cfg_timestamp: i64,
}

impl Cfg {
    /// Northd's own share of the last change, from its timestamps (ms).
    pub fn northd_ms(&self) -> i64 {
        self.sb_cfg_timestamp - self.nb_cfg_timestamp
    }
}

const CFG_COLUMNS: [&str; 4] = ["nb_cfg", "sb_cfg", "nb_cfg_timestamp", "sb_cfg_timestamp"];

/// A live view of `NB_Global`'s handshake columns, through its own monitor connection.
pub struct CfgWatch {
    client: Client,
    rx: watch::Receiver<Cfg>,
}

impl CfgWatch {
    pub async fn start(remote: &str) -> Result<CfgWatch> {
        let (client, mut notes) = connect(remote).await?;
        let initial = client
            .call(
                "monitor",
                json!([NB_DB, "bench-cfg", {"NB_Global": {"columns": CFG_COLUMNS}}]),
            )
            .await
            .context("monitoring NB_Global")?;
        let mut cfg = Cfg::default();
        apply_cfg_update(&mut cfg, &initial);
        let (tx, rx) = watch::channel(cfg);
        tokio::spawn(async move {
            while let Some(n) = notes.recv().await {
                if n.method == "update"
                    && let Some(u) = n.params.get(1)
                {
                    tx.send_modify(|c| apply_cfg_update(c, u));
                }
            }
        });
        Ok(CfgWatch { client, rx })
    }

    pub fn current(&self) -> Cfg {
        *self.rx.borrow()
    }

    /// Waits until `cond` holds; `None` after `timeout`, an error if the monitor closed.
    pub async fn wait_for(&self, timeout: Duration, cond: impl Fn(&Cfg) -> bool) -> Result<Option<Cfg>> {
        let mut rx = self.rx.clone();
        match tokio::time::timeout(timeout, rx.wait_for(|c| cond(c))).await {
            Ok(Ok(c)) => Ok(Some(*c)),
            Ok(Err(_)) => bail!("the NB_Global monitor connection closed"),
            Err(_) => Ok(None),
        }
    }

    /// Waits until `cond` holds, failing after `timeout` with what was last seen.
    pub async fn wait(&self, what: &str, timeout: Duration, cond: impl Fn(&Cfg) -> bool) -> Result<Cfg> {
        match self.wait_for(timeout, cond).await? {
            Some(c) => Ok(c),
            None => bail!(
                "timed out after {:.1} s waiting for {what}; NB_Global last seen: {:?}",
                timeout.as_secs_f64(),
                self.current()
            ),
        }
    }

    /// A clone of the watch, e.g. for an "instant northd" task.
    pub fn receiver(&self) -> watch::Receiver<Cfg> {
        self.rx.clone()
    }

    pub fn close(&self) {
        self.client.close();
    }
}

/// Applies RFC 7047 `<table-updates>` for `NB_Global` (one row).
fn apply_cfg_update(cfg: &mut Cfg, updates: &Value) {
    let Some(rows) = updates.get("NB_Global").and_then(Value::as_object) else {
        return;
    };
    for ru in rows.values() {
        let Some(new) = ru.get("new") else { continue };
        let int = |c: &str| new.get(c).and_then(Value::as_i64).unwrap_or(0);
        *cfg = Cfg {
            nb_cfg: int("nb_cfg"),
            sb_cfg: int("sb_cfg"),
            nb_cfg_timestamp: int("nb_cfg_timestamp"),
            sb_cfg_timestamp: int("sb_cfg_timestamp"),
        };
    }
}

/// The operations that bump `NB_Global.nb_cfg` and read the new value back (as
/// `ovn-nbctl --wait` does).
pub fn bump_ops() -> [Operation; 2] {
    [
        Operation::Mutate {
            table: "NB_Global".into(),
            conditions: vec![],
            mutations: vec![Mutation::new("nb_cfg", "+=", Datum::integer(1))],
        },
        Operation::Select {
            table: "NB_Global".into(),
            conditions: vec![],
            columns: Some(vec!["nb_cfg".into()]),
        },
    ]
}

/// Runs `ops` followed by [`bump_ops`] in one transaction; returns the new `nb_cfg`.
pub async fn transact_and_bump(client: &Client, mut ops: Vec<Operation>) -> Result<i64> {
    ops.extend(bump_ops());
    let res = client.transact(NB_DB, &ops).await.context("NB transaction")?;
    res.last()
        .and_then(|r| r.rows.as_ref())
        .and_then(|rows| rows.first())
        .and_then(|r| r.get("nb_cfg"))
        .and_then(Datum::as_integer)
        .ok_or_else(|| anyhow!("no NB_Global row to bump nb_cfg in"))
}

/// The operations `lsp-add SWITCH PORT` makes.
pub fn lsp_add_ops(switch: &str, port: &str) -> Vec<Operation> {
    vec![
        Operation::Insert {
            table: "Logical_Switch_Port".into(),
            row: [("name".to_string(), Datum::string(port))].into(),
            uuid_name: Some("newport".into()),
        },
        Operation::Mutate {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::eq("name", Datum::string(switch))],
            mutations: vec![Mutation::new(
                "ports",
                "insert",
                Datum::set([ovsdb::Atom::NamedUuid("newport".into())]),
            )],
        },
    ]
}

/// Plays an "instant northd": answers every `nb_cfg` at once with `sb_cfg`, so
/// that what remains of `lsp-add --wait=sb` is the client's own cost.
pub async fn instant_northd(
    remote: &str,
    mut rx: watch::Receiver<Cfg>,
) -> Result<tokio::task::JoinHandle<()>> {
    let (client, _notes) = connect(remote).await?;
    Ok(tokio::spawn(async move {
        loop {
            let c = *rx.borrow_and_update();
            if c.nb_cfg != c.sb_cfg {
                let now = wall_ms();
                let row = [
                    ("sb_cfg".to_string(), Datum::integer(c.nb_cfg)),
                    ("nb_cfg_timestamp".to_string(), Datum::integer(now)),
                    ("sb_cfg_timestamp".to_string(), Datum::integer(now)),
                ]
                .into();
                let op = Operation::Update {
                    table: "NB_Global".into(),
                    conditions: vec![],
                    row,
                };
                if client.transact(NB_DB, &[op]).await.is_err() {
                    return;
                }
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }))
}

/// Rows per table (`select` on `_uuid` only).
pub async fn row_counts(client: &Client, db: &str, tables: &[&str]) -> Result<BTreeMap<String, usize>> {
    let ops: Vec<Operation> = tables
        .iter()
        .map(|t| Operation::Select {
            table: t.to_string(),
            conditions: vec![],
            columns: Some(vec!["_uuid".into()]),
        })
        .collect();
    let res = client.transact(db, &ops).await.context("counting rows")?;
    Ok(tables
        .iter()
        .zip(res)
        .map(|(t, r)| (t.to_string(), r.rows.map_or(0, |r| r.len())))
        .collect())
}

/// A whole database as `{table: [row, ..]}` in wire JSON, and its size.
pub struct Dump {
    pub tables: BTreeMap<String, Vec<Value>>,
    pub json_bytes: usize,
    /// The select-all transaction alone (request until its reply is parsed).
    pub read_s: f64,
}

impl Dump {
    pub fn rows(&self) -> usize {
        self.tables.values().map(Vec::len).sum()
    }

    pub fn table(&self, t: &str) -> &[Value] {
        self.tables.get(t).map_or(&[], Vec::as_slice)
    }
}

/// Reads every row of every table of `db` in one transaction.
pub async fn dump(client: &Client, db: &str) -> Result<Dump> {
    let schema = client.get_schema(db).await.context("get_schema")?;
    let names: Vec<&String> = schema.tables.keys().collect();
    let mut params = vec![json!(db)];
    params.extend(
        names
            .iter()
            .map(|t| json!({"op": "select", "table": t, "where": []})),
    );
    let t = std::time::Instant::now();
    let v = client
        .call("transact", Value::Array(params))
        .await
        .with_context(|| format!("dumping {db}"))?;
    let read_s = t.elapsed().as_secs_f64();
    let json_bytes = serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0);
    let results = v.as_array().context("transact reply is not an array")?;
    let mut tables = BTreeMap::new();
    for (t, r) in names.into_iter().zip(results) {
        let rows = r
            .get("rows")
            .and_then(Value::as_array)
            .with_context(|| format!("select {t}: {r}"))?;
        tables.insert(t.clone(), rows.clone());
    }
    Ok(Dump {
        tables,
        json_bytes,
        read_s,
    })
}

/// The UUID strings in a wire datum (`["uuid", u]` or `["set", [...]]`).
pub fn uuids_in(v: &Value) -> Vec<&str> {
    match v.as_array().map(Vec::as_slice) {
        Some([tag, Value::String(u)]) if tag == "uuid" => vec![u.as_str()],
        Some([tag, Value::Array(items)]) if tag == "set" => items.iter().flat_map(uuids_in).collect(),
        _ => Vec::new(),
    }
}

fn uuid_name(u: &str) -> String {
    format!("u{}", u.replace('-', "_"))
}

/// Rewrites references to rows of the dump as `named-uuid`s.
fn rename_refs(v: &Value, known: &BTreeSet<&str>) -> Value {
    match v {
        Value::Array(a) => {
            if let [Value::String(tag), Value::String(u)] = a.as_slice()
                && tag == "uuid"
                && known.contains(u.as_str())
            {
                return json!(["named-uuid", uuid_name(u)]);
            }
            Value::Array(a.iter().map(|x| rename_refs(x, known)).collect())
        }
        other => other.clone(),
    }
}

/// The dump as one transaction inserting every row (`transact` params).
pub fn replay_params(db: &str, d: &Dump) -> Result<Value> {
    let mut known = BTreeSet::new();
    for rows in d.tables.values() {
        for r in rows {
            if let Some(u) = r.get("_uuid").map(uuids_in) {
                known.extend(u);
            }
        }
    }
    let mut params = vec![json!(db)];
    for (t, rows) in &d.tables {
        for r in rows {
            let obj = r.as_object().context("row is not an object")?;
            let uuid = r
                .get("_uuid")
                .map(uuids_in)
                .and_then(|u| u.first().copied())
                .context("row without _uuid")?;
            let row: serde_json::Map<String, Value> = obj
                .iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), rename_refs(v, &known)))
                .collect();
            params.push(json!({"op": "insert", "table": t, "row": row, "uuid-name": uuid_name(uuid)}));
        }
    }
    Ok(Value::Array(params))
}

/// Sends a raw `transact` and fails on any operation error.
pub async fn transact_raw(client: &Client, params: Value) -> Result<()> {
    let v = client.call("transact", params).await.context("transact")?;
    let items = v.as_array().context("transact reply is not an array")?;
    if let Some(e) = items.iter().find(|i| i.get("error").is_some()) {
        bail!("transaction failed: {e}");
    }
    Ok(())
}

/// Monitors every column of every table of `db` on `client` (as a northd does).
pub async fn monitor_all(client: &Client, db: &str) -> Result<()> {
    let schema = client.get_schema(db).await.context("get_schema")?;
    let reqs: serde_json::Map<String, Value> = schema.tables.keys().map(|t| (t.clone(), json!({}))).collect();
    client
        .call("monitor", json!([db, "bench-all", reqs]))
        .await
        .context("monitor")?;
    Ok(())
}
