//! The compiler's OpenFlow output: fields, matches, actions, and their
//! `ovs-ofctl` text rendering.
//!
//! # Why lflow has its own model rather than `openflow`'s types
//!
//! The wire encoding is *not* duplicated: controller userdata and
//! everything sent to the switch go through the `openflow` codec
//! ([`crate::to_openflow`]).  What stays separate is the value model and its
//! text, for reasons the codec's types cannot serve without changing them
//! for everyone else:
//!
//! - **Text identical to OVS 3.1's `dump-flows`.**  The golden files and the
//!   comparison with the real ovn-controller compare text.  This model
//!   prints fields in OVS's order with protocol shorthands (`tcp6,reg14=…,
//!   metadata=…`), `dec_ttl()`, 1-based conjunction clauses, OVN's
//!   zero-width learn sources (`NXM_OF_IP_DST[0..-1]`) and
//!   `NXM_OF_IN_PORT`; the codec prints its own canonical form (sorted by
//!   its field order, `OXM_OF_IN_PORT`), which its parser reads back.
//! - **OVN's field semantics.**  `ip.dscp` is OVS's 6-bit
//!   `MFF_IP_DSCP_SHIFTED`; the codec has only the 8-bit `nw_tos` (DSCP in
//!   the upper bits), so values shift on conversion.  `xreg`/`xxreg`
//!   matches are split into 32-bit registers here, as OVS reports them.
//! - **Cost.**  Conversion happens once per flow installed, outside the
//!   compile hot path (and cached results are cloned in this model's
//!   shape), so using the codec's types directly would not make compiling
//!   faster; it would only move the differences above into the codec.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

/// OpenFlow fields used by OVN logical flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    CtState,
    CtMark,
    CtLabel,
    PktMark,
    /// 32-bit register `regN` (0..=15).
    Reg(u8),
    /// 64-bit register `xregN` (= reg 2N ‖ reg 2N+1); actions only.
    Xreg(u8),
    /// 128-bit register `xxregN` (= reg 4N .. reg 4N+3); actions only.
    Xxreg(u8),
    Metadata,
    InPort,
    VlanTci,
    EthSrc,
    EthDst,
    EthType,
    Ipv4Src,
    Ipv4Dst,
    Ipv6Src,
    Ipv6Dst,
    Ipv6Label,
    ArpSpa,
    ArpTpa,
    IpProto,
    IpDscp,
    IpEcn,
    IpTtl,
    IpFrag,
    ArpOp,
    ArpSha,
    ArpTha,
    TcpSrc,
    TcpDst,
    UdpSrc,
    UdpDst,
    SctpSrc,
    SctpDst,
    Icmpv4Type,
    Icmpv4Code,
    Icmpv6Type,
    Icmpv6Code,
    NdTarget,
    NdSll,
    NdTll,
    TcpFlags,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Hex,
    Dec,
    Mac,
    Ip4,
    Ip6,
}

impl Field {
    pub fn width(self) -> u32 {
        use Field::*;
        match self {
            CtState => 32,
            CtMark | PktMark | Reg(_) => 32,
            CtLabel | Xxreg(_) | Ipv6Src | Ipv6Dst | NdTarget => 128,
            Xreg(_) | Metadata => 64,
            InPort => 32,
            VlanTci | EthType | TcpSrc | TcpDst | UdpSrc | UdpDst | SctpSrc | SctpDst | ArpOp => 16,
            EthSrc | EthDst | ArpSha | ArpTha | NdSll | NdTll => 48,
            Ipv4Src | Ipv4Dst | ArpSpa | ArpTpa => 32,
            Ipv6Label => 20,
            IpProto | IpTtl | IpFrag | Icmpv4Type | Icmpv4Code | Icmpv6Type | Icmpv6Code => 8,
            IpDscp => 6,
            IpEcn => 2,
            TcpFlags => 12,
        }
    }

