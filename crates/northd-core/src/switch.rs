//! Logical switch flows: the per-switch pipeline skeleton (admission, conntrack hooks for
//! load balancing, ACL defaults, L2 lookup defaults) and the per-port flows (L2 lookup,
//! ARP/ND responder, FDB learning, router-port handling, `arp_resolve` entries that a
//! switch port contributes to the routers attached to its switch).

use std::net::IpAddr;

use crate::addresses::{Mac, set_or_single, solicited_node};
use crate::flows::{FlowBuilder, Stage, quoted};
use crate::model::sb::LogicalFlow;
use crate::topology::{SwitchPortView, SwitchView};

pub(crate) fn switch_flows(v: &SwitchView) -> Vec<LogicalFlow> {
    let mut f = FlowBuilder::new(&v.uuid);
    let g = &v.globals;
    let lb = v.has_lb_vip;
    let blocked = if g.ct_lb_mark {
        "ct_mark.blocked"
    } else {
        "ct_label.blocked"
    };
    let ct_lb = if g.ct_lb_mark { "ct_lb_mark;" } else { "ct_lb;" };

    // Admission and port security (the checks themselves run in the controller).
    if !v.vlan_passthru {
        f.add(Stage::LsInCheckPortSec, 100, "vlan.present", "drop;");
    }
    f.add(Stage::LsInCheckPortSec, 100, "eth.src[40]", "drop;");
    f.add(
        Stage::LsInCheckPortSec,
        50,
        "1",
        "reg0[15] = check_in_port_sec(); next;",
    );
    f.add(Stage::LsInApplyPortSec, 50, "reg0[15] == 1", "drop;");
    f.add(Stage::LsInApplyPortSec, 0, "1", "next;");
    f.add(Stage::LsInLookupFdb, 0, "1", "next;");
    f.add(Stage::LsInPutFdb, 0, "1", "next;");

    // Pre-LB.
    for s in [Stage::LsInPreLb, Stage::LsOutPreLb] {
        f.add(s, 110, "eth.mcast", "next;");
        f.add(s, 110, "nd || nd_rs || nd_ra || mldv1 || mldv2", "next;");
        f.add(s, 110, "reg0[16] == 1", "next;");
        f.add(s, 0, "1", "next;");
        if lb {
            f.add(s, 100, "ip", "reg0[2] = 1; next;");
        }
    }
    f.add(Stage::LsInPreLb, 110, "eth.dst == $svc_monitor_mac", "next;");
    f.add(Stage::LsOutPreLb, 110, "eth.src == $svc_monitor_mac", "next;");

    // Pre-stateful.
    for s in [Stage::LsInPreStateful, Stage::LsOutPreStateful] {
        f.add(s, 0, "1", "next;");
        f.add(s, 110, "reg0[2] == 1", ct_lb);
        f.add(s, 100, "reg0[0] == 1", "ct_next;");
    }

    crate::acl::acl_flows(v, &mut f);

    // QoS: DSCP marking, then a meter per rate-limited rule.
    for s in [
        Stage::LsInQosMark,
        Stage::LsInQosMeter,
        Stage::LsOutQosMark,
        Stage::LsOutQosMeter,
    ] {
        f.add(s, 0, "1", "next;");
    }
    for q in &v.qos {
        let (mark, meter) = if q.ingress {
            (Stage::LsInQosMark, Stage::LsInQosMeter)
        } else {
            (Stage::LsOutQosMark, Stage::LsOutQosMeter)
        };
        if let Some(d) = q.dscp {
            f.add(
                mark,
                q.priority,
                q.match_.clone(),
                format!("ip.dscp = {d}; next;"),
            );
        }
        if q.rate != 0 {
            let action = if q.burst != 0 {
                format!("set_meter({}, {}); next;", q.rate, q.burst)
            } else {
                format!("set_meter({}); next;", q.rate)
            };
            f.add(meter, q.priority, q.match_.clone(), action);
        }
    }

    // LB and stateful.
    f.add(Stage::LsInLbAffCheck, 0, "1", "next;");
    f.add(Stage::LsInLbAffLearn, 0, "1", "next;");
    f.add(Stage::LsInLb, 0, "1", "next;");
    for s in [Stage::LsInStateful, Stage::LsOutStateful] {
        f.add(s, 0, "1", "next;");
        f.add(
            s,
            100,
            "reg0[1] == 1 && reg0[13] == 1",
            format!("ct_commit {{ {blocked} = 0; ct_label.label = reg3; }}; next;"),
        );
        f.add(
            s,
            100,
            "reg0[1] == 1 && reg0[13] == 0",
            format!("ct_commit {{ {blocked} = 0; }}; next;"),
        );
    }

    // Hairpin.
    f.add(Stage::LsInPreHairpin, 0, "1", "next;");
    f.add(Stage::LsInNatHairpin, 0, "1", "next;");
    f.add(Stage::LsInHairpin, 0, "1", "next;");
    if lb {
        f.add(
            Stage::LsInPreHairpin,
            100,
            "ip && ct.trk",
            "reg0[6] = chk_lb_hairpin(); reg0[12] = chk_lb_hairpin_reply(); next;",
        );
        f.add(
            Stage::LsInNatHairpin,
            100,
            "ip && ct.new && ct.trk && reg0[6] == 1",
            "ct_snat_to_vip; next;",
        );
        f.add(
            Stage::LsInNatHairpin,
            100,
            "ip && ct.est && ct.trk && reg0[6] == 1",
            "ct_snat;",
        );
        f.add(Stage::LsInNatHairpin, 90, "ip && reg0[12] == 1", "ct_snat;");
        f.add(
            Stage::LsInHairpin,
            1,
            "(reg0[6] == 1 || reg0[12] == 1)",
            "eth.dst <-> eth.src; outport = inport; flags.loopback = 1; output;",
        );
    }

    // ARP/ND responder, DHCP, DNS, external ports: defaults.
    for s in [
        Stage::LsInArpRsp,
        Stage::LsInDhcpOptions,
        Stage::LsInDhcpResponse,
        Stage::LsInDnsLookup,
        Stage::LsInDnsResponse,
        Stage::LsInExternalPort,
    ] {
        f.add(s, 0, "1", "next;");
    }

    // Destination lookup.
    f.add(
        Stage::LsInL2Lkup,
        110,
        "eth.dst == $svc_monitor_mac && (tcp || icmp || icmp6)",
        "handle_svc_check(inport);",
    );
    f.add(
        Stage::LsInL2Lkup,
        70,
        "eth.mcast",
        "outport = \"_MC_flood\"; output;",
    );
    f.add(Stage::LsInL2Lkup, 0, "1", "outport = get_fdb(eth.dst); next;");
    f.add(
        Stage::LsInL2Unknown,
        50,
        "outport == \"none\"",
        if v.has_unknown {
            "outport = \"_MC_unknown\"; output;"
        } else {
            "drop;"
        },
    );
    f.add(Stage::LsInL2Unknown, 0, "1", "output;");

    // Egress port security.
    f.add(Stage::LsOutCheckPortSec, 100, "eth.mcast", "reg0[15] = 0; next;");
    f.add(
        Stage::LsOutCheckPortSec,
        0,
        "1",
        "reg0[15] = check_out_port_sec(); next;",
    );
    f.add(Stage::LsOutApplyPortSec, 50, "reg0[15] == 1", "drop;");
    f.add(Stage::LsOutApplyPortSec, 0, "1", "output;");
    f.finish()
}

