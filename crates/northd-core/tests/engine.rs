//! The incremental engine must produce exactly what a full translation produces, after
//! any sequence of NB changes. Changes are drawn from a deterministic PRNG, starting from
//! the richest golden fixture.

mod common;

use common::*;
use northd_core::*;

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() {
            None
        } else {
            Some(&v[self.below(v.len())])
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Mutator {
    rng: Rng,
    counter: u32,
}

impl Mutator {
    fn uuid(&mut self) -> String {
        self.counter += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.counter)
    }

    fn mac(&mut self) -> String {
        format!(
            "02:00:00:{:02x}:{:02x}:{:02x}",
            self.rng.below(4),
            self.rng.below(256),
            self.rng.below(256)
        )
    }

    fn ip(&mut self) -> String {
        format!("172.16.{}.{}", 250 + self.rng.below(6), 2 + self.rng.below(250))
    }

    fn address(&mut self) -> String {
        match self.rng.below(10) {
            0 => "unknown".into(),
            1 => "02:zz:00:00:00:01 10.0.0.1".into(), // malformed MAC
            2 => format!("{} 300.1.2.3", self.mac()), // malformed IP
            3 => format!("{} {} fd00::{:x}", self.mac(), self.ip(), self.rng.below(4096)),
            _ => format!("{} {}", self.mac(), self.ip()),
        }
    }

    fn acl(&mut self) -> Acl {
        let action = ["allow", "allow-related", "allow-stateless", "drop", "reject"][self.rng.below(5)];
        let direction = if self.rng.chance(50) {
            "from-lport"
        } else {
            "to-lport"
        };
        let match_ = ["ip4", "ip4 && tcp.dst == 22", "ip4.src == $as_mgmt", "arp", "ip"][self.rng.below(5)];
        let mut acl = Acl {
            direction: direction.into(),
            priority: self.rng.below(32768) as i64,
            match_: match_.into(),
            action: action.into(),
            ..Default::default()
        };
        if self.rng.chance(20) {
            acl.log = true;
            acl.name = Some(format!("acl{}", self.counter));
            acl.label = 1 + self.rng.below(100) as i64;
            acl.options.insert("log-related".into(), "true".into());
        }
        if self.rng.chance(10) {
            acl.options.insert("apply-after-lb".into(), "true".into());
        }
        acl
    }

    fn mutate(&mut self, nb: &mut Northbound, ctx: &mut SbContext) {
        let switches: Vec<String> = nb.switches.keys().cloned().collect();
        let routers: Vec<String> = nb.routers.keys().cloned().collect();
        let lsps: Vec<String> = nb.switch_ports.keys().cloned().collect();
        let lrps: Vec<String> = nb.router_ports.keys().cloned().collect();
        let lbs: Vec<String> = nb.load_balancers.keys().cloned().collect();
        let pgs: Vec<String> = nb.port_groups.keys().cloned().collect();
        let acls: Vec<String> = nb.acls.keys().cloned().collect();
        let nats: Vec<String> = nb.nats.keys().cloned().collect();
        let dhcps: Vec<String> = nb.dhcp_options.keys().cloned().collect();
        let gcs: Vec<String> = nb.gateway_chassis.keys().cloned().collect();
        let has: Vec<String> = nb.ha_chassis.keys().cloned().collect();
        let policies: Vec<String> = nb.router_policies.keys().cloned().collect();
        let groups: Vec<String> = nb.load_balancer_groups.keys().cloned().collect();
        let qos: Vec<String> = nb.qos.keys().cloned().collect();
        match self.rng.below(35) {
            0 => {
                let u = self.uuid();
                nb.switches.insert(
                    u.clone(),
                    LogicalSwitch {
                        name: format!("sw{}", self.counter),
                        ..Default::default()
                    },
                );
            }
            1 => {
                if let Some(s) = self.rng.pick(&switches).cloned() {
                    nb.switches.remove(&s);
                }
            }
            2 | 3 => {
                if let Some(s) = self.rng.pick(&switches).cloned() {
                    let u = self.uuid();
                    let mut lsp = LogicalSwitchPort {
                        name: format!("p{}", self.counter),
                        addresses: vec![self.address()],
                        ..Default::default()
                    };
                    if self.rng.chance(40) {
                        lsp.port_security = lsp.addresses.clone();
                    }
                    if self.rng.chance(10) {
                        lsp.port_type = "localnet".into();
                        lsp.addresses = vec!["unknown".into()];
                        lsp.options.insert("network_name".into(), "phys".into());
                    }
                    nb.switch_ports.insert(u.clone(), lsp);
                    nb.switches.get_mut(&s).unwrap().ports.push(u);
                }
            }
            4 => {
                if let Some(p) = self.rng.pick(&lsps).cloned() {
                    nb.switch_ports.remove(&p);
                    for s in nb.switches.values_mut() {
                        s.ports.retain(|x| x != &p);
                    }
                    // Port_Group.ports is a weak reference.
                    for g in nb.port_groups.values_mut() {
                        g.ports.retain(|x| x != &p);
                    }
                }
            }
            5 => {
                if let Some(p) = self.rng.pick(&lsps).cloned() {
                    let a = self.address();
                    let lsp = nb.switch_ports.get_mut(&p).unwrap();
                    if lsp.port_type.is_empty() {
                        lsp.addresses = vec![a];
                    }
                }
            }
            6 => {
                if let Some(p) = self.rng.pick(&lsps).cloned() {
                    let e = self.rng.chance(50);
                    nb.switch_ports.get_mut(&p).unwrap().enabled = Some(e);
                }
            }
            7 => {
                // New router connected to an existing switch.
                if let Some(s) = self.rng.pick(&switches).cloned() {
                    let lr = self.uuid();
                    let lrp = self.uuid();
                    let lsp = self.uuid();
                    let n = self.counter;
                    let mac = self.mac();
                    nb.router_ports.insert(
                        lrp.clone(),
                        LogicalRouterPort {
                            name: format!("rp{n}"),
                            mac,
                            networks: vec![format!("172.16.{}.1/24", 250 + self.rng.below(6))],
                            ..Default::default()
                        },
                    );
                    nb.routers.insert(
                        lr,
                        LogicalRouter {
                            name: format!("r{n}"),
                            ports: vec![lrp],
                            ..Default::default()
                        },
                    );
                    let mut opts = Map::new();
                    opts.insert("router-port".into(), format!("rp{n}"));
                    nb.switch_ports.insert(
                        lsp.clone(),
                        LogicalSwitchPort {
                            name: format!("sp{n}"),
                            port_type: "router".into(),
                            addresses: vec!["router".into()],
                            options: opts,
                            ..Default::default()
                        },
                    );
                    nb.switches.get_mut(&s).unwrap().ports.push(lsp);
                }
            }
            8 => {
                if let Some(p) = self.rng.pick(&lrps).cloned() {
                    let mac = self.mac();
                    let net = match self.rng.below(4) {
                        0 => "not-a-cidr".to_string(),
                        _ => format!("172.16.{}.1/24", 250 + self.rng.below(6)),
                    };
                    let lrp = nb.router_ports.get_mut(&p).unwrap();
                    lrp.mac = mac;
                    lrp.networks = vec![net];
                }
            }
            9 => {
                // Deleting a router port; half the time its switch-side peer is left
                // dangling (a CMS that forgot it), else deleted with it.
                if let Some(p) = self.rng.pick(&lrps).cloned() {
                    let name = nb.router_ports.remove(&p).map(|l| l.name).unwrap_or_default();
                    for r in nb.routers.values_mut() {
                        r.ports.retain(|x| x != &p);
                    }
                    if self.rng.chance(50) {
                        let peers: Vec<String> = nb
                            .switch_ports
                            .iter()
                            .filter(|(_, l)| l.options.get("router-port") == Some(&name))
                            .map(|(u, _)| u.clone())
                            .collect();
                        for u in peers {
                            nb.switch_ports.remove(&u);
                            for s in nb.switches.values_mut() {
                                s.ports.retain(|x| x != &u);
                            }
                            for g in nb.port_groups.values_mut() {
                                g.ports.retain(|x| x != &u);
                            }
                        }
                    }
                }
            }
            10 => {
                if let Some(r) = self.rng.pick(&routers).cloned() {
                    let u = self.uuid();
                    nb.static_routes.insert(
                        u.clone(),
                        StaticRoute {
                            ip_prefix: format!("10.{}.0.0/16", self.rng.below(4)),
                            nexthop: self.ip(),
                            ..Default::default()
                        },
                    );
                    nb.routers.get_mut(&r).unwrap().static_routes.push(u);
                }
            }
            11 => {
                if let Some(r) = self.rng.pick(&routers).cloned() {
                    let lr = nb.routers.get_mut(&r).unwrap();
                    if lr.options.remove("chassis").is_none() {
                        lr.options.insert("chassis".into(), "hv1".into());
                    }
                }
            }
            12 => {
                let u = self.uuid();
                let mut lb = LoadBalancer {
                    name: format!("lb{}", self.counter),
                    ..Default::default()
                };
                let backends = if self.rng.chance(20) {
                    "bogus:80".to_string()
                } else {
                    format!("{}:80,{}:80", self.ip(), self.ip())
                };
                lb.vips
                    .insert(format!("172.16.{}.200:80", 250 + self.rng.below(6)), backends);
                nb.load_balancers.insert(u.clone(), lb);
                if self.rng.chance(50) {
                    if let Some(s) = self.rng.pick(&switches).cloned() {
                        nb.switches.get_mut(&s).unwrap().load_balancers.push(u);
                    }
                } else if let Some(r) = self.rng.pick(&routers).cloned() {
                    nb.routers.get_mut(&r).unwrap().load_balancers.push(u);
                }
            }
            13 => {
                if let Some(l) = self.rng.pick(&lbs).cloned() {
                    let ip = self.ip();
                    let lb = nb.load_balancers.get_mut(&l).unwrap();
                    if let Some(v) = lb.vips.values_mut().next() {
                        *v = format!("{ip}:8080");
                    }
                }
            }
            14 => {
                if let Some(l) = self.rng.pick(&lbs).cloned() {
                    nb.load_balancers.remove(&l);
                    // The `load_balancer` columns are weak references.
                    for s in nb.switches.values_mut() {
                        s.load_balancers.retain(|x| x != &l);
                    }
                    for r in nb.routers.values_mut() {
                        r.load_balancers.retain(|x| x != &l);
                    }
                    for g in nb.load_balancer_groups.values_mut() {
                        g.load_balancers.retain(|x| x != &l);
                    }
                }
            }
            15 => {
                // A new ACL on a switch or a port group.
                let u = self.uuid();
                let acl = self.acl();
                let on_pg = self.rng.chance(60);
                if on_pg && let Some(g) = self.rng.pick(&pgs).cloned() {
                    nb.port_groups.get_mut(&g).unwrap().acls.push(u.clone());
                    nb.acls.insert(u, acl);
                } else if let Some(s) = self.rng.pick(&switches).cloned() {
                    nb.switches.get_mut(&s).unwrap().acls.push(u.clone());
                    nb.acls.insert(u, acl);
                }
            }
            16 => {
                if let Some(a) = self.rng.pick(&acls).cloned() {
                    let fresh = self.acl();
                    let acl = nb.acls.get_mut(&a).unwrap();
                    if self.rng.chance(50) {
                        acl.action = fresh.action;
                    } else {
                        acl.match_ = fresh.match_;
                    }
                }
            }
            17 => {
                if let Some(a) = self.rng.pick(&acls).cloned() {
                    nb.acls.remove(&a);
                    for s in nb.switches.values_mut() {
                        s.acls.retain(|x| x != &a);
                    }
                    for g in nb.port_groups.values_mut() {
                        g.acls.retain(|x| x != &a);
                    }
                }
            }
            18 => {
                // Port group membership: join a port, leave one, or a new group.
                match (self.rng.pick(&pgs).cloned(), self.rng.pick(&lsps).cloned()) {
                    (Some(g), Some(p)) if self.rng.chance(70) => {
                        let pg = nb.port_groups.get_mut(&g).unwrap();
                        if let Some(i) = pg.ports.iter().position(|x| x == &p) {
                            pg.ports.remove(i);
                        } else {
                            pg.ports.push(p);
                        }
                    }
                    (_, p) => {
                        let u = self.uuid();
                        let a = self.uuid();
                        nb.acls.insert(a.clone(), self.acl());
                        nb.port_groups.insert(
                            u,
                            PortGroup {
                                name: format!("pg{}", self.counter),
                                ports: p.into_iter().collect(),
                                acls: vec![a],
                            },
                        );
                    }
                }
            }
            19 => {
                // A NAT rule (some malformed) on a router.
                if let Some(r) = self.rng.pick(&routers).cloned() {
                    let u = self.uuid();
                    let kind = ["snat", "dnat", "dnat_and_snat", "bogus"][self.rng.below(4)];
                    let logical = match self.rng.below(4) {
                        0 => format!("172.16.{}.0/24", 250 + self.rng.below(6)),
                        1 => "not-an-ip".to_string(),
                        _ => self.ip(),
                    };
                    let mut nat = Nat {
                        nat_type: kind.into(),
                        external_ip: format!("10.0.0.{}", 1 + self.rng.below(8)),
                        logical_ip: logical,
                        ..Default::default()
                    };
                    if self.rng.chance(20) {
                        nat.options.insert("stateless".into(), "true".into());
                    }
                    nb.nats.insert(u.clone(), nat);
                    nb.routers.get_mut(&r).unwrap().nat.push(u);
                }
            }
            20 => {
                if let Some(n) = self.rng.pick(&nats).cloned() {
                    nb.nats.remove(&n);
                    for r in nb.routers.values_mut() {
                        r.nat.retain(|x| x != &n);
                    }
                }
            }
            21 => {
                // Native DHCP for a port: a new options row (sometimes incomplete) or a
                // shared one.
                if let Some(p) = self.rng.pick(&lsps).cloned() {
                    let d = match self.rng.pick(&dhcps).cloned() {
                        Some(d) if self.rng.chance(50) => d,
                        _ => {
                            let u = self.uuid();
                            let mut o = DhcpOptions {
                                cidr: format!("172.16.{}.0/24", 250 + self.rng.below(6)),
                                ..Default::default()
                            };
                            for (k, v) in [
                                ("server_id", "172.16.250.1"),
                                ("server_mac", "02:00:00:00:00:01"),
                                ("lease_time", "3600"),
                                ("router", "172.16.250.1"),
                            ] {
                                if self.rng.chance(90) {
                                    o.options.insert(k.into(), v.into());
                                }
                            }
                            nb.dhcp_options.insert(u.clone(), o);
                            u
                        }
                    };
                    nb.switch_ports.get_mut(&p).unwrap().dhcpv4_options = Some(d);
                }
            }
            22 => {
                if let Some(d) = self.rng.pick(&dhcps).cloned() {
                    let t = (60 * (1 + self.rng.below(100))).to_string();
                    nb.dhcp_options
                        .get_mut(&d)
                        .unwrap()
                        .options
                        .insert("lease_time".into(), t);
                }
            }
            23 => {
                // Make a router port a distributed gateway port (or add a chassis to one),
                // or take its gateway chassis away.
                if let Some(p) = self.rng.pick(&lrps).cloned() {
                    let lrp = nb.router_ports.get_mut(&p).unwrap();
                    if !lrp.gateway_chassis.is_empty() && self.rng.chance(40) {
                        for g in std::mem::take(&mut lrp.gateway_chassis) {
                            nb.gateway_chassis.remove(&g);
                        }
                    } else {
                        let u = self.uuid();
                        let ch = ["hv1", "hv2", "hv3"][self.rng.below(3)];
                        lrp.gateway_chassis.push(u.clone());
                        nb.gateway_chassis.insert(
                            u,
                            GatewayChassis {
                                name: format!("{}-{ch}", lrp.name),
                                chassis_name: ch.into(),
                                priority: self.rng.below(30) as i64,
                            },
                        );
                    }
                }
            }
            24 => {
                // Move a gateway chassis' priority: only the Gateway_Chassis row changes.
                if let Some(g) = self.rng.pick(&gcs).cloned() {
                    nb.gateway_chassis.get_mut(&g).unwrap().priority = self.rng.below(30) as i64;
                }
            }
            25 => {
                // A distributed floating IP (logical_port + external_mac).
                if let (Some(r), Some(p)) = (self.rng.pick(&routers).cloned(), self.rng.pick(&lsps).cloned())
                {
                    let u = self.uuid();
                    let nat = Nat {
                        nat_type: "dnat_and_snat".into(),
                        external_ip: format!("10.0.0.{}", 20 + self.rng.below(8)),
                        logical_ip: self.ip(),
                        logical_port: Some(nb.switch_ports[&p].name.clone()),
                        external_mac: Some(format!("02:00:00:00:aa:{:02x}", self.rng.below(256))),
                        ..Default::default()
                    };
                    nb.nats.insert(u.clone(), nat);
                    nb.routers.get_mut(&r).unwrap().nat.push(u);
                }
            }
            26 => {
                // An HA chassis' priority in a group (only the HA_Chassis row changes).
                if let Some(h) = self.rng.pick(&has).cloned() {
                    nb.ha_chassis.get_mut(&h).unwrap().priority = self.rng.below(30) as i64;
                }
            }
            27 => {
                // A router policy: allow, drop, or reroute to one or two next hops.
                if let Some(r) = self.rng.pick(&routers).cloned() {
                    let u = self.uuid();
                    let (action, nexthops) = match self.rng.below(4) {
                        0 => ("allow", vec![]),
                        1 => ("drop", vec![]),
                        2 => ("reroute", vec![self.ip()]),
                        _ => ("reroute", vec![self.ip(), self.ip()]),
                    };
                    let mut p = RouterPolicy {
                        priority: self.rng.below(3) as i64 * 100,
                        match_: format!("ip4.dst == 10.{}.0.0/16", self.rng.below(4)),
                        action: action.into(),
                        nexthops,
                        ..Default::default()
                    };
                    if self.rng.chance(30) {
                        p.options.insert("pkt_mark".into(), "7".into());
                    }
                    nb.router_policies.insert(u.clone(), p);
                    nb.routers.get_mut(&r).unwrap().policies.push(u);
                }
            }
            28 => {
                // A policy's next hops change, or it goes away.
                if let Some(u) = self.rng.pick(&policies).cloned() {
                    if self.rng.chance(50) {
                        let ip = self.ip();
                        let p = nb.router_policies.get_mut(&u).unwrap();
                        p.action = "reroute".into();
                        p.nexthops.push(ip);
                    } else {
                        nb.router_policies.remove(&u);
                        for lr in nb.routers.values_mut() {
                            lr.policies.retain(|x| x != &u);
                        }
                    }
                }
            }
            29 => {
                // A load balancer group with one or two LBs, attached to a switch or router.
                let u = self.uuid();
                let mut g = LoadBalancerGroup {
                    name: format!("lbg{}", self.counter),
                    ..Default::default()
                };
                for _ in 0..2 {
                    if let Some(lb) = self.rng.pick(&lbs).cloned()
                        && !g.load_balancers.contains(&lb)
                    {
                        g.load_balancers.push(lb);
                    }
                }
                nb.load_balancer_groups.insert(u.clone(), g);
                if self.rng.chance(50) {
                    if let Some(ls) = self.rng.pick(&switches).cloned() {
                        nb.switches.get_mut(&ls).unwrap().load_balancer_groups.push(u);
                    }
                } else if let Some(lr) = self.rng.pick(&routers).cloned() {
                    nb.routers.get_mut(&lr).unwrap().load_balancer_groups.push(u);
                }
            }
            30 => {
                // A group gains or loses a load balancer (only the group row changes).
                if let Some(g) = self.rng.pick(&groups).cloned()
                    && let Some(lb) = self.rng.pick(&lbs).cloned()
                {
                    let g = nb.load_balancer_groups.get_mut(&g).unwrap();
                    match g.load_balancers.iter().position(|x| *x == lb) {
                        Some(i) => {
                            g.load_balancers.remove(i);
                        }
                        None => g.load_balancers.push(lb),
                    }
                }
            }
            31 => {
                // Force SNAT options on a router: router_ip, addresses, or none.
                if let Some(r) = self.rng.pick(&routers).cloned() {
                    let ip = self.ip();
                    let lr = nb.routers.get_mut(&r).unwrap();
                    match self.rng.below(4) {
                        0 => lr.options.insert("lb_force_snat_ip".into(), "router_ip".into()),
                        1 => lr
                            .options
                            .insert("lb_force_snat_ip".into(), format!("{ip} fd00::60")),
                        2 => lr.options.insert("dnat_force_snat_ip".into(), ip),
                        _ => {
                            lr.options.remove("dnat_force_snat_ip");
                            lr.options.remove("lb_force_snat_ip")
                        }
                    };
                }
            }
            32 => {
                // A QoS rule on a switch: DSCP, a rate, or both.
                if let Some(ls) = self.rng.pick(&switches).cloned() {
                    let u = self.uuid();
                    let mut q = Qos {
                        direction: if self.rng.chance(50) {
                            "from-lport"
                        } else {
                            "to-lport"
                        }
                        .into(),
                        priority: self.rng.below(3) as i64 * 1000,
                        match_: format!("ip4.dst == {}", self.ip()),
                        ..Default::default()
                    };
                    if self.rng.chance(60) {
                        q.action.insert("dscp".into(), self.rng.below(64) as i64);
                    }
                    if q.action.is_empty() || self.rng.chance(50) {
                        q.bandwidth.insert("rate".into(), 1 + self.rng.below(1000) as i64);
                    }
                    nb.qos.insert(u.clone(), q);
                    nb.switches.get_mut(&ls).unwrap().qos_rules.push(u);
                }
            }
            33 => {
                // A QoS rule's DSCP changes, or it goes away.
                if let Some(u) = self.rng.pick(&qos).cloned() {
                    if self.rng.chance(50) {
                        let d = self.rng.below(64) as i64;
                        nb.qos.get_mut(&u).unwrap().action.insert("dscp".into(), d);
                    } else {
                        nb.qos.remove(&u);
                        for ls in nb.switches.values_mut() {
                            ls.qos_rules.retain(|x| x != &u);
                        }
                    }
                }
            }
            _ => {
                // Flip a chassis feature flag: changes flows on every datapath.
                if let Some(ch) = ctx.chassis.first_mut() {
                    let v = ch.other_config.entry("ct-no-masked-label".into()).or_default();
                    *v = if v == "true" {
                        "false".into()
                    } else {
                        "true".into()
                    };
                }
            }
        }
    }
}

