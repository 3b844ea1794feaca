//! OVSDB watches over the repository's client: `NB_Global`'s `nb_cfg` → `sb_cfg`
//! / `hv_cfg` handshake (what `ovn-nbctl --wait=sb|hv` waits for), and the SB
//! chassis and port bindings (to time claims). Each update is stamped with the
//! instant it arrived, so a wait reports when its condition became true.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use ovsdb::Client;
use ovsdb::remote::Remote;
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

/// Sends a raw `transact` and fails on any operation error; returns the results.
pub async fn transact(client: &Client, params: Value) -> Result<Vec<Value>> {
    let v = client.call("transact", params).await.context("transact")?;
    let items = v.as_array().context("transact reply is not an array")?.clone();
    if let Some(e) = items.iter().find(|i| i.get("error").is_some()) {
        bail!("transaction failed: {e}");
    }
    Ok(items)
}

/// Rows of a monitored table in wire JSON (monitored columns only), by UUID.
pub type Table = BTreeMap<String, serde_json::Map<String, Value>>;

/// A monitor's replica of some tables, and when it last changed.
#[derive(Debug, Clone)]
pub struct Replica {
    pub tables: BTreeMap<String, Table>,
    pub at: Instant,
}

impl Replica {
    pub fn table(&self, t: &str) -> impl Iterator<Item = &serde_json::Map<String, Value>> {
        self.tables.get(t).into_iter().flat_map(|t| t.values())
    }

    fn apply(&mut self, updates: &Value) {
        let Some(tables) = updates.as_object() else { return };
        for (t, rows) in tables {
            let table = self.tables.entry(t.clone()).or_default();
            let Some(rows) = rows.as_object() else { continue };
            for (uuid, ru) in rows {
                match ru.get("new").and_then(Value::as_object) {
                    Some(new) => {
                        table.insert(uuid.clone(), new.clone());
                    }
                    None => {
                        table.remove(uuid);
                    }
                }
            }
        }
        self.at = Instant::now();
    }
}

/// A live monitor (RFC 7047 `monitor`) of some columns of some tables.
#[derive(Clone)]
pub struct Watch {
    client: Client,
    rx: watch::Receiver<Replica>,
}

impl Watch {
    /// `requests`: table → columns.
    pub async fn start(remote: &str, db: &str, requests: &[(&str, &[&str])]) -> Result<Watch> {
        let (client, mut notes) = connect(remote).await?;
        let reqs: serde_json::Map<String, Value> = requests
            .iter()
            .map(|(t, cols)| (t.to_string(), json!({"columns": cols})))
            .collect();
        let initial = client
            .call("monitor", json!([db, "bench", reqs]))
            .await
            .with_context(|| format!("monitoring {db}"))?;
        let mut r = Replica {
            tables: BTreeMap::new(),
            at: Instant::now(),
        };
        r.apply(&initial);
        let (tx, rx) = watch::channel(r);
        tokio::spawn(async move {
            while let Some(n) = notes.recv().await {
                if n.method == "update"
                    && let Some(u) = n.params.get(1)
                {
                    tx.send_modify(|r| r.apply(u));
                }
            }
        });
        Ok(Watch { client, rx })
    }

    pub fn current(&self) -> Replica {
        self.rx.borrow().clone()
    }

