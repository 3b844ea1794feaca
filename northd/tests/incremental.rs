//! The change-driven path against real ovsdb-servers: rovn-northd follows random NB
//! change sequences (ports, addresses, switches, routers, load balancers) and after
//! every step the SB it wrote is exactly what a full translation and the full
//! natural-key diff (`sb_sync::plan`) want: the full plan is empty.

mod common;
use common::dump;

use std::process::Command;

use ovsdb::Client;
use ovsdb::remote::Remote;
use rovn_northd::sb_sync::{Plan, plan};
use rovn_northd::snapshot::{NB_TABLES, SB_TABLES, northbound, sb_context};
use testbed::{Daemon, OvnDbs, require, run};

/// What a full translation and the full natural-key diff still want written.
async fn full_plan(nbc: &Client, sbc: &Client) -> Plan {
    let nb = dump(nbc, "OVN_Northbound", NB_TABLES).await;
    let sb = dump(sbc, "OVN_Southbound", SB_TABLES).await;
    let t = northd_core::translate(&northbound(&nb), &sb_context(&sb));
    plan(&t.southbound, &sb)
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &'a [String]) -> Option<&'a String> {
        if v.is_empty() {
            None
        } else {
            Some(&v[self.below(v.len())])
        }
    }
}

#[derive(Default)]
struct Net {
    switches: Vec<String>,
    /// (switch, port)
    ports: Vec<(String, String)>,
    routers: Vec<String>,
    lrps: Vec<String>,
    lbs: Vec<String>,
    pgs: Vec<String>,
    n: usize,
}

impl Net {
    fn fresh(&mut self, p: &str) -> String {
        self.n += 1;
        format!("{p}{}", self.n)
    }
}

