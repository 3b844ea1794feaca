//! Conversion of compiled flows and groups into the `openflow` crate's
//! codec types, ready to be sent to the switch.

use openflow as ofp;

use crate::Error;
use crate::of::{Action, Ct, Field, Flow, Group, Learn, LearnSpec, Nat, Selection, SubField};

/// The codec's field for one of ours.  `ip.dscp` is carried as `nw_tos`
/// (DSCP in the upper six bits), which is how the codec models it.
pub fn field(f: Field) -> ofp::Field {
    use Field::*;
    match f {
        CtState => ofp::Field::CtState,
        CtMark => ofp::Field::CtMark,
        CtLabel => ofp::Field::CtLabel,
        PktMark => ofp::Field::PktMark,
        Reg(n) => ofp::Field::Reg(n),
        Xreg(n) => ofp::Field::Xreg(n),
        Xxreg(n) => ofp::Field::Xxreg(n),
        Metadata => ofp::Field::Metadata,
        InPort => ofp::Field::InPort,
        VlanTci => ofp::Field::VlanTci,
        EthSrc => ofp::Field::EthSrc,
        EthDst => ofp::Field::EthDst,
        EthType => ofp::Field::EthType,
        Ipv4Src => ofp::Field::Ipv4Src,
        Ipv4Dst => ofp::Field::Ipv4Dst,
        Ipv6Src => ofp::Field::Ipv6Src,
        Ipv6Dst => ofp::Field::Ipv6Dst,
        Ipv6Label => ofp::Field::Ipv6Label,
        ArpSpa => ofp::Field::ArpSpa,
        ArpTpa => ofp::Field::ArpTpa,
        IpProto => ofp::Field::IpProto,
        IpDscp => ofp::Field::IpTos,
        IpEcn => ofp::Field::IpEcn,
        IpTtl => ofp::Field::IpTtl,
        IpFrag => ofp::Field::IpFrag,
        ArpOp => ofp::Field::ArpOp,
        ArpSha => ofp::Field::ArpSha,
        ArpTha => ofp::Field::ArpTha,
        TcpSrc => ofp::Field::TcpSrc,
        TcpDst => ofp::Field::TcpDst,
        UdpSrc => ofp::Field::UdpSrc,
        UdpDst => ofp::Field::UdpDst,
        SctpSrc => ofp::Field::SctpSrc,
        SctpDst => ofp::Field::SctpDst,
        Icmpv4Type => ofp::Field::Icmpv4Type,
        Icmpv4Code => ofp::Field::Icmpv4Code,
        Icmpv6Type => ofp::Field::Icmpv6Type,
        Icmpv6Code => ofp::Field::Icmpv6Code,
        NdTarget => ofp::Field::NdTarget,
        NdSll => ofp::Field::NdSll,
        NdTll => ofp::Field::NdTll,
        TcpFlags => ofp::Field::TcpFlags,
    }
}

/// Values of our 6-bit DSCP field sit in the codec's `nw_tos` shifted by 2.
fn value(f: Field, v: u128) -> u128 {
    if f == Field::IpDscp { v << 2 } else { v }
}

fn subfield(s: &SubField) -> ofp::SubField {
    let shift = if s.field == Field::IpDscp { 2 } else { 0 };
    ofp::SubField {
        field: field(s.field),
        ofs: (s.ofs + shift) as u16,
        n_bits: s.n_bits as u16,
    }
}

fn nat(n: &Nat) -> ofp::Nat {
    let (kind, target) = match n {
        Nat::Existing => (None, None),
        Nat::Src(t) => (Some(ofp::NatKind::Src), t.as_ref()),
        Nat::Dst(t) => (Some(ofp::NatKind::Dst), t.as_ref()),
    };
    ofp::Nat {
        kind,
        addr: target.map(|t| (t.ip, t.ip_max)),
        ports: target
            .and_then(|t| t.port)
            .map(|(lo, hi)| (lo, (hi != lo).then_some(hi))),
        persistent: target.is_some_and(|t| t.flags.contains(&"persistent")),
        hash: target.is_some_and(|t| t.flags.contains(&"hash")),
        random: target.is_some_and(|t| t.flags.contains(&"random")),
    }
}

fn ct(c: &Ct) -> Result<ofp::Ct, Error> {
    Ok(ofp::Ct {
        commit: c.commit,
        force: false,
        table: c.table,
        zone: ofp::CtZone::Field(subfield(&c.zone)),
        alg: 0,
        nat: c.nat.as_ref().map(nat),
        exec: actions(&c.exec)?,
    })
}

