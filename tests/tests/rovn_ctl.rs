//! `scripts/rovn-ctl` starts NB and SB ovsdb-servers that real OVN clients can use,
//! and stops them by pidfile.

use std::process::Command;

use testbed::{repo_root, require, run};

#[test]
fn start_dbs_serves_nb_and_sb_to_ovn_clients_and_stop_dbs_stops_them() {
    if !require(&["ovsdb-server", "ovn-nbctl", "ovn-sbctl"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ctl = |cmd: &str| {
        let mut c = Command::new(repo_root().join("scripts/rovn-ctl"));
        c.arg(format!("--run-dir={}", d.join("run").display()))
            .arg(format!("--log-dir={}", d.join("log").display()))
            .arg(format!("--db-dir={}", d.join("db").display()))
            .args(["--nb-port=0", "--sb-port=0", cmd]);
        c
    };
    run(&mut ctl("start-dbs"));
    let nb = format!("--db=unix:{}", d.join("run/ovnnb_db.sock").display());
    let sb = format!("--db=unix:{}", d.join("run/ovnsb_db.sock").display());
    run(Command::new("ovn-nbctl").args([&nb, "ls-add", "ls1"]));
    assert!(run(Command::new("ovn-nbctl").args([&nb, "ls-list"])).contains("(ls1)"));
    run(Command::new("ovn-sbctl").args([&sb, "chassis-add", "hv1", "geneve", "10.0.0.1"]));
    // Listeners configured in the databases themselves (`set-connection`, as with
    // ovn-ctl) are served.
    let extra_nb = d.join("run/extra-nb.sock");
    let extra_sb = d.join("run/extra-sb.sock");
    run(Command::new("ovn-nbctl").args([&nb, "set-connection", &format!("punix:{}", extra_nb.display())]));
    run(Command::new("ovn-sbctl").args([
        &sb,
        "set-connection",
        "read-only",
        &format!("punix:{}", extra_sb.display()),
    ]));
    let appeared = |p: &std::path::Path| {
        (0..100).any(|_| {
            if p.exists() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            false
        })
    };
    assert!(
        appeared(&extra_nb) && appeared(&extra_sb),
        "set-connection listeners not served"
    );
    let extra = format!("--db=unix:{}", extra_nb.display());
    assert!(run(Command::new("ovn-nbctl").args([&extra, "ls-list"])).contains("(ls1)"));
    let extra = format!("--db=unix:{}", extra_sb.display());
    assert!(run(Command::new("ovn-sbctl").args([&extra, "show"])).contains("Chassis hv1"));
    // starting again is harmless, and the data survives a restart
    run(&mut ctl("start-dbs"));
    run(&mut ctl("restart-dbs"));
    assert!(run(Command::new("ovn-nbctl").args([&nb, "ls-list"])).contains("(ls1)"));
    assert!(run(Command::new("ovn-sbctl").args([&sb, "show"])).contains("Chassis hv1"));
    run(&mut ctl("stop-dbs"));
    assert!(!ctl("status-dbs").status().unwrap().success());
    assert!(!d.join("run/ovsdb-server-nb.pid").exists());
}