/// One random NB change, as ovn-nbctl arguments (one transaction).
fn change(rng: &mut Rng, net: &mut Net) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    loop {
        match rng.below(24) {
            // Only nb_cfg moves (ovn-nbctl --wait=sb sync).
            14 => return s(&["sync"]),
            0 | 1 => {
                let n = net.fresh("ls");
                net.switches.push(n.clone());
                return s(&["ls-add", &n]);
            }
            2 if net.switches.len() > 2 => {
                let i = rng.below(net.switches.len());
                let n = net.switches.remove(i);
                net.ports.retain(|(sw, _)| *sw != n);
                return s(&["ls-del", &n]);
            }
            3..=5 => {
                let Some(sw) = rng.pick(&net.switches).cloned() else {
                    continue;
                };
                let p = net.fresh("p");
                let k = net.n;
                net.ports.push((sw.clone(), p.clone()));
                let addr = format!(
                    "02:00:00:00:{:02x}:{:02x} 10.{}.{}.{}",
                    k / 256 % 256,
                    k % 256,
                    k % 7,
                    k / 250 % 250,
                    k % 250 + 2
                );
                return s(&["lsp-add", &sw, &p, "--", "lsp-set-addresses", &p, &addr]);
            }
            6 if !net.ports.is_empty() => {
                let i = rng.below(net.ports.len());
                let (_, p) = net.ports.remove(i);
                return s(&["lsp-del", &p]);
            }
            7 if !net.ports.is_empty() => {
                let (_, p) = net.ports[rng.below(net.ports.len())].clone();
                net.n += 1;
                let k = net.n + rng.below(3);
                net.n = k;
                let addr = format!(
                    "02:00:00:01:{:02x}:{:02x} 10.9.{}.{}",
                    k / 256 % 256,
                    k % 256,
                    k / 250 % 250,
                    k % 250 + 2
                );
                let mut v = s(&["lsp-set-addresses", &p, &addr]);
                if k.is_multiple_of(3) {
                    v.extend(s(&["--", "lsp-set-port-security", &p, &addr]));
                }
                return v;
            }
            8 => {
                let r = net.fresh("lr");
                net.routers.push(r.clone());
                return s(&["lr-add", &r]);
            }
            9 if !net.routers.is_empty() && !net.switches.is_empty() => {
                let r = rng.pick(&net.routers).cloned().unwrap();
                let sw = rng.pick(&net.switches).cloned().unwrap();
                let lrp = net.fresh(&format!("{r}-"));
                let lsp = format!("{lrp}-peer");
                let k = net.n;
                net.lrps.push(lrp.clone());
                net.ports.push((sw.clone(), lsp.clone()));
                let mac = format!("02:00:00:02:{:02x}:{:02x}", k / 256 % 256, k % 256);
                let ip = format!("172.{}.{}.1/24", 16 + k % 16, k % 250);
                return s(&[
                    "lrp-add",
                    &r,
                    &lrp,
                    &mac,
                    &ip,
                    "--",
                    "lsp-add",
                    &sw,
                    &lsp,
                    "--",
                    "lsp-set-type",
                    &lsp,
                    "router",
                    "--",
                    "lsp-set-addresses",
                    &lsp,
                    "router",
                    "--",
                    "lsp-set-options",
                    &lsp,
                    &format!("router-port={lrp}"),
                ]);
            }
            10 if net.routers.len() > 1 => {
                let i = rng.below(net.routers.len());
                let r = net.routers.remove(i);
                net.lrps.retain(|p| !p.starts_with(&format!("{r}-")));
                return s(&["lr-del", &r]);
            }
            11 => {
                let lb = net.fresh("lb");
                let k = net.n;
                net.lbs.push(lb.clone());
                return s(&[
                    "lb-add",
                    &lb,
                    &format!("192.168.{}.{}:80", k % 200, k % 250 + 1),
                    &format!("10.0.0.{}:8080,10.0.0.{}:8080", k % 250 + 1, (k + 1) % 250 + 1),
                    "tcp",
                ]);
            }
            12 if !net.lbs.is_empty() && (!net.switches.is_empty() || !net.routers.is_empty()) => {
                let lb = rng.pick(&net.lbs).cloned().unwrap();
                if rng.below(2) == 0 && !net.routers.is_empty() {
                    let r = rng.pick(&net.routers).cloned().unwrap();
                    return s(&["--may-exist", "lr-lb-add", &r, &lb]);
                }
                let Some(sw) = rng.pick(&net.switches).cloned() else {
                    continue;
                };
                return s(&["--may-exist", "ls-lb-add", &sw, &lb]);
            }
            13 if !net.lbs.is_empty() => {
                let i = rng.below(net.lbs.len());
                let lb = net.lbs.remove(i);
                return s(&["lb-del", &lb]);
            }
            // Security groups: port groups and their ACLs, switch ACLs.
            15 => {
                let pg = net.fresh("pg");
                net.pgs.push(pg.clone());
                let mut v = s(&["pg-add", &pg]);
                for _ in 0..rng.below(3) {
                    if let Some((_, p)) = net.ports.get(rng.below(net.ports.len().max(1))) {
                        v.push(p.clone());
                    }
                }
                v[2..].sort();
                v.dedup();
                return v;
            }
            16 if !net.pgs.is_empty() || !net.switches.is_empty() => {
                let on_pg = !net.pgs.is_empty() && (net.switches.is_empty() || rng.below(3) > 0);
                let owner = if on_pg {
                    rng.pick(&net.pgs)
                } else {
                    rng.pick(&net.switches)
                };
                let owner = owner.cloned().unwrap();
                let (dir, port) = if rng.below(2) == 0 {
                    ("from-lport", "inport")
                } else {
                    ("to-lport", "outport")
                };
                let m = if on_pg {
                    format!("{port} == @{owner} && ip4")
                } else {
                    format!("ip4 && tcp.dst == {}", rng.below(3) + 80)
                };
                let action = ["allow-related", "drop", "allow", "reject", "allow-stateless"][rng.below(5)];
                let prio = (1000 + rng.below(20)).to_string();
                return s(&["--may-exist", "acl-add", &owner, dir, &prio, &m, action]);
            }
            17 if !net.pgs.is_empty() && !net.ports.is_empty() => {
                let pg = rng.pick(&net.pgs).cloned().unwrap();
                let mut v = s(&["pg-set-ports", &pg]);
                for _ in 0..1 + rng.below(3) {
                    v.push(net.ports[rng.below(net.ports.len())].1.clone());
                }
                v[2..].sort();
                v.dedup();
                return v;
            }
            18 if !net.pgs.is_empty() => {
                let pg = rng.pick(&net.pgs).cloned().unwrap();
                return s(&["acl-del", &pg]);
            }
            // NAT: gateway routers (options:chassis) with SNAT and floating IPs.
            19 if !net.routers.is_empty() => {
                let r = rng.pick(&net.routers).cloned().unwrap();
                return s(&["set", "logical_router", &r, "options:chassis=hv1"]);
            }
            20 if !net.routers.is_empty() => {
                let r = rng.pick(&net.routers).cloned().unwrap();
                net.n += 1;
                let k = net.n;
                let ext = format!("10.99.{}.{}", k / 250 % 250, k % 250 + 1);
                if rng.below(2) == 0 {
                    let inner = format!("172.{}.0.0/16", 16 + k % 16);
                    return s(&["--may-exist", "lr-nat-add", &r, "snat", &ext, &inner]);
                }
                let inner = format!("10.{}.{}.{}", k % 7, k / 250 % 250, k % 250 + 2);
                return s(&["lr-nat-add", &r, "dnat_and_snat", &ext, &inner]);
            }
            // Distributed gateway ports: gateway chassis set, moved and taken away,
            // floating IPs applied on their port's chassis.
            21 if !net.lrps.is_empty() => {
                let lrp = rng.pick(&net.lrps).cloned().unwrap();
                let ch = ["hv1", "hv2"][rng.below(2)];
                let prio = (1 + rng.below(30)).to_string();
                return s(&["lrp-set-gateway-chassis", &lrp, ch, &prio]);
            }
            22 if !net.lrps.is_empty() => {
                let lrp = rng.pick(&net.lrps).cloned().unwrap();
                return s(&["clear", "logical_router_port", &lrp, "gateway_chassis"]);
            }
            23 if !net.routers.is_empty() && !net.ports.is_empty() => {
                let r = rng.pick(&net.routers).cloned().unwrap();
                let (_, p) = net.ports[rng.below(net.ports.len())].clone();
                net.n += 1;
                let k = net.n;
                let ext = format!("10.98.{}.{}", k / 250 % 250, k % 250 + 1);
                let inner = format!("10.{}.{}.{}", 7 + k % 7, k / 250 % 250, k % 250 + 2);
                let mac = format!("02:00:00:03:{:02x}:{:02x}", k / 256 % 256, k % 256);
                return s(&["lr-nat-add", &r, "dnat_and_snat", &ext, &inner, &p, &mac]);
            }
            _ => continue,
        }
    }
}

