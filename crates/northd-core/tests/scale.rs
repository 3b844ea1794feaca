//! Rough cost check on a larger topology (ignored by default; run with
//! `cargo test --release -p northd-core --test scale -- --ignored --nocapture`).

use std::time::Instant;

use northd_core::*;

fn topology(switches: usize, ports: usize) -> Northbound {
    let mut nb = Northbound::default();
    let mut lr = LogicalRouter {
        name: "lr".into(),
        ..Default::default()
    };
    for s in 0..switches {
        let mut ls = LogicalSwitch {
            name: format!("ls{s}"),
            ..Default::default()
        };
        for p in 0..ports {
            let u = format!("lsp-{s}-{p}");
            nb.switch_ports.insert(
                u.clone(),
                LogicalSwitchPort {
                    name: format!("vm-{s}-{p}"),
                    addresses: vec![format!(
                        "02:00:{:02x}:{:02x}:00:{:02x} 10.{}.{}.{}",
                        s >> 8,
                        s & 255,
                        p,
                        s >> 8,
                        s & 255,
                        p + 10
                    )],
                    ..Default::default()
                },
            );
            ls.ports.push(u);
        }
        let lrp = format!("lrp-{s}");
        nb.router_ports.insert(
            lrp.clone(),
            LogicalRouterPort {
                name: lrp.clone(),
                mac: format!("02:01:{:02x}:{:02x}:00:01", s >> 8, s & 255),
                networks: vec![format!("10.{}.{}.1/24", s >> 8, s & 255)],
                ..Default::default()
            },
        );
        lr.ports.push(lrp.clone());
        let mut opts = Map::new();
        opts.insert("router-port".into(), lrp);
        let rsp = format!("rsp-{s}");
        nb.switch_ports.insert(
            rsp.clone(),
            LogicalSwitchPort {
                name: rsp.clone(),
                port_type: "router".into(),
                addresses: vec!["router".into()],
                options: opts,
                ..Default::default()
            },
        );
        ls.ports.push(rsp);
        nb.switches.insert(format!("ls-{s}"), ls);
    }
    nb.routers.insert("lr".into(), lr);
    nb
}

#[test]
#[ignore]
fn scale() {
    let mut nb = topology(500, 40);
    let ctx = SbContext::default();
    let t = Instant::now();
    let full = translate(&nb, &ctx);
    eprintln!(
        "full: {} flows, {} ports in {:?}",
        full.southbound.logical_flows.len(),
        full.southbound.port_bindings.len(),
        t.elapsed()
    );
    let mut ctx = ctx;
    remember_keys(&mut ctx, &full.southbound);
    let mut e = Engine::new();
    let t = Instant::now();
    e.update(&nb, &ctx);
    eprintln!("engine first run {:?}", t.elapsed());
    nb.switch_ports.get_mut("lsp-7-3").unwrap().enabled = Some(false);
    let t = Instant::now();
    e.update(&nb, &ctx);
    eprintln!("engine one-port change {:?} {:?}", t.elapsed(), e.stats());
}
