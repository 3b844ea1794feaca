//! Logical router flows: the per-router pipeline skeleton (admission/neighbour defaults,
//! ip_input sanity drops, static routes, next-hop resolution defaults, LB conntrack
//! hooks) and the per-port flows (admission by MAC, ARP/ND/ICMP for the router's own
//! addresses, connected routes, delivery).

use std::net::IpAddr;

use crate::addresses::{Cidr, Mac, set_or_single, solicited_node};
use crate::flows::{FlowBuilder, Stage, quoted};
use crate::model::sb::LogicalFlow;
use crate::topology::{EcmpGroup, Policy, PolicyAction, PolicyHop, Route, RouterPortView, RouterView};

/// Answers an ARP request for one of the router's addresses with the MAC of the port it
/// came in on (admission stored it in xreg0).
const ARP_REPLY: &str = "eth.dst = eth.src; eth.src = xreg0[0..47]; arp.op = 2; /* ARP reply */ \
                         arp.tha = arp.sha; arp.sha = xreg0[0..47]; arp.tpa <-> arp.spa; \
                         outport = inport; flags.loopback = 1; output;";

pub(crate) fn router_flows(v: &RouterView) -> Vec<LogicalFlow> {
    let mut f = FlowBuilder::new(&v.uuid);
    let g = &v.globals;

    f.add(Stage::LrInAdmission, 100, "vlan.present || eth.src[40]", "drop;");
    f.add(Stage::LrInAdmission, 0, "1", "drop;");

    // Neighbour lookup/learning.
    let lookup_arp = "reg9[2] = lookup_arp(inport, arp.spa, arp.sha); next;";
    f.add(Stage::LrInLookupNeighbor, 100, "arp.op == 2", lookup_arp);
    f.add(
        Stage::LrInLookupNeighbor,
        100,
        "nd_na",
        "reg9[2] = lookup_nd(inport, nd.target, nd.tll); next;",
    );
    f.add(
        Stage::LrInLookupNeighbor,
        100,
        "nd_ns",
        "reg9[2] = lookup_nd(inport, ip6.src, nd.sll); next;",
    );
    f.add(Stage::LrInLookupNeighbor, 0, "1", "reg9[2] = 1; next;");
    f.add(Stage::LrInLearnNeighbor, 100, "reg9[2] == 1", "next;");
    f.add(
        Stage::LrInLearnNeighbor,
        95,
        "nd_na && nd.tll == 0",
        "put_nd(inport, nd.target, eth.src); next;",
    );
    f.add(
        Stage::LrInLearnNeighbor,
        95,
        "nd_ns && (ip6.src == 0 || nd.sll == 0)",
        "next;",
    );
    f.add(
        Stage::LrInLearnNeighbor,
        90,
        "arp",
        "put_arp(inport, arp.spa, arp.sha); next;",
    );
    f.add(
        Stage::LrInLearnNeighbor,
        90,
        "nd_na",
        "put_nd(inport, nd.target, nd.tll); next;",
    );
    f.add(
        Stage::LrInLearnNeighbor,
        90,
        "nd_ns",
        "put_nd(inport, ip6.src, nd.sll); next;",
    );
    f.add(Stage::LrInLearnNeighbor, 0, "1", "drop;");

    // ip_input sanity checks (the spacing quirk in the martian match is northd's).
    f.add(
        Stage::LrInIpInput,
        100,
        "ip4.src_mcast ||ip4.src == 255.255.255.255 || ip4.src == 127.0.0.0/8 || \
         ip4.dst == 127.0.0.0/8 || ip4.src == 0.0.0.0/8 || ip4.dst == 0.0.0.0/8",
        "drop;",
    );
    f.add(Stage::LrInIpInput, 85, "arp || nd", "drop;");
    f.add(Stage::LrInIpInput, 84, "nd_rs || nd_ra", "next;");
    f.add(Stage::LrInIpInput, 83, "ip6.mcast_rsvd", "drop;");
    f.add(Stage::LrInIpInput, 82, "ip4.mcast || ip6.mcast", "drop;");
    f.add(Stage::LrInIpInput, 50, "eth.bcast", "drop;");
    f.add(
        Stage::LrInIpInput,
        32,
        "ip.ttl == {0, 1} && !ip.later_frag && (ip4.mcast || ip6.mcast)",
        "drop;",
    );
    f.add(Stage::LrInIpInput, 30, "ip.ttl == {0, 1}", "drop;");
    f.add(Stage::LrInIpInput, 0, "1", "next;");

    // NAT / LB hooks.
    for s in [
        Stage::LrInDefrag,
        Stage::LrInUnsnat,
        Stage::LrOutSnat,
        Stage::LrInDnat,
        Stage::LrOutUndnat,
        Stage::LrOutPostUndnat,
        Stage::LrOutPostSnat,
        Stage::LrOutEgrLoop,
        Stage::LrInEcmpStateful,
        Stage::LrInLbAffCheck,
        Stage::LrInLbAffLearn,
        Stage::LrInNdRaOptions,
        Stage::LrInNdRaResponse,
        Stage::LrInChkPktLen,
        Stage::LrInLargerPkts,
        Stage::LrInGwRedirect,
    ] {
        f.add(s, 0, "1", "next;");
    }
    f.add(Stage::LrOutChkDnatLocal, 0, "1", "reg9[4] = 0; next;");
    f.add(Stage::LrOutSnat, 120, "nd_ns", "next;");
    let ct_flag = if g.ct_lb_mark { "ct_mark" } else { "ct_label" };
    if v.has_lb_vip && g.ct_lb_related {
        let rel = "ct.rel && !ct.est && !ct.new";
        f.add(
            Stage::LrInDnat,
            70,
            format!("{rel} && {ct_flag}.skip_snat == 1"),
            "flags.skip_snat_for_lb = 1; ct_commit_nat;",
        );
        f.add(
            Stage::LrInDnat,
            70,
            format!("{rel} && {ct_flag}.force_snat == 1"),
            "flags.force_snat_for_lb = 1; ct_commit_nat;",
        );
        f.add(Stage::LrInDnat, 50, rel, "ct_commit_nat;");
    }
    if v.has_lb_vip {
        let est = format!("ct.est && !ct.rel && !ct.new && {ct_flag}.natted");
        f.add(
            Stage::LrInDnat,
            70,
            format!("{est} && {ct_flag}.skip_snat == 1"),
            "flags.skip_snat_for_lb = 1; next;",
        );
        f.add(
            Stage::LrInDnat,
            70,
            format!("{est} && {ct_flag}.force_snat == 1"),
            "flags.force_snat_for_lb = 1; next;",
        );
        f.add(Stage::LrInDnat, 50, est, "next;");
    }
    crate::nat::router_nat_flows(
        &v.nats,
        v.is_gateway,
        !v.force_snat.dnat.is_empty(),
        v.dgp.as_ref(),
        ct_flag,
        ARP_REPLY,
        &mut f,
    );
    if v.is_gateway {
        crate::nat::force_snat_flows(&v.force_snat, &mut f);
    }
    if v.is_gateway && (v.has_lb_vip || !v.nats.is_empty()) {
        f.add(Stage::LrOutUndnat, 100, "nd || nd_rs || nd_ra", "next;");
        f.add(Stage::LrOutUndnat, 50, "ip", "flags.loopback = 1; ct_dnat;");
        f.add(
            Stage::LrOutPostUndnat,
            50,
            "ip && ct.new",
            "ct_commit { } ; next; ",
        );
    }

    // Routing.
    f.add(Stage::LrInIpRoutingPre, 0, "1", "reg7 = 0; next;");
    for (port, table) in &v.routes.port_tables {
        f.add(
            Stage::LrInIpRoutingPre,
            100,
            format!("inport == {}", quoted(port)),
            format!("reg7 = {table}; next;"),
        );
    }
    f.add(Stage::LrInIpRouting, 10550, "nd_rs || nd_ra", "drop;");
    f.add(Stage::LrInIpRouting, 0, "1", "drop;");
    for r in &v.routes.single {
        static_route(r, &mut f);
    }
    for g in &v.routes.ecmp {
        ecmp_route(g, &mut f);
    }
    f.add(Stage::LrInIpRoutingEcmp, 150, "reg8[0..15] == 0", "next;");
    f.add(Stage::LrInIpRoutingEcmp, 0, "1", "drop;");
    f.add(Stage::LrInPolicy, 0, "1", "reg8[0..15] = 0; next;");
    f.add(Stage::LrInPolicyEcmp, 150, "reg8[0..15] == 0", "next;");
    f.add(Stage::LrInPolicyEcmp, 0, "1", "drop;");
    for p in &v.policies {
        policy_flows(p, &mut f);
    }

    // Next-hop resolution and ARP/NS for unresolved next hops.
    f.add(Stage::LrInArpResolve, 500, "ip4.mcast || ip6.mcast", "next;");
    f.add(Stage::LrInArpResolve, 1, "ip4", "get_arp(outport, reg0); next;");
    f.add(Stage::LrInArpResolve, 1, "ip6", "get_nd(outport, xxreg0); next;");
    f.add(Stage::LrInArpResolve, 0, "1", "drop;");
    f.add(
        Stage::LrInArpRequest,
        100,
        "eth.dst == 00:00:00:00:00:00 && ip4",
        "arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.spa = reg1; arp.tpa = reg0; arp.op = 1; output; };",
    );
    f.add(
        Stage::LrInArpRequest,
        100,
        "eth.dst == 00:00:00:00:00:00 && ip6",
        "nd_ns { nd.target = xxreg0; output; };",
    );
    for (spelled, a) in &v.routes.ipv6_nexthops {
        let sn = solicited_node(a);
        let o = sn.octets();
        f.add(
            Stage::LrInArpRequest,
            200,
            format!("eth.dst == 00:00:00:00:00:00 && ip6 && xxreg0 == {spelled}"),
            format!(
                "nd_ns {{ eth.dst = 33:33:{:02x}:{:02x}:{:02x}:{:02x}; ip6.dst = {sn}; nd.target = {spelled}; \
                 output; }};",
                o[12], o[13], o[14], o[15]
            ),
        );
    }
    f.add(Stage::LrInArpRequest, 0, "1", "output;");
    f.add(Stage::LrOutDelivery, 0, "1", "drop;");
    f.finish()
}

