//! One benchmark run: for each northd, fresh NB/SB servers, the topology loaded in
//! one transaction, then the cold start, repeated `lsp-add --wait=sb`, peak memory,
//! and the size of what it wrote to the Southbound database together with the time
//! `ovsdb-server` alone needs to accept that (the floor).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::db::{self, CfgWatch, NB_DB, SB_DB};
use crate::procs::{self, DbServer, Proc};
use crate::topology::{self, Scale};

/// A northd implementation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impl {
    Rovn,
    Ovn,
}

impl Impl {
    pub fn parse(s: &str) -> Result<Impl> {
        match s {
            "rovn" => Ok(Impl::Rovn),
            "ovn" => Ok(Impl::Ovn),
            _ => bail!("unknown implementation {s:?} (expected rovn or ovn)"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Impl::Rovn => "rovn",
            Impl::Ovn => "ovn",
        }
    }
}

/// How a `lsp-add` is made and waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `ovn-nbctl --wait=sb lsp-add`, timed as a process.
    OvnNbctl,
    /// `rovn-nbctl --wait=sb lsp-add`, timed as a process.
    RovnNbctl,
    /// The same transaction from this process's open connection, then waiting for `sb_cfg`.
    Client,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::OvnNbctl, Method::RovnNbctl, Method::Client];

    pub fn name(self) -> &'static str {
        match self {
            Method::OvnNbctl => "ovn-nbctl",
            Method::RovnNbctl => "rovn-nbctl",
            Method::Client => "client",
        }
    }
}

pub struct Options {
    pub scale: Scale,
    pub impls: Vec<Impl>,
    pub repeat: usize,
    /// Limit for every wait (cold start, one `lsp-add`, one floor transaction).
    pub timeout: Duration,
    pub rovn_northd: PathBuf,
    pub ovn_northd: PathBuf,
    pub ovn_nbctl: PathBuf,
    pub rovn_nbctl: Option<PathBuf>,
    pub schemas: PathBuf,
    /// Also measure the floors (instant northd, replaying SB into a bare server).
    pub floors: bool,
    /// Extra arguments for every northd (e.g. `-vdbg`).
    pub northd_args: Vec<String>,
    /// Keep the temporary directories (databases, logs) and print where they are.
    pub keep: bool,
}

impl Options {
    fn nb_schema(&self) -> PathBuf {
        self.schemas.join("ovn-nb.ovsschema")
    }

    fn sb_schema(&self) -> PathBuf {
        self.schemas.join("ovn-sb.ovsschema")
    }
}

/// Summary of repeated timings, in seconds.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if !n.is_multiple_of(2) {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        // Nearest rank.
        let p90 = s[((0.9 * n as f64).ceil() as usize).clamp(1, n) - 1];
        Some(Stats {
            n,
            median,
            p90,
            min: s[0],
            max: s[n - 1],
        })
    }
}