#[test]
fn incremental_matches_full_after_random_changes() {
    let sb_json = fixture("seed8-sb.json");
    let mut nb = load_nb(&fixture("seed8-nb.json"));
    let mut ctx = load_ctx(&sb_json, true);
    let mut engine = Engine::new();
    let mut m = Mutator {
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        counter: 0,
    };
    let first = engine.update(&nb, &ctx).clone();
    assert_eq!(first, translate(&nb, &ctx));
    let mut partial_updates = 0;
    for step in 0..300 {
        let changes = 1 + m.rng.below(3);
        for _ in 0..changes {
            m.mutate(&mut nb, &mut ctx);
        }
        let full = translate(&nb, &ctx);
        let inc = engine.update(&nb, &ctx);
        assert_eq!(inc.warnings, full.warnings, "step {step}");
        if inc.southbound != full.southbound {
            let d = diff(&full.southbound, &inc.southbound);
            panic!("step {step}: incremental differs from full: {d:#?}");
        }
        let s = engine.stats();
        if s.reused > 0 {
            partial_updates += 1;
        }
        // Keys stay stable across steps, as the daemon would feed them back.
        remember_keys(&mut ctx, &full.southbound);
    }
    assert!(
        partial_updates > 200,
        "engine rarely reused work: {partial_updates}"
    );
}