#[tokio::test]
async fn random_nb_changes_leave_nothing_for_a_full_diff() {
    if !require(&["ovsdb-server", "ovn-nbctl"]) {
        return;
    }
    let dbs = OvnDbs::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("northd.log");
    let _northd = Daemon::spawn(
        "rovn-northd",
        Command::new(env!("CARGO_BIN_EXE_rovn-northd"))
            .arg(format!("--ovnnb-db={}", dbs.nb.remote()))
            .arg(format!("--ovnsb-db={}", dbs.sb.remote()))
            .arg(format!("--unixctl={}", dir.path().join("northd.ctl").display()))
            .arg(format!("--log-file={}", log.display()))
            .arg("-vdbg"),
    );
    let nbctl = |args: &[String]| {
        run(Command::new("ovn-nbctl")
            .arg(format!("--db={}", dbs.nb.remote()))
            .arg("--timeout=30")
            .arg("--wait=sb")
            .args(args))
    };
    let nbc = Client::connect(&Remote::parse(&dbs.nb.remote()).unwrap())
        .await
        .unwrap()
        .0;
    let sbc = Client::connect(&Remote::parse(&dbs.sb.remote()).unwrap())
        .await
        .unwrap()
        .0;

    let steps: usize = std::env::var("ROVN_INC_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    for seed in [0x9e37_79b9_7f4a_7c15_u64, 0x1234_5678_9abc_def1] {
        let mut rng = Rng(seed);
        let mut net = Net::default();
        // Start from a populated network, then change it one step at a time.
        for _ in 0..3 {
            let c = change(&mut rng, &mut net);
            nbctl(&c);
        }
        for step in 0..steps {
            let c = change(&mut rng, &mut net);
            nbctl(&c);
            let p = full_plan(&nbc, &sbc).await;
            assert!(
                p.ops.is_empty(),
                "seed {seed:#x} step {step} ({c:?}): a full diff still wants {:?}: {:#?}",
                p.stats,
                p.ops
            );
        }
        // Clean up for the next sequence (a full recompute on the way).
        let mut all: Vec<String> = Vec::new();
        for sw in &net.switches {
            all.extend(["--".into(), "ls-del".into(), sw.clone()]);
        }
        for r in &net.routers {
            all.extend(["--".into(), "lr-del".into(), r.clone()]);
        }
        for lb in &net.lbs {
            all.extend(["--".into(), "lb-del".into(), lb.clone()]);
        }
        for pg in &net.pgs {
            all.extend(["--".into(), "pg-del".into(), pg.clone()]);
        }
        if !all.is_empty() {
            nbctl(&all[1..]);
        }
    }
    let counts = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(!text.contains("panicked"), "{text}");
        (
            text.matches("SB updated (delta)").count(),
            text.matches("SB updated (full diff)").count(),
        )
    };
    let (deltas, fulls) = counts();
    eprintln!("random steps: SB written {deltas} times by delta, {fulls} by full diff");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    for why in [
        "engine recomputed everything",
        "SB not known to match",
        "difference not local",
    ] {
        eprintln!("  full diff because {why}: {}", text.matches(why).count());
    }
    // Every kind of change above is local (datapaths created and deleted, dangling
    // router peers included): only the first sync is a full diff, or almost.
    assert!(fulls * 10 <= deltas, "{fulls} full diffs for {deltas} deltas");

    // Port churn on existing switches (with a router and a shared LB) is all deltas.
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    nbctl(&s(&[
        "ls-add",
        "a",
        "--",
        "ls-add",
        "b",
        "--",
        "lr-add",
        "r",
        "--",
        "lb-add",
        "lb",
        "192.168.9.9:80",
        "10.0.0.9:80",
    ]));
    nbctl(&s(&["ls-lb-add", "a", "lb", "--", "ls-lb-add", "b", "lb"]));
    nbctl(&s(&[
        "lrp-add",
        "r",
        "r-a",
        "02:00:00:00:aa:01",
        "10.1.0.1/24",
        "--",
        "lsp-add",
        "a",
        "a-r",
        "--",
        "lsp-set-type",
        "a-r",
        "router",
        "--",
        "lsp-set-addresses",
        "a-r",
        "router",
        "--",
        "lsp-set-options",
        "a-r",
        "router-port=r-a",
    ]));
    let (d0, f0) = counts();
    for i in 0..10u32 {
        let p = format!("vm{i}");
        let addr = format!("02:00:00:00:bb:{i:02x} 10.1.0.{}", i + 10);
        nbctl(&s(&[
            "lsp-add",
            if i.is_multiple_of(2) { "a" } else { "b" },
            &p,
            "--",
            "lsp-set-addresses",
            &p,
            &addr,
        ]));
        let addr = format!("02:00:00:00:cc:{i:02x} 10.1.0.{}", i + 100);
        nbctl(&s(&["lsp-set-addresses", &p, &addr]));
        if i.is_multiple_of(3) {
            nbctl(&s(&["lsp-del", &p]));
        }
    }
    let nb = dump(&nbc, "OVN_Northbound", NB_TABLES).await;
    let sb = dump(&sbc, "OVN_Southbound", SB_TABLES).await;
    let t = northd_core::translate(&northbound(&nb), &sb_context(&sb));
    assert!(plan(&t.southbound, &sb).ops.is_empty());
    let (d1, f1) = counts();
    eprintln!("port churn: {} deltas, {} full diffs", d1 - d0, f1 - f0);
    assert_eq!(f1, f0, "port churn needs no full diff");
    assert!(d1 - d0 >= 24, "every port change is written as a delta");

    // Datapaths created and deleted, flows moving between datapath groups (a switch
    // joining and leaving the switches' shared flows, a load balancer on a third
    // switch), a router without ports: all deltas too.
    let steps: Vec<Vec<String>> = vec![
        s(&["ls-add", "c"]),
        s(&[
            "lsp-add",
            "c",
            "vmc",
            "--",
            "lsp-set-addresses",
            "vmc",
            "02:00:00:00:dd:01 10.2.0.5",
        ]),
        s(&["ls-lb-add", "c", "lb"]),
        s(&["lr-add", "r2"]),
        s(&["ls-lb-del", "c", "lb"]),
        s(&["ls-add", "d", "--", "ls-add", "e"]),
        s(&["ls-del", "c"]),
        s(&["lr-del", "r2", "--", "ls-del", "d"]),
    ];
    for c in &steps {
        nbctl(c);
        let p = full_plan(&nbc, &sbc).await;
        assert!(
            p.ops.is_empty(),
            "{c:?}: a full diff still wants {:?}: {:#?}",
            p.stats,
            p.ops
        );
    }
    let (d2, f2) = counts();
    eprintln!("datapath churn: {} deltas, {} full diffs", d2 - d1, f2 - f1);
    assert_eq!(f2, f1, "datapath churn needs no full diff");
    assert!(
        d2 - d1 >= steps.len(),
        "every datapath change is written as a delta"
    );
}