pub(crate) fn switch_port_flows(v: &SwitchPortView) -> Vec<LogicalFlow> {
    let mut f = FlowBuilder::new(&v.datapath);
    let key = quoted(&v.name);
    let is_router = v.port_type == "router";
    let is_localnet = v.port_type == "localnet";
    let is_external = v.port_type == "external";

    // Disabled ports: drop in both directions.
    if !is_external && !v.enabled {
        f.add_port(
            Stage::LsInCheckPortSec,
            100,
            format!("inport == {key}"),
            "reg0[15] = 1; next;",
            &v.name,
        );
        f.add_port(
            Stage::LsInL2Unknown,
            50,
            format!("outport == {key}"),
            "drop;",
            &v.name,
        );
    }

    // MAC learning for ports with unknown addresses and no port security.
    if !v.has_port_security
        && v.has_unknown
        && (v.port_type.is_empty() || (is_localnet && v.localnet_learn_fdb))
    {
        f.add_port(
            Stage::LsInLookupFdb,
            100,
            format!("inport == {key}"),
            "reg0[11] = lookup_fdb(inport, eth.src); next;",
            &v.name,
        );
        f.add_port(
            Stage::LsInPutFdb,
            100,
            format!("inport == {key} && reg0[11] == 0"),
            "put_fdb(inport, eth.src); next;",
            &v.name,
        );
    }

    // Router and (LB-less) localnet ports bypass conntrack: a router port's traffic
    // may have been tracked on another chassis, so its zone here knows nothing of it.
    let bypass = |f: &mut FlowBuilder, ingress: Stage, egress: Stage| {
        let out_action = if v.switch_has_stateful_acl {
            "next;"
        } else {
            "ct_clear; next;"
        };
        f.add_port(ingress, 110, format!("ip && inport == {key}"), "next;", &v.name);
        f.add_port(
            egress,
            110,
            format!("ip && outport == {key}"),
            out_action,
            &v.name,
        );
    };
    let router_peered = is_router && v.peer.is_some();
    if router_peered || (is_localnet && !v.switch_has_lb_vip) {
        bypass(&mut f, Stage::LsInPreLb, Stage::LsOutPreLb);
    }
    if v.switch_has_stateful_acl && (router_peered || is_localnet) {
        bypass(&mut f, Stage::LsInPreAcl, Stage::LsOutPreAcl);
    }

    crate::dhcp::port_dhcp_flows(v, &key, &mut f);
    arp_nd_responder(v, &key, &mut f);
    if !is_external {
        l2_lookup(v, &key, &mut f);
    }
    arp_resolve_on_routers(v, &mut f);
    f.finish()
}