    fn fmt(self) -> Fmt {
        use Field::*;
        match self {
            EthSrc | EthDst | ArpSha | ArpTha | NdSll | NdTll => Fmt::Mac,
            Ipv4Src | Ipv4Dst | ArpSpa | ArpTpa => Fmt::Ip4,
            Ipv6Src | Ipv6Dst | NdTarget => Fmt::Ip6,
            TcpSrc | TcpDst | UdpSrc | UdpDst | SctpSrc | SctpDst | IpProto | IpTtl | ArpOp | Icmpv4Type
            | Icmpv4Code | Icmpv6Type | Icmpv6Code | IpDscp | IpEcn => Fmt::Dec,
            _ => Fmt::Hex,
        }
    }

    /// Name used by `ovs-ofctl` in a match.
    fn match_name(self) -> String {
        use Field::*;
        match self {
            CtState => "ct_state".into(),
            CtMark => "ct_mark".into(),
            CtLabel => "ct_label".into(),
            PktMark => "pkt_mark".into(),
            Reg(n) => format!("reg{n}"),
            Xreg(n) => format!("xreg{n}"),
            Xxreg(n) => format!("xxreg{n}"),
            Metadata => "metadata".into(),
            InPort => "in_port".into(),
            VlanTci => "vlan_tci".into(),
            EthSrc => "dl_src".into(),
            EthDst => "dl_dst".into(),
            EthType => "dl_type".into(),
            Ipv4Src => "nw_src".into(),
            Ipv4Dst => "nw_dst".into(),
            Ipv6Src => "ipv6_src".into(),
            Ipv6Dst => "ipv6_dst".into(),
            Ipv6Label => "ipv6_label".into(),
            ArpSpa => "arp_spa".into(),
            ArpTpa => "arp_tpa".into(),
            IpProto => "nw_proto".into(),
            IpDscp => "nw_tos".into(),
            IpEcn => "nw_ecn".into(),
            IpTtl => "nw_ttl".into(),
            IpFrag => "nw_frag".into(),
            ArpOp => "arp_op".into(),
            ArpSha => "arp_sha".into(),
            ArpTha => "arp_tha".into(),
            TcpSrc | UdpSrc | SctpSrc => "tp_src".into(),
            TcpDst | UdpDst | SctpDst => "tp_dst".into(),
            Icmpv4Type | Icmpv6Type => "icmp_type".into(),
            Icmpv4Code | Icmpv6Code => "icmp_code".into(),
            NdTarget => "nd_target".into(),
            NdSll => "nd_sll".into(),
            NdTll => "nd_tll".into(),
            TcpFlags => "tcp_flags".into(),
        }
    }

    /// Name used by `ovs-ofctl` as a `set_field` destination.
    fn set_name(self) -> String {
        use Field::*;
        match self {
            EthSrc => "eth_src".into(),
            EthDst => "eth_dst".into(),
            EthType => "eth_type".into(),
            Ipv4Src => "ip_src".into(),
            Ipv4Dst => "ip_dst".into(),
            IpProto => "nw_proto".into(),
            IpDscp => "ip_dscp".into(),
            IpFrag => "ip_frag".into(),
            TcpSrc => "tcp_src".into(),
            TcpDst => "tcp_dst".into(),
            UdpSrc => "udp_src".into(),
            UdpDst => "udp_dst".into(),
            SctpSrc => "sctp_src".into(),
            SctpDst => "sctp_dst".into(),
            Icmpv4Type => "icmp_type".into(),
            Icmpv4Code => "icmp_code".into(),
            Icmpv6Type => "icmpv6_type".into(),
            Icmpv6Code => "icmpv6_code".into(),
            other => other.match_name(),
        }
    }

