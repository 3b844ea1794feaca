//! The processes a run needs: fresh NB/SB `ovsdb-server`s in a directory, and a
//! northd under test. Each is killed (SIGKILL) and reaped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A child process killed and reaped on drop.
pub struct Proc {
    pub name: String,
    child: Child,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Proc> {
        let child = cmd
            .stdin(Stdio::null())
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

    /// Fails if the process has already exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(st)) => bail!("{} exited: {st}", self.name),
            Err(e) => bail!("{}: {e}", self.name),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak and current resident set size of a process, in bytes (`VmHWM`, `VmRSS`).
pub fn memory(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .with_context(|| format!("parsing {line:?}"))?;
        Ok(kb * 1024)
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

/// One `ovsdb-server` serving one fresh database in `dir`.
pub struct DbServer {
    pub db_file: PathBuf,
    pub sock: PathBuf,
    pub ctl: PathBuf,
    proc_: Proc,
}

impl DbServer {
    /// Creates `dir/NAME.db` from `schema` and serves it on `dir/NAME.sock`.
    pub fn start(dir: &Path, name: &str, schema: &Path) -> Result<DbServer> {
        let db_file = dir.join(format!("{name}.db"));
        let sock = dir.join(format!("{name}.sock"));
        let ctl = dir.join(format!("{name}.ctl"));
        let _ = std::fs::remove_file(&db_file);
        let out = Command::new("ovsdb-tool")
            .arg("create")
            .arg(&db_file)
            .arg(schema)
            .output()
            .context("running ovsdb-tool create")?;
        if !out.status.success() {
            bail!(
                "ovsdb-tool create {}: {}",
                db_file.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let proc_ = Proc::spawn(
            &format!("ovsdb-server ({name})"),
            Command::new("ovsdb-server")
                .arg(&db_file)
                .arg(format!("--remote=punix:{}", sock.display()))
                .arg(format!("--unixctl={}", ctl.display()))
                .arg(format!(
                    "--log-file={}",
                    dir.join(format!("{name}-ovsdb.log")).display()
                ))
                .arg("--no-chdir")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        let end = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            if Instant::now() > end {
                bail!("ovsdb-server did not come up on {}", sock.display());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(DbServer {
            db_file,
            sock,
            ctl,
            proc_,
        })
    }

    /// `unix:PATH`.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.sock.display())
    }

    pub fn pid(&self) -> u32 {
        self.proc_.pid()
    }

    /// Compacts the database file and returns its size in bytes.
    pub fn compacted_size(&self) -> Result<u64> {
        let out = Command::new("ovs-appctl")
            .arg("-t")
            .arg(&self.ctl)
            .arg("ovsdb-server/compact")
            .output()
            .context("running ovs-appctl ovsdb-server/compact")?;
        if !out.status.success() {
            bail!("ovsdb-server/compact: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(std::fs::metadata(&self.db_file)
            .with_context(|| format!("stat {}", self.db_file.display()))?
            .len())
    }
}

/// Where a repository-built program is: next to this binary's `release` directory,
/// under `$CARGO_TARGET_DIR/release`, or under the repository's `target/release`.
pub fn release_binary(name: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent()
        && let Some(target) = profile_dir.parent()
    {
        candidates.push(target.join("release").join(name));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(t).join("release").join(name));
    }
    candidates.push(repo_root().join("target/release").join(name));
    candidates.into_iter().find(|p| p.is_file())
}

/// A program on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