/// `lsp-add` + wait through one method.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LspAdd {
    Measured {
        /// Whole operation as the client sees it.
        wall: Stats,
        /// Northd's own share: `sb_cfg_timestamp - nb_cfg_timestamp`.
        northd: Stats,
    },
    NotAvailable(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct SbFigures {
    pub rows: usize,
    pub rows_by_table: BTreeMap<String, usize>,
    pub logical_flow_rows: usize,
    /// Logical flows with each `Logical_DP_Group` expanded into its datapaths.
    pub logical_flows: usize,
    pub dp_groups: usize,
    pub json_bytes: usize,
    pub file_bytes_compacted: Option<u64>,
    /// Reading all of SB back in one transaction.
    pub read_all_s: f64,
    /// Floor: a bare `ovsdb-server` accepting the same rows in one transaction.
    pub floor_accept_s: Option<f64>,
    /// Floor with a client monitoring every table: until the reply, and until the
    /// monitor's update arrived.
    pub floor_accept_monitored_s: Option<f64>,
    pub floor_monitor_update_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImplResult {
    pub implementation: Impl,
    pub binary: String,
    pub version: String,
    pub nb_load_s: f64,
    /// Northd start until `sb_cfg` reached the `nb_cfg` bumped after the load.
    pub cold_s: f64,
    /// Of which: start until northd began the change (`nb_cfg_timestamp`), and
    /// `nb_cfg_timestamp` → `sb_cfg_timestamp`.
    pub cold_until_started_s: f64,
    pub cold_northd_s: f64,
    pub lsp_add: BTreeMap<String, LspAdd>,
    pub peak_rss_after_cold: u64,
    pub peak_rss: u64,
    pub sb: SbFigures,
}

/// The same `lsp-add`s against an "instant northd" that answers `nb_cfg` at once.
#[derive(Debug, Clone, Serialize)]
pub struct FloorResult {
    pub lsp_add: BTreeMap<String, LspAdd>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub implementation: Impl,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub scale: Scale,
    pub machine: String,
    pub date: String,
    pub command: String,
    pub repeat: usize,
    pub implementations: Vec<ImplResult>,
    /// Implementations whose run failed (e.g. never acknowledged `nb_cfg` in time).
    pub failures: Vec<Failure>,
    pub floor: Option<FloorResult>,
}

fn shell_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {mem_gib:.0} GiB, {}; load average at start {load}",
        shell_line("uname", &["-sr"])
    )
}

pub fn date() -> String {
    shell_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
}

/// Runs every implementation (then the floors) at one scale.
pub async fn run(opts: &Options, command: String) -> Result<RunResult> {
    let machine = machine();
    let date = date();
    let mut implementations = Vec::new();
    let mut failures = Vec::new();
    for &imp in &opts.impls {
        eprintln!("== {} at {} scale", imp.name(), opts.scale.name);
        match run_impl(opts, imp).await {
            Ok(r) => implementations.push(r),
            Err(e) => {
                let e = format!("{:#}", e.context(format!("benchmarking {}-northd", imp.name())));
                eprintln!("   FAILED: {e}");
                failures.push(Failure {
                    implementation: imp,
                    error: e,
                });
            }
        }
    }
    let floor = if opts.floors {
        eprintln!("== floor: instant northd");
        Some(run_floor(opts).await.context("measuring the lsp-add floor")?)
    } else {
        None
    };
    Ok(RunResult {
        scale: opts.scale,
        machine,
        date,
        command,
        repeat: opts.repeat,
        implementations,
        failures,
        floor,
    })
}

/// Fresh NB and SB servers with the topology loaded and `nb_cfg` bumped once.
struct Loaded {
    dir: tempfile::TempDir,
    nb: DbServer,
    sb: DbServer,
    client: ovsdb::Client,
    watch: CfgWatch,
    nb_load_s: f64,
    target: i64,
}

async fn load(opts: &Options, tag: &str) -> Result<Loaded> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("rovn-bench-{tag}-"))
        .tempdir()
        .context("creating a temporary directory")?;
    let mut dir = dir;
    if opts.keep {
        dir.disable_cleanup(true);
        eprintln!("   keeping {}", dir.path().display());
    }
    let nb = DbServer::start(dir.path(), "nb", &opts.nb_schema())?;
    let sb = DbServer::start(dir.path(), "sb", &opts.sb_schema())?;
    let (client, _notes) = db::connect(&nb.remote()).await?;
    let ops = topology::operations(&opts.scale);
    let t = Instant::now();
    client.transact(NB_DB, &ops).await.with_context(|| {
        format!(
            "loading the {} topology ({} operations)",
            opts.scale.name,
            ops.len()
        )
    })?;
    let nb_load_s = t.elapsed().as_secs_f64();
    eprintln!("   NB loaded: {} rows in {nb_load_s:.3} s", ops.len());
    let target = db::transact_and_bump(&client, Vec::new()).await?;
    let watch = CfgWatch::start(&nb.remote()).await?;
    Ok(Loaded {
        dir,
        nb,
        sb,
        client,
        watch,
        nb_load_s,
        target,
    })
}