    /// NXM/OXM name used in `move`, `push` and `pop`.
    fn nxm_name(self) -> String {
        use Field::*;
        match self {
            CtState => "NXM_NX_CT_STATE".into(),
            CtMark => "NXM_NX_CT_MARK".into(),
            CtLabel => "NXM_NX_CT_LABEL".into(),
            PktMark => "NXM_NX_PKT_MARK".into(),
            Reg(n) => format!("NXM_NX_REG{n}"),
            Xreg(n) => format!("OXM_OF_PKT_REG{n}"),
            Xxreg(n) => format!("NXM_NX_XXREG{n}"),
            Metadata => "OXM_OF_METADATA".into(),
            InPort => "NXM_OF_IN_PORT".into(),
            VlanTci => "NXM_OF_VLAN_TCI".into(),
            EthSrc => "NXM_OF_ETH_SRC".into(),
            EthDst => "NXM_OF_ETH_DST".into(),
            EthType => "NXM_OF_ETH_TYPE".into(),
            Ipv4Src => "NXM_OF_IP_SRC".into(),
            Ipv4Dst => "NXM_OF_IP_DST".into(),
            Ipv6Src => "NXM_NX_IPV6_SRC".into(),
            Ipv6Dst => "NXM_NX_IPV6_DST".into(),
            Ipv6Label => "NXM_NX_IPV6_LABEL".into(),
            ArpSpa => "NXM_OF_ARP_SPA".into(),
            ArpTpa => "NXM_OF_ARP_TPA".into(),
            IpProto => "NXM_OF_IP_PROTO".into(),
            IpDscp => "NXM_OF_IP_TOS".into(),
            IpEcn => "NXM_NX_IP_ECN".into(),
            IpTtl => "NXM_NX_IP_TTL".into(),
            IpFrag => "NXM_NX_IP_FRAG".into(),
            ArpOp => "NXM_OF_ARP_OP".into(),
            ArpSha => "NXM_NX_ARP_SHA".into(),
            ArpTha => "NXM_NX_ARP_THA".into(),
            TcpSrc => "NXM_OF_TCP_SRC".into(),
            TcpDst => "NXM_OF_TCP_DST".into(),
            UdpSrc => "NXM_OF_UDP_SRC".into(),
            UdpDst => "NXM_OF_UDP_DST".into(),
            SctpSrc => "OXM_OF_SCTP_SRC".into(),
            SctpDst => "OXM_OF_SCTP_DST".into(),
            Icmpv4Type => "NXM_OF_ICMP_TYPE".into(),
            Icmpv4Code => "NXM_OF_ICMP_CODE".into(),
            Icmpv6Type => "NXM_NX_ICMPV6_TYPE".into(),
            Icmpv6Code => "NXM_NX_ICMPV6_CODE".into(),
            NdTarget => "NXM_NX_ND_TARGET".into(),
            NdSll => "NXM_NX_ND_SLL".into(),
            NdTll => "NXM_NX_ND_TLL".into(),
            TcpFlags => "NXM_NX_TCP_FLAGS".into(),
        }
    }

    fn format_value(self, v: u128) -> String {
        match self.fmt() {
            Fmt::Mac => fmt_mac(v),
            Fmt::Ip4 => Ipv4Addr::from(v as u32).to_string(),
            Fmt::Ip6 => Ipv6Addr::from(v).to_string(),
            Fmt::Dec => v.to_string(),
            Fmt::Hex => fmt_hex(v),
        }
    }

    fn all_ones(self) -> u128 {
        ones(self.width())
    }
}

pub(crate) fn ones(w: u32) -> u128 {
    if w >= 128 { u128::MAX } else { (1u128 << w) - 1 }
}

fn fmt_hex(v: u128) -> String {
    if v == 0 { "0".into() } else { format!("{v:#x}") }
}

fn fmt_mac(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

/// CIDR prefix length if `mask` is a prefix mask of `width` bits.
fn prefix_len(mask: u128, width: u32) -> Option<u32> {
    let m = mask << (128 - width);
    let n = m.leading_ones();
    (m.checked_shl(n).unwrap_or(0) == 0).then_some(n)
}

/// A set of (field, value, mask) constraints.  Registers are always kept at
/// 32-bit granularity, as OpenFlow matches them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Match {
    pub fields: BTreeMap<Field, (u128, u128)>,
    pub conj_id: Option<u32>,
}

impl Match {
    /// Adds `field & mask == value`; returns false if that contradicts what
    /// the match already requires.
    pub fn add(&mut self, field: Field, value: u128, mask: u128) -> bool {
        let mask = mask & field.all_ones();
        let value = value & mask;
        if mask == 0 {
            return true;
        }
        let e = self.fields.entry(field).or_insert((0, 0));
        if (e.0 ^ value) & e.1 & mask != 0 {
            return false;
        }
        e.0 |= value;
        e.1 |= mask;
        true
    }