/// `add_route`: priority is prefix length × 3 plus 2 for connected, 1 for static and 0
/// for source-IP routes. Where a route sends packets: next hop (`None` = the destination
/// itself), source IP for ARP/ND, and output port.
struct RouteOut<'a> {
    nexthop: Option<IpAddr>,
    src_ip: IpAddr,
    mac: Mac,
    port: &'a str,
}

/// A route's match and priority in `lr_in_ip_routing`.
fn route_match(
    prefix: &Cidr,
    src_policy: bool,
    offset: u16,
    table: u32,
    inport: Option<&str>,
) -> (String, u16) {
    let fam = if prefix.is_ipv4() { "4" } else { "6" };
    let dir = if src_policy { "src" } else { "dst" };
    let offset = if src_policy { 0 } else { offset };
    let mut m = String::new();
    if let Some(p) = inport {
        m.push_str(&format!("inport == {} && ", quoted(p)));
    }
    if table != 0 || offset == 1 {
        m.push_str(&format!("reg7 == {table} && "));
    }
    m.push_str(&format!("ip{fam}.{dir} == {}", prefix.network_string()));
    (m, u16::from(prefix.plen) * 3 + offset)
}

/// The registers a route's next hop and source address go to.
fn route_regs(v4: bool) -> (&'static str, &'static str) {
    if v4 {
        ("reg0", "reg1")
    } else {
        ("xxreg0", "xxreg1")
    }
}

