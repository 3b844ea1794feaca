//! rovn-nbctl against a real ovsdb-server, and interop with the real ovn-nbctl.

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use testbed::OvsdbServer;

const ROVN: &str = env!("CARGO_BIN_EXE_rovn-nbctl");

fn run(tool: &str, db: &OvsdbServer, args: &[&str]) -> Output {
    Command::new(tool)
        .arg(format!("--db={}", db.remote()))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {tool}: {e}"))
}

/// Runs a command that must succeed; returns its stdout.
fn ok(tool: &str, db: &OvsdbServer, args: &[&str]) -> String {
    let out = run(tool, db, args);
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail; returns its stderr.
fn fails(db: &OvsdbServer, args: &[&str]) -> String {
    let out = run(ROVN, db, args);
    assert!(
        !out.status.success(),
        "rovn-nbctl {args:?} unexpectedly succeeded"
    );
    assert!(out.stdout.is_empty(), "output on failure: {:?}", out.stdout);
    String::from_utf8(out.stderr).unwrap()
}

fn dump(db: &OvsdbServer) -> String {
    let out = Command::new("ovsdb-client")
        .args(["dump", &db.remote(), "OVN_Northbound"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn have_ovn() -> bool {
    testbed::require(&["ovsdb-server", "ovsdb-tool", "ovsdb-client", "ovn-nbctl"])
}

fn start() -> OvsdbServer {
    OvsdbServer::start(&testbed::nb_schema())
}

/// Replaces every UUID by `<uuid>` so outputs of two databases can be compared.
fn mask_uuids(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if i + 36 <= b.len() && uuid::Uuid::parse_str(&s[i..i + 36]).is_ok() && s[i..i + 36].len() == 36 {
            out.push_str("<uuid>");
            i += 36;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// `show` output as a set of switch/router blocks (their order is hash order in ovn-nbctl).
fn show_blocks(s: &str) -> BTreeSet<String> {
    let mut blocks = BTreeSet::new();
    let mut cur = String::new();
    for line in s.lines() {
        if (line.starts_with("switch ") || line.starts_with("router ")) && !cur.is_empty() {
            blocks.insert(std::mem::take(&mut cur));
        }
        cur += line;
        cur.push('\n');
    }
    if !cur.is_empty() {
        blocks.insert(cur);
    }
    blocks
}

/// `show` blocks with their port/NAT sub-blocks sorted (their order follows the
/// UUIDs, which differ between two databases).
fn show_canon(s: &str) -> BTreeSet<String> {
    show_blocks(s)
        .into_iter()
        .map(|b| {
            let mut lines = b.lines();
            let head = lines.next().unwrap_or_default().to_string();
            let mut subs: Vec<String> = Vec::new();
            for l in lines {
                if l.starts_with("    ") && !l.starts_with("        ") {
                    subs.push(String::new());
                }
                if let Some(last) = subs.last_mut() {
                    *last += l;
                    last.push('\n');
                }
            }
            subs.sort();
            head + "\n" + &subs.concat()
        })
        .collect()
}

/// `list`/`find` output as a set of records (rows come in hash order in ovn-nbctl).
fn records(s: &str) -> BTreeSet<String> {
    s.split("\n\n").map(|r| r.trim().to_string()).collect()
}

/// Table-like outputs (`lb-list`): the lines as a set.
fn lines(s: &str) -> BTreeSet<String> {
    s.lines().map(String::from).collect()
}

/// `--format=json` output with its rows as a set.
fn json_rows(s: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(s).unwrap();
    let mut set: BTreeSet<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    set.insert(v["headings"].to_string());
    set
}

/// The seed scenarios' command sequences; returns what the commands printed.
fn scenario(tool: &str, db: &OvsdbServer) -> Vec<String> {
    let mut out = Vec::new();
    let mut r = |args: &[&str]| out.push(ok(tool, db, args));
    // seed 000
    r(&["ls-add", "ls1"]);
    for (p, mac) in [
        ("ls1-vm1", "02:ac:10:ff:00:11"),
        ("ls1-vm2", "02:ac:10:ff:00:22"),
        ("ls1-vm3", "02:ac:10:ff:00:33"),
    ] {
        r(&["lsp-add", "ls1", p]);
        r(&["lsp-set-addresses", p, mac]);
        r(&["lsp-set-port-security", p, mac]);
    }
    // seed 004
    r(&["lr-add", "router1"]);
    r(&[
        "lrp-add",
        "router1",
        "router1-ls2",
        "02:ac:10:ff:01:01",
        "192.168.101.1/24",
    ]);
    r(&["ls-add", "ls2"]);
    r(&["lsp-add", "ls2", "ls2-router1"]);
    r(&["lsp-set-type", "ls2-router1", "router"]);
    r(&["lsp-set-addresses", "ls2-router1", "02:ac:10:ff:01:01"]);
    r(&["lsp-set-options", "ls2-router1", "router-port=router1-ls2"]);
    r(&["lr-route-add", "router1", "0.0.0.0/0", "192.168.101.254"]);
    r(&[
        "lb-add",
        "lb1",
        "10.0.0.10:80",
        "192.168.100.10:8080,192.168.100.11:8080",
        "udp",
    ]);
    r(&["lb-add", "lb1", "[fd00::10]:80", "[fd00::2]:8080"]);
    r(&["lr-lb-add", "router1", "lb1"]);

    let uuid = ok(
        tool,
        db,
        &[
            "create",
            "load_balancer",
            "vips:10.254.10.10=\"192.168.100.10,192.168.100.11\"",
        ],
    );
    let uuid = uuid.trim().to_string();
    assert_eq!(uuid.len(), 36, "create printed {uuid:?}");
    ok(
        tool,
        db,
        &["set", "logical_switch", "ls2", &format!("load_balancer={uuid}")],
    );
    out.push(ok(tool, db, &["get", "logical_switch", "ls2", "load_balancer"]).replace(&uuid, "<lb>"));
    out.push(ok(tool, db, &["ls-lb-list", "ls2"]).replace(&uuid, "<lb>"));
    out.push(mask_uuids(&ok(tool, db, &["lr-lb-list", "router1"])));
    out.push(mask_uuids(&ok(tool, db, &["lb-list"])));
    out
}

/// Views of a database, read with `tool`, that the two tools must agree on.
fn views(tool: &str, db: &OvsdbServer) -> Vec<BTreeSet<String>> {
    let mut v = vec![show_blocks(&ok(tool, db, &["show"]))];
    for table in [
        "Logical_Switch",
        "Logical_Switch_Port",
        "Logical_Router",
        "Logical_Router_Port",
        "Logical_Router_Static_Route",
        "Load_Balancer",
    ] {
        v.push(records(&ok(tool, db, &["list", table])));
        v.push(lines(&ok(tool, db, &["--format=csv", "list", table])));
        v.push(lines(&ok(tool, db, &["--format=table", "list", table])));
    }
    v.push(records(&ok(
        tool,
        db,
        &[
            "--bare",
            "--columns=name,addresses",
            "list",
            "logical_switch_port",
        ],
    )));
    v.push(json_rows(&ok(
        tool,
        db,
        &["--format=json", "--columns=name,ports", "list", "logical_switch"],
    )));
    v.push(records(&ok(
        tool,
        db,
        &["find", "logical_switch_port", "type=router"],
    )));
    for args in [
        &["lb-list"][..],
        &["ls-list"],
        &["lr-list"],
        &["lsp-list", "ls1"],
        &["lrp-list", "router1"],
        &["lr-route-list", "router1"],
        &["ls-lb-list", "ls2"],
        &["lr-lb-list", "router1"],
        &["lsp-get-addresses", "ls1-vm1"],
        &["lsp-get-port-security", "ls1-vm2"],
        &["lsp-get-options", "ls2-router1"],
        &["lsp-get-type", "ls2-router1"],
        &["lsp-get-up", "ls1-vm1"],
        &["lsp-get-enabled", "ls1-vm1"],
        &[
            "get",
            "logical_switch_port",
            "ls2-router1",
            "options:router-port",
            "addresses",
            "type",
        ],
    ] {
        v.push(lines(&ok(tool, db, args)));
    }
    v
}

#[test]
fn seed_scenarios_interoperate_with_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let ours = start();
    let theirs = start();
    let printed_ours = scenario(ROVN, &ours);
    let printed_theirs = scenario("ovn-nbctl", &theirs);
    assert_eq!(printed_ours, printed_theirs, "command outputs differ");

    // Each tool reads each database exactly as the other does (same UUIDs).
    for db in [&ours, &theirs] {
        assert_eq!(views(ROVN, db), views("ovn-nbctl", db));
    }
    // And both databases hold the same configuration, modulo UUIDs.
    let masked = |db| -> Vec<BTreeSet<String>> {
        let mut v: Vec<BTreeSet<String>> = views(ROVN, db)
            .into_iter()
            .map(|set| set.iter().map(|s| mask_uuids(s)).collect())
            .collect();
        v[0] = show_canon(&mask_uuids(&ok(ROVN, db, &["show"])));
        v
    };
    assert_eq!(masked(&ours), masked(&theirs));

    // The end of seed 004, with each tool on the other's database.
    for (tool, db) in [(ROVN, &theirs), ("ovn-nbctl", &ours)] {
        let lb = ok(tool, db, &["get", "logical_switch", "ls2", "load_balancer"]);
        let lb = lb.trim().trim_matches(['[', ']']).to_string();
        ok(tool, db, &["clear", "logical_switch", "ls2", "load_balancer"]);
        ok(tool, db, &["destroy", "load_balancer", &lb]);
    }
    assert_eq!(masked(&ours), masked(&theirs));
    assert!(!ok(ROVN, &ours, &["lb-list"]).contains("10.254.10.10"));
}

#[test]
fn show_prints_ovn_nbctl_shape() {
    if !have_ovn() {
        return;
    }
    let db = start();
    ok(
        ROVN,
        &db,
        &[
            "ls-add",
            "ls1",
            "--",
            "lsp-add",
            "ls1",
            "vm1",
            "--",
            "lsp-set-addresses",
            "vm1",
            "02:ac:10:ff:00:11 10.0.0.11",
            "unknown",
            "--",
            "lsp-add",
            "ls1",
            "c1",
            "vm1",
            "7",
            "--",
            "lr-add",
            "r1",
            "--",
            "lrp-add",
            "r1",
            "r1-ls1",
            "02:ac:10:ff:01:01",
            "10.0.0.1/24",
            "fd00::1/64",
            "peer=x",
        ],
    );
    let show = ok(ROVN, &db, &["show"]);
    let ls = ok(ROVN, &db, &["get", "logical_switch", "ls1", "_uuid"]);
    let lr = ok(ROVN, &db, &["get", "logical_router", "r1", "_uuid"]);
    let mut blocks: Vec<&str> = show.split_inclusive('\n').collect();
    blocks.sort();
    assert!(
        show.starts_with(&format!("switch {} (ls1)\n", ls.trim())),
        "{show}"
    );
    assert!(show.contains(&format!("router {} (r1)\n", lr.trim())));
    assert!(
        show.contains("    port vm1\n        addresses: [\"02:ac:10:ff:00:11 10.0.0.11\", \"unknown\"]\n")
    );
    assert!(show.contains("    port c1\n        parent: vm1\n"));
    assert!(show.contains(
        "    port r1-ls1\n        mac: \"02:ac:10:ff:01:01\"\n        networks: [\"10.0.0.1/24\", \"fd00::1/64\"]\n"
    ));
    assert_eq!(show_blocks(&show), show_blocks(&ok("ovn-nbctl", &db, &["show"])));
    assert_eq!(
        ok(ROVN, &db, &["show", "r1"]),
        ok("ovn-nbctl", &db, &["show", "r1"])
    );
    assert_eq!(
        ok(ROVN, &db, &["get", "logical_router_port", "r1-ls1", "peer"]),
        "x\n"
    );
}

#[test]
fn errors_are_one_line_and_leave_the_database_unchanged() {
    if !have_ovn() {
        return;
    }
    let db = start();
    ok(
        ROVN,
        &db,
        &[
            "ls-add", "ls1", "--", "lsp-add", "ls1", "p1", "--", "lr-add", "r1",
        ],
    );
    ok(
        ROVN,
        &db,
        &["lrp-add", "r1", "rp1", "02:00:00:00:00:01", "10.0.0.1/24"],
    );
    ok(ROVN, &db, &["lb-add", "lb1", "1.1.1.1", "2.2.2.2"]);
    let before = dump(&db);
    let cases: &[(&[&str], &str)] = &[
        (&["ls-add", "ls1"], "ls1: a switch with this name already exists"),
        (&["lr-add", "r1"], "r1: a router with this name already exists"),
        (
            &["lsp-add", "ls1", "p1"],
            "p1: a port with this name already exists",
        ),
        (&["lsp-add", "nosuch", "p2"], "nosuch: switch name not found"),
        (
            &["lsp-add", "ls1", "p2", "parent", "5000"],
            "5000: invalid tag (must be in range 0 to 4095)",
        ),
        (&["lsp-set-addresses", "p1", "zz"], "zz: Invalid address format."),
        (
            &["lsp-set-addresses", "p1", "02:ac:10:ff:00:11 1.2.3"],
            "Invalid address format.",
        ),
        (
            &["lsp-set-addresses", "nop", "02:ac:10:ff:00:11"],
            "nop: port name not found",
        ),
        (
            &["lsp-set-port-security", "p1", "xx"],
            "xx: Invalid port security format",
        ),
        (
            &["lsp-set-port-security", "p1", "02:ac:10:ff:00:11 1.2.3.4/33"],
            "Invalid port security",
        ),
        (
            &["lsp-set-type", "p1", "bogus"],
            "Logical switch port type 'bogus' is unrecognized",
        ),
        (
            &["lsp-set-enabled", "p1", "maybe"],
            "maybe: state must be \"enabled\" or \"disabled\"",
        ),
        (
            &["lrp-add", "r1", "rp2", "zz", "10.0.0.1/24"],
            "rp2: invalid mac address zz",
        ),
        (
            &["lrp-add", "r1", "rp2", "02:00:00:00:00:02", "10.0.0.1/33"],
            "rp2: invalid network address: 10.0.0.1/33",
        ),
        (
            &["lrp-add", "r1", "rp2", "02:00:00:00:00:02"],
            "'lrp-add' command requires at least 4 arguments",
        ),
        (
            &["lr-route-add", "r1", "1.2.3.0/33", "1.1.1.1"],
            "bad prefix argument: 1.2.3.0/33",
        ),
        (
            &["lr-route-add", "r1", "1.2.3.0/24", "1.1.1"],
            "bad IPv4 nexthop argument: 1.1.1",
        ),
        (
            &["lr-route-add", "r1", "fd00::/64", "1.1.1.1"],
            "bad IPv6 nexthop argument: 1.1.1.1",
        ),
        (
            &["--policy=foo", "lr-route-add", "r1", "1.2.3.0/24", "1.1.1.1"],
            "bad policy: foo",
        ),
        (
            &["lb-add", "lb2", "1.1.1", "2.2.2.2"],
            "1.1.1: should be an IP address",
        ),
        (
            &["lb-add", "lb2", "1.1.1.1:80", "2.2.2.2"],
            "2.2.2.2: should be an IP address and a port number",
        ),
        (
            &["lb-add", "lb2", "[fd00::1]:80", "2.2.2.2:80"],
            "IP address family is different from VIP fd00::1.",
        ),
        (
            &["lb-add", "lb2", "1.1.1.1:80", "2.2.2.2:80", "icmp"],
            "icmp: protocol must be one of",
        ),
        (
            &["lb-add", "lb1", "1.1.1.1", "3.3.3.3"],
            "lb1: a load balancer with this vip (1.1.1.1) already exists",
        ),
        (
            &["ls-lb-add", "ls1", "nolb"],
            "nolb: load balancer name not found",
        ),
        (
            &["ls-add", "a", "b"],
            "'ls-add' command takes at most 1 arguments",
        ),
        (
            &["frobnicate"],
            "unknown command 'frobnicate'; use --help for help",
        ),
        (
            &["get", "logical_switch", "nosuch", "name"],
            "no row \"nosuch\" in table Logical_Switch",
        ),
        (&["get", "nosuchtable", "x", "y"], "unknown table \"nosuchtable\""),
        (
            &["set", "logical_switch", "ls1", "nosuchcol=1"],
            "does not contain a column whose name matches \"nosuchcol\"",
        ),
        (
            &["set", "logical_switch_port", "p1", "tag_request=abc"],
            "\"abc\" is not a valid integer",
        ),
        (
            &["create", "load_balancer", "protocol=icmp"],
            "is not one of the allowed values",
        ),
        // A chain fails as a whole: nothing of it is committed.
        (
            &[
                "ls-add", "ls9", "--", "lsp-add", "ls9", "p9", "--", "lsp-add", "nosuch", "p10",
            ],
            "nosuch: switch name not found",
        ),
        (
            &["ls-del", "ls1", "--", "ls-add", "ls1", "--", "ls-add", "ls1"],
            "ls1: a switch with this name already exists",
        ),
        // A server-side failure (referential integrity) is reported and rolled back too.
        (&["destroy", "logical_switch_port", "p1"], "transaction error"),
    ];
    for (args, want) in cases {
        let err = fails(&db, args);
        assert!(err.starts_with("rovn-nbctl: "), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: got {err:?}, want {want:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert_eq!(dump(&db), before, "{args:?} changed the database");
    }
    // --may-exist / --if-exists turn those into no-ops.
    ok(ROVN, &db, &["--may-exist", "ls-add", "ls1"]);
    ok(ROVN, &db, &["--if-exists", "ls-del", "nosuch"]);
    ok(ROVN, &db, &["--if-exists", "lsp-del", "nosuch"]);
    ok(ROVN, &db, &["--may-exist", "lsp-add", "ls1", "p1"]);
    assert_eq!(dump(&db), before);
}

#[test]
fn generic_commands_match_ovs_syntax() {
    if !have_ovn() {
        return;
    }
    let db = start();
    // --id=@name, forward references and one transaction for the whole line.
    let out = ok(
        ROVN,
        &db,
        &[
            "ls-add",
            "ls1",
            "--",
            "add",
            "logical_switch",
            "ls1",
            "load_balancer",
            "@lb",
            "--",
            "--id=@lb",
            "create",
            "load_balancer",
            "name=web",
            "protocol=tcp",
            "vips:\"10.0.0.1:80\"=\"10.0.0.2:80\"",
        ],
    );
    let lb = out.trim();
    assert_eq!(
        ok(ROVN, &db, &["get", "logical_switch", "ls1", "load_balancer"]),
        format!("[{lb}]\n")
    );
    assert_eq!(
        ok(
            ROVN,
            &db,
            &["get", "load_balancer", "web", "vips:\"10.0.0.1:80\""]
        ),
        "\"10.0.0.2:80\"\n"
    );
    // Abbreviated, case-insensitive table names; uuid prefixes; `.` for NB_Global.
    assert_eq!(
        ok(ROVN, &db, &["get", "Load-Balancer", &lb[..8], "name"]),
        "web\n"
    );
    assert!(fails(&db, &["get", "Load_Bal", "web", "name"]).contains("multiple table names match"));
    ok(
        ROVN,
        &db,
        &["set", "nb_glob", ".", "options:foo=bar", "external_ids:a=b"],
    );
    assert_eq!(ok(ROVN, &db, &["get", "NB_Global", ".", "opt:foo"]), "bar\n");
    ok(
        ROVN,
        &db,
        &[
            "add",
            "load_balancer",
            "web",
            "vips",
            "\"10.0.0.3:80\"=\"10.0.0.4:80\"",
        ],
    );
    ok(
        ROVN,
        &db,
        &["remove", "load_balancer", "web", "vips", "\"10.0.0.1:80\""],
    );
    assert_eq!(
        ok(ROVN, &db, &["get", "load_balancer", "web", "vips"]),
        ok("ovn-nbctl", &db, &["get", "load_balancer", "web", "vips"])
    );
    ok(
        ROVN,
        &db,
        &["set", "logical_switch", "ls1", "other_config:subnet=10.0.0.0/24"],
    );
    assert_eq!(
        ok(
            ROVN,
            &db,
            &["find", "logical_switch", "other_config:subnet=\"10.0.0.0/24\""]
        ),
        ok(
            "ovn-nbctl",
            &db,
            &["find", "logical_switch", "other_config:subnet=\"10.0.0.0/24\""]
        )
    );
    assert_eq!(
        ok(
            ROVN,
            &db,
            &[
                "--bare",
                "--columns=name",
                "find",
                "logical_switch",
                "load_balancer{>=}[]"
            ]
        ),
        "ls1\n"
    );
    ok(ROVN, &db, &["clear", "logical_switch", "ls1", "load_balancer"]);
    assert_eq!(
        ok(ROVN, &db, &["get", "logical_switch", "ls1", "load_balancer"]),
        "[]\n"
    );
    ok(ROVN, &db, &["destroy", "load_balancer", "web"]);
    ok(ROVN, &db, &["--if-exists", "destroy", "load_balancer", "web"]);
    ok(
        ROVN,
        &db,
        &[
            "lb-add", "a", "1.1.1.1", "2.2.2.2", "--", "lb-add", "b", "1.1.1.2", "2.2.2.3",
        ],
    );
    ok(ROVN, &db, &["--all", "destroy", "load_balancer"]);
    assert_eq!(ok(ROVN, &db, &["lb-list"]), "");
    // Several tables in one run are separated by a blank line, as in ovn-nbctl.
    let args = [
        "--columns=name",
        "list",
        "logical_switch",
        "--",
        "--columns=name",
        "list",
        "logical_switch",
    ];
    assert_eq!(ok(ROVN, &db, &args), ok("ovn-nbctl", &db, &args));
    // --dry-run commits nothing.
    ok(ROVN, &db, &["--dry-run", "ls-add", "dry"]);
    assert_eq!(
        ok(
            ROVN,
            &db,
            &["--bare", "--columns=name", "find", "logical_switch", "name=dry"]
        ),
        ""
    );
}

#[test]
fn routes_and_lsp_getters_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let ours = start();
    let theirs = start();
    for (tool, db) in [(ROVN, &ours), ("ovn-nbctl", &theirs)] {
        ok(tool, db, &["lr-add", "r1"]);
        ok(
            tool,
            db,
            &[
                "lrp-add",
                "r1",
                "rp1",
                "02:00:00:00:00:01",
                "10.0.0.1/24",
                "fd00::1/64",
            ],
        );
        ok(tool, db, &["lr-route-add", "r1", "10.1.0.5/16", "10.0.0.2"]);
        ok(tool, db, &["lr-route-add", "r1", "0.0.0.0/0", "10.0.0.3", "rp1"]);
        ok(
            tool,
            db,
            &["--policy=src-ip", "lr-route-add", "r1", "10.2.0.0/16", "10.0.0.4"],
        );
        ok(
            tool,
            db,
            &["--ecmp", "lr-route-add", "r1", "10.3.0.0/16", "10.0.0.5"],
        );
        ok(
            tool,
            db,
            &["--ecmp", "lr-route-add", "r1", "10.3.0.0/16", "10.0.0.6"],
        );
        ok(tool, db, &["lr-route-add", "r1", "fd01::/64", "fd00::2"]);
        ok(
            tool,
            db,
            &[
                "--route-table=rtb",
                "lr-route-add",
                "r1",
                "10.9.0.0/16",
                "10.0.0.9",
            ],
        );
        ok(
            tool,
            db,
            &["--may-exist", "lr-route-add", "r1", "10.1.0.0/16", "10.0.0.7"],
        );
        ok(tool, db, &["lr-route-del", "r1", "10.2.0.0/16"]);
        ok(tool, db, &["--if-exists", "lr-route-del", "r1", "10.200.0.0/16"]);
        ok(tool, db, &["ls-add", "ls1"]);
        ok(tool, db, &["lsp-add", "ls1", "p1"]);
        ok(tool, db, &["lsp-set-addresses", "p1", "router"]);
        ok(tool, db, &["lsp-set-options", "p1", "router-port=rp1", "foo=bar"]);
        ok(tool, db, &["lsp-set-enabled", "p1", "disabled"]);
    }
    for args in [
        &["lr-route-list", "r1"][..],
        &["lsp-get-addresses", "p1"],
        &["lsp-get-options", "p1"],
        &["lsp-get-enabled", "p1"],
        &["lsp-get-up", "p1"],
    ] {
        assert_eq!(ok(ROVN, &ours, args), ok("ovn-nbctl", &theirs, args), "{args:?}");
        assert_eq!(ok(ROVN, &theirs, args), ok("ovn-nbctl", &ours, args), "{args:?}");
    }
    ok(ROVN, &ours, &["lr-route-del", "r1"]);
    assert_eq!(ok(ROVN, &ours, &["lr-route-list", "r1"]), "");
}

/// A stand-in for ovn-northd: copies `nb_cfg` to `sb_cfg` and `hv_cfg` once.
fn answer_wait(db: &OvsdbServer, deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        let cfg = ok(ROVN, db, &["get", "nb_global", ".", "nb_cfg"]);
        let cfg: i64 = cfg.trim().parse().unwrap_or(0);
        if cfg > 0 {
            ok(
                ROVN,
                db,
                &[
                    "set",
                    "nb_global",
                    ".",
                    &format!("sb_cfg={cfg}"),
                    &format!("hv_cfg={cfg}"),
                ],
            );
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn wait_sb_bumps_nb_cfg_and_waits_for_sb_cfg() {
    if !have_ovn() {
        return;
    }
    let db = start();
    // No northd: --wait=sb times out, but the change itself is committed.
    let err = fails(&db, &["--timeout=1", "--wait=sb", "ls-add", "ls1"]);
    assert!(err.contains("timeout expired"), "{err}");
    assert_eq!(ok(ROVN, &db, &["get", "nb_global", ".", "nb_cfg"]), "1\n");
    assert_eq!(ok(ROVN, &db, &["ls-list"]).lines().count(), 1);
    // Read-only commands and --no-wait do not bump nb_cfg.
    ok(ROVN, &db, &["--wait=sb", "ls-list"]);
    ok(ROVN, &db, &["--no-wait", "ls-add", "ls2"]);
    assert_eq!(ok(ROVN, &db, &["get", "nb_global", ".", "nb_cfg"]), "1\n");
    ok(
        ROVN,
        &db,
        &["set", "nb_global", ".", "nb_cfg=0", "sb_cfg=0", "hv_cfg=0"],
    );
    // With a responder, --wait=hv returns once sb_cfg and hv_cfg caught up.
    let child = Command::new(ROVN)
        .args([
            &format!("--db={}", db.remote()),
            "--timeout=10",
            "--wait=hv",
            "sync",
        ])
        .spawn()
        .unwrap();
    assert!(answer_wait(&db, Duration::from_secs(5)));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
}

#[test]
fn wait_sb_with_real_ovn_northd() {
    if !have_ovn() || !testbed::require(&["ovn-northd"]) {
        return;
    }
    let dbs = testbed::OvnDbs::start();
    let tmp = tempfile_dir();
    let mut northd = testbed::Daemon::spawn(
        "ovn-northd",
        Command::new("ovn-northd")
            .arg(format!("--ovnnb-db={}", dbs.nb.remote()))
            .arg(format!("--ovnsb-db={}", dbs.sb.remote()))
            .arg(format!("--log-file={}/northd.log", tmp.display()))
            .arg(format!("--unixctl={}/northd.ctl", tmp.display()))
            .arg("--no-chdir")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    ok(
        ROVN,
        &dbs.nb,
        &[
            "--timeout=20",
            "--wait=sb",
            "ls-add",
            "ls1",
            "--",
            "lsp-add",
            "ls1",
            "p1",
        ],
    );
    let nb_cfg = ok(ROVN, &dbs.nb, &["get", "nb_global", ".", "nb_cfg"]);
    let sb_cfg = ok(ROVN, &dbs.nb, &["get", "nb_global", ".", "sb_cfg"]);
    assert_eq!(nb_cfg, sb_cfg);
    ok(ROVN, &dbs.nb, &["--timeout=20", "--wait=sb", "sync"]);
    assert_eq!(
        ok(ROVN, &dbs.nb, &["get", "nb_global", ".", "sb_cfg"]).trim(),
        (nb_cfg.trim().parse::<i64>().unwrap() + 1).to_string()
    );
    // northd created the datapath and binding, so SB has them.
    let pb = Command::new("ovn-sbctl")
        .args([
            &format!("--db={}", dbs.sb.remote()),
            "--bare",
            "--columns=logical_port",
            "list",
            "port_binding",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pb.stdout).trim(), "p1");
    northd.kill();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rovn-nbctl-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn commands_work_on_a_large_database() {
    if !have_ovn() {
        return;
    }
    let db = start();
    // 20 switches x 1000 ports = 20k ports, inserted in one transaction. How fast
    // commands are at this size is a benchmark's business (timings are printed
    // here, not asserted: the machine is shared).
    let mut ops = Vec::new();
    for s in 0..20 {
        let mut row = ovsdb::Row::new();
        let mut ports = Vec::new();
        for p in 0..1000 {
            let name = format!("p{s}_{p}");
            let mut lsp = ovsdb::Row::new();
            lsp.insert("name".into(), ovsdb::Datum::string(format!("sw{s}-p{p}")));
            ops.push(ovsdb::Operation::Insert {
                table: "Logical_Switch_Port".into(),
                row: lsp,
                uuid_name: Some(name.clone()),
            });
            ports.push(ovsdb::Atom::NamedUuid(name));
        }
        row.insert("name".into(), ovsdb::Datum::string(format!("sw{s}")));
        row.insert("ports".into(), ovsdb::Datum::set(ports));
        ops.push(ovsdb::Operation::Insert {
            table: "Logical_Switch".into(),
            row,
            uuid_name: None,
        });
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let remote = ovsdb::remote::Remote::parse(&db.remote()).unwrap();
        let (client, _notes) = ovsdb::Client::connect(&remote).await.unwrap();
        client.transact("OVN_Northbound", &ops).await.unwrap();
    });
    ok(ROVN, &db, &["sync"]);
    let time = |args: &[&str]| {
        let t = Instant::now();
        ok(ROVN, &db, args);
        t.elapsed()
    };
    let cleanup = || {
        ok(
            ROVN,
            &db,
            &[
                "--if-exists",
                "lsp-del",
                "sw5-new",
                "--",
                "--if-exists",
                "ls-del",
                "new",
            ],
        )
    };
    let fastest = |args: &[&str]| {
        (0..3)
            .map(|_| {
                let t = time(args);
                cleanup();
                t
            })
            .min()
            .unwrap()
    };
    // Commands that touch a few rows fetch only those rows.
    for args in [
        &["ls-add", "new"][..],
        &["lsp-add", "sw5", "sw5-new"],
        &["lsp-set-addresses", "sw7-p7", "02:00:00:00:07:07"],
        &["get", "logical_switch_port", "sw9-p9", "name"],
        &["--may-exist", "ls-add", "sw3"],
    ] {
        eprintln!("{args:?}: {:?}", fastest(args));
    }
    ok(ROVN, &db, &["lsp-set-addresses", "sw7-p7", "02:00:00:00:07:07"]);
    assert_eq!(
        ok(ROVN, &db, &["lsp-get-addresses", "sw7-p7"]).trim(),
        "02:00:00:00:07:07"
    );
    assert_eq!(
        ok(ROVN, &db, &["get", "logical_switch_port", "sw9-p9", "name"]).trim(),
        "sw9-p9"
    );
    // --wait=sb with an instant responder: the round trip stays small.
    ok(
        ROVN,
        &db,
        &["set", "nb_global", ".", "sb_cfg=1000000", "hv_cfg=1000000"],
    );
    eprintln!("--wait=sb sync: {:?}", fastest(&["--wait=sb", "sync"]));
}

/// Runs a command of `tool` that must fail without touching the database; returns its
/// error message without the program name.
fn failure_message(tool: &str, db: &OvsdbServer, args: &[&str]) -> String {
    let before = dump(db);
    let out = run(tool, db, args);
    assert!(!out.status.success(), "{tool} {args:?} unexpectedly succeeded");
    assert_eq!(dump(db), before, "{tool} {args:?} changed the database");
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    e.split_once(": ").map_or(e.clone(), |(_, m)| m.to_string())
}

/// Security groups as Neutron's driver writes them: port groups and ACLs, listed,
/// edited and deleted with the same outputs, errors and resulting rows as ovn-nbctl.
#[test]
fn acls_and_port_groups_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    // Added once, then again to provoke the duplicate-ACL error.
    const WEB_IN: &[&str] = &[
        "acl-add",
        "pg_web",
        "from-lport",
        "1002",
        "inport == @pg_web && ip4",
        "allow-related",
    ];
    let steps: &[&[&str]] = &[
        &[
            "ls-add", "ls1", "--", "lsp-add", "ls1", "vm1", "--", "lsp-add", "ls1", "vm2",
        ],
        &["pg-add", "pg_web", "vm1", "vm2", "--", "pg-add", "pg_drop", "vm1"],
        WEB_IN,
        &[
            "acl-add",
            "pg_web",
            "to-lport",
            "1002",
            "outport == @pg_web && tcp.dst == 80",
            "allow-related",
        ],
        &[
            "--label=5",
            "acl-add",
            "pg_web",
            "to-lport",
            "900",
            "icmp4",
            "allow",
        ],
        &[
            "--may-exist",
            "acl-add",
            "pg_web",
            "to-lport",
            "900",
            "icmp4",
            "allow",
        ],
        &[
            "acl-add",
            "pg_drop",
            "t",
            "1001",
            "outport == @pg_drop && ip",
            "drop",
        ],
        &[
            "--log",
            "--name=deny",
            "--severity=alert",
            "acl-add",
            "ls1",
            "to-lport",
            "100",
            "ip4.src == 10.0.0.1",
            "reject",
        ],
        &[
            "--apply-after-lb",
            "acl-add",
            "ls1",
            "from-lport",
            "200",
            "ip",
            "allow-stateless",
        ],
        &["acl-add", "ls1", "from-lport", "300", "arp", "allow"],
        &["acl-list", "pg_web"],
        &["acl-list", "ls1"],
        &["--type=port-group", "acl-list", "pg_drop"],
        &["pg-set-ports", "pg_drop", "vm2"],
        &[
            "acl-del",
            "pg_web",
            "to-lport",
            "1002",
            "outport == @pg_web && tcp.dst == 80",
        ],
        &["acl-list", "pg_web"],
        &["acl-del", "ls1", "from-lport"],
        &["acl-list", "ls1"],
        &["acl-del", "pg_drop"],
        &["acl-list", "pg_drop"],
        &["pg-del", "pg_drop"],
        &["--bare", "--columns=name", "list", "port_group"],
        &[
            "--bare",
            "--columns=priority,direction,match,action,log,name,severity,label,options",
            "list",
            "acl",
        ],
    ];
    let errors: &[&[&str]] = &[
        &["acl-add", "ls1", "sideways", "1", "ip", "drop"],
        &["acl-add", "ls1", "to-lport", "40000", "ip", "drop"],
        &["acl-add", "ls1", "to-lport", "1", "ip", "accept"],
        &["--severity=loud", "acl-add", "ls1", "to-lport", "1", "ip", "drop"],
        &["--label=3", "acl-add", "ls1", "to-lport", "1", "ip", "drop"],
        WEB_IN,
        &["acl-add", "nonesuch", "to-lport", "1", "ip", "drop"],
        &["--type=router", "acl-list", "ls1"],
        &["acl-del", "ls1", "to-lport", "100"],
        &["pg-set-ports", "nonesuch", "vm1"],
        &["pg-add", "pgx", "nonesuch"],
    ];
    let run_all = |tool: &str, db: &OvsdbServer| -> (Vec<String>, Vec<String>) {
        // `list` prints rows in UUID order: compare those as sets, the rest verbatim.
        let outs = steps
            .iter()
            .map(|s| {
                let out = ok(tool, db, s);
                if s.contains(&"list") {
                    lines(&out).into_iter().collect::<Vec<_>>().join("\n")
                } else {
                    out
                }
            })
            .collect();
        let errs = errors.iter().map(|s| failure_message(tool, db, s)).collect();
        (outs, errs)
    };
    let (ours, theirs) = (start(), start());
    let (o_out, o_err) = run_all(ROVN, &ours);
    let (t_out, t_err) = run_all("ovn-nbctl", &theirs);
    assert_eq!(o_out, t_out, "outputs differ");
    assert_eq!(o_err, t_err, "errors differ");
    assert!(
        o_out[10].contains("from-lport  1002 (inport == @pg_web && ip4) allow-related"),
        "{}",
        o_out[10]
    );
    // Each tool reads the other's ACLs alike.
    for db in [&ours, &theirs] {
        for id in ["pg_web", "ls1"] {
            assert_eq!(
                ok(ROVN, db, &["acl-list", id]),
                ok("ovn-nbctl", db, &["acl-list", id])
            );
        }
    }
}

/// Floating IPs and SNAT as Neutron writes them: the same outputs, errors and rows as
/// ovn-nbctl.
#[test]
fn nat_commands_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let steps: &[&[&str]] = &[
        &[
            "lr-add", "gw1", "--", "ls-add", "ls1", "--", "lsp-add", "ls1", "vm1",
        ],
        &["lr-nat-add", "gw1", "snat", "10.0.0.1", "172.16.1.0/24"],
        &["lr-nat-add", "gw1", "snat", "10.0.0.2", "172.16.2.9/24"],
        &["lr-nat-add", "gw1", "dnat_and_snat", "10.0.0.50", "172.16.1.5"],
        &[
            "--stateless",
            "lr-nat-add",
            "gw1",
            "dnat_and_snat",
            "10.0.0.51",
            "172.16.1.6",
        ],
        &[
            "lr-nat-add",
            "gw1",
            "dnat_and_snat",
            "10.0.0.52",
            "172.16.1.7",
            "vm1",
            "00:00:00:01:02:03",
        ],
        &[
            "--portrange",
            "lr-nat-add",
            "gw1",
            "dnat",
            "10.0.0.60",
            "172.16.1.8",
            "8000-8080",
        ],
        &[
            "--may-exist",
            "lr-nat-add",
            "gw1",
            "dnat_and_snat",
            "10.0.0.50",
            "172.16.1.5",
        ],
        &["lr-nat-list", "gw1"],
        &["lr-nat-del", "gw1", "snat", "172.16.2.0/24"],
        &["lr-nat-del", "gw1", "dnat_and_snat", "10.0.0.51"],
        &["lr-nat-list", "gw1"],
        &["lr-nat-del", "gw1", "dnat"],
        &["lr-nat-list", "gw1"],
        &[
            "--bare",
            "--columns=type,external_ip,logical_ip,external_port_range,options",
            "list",
            "nat",
        ],
        &["lr-nat-del", "gw1"],
        &["lr-nat-list", "gw1"],
    ];
    let errors: &[&[&str]] = &[
        &["lr-nat-add", "gw1", "masquerade", "10.0.0.1", "172.16.1.0/24"],
        &["lr-nat-add", "gw1", "snat", "10.0.0.300", "172.16.1.0/24"],
        &["lr-nat-add", "gw1", "dnat", "10.0.0.70", "172.16.1.0/24"],
        &["lr-nat-add", "gw1", "snat", "10.0.0.1", "fd00::/64"],
        &[
            "--stateless",
            "lr-nat-add",
            "gw1",
            "snat",
            "10.0.0.9",
            "172.16.9.0/24",
        ],
        &[
            "lr-nat-add",
            "gw1",
            "dnat",
            "10.0.0.71",
            "172.16.1.9",
            "vm1",
            "00:00:00:01:02:03",
        ],
        &[
            "lr-nat-add",
            "gw1",
            "dnat_and_snat",
            "10.0.0.72",
            "172.16.1.9",
            "vm1",
            "zz:00:00:01:02:03",
        ],
        &[
            "--portrange",
            "lr-nat-add",
            "gw1",
            "dnat",
            "10.0.0.73",
            "172.16.1.9",
            "90-80",
        ],
        &["lr-nat-add", "nonesuch", "snat", "10.0.0.1", "172.16.1.0/24"],
        &["lr-nat-del", "gw1", "bogus"],
    ];
    let (ours, theirs) = (start(), start());
    for (tool, db) in [(ROVN, &ours), ("ovn-nbctl", &theirs)] {
        ok(tool, db, steps[0]);
        ok(tool, db, steps[1]);
    }
    let run_all = |tool: &str, db: &OvsdbServer| -> (Vec<String>, Vec<String>) {
        let errs = errors.iter().map(|s| failure_message(tool, db, s)).collect();
        let outs = steps[2..]
            .iter()
            .map(|s| {
                let out = ok(tool, db, s);
                if s[0] == "--bare" {
                    lines(&out).into_iter().collect::<Vec<_>>().join("\n")
                } else {
                    out
                }
            })
            .collect();
        (outs, errs)
    };
    let (o_out, o_err) = run_all(ROVN, &ours);
    let (t_out, t_err) = run_all("ovn-nbctl", &theirs);
    assert_eq!(o_err, t_err, "errors differ");
    assert_eq!(o_out, t_out, "outputs differ");
    assert!(o_out[6].contains("dnat_and_snat"), "{}", o_out[6]);
}

/// Native DHCP options as Neutron manages them: each tool reads what the other wrote
/// alike, and errors match.
#[test]
fn dhcp_options_commands_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let db = start();
    ok(
        ROVN,
        &db,
        &[
            "ls-add", "ls1", "--", "lsp-add", "ls1", "vm1", "--", "lsp-add", "ls1", "vm2",
        ],
    );
    ok(ROVN, &db, &["dhcp-options-create", "10.0.0.0/24", "subnet_id=a"]);
    ok("ovn-nbctl", &db, &["dhcp-options-create", "10.1.0.0/24"]);
    ok(ROVN, &db, &["dhcp-options-create", "fd00::/64"]);
    let list = ok(ROVN, &db, &["dhcp-options-list"]);
    assert_eq!(list, ok("ovn-nbctl", &db, &["dhcp-options-list"]));
    let ids: Vec<&str> = list.lines().collect();
    assert_eq!(ids.len(), 3);
    // Sorted by CIDR: 10.0.0.0/24, 10.1.0.0/24, fd00::/64.
    let (a, b, v6) = (ids[0], ids[1], ids[2]);
    ok(
        ROVN,
        &db,
        &[
            "dhcp-options-set-options",
            a,
            "server_id=10.0.0.1",
            "lease_time=3600",
            "router=10.0.0.1",
        ],
    );
    ok(
        "ovn-nbctl",
        &db,
        &[
            "dhcp-options-set-options",
            b,
            "server_mac=02:00:00:00:00:01",
            "mtu=1400",
        ],
    );
    // ovn-nbctl prints options in hash order, rovn-nbctl sorted.
    for id in [a, b] {
        assert_eq!(
            lines(&ok(ROVN, &db, &["dhcp-options-get-options", id])),
            lines(&ok("ovn-nbctl", &db, &["dhcp-options-get-options", id]))
        );
    }
    ok(ROVN, &db, &["lsp-set-dhcpv4-options", "vm1", a]);
    ok("ovn-nbctl", &db, &["lsp-set-dhcpv4-options", "vm2", b]);
    for p in ["vm1", "vm2"] {
        let ours = ok(ROVN, &db, &["lsp-get-dhcpv4-options", p]);
        assert_eq!(ours, ok("ovn-nbctl", &db, &["lsp-get-dhcpv4-options", p]));
        assert!(ours.contains(" (10."), "{ours}");
    }
    let bogus = "00000000-0000-0000-0000-000000000000";
    for args in [
        &["dhcp-options-create", "10.0.0.0/33"][..],
        &["lsp-set-dhcpv4-options", "vm1", v6],
        &["lsp-set-dhcpv4-options", "vm1", bogus],
        &["dhcp-options-get-options", bogus],
        &["dhcp-options-del", "nonesuch"],
    ] {
        assert_eq!(
            failure_message(ROVN, &db, args),
            failure_message("ovn-nbctl", &db, args),
            "{args:?}"
        );
    }
    // The IPv6 options: set and read by either tool, and the family checked.
    ok(ROVN, &db, &["lsp-set-dhcpv6-options", "vm1", v6]);
    let ours = ok(ROVN, &db, &["lsp-get-dhcpv6-options", "vm1"]);
    assert_eq!(ours, ok("ovn-nbctl", &db, &["lsp-get-dhcpv6-options", "vm1"]));
    assert!(ours.contains(v6), "{ours}");
    for args in [
        &["lsp-set-dhcpv6-options", "vm1", a][..],
        &["lsp-set-dhcpv6-options", "nonesuch", v6],
    ] {
        assert_eq!(
            failure_message(ROVN, &db, args),
            failure_message("ovn-nbctl", &db, args),
            "{args:?}"
        );
    }
    ok(ROVN, &db, &["lsp-set-dhcpv6-options", "vm1"]);
    assert_eq!(ok("ovn-nbctl", &db, &["lsp-get-dhcpv6-options", "vm1"]), "");
    ok(ROVN, &db, &["lsp-set-dhcpv4-options", "vm1"]);
    assert_eq!(ok("ovn-nbctl", &db, &["lsp-get-dhcpv4-options", "vm1"]), "");
    ok(ROVN, &db, &["dhcp-options-del", v6]);
    assert_eq!(ok("ovn-nbctl", &db, &["dhcp-options-list"]).lines().count(), 2);
}

/// Distributed gateway ports as Neutron's driver pins them: gateway chassis set, moved,
/// listed and deleted with the same outputs, errors and rows as ovn-nbctl.
#[test]
fn gateway_chassis_commands_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let steps: &[&[&str]] = &[
        &["lrp-set-gateway-chassis", "lrp1", "hv1", "20"],
        &["lrp-set-gateway-chassis", "lrp1", "hv2", "10"],
        &["lrp-set-gateway-chassis", "lrp1", "hv3"],
        &["lrp-get-gateway-chassis", "lrp1"],
        &["lrp-set-gateway-chassis", "lrp1", "hv2", "30"],
        &["lrp-get-gateway-chassis", "lrp1"],
        &["lrp-del-gateway-chassis", "lrp1", "hv3"],
        &["lrp-get-gateway-chassis", "lrp1"],
        &["lrp-get-gateway-chassis", "lrp2"],
        &[
            "--bare",
            "--columns=name,chassis_name,priority",
            "list",
            "Gateway_Chassis",
        ],
        &["lrp-del-gateway-chassis", "lrp1", "hv1"],
        &["lrp-del-gateway-chassis", "lrp1", "hv2"],
        &[
            "--bare",
            "--columns=gateway_chassis",
            "list",
            "Logical_Router_Port",
        ],
        &["--bare", "--columns=name", "list", "Gateway_Chassis"],
    ];
    let errors: &[&[&str]] = &[
        &["lrp-set-gateway-chassis", "lrp1", "hv1", "40000"],
        &["lrp-set-gateway-chassis", "lrp1", "hv1", "-1"],
        &["lrp-set-gateway-chassis", "nonesuch", "hv1", "1"],
        &["lrp-del-gateway-chassis", "lrp1", "hv9"],
        &["lrp-del-gateway-chassis", "nonesuch", "hv1"],
        &["lrp-get-gateway-chassis", "nonesuch"],
    ];
    let setup: &[&[&str]] = &[
        &["lr-add", "lr1"],
        &["lrp-add", "lr1", "lrp1", "02:00:00:00:00:01", "10.0.0.1/24"],
        &["lrp-add", "lr1", "lrp2", "02:00:00:00:00:02", "10.0.1.1/24"],
    ];
    // Errors while the port has gateway chassis: nothing may change.
    let o_out = same_as_ovn_nbctl(setup, steps, errors, 2);
    assert_eq!(o_out[3], "lrp1-hv1    20\nlrp1-hv2    10\nlrp1-hv3     0\n");
    assert!(o_out[13].is_empty(), "gateway chassis left behind: {}", o_out[13]);
}

/// Router policies: added with one and several next hops and options, listed highest
/// priority first, deleted by priority, by priority and match, by UUID and all at once,
/// with the same outputs, errors and rows as ovn-nbctl.
#[test]
fn router_policy_commands_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let steps: &[&[&str]] = &[
        &[
            "lr-policy-add",
            "lr1",
            "100",
            "ip4.src == 10.0.0.0/24",
            "reroute",
            "10.0.1.5",
        ],
        &[
            "lr-policy-add",
            "lr1",
            "2000",
            "ip4.dst == 192.168.0.0/16",
            "drop",
        ],
        &["lr-policy-list", "lr1"],
        &[
            "lr-policy-add",
            "lr1",
            "100",
            "ip4.src == 10.0.0.128/25",
            "reroute",
            "10.0.1.6,10.0.1.7",
            "pkt_mark=5",
        ],
        &["lr-policy-add", "lr1", "50", "ip6", "allow", "pkt_mark=7"],
        &["--may-exist", "lr-policy-add", "lr1", "50", "ip6", "drop"],
        &[
            "lr-policy-add",
            "lr1",
            "30",
            "ip6.src == fd00::/64",
            "reroute",
            "fd00:1::0:5",
        ],
        &["lr-policy-list", "lr1"],
        &["lr-policy-list", "lr2"],
        &["lr-policy-del", "lr1", "100", "ip4.src == 10.0.0.0/24"],
        &["lr-policy-list", "lr1"],
        &["lr-policy-del", "lr1", "100"],
        &["lr-policy-list", "lr1"],
        &[
            "--bare",
            "--columns=priority,match,action,nexthops,options",
            "list",
            "Logical_Router_Policy",
        ],
        &["lr-policy-del", "lr1"],
        &["lr-policy-list", "lr1"],
        &["--bare", "--columns=match", "list", "Logical_Router_Policy"],
    ];
    let errors: &[&[&str]] = &[
        &["lr-policy-add", "lr1", "40000", "ip4", "drop"],
        &["lr-policy-add", "lr1", "-1", "ip4", "drop"],
        &["lr-policy-add", "lr1", "10", "ip4", "forward"],
        &["lr-policy-add", "lr1", "10", "ip4", "reroute"],
        &["lr-policy-add", "lr1", "10", "ip4", "reroute", "10.0.1.300"],
        &["lr-policy-add", "lr1", "10", "ip4", "reroute", "10.0.1.5,fd00::1"],
        &["lr-policy-add", "lr1", "10", "ip4", "drop", "pkt_mark"],
        &[
            "lr-policy-add",
            "lr1",
            "2000",
            "ip4.dst == 192.168.0.0/16",
            "allow",
        ],
        &["lr-policy-add", "nonesuch", "10", "ip4", "drop"],
        &["lr-policy-del", "lr1", "00000000-0000-0000-0000-000000000000"],
        &["lr-policy-del", "lr1", "abc"],
        &["lr-policy-list", "nonesuch"],
    ];
    let setup: &[&[&str]] = &[
        &["lr-add", "lr1"],
        &["lr-add", "lr2"],
        &[
            "lrp-add",
            "lr1",
            "lrp1",
            "02:00:00:00:00:01",
            "10.0.1.1/24",
            "fd00:1::1/64",
        ],
    ];
    let o_out = same_as_ovn_nbctl(setup, steps, errors, 7);
    assert!(
        o_out[7].starts_with("Routing Policies\n      2000"),
        "{}",
        o_out[7]
    );
    assert!(o_out[16].is_empty(), "policies left behind: {}", o_out[16]);
}

/// The database's own listeners and TLS settings: `set-connection` (with an inactivity
/// probe), `get-connection`, `del-connection`, `set-ssl`/`get-ssl`/`del-ssl`, with the same
/// outputs and rows as ovn-nbctl.
#[test]
fn connection_and_ssl_commands_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let steps: &[&[&str]] = &[
        &["get-connection"],
        &["set-connection", "ptcp:6641:127.0.0.1", "punix:/tmp/x.sock"],
        &["get-connection"],
        &["--inactivity-probe=30000", "set-connection", "ptcp:6641"],
        &["get-connection"],
        &[
            "--bare",
            "--columns=target,inactivity_probe",
            "list",
            "Connection",
        ],
        &["del-connection"],
        &["get-connection"],
        &["get-ssl"],
        &["set-ssl", "/k.pem", "/c.pem", "/ca.pem"],
        &[
            "--bootstrap",
            "set-ssl",
            "/k2.pem",
            "/c2.pem",
            "/ca2.pem",
            "TLSv1.2",
            "HIGH",
        ],
        &["get-ssl"],
        &[
            "--bare",
            "--columns=private_key,ssl_protocols,ssl_ciphers",
            "list",
            "SSL",
        ],
        &["del-ssl"],
        &["get-ssl"],
        &["--bare", "--columns=connections,ssl", "list", "NB_Global"],
    ];
    let o_out = same_as_ovn_nbctl(&[&["init"]], steps, &[], 0);
    assert_eq!(o_out[2], "ptcp:6641:127.0.0.1\npunix:/tmp/x.sock\n");
    assert!(o_out[11].contains("Bootstrap: true"), "{}", o_out[11]);
}

/// Meters: added (kbps with a burst, pktps, `--fair`), replaced with `--may-exist`, listed
/// by name, deleted one and all, with the same outputs, errors and rows as ovn-nbctl.
#[test]
fn meter_commands_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let steps: &[&[&str]] = &[
        &["meter-add", "m1", "drop", "1000", "kbps", "200"],
        &["--fair", "meter-add", "acl_log_meter", "drop", "100", "pktps"],
        &["meter-add", "m0", "drop", "5", "pktps", "10"],
        &["meter-list"],
        &["--may-exist", "meter-add", "m1", "drop", "2000", "kbps"],
        &["meter-list"],
        &["--bare", "--columns=name,unit,fair", "list", "Meter"],
        &["--bare", "--columns=action,rate,burst_size", "list", "Meter_Band"],
        &["meter-del", "m0"],
        &["meter-del", "nonesuch"],
        &["meter-list"],
        &["meter-del"],
        &["meter-list"],
        &["--bare", "--columns=rate", "list", "Meter_Band"],
    ];
    let errors: &[&[&str]] = &[
        &["meter-add", "m1", "drop", "10", "kbps"],
        &["meter-add", "__m", "drop", "10", "kbps"],
        &["meter-add", "m2", "allow", "10", "kbps"],
        &["meter-add", "m2", "drop", "0", "kbps"],
        &["meter-add", "m2", "drop", "10", "bps"],
        &["meter-add", "m2", "drop", "10", "kbps", "-1"],
        &["meter-add", "m2", "drop", "10"],
    ];
    let o_out = same_as_ovn_nbctl(&[], steps, errors, 3);
    assert!(
        o_out[3].contains("m1: bands:\n  drop: 1000 kbps, 200 kb burst"),
        "{}",
        o_out[3]
    );
    assert!(
        o_out[12].is_empty() && o_out[13].is_empty(),
        "meters left: {:?}",
        &o_out[12..]
    );
}

/// QoS rules: DSCP marking and rate limits added, listed (from-lport first, highest
/// priority first), deleted by direction, by priority and match, by UUID and all at once,
/// with the same outputs, errors and rows as ovn-nbctl.
#[test]
fn qos_commands_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let steps: &[&[&str]] = &[
        &[
            "qos-add",
            "ls1",
            "from-lport",
            "100",
            "inport == \"p1\"",
            "dscp=10",
        ],
        &[
            "qos-add",
            "ls1",
            "to-lport",
            "200",
            "ip4.dst == 10.0.0.5",
            "rate=1000",
            "burst=200",
        ],
        &[
            "qos-add",
            "ls1",
            "from-lport",
            "300",
            "ip4",
            "rate=500",
            "dscp=20",
        ],
        &["qos-list", "ls1"],
        &[
            "--may-exist",
            "qos-add",
            "ls1",
            "from-lport",
            "300",
            "ip4",
            "dscp=30",
        ],
        &["qos-add", "ls1", "t", "50", "ip6", "dscp=0"],
        &["qos-list", "ls1"],
        &["qos-list", "ls2"],
        &["qos-del", "ls1", "from-lport", "300", "ip4"],
        &["qos-del", "ls1", "to-lport"],
        &["qos-list", "ls1"],
        &[
            "--bare",
            "--columns=priority,direction,match,action,bandwidth",
            "list",
            "QoS",
        ],
        &["qos-del", "ls1"],
        &["qos-list", "ls1"],
        &["--bare", "--columns=match", "list", "QoS"],
    ];
    let errors: &[&[&str]] = &[
        &["qos-add", "ls1", "sideways", "10", "ip4", "dscp=1"],
        &["qos-add", "ls1", "from-lport", "99999", "ip4", "dscp=1"],
        &["qos-add", "ls1", "from-lport", "10", "ip4", "dscp=64"],
        &["qos-add", "ls1", "from-lport", "10", "ip4", "rate=0"],
        &["qos-add", "ls1", "from-lport", "10", "ip4", "burst=5"],
        &["qos-add", "ls1", "from-lport", "10", "ip4", "color=red"],
        &["qos-add", "ls1", "from-lport", "10", "ip4"],
        &[
            "qos-add",
            "ls1",
            "from-lport",
            "100",
            "inport == \"p1\"",
            "dscp=11",
        ],
        &["qos-add", "nonesuch", "from-lport", "10", "ip4", "dscp=1"],
        &["qos-del", "ls1", "00000000-0000-0000-0000-000000000000"],
        &[
            "qos-del",
            "ls1",
            "00000000-0000-0000-0000-000000000000",
            "10",
            "ip4",
        ],
        &["qos-del", "ls1", "from-lport", "10"],
        &["qos-del", "ls1", "up"],
    ];
    let setup: &[&[&str]] = &[&["ls-add", "ls1", "--", "ls-add", "ls2"]];
    let o_out = same_as_ovn_nbctl(setup, steps, errors, 3);
    assert!(
        o_out[6].contains("from-lport   300 (ip4) rate=500 dscp=20"),
        "{}",
        o_out[6]
    );
    assert!(o_out[14].is_empty(), "QoS rows left behind: {}", o_out[14]);
}

/// Static MAC bindings: added (IPv4 and IPv6, `--may-exist` changing the MAC), listed
/// sorted by port and address, deleted, with the same outputs, errors and rows as ovn-nbctl.
#[test]
fn static_mac_binding_commands_match_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let steps: &[&[&str]] = &[
        &["static-mac-binding-add", "lrp1", "10.0.0.5", "02:00:00:00:00:05"],
        &["static-mac-binding-add", "lrp1", "fd00::0:6", "02:00:00:00:00:06"],
        &["static-mac-binding-add", "lrp2", "10.0.1.7", "02:00:00:00:00:07"],
        &["static-mac-binding-list"],
        &[
            "--may-exist",
            "static-mac-binding-add",
            "lrp1",
            "10.0.0.5",
            "02:00:00:00:00:55",
        ],
        &["static-mac-binding-list"],
        &["static-mac-binding-del", "lrp1", "fd00::6"],
        &["--if-exists", "static-mac-binding-del", "lrp1", "fd00::6"],
        &["static-mac-binding-list"],
        &[
            "--bare",
            "--columns=logical_port,ip,mac",
            "list",
            "Static_MAC_Binding",
        ],
        &["static-mac-binding-del", "lrp1", "10.0.0.5"],
        &["static-mac-binding-del", "lrp2", "10.0.1.7"],
        &["static-mac-binding-list"],
    ];
    let errors: &[&[&str]] = &[
        &["static-mac-binding-add", "lrp1", "10.0.0.5", "02:00:00:00:00:09"],
        &[
            "static-mac-binding-add",
            "lrp1",
            "10.0.0.300",
            "02:00:00:00:00:09",
        ],
        &["static-mac-binding-add", "lrp1", "10.0.0.9", "02:00:00:00:00"],
        &[
            "static-mac-binding-add",
            "nonesuch",
            "10.0.0.9",
            "02:00:00:00:00:09",
        ],
        &["static-mac-binding-del", "lrp1", "10.0.0.99"],
        &["static-mac-binding-del", "lrp1", "bogus"],
        &["static-mac-binding-del", "nonesuch", "10.0.0.5"],
    ];
    let setup: &[&[&str]] = &[
        &["lr-add", "lr1"],
        &[
            "lrp-add",
            "lr1",
            "lrp1",
            "02:00:00:00:00:01",
            "10.0.0.1/24",
            "fd00::1/64",
        ],
        &["lrp-add", "lr1", "lrp2", "02:00:00:00:00:02", "10.0.1.1/24"],
    ];
    let o_out = same_as_ovn_nbctl(setup, steps, errors, 3);
    assert!(
        o_out[5].contains("10.0.0.5                 02:00:00:00:00:55"),
        "{}",
        o_out[5]
    );
    assert!(o_out[12].is_empty(), "bindings left behind: {}", o_out[12]);
}