fn arp_nd_responder(v: &SwitchPortView, key: &str, f: &mut FlowBuilder) {
    if v.port_type == "localnet" {
        f.add_port(
            Stage::LsInArpRsp,
            100,
            format!("inport == {key}"),
            "next;",
            &v.name,
        );
    }
    if v.port_type == "external" || v.port_type == "virtual" || v.has_unknown || v.switch_vlan_passthru {
        return;
    }
    let na = if v.port_type == "router" {
        "nd_na_router"
    } else {
        "nd_na"
    };
    for a in &v.addrs {
        let mac = a.mac;
        for ip in &a.ipv4 {
            let m = format!("arp.tpa == {ip} && arp.op == 1");
            f.add(
                Stage::LsInArpRsp,
                50,
                m.clone(),
                format!(
                    "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ \
                     arp.tha = arp.sha; arp.sha = {mac}; arp.tpa = arp.spa; \
                     arp.spa = {ip}; outport = inport; flags.loopback = 1; output;"
                ),
            );
            f.add_port(
                Stage::LsInArpRsp,
                100,
                format!("{m} && inport == {key}"),
                "next;",
                &v.name,
            );
        }
        for ip in &a.ipv6 {
            let sn = solicited_node(ip);
            let m = format!("nd_ns && ip6.dst == {{{ip}, {sn}}} && nd.target == {ip}");
            f.add(
                Stage::LsInArpRsp,
                50,
                m.clone(),
                format!(
                    "{na} {{ eth.src = {mac}; ip6.src = {ip}; nd.target = {ip}; \
                     nd.tll = {mac}; outport = inport; flags.loopback = 1; output; }};"
                ),
            );
            f.add_port(
                Stage::LsInArpRsp,
                100,
                format!("{m} && inport == {key}"),
                "next;",
                &v.name,
            );
        }
    }
}