fn route_flow(
    f: &mut FlowBuilder,
    prefix: &Cidr,
    src_policy: bool,
    offset: u16,
    table: u32,
    inport: Option<&str>,
    out: RouteOut<'_>,
) {
    let RouteOut {
        nexthop,
        src_ip,
        mac,
        port: out_port,
    } = out;
    let v4 = prefix.is_ipv4();
    let (nh_reg, src_reg) = route_regs(v4);
    let (m, prio) = route_match(prefix, src_policy, offset, table, inport);
    let nh = match nexthop {
        Some(ip) => ip.to_string(),
        None => format!("ip{}.dst", if v4 { "4" } else { "6" }),
    };
    f.add(
        Stage::LrInIpRouting,
        prio,
        m,
        format!(
            "ip.ttl--; reg8[0..15] = 0; {nh_reg} = {nh}; {src_reg} = {src_ip}; eth.src = {mac}; \
             outport = {}; flags.loopback = 1; next;",
            quoted(out_port)
        ),
    );
}

fn static_route(r: &Route, f: &mut FlowBuilder) {
    let Some(via) = &r.via else {
        let (m, prio) = route_match(&r.prefix, r.src_policy, 1, r.table, None);
        f.add(Stage::LrInIpRouting, prio, m, "drop;");
        return;
    };
    route_flow(
        f,
        &r.prefix,
        r.src_policy,
        1,
        r.table,
        None,
        RouteOut {
            nexthop: Some(via.nexthop),
            src_ip: via.src_ip,
            mac: via.out_mac,
            port: &via.out_port,
        },
    );
}