#[test]
fn unchanged_snapshot_recomputes_nothing() {
    let sb_json = fixture("seed4-sb.json");
    let nb = load_nb(&fixture("seed4-nb.json"));
    let ctx = load_ctx(&sb_json, true);
    let mut engine = Engine::new();
    engine.update(&nb, &ctx);
    let before = engine.output().clone();
    engine.update(&nb, &ctx);
    assert_eq!(engine.stats().recomputed, 0);
    assert_eq!(engine.output(), &before);
    assert!(diff(&before.southbound, &engine.output().southbound).is_empty());
}

#[test]
fn single_port_change_touches_only_its_sources() {
    let sb_json = fixture("seed4-sb.json");
    let mut nb = load_nb(&fixture("seed4-nb.json"));
    let ctx = load_ctx(&sb_json, true);
    let mut engine = Engine::new();
    let before = engine.update(&nb, &ctx).southbound.clone();
    let vm1 = nb.switch_ports.values_mut().find(|p| p.name == "vm1").unwrap();
    vm1.addresses = vec!["02:ac:10:ff:00:11 172.16.255.111".into()];
    let after = engine.update(&nb, &ctx).southbound.clone();
    assert_eq!(engine.stats().recomputed, 1, "{:?}", engine.stats());
    let d = diff(&before, &after);
    // ARP responder pair + lr1's arp_resolve entry, old and new.
    assert_eq!(d.logical_flows.insert.len(), 3, "{d:#?}");
    assert_eq!(d.logical_flows.delete.len(), 3, "{d:#?}");
    assert_eq!(d.port_bindings.update.len(), 1);
    assert!(d.datapaths.is_empty() && d.multicast_groups.is_empty());
}