/// NAT rules on routers with several distributed gateway ports: the port a rule applies
/// on (`--gateway-port` or the one owning the external IP), listed and deleted by it,
/// with the same outputs, errors and rows as ovn-nbctl.
#[test]
fn nat_on_gateway_ports_matches_ovn_nbctl() {
    if !have_ovn() {
        return;
    }
    let setup: &[&[&str]] = &[
        &["lr-add", "lr1", "--", "lr-add", "lr2"],
        &["lrp-add", "lr1", "lrp1", "02:00:00:00:00:01", "10.0.0.1/24"],
        &["lrp-add", "lr1", "lrp2", "02:00:00:00:00:02", "10.0.1.1/24"],
        &["lrp-add", "lr1", "lrp3", "02:00:00:00:00:03", "10.0.2.1/24"],
        &["lrp-add", "lr2", "lrpx", "02:00:00:00:00:04", "10.0.3.1/24"],
        &["lrp-set-gateway-chassis", "lrp1", "hv1", "1"],
        &["lrp-set-gateway-chassis", "lrp2", "hv1", "1"],
        &["lrp-set-gateway-chassis", "lrpx", "hv1", "1"],
    ];
    let steps: &[&[&str]] = &[
        &["lr-nat-add", "lr1", "snat", "10.0.0.1", "172.16.1.0/24"],
        &[
            "--gateway-port=lrp2",
            "lr-nat-add",
            "lr1",
            "snat",
            "10.0.1.1",
            "172.16.1.0/24",
        ],
        &[
            "--gateway-port=lrp1",
            "lr-nat-add",
            "lr1",
            "dnat_and_snat",
            "10.0.0.50",
            "172.16.1.5",
        ],
        &["lr-nat-list", "lr1"],
        &["lr-nat-del", "lr1", "dnat_and_snat", "10.0.0.50", "lrp1"],
        &["lr-nat-del", "lr1", "snat", "lrp2"],
        &["lr-nat-list", "lr1"],
        &[
            "--if-exists",
            "lr-nat-del",
            "lr1",
            "snat",
            "172.16.1.0/24",
            "lrp2",
        ],
        &["--bare", "--columns=type,external_ip,logical_ip", "list", "nat"],
    ];
    let errors: &[&[&str]] = &[
        &["lr-nat-add", "lr1", "snat", "10.0.5.1", "172.16.5.0/24"],
        &[
            "--gateway-port=lrp3",
            "lr-nat-add",
            "lr1",
            "snat",
            "10.0.2.1",
            "172.16.2.0/24",
        ],
        &[
            "--gateway-port=nonesuch",
            "lr-nat-add",
            "lr1",
            "snat",
            "10.0.2.1",
            "172.16.2.0/24",
        ],
        &[
            "--gateway-port=lrpx",
            "lr-nat-add",
            "lr1",
            "snat",
            "10.0.3.1",
            "172.16.2.0/24",
        ],
        &["lr-nat-del", "lr1", "snat", "172.16.1.0/24", "nonesuch"],
        &["lr-nat-del", "lr1", "snat", "172.16.9.0/24", "lrp1"],
        &["lr-nat-del", "lr1", "snat", "bogusport"],
        &["lr-nat-del", "lr1", "snat", "bogus/24", "lrp1"],
    ];
    let o_out = same_as_ovn_nbctl(setup, steps, errors, 3);
    assert!(o_out[3].contains("lrp2"), "{}", o_out[3]);
}

