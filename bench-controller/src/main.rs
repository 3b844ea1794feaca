//! `rovn-bench-controller [--impl rovn,ovn] [--northd ovn|rovn] [--ks 10,100,500]`
//!
//! rovn-controller against Debian's ovn-controller on the medium topology (bench-notes):
//! 200 switches x 20 ports, 20 routers x 10 ports, 100 LBs in NB; 3 fake remote
//! chassis (`ovn-sbctl chassis-add fakeN geneve 127.0.0.N`) holding 200 ports; K
//! ports bound on one real chassis (a private `ovs-vswitchd --enable-dummy=system
//! --disable-system-route`, interfaces with `external_ids:iface-id`). The same
//! northd serves both controllers, so only the controller differs. For each
//! controller and K, in a fresh environment:
//!
//! - bind: one `ovs-vsctl` transaction adding the K interfaces, then `nb_cfg += 1`
//!   and the wait for `hv_cfg` (what `ovn-nbctl --wait=hv sync` does, without its
//!   process start-up); also when the last of the K `Port_Binding`s was claimed;
//! - the OpenFlow flows on br-int when `hv_cfg` arrived and 2 s later (a controller
//!   that reports before its flows are in shows a difference);
//! - the controller's peak RSS (`VmHWM`) after binding;
//! - one new port: `lsp-add` (NB transaction) + plug (`ovs-vsctl add-port`), then
//!   `--wait=hv`; the median of `--new-ports` repetitions, with the claim time, split
//!   into NB + plug (until `ovs-vsctl` returns: ovs-vswitchd has the port) and plugged →
//!   `--wait=hv` (the controller's work and the `nb_cfg` handshake);
//! - restart: SIGTERM, start again, `--wait=hv` from the new process's start;
//! - the floor: the same flows (and groups) replayed into a fresh bridge of the same
//!   ovs-vswitchd as one OpenFlow 1.5 bundle (`ovs-ofctl --bundle add-flows`).
//!
//! Prints figures; it is not a test.

mod db;
mod procs;
mod topology;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use db::{Nb, Sb};
use procs::{DbServer, Ovs, Proc, run};
use topology::{MEDIUM, port_name};

const CHASSIS: &str = "hv1";
const FAKE_PORTS_J: usize = 19;

#[derive(Parser, Debug)]
#[command(
    name = "rovn-bench-controller",
    about = "Benchmarks rovn-controller against ovn-controller; prints figures"
)]
struct Cli {
    /// Controllers to measure, comma-separated (rovn, ovn).
    #[arg(long = "impl", value_delimiter = ',', default_value = "rovn,ovn")]
    impls: Vec<String>,
    /// The northd serving both controllers (ovn or rovn).
    #[arg(long, default_value = "ovn")]
    northd: String,
    /// Numbers of local ports to bind, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10,100,500")]
    ks: Vec<usize>,
    /// Repetitions of the one-new-port measurement.
    #[arg(long, default_value_t = 5)]
    new_ports: usize,
    /// Limit in seconds for each wait.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Where rovn-controller and rovn-northd are (default: $CARGO_TARGET_DIR/release,
    /// next to this binary, or the repository's target/release).
    #[arg(long, value_name = "DIR")]
    rovn_bin_dir: Option<PathBuf>,
    /// Skip replaying the flows into a fresh bridge (the floor).
    #[arg(long)]
    no_floor: bool,
    /// Keep each run's directory (logs, databases) and print where it is.
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Rovn,
    Ovn,
}

