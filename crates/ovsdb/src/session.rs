//! A long-lived, self-healing connection to one database: what every rovn daemon uses.
//!
//! A [`Session`] owns a background task that connects to the first usable remote
//! of a list, keeps an [`Idl`] replica of the monitored tables in sync, holds the
//! locks the application asked for, probes an idle connection, and reconnects with
//! capped exponential backoff ([`Backoff`]) when anything goes wrong, resuming the
//! monitor from the last transaction id when the server still has it.
//!
//! On each connection, in order:
//! 1. connect (TLS for `ssl:` remotes);
//! 2. monitor `_Server.Database` for our database and leave a server that is cut
//!    off from its cluster, behind what we already saw, or (with `leader_only`) not
//!    the leader — and leave it later if that changes;
//! 3. fetch the schema and monitor with `monitor_cond_since`, falling back to
//!    `monitor_cond` and `monitor` on servers that do not know the method;
//! 4. publish the connection ([`Event::Connected`]), request the wanted locks and
//!    send conditions changed while disconnected.
//!
//! ```no_run
//! # async fn f() -> Result<(), ovsdb::Error> {
//! use ovsdb::session::{Session, SessionConfig};
//! let session = Session::start(
//!     SessionConfig::new("unix:/run/ovn/ovnsb_db.sock", "OVN_Southbound")?
//!         .monitor_all()
//!         .lock("ovn_northd"),
//! );
//! let mut seen = 0;
//! loop {
//!     seen = session.changed(seen).await?;
//!     let changes = session.take_changes();
//!     let n = session.with_idl(|idl| idl.len("Chassis"));
//!     if session.has_lock("ovn_northd") {
//!         session.transact(&[/* ... */]).await?;
//!     }
//! #   let _ = (changes, n);
//! }
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::client::{Client, Notification};
use crate::cluster::{self, Verdict};
use crate::error::Error;
use crate::idl::{Changes, Idl, SyncKind};
use crate::lock::{LockEvent, LockNotification, Locks};
use crate::monitor::{self, Clause, MonitorMethod, TableMonitor};
use crate::ops::{OpResult, Operation};
use crate::reconnect::Backoff;
use crate::remote::Remote;
use crate::tls::TlsConfig;

/// How to run a [`Session`]; build with [`SessionConfig::new`] and the methods below.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub remotes: Vec<Remote>,
    pub database: String,
    pub tls: Option<TlsConfig>,
    /// Only use a cluster's leader (for writers); followers are skipped.
    pub leader_only: bool,
    /// Monitor `_Server` to judge servers (cluster membership, leadership).
    pub check_server: bool,
    /// Send an `echo` after this long without hearing from the server, and drop the
    /// connection if it is not answered within the same time.
    pub probe_interval: Option<Duration>,
    /// Probe `unix:` remotes too. Off by default, as in OVS: a local socket
    /// cannot silently lose its peer, and a server busy committing a large
    /// transaction (many seconds at scale) must not be taken for a dead one.
    pub probe_unix: bool,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Limit for connecting to and syncing with one server (the initial dump of a
    /// large Southbound database can take a while).
    pub setup_timeout: Duration,
    /// Tables to replicate; empty (and `monitor_all` false) means no replica.
    pub tables: BTreeMap<String, TableMonitor>,
    pub monitor_all: bool,
    /// The newest monitor method to try.
    pub monitor_method: MonitorMethod,
    /// Locks to request on every connection.
    pub locks: Vec<String>,
}

impl SessionConfig {
    /// `remotes` is a comma-separated list (`unix:…,tcp:…,ssl:…`).
    pub fn new(remotes: &str, database: &str) -> Result<Self, Error> {
        Ok(Self::with_remotes(Remote::parse_list(remotes)?, database))
    }

    pub fn with_remotes(remotes: Vec<Remote>, database: &str) -> Self {
        SessionConfig {
            remotes,
            database: database.to_string(),
            tls: None,
            leader_only: false,
            check_server: true,
            probe_interval: Some(Duration::from_secs(5)),
            probe_unix: false,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(4),
            setup_timeout: Duration::from_secs(60),
            tables: BTreeMap::new(),
            monitor_all: false,
            monitor_method: MonitorMethod::MonitorCondSince,
            locks: Vec::new(),
        }
    }

