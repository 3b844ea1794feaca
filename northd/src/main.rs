//! rovn-northd: keeps the Southbound database in step with the Northbound one.
//! A drop-in for `ovn-northd` on the command line.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Parser;
use northd_core::{Chassis, Delta, Engine, Map, NbChanges, Northbound, READ_BACK, SbContext, WRITTEN_BACK};
use ovn_db::{nb, sb};
use ovsdb::idl::Idl;
use ovsdb::session::{Event, Session, SessionConfig};
use ovsdb::tls::TlsConfig;
use ovsdb::{Condition, Operation, Row, Uuid};
use rovn_northd::nb_model;
use rovn_northd::sb_delta::{self, FlowSets, SbIndex};
use rovn_northd::sb_sync::{self, Tables};
use rovn_northd::snapshot::{self, NB_TABLES, SB_TABLES};
use rovn_northd::stale_macs::PortMacs;
use rovn_northd::{col, col_opt};
use rovn_northd::{meters, static_macs};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;

const LOCK: &str = "ovn_northd";
/// Changed SB rows taken from the replica at once (a few MB of copies).
const SB_CHANGE_BATCH: usize = 2048;
const NB_DB: &str = nb::DATABASE;
const SB_DB: &str = sb::DATABASE;

#[derive(Parser, Debug)]
#[command(
    name = "rovn-northd",
    version,
    about = "OVN-compatible Northbound to Southbound translator"
)]
struct Cli {
    /// Northbound database remote(s), comma-separated (default unix:$OVN_RUNDIR/ovnnb_db.sock).
    #[arg(long, env = "OVN_NB_DB", value_name = "DATABASE")]
    ovnnb_db: Option<String>,
    /// Southbound database remote(s), comma-separated (default unix:$OVN_RUNDIR/ovnsb_db.sock).
    #[arg(long, env = "OVN_SB_DB", value_name = "DATABASE")]
    ovnsb_db: Option<String>,
    /// Start paused: connect and follow, but write nothing until `resume`.
    #[arg(long)]
    dry_run: bool,
    /// Accepted for compatibility with ovn-northd; rovn-northd's work is incremental.
    #[arg(long, value_name = "N")]
    n_threads: Option<u32>,
    /// SSL private key file.
    #[arg(short = 'p', long, value_name = "FILE")]
    private_key: Option<String>,
    /// SSL certificate file.
    #[arg(short = 'c', long, value_name = "FILE")]
    certificate: Option<String>,
    /// SSL CA certificate file.
    #[arg(short = 'C', long, value_name = "FILE")]
    ca_cert: Option<String>,
    #[command(flatten)]
    daemon: daemon::DaemonArgs,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut d = daemon::Daemon::start("ovn-northd", &cli.daemon).context("starting daemon")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(cli, &mut d))
}