fn spawn_northd(opts: &Options, imp: Impl, l: &Loaded) -> Result<(Proc, String, String)> {
    let bin = match imp {
        Impl::Rovn => &opts.rovn_northd,
        Impl::Ovn => &opts.ovn_northd,
    };
    let dir = l.dir.path();
    let name = format!("{}-northd", imp.name());
    let stderr = std::fs::File::create(dir.join(format!("{name}.stderr")))
        .context("creating the northd stderr file")?;
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--ovnnb-db={}", l.nb.remote()))
        .arg(format!("--ovnsb-db={}", l.sb.remote()))
        .arg(format!("--pidfile={}", dir.join(format!("{name}.pid")).display()))
        .arg(format!(
            "--log-file={}",
            dir.join(format!("{name}.log")).display()
        ))
        .arg(format!("--unixctl={}", dir.join(format!("{name}.ctl")).display()))
        .arg("--no-chdir")
        .args(&opts.northd_args)
        .env("OVN_RUNDIR", dir)
        .stdout(Stdio::null())
        .stderr(stderr);
    let version = shell_line(&bin.to_string_lossy(), &["--version"]);
    Ok((Proc::spawn(&name, &mut cmd)?, bin.display().to_string(), version))
}

/// [`CfgWatch::wait`] that also fails at once when the northd has died.
async fn wait_alive(
    watch: &CfgWatch,
    northd: &mut Option<&mut Proc>,
    what: &str,
    timeout: Duration,
    cond: impl Fn(&db::Cfg) -> bool + Copy,
) -> Result<db::Cfg> {
    let end = Instant::now() + timeout;
    loop {
        let slice = Duration::from_millis(250).min(end.saturating_duration_since(Instant::now()));
        match watch
            .wait_for(slice, cond)
            .await
            .with_context(|| format!("waiting for {what}"))?
        {
            Some(c) => return Ok(c),
            None if Instant::now() >= end => bail!(
                "timed out after {} s waiting for {what}; NB_Global last seen: {:?}",
                timeout.as_secs(),
                watch.current()
            ),
            None => {
                if let Some(p) = northd.as_deref_mut() {
                    p.check_running()?;
                }
            }
        }
    }
}

async fn run_impl(opts: &Options, imp: Impl) -> Result<ImplResult> {
    let l = load(opts, imp.name()).await?;
    let (mut northd, binary, version) = spawn_northd(opts, imp, &l)?;
    let spawned_ms = db::wall_ms();
    let t0 = Instant::now();
    let target = l.target;
    let cfg = wait_alive(
        &l.watch,
        &mut Some(&mut northd),
        "the cold start's sb_cfg",
        opts.timeout,
        move |c| c.sb_cfg >= target,
    )
    .await?;
    let cold_s = t0.elapsed().as_secs_f64();
    let peak_rss_after_cold = procs::memory(northd.pid())?.0;
    eprintln!(
        "   cold start: {cold_s:.3} s (northd share {} ms), peak RSS {} MB",
        cfg.northd_ms(),
        peak_rss_after_cold >> 20
    );
    let cold_until_started_s = (cfg.nb_cfg_timestamp - spawned_ms) as f64 / 1000.0;
    let cold_northd_s = cfg.northd_ms() as f64 / 1000.0;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut lsp_add = BTreeMap::new();
    for m in Method::ALL {
        let r = repeat_lsp_add(opts, &l, Some(&mut northd), m, imp.name()).await?;
        lsp_add.insert(m.name().to_string(), r);
    }
    northd.check_running()?;
    let peak_rss = procs::memory(northd.pid())?.0;
    drop(northd);

    let sb = sb_figures(opts, &l).await?;
    l.watch.close();
    Ok(ImplResult {
        implementation: imp,
        binary,
        version,
        nb_load_s: l.nb_load_s,
        cold_s,
        cold_until_started_s,
        cold_northd_s,
        lsp_add,
        peak_rss_after_cold,
        peak_rss,
        sb,
    })
}