    pub fn get(&self, field: Field) -> Option<(u128, u128)> {
        self.fields.get(&field).copied()
    }
}

fn proto_shorthand(m: &Match) -> Option<&'static str> {
    let (ty, tm) = m.get(Field::EthType)?;
    if tm != 0xffff {
        return None;
    }
    let proto = m.get(Field::IpProto).filter(|p| p.1 == 0xff).map(|p| p.0);
    Some(match (ty, proto) {
        (0x0800, Some(1)) => "icmp",
        (0x0800, Some(2)) => "igmp",
        (0x0800, Some(6)) => "tcp",
        (0x0800, Some(17)) => "udp",
        (0x0800, Some(132)) => "sctp",
        (0x0800, _) => "ip",
        (0x86dd, Some(58)) => "icmp6",
        (0x86dd, Some(6)) => "tcp6",
        (0x86dd, Some(17)) => "udp6",
        (0x86dd, Some(132)) => "sctp6",
        (0x86dd, _) => "ipv6",
        (0x0806, _) => "arp",
        (0x8035, _) => "rarp",
        _ => return None,
    })
}

const CT_FLAGS: [&str; 8] = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"];

impl fmt::Display for Match {
    /// Renders the match the way `ovs-ofctl` does (same field order and value
    /// syntax), without a trailing comma.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(id) = self.conj_id {
            parts.push(format!("conj_id={id}"));
        }
        let short = proto_shorthand(self);
        let shorthand_proto = matches!(short, Some(s) if !matches!(s, "ip" | "ipv6" | "arp" | "rarp"));
        let push = |field: Field, parts: &mut Vec<String>| {
            let Some((v, m)) = self.get(field) else { return };
            if field == Field::EthType && short.is_some() || field == Field::IpProto && shorthand_proto {
                return;
            }
            parts.push(format_field_match(field, v, m));
        };
        for fld in [Field::PktMark, Field::CtState, Field::CtMark, Field::CtLabel] {
            push(fld, &mut parts);
        }
        if let Some(s) = short {
            parts.push(s.to_string());
        }
        for r in 0..16 {
            push(Field::Reg(r), &mut parts);
        }
        use Field::*;
        for fld in [
            Metadata, InPort, VlanTci, EthSrc, EthDst, EthType, Ipv6Src, Ipv6Dst, Ipv6Label, Ipv4Src,
            Ipv4Dst, ArpSpa, ArpTpa, IpProto, IpDscp, IpEcn, IpTtl, IpFrag, ArpOp, ArpSha, ArpTha, TcpSrc,
            UdpSrc, SctpSrc, TcpDst, UdpDst, SctpDst, Icmpv4Type, Icmpv6Type, Icmpv4Code, Icmpv6Code,
            NdTarget, NdSll, NdTll, TcpFlags,
        ] {
            push(fld, &mut parts);
        }
        f.write_str(&parts.join(","))
    }
}

fn format_field_match(field: Field, v: u128, m: u128) -> String {
    let name = field.match_name();
    let full = field.all_ones();
    if field == Field::CtState {
        let mut s = String::new();
        for (i, n) in CT_FLAGS.iter().enumerate() {
            if m & (1 << i) != 0 {
                s.push(if v & (1 << i) != 0 { '+' } else { '-' });
                s.push_str(n);
            }
        }
        return format!("{name}={s}");
    }
    if field == Field::IpFrag {
        let s = match (v & 3, m & 3) {
            (0, 3) => "no",
            (1, 3) => "first",
            (3, 3) => "later",
            (0, 1) => "no",
            (1, 1) => "yes",
            (0, 2) => "not_later",
            (2, 2) => "later",
            _ => return format!("{name}={}/{}", fmt_hex(v), fmt_hex(m)),
        };
        return format!("{name}={s}");
    }
    if m == full {
        return format!("{name}={}", field.format_value(v));
    }
    match field.fmt() {
        Fmt::Ip4 | Fmt::Ip6 => match prefix_len(m, field.width()) {
            Some(p) => format!("{name}={}/{p}", field.format_value(v)),
            None => format!("{name}={}/{}", field.format_value(v), field.format_value(m)),
        },
        Fmt::Mac => format!("{name}={}/{}", fmt_mac(v), fmt_mac(m)),
        Fmt::Dec | Fmt::Hex => format!("{name}={}/{}", fmt_hex(v), fmt_hex(m)),
    }
}

