//! rovn-northd: keeps the Southbound database in step with the Northbound one.
//! A drop-in for `ovn-northd` on the command line.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Parser;
use northd_core::Engine;
use ovn_db::{nb, sb};
use ovsdb::session::{Session, SessionConfig};
use ovsdb::tls::TlsConfig;
use ovsdb::{Condition, Operation, Row};
use rovn_northd::sb_sync::{self, Tables};
use rovn_northd::snapshot::{self, NB_TABLES, SB_TABLES};
use rovn_northd::stale_macs::PortMacs;
use rovn_northd::{col, col_opt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;

const LOCK: &str = "ovn_northd";
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
        engine: Engine::new(),
        paused: cli.dry_run,
        warned: BTreeSet::new(),
        active: false,
        macs: None,
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
            e = sb_events.recv() => if matches!(e, Err(RecvError::Closed)) { break },
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

struct Northd {
    engine: Engine,
    paused: bool,
    /// Warnings already logged, so bad NB content is reported once, not on every change.
    warned: BTreeSet<String>,
    active: bool,
    /// Switch ports' MACs as of the last iteration, to notice a MAC the CMS changed.
    macs: Option<PortMacs>,
}

impl Northd {
    async fn step(&mut self, nb: &Session, sb: &Session) -> Result<()> {
        let (input, nb_global) = nb.with_idl(|i| {
            let t = i.tables();
            (
                snapshot::northbound(t),
                t.get(nb::NbGlobal::TABLE)
                    .and_then(|g| g.iter().next())
                    .map(|(u, r)| (*u, r.clone())),
            )
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
        let ctx = sb.with_idl(|i| snapshot::sb_context(i.tables()));
        let t = self.engine.update(&input, &ctx);
        for w in &t.warnings {
            let text = w.to_string();
            if self.warned.insert(text.clone()) {
                tracing::warn!("{text}");
            }
        }
        let desired = &t.southbound;
        let mut plan = sb.with_idl(|i| sb_sync::plan(desired, i.tables()));
        let macs = PortMacs::of(&input);
        if let Some(before) = &self.macs {
            for u in sb.with_idl(|i| before.stale_bindings(&macs, i.tables())) {
                plan.ops.push(Operation::Delete {
                    table: sb::MacBinding::TABLE.into(),
                    conditions: vec![Condition::uuid(u)],
                });
                plan.stats.deleted += 1;
            }
        }
        let sb_options = desired.options.clone();
        if plan.ops.is_empty() {
            self.macs = Some(macs);
        } else {
            let mut ops = vec![Operation::Assert { lock: LOCK.into() }];
            ops.extend(plan.ops);
            sb.transact(&ops).await.context("writing Southbound")?;
            self.macs = Some(macs);
            tracing::debug!(
                "SB updated: {} inserted, {} updated, {} deleted",
                plan.stats.inserted,
                plan.stats.updated,
                plan.stats.deleted
            );
        }

        // NB bookkeeping: the --wait handshake, port up state, and the options
        // northd adds (mac_prefix, ...), written back as ovn-northd does.
        let mut nb_ops = Vec::new();
        let nb_tables: Tables = nb.with_idl(|i| {
            let mut t = Tables::new();
            for name in [nb::NbGlobal::TABLE, nb::LogicalSwitchPort::TABLE] {
                t.insert(
                    name.to_string(),
                    i.tables().get(name).cloned().unwrap_or_default(),
                );
            }
            t
        });
        let sb_tables_hv = sb.with_idl(|i| {
            let mut t = Tables::new();
            for name in [
                sb::Chassis::TABLE,
                sb::ChassisPrivate::TABLE,
                sb::PortBinding::TABLE,
            ] {
                t.insert(
                    name.to_string(),
                    i.tables().get(name).cloned().unwrap_or_default(),
                );
            }
            t
        });
        let cur_sb_cfg = col_opt!(&nb_global, nb::NbGlobal, COL_SB_CFG => sb_cfg).unwrap_or(0);
        if cur_sb_cfg != nb_cfg {
            nb_ops.extend(sb_sync::nb_cfg_timestamp_op(&nb_tables, started));
        }
        nb_ops.extend(sb_sync::nb_cfg_ops(
            &nb_tables,
            nb_cfg,
            sb_sync::hv_cfg(&sb_tables_hv, nb_cfg),
            now_ms(),
        ));
        nb_ops.extend(sb_sync::nb_port_up_ops(&nb_tables, &sb_tables_hv));
        let nb_options = col!(&nb_global, nb::NbGlobal, COL_OPTIONS => options);
        let mut merged = nb_options.clone();
        for k in [
            "mac_prefix",
            "svc_monitor_mac",
            "max_tunid",
            "northd_internal_version",
        ] {
            if let Some(v) = sb_options.get(k) {
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
        if !nb_ops.is_empty() {
            nb.transact(&nb_ops).await.context("writing Northbound status")?;
        }
        Ok(())
    }
}
