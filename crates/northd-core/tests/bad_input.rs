//! Bad NB content is reported per row and skipped; everything else is still translated.

use northd_core::*;

fn lsp(name: &str, addrs: &[&str]) -> LogicalSwitchPort {
    LogicalSwitchPort {
        name: name.into(),
        addresses: addrs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn has_flow(sb: &Southbound, m: &str) -> bool {
    sb.logical_flows.iter().any(|f| &*f.match_ == m)
}

fn base() -> Northbound {
    let mut nb = Northbound::default();
    let ports = [
        ("u-good", lsp("good", &["02:00:00:00:00:01 10.0.0.1"])),
        ("u-badmac", lsp("badmac", &["02:00:00:00:00 10.0.0.2"])),
        ("u-badip", lsp("badip", &["02:00:00:00:00:03 10.0.0.300"])),
        ("u-dupip", lsp("zdupip", &["02:00:00:00:00:04 10.0.0.1"])),
        ("u-dupmac", lsp("zdupmac", &["02:00:00:00:00:01 10.0.0.5"])),
    ];
    let mut ls = LogicalSwitch {
        name: "ls".into(),
        ..Default::default()
    };
    for (u, p) in ports {
        ls.ports.push(u.into());
        nb.switch_ports.insert(u.into(), p);
    }
    ls.ports.push("u-missing".into());
    nb.switches.insert("u-ls".into(), ls);
    nb
}

#[test]
fn malformed_addresses_are_reported_and_skipped() {
    let out = translate(&base(), &SbContext::default());
    let sb = &out.southbound;
    let w: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("\"badmac\"") && w.contains("addresses")),
        "{w:#?}"
    );
    assert!(w.iter().any(|w| w.contains("\"badip\"")), "{w:#?}");
    assert!(
        w.iter()
            .any(|w| w.contains("\"zdupip\"") && w.contains("10.0.0.1")),
        "{w:#?}"
    );
    assert!(
        w.iter().any(|w| w.contains("\"zdupmac\"") && w.contains("MAC")),
        "{w:#?}"
    );
    assert!(w.iter().any(|w| w.contains("u-missing")), "{w:#?}");
    // The good port is fully translated; the bad ones still get bindings.
    assert!(has_flow(sb, "eth.dst == 02:00:00:00:00:01"));
    assert!(has_flow(sb, "arp.tpa == 10.0.0.1 && arp.op == 1"));
    assert_eq!(sb.port_bindings.len(), 5);
    // The duplicate-IP port keeps its MAC but loses the contested IP.
    assert!(has_flow(sb, "eth.dst == 02:00:00:00:00:04"));
    assert!(!has_flow(
        sb,
        "arp.tpa == 10.0.0.1 && arp.op == 1 && inport == \"zdupip\""
    ));
}

#[test]
fn dangling_router_peer_and_bad_lb_backend() {
    let mut nb = base();
    let mut opts = Map::new();
    opts.insert("router-port".into(), "nowhere".into());
    nb.switch_ports.insert(
        "u-rp".into(),
        LogicalSwitchPort {
            name: "to-router".into(),
            port_type: "router".into(),
            addresses: vec!["router".into()],
            options: opts,
            ..Default::default()
        },
    );
    let mut lb = LoadBalancer {
        name: "lb".into(),
        ..Default::default()
    };
    lb.vips
        .insert("10.0.0.100:80".into(), "10.0.0.1:80,web-server:80".into());
    nb.load_balancers.insert("u-lb".into(), lb);
    let ls = nb.switches.get_mut("u-ls").unwrap();
    ls.ports.push("u-rp".into());
    ls.load_balancers.push("u-lb".into());
    // A router port with an invalid MAC and a router referencing a missing port.
    nb.router_ports.insert(
        "u-lrp".into(),
        LogicalRouterPort {
            name: "lrp".into(),
            mac: "nonsense".into(),
            networks: vec!["10.1.0.1/24".into()],
            ..Default::default()
        },
    );
    nb.routers.insert(
        "u-lr".into(),
        LogicalRouter {
            name: "lr".into(),
            ports: vec!["u-lrp".into(), "u-gone".into()],
            ..Default::default()
        },
    );
    let out = translate(&nb, &SbContext::default());
    let w: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("\"to-router\"") && w.contains("nowhere")),
        "{w:#?}"
    );
    assert!(w.iter().any(|w| w.contains("web-server")), "{w:#?}");
    assert!(
        w.iter().any(|w| w.contains("\"lrp\"") && w.contains("mac")),
        "{w:#?}"
    );
    assert!(w.iter().any(|w| w.contains("u-gone")), "{w:#?}");
    let sb = &out.southbound;
    assert!(
        sb.logical_flows
            .iter()
            .any(|f| &*f.actions == "reg0[1] = 0; ct_lb_mark(backends=10.0.0.1:80);")
    );
    // The router datapath exists even though its only port was unusable.
    assert!(sb.datapaths.values().any(|d| d.name == "lr"));
    assert_eq!(sb.port_bindings["to-router"].port_type, "patch");
}