/// `build_ecmp_route_flow`: the routing flow picks a member with `select()` into
/// reg8[16..31] (the group in reg8[0..15]); `lr_in_ip_routing_ecmp` then sets each
/// member's next hop and port. A discard member is selectable but has no flow.
fn ecmp_route(g: &EcmpGroup, f: &mut FlowBuilder) {
    let Some(first) = g.members.first() else { return };
    let (m, prio) = route_match(&first.prefix, first.src_policy, 1, first.table, None);
    let ids: Vec<String> = (1..=g.members.len()).map(|i| i.to_string()).collect();
    f.add(
        Stage::LrInIpRouting,
        prio,
        m,
        format!(
            "ip.ttl--; flags.loopback = 1; reg8[0..15] = {}; reg8[16..31] = select({});",
            g.id,
            ids.join(", ")
        ),
    );
    let (nh_reg, src_reg) = route_regs(first.prefix.is_ipv4());
    for (i, r) in g.members.iter().enumerate() {
        let Some(via) = &r.via else { continue };
        f.add(
            Stage::LrInIpRoutingEcmp,
            100,
            format!("reg8[0..15] == {} && reg8[16..31] == {}", g.id, i + 1),
            format!(
                "{nh_reg} = {}; {src_reg} = {}; eth.src = {}; outport = {}; next;",
                via.nexthop,
                via.src_ip,
                via.out_mac,
                quoted(&via.out_port)
            ),
        );
    }
}