/// A bit range of a field, as used by `move`, `push`, `pop` and `ct(zone=)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubField {
    pub field: Field,
    pub ofs: u32,
    pub n_bits: u32,
}

impl SubField {
    pub fn whole(field: Field) -> Self {
        SubField {
            field,
            ofs: 0,
            n_bits: field.width(),
        }
    }
}

impl fmt::Display for SubField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.field.nxm_name();
        if self.n_bits == 0 {
            // OVN leaves some learn() source subfields zero-width; ovs-ofctl
            // prints those as `[OFS..OFS-1]`.
            write!(f, "{name}[{}..{}]", self.ofs, self.ofs as i64 - 1)
        } else if self.ofs == 0 && self.n_bits == self.field.width() {
            write!(f, "{name}[]")
        } else if self.n_bits == 1 {
            write!(f, "{name}[{}]", self.ofs)
        } else {
            write!(f, "{name}[{}..{}]", self.ofs, self.ofs + self.n_bits - 1)
        }
    }
}

/// NAT part of a `ct` action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Nat {
    /// `nat`: apply the existing NAT binding.
    Existing,
    /// `nat(src)` / `nat(dst)` with optional address range and port range.
    Src(Option<NatTarget>),
    Dst(Option<NatTarget>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NatTarget {
    pub ip: std::net::IpAddr,
    pub ip_max: Option<std::net::IpAddr>,
    pub port: Option<(u16, u16)>,
    pub flags: Vec<&'static str>,
}

impl fmt::Display for NatTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Like ovs-ofctl, IPv6 addresses are bracketed only before a port.
        let ip = |ip: &std::net::IpAddr| match ip {
            std::net::IpAddr::V6(a) if self.port.is_some() => format!("[{a}]"),
            a => a.to_string(),
        };
        write!(f, "{}", ip(&self.ip))?;
        if let Some(max) = &self.ip_max {
            write!(f, "-{}", ip(max))?;
        }
        if let Some((lo, hi)) = self.port {
            write!(f, ":{lo}")?;
            if hi != lo {
                write!(f, "-{hi}")?;
            }
        }
        for fl in &self.flags {
            write!(f, ",{fl}")?;
        }
        Ok(())
    }
}

/// `ct` action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ct {
    pub commit: bool,
    pub table: Option<u8>,
    pub zone: SubField,
    pub nat: Option<Nat>,
    pub exec: Vec<Action>,
}

/// One specification inside a `learn` action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LearnSpec {
    /// Learned flow matches this field on the value it has in the packet.
    MatchField(SubField),
    /// Learned flow matches `field == value`.
    MatchImm { field: Field, value: u128 },
    /// Learned flow matches `dst` on the value `src` has in the packet.
    MatchFrom { dst: SubField, src: SubField },
    /// Learned flow loads `value` into `dst`.
    LoadImm { value: u128, dst: SubField },
}

/// `learn(...)` (used by `commit_lb_aff`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Learn {
    pub table: u8,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub delete_learned: bool,
    pub specs: Vec<LearnSpec>,
}

impl fmt::Display for Learn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "learn(table={}", self.table)?;
        if self.idle_timeout != 0 {
            write!(f, ",idle_timeout={}", self.idle_timeout)?;
        }
        if self.hard_timeout != 0 {
            write!(f, ",hard_timeout={}", self.hard_timeout)?;
        }
        if self.delete_learned {
            f.write_str(",delete_learned")?;
        }
        for s in &self.specs {
            match s {
                LearnSpec::MatchField(sf) => write!(f, ",{sf}")?,
                LearnSpec::MatchFrom { dst, src } => write!(f, ",{dst}={src}")?,
                LearnSpec::MatchImm { field, value } => {
                    write!(f, ",{}={}", field.set_name(), field.format_value(*value))?
                }
                LearnSpec::LoadImm { value, dst } => write!(f, ",load:{}->{dst}", fmt_hex(*value))?,
            }
        }
        f.write_str(")")
    }
}

