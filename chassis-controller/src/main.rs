//! `rovn-controller`: the per-host OVN chassis controller, a drop-in for OVN
//! 23.03's `ovn-controller` (same command line, same rows in the databases).
//!
//! `rovn-controller [OPTIONS] [OVS_DATABASE]`: OVS_DATABASE defaults to
//! `unix:$OVS_RUNDIR/db.sock`; the Southbound remote comes from the local
//! Open_vSwitch `external_ids:ovn-remote`.

mod binding;
mod bridge;
mod chassis;
mod config;
mod controller;
mod db;
mod local;
mod mac_binding;
mod of;
mod ofside;
mod patch;
mod row;
mod sb;
mod sb_monitor;
mod tunnels;
mod vswitch;

use anyhow::Context;
use clap::Parser;
use ovsdb::remote::Remote;

/// The program name for the pidfile and control socket, so that `ovn-ctl`
/// and `ovs-appctl -t ovn-controller` find us.
const PROGRAM: &str = "ovn-controller";

#[derive(Parser, Debug)]
#[command(
    name = "rovn-controller",
    version,
    about = "OVN chassis controller (ovn-controller compatible)"
)]
struct Args {
    /// Local Open vSwitch database (default: unix:$OVS_RUNDIR/db.sock).
    ovs_database: Option<String>,
    #[command(flatten)]
    daemon: daemon::DaemonArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut d = daemon::Daemon::start(PROGRAM, &args.daemon).context("starting the daemon")?;
    let ovs_db = args
        .ovs_database
        .clone()
        .unwrap_or_else(|| format!("unix:{}", daemon::ovs_rundir().join("db.sock").display()));
    let remote = Remote::parse(&ovs_db).with_context(|| format!("bad OVS database {ovs_db:?}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let unixctl = daemon::unixctl::Unixctl::bind(
            &d.unixctl_path,
            format!("ovn-controller (rovn) {}", env!("CARGO_PKG_VERSION")),
            controller::COMMANDS,
        )
        .with_context(|| format!("binding control socket {}", d.unixctl_path.display()))?;
        let mgmt = daemon::ovs_rundir().join("br-int.mgmt");
        let (flows, feedback) = ofside::start(mgmt);
        d.ready();
        controller::Controller::new(remote, flows, feedback)
            .run(unixctl)
            .await
    })?;
    // Exiting promptly: background tasks (connections) are dropped with the runtime.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}
