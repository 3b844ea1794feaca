//! rovn-northd as a process between real NB/SB ovsdb-servers, driven by the real
//! `ovn-nbctl` (its `--wait` handshake included) and read by the real `ovn-sbctl`.

use std::process::Command;
use std::time::Duration;

use testbed::{Daemon, OvnDbs, require, run, wait_until};

fn northd(dbs: &OvnDbs, dir: &std::path::Path, name: &str) -> Daemon {
    Daemon::spawn(
        name,
        Command::new(env!("CARGO_BIN_EXE_rovn-northd"))
            .arg(format!("--ovnnb-db={}", dbs.nb.remote()))
            .arg(format!("--ovnsb-db={}", dbs.sb.remote()))
            .arg(format!("--unixctl={}", dir.join(format!("{name}.ctl")).display()))
            .arg(format!(
                "--log-file={}",
                dir.join(format!("{name}.log")).display()
            )),
    )
}

/// Private NB/SB servers with one rovn-northd between them; `None` without OVN's tools.
fn one_northd() -> Option<(OvnDbs, tempfile::TempDir, Daemon)> {
    if !require(&["ovsdb-server", "ovn-nbctl", "ovn-sbctl"]) {
        return None;
    }
    let dbs = OvnDbs::start();
    let tmp = tempfile::tempdir().unwrap();
    let northd = northd(&dbs, tmp.path(), "northd");
    Some((dbs, tmp, northd))
}

struct Ctl<'a>(&'a OvnDbs);

impl Ctl<'_> {
    fn nb(&self, args: &[&str]) -> String {
        run(Command::new("ovn-nbctl")
            .arg(format!("--db={}", self.0.nb.remote()))
            .arg("--timeout=20")
            .args(args))
    }
    fn sb(&self, args: &[&str]) -> String {
        run(Command::new("ovn-sbctl")
            .arg(format!("--db={}", self.0.sb.remote()))
            .arg("--timeout=20")
            .args(args))
    }
    /// Everything northd owns in SB, uuids included: equal dumps mean no row was rewritten.
    fn sb_owned(&self) -> String {
        [
            "Datapath_Binding",
            "Port_Binding",
            "Multicast_Group",
            "Logical_Flow",
            "Logical_DP_Group",
            "Load_Balancer",
        ]
        .iter()
        .map(|t| {
            let mut rows: Vec<String> = self.sb(&["list", t]).split("\n\n").map(str::to_string).collect();
            rows.sort();
            rows.join("\n")
        })
        .collect()
    }
}

