//! rovn-sbctl against real ovsdb-servers populated by the real ovn-northd, compared
//! with the real ovn-sbctl.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use testbed::{OvnDbs, OvsdbServer};

const ROVN_SB: &str = env!("CARGO_BIN_EXE_rovn-sbctl");

fn run(tool: &str, db: &OvsdbServer, args: &[&str]) -> Output {
    Command::new(tool)
        .arg(format!("--db={}", db.remote()))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {tool}: {e}"))
}

fn ok(tool: &str, db: &OvsdbServer, args: &[&str]) -> String {
    let out = run(tool, db, args);
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sorted_lines(s: &str) -> BTreeSet<String> {
    s.lines().map(String::from).collect()
}

fn records(s: &str) -> BTreeSet<String> {
    s.split("\n\n").map(|r| r.trim().to_string()).collect()
}

fn dump(db: &OvsdbServer) -> String {
    let out = Command::new("ovsdb-client")
        .args(["dump", &db.remote(), "OVN_Southbound"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn sbctl_matches_ovn_sbctl_on_a_northd_populated_database() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovsdb-client",
        "ovn-nbctl",
        "ovn-sbctl",
        "ovn-northd",
    ]) {
        return;
    }
    let dbs = OvnDbs::start();
    let dir = std::env::temp_dir().join(format!("rovn-sbctl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _northd = testbed::Daemon::spawn(
        "ovn-northd",
        Command::new("ovn-northd")
            .arg(format!("--ovnnb-db={}", dbs.nb.remote()))
            .arg(format!("--ovnsb-db={}", dbs.sb.remote()))
            .arg(format!("--log-file={}/northd.log", dir.display()))
            .arg(format!("--unixctl={}/northd.ctl", dir.display()))
            .arg("--no-chdir")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    // Seed 000 plus a router, then wait until northd has written the SB.
    let mut nb = vec!["--timeout=20", "--wait=sb", "ls-add", "ls1"];
    for (p, mac) in [
        ("ls1-vm1", "02:ac:10:ff:00:11"),
        ("ls1-vm2", "02:ac:10:ff:00:22"),
        ("ls1-vm3", "02:ac:10:ff:00:33"),
    ] {
        nb.extend([
            "--",
            "lsp-add",
            "ls1",
            p,
            "--",
            "lsp-set-addresses",
            p,
            mac,
            "--",
            "lsp-set-port-security",
            p,
            mac,
        ]);
    }
    nb.extend([
        "--",
        "lr-add",
        "router1",
        "--",
        "lrp-add",
        "router1",
        "router1-ls1",
        "02:ac:10:ff:01:01",
        "172.16.255.1/24",
    ]);
    ok("ovn-nbctl", &dbs.nb, &nb);
    let sb = &dbs.sb;

    // Chassis made by each tool; bindings made by each tool.
    ok(ROVN_SB, sb, &["chassis-add", "ubuntu2", "geneve", "10.127.0.3"]);
    ok(
        "ovn-sbctl",
        sb,
        &["chassis-add", "ubuntu3", "geneve,vxlan", "10.127.0.4"],
    );
    ok(ROVN_SB, sb, &["set", "chassis", "ubuntu2", "hostname=ubuntu2"]);
    ok(ROVN_SB, sb, &["lsp-bind", "ls1-vm1", "ubuntu2"]);
    ok("ovn-sbctl", sb, &["lsp-bind", "ls1-vm3", "ubuntu2"]);
    ok(ROVN_SB, sb, &["lsp-bind", "ls1-vm2", "ubuntu3"]);

    let show = ok(ROVN_SB, sb, &["show"]);
    assert!(show.contains("Chassis ubuntu2\n    hostname: ubuntu2\n    Encap geneve\n        ip: \"10.127.0.3\"\n        options: {csum=\"true\"}\n"), "{show}");
    assert_eq!(sorted_lines(&show), sorted_lines(&ok("ovn-sbctl", sb, &["show"])));
    for args in [
        &["lflow-list"][..],
        &["lflow-list", "ls1"],
        &["--uuid", "lflow-list", "router1"],
        &["count-flows"],
        &["count-flows", "ls1"],
        &["count-flows", "nonesuch"],
    ] {
        assert_eq!(ok(ROVN_SB, sb, args), ok("ovn-sbctl", sb, args), "{args:?}");
    }
    let counts = ok(ROVN_SB, sb, &["count-flows", "router1"]);
    assert!(
        counts.contains("Total number of logical flows in the datapath \"router1\""),
        "{counts}"
    );
    let lflows = ok(ROVN_SB, sb, &["lflow-list", "ls1"]);
    assert!(lflows.starts_with("Datapath: \"ls1\" ("), "{lflows}");
    assert!(
        lflows.contains("  Pipeline: ingress\n  table=0 (ls_in_check_port_sec), priority=100  , match=(")
    );
    for t in ["Chassis", "Encap", "Port_Binding", "Datapath_Binding"] {
        assert_eq!(
            records(&ok(ROVN_SB, sb, &["list", t])),
            records(&ok("ovn-sbctl", sb, &["list", t])),
            "{t}"
        );
    }
    assert_eq!(
        ok(ROVN_SB, sb, &["get", "port_binding", "ls1-vm2", "up"]),
        "true\n"
    );

    // Errors: one line on stderr, non-zero exit, nothing committed.
    let before = dump(sb);
    for (args, want) in [
        (
            &["chassis-add", "ubuntu2", "geneve", "1.1.1.1"][..],
            "cannot create a chassis named ubuntu2",
        ),
        (&["lsp-bind", "nosuch", "ubuntu2"], "no port named nosuch"),
        (&["lsp-bind", "ls1-vm2", "nosuch"], "no chassis named nosuch"),
        (
            &["lsp-bind", "ls1-vm2", "ubuntu2"],
            "lport (ls1-vm2) has already been binded to chassis (ubuntu3)",
        ),
        (&["chassis-del", "nosuch"], "no chassis named nosuch"),
        (
            &["lsp-unbind", "ls1-vm1", "--", "lsp-unbind", "nosuch"],
            "no port named nosuch",
        ),
    ] {
        let out = run(ROVN_SB, sb, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.starts_with("rovn-sbctl: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert_eq!(dump(sb), before, "{args:?}");
    }
    // Migration (seed 000): vm3 moves to the other chassis.
    ok(
        ROVN_SB,
        sb,
        &["lsp-unbind", "ls1-vm3", "--", "lsp-bind", "ls1-vm3", "ubuntu3"],
    );
    assert_eq!(
        sorted_lines(&ok(ROVN_SB, sb, &["show"])),
        sorted_lines(&ok("ovn-sbctl", sb, &["show"]))
    );
    ok(ROVN_SB, sb, &["chassis-del", "ubuntu3"]);
    assert!(!ok("ovn-sbctl", sb, &["show"]).contains("ubuntu3"));
    assert!(ok("ovn-sbctl", sb, &["list", "encap"]).matches("_uuid").count() == 1);
}

/// `set-connection` with RBAC roles and read-only targets, `get-connection`,
/// `del-connection` and the SSL commands give the same outputs and rows as ovn-sbctl.
#[test]
fn connection_and_ssl_commands_match_ovn_sbctl() {
    if !testbed::require(&["ovsdb-server", "ovn-sbctl"]) {
        return;
    }
    let steps: &[&[&str]] = &[
        &[
            "set-connection",
            "role=ovn-controller",
            "ptcp:6642",
            "read-only",
            "role=",
            "punix:/tmp/ro.sock",
        ],
        &["get-connection"],
        &[
            "--inactivity-probe=60000",
            "set-connection",
            "read-write",
            "role=\"\"",
            "ptcp:6642",
        ],
        &["get-connection"],
        &[
            "--bare",
            "--columns=target,read_only,role,inactivity_probe",
            "list",
            "Connection",
        ],
        &["del-connection"],
        &["get-connection"],
        &["set-ssl", "/k.pem", "/c.pem", "/ca.pem", "TLSv1.3"],
        &["get-ssl"],
        &["del-ssl"],
        &["get-ssl"],
        &["--bare", "--columns=connections,ssl", "list", "SB_Global"],
    ];
    let run_all = |tool: &str| {
        let dbs = OvnDbs::start();
        ok(tool, &dbs.sb, &["init"]);
        steps
            .iter()
            .map(|s| {
                let out = ok(tool, &dbs.sb, s);
                if s[0] == "--bare" {
                    sorted_lines(&out).into_iter().collect::<Vec<_>>().join("\n")
                } else {
                    out
                }
            })
            .collect::<Vec<_>>()
    };
    let ours = run_all(ROVN_SB);
    assert_eq!(ours, run_all("ovn-sbctl"));
    assert!(
        ours[1].contains("read-only role=\"\" punix:/tmp/ro.sock"),
        "{}",
        ours[1]
    );
    assert!(
        ours[1].contains("read-write role=\"ovn-controller\" ptcp:6642"),
        "{}",
        ours[1]
    );
}
