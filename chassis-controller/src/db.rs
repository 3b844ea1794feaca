//! A monitored OVSDB database: the `ovsdb` crate's reconnecting session, and a
//! snapshot of its replica ([`Replica`]) that the controller's pure decisions
//! read. The rest of the controller only reads rows through [`Replica`] and
//! writes through [`DbConn::transact`].

use std::collections::BTreeMap;
use std::time::Duration;

use ovsdb::monitor::{Clause, TableMonitor};
use ovsdb::ops::OpResult;
use ovsdb::remote::Remote;
use ovsdb::session::{Session, SessionConfig, State};
use ovsdb::{Error, Operation, Row, Uuid};
use tokio::sync::watch;

use crate::row;
use crate::sb::SbTables;

/// How long a committed transaction may take to show up in the replica.
const TXN_ECHO_TIMEOUT: Duration = Duration::from_secs(1);

/// Rows of the monitored tables, by table and UUID: the Southbound tables as
/// typed structs ([`Replica::sb`]), the others (Open_vSwitch) as untyped rows.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
    /// Per untyped table, a stamp that changes whenever a row of it changes
    /// (as `SbTables::stamp` for the Southbound ones).
    stamps: BTreeMap<String, u64>,
    /// The Southbound tables (empty for the Open_vSwitch database).
    pub sb: SbTables,
}

impl Replica {
    /// Applies one row change (`None`: deleted).
    fn apply(&mut self, table: &str, uuid: Uuid, r: Option<&Row>) {
        if self.sb.apply(table, uuid, r) {
            return;
        }
        match self.stamps.get_mut(table) {
            Some(s) => *s = crate::sb::next_stamp(),
            None => {
                self.stamps.insert(table.to_string(), crate::sb::next_stamp());
            }
        }
        match r {
            Some(r) => {
                self.tables
                    .entry(table.to_string())
                    .or_default()
                    .insert(uuid, r.clone());
            }
            None => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.remove(&uuid);
                }
            }
        }
    }

    /// Changes whenever a row of `table` changes (0: never changed), so that
    /// what is derived from a few tables is derived again only when one of
    /// them changed.
    pub fn stamp(&self, table: &str) -> u64 {
        match self.stamps.get(table) {
            Some(s) => *s,
            None => self.sb.stamp(table),
        }
    }

    /// [`Replica::stamp`] of each of `tables`.
    pub fn stamps(&self, tables: &[&str]) -> Vec<u64> {
        tables.iter().map(|t| self.stamp(t)).collect()
    }

    pub fn table(&self, name: &str) -> impl Iterator<Item = (&Uuid, &Row)> {
        self.tables.get(name).into_iter().flatten()
    }

    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        self.tables.get(table)?.get(uuid)
    }

    /// The first row of `table` whose string column `col` equals `value`.
    pub fn find(&self, table: &str, col: &str, value: &str) -> Option<(&Uuid, &Row)> {
        self.table(table).find(|(_, r)| row::str(r, col) == value)
    }

    /// Test helper: inserts or replaces a row (converted, leniently, when the
    /// table is a typed Southbound one).
    #[cfg(test)]
    pub fn insert(&mut self, table: &str, uuid: Uuid, r: Row) {
        self.apply(table, uuid, Some(&r));
    }
}

/// One monitored database over a reconnecting [`Session`] (which follows a
/// cluster's leader when asked, resumes monitors and probes idle connections),
/// read through a [`Replica`] snapshot refreshed when the session's replica
/// changes.
pub struct DbConn {
    /// Database name (`Open_vSwitch`, `OVN_Southbound`).
    pub db: &'static str,
    remotes: Vec<Remote>,
    leader_only: bool,
    /// Table → columns to monitor (the session drops columns the server lacks).
    tables: Vec<(&'static str, Vec<&'static str>)>,
    /// Table → condition (none: every row), also for the next session's first monitor.
    conditions: BTreeMap<&'static str, Vec<Clause>>,
    session: Option<Session>,
    seqno_rx: Option<watch::Receiver<u64>>,
    state_rx: Option<watch::Receiver<State>>,
    seen: u64,
    pub replica: Replica,
    /// Set whenever the replica (or the connection) changes; the main loop clears it.
    pub changed: bool,
}

impl DbConn {
    pub fn new(
        db: &'static str,
        leader_only: bool,
        tables: Vec<(&'static str, Vec<&'static str>)>,
    ) -> DbConn {
        DbConn {
            db,
            remotes: Vec::new(),
            leader_only,
            tables,
            conditions: BTreeMap::new(),
            session: None,
            seqno_rx: None,
            state_rx: None,
            seen: 0,
            replica: Replica::default(),
            changed: false,
        }
    }

