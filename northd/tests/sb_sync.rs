//! The SB writer against a real ovsdb-server: a translation written once reads
//! back as "nothing to do", and a small NB change becomes a small SB transaction.

mod common;
use common::dump;

use std::process::Command;

use ovsdb::Client;
use ovsdb::remote::Remote;
use rovn_northd::sb_sync::plan;
use rovn_northd::snapshot::{NB_TABLES, SB_TABLES, northbound, sb_context};
use testbed::{OvnDbs, require, run};

async fn sync(nbc: &Client, sbc: &Client) -> rovn_northd::sb_sync::SyncStats {
    let nb = dump(nbc, "OVN_Northbound", NB_TABLES).await;
    let sb = dump(sbc, "OVN_Southbound", SB_TABLES).await;
    let t = northd_core::translate(&northbound(&nb), &sb_context(&sb));
    let p = plan(&t.southbound, &sb);
    if !p.ops.is_empty() {
        sbc.transact("OVN_Southbound", &p.ops).await.unwrap();
    }
    p.stats
}

#[tokio::test]
async fn writes_once_then_only_differences() {
    if !require(&["ovsdb-server", "ovn-nbctl", "ovn-sbctl"]) {
        return;
    }
    let dbs = OvnDbs::start();
    let nbctl = |args: &[&str]| {
        run(Command::new("ovn-nbctl")
            .arg(format!("--db={}", dbs.nb.remote()))
            .args(args))
    };
    nbctl(&["ls-add", "ls1"]);
    for (p, mac, ip) in [
        ("vm1", "02:ac:10:ff:00:11", "172.16.255.11"),
        ("vm2", "02:ac:10:ff:00:22", "172.16.255.22"),
    ] {
        let a = format!("{mac} {ip}");
        nbctl(&[
            "lsp-add",
            "ls1",
            p,
            "--",
            "lsp-set-addresses",
            p,
            &a,
            "--",
            "lsp-set-port-security",
            p,
            &a,
        ]);
    }
    nbctl(&["lr-add", "lr1"]);
    nbctl(&[
        "lrp-add",
        "lr1",
        "lr1-ls1",
        "02:ac:10:ff:01:01",
        "172.16.255.1/24",
    ]);
    nbctl(&[
        "lsp-add",
        "ls1",
        "ls1-lr1",
        "--",
        "lsp-set-type",
        "ls1-lr1",
        "router",
        "--",
        "lsp-set-addresses",
        "ls1-lr1",
        "router",
        "--",
        "lsp-set-options",
        "ls1-lr1",
        "router-port=lr1-ls1",
    ]);
    nbctl(&["ls-add", "ls2"]);
    nbctl(&[
        "lb-add",
        "lb1",
        "172.16.100.100:8000",
        "172.16.255.22:8000,172.16.255.11:8000",
        "tcp",
        "--",
        "ls-lb-add",
        "ls1",
        "lb1",
    ]);

    let (nbc, _) = Client::connect(&Remote::parse(&dbs.nb.remote()).unwrap())
        .await
        .unwrap();
    let (sbc, _) = Client::connect(&Remote::parse(&dbs.sb.remote()).unwrap())
        .await
        .unwrap();
    let first = sync(&nbc, &sbc).await;
    assert!(first.inserted > 50, "{first:?}");
    let again = sync(&nbc, &sbc).await;
    assert!(again.is_empty(), "a second sync must change nothing: {again:?}");

    // The real ovn-sbctl reads what we wrote.
    let sbctl = |args: &[&str]| {
        run(Command::new("ovn-sbctl")
            .arg(format!("--db={}", dbs.sb.remote()))
            .args(args))
    };
    let lflows = sbctl(&["lflow-list", "ls1"]);
    assert!(lflows.contains("ls_in_l2_lkup"), "{lflows}");
    assert!(lflows.contains("outport = \"vm2\""), "{lflows}");
    let pbs = sbctl(&["--bare", "--columns=logical_port", "list", "Port_Binding"]);
    for p in ["vm1", "vm2", "ls1-lr1", "lr1-ls1"] {
        assert!(pbs.lines().any(|l| l == p), "{p} missing from {pbs}");
    }
    // Identical flows on ls1 and ls2 share a datapath group.
    let groups = sbctl(&["--bare", "--columns=datapaths", "list", "Logical_DP_Group"]);
    assert!(!groups.trim().is_empty());

    // A new port is a small transaction, not a rewrite.
    let keys_before = sbctl(&[
        "--bare",
        "--columns=logical_port,tunnel_key",
        "list",
        "Port_Binding",
    ]);
    nbctl(&[
        "lsp-add",
        "ls1",
        "vm3",
        "--",
        "lsp-set-addresses",
        "vm3",
        "02:ac:10:ff:00:33 172.16.255.33",
    ]);
    let step = sync(&nbc, &sbc).await;
    assert!(step.inserted + step.updated + step.deleted < 20, "{step:?}");
    assert!(step.inserted >= 1);
    let keys_after = sbctl(&[
        "--bare",
        "--columns=logical_port,tunnel_key",
        "list",
        "Port_Binding",
    ]);
    for block in keys_before.split("\n\n") {
        assert!(keys_after.contains(block.trim()), "key of {block:?} changed");
    }

    // Removing a switch removes its datapath, ports and flows.
    nbctl(&["ls-del", "ls2"]);
    sync(&nbc, &sbc).await;
    let dps = sbctl(&["--bare", "--columns=external_ids", "list", "Datapath_Binding"]);
    assert!(!dps.contains("name=ls2"), "{dps}");
    assert!(sync(&nbc, &sbc).await.is_empty());
}
