//! The command-line conventions every Open vSwitch / OVN daemon shares, so that
//! existing `ovn-ctl` scripts and systemd units can start rovn's daemons unchanged:
//! `--pidfile[=FILE]`, `--overwrite-pidfile`, `--detach`, `--no-chdir`, `--monitor`,
//! `--log-file[=FILE]`, `--unixctl=SOCKET`, `-v[SPEC]`/`--verbose[=SPEC]`, and the
//! `OVN_RUNDIR`/`OVS_RUNDIR`/`OVN_LOGDIR` defaults.

pub mod unixctl;

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{0}: already running as pid {1}")]
    AlreadyRunning(PathBuf, i32),
    #[error("{what} {path}: {source}")]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} failed: {1}")]
    Sys(&'static str, std::io::Error),
    #[error("invalid verbosity {0:?} (use e.g. -v, -vdbg, --verbose=info, -vconsole:warn)")]
    Verbosity(String),
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct DaemonArgs {
    /// Write the process id to FILE (default: RUNDIR/PROGRAM.pid).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "FILE")]
    pub pidfile: Option<String>,
    /// Replace a pidfile even if it names a live process.
    #[arg(long)]
    pub overwrite_pidfile: bool,
    /// Run in the background once started.
    #[arg(long)]
    pub detach: bool,
    /// Do not change to / when detaching.
    #[arg(long)]
    pub no_chdir: bool,
    /// Accepted for compatibility; restarting a crashed daemon is the supervisor's job.
    #[arg(long)]
    pub monitor: bool,
    /// Log to FILE (default: LOGDIR/PROGRAM.log).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "FILE")]
    pub log_file: Option<String>,
    /// Control socket for ovs-appctl (default: RUNDIR/PROGRAM.PID.ctl).
    #[arg(long, value_name = "SOCKET")]
    pub unixctl: Option<PathBuf>,
    /// Log verbosity: -v (debug), or a level / MODULE:DEST:LEVEL spec as OVS takes it.
    #[arg(short = 'v', long = "verbose", num_args = 0..=1, default_missing_value = "dbg", value_name = "SPEC")]
    pub verbose: Vec<String>,
}

/// Makes glibc's malloc keep one heap for the whole process. By default every thread
/// that finds the heap busy gets an arena of its own (up to 8 per core); the daemons'
/// tokio workers then allocate a replica update on one thread and free it on another,
/// and the freed room sits in an arena the next large allocation does not use.
/// Measured at the medium scale: rovn-northd's peak RSS 370 -> 320 MB, rovn-controller's
/// 357 -> 208 MB (K=100). The daemons have two workers, so one heap costs little
/// contention. Called before any thread starts; a no-op on other C libraries.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before the
    // daemon starts threads and has no memory-safety preconditions.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// OVN's run directory: `OVN_RUNDIR`, else `OVS_RUNDIR`, else `/var/run/ovn`.
pub fn ovn_rundir() -> PathBuf {
    std::env::var_os("OVN_RUNDIR")
        .or_else(|| std::env::var_os("OVS_RUNDIR"))
        .map_or_else(|| PathBuf::from("/var/run/ovn"), PathBuf::from)
}

/// Open vSwitch's run directory: `OVS_RUNDIR`, else `/var/run/openvswitch`.
pub fn ovs_rundir() -> PathBuf {
    std::env::var_os("OVS_RUNDIR").map_or_else(|| PathBuf::from("/var/run/openvswitch"), PathBuf::from)
}

fn ovn_logdir() -> PathBuf {
    std::env::var_os("OVN_LOGDIR")
        .or_else(|| std::env::var_os("OVS_LOGDIR"))
        .map_or_else(|| PathBuf::from("/var/log/ovn"), PathBuf::from)
}

/// Maps OVS verbosity specs onto a tracing level; the last spec wins, module and
/// destination parts (`console:`, `file:`) are accepted and apply to all output.
fn level(specs: &[String]) -> Result<tracing::Level, Error> {
    let mut lvl = tracing::Level::INFO;
    for spec in specs {
        let word = spec.rsplit(':').next().unwrap_or(spec).to_ascii_lowercase();
        lvl = match word.as_str() {
            "dbg" | "debug" | "" => tracing::Level::DEBUG,
            "info" => tracing::Level::INFO,
            "warn" | "err" | "emer" | "off" => tracing::Level::WARN,
            "trace" => tracing::Level::TRACE,
            // A bare module or destination name (`-vconsole`) keeps the level.
            w if w
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !w.is_empty() =>
            {
                lvl
            }
            _ => return Err(Error::Verbosity(spec.clone())),
        };
    }
    Ok(lvl)
}

/// A started daemon: owns its pidfile (removed on drop) and, when detached, the
/// pipe on which the parent waits for [`Daemon::ready`].
pub struct Daemon {
    pub program: String,
    pub pidfile: Option<PathBuf>,
    pub unixctl_path: PathBuf,
    ready_pipe: Option<OwnedFd>,
    /// The open pidfile: its fcntl write lock lives as long as this does.
    _pidfile_lock: Option<fs::File>,
}

impl Daemon {
    /// Detaches if asked (must run before any thread, i.e. before the tokio
    /// runtime exists), writes the pidfile and sets up logging.
    pub fn start(program: &str, args: &DaemonArgs) -> Result<Daemon, Error> {
        tune_allocator();
        let lvl = level(&args.verbose)?;
        let rundir = ovn_rundir();
        let pidfile = args.pidfile.as_ref().map(|p| {
            if p.is_empty() {
                rundir.join(format!("{program}.pid"))
            } else {
                absolute(p)
            }
        });
        let log_file = args.log_file.as_ref().map(|p| {
            if p.is_empty() {
                ovn_logdir().join(format!("{program}.log"))
            } else {
                absolute(p)
            }
        });
        if let Some(p) = &pidfile
            && !args.overwrite_pidfile
            && let Some(pid) = live_pid(p)
        {
            return Err(Error::AlreadyRunning(p.clone(), pid));
        }
        let ready_pipe = if args.detach {
            Some(detach(!args.no_chdir)?)
        } else {
            None
        };
        let pidfile_lock = pidfile.as_deref().map(write_pidfile).transpose()?;
        init_logging(lvl, log_file.as_deref(), args.detach)?;
        let unixctl_path = args.unixctl.clone().map_or_else(
            || rundir.join(format!("{program}.{}.ctl", std::process::id())),
            |p| absolute(&p.to_string_lossy()),
        );
        Ok(Daemon {
            program: program.to_string(),
            pidfile,
            unixctl_path,
            ready_pipe,
            _pidfile_lock: pidfile_lock,
        })
    }

    /// Tells a waiting `--detach` parent that start-up is complete, so that it exits
    /// with success only once the daemon really runs.
    pub fn ready(&mut self) {
        if let Some(fd) = self.ready_pipe.take() {
            let mut f = fs::File::from(fd);
            let _ = f.write_all(b"1");
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(p) = &self.pidfile
            && live_pid(p) == Some(std::process::id() as i32)
        {
            let _ = fs::remove_file(p);
        }
    }
}

fn absolute(p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

fn live_pid(pidfile: &Path) -> Option<i32> {
    let pid: i32 = fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    // SAFETY: kill with signal 0 only checks that the process exists.
    (pid > 0 && unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
}

/// Writes our pid and holds an fcntl write lock on the file: OVS tools
/// (`ovs-appctl -t PROGRAM`, `ovn-ctl`) only trust a pidfile whose process holds
/// that lock. The file is written aside, locked, then renamed into place, so a
/// reader never sees it empty or unlocked.
fn write_pidfile(p: &Path) -> Result<fs::File, Error> {
    use std::os::fd::AsRawFd;
    let err = |source| Error::File {
        what: "writing pidfile",
        path: p.to_path_buf(),
        source,
    };
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = p.with_extension("pid.tmp");
    let mut f = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&tmp)
        .map_err(err)?;
    // SAFETY: an all-zero flock is valid; the fields that matter are set below.
    let mut lck: libc::flock = unsafe { std::mem::zeroed() };
    lck.l_type = libc::F_WRLCK as _;
    lck.l_whence = libc::SEEK_SET as _;
    // SAFETY: `f` is an open descriptor and `lck` a valid flock for F_SETLK.
    if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLK, &lck) } != 0 {
        return Err(err(std::io::Error::last_os_error()));
    }
    f.write_all(format!("{}\n", std::process::id()).as_bytes())
        .map_err(err)?;
    fs::rename(&tmp, p).map_err(err)?;
    Ok(f)
}

/// Forks; the parent waits for the child's "ready" byte and exits with its verdict.
fn detach(chdir: bool) -> Result<OwnedFd, Error> {
    let mut fds = [0; 2];
    // SAFETY: plain POSIX calls on a single-threaded process (no runtime exists yet).
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(Error::Sys("pipe", std::io::Error::last_os_error()));
        }
        let (rd, wr) = (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]));
        match libc::fork() {
            -1 => Err(Error::Sys("fork", std::io::Error::last_os_error())),
            0 => {
                drop(rd);
                libc::setsid();
                if chdir {
                    let _ = std::env::set_current_dir("/");
                }
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    for fd in 0..3 {
                        libc::dup2(null, fd);
                    }
                    if null > 2 {
                        libc::close(null);
                    }
                }
                Ok(wr)
            }
            _ => {
                drop(wr);
                let mut f = fs::File::from(rd);
                let mut b = [0u8; 1];
                let ok = matches!(f.read(&mut b), Ok(1));
                if !ok {
                    eprintln!("daemon exited before it was ready; see its log file");
                }
                std::process::exit(if ok { 0 } else { 1 });
            }
        }
    }
}