    /// Sets the remotes (starting the session); a change restarts the session.
    pub fn set_remotes(&mut self, remotes: Vec<Remote>) {
        if remotes == self.remotes && self.session.is_some() {
            return;
        }
        tracing::info!(
            "{}: remotes {}",
            self.db,
            remotes
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        self.remotes = remotes.clone();
        let mut cfg = SessionConfig::with_remotes(remotes, self.db)
            .leader_only(self.leader_only)
            .backoff(Duration::from_millis(100), Duration::from_secs(4));
        for (table, cols) in &self.tables {
            let mut m = TableMonitor::columns(cols.iter().copied());
            if let Some(c) = self.conditions.get(table) {
                m = m.with_condition(c.clone());
            }
            cfg = cfg.monitor(table, m);
        }
        let session = Session::start(cfg);
        // A new session starts from an empty replica; its changes rebuild ours.
        self.replica = Replica::default();
        self.seqno_rx = Some(session.subscribe());
        self.state_rx = Some(session.state());
        self.session = Some(session);
        self.seen = u64::MAX;
    }

    /// Per replicated table: (rows, cells), for `memory/show`.
    pub fn usage(&self) -> BTreeMap<String, (usize, usize)> {
        let Some(s) = &self.session else {
            return BTreeMap::new();
        };
        s.with_idl(|idl| {
            idl.tables()
                .iter()
                .map(|(t, rows)| (t.clone(), (rows.len(), rows.values().map(Row::len).sum())))
                .collect()
        })
    }

    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }

    /// Changes whenever the snapshot changes (the session replica's seqno).
    pub fn version(&self) -> u64 {
        self.seen
    }

    /// Connected and synced. Call [`DbConn::refresh`] before trusting the
    /// snapshot after this turns true.
    pub fn is_connected(&self) -> bool {
        self.session.as_ref().is_some_and(Session::is_connected)
    }

    /// Waits until the replica or the connection state changes (forever when
    /// no session runs, for use in `select!`).
    pub async fn recv(&mut self) {
        match (&mut self.seqno_rx, &mut self.state_rx) {
            (Some(seq), Some(state)) => {
                tokio::select! {
                    r = seq.changed() => if r.is_err() { std::future::pending::<()>().await },
                    r = state.changed() => if r.is_err() { std::future::pending::<()>().await },
                }
            }
            _ => std::future::pending().await,
        }
    }

    /// Refreshes the snapshot after [`DbConn::recv`] returned.
    pub fn handle(&mut self) {
        self.changed = true;
        self.refresh();
    }

    /// Brings the snapshot up to date by applying the session replica's
    /// changes since the last refresh (O(changed rows), not a full copy).
    pub fn refresh(&mut self) {
        let Some(s) = &self.session else { return };
        let seq = s.seqno();
        if seq == self.seen {
            return;
        }
        self.seen = seq;
        let changes = s.take_changes();
        for (table, rows) in changes.tables {
            for (uuid, change) in rows {
                self.replica.apply(&table, uuid, change.new_row());
            }
        }
        self.changed = true;
    }

    /// Sets the monitor conditions of some tables (`None`: every row). Returns
    /// whether any changed; if so, the session's replica already follows them
    /// (refresh before reading the snapshot again). Without a session they
    /// apply from its first monitor on.
    pub async fn set_conditions(
        &mut self,
        conditions: Vec<(&'static str, Option<Vec<Clause>>)>,
    ) -> Result<bool, Error> {
        let changed: Vec<_> = conditions
            .into_iter()
            .filter(|(t, c)| self.conditions.get(t) != c.as_ref())
            .collect();
        if changed.is_empty() {
            return Ok(false);
        }
        for (t, c) in &changed {
            match c {
                Some(c) => self.conditions.insert(t, c.clone()),
                None => self.conditions.remove(t),
            };
        }
        if let Some(s) = &self.session {
            s.set_conditions(changed.iter().map(|(t, c)| (*t, c.clone())))
                .await?;
        }
        Ok(true)
    }

    /// Runs a transaction and waits (briefly) until the replica reflects it, so
    /// that the next decision does not repeat it.
    pub async fn transact(&mut self, ops: Vec<Operation>) -> Result<Vec<OpResult>, Error> {
        let s = self.session.as_ref().ok_or(Error::Disconnected)?;
        let before = s.seqno();
        let r = s.transact(&ops).await;
        if r.is_ok() {
            let _ = tokio::time::timeout(TXN_ECHO_TIMEOUT, s.changed(before)).await;
        }
        self.refresh();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vswitch::Bridge;
    use ovsdb::Datum;

    #[test]
    fn finds_rows() {
        let mut r = Replica::default();
        let id = Uuid::new_v4();
        r.insert(
            Bridge::TABLE,
            id,
            row::build([(Bridge::COL_NAME, Datum::string("br-int"))]),
        );
        assert_eq!(
            r.find(Bridge::TABLE, Bridge::COL_NAME, "br-int").map(|(u, _)| *u),
            Some(id)
        );
        assert!(r.find(Bridge::TABLE, Bridge::COL_NAME, "br-ex").is_none());
        assert!(r.row("Nope", &id).is_none());
        assert_eq!(r.table("Nope").count(), 0);
    }
}
