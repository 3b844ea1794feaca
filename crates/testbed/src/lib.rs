//! Real Open vSwitch daemons for tests: each fixture runs in its own temporary
//! directory, talks over unix sockets there, and is killed when dropped. Nothing
//! here is mocked; a test that needs a daemon that is not installed should call
//! [`require`] and skip loudly.

pub mod vswitch;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root (where `schemas/` lives).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

pub fn nb_schema() -> PathBuf {
    repo_root().join("schemas/ovn-nb.ovsschema")
}

pub fn sb_schema() -> PathBuf {
    repo_root().join("schemas/ovn-sb.ovsschema")
}

/// `target/<profile>/` of the running test binary (`target/<profile>/deps/x-…`):
/// where this build put rovn's binaries, whatever the target directory is.
pub fn build_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()?
        .parent()
        .map(Path::to_path_buf)
}

/// A rovn binary of this build (`rovn-northd`, ...), if `cargo test --workspace`
/// (or `cargo build`) has built it.
pub fn rovn_bin(name: &str) -> Option<PathBuf> {
    build_dir().map(|d| d.join(name)).filter(|p| p.exists())
}

/// Whether `prog` is on PATH.
pub fn installed(prog: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Returns false (and says so on stderr) when a needed program is missing, so a
/// test can skip visibly rather than fail on a machine without Open vSwitch.
pub fn require(progs: &[&str]) -> bool {
    let missing: Vec<_> = progs.iter().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!("SKIPPED: not installed: {missing:?}");
    false
}

/// Runs a command to completion, panicking with its output if it fails: for test setup.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed (and reaped) on drop.
pub struct Daemon {
    pub name: String,
    child: Option<Child>,
}

impl Daemon {
    pub fn spawn(name: &str, cmd: &mut Command) -> Daemon {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {name}: {e}"));
        Daemon {
            name: name.to_string(),
            child: Some(child),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Stops the process now (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `ovsdb-server` serving one database file, on `DIR/db.sock`.
pub struct OvsdbServer {
    pub dir: PathBuf,
    pub db_file: PathBuf,
    pub schema: PathBuf,
    pub tcp_port: Option<u16>,
    daemon: Daemon,
    _tmp: Option<tempfile::TempDir>,
}

impl OvsdbServer {
    /// Creates a fresh database from `schema` in a new temporary directory and serves it.
    pub fn start(schema: &Path) -> OvsdbServer {
        let tmp = tempfile::Builder::new()
            .prefix("rovn-db-")
            .tempdir()
            .expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let db_file = dir.join("db.db");
        run(Command::new("ovsdb-tool").arg("create").arg(&db_file).arg(schema));
        let mut s = OvsdbServer::serve(&dir, &db_file, schema, None);
        s._tmp = Some(tmp);
        s
    }

    /// Like [`OvsdbServer::start`], also listening on a TCP port on 127.0.0.1.
    pub fn start_tcp(schema: &Path) -> OvsdbServer {
        let tmp = tempfile::Builder::new()
            .prefix("rovn-db-")
            .tempdir()
            .expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let db_file = dir.join("db.db");
        run(Command::new("ovsdb-tool").arg("create").arg(&db_file).arg(schema));
        let port = free_tcp_port();
        let mut s = OvsdbServer::serve(&dir, &db_file, schema, Some(port));
        s._tmp = Some(tmp);
        s
    }

    fn serve(dir: &Path, db_file: &Path, schema: &Path, tcp_port: Option<u16>) -> OvsdbServer {
        let sock = dir.join("db.sock");
        let _ = std::fs::remove_file(&sock);
        let mut cmd = Command::new("ovsdb-server");
        cmd.arg(db_file)
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", dir.join("ovsdb-server.ctl").display()))
            .arg(format!("--log-file={}", dir.join("ovsdb-server.log").display()))
            .arg("--no-chdir")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = tcp_port {
            cmd.arg(format!("--remote=ptcp:{p}:127.0.0.1"));
        }
        let daemon = Daemon::spawn("ovsdb-server", &mut cmd);
        assert!(
            wait_until(Duration::from_secs(10), || {
                std::os::unix::net::UnixStream::connect(&sock).is_ok()
            }),
            "ovsdb-server did not come up on {}",
            sock.display()
        );
        OvsdbServer {
            dir: dir.to_path_buf(),
            db_file: db_file.to_path_buf(),
            schema: schema.to_path_buf(),
            tcp_port,
            daemon,
            _tmp: None,
        }
    }

    pub fn sock(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    /// `unix:DIR/db.sock`.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.sock().display())
    }

    pub fn tcp_remote(&self) -> Option<String> {
        self.tcp_port.map(|p| format!("tcp:127.0.0.1:{p}"))
    }

    /// Kills the server (SIGKILL) and starts it again on the same file and sockets.
    pub fn restart(&mut self) {
        self.daemon.kill();
        let fresh = OvsdbServer::serve(&self.dir, &self.db_file, &self.schema, self.tcp_port);
        let OvsdbServer { daemon, .. } = fresh;
        self.daemon = daemon;
    }

    pub fn kill(&mut self) {
        self.daemon.kill();
    }

    /// The server's process id (e.g. to SIGSTOP it and simulate a hung server).
    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }
}

/// Asks the kernel for a free port; racy in principle, fine for tests.
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A Northbound and a Southbound server created from the repository's schemas.
pub struct OvnDbs {
    pub nb: OvsdbServer,
    pub sb: OvsdbServer,
}

impl OvnDbs {
    pub fn start() -> OvnDbs {
        OvnDbs {
            nb: OvsdbServer::start(&nb_schema()),
            sb: OvsdbServer::start(&sb_schema()),
        }
    }
}

/// A Raft-clustered database: `n` `ovsdb-server` members on one host, each in its
/// own directory with its own unix socket (`DIR/mI/db.sock`) and Raft port on
/// 127.0.0.1. All killed on drop.
pub struct OvsdbCluster {
    pub dir: PathBuf,
    pub schema: PathBuf,
    pub db_name: String,
    pub members: Vec<ClusterMember>,
    _tmp: tempfile::TempDir,
}

pub struct ClusterMember {
    pub dir: PathBuf,
    pub db_file: PathBuf,
    pub raft_port: u16,
    daemon: Option<Daemon>,
}

impl ClusterMember {
    pub fn sock(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    pub fn ctl(&self) -> PathBuf {
        self.dir.join("ovsdb-server.ctl")
    }

    fn start(&mut self) {
        let sock = self.sock();
        let _ = std::fs::remove_file(&sock);
        let mut cmd = Command::new("ovsdb-server");
        cmd.arg(&self.db_file)
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", self.ctl().display()))
            .arg(format!(
                "--log-file={}",
                self.dir.join("ovsdb-server.log").display()
            ))
            .arg("--no-chdir")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.daemon = Some(Daemon::spawn("ovsdb-server", &mut cmd));
        assert!(
            wait_until(Duration::from_secs(10), || {
                std::os::unix::net::UnixStream::connect(&sock).is_ok()
            }),
            "cluster member did not come up on {}",
            sock.display()
        );
    }

    pub fn is_running(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(Daemon::is_running)
    }
}

impl OvsdbCluster {
    /// Creates and starts an `n`-member cluster of the database in `schema`, and
    /// waits until it has a leader and every member has joined.
    pub fn start(schema: &Path, n: usize) -> OvsdbCluster {
        assert!(n >= 1);
        let tmp = tempfile::Builder::new()
            .prefix("rovn-cluster-")
            .tempdir()
            .expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let db_name = run(Command::new("ovsdb-tool").arg("schema-name").arg(schema))
            .trim()
            .to_string();
        let mut members: Vec<ClusterMember> = (0..n)
            .map(|i| {
                let mdir = dir.join(format!("m{i}"));
                std::fs::create_dir_all(&mdir).expect("member dir");
                ClusterMember {
                    db_file: mdir.join("db.db"),
                    dir: mdir,
                    raft_port: free_tcp_port(),
                    daemon: None,
                }
            })
            .collect();
        let addr = |p: u16| format!("tcp:127.0.0.1:{p}");
        run(Command::new("ovsdb-tool")
            .arg("create-cluster")
            .arg(&members[0].db_file)
            .arg(schema)
            .arg(addr(members[0].raft_port)));
        for i in 1..n {
            run(Command::new("ovsdb-tool")
                .arg("join-cluster")
                .arg(&members[i].db_file)
                .arg(&db_name)
                .arg(addr(members[i].raft_port))
                .arg(addr(members[0].raft_port)));
        }
        for m in &mut members {
            m.start();
        }
        let c = OvsdbCluster {
            dir,
            schema: schema.to_path_buf(),
            db_name,
            members,
            _tmp: tmp,
        };
        assert!(
            wait_until(Duration::from_secs(20), || {
                c.leader().is_some() && (0..n).all(|i| c.status(i).contains("Status: cluster member"))
            }),
            "cluster did not form"
        );
        c
    }

    /// `unix:DIR/mI/db.sock`.
    pub fn remote(&self, i: usize) -> String {
        format!("unix:{}", self.members[i].sock().display())
    }

    /// All members' remotes, comma-separated.
    pub fn remotes(&self) -> String {
        (0..self.members.len())
            .map(|i| self.remote(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `ovs-appctl cluster/status` of member `i` (empty if it does not answer).
    pub fn status(&self, i: usize) -> String {
        Command::new("ovs-appctl")
            .arg("-t")
            .arg(self.members[i].ctl())
            .arg("cluster/status")
            .arg(&self.db_name)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The member that says it is the leader.
    pub fn leader(&self) -> Option<usize> {
        (0..self.members.len()).find(|&i| self.status(i).contains("Role: leader"))
    }

    /// Waits for a leader other than `not` (e.g. after killing the old one).
    pub fn wait_for_leader(&self, not: Option<usize>, timeout: Duration) -> Option<usize> {
        let mut found = None;
        wait_until(timeout, || {
            found = self.leader().filter(|l| Some(*l) != not);
            found.is_some()
        });
        found
    }

    /// Kills member `i` (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut d) = self.members[i].daemon.take() {
            d.kill();
        }
    }

    /// Starts member `i` again on its database file.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.members[i].start();
    }
}