async fn run_floor(opts: &Options) -> Result<FloorResult> {
    let l = load(opts, "floor").await?;
    let task = db::instant_northd(&l.nb.remote(), l.watch.receiver()).await?;
    let target = l.target;
    l.watch
        .wait("the instant northd", opts.timeout, move |c| c.sb_cfg >= target)
        .await?;
    let mut lsp_add = BTreeMap::new();
    for m in Method::ALL {
        let r = repeat_lsp_add(opts, &l, None, m, "floor").await?;
        lsp_add.insert(m.name().to_string(), r);
    }
    task.abort();
    Ok(FloorResult { lsp_add })
}

/// Runs `opts.repeat` `lsp-add`s through `m`; `NotAvailable` when `rovn-nbctl`
/// is missing or refuses (e.g. no `--wait` support).
async fn repeat_lsp_add(
    opts: &Options,
    l: &Loaded,
    mut northd: Option<&mut Proc>,
    m: Method,
    tag: &str,
) -> Result<LspAdd> {
    let nbctl = match m {
        Method::OvnNbctl => Some(opts.ovn_nbctl.clone()),
        Method::RovnNbctl => match &opts.rovn_nbctl {
            Some(p) => Some(p.clone()),
            None => return Ok(LspAdd::NotAvailable("rovn-nbctl not built".into())),
        },
        Method::Client => None,
    };
    let (mut wall, mut share) = (Vec::new(), Vec::new());
    for i in 0..opts.repeat {
        let before = l.watch.current().nb_cfg;
        let port = format!("bench-{tag}-{}-{i}", m.name());
        let t = Instant::now();
        let nb_cfg = match &nbctl {
            Some(prog) => {
                if let Err(e) = nbctl_lsp_add(prog, &l.nb, &port, opts.timeout).await {
                    if m == Method::RovnNbctl {
                        eprintln!("   {}: n/a ({e:#})", m.name());
                        return Ok(LspAdd::NotAvailable(format!("{e:#}")));
                    }
                    return Err(e);
                }
                before + 1
            }
            None => db::transact_and_bump(&l.client, db::lsp_add_ops("ls0", &port)).await?,
        };
        let cfg = wait_alive(
            &l.watch,
            &mut northd,
            &format!("sb_cfg {nb_cfg} after {}", m.name()),
            opts.timeout,
            move |c| c.nb_cfg >= nb_cfg && c.sb_cfg >= c.nb_cfg,
        )
        .await?;
        wall.push(t.elapsed().as_secs_f64());
        share.push(cfg.northd_ms() as f64 / 1000.0);
        // Let trailing work of the previous change finish.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (Some(wall), Some(northd)) = (Stats::of(&wall), Stats::of(&share)) else {
        return Ok(LspAdd::NotAvailable("no repetitions".into()));
    };
    eprintln!(
        "   {}: median {:.3} s, p90 {:.3} s (northd share median {:.3} s)",
        m.name(),
        wall.median,
        wall.p90,
        northd.median
    );
    Ok(LspAdd::Measured { wall, northd })
}

async fn nbctl_lsp_add(prog: &Path, nb: &DbServer, port: &str, timeout: Duration) -> Result<()> {
    let mut cmd = tokio::process::Command::new(prog);
    cmd.arg(format!("--db={}", nb.remote()))
        .arg("--wait=sb")
        .arg(format!("--timeout={}", timeout.as_secs().max(1)))
        .args(["lsp-add", "ls0", port])
        .env_remove("OVN_NB_DAEMON")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(timeout + Duration::from_secs(5), cmd.output())
        .await
        .with_context(|| format!("{} did not finish in time", prog.display()))?
        .with_context(|| format!("running {}", prog.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{} exited with {}: {}",
            prog.display(),
            out.status,
            err.lines().next().unwrap_or("").trim()
        );
    }
    Ok(())
}

