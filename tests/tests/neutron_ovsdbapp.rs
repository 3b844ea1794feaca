//! Neutron's OVN driver writes Northbound through `ovsdbapp`; the same library
//! drives rovn: it builds a Neutron-shaped network (UUID-named ports with
//! `neutron:*` external_ids, a router, a load balancer), puts the ports in a
//! security group (port groups and ACLs), gives them DHCP options and the
//! router a gateway on an external network with SNAT and a floating IP, waits
//! for rovn-northd through `nb_cfg`/`sb_cfg` after each step, and tears it all
//! down again.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use testbed::{Daemon, OvnDbs, repo_root, require, rovn_bin, run, wait_until};

/// A Python that can import ovsdbapp: `ROVN_PYTHON`, the venv `scripts/install-deps`
/// makes, or the system's.
fn python() -> Option<PathBuf> {
    let venv = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rovn/venv/bin/python"));
    std::env::var_os("ROVN_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(venv)
        .chain([PathBuf::from("python3")])
        .find(|p| {
            Command::new(p)
                .args(["-c", "import ovsdbapp"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn ovsdbapp_builds_a_neutron_network_that_rovn_northd_translates() {
    if !require(&["ovsdb-server", "ovn-nbctl", "ovn-sbctl"]) {
        return;
    }
    let Some(py) = python() else {
        eprintln!("SKIPPED: no python with ovsdbapp (scripts/install-deps installs it)");
        return;
    };
    let northd = rovn_bin("rovn-northd").expect("rovn-northd not built: run cargo test --workspace");
    let dbs = OvnDbs::start();
    let tmp = tempfile::tempdir().unwrap();
    let _northd = Daemon::spawn(
        "rovn-northd",
        Command::new(northd)
            .arg(format!("--ovnnb-db={}", dbs.nb.remote()))
            .arg(format!("--ovnsb-db={}", dbs.sb.remote()))
            .arg(format!("--unixctl={}", tmp.path().join("northd.ctl").display()))
            .arg(format!("--log-file={}", tmp.path().join("northd.log").display())),
    );
    // On a fresh database northd creates NB_Global, which Neutron's nb_cfg bump needs.
    let nb_global = || {
        run(Command::new("ovn-nbctl")
            .arg(format!("--db={}", dbs.nb.remote()))
            .args(["--bare", "--columns=_uuid", "list", "NB_Global"]))
    };
    assert!(
        wait_until(Duration::from_secs(20), || !nb_global().trim().is_empty()),
        "rovn-northd did not create NB_Global"
    );
    let script = repo_root().join("tests/interop/neutron_nb.py");
    let neutron = |what: &str| run(Command::new(&py).arg(&script).arg(dbs.nb.remote()).arg(what));
    let sbctl = |args: &[&str]| {
        run(Command::new("ovn-sbctl")
            .arg(format!("--db={}", dbs.sb.remote()))
            .args(args))
    };

    let out = neutron("build");
    assert!(out.contains("nb_cfg"), "{out}");
    let pbs = sbctl(&["--bare", "--columns=logical_port", "list", "Port_Binding"]);
    for p in [
        "00000000-0000-0000-0000-000000000001",
        "00000000-0000-0000-0000-000000000002",
        "lrp-00000000-0000-0000-0000-000000000064",
    ] {
        assert!(pbs.lines().any(|l| l == p), "{p} not bound in SB:\n{pbs}");
    }
    let dps = sbctl(&["--bare", "--columns=external_ids", "list", "Datapath_Binding"]);
    assert!(
        dps.contains("name2=private"),
        "neutron:network_name not carried as name2:\n{dps}"
    );
    let flows = sbctl(&["lflow-list", "neutron-8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0001"]);
    assert!(
        flows.contains("ct_lb_mark(backends=10.0.0.11:8080,10.0.0.12:8080)"),
        "{flows}"
    );
    assert!(
        flows.contains("arp.tpa == 10.0.0.12"),
        "no ARP responder for a Neutron port:\n{flows}"
    );

    // Security groups: the default-drop group and the group's own, with its IPs
    // as the derived address set the remote-group rule matches on.
    let sg_pg = "pg_8a3c62a8_6b3f_4a57_9d0e_5d1e3e1f0003";
    neutron("security");
    let pgs = sbctl(&["--bare", "--columns=name", "list", "Port_Group"]);
    for pg in [sg_pg, "neutron_pg_drop"] {
        assert!(
            pgs.lines().any(|l| l.ends_with(&format!("_{pg}"))),
            "no SB Port_Group for {pg}:\n{pgs}"
        );
    }
    let derived = sbctl(&[
        "--bare",
        "--columns=addresses",
        "find",
        "Address_Set",
        &format!("name={sg_pg}_ip4"),
    ]);
    assert!(
        derived.contains("10.0.0.11") && derived.contains("10.0.0.12"),
        "{sg_pg}_ip4 holds {derived:?}, not the group's IPs"
    );
    let flows = sbctl(&["lflow-list", "neutron-8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0001"]);
    let acl = |stage: &str, needle: &str| {
        flows
            .lines()
            .any(|l| l.contains(&format!("(ls_{stage}_acl")) && l.contains(needle))
    };
    assert!(acl("in", &format!("inport == @{sg_pg} && ip4")), "{flows}");
    assert!(acl("out", "tcp.dst == 22"), "{flows}");
    assert!(acl("out", "outport == @neutron_pg_drop && ip"), "{flows}");

    neutron("dhcp");
    let flows = sbctl(&["lflow-list", "neutron-8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0001"]);
    for ip in ["10.0.0.11", "10.0.0.12"] {
        assert!(
            flows.contains(&format!("put_dhcp_opts(offerip = {ip}, ")),
            "no DHCP flow for {ip}:\n{flows}"
        );
    }

    // The router's gateway: a distributed gateway port pinned to hv1.
    sbctl(&["chassis-add", "hv1", "geneve", "127.0.0.1"]);
    neutron("gateway");
    let gw = "lrp-00000000-0000-0000-0000-0000000000c8";
    let cr = format!("cr-{gw}");
    let cr_type = sbctl(&[
        "--bare",
        "--columns=type",
        "find",
        "Port_Binding",
        &format!("logical_port={cr}"),
    ]);
    assert_eq!(cr_type.trim(), "chassisredirect", "no {cr} binding");
    let groups = sbctl(&["--bare", "--columns=name", "list", "HA_Chassis_Group"]);
    assert!(
        groups.lines().any(|l| l == gw),
        "no SB HA_Chassis_Group for {gw}:\n{groups}"
    );
    let flows = sbctl(&["lflow-list", "neutron-8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0002"]);
    for needle in [
        format!("is_chassis_resident(\"{cr}\")"),
        // A gateway port's NAT uses the router's common conntrack zone.
        "ct_snat_in_czone(172.24.4.10)".to_string(),
        "ct_dnat_in_czone(10.0.0.11)".to_string(),
        // The distributed floating IP answers ARP on the VM's own chassis.
        "arp.tpa == 172.24.4.20 && is_chassis_resident(\"00000000-0000-0000-0000-000000000001\")".to_string(),
    ] {
        assert!(flows.contains(&needle), "router flows lack {needle}:\n{flows}");
    }

    // A QoS policy on the first port and the ACL log meter.
    neutron("qos");
    let flows = sbctl(&[
        "lflow-list",
        &format!("neutron-{}", "8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0001"),
    ]);
    let port = "00000000-0000-0000-0000-000000000001";
    for needle in [
        format!(
            "ls_in_qos_mark     ), priority=2002 , match=(inport == \"{port}\"), action=(ip.dscp = 18; next;)"
        ),
        format!(
            "ls_in_qos_meter    ), priority=2002 , match=(inport == \"{port}\"), action=(set_meter(10000, 8000); next;)"
        ),
    ] {
        assert!(flows.contains(&needle), "switch flows lack {needle}:\n{flows}");
    }
    assert_eq!(
        sbctl(&["--bare", "--columns=name,unit", "list", "Meter"]).trim(),
        "acl_log_meter\npktps"
    );

    neutron("teardown");
    for table in ["Port_Group", "HA_Chassis_Group", "Meter"] {
        assert_eq!(
            sbctl(&["--bare", "--columns=_uuid", "list", table]).trim(),
            "",
            "{table} rows left after teardown"
        );
    }
    // Only northd's own `svc_monitor_mac` set stays.
    assert_eq!(
        sbctl(&["--bare", "--columns=name", "list", "Address_Set"]).trim(),
        "svc_monitor_mac"
    );
    assert_eq!(
        sbctl(&["--bare", "--columns=_uuid", "list", "Port_Binding"]).trim(),
        ""
    );
    assert_eq!(
        sbctl(&["--bare", "--columns=_uuid", "list", "Logical_Flow"]).trim(),
        ""
    );
}