    pub fn monitor(mut self, table: &str, what: TableMonitor) -> Self {
        self.tables.insert(table.to_string(), what);
        self
    }

    /// Replicate every table and column of the server's schema.
    pub fn monitor_all(mut self) -> Self {
        self.monitor_all = true;
        self
    }

    pub fn leader_only(mut self, yes: bool) -> Self {
        self.leader_only = yes;
        self
    }

    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    pub fn probe_interval(mut self, p: Option<Duration>) -> Self {
        self.probe_interval = p;
        self
    }

    /// Whether `unix:` remotes are probed as well (see [`SessionConfig::probe_unix`]).
    pub fn probe_unix(mut self, yes: bool) -> Self {
        self.probe_unix = yes;
        self
    }

    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    pub fn setup_timeout(mut self, t: Duration) -> Self {
        self.setup_timeout = t;
        self
    }

    pub fn monitor_method(mut self, m: MonitorMethod) -> Self {
        self.monitor_method = m;
        self
    }

    pub fn lock(mut self, name: &str) -> Self {
        self.locks.push(name.to_string());
        self
    }
}

/// Connection state, for [`Session::state`].
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Connecting(Remote),
    /// Waiting this long before the next attempt.
    Backoff(Duration),
    /// Connected and synced.
    Connected(Remote),
    Closed,
}

/// What happened to the session, for [`Session::events`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connecting(Remote),
    ConnectFailed {
        remote: Remote,
        reason: String,
    },
    /// Connected and synced; `sync` says how the replica was brought up to date.
    Connected {
        remote: Remote,
        sync: Option<SyncKind>,
    },
    Disconnected {
        remote: Remote,
        reason: String,
    },
    Lock(LockEvent),
    Closed,
}

struct Slot {
    client: Option<Client>,
    locks: Locks,
    /// Highest Raft index seen, per cluster id.
    seen_index: Option<(Option<uuid::Uuid>, i64)>,
    method: MonitorMethod,
}

struct Inner {
    cfg: SessionConfig,
    idl: Mutex<Idl>,
    slot: Mutex<Slot>,
    seqno: watch::Sender<u64>,
    state: watch::Sender<State>,
    events: broadcast::Sender<Event>,
    closed: watch::Sender<bool>,
    kick: tokio::sync::Notify,
    /// ([`Client::serial`] of the current connection, notifications of it applied
    /// so far); `(0, 0)` between connections.
    handled: watch::Sender<(u64, u64)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks is a bug in this module; keep going with the data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    fn emit(&self, e: Event) {
        match &e {
            Event::ConnectFailed { .. } | Event::Disconnected { .. } => {
                tracing::info!("ovsdb session: {e:?}")
            }
            _ => tracing::debug!("ovsdb session: {e:?}"),
        }
        let _ = self.events.send(e);
    }

    fn publish_seqno(&self) {
        let s = lock(&self.idl).seqno();
        self.seqno.send_if_modified(|cur| std::mem::replace(cur, s) != s);
    }

    fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }
}

/// A reconnecting session with an optional replica and locks. Dropping it closes it.
pub struct Session {
    inner: Arc<Inner>,
}

impl Session {
    /// Starts the background task (inside a Tokio runtime) and returns at once.
    pub fn start(cfg: SessionConfig) -> Session {
        let idl = if cfg.monitor_all {
            Idl::new_all_tables(cfg.database.clone())
        } else {
            Idl::new(cfg.database.clone(), cfg.tables.clone())
        };
        let mut locks = Locks::default();
        for l in &cfg.locks {
            locks.want(l);
        }
        let first = cfg.remotes.first().cloned().unwrap_or(Remote::Unix("?".into()));
        let inner = Arc::new(Inner {
            idl: Mutex::new(idl),
            slot: Mutex::new(Slot {
                client: None,
                locks,
                seen_index: None,
                method: cfg.monitor_method,
            }),
            seqno: watch::channel(0).0,
            state: watch::channel(State::Connecting(first)).0,
            events: broadcast::channel(1024).0,
            closed: watch::channel(false).0,
            kick: tokio::sync::Notify::new(),
            handled: watch::channel((0, 0)).0,
            cfg,
        });
        tokio::spawn(run(inner.clone()));
        Session { inner }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.inner.cfg
    }

