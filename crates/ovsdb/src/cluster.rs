//! Clustered databases: the `_Server` database every ovsdb-server (≥ 2.9) serves,
//! whose `Database` table says, per database, its model (`standalone`,
//! `clustered`, `relay`), whether this server is connected to its cluster, whether
//! it is the Raft leader, and the last log index it applied. A session monitors
//! the row of its database and leaves servers that cannot serve it (disconnected
//! from the cluster, not the leader when `leader_only`, or behind what we saw).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::datum::{Datum, Row};
use crate::idl::Idl;
use crate::monitor::{Clause, TableMonitor};
use crate::ops::Condition;
use crate::schema::DatabaseSchema;

pub const SERVER_DB: &str = "_Server";
pub const SERVER_MONITOR_ID: &str = "_Server";

/// The `_Server` schema of OVS 2.9–3.x (hard-coded to save a round trip).
pub const SERVER_SCHEMA: &str = r#"{"name": "_Server", "version": "1.2.0", "tables": {
  "Database": {"columns": {
    "name": {"type": "string"},
    "model": {"type": {"key": {"type": "string", "enum": ["set", ["standalone", "clustered", "relay"]]}}},
    "connected": {"type": "boolean"},
    "leader": {"type": "boolean"},
    "schema": {"type": {"key": {"type": "string"}, "min": 0, "max": 1}},
    "cid": {"type": {"key": {"type": "uuid"}, "min": 0, "max": 1}},
    "sid": {"type": {"key": {"type": "uuid"}, "min": 0, "max": 1}},
    "index": {"type": {"key": {"type": "integer"}, "min": 0, "max": 1}}}}}}"#;

/// One row of `_Server.Database`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDatabase {
    pub name: String,
    pub model: String,
    pub connected: bool,
    pub leader: bool,
    pub cid: Option<Uuid>,
    pub sid: Option<Uuid>,
    pub index: Option<i64>,
}

impl ServerDatabase {
    pub fn from_row(row: &Row) -> Self {
        let get = |c: &str| row.get(c).cloned().unwrap_or_default();
        ServerDatabase {
            name: get("name").as_str().unwrap_or_default().to_string(),
            model: get("model").as_str().unwrap_or("standalone").to_string(),
            connected: get("connected").as_bool().unwrap_or(false),
            leader: get("leader").as_bool().unwrap_or(false),
            cid: get("cid").as_uuid(),
            sid: get("sid").as_uuid(),
            index: get("index").as_integer(),
        }
    }

    pub fn is_clustered(&self) -> bool {
        self.model == "clustered"
    }
}

/// Whether a server can serve the database the session wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Usable,
    /// The server does not have the database.
    Missing,
    /// A cluster member cut off from its cluster.
    NotConnected,
    /// A follower, and the session wants the leader.
    NotLeader,
    /// Behind the log index the session already saw elsewhere.
    Stale {
        index: i64,
        seen: i64,
    },
}

impl Verdict {
    pub fn reason(&self) -> String {
        match self {
            Verdict::Usable => "usable".into(),
            Verdict::Missing => "database not served here".into(),
            Verdict::NotConnected => "server not connected to its cluster".into(),
            Verdict::NotLeader => "server is not the cluster leader".into(),
            Verdict::Stale { index, seen } => format!("server at index {index}, behind {seen}"),
        }
    }
}

/// Judges a server by its `_Server.Database` row. `seen_index` is the highest log
/// index seen on any member of the same cluster.
pub fn evaluate(db: Option<&ServerDatabase>, leader_only: bool, seen_index: Option<i64>) -> Verdict {
    let Some(db) = db else {
        return Verdict::Missing;
    };
    if !db.is_clustered() {
        return Verdict::Usable;
    }
    if !db.connected {
        return Verdict::NotConnected;
    }
    if leader_only && !db.leader {
        return Verdict::NotLeader;
    }
    if let (Some(index), Some(seen)) = (db.index, seen_index)
        && index < seen
    {
        return Verdict::Stale { index, seen };
    }
    Verdict::Usable
}

/// An IDL over `_Server.Database`, restricted to the row of `db`.
pub fn server_idl(db: &str) -> Idl {
    let schema = DatabaseSchema::parse(SERVER_SCHEMA).expect("built-in _Server schema parses");
    let mut reqs = BTreeMap::new();
    reqs.insert(
        "Database".to_string(),
        TableMonitor::columns(["name", "model", "connected", "leader", "cid", "sid", "index"])
            .with_condition(vec![Clause::Cond(Condition::eq("name", Datum::string(db)))]),
    );
    Idl::with_schema(schema, reqs).with_monitor_id(json!(SERVER_MONITOR_ID))
}

/// The row of `db` in a `_Server` IDL.
pub fn database_row(idl: &Idl, db: &str) -> Option<ServerDatabase> {
    idl.table("Database")
        .map(|(_, r)| ServerDatabase::from_row(r))
        .find(|d| d.name == db)
}

/// Whether `v` is a reply error meaning the server has no `_Server` database.
pub fn is_unknown_database(error: &Value) -> bool {
    error.to_string().contains("unknown database")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::MonitorMethod;

    fn db(model: &str, connected: bool, leader: bool, index: Option<i64>) -> ServerDatabase {
        ServerDatabase {
            name: "N".into(),
            model: model.into(),
            connected,
            leader,
            cid: None,
            sid: None,
            index,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(evaluate(None, false, None), Verdict::Missing);
        assert_eq!(
            evaluate(Some(&db("standalone", false, false, None)), true, None),
            Verdict::Usable
        );
        assert_eq!(
            evaluate(Some(&db("clustered", false, true, None)), false, None),
            Verdict::NotConnected
        );
        assert_eq!(
            evaluate(Some(&db("clustered", true, false, None)), true, None),
            Verdict::NotLeader
        );
        assert_eq!(
            evaluate(Some(&db("clustered", true, false, Some(5))), false, Some(3)),
            Verdict::Usable
        );
        assert_eq!(
            evaluate(Some(&db("clustered", true, true, Some(2))), true, Some(3)),
            Verdict::Stale { index: 2, seen: 3 }
        );
        assert!(!Verdict::NotLeader.reason().is_empty());
    }

    #[test]
    fn server_idl_reads_the_database_row() {
        let mut idl = server_idl("OVN_Northbound");
        let p = idl.monitor_request(MonitorMethod::MonitorCond).unwrap();
        assert_eq!(p[0], json!("_Server"));
        assert_eq!(p[1], json!("_Server"));
        assert_eq!(
            p[2]["Database"][0]["where"],
            json!([["name", "==", "OVN_Northbound"]])
        );
        let u = Uuid::new_v4().to_string();
        let reply = json!({"Database": {u.clone(): {"initial": {
            "name": "OVN_Northbound", "model": "clustered", "connected": true, "leader": true, "index": 7}}}});
        idl.apply_monitor_reply(MonitorMethod::MonitorCond, &reply)
            .unwrap();
        let d = database_row(&idl, "OVN_Northbound").unwrap();
        assert!(d.leader && d.connected && d.is_clustered());
        assert_eq!(d.index, Some(7));
        idl.apply_notification(
            "update2",
            &json!(["_Server", {"Database": {u: {"modify": {"leader": false}}}}]),
        )
        .unwrap();
        assert!(!database_row(&idl, "OVN_Northbound").unwrap().leader);
        assert!(database_row(&idl, "other").is_none());
    }
}