fn learn(l: &Learn) -> ofp::Learn {
    let specs = l
        .specs
        .iter()
        .map(|s| match s {
            LearnSpec::MatchField(sf) => ofp::LearnSpec::match_field(subfield(sf)),
            // OVN leaves the source width unset; the wire has one width,
            // the destination's.
            LearnSpec::MatchFrom { dst, src } => ofp::LearnSpec::match_from(subfield(dst), subfield(src)),
            LearnSpec::MatchImm { field: f, value: v } => ofp::LearnSpec::match_imm(field(*f), value(*f, *v)),
            LearnSpec::LoadImm { value: v, dst } => ofp::LearnSpec::load_imm(*v, subfield(dst)),
        })
        .collect();
    ofp::Learn {
        table: l.table,
        idle_timeout: l.idle_timeout,
        hard_timeout: l.hard_timeout,
        delete_learned: l.delete_learned,
        specs,
        ..ofp::Learn::default()
    }
}

/// Converts an action list.  Fails only for what the codec rejects by
/// construction (none of the actions the compiler emits today).
pub fn actions(acts: &[Action]) -> Result<Vec<ofp::Action>, Error> {
    acts.iter().map(action).collect()
}

fn action(a: &Action) -> Result<ofp::Action, Error> {
    Ok(match a {
        Action::SetField {
            field: f,
            value: v,
            mask,
        } => {
            let full = crate::of::ones(f.width());
            ofp::Action::SetField {
                field: field(*f),
                value: value(*f, *v),
                mask: mask.filter(|m| *m != full).map(|m| value(*f, m)),
            }
        }
        Action::Move { src, dst } => ofp::Action::Move {
            src: subfield(src),
            dst: subfield(dst),
        },
        Action::Push(s) => ofp::Action::Push(subfield(s)),
        Action::Pop(s) => ofp::Action::Pop(subfield(s)),
        Action::Resubmit(t) => ofp::Action::Resubmit {
            in_port: None,
            table: Some(*t),
        },
        Action::DecTtl => ofp::Action::DecTtl,
        Action::Ct(c) => ofp::Action::Ct(ct(c)?),
        Action::CtClear => ofp::Action::CtClear,
        Action::Clone(inner) => ofp::Action::Clone(actions(inner)?),
        Action::Group(g) => ofp::Action::Group(*g),
        Action::Controller {
            userdata,
            pause,
            meter_id,
        } => ofp::Action::Controller(ofp::Controller {
            userdata: userdata.clone(),
            pause: *pause,
            meter_id: *meter_id,
            ..ofp::Controller::default()
        }),
        // Ours counts clauses from 1 as ovs-ofctl prints them; the wire is 0-based.
        Action::Conjunction {
            id,
            clause,
            n_clauses,
        } => ofp::Action::Conjunction {
            id: *id,
            clause: clause.saturating_sub(1),
            n_clauses: *n_clauses,
        },
        Action::CheckPktLarger { len, dst } => ofp::Action::CheckPktLarger {
            pkt_len: *len,
            dst: subfield(dst),
        },
        Action::SetQueue(q) => ofp::Action::SetQueue(*q),
        Action::Meter(m) => ofp::Action::Meter(*m),
        Action::Learn(l) => ofp::Action::Learn(learn(l)),
        Action::Sample {
            probability,
            collector_set_id,
            obs_domain_id,
            obs_point_id,
        } => ofp::Action::Sample(ofp::Sample {
            probability: *probability,
            collector_set_id: *collector_set_id,
            obs_domain_id: *obs_domain_id,
            obs_point_id: *obs_point_id,
        }),
    })
}

/// Converts a match (including `conj_id`).
pub fn matches(m: &crate::of::Match) -> ofp::Match {
    let mut out = ofp::Match::new();
    for (f, (v, mask)) in &m.fields {
        out.set_masked(field(*f), value(*f, *v), value(*f, *mask));
    }
    if let Some(id) = m.conj_id {
        out.set(ofp::Field::ConjId, id as u128);
    }
    out
}

/// An `ADD` flow mod for a compiled flow; `cookie` is what ovn-controller
/// uses: the first 32 bits of the logical flow's UUID.
pub fn flow_mod(f: &Flow, cookie: u64) -> Result<ofp::FlowMod, Error> {
    let mut fm = ofp::FlowMod::add(f.table, f.priority, matches(&f.matches), actions(&f.actions)?);
    fm.cookie = cookie;
    Ok(fm)
}

/// An `ADD` group mod for a load-balancer group.
pub fn group_mod(g: &Group, group_id: u32) -> Result<ofp::GroupMod, Error> {
    let mut buckets = Vec::new();
    for (i, b) in g.buckets.iter().enumerate() {
        let mut ob = ofp::Bucket::new(i as u32, actions(&b.actions)?);
        ob.weight = Some(b.weight);
        ob.watch_port = b.watch_port;
        buckets.push(ob);
    }
    let mut gm = ofp::GroupMod::add(group_id, ofp::GroupType::Select, buckets);
    let (method, fields) = match &g.selection {
        Selection::DpHash => ("dp_hash", vec![]),
        Selection::Hash(names) => (
            "hash",
            names
                .split(',')
                .filter_map(|n| ofp::Field::from_name(n.trim()))
                .collect(),
        ),
    };
    gm.selection_method = Some(ofp::SelectionMethod {
        method: method.into(),
        param: g.selection_param,
        fields,
    });
    Ok(gm)
}