async fn sb_figures(opts: &Options, l: &Loaded) -> Result<SbFigures> {
    let (client, _notes) = db::connect(&l.sb.remote()).await?;
    let dump = db::dump(&client, SB_DB).await?;
    let read_all_s = dump.read_s;
    client.close();
    let rows_by_table: BTreeMap<String, usize> = dump
        .tables
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(t, r)| (t.clone(), r.len()))
        .collect();
    let group_sizes: BTreeMap<&str, usize> = dump
        .table("Logical_DP_Group")
        .iter()
        .filter_map(|g| {
            let u = g.get("_uuid").map(db::uuids_in)?.first().copied()?;
            Some((u, g.get("datapaths").map_or(0, |d| db::uuids_in(d).len())))
        })
        .collect();
    let lflows = dump.table("Logical_Flow");
    let logical_flows = lflows
        .iter()
        .map(|f| {
            let group = f.get("logical_dp_group").map(db::uuids_in).unwrap_or_default();
            match group.first() {
                Some(g) => group_sizes.get(g).copied().unwrap_or(0),
                None => 1,
            }
        })
        .sum();
    let file_bytes_compacted = l.sb.compacted_size().ok();
    let (mut floor_accept_s, mut floor_accept_monitored_s, mut floor_monitor_update_s) = (None, None, None);
    if opts.floors {
        let (a, b, c) = replay_floor(opts, l.dir.path(), &dump).await?;
        floor_accept_s = Some(a);
        floor_accept_monitored_s = Some(b);
        floor_monitor_update_s = Some(c);
    }
    Ok(SbFigures {
        rows: dump.rows(),
        rows_by_table,
        logical_flow_rows: lflows.len(),
        logical_flows,
        dp_groups: group_sizes.len(),
        json_bytes: dump.json_bytes,
        file_bytes_compacted,
        read_all_s,
        floor_accept_s,
        floor_accept_monitored_s,
        floor_monitor_update_s,
    })
}

/// How long bare `ovsdb-server`s take to accept the dump as one transaction: alone,
/// and with a client monitoring every table (reply, then the monitor's update).
async fn replay_floor(opts: &Options, dir: &Path, dump: &db::Dump) -> Result<(f64, f64, f64)> {
    let params = db::replay_params(SB_DB, dump)?;
    let limit = opts.timeout;

    let bare = DbServer::start(dir, "floor-bare", &opts.sb_schema())?;
    let (c, _n) = db::connect(&bare.remote()).await?;
    let t = Instant::now();
    tokio::time::timeout(limit, db::transact_raw(&c, params.clone()))
        .await
        .context("floor transaction timed out")?
        .context("replaying SB into a bare ovsdb-server")?;
    let accept = t.elapsed().as_secs_f64();
    c.close();
    drop(bare);

    let mon = DbServer::start(dir, "floor-mon", &opts.sb_schema())?;
    let (m, mut notes) = db::connect(&mon.remote()).await?;
    db::monitor_all(&m, SB_DB).await?;
    let (c, _n) = db::connect(&mon.remote()).await?;
    let t = Instant::now();
    tokio::time::timeout(limit, db::transact_raw(&c, params))
        .await
        .context("monitored floor transaction timed out")?
        .context("replaying SB into a monitored ovsdb-server")?;
    let accepted = t.elapsed().as_secs_f64();
    let seen = tokio::time::timeout(limit, async {
        while let Some(n) = notes.recv().await {
            if n.method == "update" {
                return Ok(());
            }
        }
        bail!("monitor connection closed")
    })
    .await
    .context("no monitor update in time")?;
    seen?;
    let update = t.elapsed().as_secs_f64();
    Ok((accept, accepted, update))
}