#[test]
fn garbage_everywhere_never_panics() {
    let junk = [
        "",
        " ",
        "router",
        "unknown",
        "dynamic",
        "02:00:00:00:00:01",
        "::",
        "1.2.3.4/99",
        "02:00:00:00:00:01 fe80::1/200",
        "ff:ff:ff:ff:ff:ff 0.0.0.0",
        "[::1]:80",
        "a:b:c",
    ];
    let mut nb = Northbound::default();
    let mut ls = LogicalSwitch::default();
    let mut lr = LogicalRouter::default();
    for (i, j) in junk.iter().enumerate() {
        let u = format!("p{i}");
        let mut p = lsp(&u, &[j]);
        p.port_security = vec![j.to_string()];
        if i % 3 == 0 {
            p.port_type = "router".into();
            p.options.insert("router-port".into(), format!("r{i}"));
        }
        nb.switch_ports.insert(u.clone(), p);
        ls.ports.push(u);
        let ru = format!("r{i}");
        nb.router_ports.insert(
            ru.clone(),
            LogicalRouterPort {
                name: ru.clone(),
                mac: j.to_string(),
                networks: vec![j.to_string()],
                peer: Some(j.to_string()),
                ..Default::default()
            },
        );
        lr.ports.push(ru);
        let su = format!("s{i}");
        nb.static_routes.insert(
            su.clone(),
            StaticRoute {
                ip_prefix: j.to_string(),
                nexthop: j.to_string(),
                ..Default::default()
            },
        );
        lr.static_routes.push(su);
        let lu = format!("l{i}");
        let mut lb = LoadBalancer::default();
        lb.vips.insert(j.to_string(), j.to_string());
        nb.load_balancers.insert(lu.clone(), lb);
        ls.load_balancers.push(lu.clone());
        lr.load_balancers.push(lu);
    }
    ls.other_config
        .insert("requested-tnl-key".into(), "99999999999".into());
    nb.switches.insert("ls".into(), ls);
    nb.routers.insert("lr".into(), lr);
    let out = translate(&nb, &SbContext::default());
    assert!(!out.warnings.is_empty());
    let mut e = Engine::new();
    assert_eq!(e.update(&nb, &out_ctx(&out)), &translate(&nb, &out_ctx(&out)));
}

fn out_ctx(t: &Translation) -> SbContext {
    let mut ctx = SbContext::default();
    remember_keys(&mut ctx, &t.southbound);
    ctx
}

#[test]
fn diff_reports_inserts_updates_deletes() {
    let nb = base();
    let a = translate(&nb, &SbContext::default()).southbound;
    let mut nb2 = nb.clone();
    nb2.switch_ports.get_mut("u-good").unwrap().addresses = vec!["02:00:00:00:00:01 10.0.0.9".into()];
    nb2.switch_ports.remove("u-badip");
    nb2.switches
        .get_mut("u-ls")
        .unwrap()
        .ports
        .retain(|p| p != "u-badip");
    // Keys of the previous run keep the untouched ports' bindings identical.
    let mut ctx = SbContext::default();
    remember_keys(&mut ctx, &a);
    let b = translate(&nb2, &ctx).southbound;
    let d = diff(&a, &b);
    assert_eq!(d.port_bindings.delete, vec!["badip".to_string()]);
    assert_eq!(d.port_bindings.update.len(), 1);
    assert!(d.port_bindings.insert.is_empty());
    assert!(d.multicast_groups.update.len() >= 2);
    assert!(!d.logical_flows.insert.is_empty() && !d.logical_flows.delete.is_empty());
    assert!(diff(&b, &b).is_empty());
}

/// A Northbound holding router port "lrp" (10.0.0.1/24, row "u-lrp") for a router to use.
fn nb_with_router_port() -> Northbound {
    let mut nb = Northbound::default();
    nb.router_ports.insert(
        "u-lrp".into(),
        LogicalRouterPort {
            name: "lrp".into(),
            mac: "02:00:00:00:01:01".into(),
            networks: vec!["10.0.0.1/24".into()],
            ..Default::default()
        },
    );
    nb
}