    /// Session events from now on (connects, disconnects, locks).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    pub fn state(&self) -> watch::Receiver<State> {
        self.inner.state.subscribe()
    }

    pub fn is_connected(&self) -> bool {
        lock(&self.inner.slot).client.is_some()
    }

    /// The remote of the current connection.
    pub fn remote(&self) -> Option<Remote> {
        lock(&self.inner.slot).client.as_ref().map(|c| c.remote().clone())
    }

    /// Waits until connected and synced; `Err(Closed)` if the session closes first.
    pub async fn wait_connected(&self) -> Result<Remote, Error> {
        if self.inner.is_closed() {
            return Err(Error::Closed);
        }
        let mut rx = self.inner.state.subscribe();
        let s = rx
            .wait_for(|s| matches!(s, State::Connected(_) | State::Closed))
            .await
            .map_err(|_| Error::Closed)?;
        match &*s {
            State::Connected(r) => Ok(r.clone()),
            _ => Err(Error::Closed),
        }
    }

    /// The current connection, for requests this API does not wrap.
    pub fn client(&self) -> Option<Client> {
        lock(&self.inner.slot).client.clone()
    }

    /// Runs a transaction on the session's database over the current connection;
    /// `Err(Disconnected)` when there is none (retry after the next change/event).
    pub async fn transact(&self, ops: &[Operation]) -> Result<Vec<OpResult>, Error> {
        let c = self.client().ok_or(Error::Disconnected)?;
        c.transact(&self.inner.cfg.database, ops).await
    }

    /// [`Session::transact`], freeing the operations once written (see
    /// [`Client::transact_owned`]).
    pub async fn transact_owned(&self, ops: Vec<Operation>) -> Result<Vec<OpResult>, Error> {
        let c = self.client().ok_or(Error::Disconnected)?;
        c.transact_owned(&self.inner.cfg.database, ops).await
    }

    /// Reads the replica.
    pub fn with_idl<R>(&self, f: impl FnOnce(&Idl) -> R) -> R {
        f(&lock(&self.inner.idl))
    }

    /// The replica's changes since the last call.
    pub fn take_changes(&self) -> Changes {
        lock(&self.inner.idl).take_changes()
    }

    /// At most `max_rows` of the replica's changes (see [`Idl::take_changes_upto`]).
    pub fn take_changes_upto(&self, max_rows: usize) -> Changes {
        lock(&self.inner.idl).take_changes_upto(max_rows)
    }

    /// Forgets the replica's pending changes (see [`Idl::discard_changes`]).
    pub fn discard_changes(&self) {
        lock(&self.inner.idl).discard_changes();
    }

    /// The replica's change counter.
    pub fn seqno(&self) -> u64 {
        *self.inner.seqno.borrow()
    }

    /// A receiver that wakes on every replica change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.seqno.subscribe()
    }

    /// Waits until the replica's seqno differs from `since`; returns the new one.
    pub async fn changed(&self, since: u64) -> Result<u64, Error> {
        let mut rx = self.inner.seqno.subscribe();
        let mut closed = self.inner.closed.subscribe();
        tokio::select! {
            r = rx.wait_for(|s| *s != since) => r.map(|s| *s).map_err(|_| Error::Closed),
            _ = closed.wait_for(|c| *c) => Err(Error::Closed),
        }
    }

    /// Replaces the condition of a monitored table (`None`: all rows). Sent at once
    /// when connected, otherwise with the next monitor request.
    pub async fn set_condition(&self, table: &str, condition: Option<Vec<Clause>>) -> Result<(), Error> {
        self.set_conditions([(table, condition)]).await
    }

    /// Replaces the conditions of several tables in one `monitor_cond_change`.
    /// Returns once the rows they add and remove are in the replica (the server
    /// sends them before its reply), so that a consumer never takes a replica
    /// still missing them for one that follows the new conditions. When not
    /// connected, the next monitor request carries them.
    pub async fn set_conditions<'a>(
        &self,
        conditions: impl IntoIterator<Item = (&'a str, Option<Vec<Clause>>)>,
    ) -> Result<(), Error> {
        let params = lock(&self.inner.idl).set_conditions(conditions);
        let Some(params) = params else { return Ok(()) };
        let Some(c) = self.client() else {
            lock(&self.inner.idl).conditions_not_sent();
            return Ok(());
        };
        if let Err(e) = c.call("monitor_cond_change", params).await {
            lock(&self.inner.idl).conditions_not_sent();
            // The server refused or the connection died: a fresh monitor fixes either.
            c.close();
            return Err(e);
        }
        let sent_before = c.notifications_queued();
        let mut handled = self.inner.handled.subscribe();
        let mut closed = self.inner.closed.subscribe();
        tokio::select! {
            // Another connection resyncs with the new conditions from scratch.
            _ = handled.wait_for(|(serial, n)| *serial != c.serial() || *n >= sent_before) => Ok(()),
            _ = closed.wait_for(|c| *c) => Err(Error::Closed),
        }
    }

    /// Asks for a lock, now and after every reconnect. Returns whether it is held now;
    /// [`Event::Lock`] reports later changes.
    pub async fn lock(&self, name: &str) -> Result<bool, Error> {
        let (client, names) = {
            let mut s = lock(&self.inner.slot);
            s.locks.want(name);
            match s.client.clone() {
                Some(c) => (Some(c), s.locks.to_request()),
                None => (None, vec![]),
            }
        };
        if let Some(c) = client {
            request_locks(&self.inner, &c, names).await;
        }
        Ok(self.has_lock(name))
    }

    /// Takes a lock from its holder (the session must be connected).
    pub async fn steal(&self, name: &str) -> Result<bool, Error> {
        let (c, was_requested) = {
            let mut s = lock(&self.inner.slot);
            s.locks.want(name);
            let c = s.client.clone().ok_or(Error::Disconnected)?;
            (c, s.locks.mark_requested(name))
        };
        if was_requested {
            // The server wants an `unlock` before a new request for the same lock.
            c.unlock(name).await?;
        }
        let locked = c.steal(name).await?;
        let ev = lock(&self.inner.slot).locks.on_reply(name, locked);
        if let Some(ev) = ev {
            self.inner.emit(Event::Lock(ev));
        }
        Ok(self.has_lock(name))
    }

    /// Releases a lock (or stops waiting for it) and stops asking for it.
    pub async fn unlock(&self, name: &str) -> Result<(), Error> {
        let (requested, ev, client) = {
            let mut s = lock(&self.inner.slot);
            let (requested, ev) = s.locks.unwant(name);
            (requested, ev, s.client.clone())
        };
        if let Some(ev) = ev {
            self.inner.emit(Event::Lock(ev));
        }
        if let (true, Some(c)) = (requested, client) {
            c.unlock(name).await?;
        }
        Ok(())
    }

    pub fn has_lock(&self, name: &str) -> bool {
        lock(&self.inner.slot).locks.held(name)
    }

    /// Drops the current connection (the session reconnects).
    pub fn reconnect(&self) {
        self.inner.kick.notify_one();
    }

    /// Stops the session: the connection is closed and no reconnect happens.
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