fn init_logging(lvl: tracing::Level, file: Option<&Path>, detached: bool) -> Result<(), Error> {
    let builder = tracing_subscriber::fmt().with_max_level(lvl).with_target(true);
    match file {
        Some(p) => {
            if let Some(dir) = p.parent() {
                let _ = fs::create_dir_all(dir);
            }
            let f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|source| Error::File {
                    what: "opening log file",
                    path: p.to_path_buf(),
                    source,
                })?;
            let _ = builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .try_init();
        }
        None if detached => {}
        None => {
            let _ = builder.with_writer(std::io::stderr).try_init();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        d: DaemonArgs,
    }

    #[test]
    fn accepts_ovs_style_options() {
        let c = Cli::try_parse_from([
            "x",
            "--pidfile",
            "--detach",
            "--no-chdir",
            "--log-file=/tmp/x.log",
            "-vconsole:off",
            "--unixctl=/tmp/x.ctl",
        ])
        .unwrap();
        assert_eq!(c.d.pidfile.as_deref(), Some(""));
        assert_eq!(c.d.log_file.as_deref(), Some("/tmp/x.log"));
        assert!(c.d.detach && c.d.no_chdir);
        let c = Cli::try_parse_from(["x", "--pidfile=/run/p.pid", "-v"]).unwrap();
        assert_eq!(c.d.pidfile.as_deref(), Some("/run/p.pid"));
        assert_eq!(level(&c.d.verbose).unwrap(), tracing::Level::DEBUG);
    }

    #[test]
    fn verbosity_specs() {
        let l = |s: &[&str]| level(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(l(&[]).unwrap(), tracing::Level::INFO);
        assert_eq!(l(&["dbg"]).unwrap(), tracing::Level::DEBUG);
        assert_eq!(l(&["console:off"]).unwrap(), tracing::Level::WARN);
        assert_eq!(l(&["northd:file:info"]).unwrap(), tracing::Level::INFO);
        assert!(l(&["what?"]).is_err());
    }

    #[test]
    fn pidfile_refuses_a_live_owner() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.pid");
        fs::write(&p, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(live_pid(&p), Some(std::process::id() as i32));
        fs::write(&p, "999999999\n").unwrap();
        assert_eq!(live_pid(&p), None);
        write_pidfile(&p).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap().trim(),
            std::process::id().to_string()
        );
    }
}
