//! The multi-host lab (`tests/lab`, driven by `scripts/lab`): a central node and
//! three hypervisors in network namespaces, real `ovsdb-server`/`ovs-vswitchd` on
//! the userspace datapath, and every scenario in `tests/lab/scenarios` run against
//! it: `up`, each scenario, `down` (also when a scenario fails or the test panics).
//!
//! Needs root and `ip netns`; skipped with a notice otherwise. The lab uses its own
//! directory and namespace prefix, so a `scripts/lab demo` left up is not touched.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use testbed::{repo_root, require, rovn_bin};

/// Which implementation the lab runs when `LAB_IMPL` is not set: rovn's own
/// daemons and CLIs (the `mixed` scenario still puts Debian's ovn-controller on
/// one host). `LAB_IMPL=ovn` runs the same scenarios on real OVN, which proves the
/// harness; per-role overrides (LAB_NORTHD, LAB_CONTROLLER, LAB_CONTROLLER_hvN,
/// LAB_NBCTL, LAB_SBCTL) still apply.
const LAB_IMPL_DEFAULT: &str = "rovn";

/// The lab's directory and namespace prefix are per test process, so two runs on one
/// machine (two checkouts, two engineers) never tear down each other's namespaces.
fn lab_dir() -> String {
    format!("/tmp/rovn-labtest-{}", std::process::id())
}

fn lab_prefix() -> String {
    format!("rt{}-", std::process::id())
}

/// The scenarios, in the order `scripts/lab list` gives them.
fn scenarios() -> Vec<String> {
    let out = lab(30, &["list"]).output().expect("scripts/lab list");
    assert!(out.status.success(), "scripts/lab list failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
        .collect()
}

fn lab_impl() -> String {
    std::env::var("LAB_IMPL").unwrap_or_else(|_| LAB_IMPL_DEFAULT.to_string())
}

/// `scripts/lab <args>` against the test's own lab, bounded by `secs`: `timeout`
/// sends SIGTERM, which the lab scripts trap to clean up after themselves.
fn lab(secs: u32, args: &[&str]) -> Command {
    let mut c = Command::new("timeout");
    c.arg(secs.to_string())
        .arg(repo_root().join("scripts/lab"))
        .args(args)
        .env("ROVN_LAB", lab_dir())
        .env("LAB_PREFIX", lab_prefix())
        .env("LAB_IMPL", lab_impl())
        .env_remove("LAB_KEEP")
        .stdin(Stdio::null());
    // rovn's binaries from this very build, wherever its target dir is.
    if std::env::var_os("ROVN_BIN_DIR").is_none()
        && let Some(dir) = rovn_bin("rovn-northd").and_then(|p| p.parent().map(Path::to_path_buf))
    {
        c.env("ROVN_BIN_DIR", dir);
    }
    c
}

fn skip_reason() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root (network namespaces need root)".into());
    }
    let netns = Command::new("ip")
        .args(["netns", "list"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !netns.is_ok_and(|s| s.success()) {
        return Some("`ip netns` is not available".into());
    }
    let mut progs = vec![
        "ovsdb-server",
        "ovsdb-tool",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovs-ofctl",
        "ovs-appctl",
        "python3",
        "ping",
        "curl",
        "timeout",
    ];
    if lab_impl() == "ovn" {
        progs.extend(["ovn-northd", "ovn-controller", "ovn-nbctl", "ovn-sbctl"]);
    }
    if !require(&progs) {
        return Some("programs missing (see above)".into());
    }
    None
}

/// Runs one lab command bounded by `secs`, its output into `log`; returns
/// success, the seconds it took and the lines worth reporting.
fn run_step(args: &[&str], secs: u32, log: &Path) -> (bool, f64, String) {
    let out = fs::File::create(log).expect("step log");
    let err = out.try_clone().expect("step log");
    let t0 = Instant::now();
    let status = lab(secs, args)
        .stdout(out)
        .stderr(err)
        .status()
        .expect("running scripts/lab");
    let text = fs::read_to_string(log).unwrap_or_default();
    let notable = text
        .lines()
        .filter(|l| {
            l.starts_with("TIMING")
                || l.starts_with("PASS")
                || l.starts_with("FAIL")
                || l.starts_with("KNOWN")
                || l.starts_with("TIMEOUT")
        })
        .collect::<Vec<_>>()
        .join("\n");
    (status.success(), t0.elapsed().as_secs_f64(), notable)
}

fn tail(log: &Path, n: usize) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<_> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Tears the lab down when dropped, so a panic never leaves namespaces behind.
struct LabGuard;

impl Drop for LabGuard {
    fn drop(&mut self) {
        let _ = lab(60, &["down"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn lab_scenarios_pass() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED lab test: {why}");
        return;
    }
    let logs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-logs");
    fs::create_dir_all(&logs).unwrap();
    let t0 = Instant::now();
    println!("lab implementation: {}", lab_impl());

    let _guard = LabGuard;
    let up_log = logs.join("up.log");
    let (ok, secs, notable) = run_step(&["up"], 90, &up_log);
    println!("{notable}");
    assert!(
        ok,
        "scripts/lab up failed after {secs:.1}s:\n{}",
        tail(&up_log, 40)
    );

    let mut failures = Vec::new();
    for scenario in scenarios() {
        let log = logs.join(format!("{scenario}.log"));
        let (ok, secs, notable) = run_step(&["run", &scenario], 120, &log);
        println!("{notable}");
        println!("{scenario}: {} in {secs:.1}s", if ok { "ok" } else { "FAILED" });
        if !ok {
            failures.push(format!("--- {scenario} ({}):\n{}", log.display(), tail(&log, 40)));
        }
    }

    let (ok, _, _) = run_step(&["down"], 60, &logs.join("down.log"));
    assert!(
        ok,
        "scripts/lab down failed:\n{}",
        tail(&logs.join("down.log"), 20)
    );
    println!("lab test: {:.1}s in all", t0.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "lab scenarios failed:\n{}",
        failures.join("\n")
    );
}