fn l2_lookup(v: &SwitchPortView, key: &str, f: &mut FlowBuilder) {
    if let Some(peer) = v.peer.as_ref().filter(|p| p.enabled) {
        // ARP/NS for the router's own IPs (and its reachable LB VIPs) goes to the router
        // and, unless the switch has only router ports, is also flooded to L2 ports.
        let flood = |target: String, f: &mut FlowBuilder| {
            let action = if v.switch_only_router_ports {
                format!("outport = {key}; output;")
            } else {
                format!("clone {{outport = {key}; output; }}; outport = \"_MC_flood_l2\"; output;")
            };
            f.add(Stage::LsInL2Lkup, 80, target, action);
        };
        let arp = |ip: &dyn std::fmt::Display| format!("flags[1] == 0 && arp.op == 1 && arp.tpa == {ip}");
        let ns = |ip: &dyn std::fmt::Display| format!("flags[1] == 0 && nd_ns && nd.target == {ip}");
        for ip in &peer.router_lb_ips {
            if peer.networks.member(ip) {
                match ip {
                    IpAddr::V4(a) => flood(arp(a), f),
                    IpAddr::V6(a) => flood(ns(a), f),
                }
            }
        }
        for ip in &peer.router_nat_ips {
            match ip {
                IpAddr::V4(a) => flood(arp(a), f),
                IpAddr::V6(a) => flood(ns(a), f),
            }
        }
        for c in &peer.networks.ipv4 {
            flood(arp(&c.addr), f);
        }
        for c in &peer.networks.ipv6 {
            flood(ns(&c.addr), f);
        }
        if !v.switch_only_router_ports {
            let mut macs = vec![peer.networks.mac.to_string()];
            macs.extend(peer.nat_macs.iter().map(Mac::to_string));
            f.add(
                Stage::LsInL2Lkup,
                75,
                format!(
                    "eth.src == {{{}}} && (arp.op == 1 || rarp.op == 3 || nd_ns)",
                    crate::dgp::sset_order(&macs).join(", ")
                ),
                "outport = \"_MC_flood_l2\"; output;",
            );
        }
        // Frames to the gateway port's MAC (or to a port whose router pipeline resides on
        // the gateway chassis) are taken in only where the cr- port is, on a switch with a
        // localnet port; those to a floating IP's MAC where its logical port is.
        if let Some(cr) = peer.dgp_cr.as_ref().or(peer.reside_cr.as_ref())
            && v.switch_has_localnet
        {
            let action = if v.enabled {
                format!("outport = {key}; output;")
            } else {
                "drop;".to_string()
            };
            f.add(
                Stage::LsInL2Lkup,
                50,
                format!(
                    "eth.dst == {} && is_chassis_resident({})",
                    peer.networks.mac,
                    quoted(cr)
                ),
                action,
            );
        }
        if peer.dgp_cr.is_some() && v.enabled {
            for (mac, lp) in &peer.distributed_nats {
                f.add(
                    Stage::LsInL2Lkup,
                    50,
                    format!("eth.dst == {mac} && is_chassis_resident({})", quoted(lp)),
                    format!("outport = {key}; output;"),
                );
            }
        }
    }
    let action = if v.enabled {
        format!("outport = {key}; output;")
    } else {
        "drop;".to_string()
    };
    let dgp_mac = v
        .peer
        .as_ref()
        .filter(|p| v.switch_has_localnet && (p.dgp_cr.is_some() || p.reside_cr.is_some()))
        .map(|p| p.networks.mac);
    for mac in v.macs.iter().filter(|m| Some(**m) != dgp_mac) {
        f.add(Stage::LsInL2Lkup, 50, format!("eth.dst == {mac}"), action.clone());
    }
}

/// Static next-hop resolution on the routers attached to this port's switch.
fn arp_resolve_on_routers(v: &SwitchPortView, f: &mut FlowBuilder) {
    if !v.enabled {
        return;
    }
    if v.port_type == "router" {
        // Other routers on the same switch are reachable neighbours of our peer.
        let Some(peer) = &v.peer else { return };
        if peer.dynamic_neigh_routers {
            return;
        }
        let out = quoted(&peer.name);
        for other in &v.switch_routers {
            if other.name == peer.name {
                continue;
            }
            let n = &other.networks;
            if !n.ipv4.is_empty() {
                let ips: Vec<IpAddr> = n.ipv4.iter().map(|c| c.addr).collect();
                f.add_on(
                    &peer.router,
                    Stage::LrInArpResolve,
                    100,
                    format!("outport == {out} && reg0 == {}", set_or_single(&ips)),
                    format!("eth.dst = {}; next;", n.mac),
                );
            }
            if !n.ipv6.is_empty() {
                let ips: Vec<IpAddr> = n.ipv6.iter().map(|c| c.addr).collect();
                f.add_on(
                    &peer.router,
                    Stage::LrInArpResolve,
                    100,
                    format!("outport == {out} && xxreg0 == {}", set_or_single(&ips)),
                    format!("eth.dst = {}; next;", n.mac),
                );
            }
        }
        return;
    }
    if v.port_type == "virtual" {
        return;
    }
    for a in &v.addrs {
        let ips = a
            .ipv4
            .iter()
            .map(|ip| (IpAddr::V4(*ip), "reg0"))
            .chain(a.ipv6.iter().map(|ip| (IpAddr::V6(*ip), "xxreg0")));
        for (ip, reg) in ips {
            for r in &v.switch_routers {
                if !r.networks.member(&ip) {
                    continue;
                }
                f.add_on(
                    &r.router,
                    Stage::LrInArpResolve,
                    100,
                    format!("outport == {} && {reg} == {ip}", quoted(&r.name)),
                    format!("eth.dst = {}; next;", a.mac),
                );
            }
        }
    }
}