/// OpenFlow actions produced by the compiler.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `set_field:value[/mask]->field`; `mask` is `None` for the whole field.
    SetField {
        field: Field,
        value: u128,
        mask: Option<u128>,
    },
    Move {
        src: SubField,
        dst: SubField,
    },
    Push(SubField),
    Pop(SubField),
    Resubmit(u8),
    DecTtl,
    Ct(Ct),
    CtClear,
    Clone(Vec<Action>),
    Group(u32),
    /// `controller(userdata=...)`: `opcode` + 4 pad bytes + `payload`.
    Controller {
        userdata: Vec<u8>,
        pause: bool,
        meter_id: Option<u32>,
    },
    Conjunction {
        id: u32,
        clause: u8,
        n_clauses: u8,
    },
    /// `ct_commit_nat`'s `ct(...)` variants and others share `Ct`; this is
    /// `check_pkt_larger(len)->reg`.
    CheckPktLarger {
        len: u16,
        dst: SubField,
    },
    SetQueue(u32),
    Meter(u32),
    Learn(Learn),
    /// `sample(...)` (IPFIX per-flow sampling).
    Sample {
        probability: u16,
        collector_set_id: u32,
        obs_domain_id: u32,
        obs_point_id: u32,
    },
}

fn fmt_userdata(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(".")
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::SetField { field, value, mask } => {
                let v = field.format_value(*value);
                match mask {
                    Some(m) if *m != field.all_ones() => {
                        let m = match field.fmt() {
                            Fmt::Dec => {
                                return write!(
                                    f,
                                    "set_field:{}/{}->{}",
                                    fmt_hex(*value),
                                    fmt_hex(*m),
                                    field.set_name()
                                );
                            }
                            _ => field.format_value(*m),
                        };
                        write!(f, "set_field:{v}/{m}->{}", field.set_name())
                    }
                    _ => write!(f, "set_field:{v}->{}", field.set_name()),
                }
            }
            Action::Move { src, dst } => write!(f, "move:{src}->{dst}"),
            Action::Push(s) => write!(f, "push:{s}"),
            Action::Pop(s) => write!(f, "pop:{s}"),
            Action::Resubmit(t) => write!(f, "resubmit(,{t})"),
            Action::DecTtl => f.write_str("dec_ttl()"),
            Action::CtClear => f.write_str("ct_clear"),
            Action::Group(g) => write!(f, "group:{g}"),
            Action::Conjunction {
                id,
                clause,
                n_clauses,
            } => write!(f, "conjunction({id},{clause}/{n_clauses})"),
            Action::Clone(acts) => write!(f, "clone({})", ActionList(acts)),
            Action::Controller {
                userdata,
                pause,
                meter_id,
            } => {
                write!(f, "controller(userdata={}", fmt_userdata(userdata))?;
                if *pause {
                    f.write_str(",pause")?;
                }
                if let Some(m) = meter_id {
                    write!(f, ",meter_id={m}")?;
                }
                f.write_str(")")
            }
            Action::CheckPktLarger { len, dst } => write!(f, "check_pkt_larger({len})->{dst}"),
            Action::SetQueue(q) => write!(f, "set_queue:{q}"),
            Action::Meter(m) => write!(f, "meter:{m}"),
            Action::Learn(l) => write!(f, "{l}"),
            Action::Sample {
                probability,
                collector_set_id,
                obs_domain_id,
                obs_point_id,
            } => write!(
                f,
                "sample(probability={probability},collector_set_id={collector_set_id},obs_domain_id={obs_domain_id},obs_point_id={obs_point_id})"
            ),
            Action::Ct(ct) => {
                let mut s = String::from("ct(");
                let mut items = Vec::new();
                if ct.commit {
                    items.push("commit".to_string());
                }
                if let Some(t) = ct.table {
                    items.push(format!("table={t}"));
                }
                items.push(format!("zone={}", ct.zone));
                match &ct.nat {
                    None => {}
                    Some(Nat::Existing) => items.push("nat".into()),
                    Some(Nat::Src(None)) => items.push("nat(src)".into()),
                    Some(Nat::Dst(None)) => items.push("nat(dst)".into()),
                    Some(Nat::Src(Some(t))) => items.push(format!("nat(src={t})")),
                    Some(Nat::Dst(Some(t))) => items.push(format!("nat(dst={t})")),
                }
                if !ct.exec.is_empty() {
                    items.push(format!("exec({})", ActionList(&ct.exec)));
                }
                s.push_str(&items.join(","));
                s.push(')');
                f.write_str(&s)
            }
        }
    }
}