fn default_remote(file: &str) -> String {
    format!("unix:{}", daemon::ovn_rundir().join(file).display())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn run(cli: Cli, d: &mut daemon::Daemon) -> Result<()> {
    let nb_remote = cli
        .ovnnb_db
        .clone()
        .unwrap_or_else(|| default_remote("ovnnb_db.sock"));
    let sb_remote = cli
        .ovnsb_db
        .clone()
        .unwrap_or_else(|| default_remote("ovnsb_db.sock"));
    let tls = match (&cli.private_key, &cli.certificate, &cli.ca_cert) {
        (Some(k), Some(c), Some(ca)) => Some(
            TlsConfig::from_files(k.as_ref(), c.as_ref(), ca.as_ref())
                .context("loading SSL key/certificates")?,
        ),
        (None, None, None) => None,
        _ => anyhow::bail!("SSL needs all of --private-key, --certificate and --ca-cert"),
    };
    let mut nb_cfg = SessionConfig::new(&nb_remote, NB_DB)
        .context("--ovnnb-db")?
        .leader_only(true);
    for t in NB_TABLES {
        nb_cfg = nb_cfg.monitor(t, Default::default());
    }
    let mut sb_cfg = SessionConfig::new(&sb_remote, SB_DB)
        .context("--ovnsb-db")?
        .leader_only(true)
        .lock(LOCK);
    for t in SB_TABLES {
        sb_cfg = sb_cfg.monitor(t, Default::default());
    }
    if let Some(t) = tls {
        nb_cfg = nb_cfg.tls(t.clone());
        sb_cfg = sb_cfg.tls(t);
    }
    let nb = Session::start(nb_cfg);
    let sb = Session::start(sb_cfg);

    let mut ctl = daemon::unixctl::Unixctl::bind(
        &d.unixctl_path,
        format!("rovn-northd {}", env!("CARGO_PKG_VERSION")),
        &[
            "pause",
            "resume",
            "is-paused",
            "status",
            "nb-connection-status",
            "sb-connection-status",
        ],
    )
    .with_context(|| format!("binding {}", d.unixctl_path.display()))?;
    d.ready();
    tracing::info!("rovn-northd started; NB {nb_remote}, SB {sb_remote}");

    let mut state = Northd {
        paused: cli.dry_run,
        ..Northd::default()
    };
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (mut seen_nb, mut seen_sb) = (0, 0);
    // Connecting and gaining the SB lock change no replica, but each may be the
    // moment work becomes possible: wake on the sessions' events too.
    let (mut nb_events, mut sb_events) = (nb.events(), sb.events());
    let mut retry: Option<tokio::time::Instant> = None;
    loop {
        let retry_at = retry.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            r = nb.changed(seen_nb) => { seen_nb = r?; }
            r = sb.changed(seen_sb) => { seen_sb = r?; }
            e = nb_events.recv() => if matches!(e, Err(RecvError::Closed)) { break },
            e = sb_events.recv() => match e {
                Err(RecvError::Closed) => break,
                // A new connection: the first write after it is a full diff.
                Ok(Event::Connected { .. }) => state.resync = true,
                _ => {}
            },
            _ = tokio::time::sleep_until(retry_at), if retry.is_some() => {}
            Some(req) = ctl.next() => {
                let reply = match req.command.as_str() {
                    "exit" => { req.reply(Ok(String::new())); break; }
                    "pause" => { state.paused = true; Ok(String::new()) }
                    "resume" => { state.paused = false; Ok(String::new()) }
                    "is-paused" => Ok(format!("{}\n", state.paused)),
                    "status" => Ok(format!("Status: {}\n", if state.paused { "paused" } else if sb.has_lock(LOCK) { "active" } else { "standby" })),
                    "nb-connection-status" => Ok(format!("{}\n", if nb.is_connected() { "connected" } else { "not connected" })),
                    "sb-connection-status" => Ok(format!("{}\n", if sb.is_connected() { "connected" } else { "not connected" })),
                    c => Err(format!("\"{c}\" is not a valid command\n")),
                };
                req.reply(reply);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
        retry = None;
        if state.paused || !nb.is_connected() || !sb.is_connected() {
            continue;
        }
        if !sb.has_lock(LOCK) {
            if state.active {
                tracing::info!("lost lock {LOCK}: standing by");
                state.active = false;
            }
            continue;
        }
        if !state.active {
            tracing::info!("acquired lock {LOCK}: active");
            state.active = true;
            state.resync = true;
        }
        if let Err(e) = state.step(&nb, &sb).await {
            tracing::warn!("northd iteration failed, will retry: {e:#}");
            retry = Some(tokio::time::Instant::now() + Duration::from_millis(200));
        }
    }
    tracing::info!("rovn-northd exiting");
    nb.close();
    sb.close();
    Ok(())
}

/// Elapsed time per phase of a step.
struct Laps {
    last: std::time::Instant,
    laps: Vec<(&'static str, Duration)>,
}

impl Laps {
    fn start() -> Self {
        Laps {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    fn mark(&mut self, what: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((what, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Laps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: Duration = self.laps.iter().map(|(_, d)| *d).sum();
        write!(f, "{:.1} ms:", total.as_secs_f64() * 1e3)?;
        for (what, d) in &self.laps {
            write!(f, " {what} {:.1}", d.as_secs_f64() * 1e3)?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Northd {
    engine: Engine,
    paused: bool,
    /// Warnings already logged, so bad NB content is reported once, not on every change.
    warned: BTreeSet<String>,
    active: bool,
    /// The next SB write is the first after connecting or gaining the lock: start over
    /// from the replica (index, context, full diff).
    resync: bool,
    /// The translation input, kept up to date from the NB replica's changes.
    model: Option<Northbound>,
    /// Logical_Switch_Port name → row, and row → its switch (both NB UUIDs as strings).
    lsp_by_name: HashMap<String, Uuid>,
    lsp_switch: HashMap<String, String>,
    /// Switch ports' MACs as of the last write, to notice a MAC the CMS changed.
    macs: Option<PortMacs>,
    /// Compare all switches' MACs next time (a write failed).
    macs_full: bool,
    /// SB replica indexes and the translation's SB context, following its changes.
    idx: Option<SbIndex>,
    ctx: SbContext,
    /// Chassis and SB_Global options of the last translation (a change is not local).
    ctx_sig: Option<(Vec<Chassis>, Map)>,
    /// The desired datapaths of each flow content (for datapath groups).
    flows: FlowSets,
    /// Rows of our own transactions the SB has yet to echo back.
    expected: HashSet<(String, Uuid)>,
    /// The next SB write must be the full diff (start, foreign change, failed write).
    sb_full: bool,
    /// Switch ports whose `up` may need updating; all of them when `up_full`.
    up_names: BTreeSet<String>,
    up_full: bool,
}

impl Northd {
    /// Takes the SB replica's changes into the index, the context and the flags.
    /// In batches of rows, in table order: the changes copy each row, and the echo of
    /// a first write (every logical flow) would otherwise exist twice at once. Each
    /// table's rows only need tables before it in that order (datapaths before ports
    /// and MAC bindings), which earlier batches have taken.
    fn absorb_sb(&mut self, sb: &Session) {
        let Some(idx) = self.idx.as_mut() else {
            sb.discard_changes();
            return;
        };
        loop {
            let ch = sb.take_changes_upto(SB_CHANGE_BATCH);
            idx.apply(&ch);
            let ev = sb_delta::classify(&ch, &mut self.expected, &self.engine.output().southbound, idx);
            if ev.foreign {
                tracing::debug!("SB changed by others: full diff next");
                self.sb_full = true;
            }
            self.up_names.extend(ev.port_names);
            sb.with_idl(|i| sb_delta::update_context(&mut self.ctx, &ch, idx, i.tables()));
            if !sb.with_idl(Idl::has_changes) {
                return;
            }
        }
    }

    /// Reads the whole SB replica again (start, reconnect, lock gained).
    fn resync_sb(&mut self, sb: &Session) {
        sb.discard_changes();
        let (idx, ctx) = sb.with_idl(|i| (SbIndex::build(i.tables()), snapshot::sb_context(i.tables())));
        self.idx = Some(idx);
        self.ctx = ctx;
        self.expected.clear();
        self.sb_full = true;
        self.up_full = true;
        self.resync = false;
    }

    /// Waits (briefly) until the SB replica holds our last transaction, so the next
    /// change is planned against it.
    async fn await_echoes(&mut self, sb: &Session) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let seen = sb.seqno();
            self.absorb_sb(sb);
            if self.expected.is_empty() {
                return;
            }
            match tokio::time::timeout_at(deadline, sb.changed(seen)).await {
                Ok(Ok(_)) => {}
                _ => {
                    tracing::debug!("{} SB rows not echoed: full diff next", self.expected.len());
                    self.expected.clear();
                    self.sb_full = true;
                    return;
                }
            }
        }
    }

    async fn step(&mut self, nb: &Session, sb: &Session) -> Result<()> {
        let nb_global = nb.with_idl(|i| {
            i.tables()
                .get(nb::NbGlobal::TABLE)
                .and_then(|g| g.iter().next())
                .map(|(u, r)| (*u, r.clone()))
        });
        let Some((nb_global_uuid, nb_global)) = nb_global else {
            // ovn-northd creates NB_Global when a fresh database has none.
            nb.transact(&[Operation::Insert {
                table: nb::NbGlobal::TABLE.into(),
                row: Row::new(),
                uuid_name: None,
            }])
            .await
            .context("creating NB_Global")?;
            return Ok(());
        };
        let nb_cfg = col_opt!(&nb_global, nb::NbGlobal, COL_NB_CFG => nb_cfg).unwrap_or(0);
        let started = now_ms();
        // Where a step's time goes, for the debug log (`-vdbg`).
        let mut lap = Laps::start();

        // The NB model follows the replica's changes; only the first step converts it all.
        // The first step reads the whole replica: copying it as changes too would be waste.
        let changes = if self.model.is_some() {
            nb.take_changes()
        } else {
            nb.discard_changes();
            ovsdb::idl::Changes::default()
        };
        let mut global_changed = false;
        let nb_changes: Option<NbChanges> = match &mut self.model {
            Some(m) => {
                // Our own sb_cfg/timestamp writes come back as NB_Global changes that
                // change nothing the translation reads.
                let global_before = m.nb_global.clone();
                let ch = nb_model::apply(m, &changes);
                global_changed = m.nb_global != global_before;
                type Lsp = nb::LogicalSwitchPort;
                for (u, c) in changes.table(Lsp::TABLE) {
                    if let Some(r) = c.old_row() {
                        let n = col!(r, Lsp, COL_NAME => name);
                        if self.lsp_by_name.get(&n) == Some(u) {
                            self.lsp_by_name.remove(&n);
                        }
                        self.up_names.insert(n);
                    }
                    if let Some(r) = c.new_row() {
                        let n = col!(r, Lsp, COL_NAME => name);
                        self.lsp_by_name.insert(n.clone(), *u);
                        self.up_names.insert(n);
                    }
                }
                for s in &ch.switches {
                    for p in m.switches.get(s).into_iter().flat_map(|ls| &ls.ports) {
                        self.lsp_switch.insert(p.clone(), s.clone());
                    }
                }
                Some(ch)
            }
            None => {
                let (m, names) = nb.with_idl(|i| {
                    let names: HashMap<String, Uuid> = i
                        .table(nb::LogicalSwitchPort::TABLE)
                        .map(|(u, r)| (col!(r, nb::LogicalSwitchPort, COL_NAME => name), *u))
                        .collect();
                    (snapshot::northbound(i.tables()), names)
                });
                self.lsp_by_name = names;
                self.lsp_switch = m
                    .switches
                    .iter()
                    .flat_map(|(s, ls)| ls.ports.iter().map(move |p| (p.clone(), s.clone())))
                    .collect();
                self.model = Some(m);
                self.up_full = true;
                None
            }
        };
        drop(changes);
        lap.mark("nb model");

        // The SB side: index and context from its changes (or all of it after a resync).
        let resync = self.resync || self.idx.is_none();
        if resync {
            self.resync_sb(sb);
        } else {
            self.absorb_sb(sb);
        }
        // The SB_Global options read back matter only when they differ from what the
        // translation wrote there (reading our own write back changes nothing).
        let out_options = &self.engine.output().southbound.options;
        let read_back: Map = READ_BACK
            .iter()
            .filter_map(|k| {
                let v = self.ctx.sb_global_options.get(*k)?;
                (out_options.get(*k) != Some(v)).then(|| (k.to_string(), v.clone()))
            })
            .collect();
        let sig = (self.ctx.chassis.clone(), read_back);
        let ctx_changed = self.ctx_sig.as_ref() != Some(&sig);
        self.ctx_sig = Some(sig);

        lap.mark("sb changes");
        let model = self.model.as_ref().expect("model set above");
        // After a resync (another northd may have written meanwhile) the translation
        // starts over too, taking the SB's keys.
        let delta = match nb_changes.as_ref().filter(|_| !resync) {
            // Only SB rows changed (a chassis, our own writes): the output stands.
            // (NB_Global carries nb_cfg, which is no `NbChanges` field.)
            Some(ch) if ch.is_empty() && !ctx_changed && !global_changed => Delta::Changes(Box::default()),
            Some(ch) => {
                let mut ch = ch.clone();
                ch.context = ctx_changed;
                self.engine.update_changed(model, &self.ctx, &ch)
            }
            None => {
                self.engine.update(model, &self.ctx);
                Delta::Full
            }
        };
        lap.mark("engine");
        let t = self.engine.output();
        for w in &t.warnings {
            let text = w.to_string();
            if self.warned.insert(text.clone()) {
                tracing::warn!("{text}");
            }
        }
        let desired = &t.southbound;
        let local = match &delta {
            Delta::Full => {
                self.flows = FlowSets::build(&desired.logical_flows);
                None
            }
            Delta::Changes(d) => {
                self.flows.apply(d);
                Some(d)
            }
        };
        let delta_plan = match (local, self.sb_full, &self.idx) {
            (Some(d), false, Some(idx)) => {
                sb.with_idl(|i| sb_delta::plan(d, desired, &self.flows, idx, i.tables()))
            }
            _ => None,
        };
        let full = delta_plan.is_none();
        if full {
            tracing::debug!(
                "full diff: {}",
                match (&delta, self.sb_full) {
                    (Delta::Full, _) => "engine recomputed everything",
                    (_, true) => "SB not known to match",
                    _ => "difference not local",
                }
            );
        }
        let mut plan = match delta_plan {
            Some(p) => p,
            None => sb.with_idl(|i| sb_sync::plan(desired, i.tables())),
        };
        let sb_options = desired.options.clone();
        lap.mark(if full { "full plan" } else { "delta plan" });

        // Learned bindings carrying a MAC the CMS took off a port.
        let dirty: Option<BTreeSet<String>> = match (&nb_changes, self.macs_full) {
            (Some(ch), false) if self.macs.is_some() => {
                let mut d: BTreeSet<String> = ch.switches.clone();
                d.extend(
                    ch.switch_ports
                        .iter()
                        .filter_map(|p| self.lsp_switch.get(p).cloned()),
                );
                Some(d)
            }
            _ => None,
        };
        let macs_now = match &dirty {
            Some(d) => PortMacs::of_switches(model, d),
            None => PortMacs::of(model),
        };
        if let Some(before) = &self.macs {
            let before = match &dirty {
                Some(d) => before.restrict(d),
                None => before.clone(),
            };
            for u in sb.with_idl(|i| before.stale_bindings(&macs_now, i.tables())) {
                plan.ops.push(Operation::Delete {
                    table: sb::MacBinding::TABLE.into(),
                    conditions: vec![Condition::uuid(u)],
                });
                plan.stats.deleted += 1;
            }
        }
        lap.mark("stale macs");
        let static_ops =
            nb.with_idl(|n| sb.with_idl(|s| static_macs::ops(model, n.tables(), s.tables(), &plan.ops)));
        plan.stats.updated += static_ops.len();
        plan.ops.extend(static_ops);
        let meter_ops = nb.with_idl(|n| sb.with_idl(|s| meters::ops(n.tables(), s.tables())));
        plan.stats.updated += meter_ops.len();
        plan.ops.extend(meter_ops);
        let wrote = !plan.ops.is_empty();
        if wrote {
            let mut ops = vec![Operation::Assert { lock: LOCK.into() }];
            ops.extend(plan.ops);
            // Until the write is known to have landed, the SB may be behind the engine.
            self.sb_full = true;
            self.macs_full = true;
            let keys = sb_delta::echo_keys(&ops);
            // Handed over: the operations are freed once written, before the server's
            // echo of a large first write arrives.
            let res = sb.transact_owned(ops).await.context("writing Southbound")?;
            lap.mark("sb write");
            if full {
                self.expected.clear();
            }
            self.expected.extend(sb_delta::echoes(keys, &res));
            tracing::debug!(
                "SB updated ({}): {} inserted, {} updated, {} deleted",
                if full { "full diff" } else { "delta" },
                plan.stats.inserted,
                plan.stats.updated,
                plan.stats.deleted
            );
        }
        self.sb_full = false;
        match (dirty, self.macs.as_mut()) {
            (Some(d), Some(m)) => m.replace(&d, macs_now),
            _ => self.macs = Some(macs_now),
        }
        self.macs_full = false;
        if wrote {
            self.await_echoes(sb).await;
            lap.mark("sb echoes");
        }

        // NB bookkeeping: the --wait handshake, port up state, and the options
        // northd adds (mac_prefix, ...), written back as ovn-northd does.
        let mut nb_ops = Vec::new();
        let global: Tables = [(
            nb::NbGlobal::TABLE.to_string(),
            [(nb_global_uuid, nb_global.clone())].into(),
        )]
        .into();
        let cur_sb_cfg = col_opt!(&nb_global, nb::NbGlobal, COL_SB_CFG => sb_cfg).unwrap_or(0);
        if cur_sb_cfg != nb_cfg {
            nb_ops.extend(sb_sync::nb_cfg_timestamp_op(&global, started));
        }
        let hv_cfg = sb.with_idl(|i| sb_sync::hv_cfg(i.tables(), nb_cfg));
        nb_ops.extend(sb_sync::nb_cfg_ops(&global, nb_cfg, hv_cfg, now_ms()));
        let up_full = std::mem::take(&mut self.up_full);
        let up_names = std::mem::take(&mut self.up_names);
        if up_full {
            // Each replica read on its own (never one lock inside the other).
            let sb_up: HashMap<String, bool> = sb.with_idl(|i| {
                i.table(sb::PortBinding::TABLE)
                    .map(|(_, r)| {
                        (
                            col!(r, sb::PortBinding, COL_LOGICAL_PORT => logical_port),
                            col!(r, sb::PortBinding, COL_UP => up).unwrap_or(false),
                        )
                    })
                    .collect()
            });
            nb.with_idl(|i| {
                nb_ops.extend(
                    i.table(nb::LogicalSwitchPort::TABLE)
                        .filter_map(|(u, r)| sb_sync::port_up_op(*u, r, |n| sb_up.get(n).copied())),
                )
            });
        } else if !up_names.is_empty() {
            let idx = self.idx.as_ref();
            let sb_up: HashMap<&String, bool> = sb.with_idl(|i| {
                up_names
                    .iter()
                    .filter_map(|n| {
                        let u = idx?.port_row(n)?;
                        let r = i.row(sb::PortBinding::TABLE, &u)?;
                        Some((n, col!(r, sb::PortBinding, COL_UP => up).unwrap_or(false)))
                    })
                    .collect()
            });
            nb.with_idl(|i| {
                for n in &up_names {
                    let Some(u) = self.lsp_by_name.get(n) else {
                        continue;
                    };
                    let Some(r) = i.row(nb::LogicalSwitchPort::TABLE, u) else {
                        continue;
                    };
                    nb_ops.extend(sb_sync::port_up_op(*u, r, |n| sb_up.get(&n.to_string()).copied()));
                }
            });
        }
        let nb_options = col!(&nb_global, nb::NbGlobal, COL_OPTIONS => options);
        let mut merged = nb_options.clone();
        for k in WRITTEN_BACK {
            if let Some(v) = sb_options.get(*k) {
                merged.insert(k.to_string(), v.clone());
            }
        }
        if merged != nb_options {
            let mut row = Row::new();
            nb::NbGlobal::set_options(&mut row, &merged);
            nb_ops.push(Operation::Update {
                table: nb::NbGlobal::TABLE.into(),
                conditions: vec![Condition::uuid(nb_global_uuid)],
                row,
            });
        }
        lap.mark("nb status");
        if !nb_ops.is_empty()
            && let Err(e) = nb.transact(&nb_ops).await
        {
            self.up_full = true;
            return Err(anyhow::Error::new(e).context("writing Northbound status"));
        }
        lap.mark("nb write");
        tracing::debug!("step took {}", lap);
        Ok(())
    }
}
