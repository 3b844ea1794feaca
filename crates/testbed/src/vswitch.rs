//! A private Open vSwitch: its own `ovsdb-server` (Open_vSwitch schema) and
//! `ovs-vswitchd` on a dummy datapath, with `OVS_RUNDIR` = a temporary directory,
//! so `br-int.mgmt` and the control sockets live there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{Daemon, run, wait_until};

const VSWITCH_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// How much of the datapath is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dummy {
    /// Every port type is a dummy (`--enable-dummy=override`): enough for tracing.
    Override,
    /// Only the system datapath and plain interfaces are dummies; tunnel ports stay
    /// real userspace ports (`--enable-dummy=system`), as OVN's own tests run.
    System,
}

pub struct Vswitch {
    pub dir: PathBuf,
    db: Daemon,
    vswitchd: Daemon,
    dummy: Dummy,
    _tmp: tempfile::TempDir,
}

impl Vswitch {
    pub fn start(dummy: Dummy) -> Vswitch {
        let tmp = tempfile::Builder::new()
            .prefix("rovn-ovs-")
            .tempdir()
            .expect("tempdir");
        let dir = tmp.path().to_path_buf();
        run(Command::new("ovsdb-tool")
            .arg("create")
            .arg(dir.join("conf.db"))
            .arg(VSWITCH_SCHEMA));
        let sock = dir.join("db.sock");
        let db = Daemon::spawn(
            "ovsdb-server (Open_vSwitch)",
            Command::new("ovsdb-server")
                .arg(dir.join("conf.db"))
                .arg(format!("--remote=punix:{}", sock.display()))
                .arg(format!("--unixctl={}", dir.join("ovsdb-server.ctl").display()))
                .arg(format!("--log-file={}", dir.join("ovsdb-server.log").display()))
                .arg("--no-chdir")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        assert!(wait_until(Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(&sock).is_ok()
        }));
        let v = Vswitch {
            vswitchd: Self::spawn_vswitchd(&dir, dummy),
            dir,
            db,
            dummy,
            _tmp: tmp,
        };
        v.vsctl(&["--no-wait", "init"]);
        v.wait_ready();
        v
    }

    fn spawn_vswitchd(dir: &Path, dummy: Dummy) -> Daemon {
        let mode = match dummy {
            Dummy::Override => "--enable-dummy=override",
            Dummy::System => "--enable-dummy=system",
        };
        Daemon::spawn(
            "ovs-vswitchd",
            Command::new("ovs-vswitchd")
                .arg(format!("unix:{}", dir.join("db.sock").display()))
                .arg(mode)
                .arg("--disable-system-route")
                .arg(format!("--unixctl={}", dir.join("ovs-vswitchd.ctl").display()))
                .arg(format!("--log-file={}", dir.join("ovs-vswitchd.log").display()))
                .arg("--no-chdir")
                .envs(Self::env_of(dir))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
    }

    fn wait_ready(&self) {
        assert!(
            wait_until(Duration::from_secs(10), || self.appctl_ok(&["version"])),
            "ovs-vswitchd did not start; see {}",
            self.dir.join("ovs-vswitchd.log").display()
        );
    }

    fn env_of(dir: &Path) -> Vec<(&'static str, PathBuf)> {
        [
            "OVS_RUNDIR",
            "OVS_DBDIR",
            "OVS_LOGDIR",
            "OVS_SYSCONFDIR",
            "OVN_RUNDIR",
            "OVN_LOGDIR",
        ]
        .into_iter()
        .map(|k| (k, dir.to_path_buf()))
        .collect()
    }

    /// Environment that points OVS/OVN tools and daemons at this switch.
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        Self::env_of(&self.dir)
    }

    /// `unix:DIR/db.sock`, the local database remote a chassis controller takes.
    pub fn db_remote(&self) -> String {
        format!("unix:{}", self.dir.join("db.sock").display())
    }

    pub fn mgmt(&self, bridge: &str) -> String {
        format!("unix:{}", self.dir.join(format!("{bridge}.mgmt")).display())
    }

    pub fn vsctl(&self, args: &[&str]) -> String {
        run(Command::new("ovs-vsctl")
            .arg(format!("--db={}", self.db_remote()))
            .arg("--timeout=20")
            .args(args))
    }

    /// Adds VIF `name` to br-int at OpenFlow port `ofport`, bound to the
    /// logical port of the same name (`external_ids:iface-id`).
    pub fn add_vif(&self, name: &str, ofport: u16) {
        self.vsctl(&[
            "add-port",
            "br-int",
            name,
            "--",
            "set",
            "interface",
            name,
            &format!("ofport_request={ofport}"),
            &format!("external_ids:iface-id={name}"),
        ]);
    }

    /// `ovs-ofctl -O OpenFlow15 CMD BRIDGE-MGMT ARGS...`
    pub fn ofctl(&self, cmd: &str, bridge: &str, args: &[&str]) -> String {
        run(Command::new("ovs-ofctl")
            .args(["-O", "OpenFlow15", cmd])
            .arg(self.mgmt(bridge))
            .args(args))
    }

    pub fn appctl(&self, args: &[&str]) -> String {
        run(Command::new("ovs-appctl")
            .arg("-t")
            .arg(self.dir.join("ovs-vswitchd.ctl"))
            .args(args))
    }

    fn appctl_ok(&self, args: &[&str]) -> bool {
        Command::new("ovs-appctl")
            .arg("-t")
            .arg(self.dir.join("ovs-vswitchd.ctl"))
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Kills ovs-vswitchd (as a crash would) and starts it again.
    pub fn restart_vswitchd(&mut self) {
        self.vswitchd.kill();
        self.vswitchd = Self::spawn_vswitchd(&self.dir, self.dummy);
        self.wait_ready();
    }

    pub fn kill_vswitchd(&mut self) {
        self.vswitchd.kill();
    }

    pub fn db_pid(&self) -> u32 {
        self.db.pid()
    }
}