    /// Waits until `cond` holds and returns the instant of the update that made
    /// it hold; fails after `timeout`, saying what it waited for.
    pub async fn wait(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&Replica) -> bool,
    ) -> Result<Instant> {
        let mut rx = self.rx.clone();
        match tokio::time::timeout(timeout, rx.wait_for(|r| cond(r))).await {
            Ok(Ok(r)) => Ok(r.at),
            Ok(Err(_)) => bail!("monitor connection closed while waiting for {what}"),
            Err(_) => bail!(
                "timed out after {:.0} s waiting for {what}",
                timeout.as_secs_f64()
            ),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn int(row: &serde_json::Map<String, Value>, col: &str) -> i64 {
    row.get(col).and_then(Value::as_i64).unwrap_or(0)
}

/// `NB_Global`'s handshake columns.
pub fn cfg(r: &Replica) -> (i64, i64, i64) {
    r.table("NB_Global").next().map_or((0, 0, 0), |row| {
        (int(row, "nb_cfg"), int(row, "sb_cfg"), int(row, "hv_cfg"))
    })
}

/// The UUID in an optional reference (`["uuid", u]` or `["set", []]`).
pub fn opt_uuid(v: Option<&Value>) -> Option<&str> {
    match v?.as_array()?.as_slice() {
        [tag, Value::String(u)] if tag == "uuid" => Some(u.as_str()),
        [tag, Value::Array(items)] if tag == "set" => items.first().and_then(|i| opt_uuid(Some(i))),
        _ => None,
    }
}

/// The NB side: bumps `nb_cfg` (as `ovn-nbctl --wait` does) and waits for
/// `sb_cfg`/`hv_cfg`.
pub struct Nb {
    pub watch: Watch,
}

impl Nb {
    pub async fn start(remote: &str) -> Result<Nb> {
        Ok(Nb {
            watch: Watch::start(remote, NB_DB, &[("NB_Global", &["nb_cfg", "sb_cfg", "hv_cfg"])]).await?,
        })
    }

    /// Runs `ops` and `nb_cfg += 1` in one transaction; returns the new `nb_cfg`.
    pub async fn transact_bump(&self, ops: Vec<Value>) -> Result<i64> {
        let mut params = vec![json!(NB_DB)];
        params.extend(ops);
        params.push(json!({"op": "mutate", "table": "NB_Global", "where": [],
                           "mutations": [["nb_cfg", "+=", 1]]}));
        params.push(json!({"op": "select", "table": "NB_Global", "where": [], "columns": ["nb_cfg"]}));
        let res = transact(self.watch.client(), Value::Array(params)).await?;
        res.last()
            .and_then(|r| r["rows"].get(0))
            .and_then(|r| r["nb_cfg"].as_i64())
            .ok_or_else(|| anyhow!("no NB_Global row to bump nb_cfg in"))
    }

    pub async fn transact(&self, ops: Vec<Value>) -> Result<Vec<Value>> {
        let mut params = vec![json!(NB_DB)];
        params.extend(ops);
        transact(self.watch.client(), Value::Array(params)).await
    }

    /// `--wait=sb`: the instant `sb_cfg` reached `n`.
    pub async fn wait_sb(&self, n: i64, timeout: Duration) -> Result<Instant> {
        self.watch
            .wait(&format!("sb_cfg >= {n}"), timeout, |r| cfg(r).1 >= n)
            .await
            .with_context(|| format!("NB_Global (nb, sb, hv) = {:?}", cfg(&self.watch.current())))
    }

    /// `--wait=hv`: the instant `hv_cfg` reached `n`.
    pub async fn wait_hv(&self, n: i64, timeout: Duration) -> Result<Instant> {
        self.watch
            .wait(&format!("hv_cfg >= {n}"), timeout, |r| cfg(r).2 >= n)
            .await
            .with_context(|| format!("NB_Global (nb, sb, hv) = {:?}", cfg(&self.watch.current())))
    }
}

/// The SB side: chassis, their Chassis_Private rows, and who holds each port.
#[derive(Clone)]
pub struct Sb {
    pub watch: Watch,
}

impl Sb {
    pub async fn start(remote: &str) -> Result<Sb> {
        Ok(Sb {
            watch: Watch::start(
                remote,
                SB_DB,
                &[
                    ("Chassis", &["name"]),
                    ("Chassis_Private", &["name", "nb_cfg"]),
                    ("Port_Binding", &["logical_port", "chassis"]),
                ],
            )
            .await?,
        })
    }

    /// How many of `ports` are bound to the chassis named `chassis`.
    pub fn bound(r: &Replica, chassis: &str, ports: &[String]) -> usize {
        let Some(cuuid) = r
            .tables
            .get("Chassis")
            .and_then(|t| {
                t.iter()
                    .find(|(_, row)| row.get("name").and_then(Value::as_str) == Some(chassis))
            })
            .map(|(u, _)| u.clone())
        else {
            return 0;
        };
        let want: std::collections::BTreeSet<&str> = ports.iter().map(String::as_str).collect();
        r.table("Port_Binding")
            .filter(|row| {
                row.get("logical_port")
                    .and_then(Value::as_str)
                    .is_some_and(|p| want.contains(p))
                    && opt_uuid(row.get("chassis")) == Some(cuuid.as_str())
            })
            .count()
    }

    pub fn has_private(r: &Replica, chassis: &str) -> bool {
        r.table("Chassis_Private")
            .any(|row| row.get("name").and_then(Value::as_str) == Some(chassis))
    }

    /// The instant all of `ports` were bound to `chassis`.
    pub async fn wait_bound(&self, chassis: &str, ports: &[String], timeout: Duration) -> Result<Instant> {
        let n = ports.len();
        self.watch
            .wait(&format!("{n} ports bound to {chassis}"), timeout, |r| {
                Sb::bound(r, chassis, ports) == n
            })
            .await
            .with_context(|| {
                format!(
                    "{} of {n} bound",
                    Sb::bound(&self.watch.current(), chassis, ports)
                )
            })
    }
}