/// `build_routing_policy_flow` / `build_ecmp_routing_policy_flows`: a policy's flow in
/// `lr_in_policy`, and for several next hops one `lr_in_policy_ecmp` flow per member.
fn policy_flows(p: &Policy, f: &mut FlowBuilder) {
    let mark = if p.pkt_mark != 0 {
        format!("pkt.mark = {}; ", p.pkt_mark)
    } else {
        String::new()
    };
    let set_hop = |h: &PolicyHop| {
        let (nh_reg, src_reg) = route_regs(h.v4);
        format!(
            "{mark}{nh_reg} = {}; {src_reg} = {}; eth.src = {}; outport = {}; flags.loopback = 1; ",
            h.nexthop,
            h.src_ip,
            h.mac,
            quoted(&h.port)
        )
    };
    let actions = match &p.action {
        PolicyAction::Allow => format!("{mark}reg8[0..15] = 0; next;"),
        PolicyAction::Drop => "drop;".to_string(),
        PolicyAction::Reroute(h) => format!("{}reg8[0..15] = 0; next;", set_hop(h)),
        PolicyAction::Ecmp { group, hops } => {
            for (i, h) in hops.iter().enumerate() {
                f.add(
                    Stage::LrInPolicyEcmp,
                    100,
                    format!("reg8[0..15] == {group} && reg8[16..31] == {}", i + 1),
                    format!("{}next;", set_hop(h)),
                );
            }
            let ids: Vec<String> = (1..=hops.len()).map(|i| i.to_string()).collect();
            format!(
                "reg8[0..15] = {group}; reg8[16..31] = select({});",
                ids.join(", ")
            )
        }
    };
    f.add(Stage::LrInPolicy, p.priority, p.match_.clone(), actions);
}

