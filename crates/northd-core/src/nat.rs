//! NAT on logical routers (OVN 23.03 layout): SNAT, DNAT and floating IPs
//! (`dnat_and_snat`) on gateway routers, the ARP answers and L2 forwarding for NAT
//! addresses on every router, and which router addresses double as SNAT addresses.
//!
//! On a distributed router the rules apply on its distributed gateway port (see `dgp`):
//! centralized ones only where the port's `cr-` instance is resident, floating IPs with
//! `logical_port` + `external_mac` on the chassis of that logical port. A distributed
//! router without such a port gets only the ARP flows, as in ovn-northd.

use std::net::IpAddr;

use crate::addresses::{Cidr, LrpNetworks, Mac};
use crate::flows::{FlowBuilder, Stage};
use crate::model::nb::Nat;
use crate::warning::{RowRef, Warning};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NatKind {
    Snat,
    Dnat,
    DnatAndSnat,
}

/// A NAT rule that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedNat {
    pub kind: NatKind,
    pub external: IpAddr,
    /// As written in NB (OVN prints it verbatim into matches).
    pub logical: String,
    pub logical_plen: u8,
    /// `options:stateless=true` on a `dnat_and_snat` rule: rewrite without conntrack.
    pub stateless: bool,
    pub port_range: String,
    /// `dnat_and_snat` with `logical_port` and `external_mac`: on a router with a
    /// distributed gateway port it is applied on the chassis of that logical port.
    pub distributed: Option<(String, Mac)>,
    /// `external_mac` of a `dnat`/`dnat_and_snat` rule (flooded ARP source MACs).
    pub external_mac: Option<Mac>,
}

impl ParsedNat {
    pub(crate) fn snats(&self) -> bool {
        self.kind != NatKind::Dnat
    }

    pub(crate) fn dnats(&self) -> bool {
        self.kind != NatKind::Snat
    }
}

/// Validates a router's NAT rules; a bad one is reported and skipped.
pub(crate) fn parse(router: &str, nat: &Nat, w: &mut Vec<Warning>) -> Option<ParsedNat> {
    let row = || RowRef::new("NAT", format!("{} {} on {router}", nat.nat_type, nat.external_ip));
    let mut bad = |reason: String| {
        w.push(Warning::BadNat { row: row(), reason });
        None
    };
    let kind = match nat.nat_type.as_str() {
        "snat" => NatKind::Snat,
        "dnat" => NatKind::Dnat,
        "dnat_and_snat" => NatKind::DnatAndSnat,
        t => return bad(format!("unknown type \"{t}\"")),
    };
    let external = match nat.external_ip.parse::<IpAddr>() {
        Ok(a) => a,
        Err(_) => {
            return bad(format!(
                "external_ip \"{}\" is not an IP address",
                nat.external_ip
            ));
        }
    };
    let logical = match nat.logical_ip.parse::<Cidr>() {
        Ok(c) if c.is_ipv4() == external.is_ipv4() => c,
        _ => {
            return bad(format!(
                "logical_ip \"{}\" is not an address of external_ip's family",
                nat.logical_ip
            ));
        }
    };
    let full = if external.is_ipv4() { 32 } else { 128 };
    if kind != NatKind::Snat && logical.plen != full {
        return bad(format!(
            "logical_ip \"{}\" must be a single address for {}",
            nat.logical_ip, nat.nat_type
        ));
    }
    let external_mac = match nat.external_mac.as_deref().filter(|_| kind != NatKind::Snat) {
        None => None,
        Some(m) => match m.trim().parse::<Mac>() {
            Ok(mac) => Some(mac),
            Err(_) => return bad(format!("external_mac \"{m}\" is not a MAC address")),
        },
    };
    let distributed = match (&nat.logical_port, external_mac) {
        (Some(lp), Some(mac)) if kind == NatKind::DnatAndSnat => Some((lp.clone(), mac)),
        _ => None,
    };
    Some(ParsedNat {
        kind,
        distributed,
        external_mac,
        external,
        logical: nat.logical_ip.clone(),
        logical_plen: logical.plen,
        stateless: kind == NatKind::DnatAndSnat && nat.options.get("stateless").is_some_and(|v| v == "true"),
        port_range: nat.external_port_range.clone(),
    })
}