#[test]
fn bad_routes_are_reported_and_shared_prefixes_form_ecmp_groups() {
    let mut nb = nb_with_router_port();
    let route = |nexthop: &str, table: &str| StaticRoute {
        ip_prefix: "0.0.0.0/0".into(),
        nexthop: nexthop.into(),
        route_table: table.into(),
        ..Default::default()
    };
    nb.static_routes.insert("r1".into(), route("10.0.0.254", ""));
    nb.static_routes.insert("r2".into(), route("10.0.0.253", ""));
    nb.static_routes.insert("r3".into(), route("10.0.0.252", "blue"));
    nb.static_routes.insert("r4".into(), route("192.168.9.9", ""));
    nb.routers.insert(
        "u-lr".into(),
        LogicalRouter {
            name: "lr".into(),
            ports: vec!["u-lrp".into()],
            static_routes: vec!["r4".into(), "r3".into(), "r2".into(), "r1".into()],
            ..Default::default()
        },
    );
    let out = translate(&nb, &SbContext::default());
    let w: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w.iter().any(|w| w.contains("192.168.9.9") && w.contains("reach")));
    // r1 and r2 share a prefix: one ECMP group, members in row UUID order; r3 is alone in
    // table "blue", which no port uses.
    let flows = |stage: Stage| -> Vec<&LogicalFlow> {
        out.southbound
            .logical_flows
            .iter()
            .filter(|f| f.stage == stage && f.priority != 0)
            .collect()
    };
    let routing: Vec<_> = flows(Stage::LrInIpRouting)
        .into_iter()
        .filter(|f| f.priority == 1)
        .collect();
    assert_eq!(routing.len(), 2, "{routing:#?}");
    assert!(routing.iter().any(
        |f| &*f.match_ == "reg7 == 1 && ip4.dst == 0.0.0.0/0" && f.actions.contains("reg0 = 10.0.0.252;")
    ));
    let routing: Vec<_> = routing
        .into_iter()
        .filter(|f| f.match_.starts_with("reg7 == 0 "))
        .collect();
    assert_eq!(routing.len(), 1);
    assert!(
        routing[0]
            .actions
            .ends_with("reg8[0..15] = 1; reg8[16..31] = select(1, 2);")
    );
    let members: Vec<_> = flows(Stage::LrInIpRoutingEcmp)
        .into_iter()
        .filter(|f| f.priority == 100)
        .collect();
    assert_eq!(members.len(), 2);
    for (id, nexthop) in [(1, "10.0.0.254"), (2, "10.0.0.253")] {
        assert!(
            members.iter().any(
                |f| *f.match_ == format!("reg8[0..15] == 1 && reg8[16..31] == {id}")
                    && f.actions
                        .starts_with(&format!("reg0 = {nexthop}; reg1 = 10.0.0.1;"))
            ),
            "member {id} via {nexthop}: {members:#?}"
        );
    }
}

