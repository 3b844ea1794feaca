//! Load-balancer hairpin tables 68–70 (`chk_lb_hairpin()`,
//! `chk_lb_hairpin_reply()`, `ct_snat_to_vip`), from SB Load_Balancer rows
//! of local datapaths.
//!
//! Tables 68 and 70 are what ovn-controller 23.03 installs, except that its
//! table-68 flows also `learn` the exact reply flow into table 69, which the
//! OpenFlow codec cannot express. Table 69 therefore gets static flows that
//! match replies from a backend (source = backend address and port) to the
//! VIP, which is what the learned flows match too, minus the client port.

use std::net::{IpAddr, Ipv6Addr};

use openflow::{Action, Ct, CtZone, Field, Match, Nat, NatKind, SubField};

use super::flow_table::Flow;
use super::local::Topology;
use super::tables::LOG_FLAGS;

pub const CHK_LB_HAIRPIN: u8 = 68;
pub const CHK_LB_HAIRPIN_REPLY: u8 = 69;
pub const CT_SNAT_HAIRPIN: u8 = 70;

/// `flags` bit set by a hairpin match (reg10[7]).
const FLAG_LB_HAIRPIN: u128 = 1 << 7;
/// `ct_mark.natted`.
const CT_MARK_NATTED: u128 = 0x2;

/// `"IP[:PORT]"` / `"[IPv6]:PORT"` → (address, port or 0).
pub fn parse_endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, port) = rest.split_once(']')?;
        let ip: Ipv6Addr = ip.parse().ok()?;
        let port = match port.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if port.is_empty() => 0,
            None => return None,
        };
        return Some((IpAddr::V6(ip), port));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some((ip, 0));
    }
    let (ip, port) = s.rsplit_once(':')?;
    Some((IpAddr::V4(ip.parse().ok()?), port.parse().ok()?))
}

fn ip_proto(protocol: Option<&str>) -> u128 {
    match protocol {
        Some("udp") => 17,
        Some("sctp") => 132,
        _ => 6,
    }
}

fn l4_dst(proto: u128) -> Field {
    match proto {
        17 => Field::UdpDst,
        132 => Field::SctpDst,
        _ => Field::TcpDst,
    }
}

fn l4_src(proto: u128) -> Field {
    match proto {
        17 => Field::UdpSrc,
        132 => Field::SctpSrc,
        _ => Field::TcpSrc,
    }
}

/// Match on the VIP saved by `ls_in_pre_stateful` (`reg1 = VIP;
/// reg2[0..15] = port;`, or `xxreg1` for IPv6) plus protocol.
fn vip_match(vip: IpAddr, port: u16, proto: u128) -> Match {
    let mut m = Match::new();
    match vip {
        IpAddr::V4(a) => {
            m.set(Field::EthType, 0x0800);
            m.set(Field::Reg(1), u128::from(u32::from(a)));
        }
        IpAddr::V6(a) => {
            m.set(Field::EthType, 0x86dd);
            m.set(Field::Xxreg(1), u128::from(a));
        }
    }
    if port != 0 {
        m.set(Field::IpProto, proto);
        m.set_masked(Field::Reg(2), u128::from(port), 0xffff);
    }
    m
}

fn set_addr(m: Match, src: bool, ip: IpAddr) -> Match {
    match (ip, src) {
        (IpAddr::V4(a), true) => m.with(Field::Ipv4Src, u128::from(u32::from(a))),
        (IpAddr::V4(a), false) => m.with(Field::Ipv4Dst, u128::from(u32::from(a))),
        (IpAddr::V6(a), true) => m.with(Field::Ipv6Src, u128::from(a)),
        (IpAddr::V6(a), false) => m.with(Field::Ipv6Dst, u128::from(a)),
    }
}