impl Impl {
    fn parse(s: &str) -> Result<Impl> {
        match s {
            "rovn" => Ok(Impl::Rovn),
            "ovn" => Ok(Impl::Ovn),
            _ => bail!("unknown implementation {s:?} (rovn or ovn)"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Impl::Rovn => "rovn",
            Impl::Ovn => "ovn",
        }
    }
}

struct Bins {
    northd: PathBuf,
    rovn_controller: Option<PathBuf>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn find_rovn(name: &str, dir: Option<&Path>) -> Option<PathBuf> {
    let mut c = Vec::new();
    if let Some(d) = dir {
        c.push(d.join(name));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        c.push(PathBuf::from(t).join("release").join(name));
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(d) = exe.parent()
    {
        c.push(d.join(name));
    }
    c.push(repo_root().join("target/release").join(name));
    c.into_iter().find(|p| p.is_file())
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// What one (controller, K) run measured.
#[derive(Debug, Default, Clone)]
struct Figures {
    k: usize,
    start_hv: f64,
    flows_idle: u64,
    vsctl: f64,
    claim: f64,
    bind_hv: f64,
    flows_at_hv: u64,
    flows_later: u64,
    rss_mb: f64,
    new_claim: f64,
    new_hv: f64,
    /// lsp-add committed and `ovs-vsctl add-port` returned (ovs-vswitchd has the port).
    new_plugged: f64,
    /// From then to `--wait=hv`: the controller's (and the handshake's) share.
    new_plugged_hv: f64,
    new_flows_late: i64,
    restart_hv: f64,
    restart_flows_at_hv: u64,
    restart_flows_later: u64,
    floor: Option<Result<(f64, u64), String>>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn start_controller(imp: Impl, bins: &Bins, ovs: &Ovs, n: usize) -> Result<Proc> {
    let bin = match imp {
        Impl::Ovn => PathBuf::from("ovn-controller"),
        Impl::Rovn => bins
            .rovn_controller
            .clone()
            .context("rovn-controller not built")?,
    };
    Proc::spawn(
        &format!("{}-controller", imp.name()),
        Command::new(bin)
            .arg(ovs.db_remote())
            .arg(format!(
                "--log-file={}",
                ovs.dir.join(format!("controller-{n}.log")).display()
            ))
            .arg("--no-chdir")
            .envs(Ovs::env_of(&ovs.dir)),
    )
}

/// `nb_cfg += 1` and the instant `hv_cfg` reached it.
async fn wait_hv(nb: &Nb, timeout: Duration) -> Result<Instant> {
    let n = nb.transact_bump(vec![]).await?;
    nb.wait_hv(n, timeout).await
}

fn spawn_claim(sb: &Sb, ports: Vec<String>, timeout: Duration) -> tokio::task::JoinHandle<Result<Instant>> {
    let sb = sb.clone();
    tokio::spawn(async move { sb.wait_bound(CHASSIS, &ports, timeout).await })
}

async fn vsctl(ovs: &Ovs, args: Vec<String>) -> Result<()> {
    let db = ovs.db_remote();
    let out = tokio::process::Command::new("ovs-vsctl")
        .arg(format!("--db={db}"))
        .arg("--timeout=120")
        .args(&args)
        .output()
        .await
        .context("running ovs-vsctl")?;
    if !out.status.success() {
        bail!(
            "ovs-vsctl failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn plug_args(vif: &str, port: &str) -> Vec<String> {
    [
        "--",
        "add-port",
        "br-int",
        vif,
        "--",
        "set",
        "Interface",
        vif,
        &format!("external_ids:iface-id={port}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The floor: br-int's flows and groups replayed into a fresh bridge, the flows as
/// one OpenFlow 1.5 bundle; (seconds, flows).
fn floor(ovs: &Ovs, dir: &Path) -> Result<(f64, u64)> {
    let flows = ovs.ofctl("dump-flows", "br-int", &["--no-stats", "--no-names"])?;
    let flows: Vec<&str> = flows
        .lines()
        .filter(|l| l.contains("actions="))
        .map(str::trim)
        .collect();
    let groups = ovs.ofctl("dump-groups", "br-int", &[])?;
    let groups: Vec<&str> = groups
        .lines()
        .filter(|l| l.contains("group_id="))
        .map(str::trim)
        .collect();
    let ff = dir.join("floor-flows.txt");
    let gf = dir.join("floor-groups.txt");
    std::fs::write(&ff, flows.join("\n") + "\n")?;
    std::fs::write(&gf, groups.join("\n") + "\n")?;
    ovs.vsctl(&[
        "--",
        "--may-exist",
        "add-br",
        "br-floor",
        "--",
        "set",
        "bridge",
        "br-floor",
        "fail-mode=secure",
        "other-config:disable-in-band=true",
    ])?;
    // Geneve options (tun_metadata0) need the same TLV mapping as br-int.
    let tlv = ovs.ofctl("dump-tlv-map", "br-int", &[])?;
    let maps: Vec<String> = tlv
        .lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
            [class, ty, len, field] if field.starts_with("tun_metadata") => {
                Some(format!("{{class={class},type={ty},len={len}}}->{field}"))
            }
            _ => None,
        })
        .collect();
    if !maps.is_empty() {
        ovs.ofctl("add-tlv-map", "br-floor", &[&maps.join(",")])?;
    }
    if !groups.is_empty() {
        ovs.ofctl("add-groups", "br-floor", &[gf.to_str().context("path")?])?;
    }
    let t0 = Instant::now();
    run(Command::new("ovs-ofctl")
        .args(["-O", "OpenFlow15", "--timeout=120", "--bundle", "add-flows"])
        .arg(ovs.mgmt("br-floor"))
        .arg(&ff))?;
    let took = secs(t0.elapsed());
    let n = ovs.flow_count("br-floor")?;
    ovs.vsctl(&["del-br", "br-floor"])?;
    Ok((took, n))
}

async fn run_one(imp: Impl, northd_impl: Impl, bins: &Bins, k: usize, cli: &Cli) -> Result<Figures> {
    let timeout = Duration::from_secs(cli.timeout);
    let tmp = tempfile::Builder::new().prefix("rcb-").tempdir_in("/tmp")?;
    let dir = tmp.path().to_path_buf();
    let schemas = repo_root().join("schemas");
    let nbs = DbServer::start(&dir, "nb", &schemas.join("ovn-nb.ovsschema"))?;
    let sbs = DbServer::start(&dir, "sb", &schemas.join("ovn-sb.ovsschema"))?;
    {
        let (c, _notes) = db::connect(&nbs.remote()).await?;
        db::transact(&c, topology::load_params(&MEDIUM))
            .await
            .context("loading NB")?;
        c.close();
    }
    let nb = Nb::start(&nbs.remote()).await?;
    let sb = Sb::start(&sbs.remote()).await?;
    let mut northd = Proc::spawn(
        &format!("{}-northd", northd_impl.name()),
        Command::new(&bins.northd)
            .arg(format!("--ovnnb-db={}", nbs.remote()))
            .arg(format!("--ovnsb-db={}", sbs.remote()))
            .arg(format!("--log-file={}", dir.join("northd.log").display()))
            .arg("--no-chdir")
            .env("OVN_RUNDIR", &dir)
            .env("OVN_LOGDIR", &dir),
    )?;
    let n = nb.transact_bump(vec![]).await?;
    nb.wait_sb(n, timeout).await.context("northd's first pass")?;

    // Fake remote chassis with 200 ports (the last VM port of every switch).
    let mut args: Vec<String> = vec![format!("--db={}", sbs.remote()), "--timeout=120".into()];
    for c in 1..=3 {
        args.extend(["--", "chassis-add"].map(String::from));
        args.extend([format!("fake{c}"), "geneve".into(), format!("127.0.0.{c}")]);
    }
    for i in 0..MEDIUM.switches {
        args.extend([
            "--".into(),
            "lsp-bind".into(),
            port_name(i, FAKE_PORTS_J),
            format!("fake{}", i % 3 + 1),
        ]);
    }
    run(Command::new("ovn-sbctl").args(&args))?;

    let ovs = Ovs::start(&dir.join("hv"))?;
    ovs.vsctl(&[
        "--",
        "add-br",
        "br-int",
        "--",
        "set",
        "bridge",
        "br-int",
        "fail-mode=secure",
        "other-config:disable-in-band=true",
        "--",
        "set",
        "open_vswitch",
        ".",
        &format!("external-ids:system-id={CHASSIS}"),
        &format!("external-ids:hostname={CHASSIS}"),
        &format!("external-ids:ovn-remote={}", sbs.remote()),
        "external-ids:ovn-encap-type=geneve",
        "external-ids:ovn-encap-ip=127.0.0.100",
        "external-ids:ovn-bridge=br-int",
    ])?;

    let mut f = Figures {
        k,
        ..Figures::default()
    };
    let t0 = Instant::now();
    let mut ctl = start_controller(imp, bins, &ovs, 0)?;
    sb.watch
        .wait("our Chassis_Private", timeout, |r| Sb::has_private(r, CHASSIS))
        .await?;
    f.start_hv = secs(wait_hv(&nb, timeout).await? - t0);
    f.flows_idle = ovs.flow_count("br-int")?;

    // Bind K ports: port n is VM port n / 200 of switch n % 200 (spread over the
    // switches, so the local datapaths grow with K as in OVN's figures).
    let ports: Vec<String> = (0..k)
        .map(|n| port_name(n % MEDIUM.switches, n / MEDIUM.switches))
        .collect();
    let claim = spawn_claim(&sb, ports.clone(), timeout);
    let args: Vec<String> = ports
        .iter()
        .enumerate()
        .flat_map(|(x, p)| plug_args(&format!("vif{x}"), p))
        .collect();
    let t0 = Instant::now();
    vsctl(&ovs, args).await?;
    f.vsctl = secs(t0.elapsed());
    f.bind_hv = secs(wait_hv(&nb, timeout).await? - t0);
    f.flows_at_hv = ovs.flow_count("br-int")?;
    f.claim = secs(claim.await?? - t0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    f.flows_later = ovs.flow_count("br-int")?;
    ctl.check_running()?;
    f.rss_mb = procs::peak_rss(ctl.pid())? as f64 / 1e6;

    // One new port at a time: lsp-add + plug -> --wait=hv.
    let (mut claims, mut hvs, mut plugged, mut plugged_hv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 0..cli.new_ports {
        let port = format!("new{r}");
        let addr = format!("0a:ff:00:00:00:{r:02x} 10.0.0.{}", 100 + r);
        let claim = spawn_claim(&sb, vec![port.clone()], timeout);
        let before = ovs.flow_count("br-int")?;
        let t0 = Instant::now();
        nb.transact(topology::lsp_add_ops("ls0", &port, &addr)).await?;
        vsctl(&ovs, plug_args(&format!("new{r}"), &port)).await?;
        let t_plugged = Instant::now();
        let hv = wait_hv(&nb, timeout).await?;
        hvs.push(secs(hv - t0));
        plugged.push(secs(t_plugged - t0));
        plugged_hv.push(secs(hv - t_plugged));
        let at_hv = ovs.flow_count("br-int")?;
        claims.push(secs(claim.await?? - t0));
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let later = ovs.flow_count("br-int")?;
        if at_hv == before {
            eprintln!("  note: new port {port}: no new flows when hv_cfg arrived ({before} flows)");
        }
        f.new_flows_late += later as i64 - at_hv as i64;
    }
    f.new_claim = median(claims);
    f.new_hv = median(hvs);
    f.new_plugged = median(plugged);
    f.new_plugged_hv = median(plugged_hv);

    // Restart: SIGTERM, a new process, --wait=hv from its start.
    ctl.terminate(Duration::from_secs(10))?;
    let t0 = Instant::now();
    ctl = start_controller(imp, bins, &ovs, 1)?;
    f.restart_hv = secs(wait_hv(&nb, timeout).await? - t0);
    f.restart_flows_at_hv = ovs.flow_count("br-int")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    f.restart_flows_later = ovs.flow_count("br-int")?;
    ctl.check_running()?;
    northd.check_running()?;

    if !cli.no_floor {
        f.floor = Some(floor(&ovs, &dir).map_err(|e| format!("{e:#}")));
    }
    drop(ctl);
    if cli.keep {
        let kept = tmp.keep();
        eprintln!("  kept {}", kept.display());
    }
    Ok(f)
}

fn print_table(results: &[(Impl, Figures)], northd: Impl) {
    println!();
    println!(
        "medium topology ({}), 3 fake chassis with 200 ports, northd: {}-northd; times in s",
        MEDIUM.describe(),
        northd.name()
    );
    println!();
    println!(
        "| controller | K | start → hv (no ports) | bind: vsctl | claimed | → --wait=hv | flows at hv / +2 s | peak RSS MB | floor: bundle of same flows | new port: claimed | → --wait=hv | of which NB + plug / plugged → hv | restart → --wait=hv | flows at hv / +2 s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (imp, f) in results {
        let floor = match &f.floor {
            None => "–".to_string(),
            Some(Ok((s, n))) => format!("{s:.2} ({n} flows)"),
            Some(Err(e)) => format!("failed: {}", e.chars().take(80).collect::<String>()),
        };
        println!(
            "| {}-controller | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} / {} | {:.0} | {} | {:.3} | {:.3}{} | {:.3} / {:.3} | {:.2} | {} / {} |",
            imp.name(),
            f.k,
            f.start_hv,
            f.vsctl,
            f.claim,
            f.bind_hv,
            f.flows_at_hv,
            f.flows_later,
            f.rss_mb,
            floor,
            f.new_claim,
            f.new_hv,
            if f.new_flows_late != 0 {
                format!(" ({:+} flows after hv)", f.new_flows_late)
            } else {
                String::new()
            },
            f.new_plugged,
            f.new_plugged_hv,
            f.restart_hv,
            f.restart_flows_at_hv,
            f.restart_flows_later,
        );
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    for p in [
        "ovsdb-server",
        "ovsdb-tool",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovs-ofctl",
        "ovn-sbctl",
    ] {
        if on_path(p).is_none() {
            bail!("{p} is not installed (scripts/install-deps)");
        }
    }
    let northd_impl = Impl::parse(&cli.northd)?;
    let northd = match northd_impl {
        Impl::Ovn => on_path("ovn-northd").context("ovn-northd is not installed")?,
        Impl::Rovn => {
            find_rovn("rovn-northd", cli.rovn_bin_dir.as_deref()).context("rovn-northd not built")?
        }
    };
    let mut impls = Vec::new();
    for s in &cli.impls {
        let i = Impl::parse(s.trim())?;
        if i == Impl::Ovn && on_path("ovn-controller").is_none() {
            eprintln!("note: ovn-controller is not installed; measuring rovn only");
            continue;
        }
        if !impls.contains(&i) {
            impls.push(i);
        }
    }
    let bins = Bins {
        northd,
        rovn_controller: find_rovn("rovn-controller", cli.rovn_bin_dir.as_deref()),
    };
    if impls.contains(&Impl::Rovn) && bins.rovn_controller.is_none() {
        bail!("rovn-controller not built (cargo build --release -p rovn-controller) or --rovn-bin-dir");
    }
    eprintln!(
        "northd: {}; rovn-controller: {}",
        bins.northd.display(),
        bins.rovn_controller
            .as_ref()
            .map_or("-".into(), |p| p.display().to_string())
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    // Interleaved (K outer, controller inner) so that drift in the machine's load
    // hits both controllers alike.
    for &k in &cli.ks {
        for &imp in &impls {
            eprintln!("== {}-controller, K = {k}", imp.name());
            match rt.block_on(run_one(imp, northd_impl, &bins, k, &cli)) {
                Ok(f) => {
                    eprintln!("   {f:?}");
                    results.push((imp, f));
                }
                Err(e) => eprintln!("   FAILED: {e:#}"),
            }
        }
    }
    print_table(&results, northd_impl);
    Ok(())
}