#[test]
fn datapaths_beyond_the_vxlan_key_space_are_skipped() {
    let mut nb = Northbound::default();
    for i in 0..4097 {
        nb.switches.insert(
            format!("ls-{i:05}"),
            LogicalSwitch {
                name: format!("ls{i}"),
                ..Default::default()
            },
        );
    }
    nb.switch_ports
        .insert("p".into(), lsp("p", &["02:00:00:00:00:01 10.0.0.1"]));
    nb.switches.get_mut("ls-04096").unwrap().ports.push("p".into());
    let ctx = SbContext {
        chassis: vec![Chassis {
            name: "hv".into(),
            encap_types: vec!["vxlan".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    let out = translate(&nb, &ctx);
    let sb = &out.southbound;
    assert_eq!(sb.datapaths.len(), 4095);
    assert_eq!(
        out.warnings
            .iter()
            .filter(|w| matches!(w, Warning::KeysExhausted { .. }))
            .count(),
        2
    );
    assert!(
        sb.logical_flows
            .iter()
            .all(|f| sb.datapaths.contains_key(&*f.datapath))
    );
    assert!(
        sb.port_bindings
            .values()
            .all(|p| sb.datapaths.contains_key(&p.datapath))
    );
    assert_eq!(sb.options["max_tunid"], "4095");
}

#[test]
fn refused_gateway_port_configurations_are_reported() {
    let mut nb = Northbound::default();
    let lrp = |name: &str, mac: &str, net: &str, gc: &[&str]| LogicalRouterPort {
        name: name.into(),
        mac: mac.into(),
        networks: vec![net.into()],
        gateway_chassis: gc.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    nb.gateway_chassis.insert(
        "u-gc".into(),
        GatewayChassis {
            name: "gc".into(),
            chassis_name: "hv1".into(),
            priority: 1,
        },
    );
    // Two gateway ports on one router (the first wins), one on a gateway router, one
    // whose cr- name is taken by a switch port, and a dangling gateway chassis.
    let ports = [
        ("u-a", lrp("a", "02:00:00:00:00:01", "10.0.1.1/24", &["u-gc"])),
        ("u-b", lrp("b", "02:00:00:00:00:02", "10.0.2.1/24", &["u-gc"])),
        ("u-g", lrp("g", "02:00:00:00:00:03", "10.0.3.1/24", &["u-gc"])),
        ("u-c", lrp("c", "02:00:00:00:00:04", "10.0.4.1/24", &["u-gc"])),
        (
            "u-d",
            lrp("d", "02:00:00:00:00:05", "10.0.5.1/24", &["u-nothing"]),
        ),
    ];
    for (u, p) in ports {
        nb.router_ports.insert(u.into(), p);
    }
    let router = |name: &str, ports: &[&str]| LogicalRouter {
        name: name.into(),
        ports: ports.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    nb.routers.insert("u-r1".into(), router("r1", &["u-a", "u-b"]));
    let mut gw = router("gw", &["u-g"]);
    gw.options.insert("chassis".into(), "hv1".into());
    nb.routers.insert("u-gw".into(), gw);
    nb.routers.insert("u-r3".into(), router("r3", &["u-c"]));
    nb.routers.insert("u-r4".into(), router("r4", &["u-d"]));
    nb.switch_ports.insert("u-taken".into(), lsp("cr-c", &[]));
    nb.switches.insert(
        "u-ls".into(),
        LogicalSwitch {
            name: "ls".into(),
            ports: vec!["u-taken".into()],
            ..Default::default()
        },
    );
    let out = translate(&nb, &SbContext::default());
    let w: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter().any(|w| w.contains("\"b\"") && w.contains("second")),
        "{w:#?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("\"g\"") && w.contains("gateway router")),
        "{w:#?}"
    );
    assert!(
        w.iter().any(|w| w.contains("\"c\"") && w.contains("cr-c")),
        "{w:#?}"
    );
    assert!(w.iter().any(|w| w.contains("u-nothing")), "{w:#?}");
    let pbs = &out.southbound.port_bindings;
    assert_eq!(pbs["cr-a"].port_type, "chassisredirect");
    assert!(!pbs.contains_key("cr-b") && !pbs.contains_key("cr-g"));
    assert_eq!(pbs["cr-c"].port_type, "", "the switch port keeps its binding");
    // A gateway port whose only gateway chassis is missing still redirects (to no chassis).
    assert_eq!(out.southbound.ha_chassis_groups["d"].chassis, vec![]);
    assert_eq!(pbs["g"].port_type, "l3gateway");
}

#[test]
fn router_policies_that_cannot_route_are_reported_and_skipped() {
    let mut nb = nb_with_router_port();
    let policy = |priority: i64, action: &str, nexthops: &[&str]| RouterPolicy {
        priority,
        match_: format!("ip4.dst == 10.{priority}.0.0/16"),
        action: action.into(),
        nexthops: nexthops.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    nb.router_policies
        .insert("p1".into(), policy(1, "reroute", &["10.0.0.5"]));
    nb.router_policies
        .insert("p2".into(), policy(2, "reroute", &["192.168.9.9"]));
    nb.router_policies
        .insert("p3".into(), policy(3, "reroute", &["10.0.0.6", "fd00::6"]));
    nb.router_policies
        .insert("p4".into(), policy(4, "reroute", &["10.0.0.6", "10.9.9.9"]));
    nb.router_policies.insert("p5".into(), policy(5, "reroute", &[]));
    nb.router_policies.insert("p6".into(), policy(6, "drop", &[]));
    nb.routers.insert(
        "u-lr".into(),
        LogicalRouter {
            name: "lr".into(),
            ports: vec!["u-lrp".into()],
            policies: ["p1", "p2", "p3", "p4", "p5", "p6", "p7"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        },
    );
    let out = translate(&nb, &SbContext::default());
    let w: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 5, "{w:#?}");
    assert!(
        w.iter()
            .any(|w| w.contains("192.168.9.9") && w.contains("router policy ignored"))
    );
    assert!(w.iter().any(|w| w.contains("different address families")));
    assert!(w.iter().any(|w| w.contains("10.9.9.9")));
    assert!(w.iter().any(|w| w.contains("without a next hop")));
    assert!(w.iter().any(|w| w.contains("p7")));
    let policies: Vec<&LogicalFlow> = out
        .southbound
        .logical_flows
        .iter()
        .filter(|f| f.stage == Stage::LrInPolicy && f.priority != 0)
        .collect();
    let prios: std::collections::BTreeSet<u16> = policies.iter().map(|f| f.priority).collect();
    assert_eq!(prios, std::collections::BTreeSet::from([1, 6]), "{policies:#?}");
    assert!(
        out.southbound
            .logical_flows
            .iter()
            .all(|f| f.stage != Stage::LrInPolicyEcmp || f.priority != 100),
        "a skipped ECMP policy left member flows"
    );
}
