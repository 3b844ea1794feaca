//! The processes one run needs, all children of the bench in one temporary
//! directory: NB/SB `ovsdb-server`s, a northd, a private Open vSwitch
//! (`ovsdb-server` + `ovs-vswitchd --enable-dummy=system --disable-system-route`)
//! and the chassis controller under test. Each is killed and reaped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Proc {
    pub name: String,
    child: Child,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Proc> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {name} ({cmd:?})"))?;
        Ok(Proc {
            name: name.to_string(),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(st)) => bail!("{} exited: {st}", self.name),
            Err(e) => bail!("{}: {e}", self.name),
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn terminate(mut self, grace: Duration) -> Result<()> {
        // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let end = Instant::now() + grace;
        while Instant::now() < end {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("note: {} ignored SIGTERM for {grace:?}; killing it", self.name);
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak resident set size (`VmHWM`) of a process, in bytes.
pub fn peak_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    let kb: u64 = line["VmHWM:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb * 1024)
}

fn wait_socket(sock: &Path, what: &str) -> Result<()> {
    let end = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(sock).is_err() {
        if Instant::now() > end {
            bail!("{what} did not come up on {}", sock.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Runs a command to completion; its stdout, or an error with its stderr.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        let shown = format!("{cmd:?}");
        bail!(
            "{} failed: {}",
            shown.chars().take(300).collect::<String>(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An `ovsdb-server` serving a fresh `DIR/NAME.db` on `DIR/NAME.sock`.
pub struct DbServer {
    pub sock: PathBuf,
    _proc: Proc,
}

impl DbServer {
    pub fn start(dir: &Path, name: &str, schema: &Path) -> Result<DbServer> {
        let db = dir.join(format!("{name}.db"));
        let sock = dir.join(format!("{name}.sock"));
        run(Command::new("ovsdb-tool").arg("create").arg(&db).arg(schema))?;
        let p = Proc::spawn(
            &format!("ovsdb-server ({name})"),
            Command::new("ovsdb-server")
                .arg(&db)
                .arg(format!("--remote=punix:{}", sock.display()))
                .arg(format!("--unixctl={}", dir.join(format!("{name}.ctl")).display()))
                .arg(format!(
                    "--log-file={}",
                    dir.join(format!("{name}.log")).display()
                ))
                .arg("--no-chdir"),
        )?;
        wait_socket(&sock, "ovsdb-server")?;
        Ok(DbServer { sock, _proc: p })
    }

    pub fn remote(&self) -> String {
        format!("unix:{}", self.sock.display())
    }
}

/// A private Open vSwitch whose `OVS_RUNDIR` is `dir` (so `br-int.mgmt` is there).
pub struct Ovs {
    pub dir: PathBuf,
    _db: Proc,
    _vswitchd: Proc,
}

impl Ovs {
    pub fn start(dir: &Path) -> Result<Ovs> {
        std::fs::create_dir_all(dir)?;
        let conf = dir.join("conf.db");
        run(Command::new("ovsdb-tool")
            .arg("create")
            .arg(&conf)
            .arg("/usr/share/openvswitch/vswitch.ovsschema"))?;
        let sock = dir.join("db.sock");
        let db = Proc::spawn(
            "ovsdb-server (Open_vSwitch)",
            Command::new("ovsdb-server")
                .arg(&conf)
                .arg(format!("--remote=punix:{}", sock.display()))
                .arg(format!("--unixctl={}", dir.join("ovsdb-server.ctl").display()))
                .arg(format!("--log-file={}", dir.join("ovsdb-server.log").display()))
                .arg("--no-chdir"),
        )?;
        wait_socket(&sock, "ovsdb-server (Open_vSwitch)")?;
        let o = Ovs {
            dir: dir.to_path_buf(),
            _db: db,
            _vswitchd: Proc::spawn(
                "ovs-vswitchd",
                Command::new("ovs-vswitchd")
                    .arg(format!("unix:{}", sock.display()))
                    .arg("--enable-dummy=system")
                    .arg("--disable-system-route")
                    .arg(format!("--unixctl={}", dir.join("ovs-vswitchd.ctl").display()))
                    .arg(format!("--log-file={}", dir.join("ovs-vswitchd.log").display()))
                    .arg("--no-chdir")
                    .envs(Ovs::env_of(dir)),
            )?,
        };
        o.vsctl(&["--no-wait", "init"])?;
        let end = Instant::now() + Duration::from_secs(10);
        while run(Command::new("ovs-appctl")
            .arg("-t")
            .arg(dir.join("ovs-vswitchd.ctl"))
            .arg("version"))
        .is_err()
        {
            if Instant::now() > end {
                bail!(
                    "ovs-vswitchd did not start (see {}/ovs-vswitchd.log)",
                    dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(o)
    }

    pub fn env_of(dir: &Path) -> Vec<(&'static str, PathBuf)> {
        [
            "OVS_RUNDIR",
            "OVS_DBDIR",
            "OVS_LOGDIR",
            "OVN_RUNDIR",
            "OVN_LOGDIR",
        ]
        .into_iter()
        .map(|k| (k, dir.to_path_buf()))
        .collect()
    }

    pub fn db_remote(&self) -> String {
        format!("unix:{}", self.dir.join("db.sock").display())
    }

    pub fn mgmt(&self, bridge: &str) -> String {
        format!("unix:{}", self.dir.join(format!("{bridge}.mgmt")).display())
    }

    pub fn vsctl<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<String> {
        run(Command::new("ovs-vsctl")
            .arg(format!("--db={}", self.db_remote()))
            .arg("--timeout=120")
            .args(args))
    }

    /// `ovs-ofctl -O OpenFlow15 ARGS` with the bridge's management socket.
    pub fn ofctl(&self, cmd: &str, bridge: &str, args: &[&str]) -> Result<String> {
        run(Command::new("ovs-ofctl")
            .args(["-O", "OpenFlow15", "--timeout=120", cmd])
            .arg(self.mgmt(bridge))
            .args(args))
    }

    /// OpenFlow flows on `bridge` (`dump-aggregate`'s `flow_count`).
    pub fn flow_count(&self, bridge: &str) -> Result<u64> {
        let out = self.ofctl("dump-aggregate", bridge, &[])?;
        out.split(|c: char| c.is_whitespace() || c == ',')
            .find_map(|w| w.strip_prefix("flow_count="))
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no flow_count in {out:?}"))
    }
}