fn seed(c: &Ctl) {
    c.nb(&["ls-add", "ls1"]);
    for (p, mac) in [("ls1-vm1", "02:ac:10:ff:00:11"), ("ls1-vm2", "02:ac:10:ff:00:22")] {
        c.nb(&[
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
}

#[test]
fn wait_sb_and_hv_return_and_sb_holds_the_network() {
    let Some((dbs, _tmp, _northd)) = one_northd() else {
        return;
    };
    let c = Ctl(&dbs);
    seed(&c);
    c.nb(&["--wait=sb", "sync"]);
    let dps = c.sb(&["--bare", "--columns=external_ids", "list", "Datapath_Binding"]);
    assert!(dps.contains("name=ls1"), "{dps}");
    let lflows = c.sb(&["lflow-list", "ls1"]);
    assert!(lflows.contains("outport = \"ls1-vm2\""), "{lflows}");
    // No chassis: --wait=hv must not hang.
    c.nb(&["--wait=hv", "lsp-add", "ls1", "ls1-vm3"]);
    assert!(
        c.sb(&["--bare", "--columns=logical_port", "list", "Port_Binding"])
            .contains("ls1-vm3")
    );
    // The SB_Global copy of nb_cfg and the NB handshake fields agree.
    let nb_cfg = c.nb(&["get", "NB_Global", ".", "nb_cfg"]);
    assert_eq!(c.nb(&["get", "NB_Global", ".", "sb_cfg"]), nb_cfg);
    assert_eq!(c.sb(&["get", "SB_Global", ".", "nb_cfg"]), nb_cfg);
    // Router ports are always up; VIF ports follow their (unbound) binding: down.
    assert_eq!(c.nb(&["lsp-get-up", "ls1-vm1"]).trim(), "down");
    // A chassis binding the port (as its controller would) brings it up in NB.
    c.sb(&["chassis-add", "hv1", "geneve", "127.0.0.1"]);
    c.sb(&["lsp-bind", "ls1-vm1", "hv1"]);
    let pb = c.sb(&[
        "--bare",
        "--columns=_uuid",
        "find",
        "Port_Binding",
        "logical_port=ls1-vm1",
    ]);
    c.sb(&["set", "Port_Binding", pb.trim(), "up=true"]);
    assert!(wait_until(Duration::from_secs(10), || c
        .nb(&["lsp-get-up", "ls1-vm1"])
        .trim()
        == "up"));
    // ls-del cleans up SB.
    c.nb(&["--wait=sb", "ls-del", "ls1"]);
    assert_eq!(
        c.sb(&["--bare", "--columns=_uuid", "list", "Port_Binding"])
            .trim(),
        ""
    );
    assert_eq!(
        c.sb(&["--bare", "--columns=_uuid", "list", "Logical_Flow"])
            .trim(),
        ""
    );
}

#[test]
fn restart_keeps_every_row_and_standby_takes_over() {
    if !require(&["ovsdb-server", "ovn-nbctl", "ovn-sbctl"]) {
        return;
    }
    let dbs = OvnDbs::start();
    let tmp = tempfile::tempdir().unwrap();
    let mut active = northd(&dbs, tmp.path(), "a");
    let c = Ctl(&dbs);
    seed(&c);
    c.nb(&["--wait=sb", "sync"]);
    let before = c.sb_owned();
    assert!(before.contains("ls1-vm2"));

    // A second instance waits on the SB lock and writes nothing.
    let _standby = northd(&dbs, tmp.path(), "b");
    let status = |n: &str| {
        Command::new("ovs-appctl")
            .arg("-t")
            .arg(tmp.path().join(format!("{n}.ctl")))
            .arg("status")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    assert!(
        wait_until(Duration::from_secs(10), || status("b").contains("standby")),
        "{}",
        status("b")
    );
    assert!(status("a").contains("active"));

    // Kill the active one: the standby takes over, rewriting nothing...
    active.kill();
    assert!(wait_until(Duration::from_secs(10), || status("b").contains("active")));
    c.nb(&["--wait=sb", "sync"]);
    assert_eq!(c.sb_owned(), before, "takeover must not rewrite SB");
    // ...and keeps serving changes.
    c.nb(&["--wait=sb", "lsp-add", "ls1", "ls1-vm3"]);
    assert!(
        c.sb(&["--bare", "--columns=logical_port", "list", "Port_Binding"])
            .contains("ls1-vm3")
    );
}

#[test]
fn gateway_chassis_become_an_sb_ha_chassis_group_that_follows_them() {
    let Some((dbs, _tmp, _northd)) = one_northd() else {
        return;
    };
    let c = Ctl(&dbs);
    c.sb(&["chassis-add", "hv1", "geneve", "127.0.0.1"]);
    c.nb(&[
        "lr-add",
        "lr",
        "--",
        "lrp-add",
        "lr",
        "lr-ext",
        "02:00:00:00:00:01",
        "10.5.0.1/24",
    ]);
    c.nb(&["lrp-set-gateway-chassis", "lr-ext", "hv1", "20"]);
    c.nb(&["--wait=sb", "lrp-set-gateway-chassis", "lr-ext", "hv2", "10"]);
    let get = |col: &str| {
        c.sb(&[
            "--bare",
            &format!("--columns={col}"),
            "find",
            "Port_Binding",
            "logical_port=cr-lr-ext",
        ])
    };
    assert_eq!(get("type").trim(), "chassisredirect");
    assert!(
        get("options").contains("distributed-port=lr-ext"),
        "{}",
        get("options")
    );
    let group = get("ha_chassis_group");
    assert_eq!(
        c.sb(&["get", "HA_Chassis_Group", group.trim(), "name"]).trim(),
        "lr-ext"
    );
    // One HA_Chassis per gateway chassis; hv2 has no Chassis row, so no reference.
    let ha = |name: &str, col: &str| {
        c.sb(&[
            "--bare",
            &format!("--columns={col}"),
            "find",
            "HA_Chassis",
            &format!("external_ids:chassis-name={name}"),
        ])
        .trim()
        .to_string()
    };
    assert_eq!(ha("hv1", "priority"), "20");
    assert_eq!(ha("hv2", "priority"), "10");
    let hv1 = c.sb(&["--bare", "--columns=_uuid", "find", "Chassis", "name=hv1"]);
    assert_eq!(ha("hv1", "chassis"), hv1.trim());
    assert_eq!(ha("hv2", "chassis"), "");
    // Moving the priority rewrites the group's chassis; the group and binding stay.
    c.nb(&["--wait=sb", "lrp-set-gateway-chassis", "lr-ext", "hv2", "30"]);
    assert_eq!(ha("hv2", "priority"), "30");
    assert_eq!(get("ha_chassis_group"), group);
    assert_eq!(
        c.sb(&["--bare", "--columns=_uuid", "list", "HA_Chassis"])
            .split_whitespace()
            .count(),
        2
    );
    // Without gateway chassis the port is an ordinary router port again.
    c.nb(&[
        "--wait=sb",
        "clear",
        "Logical_Router_Port",
        "lr-ext",
        "gateway_chassis",
    ]);
    assert_eq!(get("type").trim(), "");
    assert_eq!(
        c.sb(&["--bare", "--columns=_uuid", "list", "HA_Chassis_Group"])
            .trim(),
        ""
    );
}