fn changed_keys<V: PartialEq>(
    old: &std::collections::BTreeMap<String, V>,
    new: &std::collections::BTreeMap<String, V>,
) -> std::collections::BTreeSet<String> {
    let mut out: std::collections::BTreeSet<String> = old
        .iter()
        .filter(|(k, v)| new.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(new.keys().filter(|k| !old.contains_key(*k)).cloned());
    out
}

fn nb_changes(old: &Northbound, new: &Northbound, old_ctx: &SbContext, ctx: &SbContext) -> NbChanges {
    NbChanges {
        switches: changed_keys(&old.switches, &new.switches),
        switch_ports: changed_keys(&old.switch_ports, &new.switch_ports),
        routers: changed_keys(&old.routers, &new.routers),
        router_ports: changed_keys(&old.router_ports, &new.router_ports),
        static_routes: changed_keys(&old.static_routes, &new.static_routes),
        router_policies: changed_keys(&old.router_policies, &new.router_policies),
        nats: changed_keys(&old.nats, &new.nats),
        dhcp_options: changed_keys(&old.dhcp_options, &new.dhcp_options),
        load_balancers: changed_keys(&old.load_balancers, &new.load_balancers),
        load_balancer_groups: changed_keys(&old.load_balancer_groups, &new.load_balancer_groups),
        named_sets: old.address_sets != new.address_sets || old.port_groups != new.port_groups,
        port_groups: changed_keys(&old.port_groups, &new.port_groups),
        acls: changed_keys(&old.acls, &new.acls),
        qos: changed_keys(&old.qos, &new.qos),
        context: old_ctx.chassis != ctx.chassis || old_ctx.sb_global_options != ctx.sb_global_options,
        gateway_chassis: old.gateway_chassis != new.gateway_chassis
            || old.ha_chassis_groups != new.ha_chassis_groups
            || old.ha_chassis != new.ha_chassis,
    }
}

/// Applies a delta to a previous output (what the daemon does to the SB).
fn apply(sb: &mut Southbound, d: &SbDiff) {
    fn table<K: Ord + Clone, V: Clone>(
        m: &mut std::collections::BTreeMap<K, V>,
        t: &northd_core::diff::TableDiff<K, V>,
    ) {
        for k in &t.delete {
            m.remove(k);
        }
        for (k, v) in t.insert.iter().chain(&t.update) {
            m.insert(k.clone(), v.clone());
        }
    }
    if let Some((cfg, opts, ipsec)) = &d.sb_global {
        sb.nb_cfg = *cfg;
        sb.options = opts.clone();
        sb.ipsec = *ipsec;
    }
    table(&mut sb.datapaths, &d.datapaths);
    table(&mut sb.port_bindings, &d.port_bindings);
    table(&mut sb.multicast_groups, &d.multicast_groups);
    table(&mut sb.load_balancers, &d.load_balancers);
    table(&mut sb.address_sets, &d.address_sets);
    table(&mut sb.port_groups, &d.port_groups);
    table(&mut sb.ha_chassis_groups, &d.ha_chassis_groups);
    for f in &d.logical_flows.delete {
        assert!(sb.logical_flows.remove(f), "deleted flow was not there: {f:?}");
    }
    for f in &d.logical_flows.insert {
        assert!(
            sb.logical_flows.insert(f.clone()),
            "inserted flow was there: {f:?}"
        );
    }
}

#[test]
fn change_driven_updates_match_full_after_random_changes() {
    for seed in [
        "seed4", "seed7", "seed8", "seed9", "seed10", "seed11", "seed12", "seed13", "seed15", "seed16",
        "seed17", "seed18", "seed19", "seed20", "seed21", "seed22", "seed23",
    ] {
        let local = change_driven_run(seed);
        eprintln!("{seed}: {local} local updates of 400");
        assert!(local > 0, "{seed}: no local updates");
    }
}

fn change_driven_run(seed: &str) -> usize {
    let sb_json = fixture(&format!("{seed}-sb.json"));
    let mut nb = load_nb(&fixture(&format!("{seed}-nb.json")));
    let mut ctx = load_ctx(&sb_json, true);
    let mut engine = Engine::new();
    let mut m = Mutator {
        rng: Rng(0x1234_5678_9abc_def1),
        counter: 0,
    };
    let mut applied = engine.update(&nb, &ctx).southbound.clone();
    remember_keys(&mut ctx, &applied);
    let mut local = 0;
    for step in 0..400 {
        let (old_nb, old_ctx) = (nb.clone(), ctx.clone());
        for _ in 0..1 + m.rng.below(2) {
            m.mutate(&mut nb, &mut ctx);
        }
        if m.rng.chance(30) {
            nb.nb_global.nb_cfg += 1;
        }
        let ch = nb_changes(&old_nb, &nb, &old_ctx, &ctx);
        let full = translate(&nb, &ctx);
        match engine.update_changed(&nb, &ctx, &ch) {
            Delta::Full => applied = engine.output().southbound.clone(),
            Delta::Changes(d) => {
                local += 1;
                apply(&mut applied, &d);
            }
        }
        if engine.output().southbound != full.southbound {
            let d = diff(&full.southbound, &engine.output().southbound);
            panic!("step {step}: change-driven output differs from full: {d:#?}");
        }
        if applied != full.southbound {
            let d = diff(&full.southbound, &applied);
            panic!("step {step}: applied delta differs from full: {d:#?}");
        }
        remember_keys(&mut ctx, &full.southbound);
    }
    local
}

#[test]
fn a_vif_port_on_a_routed_switch_leaves_the_router_alone() {
    let sb_json = fixture("seed4-sb.json");
    let mut nb = load_nb(&fixture("seed4-nb.json"));
    let ctx = load_ctx(&sb_json, true);
    let mut engine = Engine::new();
    engine.update(&nb, &ctx);
    let (ls_uuid, ls) = nb
        .switches
        .iter()
        .find(|(_, ls)| {
            ls.ports
                .iter()
                .any(|p| nb.switch_ports.get(p).is_some_and(|l| l.port_type == "router"))
        })
        .map(|(u, ls)| (u.clone(), ls.clone()))
        .expect("seed4 has a switch attached to a router");
    let port = "00000000-0000-4000-8000-00000000beef".to_string();
    nb.switch_ports.insert(
        port.clone(),
        LogicalSwitchPort {
            name: "new-vif".into(),
            addresses: vec!["02:00:00:00:be:ef 172.16.255.250".into()],
            ..Default::default()
        },
    );
    nb.switches.get_mut(&ls_uuid).unwrap().ports.push(port.clone());
    let ch = NbChanges {
        switches: [ls_uuid.clone()].into(),
        switch_ports: [port].into(),
        ..Default::default()
    };
    let Delta::Changes(_) = engine.update_changed(&nb, &ctx, &ch) else {
        panic!("a new port on an existing switch is a local change");
    };
    assert_eq!(engine.output().southbound, translate(&nb, &ctx).southbound);
    // The switch, its ports (one new) and its load balancers; nothing of the router.
    let lbs = ls
        .load_balancers
        .iter()
        .filter(|l| nb.load_balancers.contains_key(*l))
        .count();
    let s = engine.stats();
    assert_eq!(s.recomputed + s.reused, 1 + ls.ports.len() + 1 + lbs, "{s:?}");
}