async fn request_locks(inner: &Inner, c: &Client, names: Vec<String>) {
    for name in names {
        match c.lock(&name).await {
            Ok(locked) => {
                let ev = lock(&inner.slot).locks.on_reply(&name, locked);
                if let Some(ev) = ev {
                    inner.emit(Event::Lock(ev));
                }
            }
            Err(e) => tracing::warn!("lock {name}: {e}"),
        }
    }
}

async fn run(inner: Arc<Inner>) {
    let cfg = &inner.cfg;
    let mut backoff = Backoff::new(cfg.remotes.len(), cfg.backoff_initial, cfg.backoff_max);
    let mut closed = inner.closed.subscribe();
    while !inner.is_closed() && !cfg.remotes.is_empty() {
        let (idx, delay) = backoff.next_attempt();
        if !delay.is_zero() {
            inner.state.send_replace(State::Backoff(delay));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = closed.wait_for(|c| *c) => break,
            }
        }
        let remote = cfg.remotes[idx].clone();
        inner.state.send_replace(State::Connecting(remote.clone()));
        inner.emit(Event::Connecting(remote.clone()));
        let attempt = tokio::select! {
            r = tokio::time::timeout(cfg.setup_timeout, setup(&inner, &remote)) => {
                r.unwrap_or(Err(Error::Timeout))
            }
            _ = closed.wait_for(|c| *c) => break,
        };
        let conn = match attempt {
            Ok(conn) => conn,
            Err(e) => {
                if matches!(e, Error::Unsuitable { .. }) {
                    backoff.unsuitable();
                } else {
                    backoff.failed();
                }
                inner.emit(Event::ConnectFailed {
                    remote,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        backoff.connected();
        // Before the client is visible: a condition change waits on this connection's count.
        inner.handled.send_replace((conn.client.serial(), 0));
        let names = {
            let mut s = lock(&inner.slot);
            s.client = Some(conn.client.clone());
            s.locks.to_request()
        };
        inner.state.send_replace(State::Connected(remote.clone()));
        inner.emit(Event::Connected {
            remote: remote.clone(),
            sync: conn.sync,
        });
        request_locks(&inner, &conn.client, names).await;
        let cond = lock(&inner.idl).pending_condition_change();
        if let Some(p) = cond
            && let Err(e) = conn.client.call("monitor_cond_change", p).await
        {
            tracing::warn!("monitor_cond_change: {e}");
            lock(&inner.idl).conditions_not_sent();
        }
        let client = conn.client.clone();
        let reason = connected(&inner, conn).await;
        inner.handled.send_replace((0, 0));
        client.close();
        let lost = {
            let mut s = lock(&inner.slot);
            s.client = None;
            s.locks.on_disconnect()
        };
        for ev in lost {
            inner.emit(Event::Lock(ev));
        }
        inner.emit(Event::Disconnected { remote, reason });
    }
    inner.state.send_replace(State::Closed);
    inner.emit(Event::Closed);
}

struct Conn {
    client: Client,
    notes: mpsc::UnboundedReceiver<Notification>,
    sync: Option<SyncKind>,
    server: Option<Idl>,
}

async fn setup(inner: &Inner, remote: &Remote) -> Result<Conn, Error> {
    let cfg = &inner.cfg;
    let (client, notes) = Client::connect_with(remote, cfg.tls.as_ref()).await?;
    // Updates go to the IDLs below, which parse them from text.
    client.keep_updates_raw();
    // Dropping `client` on an early return closes the connection.
    let server = if cfg.check_server {
        check_server(inner, &client, remote).await?
    } else {
        None
    };
    let monitoring = lock(&inner.idl).is_monitoring();
    let sync = if monitoring {
        Some(monitor_db(inner, &client).await?)
    } else {
        None
    };
    Ok(Conn {
        client,
        notes,
        sync,
        server,
    })
}

/// Monitors `_Server.Database`; `Ok(None)` on servers without `_Server`.
async fn check_server(inner: &Inner, client: &Client, remote: &Remote) -> Result<Option<Idl>, Error> {
    let mut sidl = cluster::server_idl(&inner.cfg.database);
    let params = sidl.monitor_request(MonitorMethod::MonitorCond)?;
    let reply = match client.call(MonitorMethod::MonitorCond.name(), params).await {
        Ok(r) => r,
        Err(Error::Rpc { error, .. }) if cluster::is_unknown_database(&error) => return Ok(None),
        Err(e) if monitor::is_unknown_method(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    sidl.apply_monitor_reply(MonitorMethod::MonitorCond, &reply)?;
    judge_server(inner, &sidl, remote)?;
    Ok(Some(sidl))
}

fn judge_server(inner: &Inner, sidl: &Idl, remote: &Remote) -> Result<(), Error> {
    let row = cluster::database_row(sidl, &inner.cfg.database);
    let mut s = lock(&inner.slot);
    let seen = match (&row, s.seen_index) {
        (Some(r), Some((cid, i))) if r.cid == cid => Some(i),
        _ => None,
    };
    let verdict = cluster::evaluate(row.as_ref(), inner.cfg.leader_only, seen);
    if verdict != Verdict::Usable {
        return Err(Error::Unsuitable {
            remote: remote.to_string(),
            reason: verdict.reason(),
        });
    }
    if let Some(r) = row.filter(|r| r.is_clustered())
        && let Some(i) = r.index
    {
        s.seen_index = Some((r.cid, seen.map_or(i, |s| s.max(i))));
    }
    Ok(())
}

async fn monitor_db(inner: &Inner, client: &Client) -> Result<SyncKind, Error> {
    let schema = client.get_schema(&inner.cfg.database).await?;
    lock(&inner.idl).set_schema(schema);
    let mut method = lock(&inner.slot).method;
    loop {
        let params = lock(&inner.idl).monitor_request(method)?;
        match client.call(method.name(), params).await {
            Ok(reply) => {
                let r = {
                    let mut idl = lock(&inner.idl);
                    let r = idl.apply_monitor_reply_owned(method, reply);
                    if r.is_err() {
                        idl.forget_txn_id();
                    }
                    r
                };
                inner.publish_seqno();
                lock(&inner.slot).method = method;
                return r;
            }
            Err(e) if monitor::is_unknown_method(&e) => match method.fallback() {
                Some(m) => {
                    tracing::info!("server does not know {}; trying {}", method.name(), m.name());
                    method = m;
                }
                None => return Err(e),
            },
            Err(e) => {
                // Conditions the request carried are lost with it.
                lock(&inner.idl).conditions_not_sent();
                return Err(e);
            }
        }
    }
}

/// Serves one synced connection until it ends; returns why.
async fn connected(inner: &Inner, mut conn: Conn) -> String {
    let remote = conn.client.remote().clone();
    let probe_every = inner
        .cfg
        .probe_interval
        .filter(|_| inner.cfg.probe_unix || !matches!(remote, Remote::Unix(_)));
    let mut last_rx = Instant::now();
    let mut probe: Option<oneshot::Receiver<bool>> = None;
    let mut closed = inner.closed.subscribe();
    let mut applied = 0u64;
    loop {
        let deadline = last_rx + probe_every.unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            n = conn.notes.recv() => {
                let Some(n) = n else { return "connection closed".into() };
                last_rx = Instant::now();
                let r = handle_notification(inner, &mut conn, &remote, n);
                applied += 1;
                inner.handled.send_replace((conn.client.serial(), applied));
                if let Err(why) = r {
                    return why;
                }
            }
            _ = tokio::time::sleep_until(deadline), if probe_every.is_some() && probe.is_none() => {
                let (tx, rx) = oneshot::channel();
                let c = conn.client.clone();
                let limit = probe_every.unwrap_or_default();
                tokio::spawn(async move {
                    let ok = matches!(tokio::time::timeout(limit, c.echo()).await, Ok(Ok(())));
                    let _ = tx.send(ok);
                });
                probe = Some(rx);
            }
            ok = async { probe.as_mut().expect("guarded by is_some").await }, if probe.is_some() => {
                probe = None;
                if !matches!(ok, Ok(true)) {
                    return "inactivity probe not answered".into();
                }
                last_rx = Instant::now();
            }
            _ = inner.kick.notified() => return "reconnect requested".into(),
            _ = closed.wait_for(|c| *c) => return "session closed".into(),
        }
    }
}

fn handle_notification(
    inner: &Inner,
    conn: &mut Conn,
    remote: &Remote,
    mut n: Notification,
) -> Result<(), String> {
    let applied = match &n.raw {
        Some(raw) => lock(&inner.idl).take_raw_notification(&n.method, raw),
        None => lock(&inner.idl).take_notification(&n.method, &mut n.params),
    };
    match applied {
        Ok(true) => {
            inner.publish_seqno();
            return Ok(());
        }
        Ok(false) => {}
        Err(e) => {
            lock(&inner.idl).forget_txn_id();
            return Err(format!("bad update from server: {e}"));
        }
    }
    if let Some(sidl) = conn.server.as_mut() {
        let applied = match &n.raw {
            Some(raw) => sidl.take_raw_notification(&n.method, raw),
            None => sidl.take_notification(&n.method, &mut n.params),
        };
        match applied {
            Ok(true) => return judge_server(inner, sidl, remote).map_err(|e| e.to_string()),
            Ok(false) => {}
            Err(e) => return Err(format!("bad _Server update: {e}")),
        }
    }
    if let Some(ln) = LockNotification::parse(&n.method, &n.params) {
        let ev = lock(&inner.slot).locks.on_notification(&ln);
        if let Some(ev) = ev {
            inner.emit(Event::Lock(ev));
        }
        return Ok(());
    }
    tracing::debug!("ignoring notification {}", n.method);
    Ok(())
}