/// External addresses of `snat` rules: the router answers for them and must not drop
/// traffic to them before unSNAT had its chance.
pub(crate) fn snat_ips(nats: &[ParsedNat]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = nats
        .iter()
        .filter(|n| n.kind == NatKind::Snat)
        .map(|n| n.external)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Addresses attached switches forward ARP requests for to the router (not `snat`
/// ones, whose address is normally the router port's own).
pub(crate) fn forwarded_ips(nats: &[ParsedNat], lb_ips: &[IpAddr]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = nats
        .iter()
        .filter(|n| n.kind != NatKind::Snat)
        .map(|n| n.external)
        .filter(|ip| !lb_ips.contains(ip))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The router-wide NAT flows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn router_nat_flows(
    nats: &[ParsedNat],
    is_gateway: bool,
    force_snat_dnat: bool,
    dgp: Option<&crate::dgp::RouterDgp>,
    ct_flag: &str,
    arp_reply: &str,
    f: &mut FlowBuilder,
) {
    if nats.is_empty() {
        return;
    }
    // Replies to DNATed traffic leave through the SNAT zone of the gateway too.
    f.add(
        Stage::LrOutChkDnatLocal,
        50,
        format!("ip && {ct_flag}.natted == 1"),
        "reg9[4] = 1; next;",
    );
    // ARP/ND for every NAT address (each once): answered with the receiving port's MAC.
    for n in nats {
        match n.external {
            IpAddr::V4(ext) => f.add(
                Stage::LrInIpInput,
                90,
                format!("arp.op == 1 && arp.tpa == {ext}"),
                arp_reply,
            ),
            IpAddr::V6(ext) => f.add(
                Stage::LrInIpInput,
                90,
                format!(
                    "ip6.dst == {{{ext}, {}}} && nd_ns && nd.target == {ext}",
                    crate::addresses::solicited_node(&ext)
                ),
                "nd_na { eth.src = xreg0[0..47]; ip6.src = nd.target; nd.tll = xreg0[0..47]; \
                 outport = inport; flags.loopback = 1; output; };",
            ),
        }
    }
    if !is_gateway {
        if let Some(d) = dgp {
            crate::dgp::router_flows(d, nats, f);
        }
        return;
    }
    for n in nats {
        let ext = n.external;
        let v = if ext.is_ipv4() { "4" } else { "6" };
        if n.snats() {
            let action = if n.stateless { "next;" } else { "ct_snat;" };
            f.add(Stage::LrInUnsnat, 90, format!("ip && ip{v}.dst == {ext}"), action);
        }
        let range = if n.port_range.is_empty() {
            String::new()
        } else {
            format!(",{}", n.port_range)
        };
        if n.dnats() {
            // A DNATed connection leaves with `dnat_force_snat_ip` as its source.
            let force = if force_snat_dnat {
                "flags.force_snat_for_dnat = 1; "
            } else {
                ""
            };
            let action = if n.stateless {
                format!("{force}flags.loopback = 1; ip{v}.dst={}; next;", n.logical)
            } else {
                format!("{force}flags.loopback = 1; ct_dnat({}{range});", n.logical)
            };
            f.add(Stage::LrInDnat, 100, format!("ip && ip{v}.dst == {ext}"), action);
        }
        if n.snats() {
            // The longest logical prefix wins.
            let prio = u16::from(n.logical_plen) + 1;
            let m = format!("ip && ip{v}.src == {}", n.logical);
            if n.stateless {
                f.add(Stage::LrOutSnat, prio, m, format!("ip{v}.src={ext}; next;"));
            } else {
                f.add(
                    Stage::LrOutSnat,
                    prio,
                    format!("{m} && (!ct.trk || !ct.rpl)"),
                    format!("ct_snat({ext}{range});"),
                );
            }
        }
    }
}

/// `build_lrouter_force_snat_flows`: a gateway router's `dnat_force_snat_ip` and
/// `lb_force_snat_ip` addresses SNAT what was DNATed or load balanced, and replies to
/// them are unSNATed.
pub(crate) fn force_snat_flows(fs: &crate::topology::ForceSnat, f: &mut FlowBuilder) {
    for (ips, context) in [(&fs.dnat, "dnat"), (&fs.lb, "lb")] {
        for ip in ips {
            let v = if ip.is_ipv4() { "4" } else { "6" };
            f.add(
                Stage::LrInUnsnat,
                110,
                format!("ip{v} && ip{v}.dst == {ip}"),
                "ct_snat;",
            );
            f.add(
                Stage::LrOutSnat,
                100,
                format!("flags.force_snat_for_{context} == 1 && ip{v}"),
                format!("ct_snat({ip});"),
            );
        }
    }
}

/// `build_lrouter_force_snat_flows_op`: with `lb_force_snat_ip=router_ip`, load balanced
/// traffic leaving by a port takes the port's first IPv4 / IPv6 address.
pub(crate) fn port_force_snat_flows(n: &LrpNetworks, key: &str, f: &mut FlowBuilder) {
    // The IPv6 list always ends with the port's link-local address, which does not count.
    let v6 = if n.ipv6.len() > 1 { n.ipv6.first() } else { None };
    for (c, v) in [(n.ipv4.first(), "4"), (v6, "6")] {
        let Some(c) = c else { continue };
        let ip = c.addr;
        f.add(
            Stage::LrInUnsnat,
            110,
            format!("inport == {key} && ip{v}.dst == {ip}"),
            "ct_snat;",
        );
        f.add(
            Stage::LrOutSnat,
            110,
            format!("flags.force_snat_for_lb == 1 && ip{v} && outport == {key}"),
            format!("ct_snat({ip});"),
        );
    }
}
