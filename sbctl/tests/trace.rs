//! `rovn-sbctl trace` (rovn's ovn-trace) on a Southbound database written by the
//! real ovn-northd: a packet's path through switches, a router and a load
//! balancer, as the logical flows decide it.

use std::process::{Command, Stdio};

use testbed::{Daemon, OvnDbs, OvsdbServer};

const ROVN_SB: &str = env!("CARGO_BIN_EXE_rovn-sbctl");

fn nbctl(nb: &OvsdbServer, args: &[&str]) {
    let out = Command::new("ovn-nbctl")
        .arg(format!("--db={}", nb.remote()))
        .arg("--timeout=20")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ovn-nbctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (stdout, stderr, success) of `rovn-sbctl trace DP MICROFLOW`.
fn trace(sb: &OvsdbServer, dp: &str, microflow: &str) -> (String, String, bool) {
    let out = Command::new(ROVN_SB)
        .arg(format!("--db={}", sb.remote()))
        .args(["trace", dp, microflow])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

const VM1: &str = "inport == \"vm1\" && eth.src == 02:ac:10:ff:00:11";

/// The trace of a packet from vm1 on ls1 (`rest` completes the microflow);
/// it must succeed.
fn from_vm1(sb: &OvsdbServer, rest: &str) -> String {
    let (out, err, ok) = trace(sb, "ls1", &format!("{VM1} && {rest}"));
    assert!(ok, "trace failed: {err}");
    out
}

#[test]
fn trace_follows_packets_through_switches_routers_and_load_balancers() {
    if !testbed::require(&["ovsdb-server", "ovn-nbctl", "ovn-northd"]) {
        return;
    }
    let dbs = OvnDbs::start();
    let dir = tempfile::tempdir().unwrap();
    let _northd = Daemon::spawn(
        "ovn-northd",
        Command::new("ovn-northd")
            .arg(format!("--ovnnb-db={}", dbs.nb.remote()))
            .arg(format!("--ovnsb-db={}", dbs.sb.remote()))
            .arg(format!("--log-file={}/northd.log", dir.path().display()))
            .arg(format!("--unixctl={}/northd.ctl", dir.path().display()))
            .arg("--no-chdir")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let nb = &dbs.nb;
    nbctl(
        nb,
        &["ls-add", "ls1", "--", "ls-add", "ls2", "--", "lr-add", "lr1"],
    );
    nbctl(
        nb,
        &[
            "lrp-add",
            "lr1",
            "lr1-ls1",
            "02:ac:10:ff:01:01",
            "172.16.255.1/24",
        ],
    );
    nbctl(
        nb,
        &[
            "lrp-add",
            "lr1",
            "lr1-ls2",
            "02:ac:10:ff:01:02",
            "172.16.254.1/24",
        ],
    );
    for s in ["ls1", "ls2"] {
        let (lsp, lrp) = (format!("{s}-lr1"), format!("router-port=lr1-{s}"));
        nbctl(nb, &["lsp-add", s, &lsp, "--", "lsp-set-type", &lsp, "router"]);
        nbctl(
            nb,
            &[
                "lsp-set-addresses",
                &lsp,
                "router",
                "--",
                "lsp-set-options",
                &lsp,
                &lrp,
            ],
        );
    }
    for (s, vm, addr) in [
        ("ls1", "vm1", "02:ac:10:ff:00:11 172.16.255.11"),
        ("ls1", "vm3", "02:ac:10:ff:00:33 172.16.255.33"),
        ("ls2", "vm2", "02:ac:10:ff:01:22 172.16.254.22"),
        ("ls2", "vm4", "02:ac:10:ff:01:23 172.16.254.23"),
    ] {
        nbctl(nb, &["lsp-add", s, vm, "--", "lsp-set-addresses", vm, addr]);
    }
    nbctl(
        nb,
        &["lb-add", "lb1", "172.16.100.100:80", "172.16.254.22:8080", "tcp"],
    );
    nbctl(nb, &["ls-lb-add", "ls1", "lb1"]);
    // ECMP: 10.20.0.0/16 through vm2 or vm4.
    for hop in ["172.16.254.22", "172.16.254.23"] {
        nbctl(nb, &["--ecmp", "lr-route-add", "lr1", "10.20.0.0/16", hop]);
    }
    nbctl(nb, &["--wait=sb", "sync"]);
    let sb = &dbs.sb;

    // Switched: vm1 -> vm3 stays on ls1.
    let out = from_vm1(
        sb,
        "eth.dst == 02:ac:10:ff:00:33 && ip4.src == 172.16.255.11 && ip4.dst == 172.16.255.33 && ip.ttl == 64",
    );
    assert!(out.contains("ingress(dp=\"ls1\", inport=\"vm1\")"), "{out}");
    let vm3 = "/* output to \"vm3\", a VM (VIF); eth.dst 02:ac:10:ff:00:33, ip.ttl 64 */";
    assert!(out.trim_end().ends_with(vm3), "{out}");
    assert!(!out.contains("dp=\"lr1\""), "{out}");

    // Routed: vm1 -> vm2 through lr1, TTL decremented, eth.dst resolved.
    let vm2 = "/* output to \"vm2\", a VM (VIF); eth.dst 02:ac:10:ff:01:22, ip.ttl 63 */";
    let out = from_vm1(
        sb,
        "eth.dst == 02:ac:10:ff:01:01 && ip4.src == 172.16.255.11 && ip4.dst == 172.16.254.22 && ip.ttl == 64",
    );
    for step in [
        "/* output to \"ls1-lr1\", peer \"lr1-ls1\" on \"lr1\" */",
        "ingress(dp=\"lr1\", inport=\"lr1-ls1\")",
        "egress(dp=\"ls2\", inport=\"ls2-lr1\", outport=\"vm2\")",
    ] {
        assert!(out.contains(step), "missing {step}:\n{out}");
    }
    assert!(out.trim_end().ends_with(vm2), "{out}");

    // Load-balanced: the VIP is DNATed to the backend on ls2.
    let out = from_vm1(
        sb,
        "eth.dst == 02:ac:10:ff:01:01 && ip4.src == 172.16.255.11 && ip4.dst == 172.16.100.100 \
         && ip.ttl == 64 && tcp.src == 4000 && tcp.dst == 80",
    );
    assert!(
        out.contains("/* conntrack: DNAT to 172.16.254.22:8080 */"),
        "{out}"
    );
    assert!(out.trim_end().ends_with(vm2), "{out}");

    // ECMP-routed: the router selects a next hop; the trace follows the first member.
    let out = from_vm1(
        sb,
        "eth.dst == 02:ac:10:ff:01:01 && ip4.src == 172.16.255.11 && ip4.dst == 10.20.0.5 \
         && ip.ttl == 64 && udp.src == 4000 && udp.dst == 53",
    );
    assert!(out.contains("lr_in_ip_routing_ecmp"), "{out}");
    assert!(
        out.contains("/* select: 2 choices, following the first */"),
        "{out}"
    );
    let last = out.trim_end().lines().last().unwrap_or_default().trim_start();
    assert!(
        last.starts_with("/* output to \"vm2\"") || last.starts_with("/* output to \"vm4\""),
        "{out}"
    );

    // ARP for a known address is answered on the switch, back to the asker;
    // for an unknown one it floods, one copy per other port.
    let arp = "eth.dst == ff:ff:ff:ff:ff:ff && arp.op == 1 && arp.sha == 02:ac:10:ff:00:11 \
               && arp.spa == 172.16.255.11";
    let out = from_vm1(sb, &format!("{arp} && arp.tpa == 172.16.255.33"));
    assert!(out.contains("ls_in_arp_rsp"), "{out}");
    let back = "/* output to \"vm1\", a VM (VIF); eth.dst 02:ac:10:ff:00:11 */";
    assert!(out.trim_end().ends_with(back), "{out}");
    let out = from_vm1(sb, &format!("{arp} && arp.tpa == 172.16.255.99"));
    assert!(out.contains("/* multicast group \"_MC_flood\""), "{out}");
    assert!(out.contains("/* output to \"vm3\""), "{out}");
    assert!(
        out.contains("egress(dp=\"ls1\", inport=\"vm1\", outport=\"ls1-lr1\")"),
        "{out}"
    );
    assert!(
        !out.contains("outport=\"vm1\""),
        "no copy back to the sender:\n{out}"
    );

    // Bad input: clear errors.
    let (_, err, ok) = trace(sb, "nosuch", "ip4");
    assert!(!ok && err.contains("unknown datapath \"nosuch\""), "{err}");
    let (_, err, ok) = trace(sb, "ls1", "inport == \"vm1\" || ip4");
    assert!(!ok && err.contains("microflow"), "{err}");
    let (_, err, ok) = trace(sb, "ls1", "ip4.dst == ");
    assert!(!ok && err.contains("microflow"), "{err}");
}