/// Runs the same `setup`, `steps` and `errors` (see [`interop_run`]) with rovn-nbctl and
/// ovn-nbctl on two fresh databases, asserts their outputs and error messages are equal,
/// and returns rovn-nbctl's outputs.
fn same_as_ovn_nbctl(
    setup: &[&[&str]],
    steps: &[&[&str]],
    errors: &[&[&str]],
    errors_at: usize,
) -> Vec<String> {
    let (ours, theirs) = (start(), start());
    let (o_out, o_err) = interop_run(ROVN, &ours, setup, steps, errors, errors_at);
    let (t_out, t_err) = interop_run("ovn-nbctl", &theirs, setup, steps, errors, errors_at);
    assert_eq!(o_err, t_err, "errors differ");
    assert_eq!(o_out, t_out, "outputs differ");
    o_out
}

/// Runs `setup`, then `steps` with `tool`, the `errors` (each must fail and change
/// nothing) before step `errors_at`; returns the steps' outputs (`--bare` listings as
/// sorted lines) and the error messages.
fn interop_run(
    tool: &str,
    db: &OvsdbServer,
    setup: &[&[&str]],
    steps: &[&[&str]],
    errors: &[&[&str]],
    errors_at: usize,
) -> (Vec<String>, Vec<String>) {
    for s in setup {
        ok(tool, db, s);
    }
    let mut outs = Vec::new();
    let mut errs = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if i == errors_at {
            errs = errors.iter().map(|e| failure_message(tool, db, e)).collect();
        }
        let out = ok(tool, db, s);
        outs.push(if s[0] == "--bare" {
            lines(&out).into_iter().collect::<Vec<_>>().join("\n")
        } else {
            out
        });
    }
    (outs, errs)
}