/// Comma-separated action list; empty renders as `drop`.
pub struct ActionList<'a>(pub &'a [Action]);

impl fmt::Display for ActionList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// How a select group picks a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Selection {
    DpHash,
    /// `hash` over the named fields (OVN's `hash_fields="..."`).
    Hash(String),
}

/// One bucket of a select group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub weight: u16,
    /// Bucket is live only while this OpenFlow port is up (BFD).
    pub watch_port: Option<u32>,
    pub actions: Vec<Action>,
}

/// A `type=select` OpenFlow group the caller must install for a flow's
/// `group:N` action (load-balancer backends).  Equal descriptions may share
/// one group id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    pub selection: Selection,
    /// OpenFlow 1.5 `selection_method_param` (OVN sets `1 << 32` for
    /// symmetric L4 dp_hash in `select()` groups).
    pub selection_param: u64,
    pub buckets: Vec<Bucket>,
}

impl fmt::Display for Group {
    /// `ovs-ofctl dump-groups` syntax without the `group_id=N,` prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("type=select,")?;
        match &self.selection {
            Selection::DpHash => f.write_str("selection_method=dp_hash")?,
            Selection::Hash(fields) => write!(f, "selection_method=hash,fields({fields})")?,
        }
        if self.selection_param != 0 {
            write!(f, ",selection_method_param={}", self.selection_param)?;
        }
        for (i, b) in self.buckets.iter().enumerate() {
            write!(f, ",bucket=bucket_id:{i},weight:{}", b.weight)?;
            if let Some(p) = b.watch_port {
                write!(f, ",watch_port:{p}")?;
            }
            write!(f, ",actions={}", ActionList(&b.actions))?;
        }
        Ok(())
    }
}

/// One OpenFlow flow produced from a logical flow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flow {
    pub table: u8,
    pub priority: u16,
    pub matches: Match,
    pub actions: Vec<Action>,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table={}, priority={}", self.table, self.priority)?;
        let m = self.matches.to_string();
        if !m.is_empty() {
            write!(f, ",{m}")?;
        }
        if self.actions.is_empty() {
            f.write_str(" actions=drop")
        } else {
            write!(f, " actions={}", ActionList(&self.actions))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_display_matches_ovs_ofctl() {
        let mut m = Match::default();
        m.add(Field::EthType, 0x806, 0xffff);
        m.add(Field::Reg(14), 2, u32::MAX as u128);
        m.add(Field::Metadata, 3, u64::MAX as u128);
        m.add(Field::ArpSpa, 0x0a000200, 0xffffff00);
        m.add(Field::ArpOp, 1, 0xffff);
        assert_eq!(
            m.to_string(),
            "arp,reg14=0x2,metadata=0x3,arp_spa=10.0.2.0/24,arp_op=1"
        );
        let mut m = Match::default();
        m.add(Field::CtState, 0x22, 0x3b);
        m.add(Field::EthDst, 1 << 40, 1 << 40);
        assert_eq!(
            m.to_string(),
            "ct_state=-new+est-rpl-inv+trk,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"
        );
        assert!(!m.add(Field::EthDst, 0, 1 << 40));
    }

    #[test]
    fn action_display() {
        let a = Action::SetField {
            field: Field::Xreg(4),
            value: 0,
            mask: Some(0xffff_0000_0000),
        };
        assert_eq!(a.to_string(), "set_field:0/0xffff00000000->xreg4");
        let a = Action::Move {
            src: SubField {
                field: Field::Reg(10),
                ofs: 6,
                n_bits: 1,
            },
            dst: SubField {
                field: Field::Xreg(4),
                ofs: 2,
                n_bits: 1,
            },
        };
        assert_eq!(a.to_string(), "move:NXM_NX_REG10[6]->OXM_OF_PKT_REG4[2]");
    }
}