/// Hairpin flows for every load balancer applied to a local datapath.
pub fn hairpin_flows(topo: &Topology<'_>, t: &mut Vec<Flow>) {
    let set_flag = || Action::SetField {
        field: LOG_FLAGS,
        value: FLAG_LB_HAIRPIN,
        mask: Some(FLAG_LB_HAIRPIN),
    };
    for lb in &topo.state.load_balancers {
        if !lb.datapaths.iter().any(|d| topo.local_datapaths.contains(d)) {
            continue;
        }
        let proto = ip_proto(lb.protocol.as_deref());
        for (vip_s, backends) in &lb.vips {
            let Some((vip, vport)) = parse_endpoint(vip_s) else {
                continue;
            };
            for b in backends.split(',').filter(|b| !b.trim().is_empty()) {
                let Some((bip, bport)) = parse_endpoint(b) else {
                    continue;
                };
                if bip.is_ipv4() != vip.is_ipv4() {
                    continue;
                }
                // Table 68: a client that is its own backend.
                let mut m =
                    vip_match(vip, vport, proto).with_masked(Field::CtMark, CT_MARK_NATTED, CT_MARK_NATTED);
                m = set_addr(set_addr(m, true, bip), false, bip);
                if bport != 0 {
                    m.set(Field::IpProto, proto);
                    m.set(l4_dst(proto), u128::from(bport));
                }
                t.push(Flow::new(CHK_LB_HAIRPIN, 100, m, vec![set_flag()]));
                // Table 69: the backend's reply to the VIP (SNATed client).
                let mut m = Match::new().with(Field::EthType, if vip.is_ipv4() { 0x0800 } else { 0x86dd });
                m = set_addr(set_addr(m, true, bip), false, vip);
                if bport != 0 {
                    m.set(Field::IpProto, proto);
                    m.set(l4_src(proto), u128::from(bport));
                }
                t.push(Flow::new(CHK_LB_HAIRPIN_REPLY, 100, m, vec![set_flag()]));
            }
            // Table 70: SNAT hairpinned traffic to the VIP.
            t.push(Flow::new(
                CT_SNAT_HAIRPIN,
                100,
                vip_match(vip, vport, proto),
                vec![Action::Ct(Ct {
                    commit: true,
                    zone: CtZone::Field(SubField::range(Field::Reg(12), 0, 15)),
                    nat: Some(Nat {
                        kind: Some(NatKind::Src),
                        addr: Some((vip, None)),
                        ..Nat::default()
                    }),
                    ..Ct::default()
                })],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::of::flow_table::FlowTable;
    use crate::of::local::tests::sample;
    use crate::of::state::LoadBalancer;

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("10.0.1.100:80"),
            Some(("10.0.1.100".parse().unwrap(), 80))
        );
        assert_eq!(
            parse_endpoint(" 10.0.1.11 "),
            Some(("10.0.1.11".parse().unwrap(), 0))
        );
        assert_eq!(
            parse_endpoint("[fd00::1]:443"),
            Some(("fd00::1".parse().unwrap(), 443))
        );
        assert_eq!(parse_endpoint("fd00::1"), Some(("fd00::1".parse().unwrap(), 0)));
        assert_eq!(parse_endpoint("[fd00::1"), None);
        assert_eq!(parse_endpoint("x:80"), None);
        assert_eq!(parse_endpoint(""), None);
    }

    #[test]
    fn flows_like_ovn_controller() {
        let mut s = sample();
        s.load_balancers.push(LoadBalancer {
            vips: [(
                "10.0.1.100:80".to_string(),
                "10.0.1.11:8080,10.0.1.12:8080".to_string(),
            )]
            .into(),
            protocol: Some("tcp".into()),
            datapaths: vec![1],
        });
        s.load_balancers.push(LoadBalancer {
            vips: [("10.9.9.9:80".to_string(), "10.9.0.1:80".to_string())].into(),
            protocol: None,
            datapaths: vec![9],
        });
        let mut v = Vec::new();
        hairpin_flows(&Topology::new(&s), &mut v);
        let t: FlowTable = v.into_iter().collect();
        let lines: Vec<String> = t.flows().iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines.contains(
            &"table=68,priority=100,tcp,reg1=0xa000164,reg2=0x50/0xffff,ct_mark=0x2/0x2,nw_src=10.0.1.11,\
              nw_dst=10.0.1.11,tp_dst=8080 actions=set_field:0x80/0x80->reg10"
                .to_string()
        ));
        assert!(
            lines.contains(
                &"table=70,priority=100,tcp,reg1=0xa000164,reg2=0x50/0xffff \
              actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=10.0.1.100))"
                    .to_string()
            )
        );
        assert!(
            lines.iter().any(|l| l.starts_with("table=69,")
                && l.contains("nw_src=10.0.1.12,nw_dst=10.0.1.100,tp_src=8080"))
        );
    }
}