/// `wait-until` blocks until the record exists and meets its conditions, by name or
/// UUID, map keys included; several in one invocation each wait; `--timeout` bounds it.
#[test]
fn wait_until_blocks_until_the_record_matches() {
    if !have_ovn() {
        return;
    }
    let db = start();
    ok(ROVN, &db, &["ls-add", "ls1"]);
    let spawn = |args: &[&str]| {
        Command::new(ROVN)
            .arg(format!("--db={}", db.remote()))
            .arg("--timeout=30")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Exits 0 within the deadline, or is killed and reported.
    let finishes = |child: &mut std::process::Child, what: &str| {
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Some(st) = child.try_wait().unwrap() {
                assert!(st.success(), "{what}: wait-until failed: {st}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
        panic!("{what}: wait-until did not return");
    };
    let mut w = spawn(&[
        "wait-until",
        "Logical_Switch_Port",
        "p1",
        "up=true",
        "external_ids:owner=vm1",
        "--",
        "wait-until",
        "Logical_Switch",
        "ls1",
    ]);
    ok(ROVN, &db, &["lsp-add", "ls1", "p1"]);
    ok(
        ROVN,
        &db,
        &["set", "logical_switch_port", "p1", "external_ids:owner=vm1"],
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        w.try_wait().unwrap().is_none(),
        "wait-until returned while p1 was not up"
    );
    ok(ROVN, &db, &["set", "logical_switch_port", "p1", "up=true"]);
    finishes(&mut w, "p1 up by name");

    // Already true: returns at once; by UUID; the only row of NB_Global by ".".
    let uuid = ok(ROVN, &db, &["get", "logical_switch_port", "p1", "_uuid"]);
    let mut w = spawn(&["wait-until", "Logical_Switch_Port", uuid.trim(), "up=true"]);
    finishes(&mut w, "p1 by UUID");
    let mut w = spawn(&["wait-until", "NB_Global", "."]);
    finishes(&mut w, "NB_Global");

    // Bad input fails at once; a record that never comes times out.
    let err = fails(&db, &["wait-until", "Logical_Switch_Port", "p1", "nonesuch=1"]);
    assert!(err.contains("nonesuch"), "{err}");
    let err = fails(&db, &["--timeout=1", "wait-until", "Logical_Switch", "ls9"]);
    assert!(!err.is_empty());
}