pub(crate) fn router_port_flows(v: &RouterPortView) -> Vec<LogicalFlow> {
    let mut f = FlowBuilder::new(&v.router);
    let key = quoted(&v.name);
    let n = &v.networks;
    let mac = n.mac;
    // On the distributed gateway port, what answers or admits in the port's name is
    // confined to the chassis its `cr-` twin is resident on.
    let resident = match &v.dgp {
        Some((d, _)) => format!(" && is_chassis_resident({})", d.cr()),
        None => String::new(),
    };

    // A disabled port only loses admission and delivery; like northd, its addresses
    // stay routable and answerable so peers see no flapping.
    if v.enabled {
        let adm = format!("xreg0[0..47] = {mac}; next;");
        f.add(
            Stage::LrInAdmission,
            50,
            format!("eth.mcast && inport == {key}"),
            adm.clone(),
        );
        f.add(
            Stage::LrInAdmission,
            50,
            format!("eth.dst == {mac} && inport == {key}{resident}"),
            adm,
        );
        f.add(Stage::LrOutDelivery, 100, format!("outport == {key}"), "output;");
    }

    // Learn neighbours that ARP for us from our own subnets.
    for c in &n.ipv4 {
        f.add(
            Stage::LrInLookupNeighbor,
            100,
            format!(
                "inport == {key} && arp.spa == {} && arp.op == 1{resident}",
                c.network_string()
            ),
            "reg9[2] = lookup_arp(inport, arp.spa, arp.sha); next;",
        );
    }

    ipv4_input(v, &key, &resident, &mut f);
    ipv6_input(v, &key, &resident, &mut f);
    if v.router_lb_force_snat_router_ip && v.has_peer {
        crate::nat::port_force_snat_flows(&v.networks, &key, &mut f);
    }
    if v.has_peer {
        nd_ra_flows(v, &key, &mut f);
    }
    if let Some((d, nats)) = &v.dgp {
        crate::dgp::port_nat_arp_flows(d, nats, &mut f);
    }

    // Connected routes.
    for c in n.ipv4.iter().chain(&n.ipv6) {
        let lla = matches!(c.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
        route_flow(
            &mut f,
            c,
            false,
            2,
            0,
            lla.then_some(v.name.as_str()),
            RouteOut {
                nexthop: None,
                src_ip: c.addr,
                mac,
                port: &v.name,
            },
        );
    }

    // Router-to-router links: the peer's addresses resolve statically.
    if let Some((_, pn)) = &v.lrp_peer {
        let pk = quoted(&v.name);
        if !pn.ipv4.is_empty() {
            let ips: Vec<IpAddr> = pn.ipv4.iter().map(|c| c.addr).collect();
            f.add(
                Stage::LrInArpResolve,
                100,
                // northd writes this one without a space before "==".
                format!("outport == {pk} && reg0== {}", set_or_single(&ips)),
                format!("eth.dst = {}; next;", pn.mac),
            );
        }
        let ips: Vec<IpAddr> = pn.ipv6.iter().map(|c| c.addr).collect();
        f.add(
            Stage::LrInArpResolve,
            100,
            format!("outport == {pk} && xxreg0 == {}", set_or_single(&ips)),
            format!("eth.dst = {}; next;", pn.mac),
        );
    }

    f.finish()
}

fn ipv4_input(v: &RouterPortView, key: &str, resident: &str, f: &mut FlowBuilder) {
    let n = &v.networks;
    if n.ipv4.is_empty() {
        return;
    }
    let mut with_bcast = Vec::new();
    let mut ips = Vec::new();
    for c in &n.ipv4 {
        with_bcast.push(c.addr.to_string());
        if let Some(b) = c.broadcast() {
            with_bcast.push(b.to_string());
        }
        ips.push(c.addr);
    }
    f.add(
        Stage::LrInIpInput,
        100,
        format!("ip4.src == {{{}}} && reg9[0] == 0", with_bcast.join(", ")),
        "drop;",
    );
    f.add(
        Stage::LrInIpInput,
        90,
        format!(
            "ip4.dst == {} && icmp4.type == 8 && icmp4.code == 0",
            set_or_single(&ips)
        ),
        "ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 0; flags.loopback = 1; next; ",
    );
    for c in &n.ipv4 {
        // The gateway port answers from whatever address was hit (it may be a NAT one).
        let addrs = if v.dgp.is_some() {
            "ip4.dst <-> ip4.src".to_string()
        } else {
            format!("ip4.dst = ip4.src; ip4.src = {}", c.addr)
        };
        f.add(
            Stage::LrInIpInput,
            31,
            format!("inport == {key} && ip4 && ip.ttl == {{0, 1}} && !ip.later_frag"),
            format!(
                "icmp4 {{eth.dst <-> eth.src; icmp4.type = 11; /* Time exceeded */ \
                 icmp4.code = 0; /* TTL exceeded in transit */ {addrs} ; ip.ttl = 254; \
                 outport = {key}; flags.loopback = 1; output; }};"
            ),
        );
    }
    // ARP replies for the gateway port's own addresses come only from its gateway
    // chassis when the peer switch reaches the outside through a localnet port.
    let reside = v
        .reside_cr
        .as_ref()
        .map(|cr| format!(" && is_chassis_resident({})", quoted(cr)))
        .unwrap_or_default();
    let arp_resident = match (v.peer_has_localnet, v.dgp.is_some()) {
        (false, _) => "",
        (true, true) => resident,
        (true, false) => reside.as_str(),
    };
    let arp_reply = ARP_REPLY;
    for c in &n.ipv4 {
        f.add(
            Stage::LrInIpInput,
            90,
            format!(
                "inport == {key} && arp.op == 1 && arp.tpa == {} && arp.spa == {}{arp_resident}",
                c.addr,
                c.network_string()
            ),
            arp_reply,
        );
    }
    if v.router_has_lb_v4 {
        f.add(
            Stage::LrInIpInput,
            90,
            format!(
                "inport == {key} && arp.op == 1 && arp.tpa == $_rtr_lb_{}_ip4{resident}",
                v.router_key
            ),
            arp_reply,
        );
    }
    if !v.router_is_gateway && !v.router_has_dgp {
        for c in &n.ipv4 {
            let ip = c.addr;
            let pre = format!("ip4 && ip4.dst == {ip} && !ip.later_frag");
            f.add(
                Stage::LrInIpInput,
                80,
                format!("{pre} && udp"),
                "icmp4 {eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; \
                 icmp4.type = 3; icmp4.code = 3; next; };",
            );
            f.add(
                Stage::LrInIpInput,
                80,
                format!("{pre} && tcp"),
                "tcp_reset {eth.dst <-> eth.src; ip4.dst <-> ip4.src; next; };",
            );
            f.add(
                Stage::LrInIpInput,
                80,
                format!("{pre} && sctp"),
                "sctp_abort {eth.dst <-> eth.src; ip4.dst <-> ip4.src; next; };",
            );
            f.add(
                Stage::LrInIpInput,
                70,
                pre,
                "icmp4 {eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; \
                 icmp4.type = 3; icmp4.code = 2; next; };",
            );
        }
    }
    drop_own_addresses(v, &ips, "ip4", f);
}

/// `build_lrouter_drop_own_dest`: traffic to the port's own addresses (`ips`, of family
/// `ip`) is dropped; to those that are also SNAT addresses or LB VIPs only once
/// unSNAT/DNAT left them unchanged. With `lb_force_snat_ip=router_ip` every port address
/// is an SNAT address, so none is dropped early.
fn drop_own_addresses(v: &RouterPortView, ips: &[IpAddr], ip: &str, f: &mut FlowBuilder) {
    let (late, early): (Vec<IpAddr>, Vec<IpAddr>) = ips.iter().partition(|a| v.router_nat_lb_ips.contains(a));
    let set = |ips: &[IpAddr]| ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    if !early.is_empty() && !v.router_lb_force_snat_router_ip {
        f.add(
            Stage::LrInIpInput,
            60,
            format!("{ip}.dst == {{{}}}", set(&early)),
            "drop;",
        );
    }
    if !late.is_empty() {
        f.add(
            Stage::LrInArpResolve,
            2,
            format!("{ip}.dst == {{{}}}", set(&late)),
            "drop;",
        );
    }
}

/// `build_ND_RA_flows_for_lrouter_port`: with `ipv6_ra_configs:address_mode`, a Router
/// Solicitation to the port is answered with an advertisement of its IPv6 prefixes,
/// built by the chassis controller (`put_nd_ra_opts`).
fn nd_ra_flows(v: &RouterPortView, key: &str, f: &mut FlowBuilder) {
    let ra = &v.ipv6_ra_configs;
    let Some(mode) = ra.get("address_mode") else {
        return;
    };
    if !matches!(mode.as_str(), "slaac" | "dhcpv6_stateful" | "dhcpv6_stateless") {
        return;
    }
    let prefixes: Vec<String> = v
        .networks
        .ipv6
        .iter()
        .filter(|c| !matches!(c.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80))
        .map(|c| format!(", prefix = {}", c.network_string()))
        .collect();
    if prefixes.is_empty() {
        return;
    }
    let mac = v.networks.mac;
    let mut a = format!("reg0[5] = put_nd_ra_opts(addr_mode = \"{mode}\", slla = {mac}");
    let mtu = ra
        .get("mtu")
        .and_then(|m| m.parse::<u32>().ok())
        .filter(|m| *m >= 1280);
    if let Some(m) = mtu {
        a += &format!(", mtu = {m}");
    }
    let prf = ra.get("router_preference").map_or("MEDIUM", String::as_str);
    if prf != "MEDIUM" {
        a += &format!(", router_preference = \"{prf}\"");
    }
    if let Some(r) = ra.get("rdnss") {
        a += &format!(", rdnss = {r}");
    }
    if let Some(d) = ra.get("dnssl") {
        a += &format!(", dnssl = \"{d}\"");
    }
    if let Some(r) = ra.get("route_info") {
        a += &format!(", route_info = \"{r}\"");
    }
    a += &prefixes.concat();
    a += "); next;";
    f.add(
        Stage::LrInNdRaOptions,
        50,
        format!("inport == {key} && ip6.dst == ff02::2 && nd_rs"),
        a,
    );
    f.add(
        Stage::LrInNdRaResponse,
        50,
        format!("inport == {key} && ip6.dst == ff02::2 && nd_ra && reg0[5]"),
        format!(
            "eth.dst = eth.src; eth.src = {mac}; ip6.dst = ip6.src; ip6.src = {}; \
             outport = inport; flags.loopback = 1; output;",
            mac.ipv6_lla()
        ),
    );
}

fn ipv6_input(v: &RouterPortView, key: &str, resident: &str, f: &mut FlowBuilder) {
    let n = &v.networks;
    if n.ipv6.is_empty() {
        return;
    }
    let ips: Vec<IpAddr> = n.ipv6.iter().map(|c| c.addr).collect();
    for c in &n.ipv6 {
        f.add(
            Stage::LrInIpInput,
            100,
            format!("ip6.dst == {} && udp.src == 547 && udp.dst == 546", c.addr),
            "reg0 = 0; handle_dhcpv6_reply;",
        );
    }
    f.add(
        Stage::LrInIpInput,
        90,
        format!(
            "ip6.dst == {} && icmp6.type == 128 && icmp6.code == 0",
            set_or_single(&ips)
        ),
        "ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 129; flags.loopback = 1; next; ",
    );
    let na = "eth.src = xreg0[0..47]; ip6.src = nd.target; nd.tll = xreg0[0..47]; \
              outport = inport; flags.loopback = 1; output; };";
    for c in &n.ipv6 {
        let IpAddr::V6(a) = c.addr else { continue };
        f.add(
            Stage::LrInIpInput,
            90,
            format!(
                "inport == {key} && ip6.dst == {{{a}, {}}} && nd_ns && nd.target == {a}{resident}",
                solicited_node(&a)
            ),
            format!("nd_na_router {{ {na}"),
        );
    }
    if v.router_has_lb_v6 {
        f.add(
            Stage::LrInIpInput,
            90,
            format!(
                "inport == {key} && nd_ns && nd.target == $_rtr_lb_{}_ip6{resident}",
                v.router_key
            ),
            format!("nd_na {{ {na}"),
        );
    }
    if !v.router_is_gateway && !v.router_has_dgp {
        for c in &n.ipv6 {
            let ip = c.addr;
            let pre = format!("ip6 && ip6.dst == {ip} && !ip.later_frag");
            f.add(
                Stage::LrInIpInput,
                80,
                format!("{pre} && tcp"),
                "tcp_reset {eth.dst <-> eth.src; ip6.dst <-> ip6.src; next; };",
            );
            f.add(
                Stage::LrInIpInput,
                80,
                format!("{pre} && sctp"),
                "sctp_abort {eth.dst <-> eth.src; ip6.dst <-> ip6.src; next; };",
            );
            f.add(
                Stage::LrInIpInput,
                80,
                format!("{pre} && udp"),
                "icmp6 {eth.dst <-> eth.src; ip6.dst <-> ip6.src; ip.ttl = 255; \
                 icmp6.type = 1; icmp6.code = 4; next; };",
            );
            f.add(
                Stage::LrInIpInput,
                70,
                pre,
                "icmp6 {eth.dst <-> eth.src; ip6.dst <-> ip6.src; ip.ttl = 255; \
                 icmp6.type = 1; icmp6.code = 3; next; };",
            );
        }
    }
    for c in &n.ipv6 {
        let IpAddr::V6(a) = c.addr else { continue };
        if a.segments()[0] & 0xffc0 == 0xfe80 {
            continue;
        }
        f.add(
            Stage::LrInIpInput,
            31,
            format!(
                "inport == {key} && ip6 && ip6.src == {} && ip.ttl == {{0, 1}} && !ip.later_frag",
                c.network_string()
            ),
            format!(
                "icmp6 {{eth.dst <-> eth.src; ip6.dst = ip6.src; ip6.src = {a} ; ip.ttl = 254; \
                 icmp6.type = 3; /* Time exceeded */ icmp6.code = 0; /* TTL exceeded in transit */ \
                 outport = {key}; flags.loopback = 1; output; }};"
            ),
        );
    }
    drop_own_addresses(v, &ips, "ip6", f);
}
