//! Match/set-field fields: identities, widths, NXM/OXM wire headers and the
//! `ovs-ofctl` names used for printing and parsing.
//!
//! Values of every supported field fit in 128 bits, so values and masks are
//! carried as `u128` (right-aligned: an IPv4 address is the low 32 bits, a MAC
//! the low 48 bits).

use std::fmt;

/// A match (or set-field / move / push) field.
///
/// The derived order is the canonical encoding order: fields are written to
/// the wire sorted by it, and it puts every prerequisite (`eth_type`,
/// `ip_proto`, `icmpv6_type`) before the fields that depend on it, because
/// `ovs-vswitchd` checks prerequisites while it pulls each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `in_port`: OpenFlow 1.1+ port number (32 bits), see [`crate::port`].
    InPort,
    /// `metadata` (64 bits); OVN puts the datapath tunnel key here.
    Metadata,
    /// `reg0`..`reg15` (32 bits each).
    Reg(u8),
    /// `xreg0`..`xreg7` (64 bits; xreg`N` = reg`2N` ‖ reg`2N+1`).
    Xreg(u8),
    /// `xxreg0`..`xxreg3` (128 bits; xxreg`N` = reg`4N` ‖ … ‖ reg`4N+3`).
    Xxreg(u8),
    /// `tun_id` (64 bits).
    TunId,
    /// `tun_metadata<index>`; `len` is the option length in bytes as mapped
    /// in the switch's TLV table (OVN maps a 4-byte option). At most 16.
    TunMetadata { index: u8, len: u8 },
    /// `pkt_mark` (32 bits).
    PktMark,
    /// `ct_state` (32 bits of `CS_*` flags, see [`crate::ct_state`]).
    CtState,
    /// `ct_zone` (16 bits, not maskable).
    CtZone,
    /// `ct_mark` (32 bits).
    CtMark,
    /// `ct_label` (128 bits).
    CtLabel,
    /// `conj_id` (32 bits, not maskable).
    ConjId,
    /// `dl_src` / `eth_src` (48 bits).
    EthSrc,
    /// `dl_dst` / `eth_dst` (48 bits).
    EthDst,
    /// `dl_type` / `eth_type` (16 bits, not maskable).
    EthType,
    /// `vlan_tci` (16 bits; bit 12 = VLAN present).
    VlanTci,
    /// `nw_proto` / `ip_proto` (8 bits, not maskable). Needs IPv4/IPv6 eth_type.
    IpProto,
    /// `nw_tos` (8 bits: DSCP in the upper 6 bits, not maskable).
    IpTos,
    /// `nw_ecn` (2 bits).
    IpEcn,
    /// `nw_ttl` (8 bits, not maskable).
    IpTtl,
    /// `ip_frag` / `nw_frag` (2 bits: 1 = fragment, 2 = later fragment).
    IpFrag,
    /// `nw_src` / `ip_src` (IPv4).
    Ipv4Src,
    /// `nw_dst` / `ip_dst` (IPv4).
    Ipv4Dst,
    /// `ipv6_src`.
    Ipv6Src,
    /// `ipv6_dst`.
    Ipv6Dst,
    /// `ipv6_label` (20 bits).
    Ipv6Label,
    /// `arp_op` (16 bits, not maskable).
    ArpOp,
    /// `arp_spa` (IPv4).
    ArpSpa,
    /// `arp_tpa` (IPv4).
    ArpTpa,
    /// `arp_sha` (MAC).
    ArpSha,
    /// `arp_tha` (MAC).
    ArpTha,
    /// `tcp_src`.
    TcpSrc,
    /// `tcp_dst`.
    TcpDst,
    /// `tcp_flags` (12 bits).
    TcpFlags,
    /// `udp_src`.
    UdpSrc,
    /// `udp_dst`.
    UdpDst,
    /// `sctp_src`.
    SctpSrc,
    /// `sctp_dst`.
    SctpDst,
    /// `icmp_type` (ICMPv4, not maskable).
    Icmpv4Type,
    /// `icmp_code` (ICMPv4, not maskable).
    Icmpv4Code,
    /// `icmpv6_type` (not maskable).
    Icmpv6Type,
    /// `icmpv6_code` (not maskable).
    Icmpv6Code,
    /// `nd_target` (IPv6).
    NdTarget,
    /// `nd_sll` (MAC).
    NdSll,
    /// `nd_tll` (MAC).
    NdTll,
}

/// How a field's value is printed and parsed in `ovs-ofctl` syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Hex,
    Decimal,
    Mac,
    Ipv4,
    Ipv6,
    Port,
    CtState,
    TcpFlags,
    Frag,
}

/// NXM/OXM classes.
pub(crate) const NXM0: u16 = 0x0000;
pub(crate) const NXM1: u16 = 0x0001;
pub(crate) const OXM_BASIC: u16 = 0x8000;
pub(crate) const OXM_PACKET_REGS: u16 = 0x8001;
pub(crate) const OXM_EXPERIMENTER: u16 = 0xffff;
pub(crate) const ONF_EXPERIMENTER_ID: u32 = 0x4f4e_4600;

/// Wire identity of a field header (class, field code), independent of the
/// has-mask bit and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireId {
    pub class: u16,
    pub code: u8,
    /// Experimenter id for class 0xffff.
    pub experimenter: u32,
}

impl Field {
    /// Every fixed field (registers and tunnel metadata excluded), in
    /// canonical order; used by the name tables.
    const FIXED: &'static [Field] = &[
        Field::InPort,
        Field::Metadata,
        Field::TunId,
        Field::PktMark,
        Field::CtState,
        Field::CtZone,
        Field::CtMark,
        Field::CtLabel,
        Field::ConjId,
        Field::EthSrc,
        Field::EthDst,
        Field::EthType,
        Field::VlanTci,
        Field::IpProto,
        Field::IpTos,
        Field::IpEcn,
        Field::IpTtl,
        Field::IpFrag,
        Field::Ipv4Src,
        Field::Ipv4Dst,
        Field::Ipv6Src,
        Field::Ipv6Dst,
        Field::Ipv6Label,
        Field::ArpOp,
        Field::ArpSpa,
        Field::ArpTpa,
        Field::ArpSha,
        Field::ArpTha,
        Field::TcpSrc,
        Field::TcpDst,
        Field::TcpFlags,
        Field::UdpSrc,
        Field::UdpDst,
        Field::SctpSrc,
        Field::SctpDst,
        Field::Icmpv4Type,
        Field::Icmpv4Code,
        Field::Icmpv6Type,
        Field::Icmpv6Code,
        Field::NdTarget,
        Field::NdSll,
        Field::NdTll,
    ];

    /// `tun_metadata<index>` with OVN's 4-byte option length.
    pub const fn tun_metadata(index: u8) -> Field {
        Field::TunMetadata { index, len: 4 }
    }

    /// Whether the field identity itself is representable (register index in
    /// range, tunnel metadata length 1..=16).
    pub fn is_valid(self) -> bool {
        match self {
            Field::Reg(n) => n < 16,
            Field::Xreg(n) => n < 8,
            Field::Xxreg(n) => n < 4,
            Field::TunMetadata { index, len } => index < 64 && (1..=16).contains(&len),
            _ => true,
        }
    }

    /// Width of the field's value in bytes on the wire.
    pub fn bytes(self) -> usize {
        match self {
            Field::InPort => 4,
            Field::Metadata | Field::TunId | Field::Xreg(_) => 8,
            Field::Reg(_) | Field::PktMark | Field::CtState | Field::CtMark | Field::ConjId => 4,
            Field::Xxreg(_) | Field::CtLabel => 16,
            Field::TunMetadata { len, .. } => len as usize,
            Field::CtZone | Field::EthType | Field::VlanTci | Field::ArpOp => 2,
            Field::EthSrc | Field::EthDst | Field::ArpSha | Field::ArpTha => 6,
            Field::NdSll | Field::NdTll => 6,
            Field::IpProto | Field::IpTos | Field::IpEcn | Field::IpTtl | Field::IpFrag => 1,
            Field::Ipv4Src | Field::Ipv4Dst | Field::ArpSpa | Field::ArpTpa => 4,
            Field::Ipv6Src | Field::Ipv6Dst | Field::NdTarget => 16,
            Field::Ipv6Label => 4,
            Field::TcpSrc | Field::TcpDst | Field::TcpFlags => 2,
            Field::UdpSrc | Field::UdpDst | Field::SctpSrc | Field::SctpDst => 2,
            Field::Icmpv4Type | Field::Icmpv4Code | Field::Icmpv6Type | Field::Icmpv6Code => 1,
        }
    }

    /// Width of the field in bits (used for subfield bounds and full masks).
    pub fn bits(self) -> u16 {
        match self {
            Field::IpEcn | Field::IpFrag => 2,
            Field::Ipv6Label => 20,
            Field::TcpFlags => 12,
            _ => (self.bytes() * 8) as u16,
        }
    }

    /// All-ones mask covering the field's width. For `nw_tos` that is the
    /// DSCP bits only (0xfc): the ECN bits are a separate field and OVS
    /// reports a TOS match as a DSCP match.
    pub fn full_mask(self) -> u128 {
        if self == Field::IpTos {
            return 0xfc;
        }
        let b = self.bits();
        if b >= 128 { u128::MAX } else { (1u128 << b) - 1 }
    }

    /// Whether the switch accepts a mask for this field in a match.
    pub fn maskable(self) -> bool {
        !matches!(
            self,
            Field::InPort
                | Field::CtZone
                | Field::ConjId
                | Field::EthType
                | Field::IpProto
                | Field::IpTos
                | Field::IpEcn
                | Field::IpTtl
                | Field::ArpOp
                | Field::Icmpv4Type
                | Field::Icmpv4Code
                | Field::Icmpv6Type
                | Field::Icmpv6Code
        )
    }

    /// Preferred wire header for OpenFlow 1.5 (the same choice OVS makes:
    /// standard OXM where one exists, Nicira NXM otherwise).
    pub(crate) fn wire_id(self) -> WireId {
        let (class, code) = match self {
            Field::InPort => (OXM_BASIC, 0),
            Field::Metadata => (OXM_BASIC, 2),
            Field::Reg(n) => (NXM1, n),
            Field::Xreg(n) => (OXM_PACKET_REGS, n),
            Field::Xxreg(n) => (NXM1, 111 + n),
            Field::TunId => (OXM_BASIC, 38),
            Field::TunMetadata { index, .. } => (NXM1, 40 + index),
            Field::PktMark => (NXM1, 33),
            Field::CtState => (NXM1, 105),
            Field::CtZone => (NXM1, 106),
            Field::CtMark => (NXM1, 107),
            Field::CtLabel => (NXM1, 108),
            Field::ConjId => (NXM1, 37),
            Field::EthSrc => (OXM_BASIC, 4),
            Field::EthDst => (OXM_BASIC, 3),
            Field::EthType => (OXM_BASIC, 5),
            Field::VlanTci => (NXM0, 4),
            Field::IpProto => (OXM_BASIC, 10),
            Field::IpTos => (NXM0, 5),
            Field::IpEcn => (OXM_BASIC, 9),
            Field::IpTtl => (NXM1, 29),
            Field::IpFrag => (NXM1, 26),
            Field::Ipv4Src => (OXM_BASIC, 11),
            Field::Ipv4Dst => (OXM_BASIC, 12),
            Field::Ipv6Src => (OXM_BASIC, 26),
            Field::Ipv6Dst => (OXM_BASIC, 27),
            Field::Ipv6Label => (OXM_BASIC, 28),
            Field::ArpOp => (OXM_BASIC, 21),
            Field::ArpSpa => (OXM_BASIC, 22),
            Field::ArpTpa => (OXM_BASIC, 23),
            Field::ArpSha => (OXM_BASIC, 24),
            Field::ArpTha => (OXM_BASIC, 25),
            Field::TcpSrc => (OXM_BASIC, 13),
            Field::TcpDst => (OXM_BASIC, 14),
            Field::TcpFlags => (NXM1, 34),
            Field::UdpSrc => (OXM_BASIC, 15),
            Field::UdpDst => (OXM_BASIC, 16),
            Field::SctpSrc => (OXM_BASIC, 17),
            Field::SctpDst => (OXM_BASIC, 18),
            Field::Icmpv4Type => (OXM_BASIC, 19),
            Field::Icmpv4Code => (OXM_BASIC, 20),
            Field::Icmpv6Type => (OXM_BASIC, 29),
            Field::Icmpv6Code => (OXM_BASIC, 30),
            Field::NdTarget => (OXM_BASIC, 31),
            Field::NdSll => (OXM_BASIC, 32),
            Field::NdTll => (OXM_BASIC, 33),
        };
        WireId {
            class,
            code,
            experimenter: 0,
        }
    }

    /// The field's OpenFlow 1.5 wire header (no mask), as `set_field` and
    /// `move` carry it; OVN passes such headers to its controller in
    /// action userdata.
    pub fn oxm_header(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8);
        crate::oxm::put_header(&mut out, self, false, self.bytes());
        out
    }

    /// Header Open vSwitch writes for the field where it uses the oldest
    /// encoding (stack push/pop, learn specs, check_pkt_larger): the original
    /// Nicira NXM header where one exists, else the OXM one. Returns the
    /// identity and the value length the header announces. `in_port` is
    /// 32 bits here, which OVS calls `OXM_OF_IN_PORT` (its 16-bit
    /// `NXM_OF_IN_PORT` is a different field), so it keeps the OXM header.
    pub(crate) fn nxm_wire_id(self) -> (WireId, usize) {
        let nxm = |class, code, len| {
            (
                WireId {
                    class,
                    code,
                    experimenter: 0,
                },
                len,
            )
        };
        let (class, code) = match self {
            Field::EthDst => (NXM0, 1),
            Field::EthSrc => (NXM0, 2),
            Field::EthType => (NXM0, 3),
            Field::IpProto => (NXM0, 6),
            Field::Ipv4Src => (NXM0, 7),
            Field::Ipv4Dst => (NXM0, 8),
            Field::TcpSrc => (NXM0, 9),
            Field::TcpDst => (NXM0, 10),
            Field::UdpSrc => (NXM0, 11),
            Field::UdpDst => (NXM0, 12),
            Field::Icmpv4Type => (NXM0, 13),
            Field::Icmpv4Code => (NXM0, 14),
            Field::ArpOp => (NXM0, 15),
            Field::ArpSpa => (NXM0, 16),
            Field::ArpTpa => (NXM0, 17),
            Field::TunId => (NXM1, 16),
            Field::ArpSha => (NXM1, 17),
            Field::ArpTha => (NXM1, 18),
            Field::Ipv6Src => (NXM1, 19),
            Field::Ipv6Dst => (NXM1, 20),
            Field::Icmpv6Type => (NXM1, 21),
            Field::Icmpv6Code => (NXM1, 22),
            Field::NdTarget => (NXM1, 23),
            Field::NdSll => (NXM1, 24),
            Field::NdTll => (NXM1, 25),
            Field::Ipv6Label => (NXM1, 27),
            Field::IpEcn => (NXM1, 28),
            // VLAN TCI, IP TOS, TTL, frag, registers, conntrack fields,
            // tunnel metadata: their preferred header already is NXM;
            // metadata, xregs and SCTP ports only have an OXM one.
            other => return (other.wire_id(), other.bytes()),
        };
        nxm(class, code, self.bytes())
    }

    /// Maps a wire header back to a field. `len` is the value length in bytes
    /// (needed for tunnel metadata, and to tell NXM_OF_IN_PORT's 16-bit form
    /// apart). Returns the field and the wire width of its value.
    pub(crate) fn from_wire(id: WireId, len: usize) -> Option<(Field, usize)> {
        let f = match (id.class, id.code) {
            (OXM_BASIC, 0) => Field::InPort,
            (NXM0, 0) => return Some((Field::InPort, 2)),
            (OXM_BASIC, 2) => Field::Metadata,
            (NXM1, n @ 0..=15) => Field::Reg(n),
            (OXM_PACKET_REGS, n @ 0..=7) => Field::Xreg(n),
            (NXM1, n @ 111..=114) => Field::Xxreg(n - 111),
            (OXM_BASIC, 38) | (NXM1, 16) => Field::TunId,
            (NXM1, n @ 40..=103) => {
                if !(1..=16).contains(&len) {
                    return None;
                }
                Field::TunMetadata {
                    index: n - 40,
                    len: len as u8,
                }
            }
            (NXM1, 33) => Field::PktMark,
            (NXM1, 105) => Field::CtState,
            (NXM1, 106) => Field::CtZone,
            (NXM1, 107) => Field::CtMark,
            (NXM1, 108) => Field::CtLabel,
            (NXM1, 37) => Field::ConjId,
            (OXM_BASIC, 4) | (NXM0, 2) => Field::EthSrc,
            (OXM_BASIC, 3) | (NXM0, 1) => Field::EthDst,
            (OXM_BASIC, 5) | (NXM0, 3) => Field::EthType,
            (NXM0, 4) => Field::VlanTci,
            (OXM_BASIC, 10) | (NXM0, 6) => Field::IpProto,
            (NXM0, 5) => Field::IpTos,
            (OXM_BASIC, 9) | (NXM1, 28) => Field::IpEcn,
            (NXM1, 29) => Field::IpTtl,
            (NXM1, 26) => Field::IpFrag,
            (OXM_BASIC, 11) | (NXM0, 7) => Field::Ipv4Src,
            (OXM_BASIC, 12) | (NXM0, 8) => Field::Ipv4Dst,
            (OXM_BASIC, 26) | (NXM1, 19) => Field::Ipv6Src,
            (OXM_BASIC, 27) | (NXM1, 20) => Field::Ipv6Dst,
            (OXM_BASIC, 28) | (NXM1, 27) => Field::Ipv6Label,
            (OXM_BASIC, 21) | (NXM0, 15) => Field::ArpOp,
            (OXM_BASIC, 22) | (NXM0, 16) => Field::ArpSpa,
            (OXM_BASIC, 23) | (NXM0, 17) => Field::ArpTpa,
            (OXM_BASIC, 24) | (NXM1, 17) => Field::ArpSha,
            (OXM_BASIC, 25) | (NXM1, 18) => Field::ArpTha,
            (OXM_BASIC, 13) | (NXM0, 9) => Field::TcpSrc,
            (OXM_BASIC, 14) | (NXM0, 10) => Field::TcpDst,
            (NXM1, 34) | (OXM_BASIC, 42) => Field::TcpFlags,
            (OXM_EXPERIMENTER, 42) if id.experimenter == ONF_EXPERIMENTER_ID => Field::TcpFlags,
            (OXM_BASIC, 15) | (NXM0, 11) => Field::UdpSrc,
            (OXM_BASIC, 16) | (NXM0, 12) => Field::UdpDst,
            (OXM_BASIC, 17) => Field::SctpSrc,
            (OXM_BASIC, 18) => Field::SctpDst,
            (OXM_BASIC, 19) | (NXM0, 13) => Field::Icmpv4Type,
            (OXM_BASIC, 20) | (NXM0, 14) => Field::Icmpv4Code,
            (OXM_BASIC, 29) | (NXM1, 21) => Field::Icmpv6Type,
            (OXM_BASIC, 30) | (NXM1, 22) => Field::Icmpv6Code,
            (OXM_BASIC, 31) | (NXM1, 23) => Field::NdTarget,
            (OXM_BASIC, 32) | (NXM1, 24) => Field::NdSll,
            (OXM_BASIC, 33) | (NXM1, 25) => Field::NdTll,
            _ => return None,
        };
        Some((f, f.bytes()))
    }

    /// How values of this field are printed.
    pub fn format(self) -> Format {
        match self {
            Field::InPort => Format::Port,
            Field::CtState => Format::CtState,
            Field::TcpFlags => Format::TcpFlags,
            Field::IpFrag => Format::Frag,
            Field::EthSrc | Field::EthDst | Field::ArpSha | Field::ArpTha => Format::Mac,
            Field::NdSll | Field::NdTll => Format::Mac,
            Field::Ipv4Src | Field::Ipv4Dst | Field::ArpSpa | Field::ArpTpa => Format::Ipv4,
            Field::Ipv6Src | Field::Ipv6Dst | Field::NdTarget => Format::Ipv6,
            Field::IpProto | Field::IpTos | Field::IpEcn | Field::IpTtl | Field::ArpOp => Format::Decimal,
            Field::TcpSrc | Field::TcpDst | Field::UdpSrc | Field::UdpDst => Format::Decimal,
            Field::SctpSrc | Field::SctpDst | Field::ConjId => Format::Decimal,
            Field::Icmpv4Type | Field::Icmpv4Code | Field::Icmpv6Type | Field::Icmpv6Code => Format::Decimal,
            _ => Format::Hex,
        }
    }

    /// Name `ovs-ofctl` uses when printing this field in a match
    /// (`dl_src`, `nw_src`, `tp_dst`, ...).
    pub fn match_name(self) -> String {
        let s = match self {
            Field::EthSrc => "dl_src",
            Field::EthDst => "dl_dst",
            Field::EthType => "dl_type",
            Field::IpProto => "nw_proto",
            Field::Ipv4Src => "nw_src",
            Field::Ipv4Dst => "nw_dst",
            Field::IpTos => "nw_tos",
            Field::IpEcn => "nw_ecn",
            Field::IpTtl => "nw_ttl",
            Field::IpFrag => "nw_frag",
            Field::TcpSrc | Field::UdpSrc | Field::SctpSrc => "tp_src",
            Field::TcpDst | Field::UdpDst | Field::SctpDst => "tp_dst",
            Field::Icmpv6Type => "icmp_type",
            Field::Icmpv6Code => "icmp_code",
            _ => return self.name(),
        };
        s.to_string()
    }

    /// Canonical `meta-flow` name (used by `set_field:...->NAME`).
    pub fn name(self) -> String {
        let s = match self {
            Field::Reg(n) => return format!("reg{n}"),
            Field::Xreg(n) => return format!("xreg{n}"),
            Field::Xxreg(n) => return format!("xxreg{n}"),
            Field::TunMetadata { index, .. } => return format!("tun_metadata{index}"),
            Field::InPort => "in_port",
            Field::Metadata => "metadata",
            Field::TunId => "tun_id",
            Field::PktMark => "pkt_mark",
            Field::CtState => "ct_state",
            Field::CtZone => "ct_zone",
            Field::CtMark => "ct_mark",
            Field::CtLabel => "ct_label",
            Field::ConjId => "conj_id",
            Field::EthSrc => "eth_src",
            Field::EthDst => "eth_dst",
            Field::EthType => "eth_type",
            Field::VlanTci => "vlan_tci",
            Field::IpProto => "nw_proto",
            Field::IpTos => "nw_tos",
            Field::IpEcn => "nw_ecn",
            Field::IpTtl => "nw_ttl",
            Field::IpFrag => "ip_frag",
            Field::Ipv4Src => "ip_src",
            Field::Ipv4Dst => "ip_dst",
            Field::Ipv6Src => "ipv6_src",
            Field::Ipv6Dst => "ipv6_dst",
            Field::Ipv6Label => "ipv6_label",
            Field::ArpOp => "arp_op",
            Field::ArpSpa => "arp_spa",
            Field::ArpTpa => "arp_tpa",
            Field::ArpSha => "arp_sha",
            Field::ArpTha => "arp_tha",
            Field::TcpSrc => "tcp_src",
            Field::TcpDst => "tcp_dst",
            Field::TcpFlags => "tcp_flags",
            Field::UdpSrc => "udp_src",
            Field::UdpDst => "udp_dst",
            Field::SctpSrc => "sctp_src",
            Field::SctpDst => "sctp_dst",
            Field::Icmpv4Type => "icmp_type",
            Field::Icmpv4Code => "icmp_code",
            Field::Icmpv6Type => "icmpv6_type",
            Field::Icmpv6Code => "icmpv6_code",
            Field::NdTarget => "nd_target",
            Field::NdSll => "nd_sll",
            Field::NdTll => "nd_tll",
        };
        s.to_string()
    }

    /// NXM/OXM-style name as `ovs-ofctl` prints it inside `move:`/`push:`
    /// subfields (e.g. `NXM_NX_REG13`, `OXM_OF_METADATA`).
    pub fn nxm_name(self) -> String {
        let s = match self {
            Field::Reg(n) => return format!("NXM_NX_REG{n}"),
            Field::Xreg(n) => return format!("OXM_OF_PKT_REG{n}"),
            Field::Xxreg(n) => return format!("NXM_NX_XXREG{n}"),
            Field::TunMetadata { index, .. } => return format!("NXM_NX_TUN_METADATA{index}"),
            Field::InPort => "OXM_OF_IN_PORT",
            Field::Metadata => "OXM_OF_METADATA",
            Field::TunId => "NXM_NX_TUN_ID",
            Field::PktMark => "NXM_NX_PKT_MARK",
            Field::CtState => "NXM_NX_CT_STATE",
            Field::CtZone => "NXM_NX_CT_ZONE",
            Field::CtMark => "NXM_NX_CT_MARK",
            Field::CtLabel => "NXM_NX_CT_LABEL",
            Field::ConjId => "NXM_NX_CONJ_ID",
            Field::EthSrc => "NXM_OF_ETH_SRC",
            Field::EthDst => "NXM_OF_ETH_DST",
            Field::EthType => "NXM_OF_ETH_TYPE",
            Field::VlanTci => "NXM_OF_VLAN_TCI",
            Field::IpProto => "NXM_OF_IP_PROTO",
            Field::IpTos => "NXM_OF_IP_TOS",
            Field::IpEcn => "NXM_NX_IP_ECN",
            Field::IpTtl => "NXM_NX_IP_TTL",
            Field::IpFrag => "NXM_NX_IP_FRAG",
            Field::Ipv4Src => "NXM_OF_IP_SRC",
            Field::Ipv4Dst => "NXM_OF_IP_DST",
            Field::Ipv6Src => "NXM_NX_IPV6_SRC",
            Field::Ipv6Dst => "NXM_NX_IPV6_DST",
            Field::Ipv6Label => "NXM_NX_IPV6_LABEL",
            Field::ArpOp => "NXM_OF_ARP_OP",
            Field::ArpSpa => "NXM_OF_ARP_SPA",
            Field::ArpTpa => "NXM_OF_ARP_TPA",
            Field::ArpSha => "NXM_NX_ARP_SHA",
            Field::ArpTha => "NXM_NX_ARP_THA",
            Field::TcpSrc => "NXM_OF_TCP_SRC",
            Field::TcpDst => "NXM_OF_TCP_DST",
            Field::TcpFlags => "NXM_NX_TCP_FLAGS",
            Field::UdpSrc => "NXM_OF_UDP_SRC",
            Field::UdpDst => "NXM_OF_UDP_DST",
            Field::SctpSrc => "OXM_OF_SCTP_SRC",
            Field::SctpDst => "OXM_OF_SCTP_DST",
            Field::Icmpv4Type => "NXM_OF_ICMP_TYPE",
            Field::Icmpv4Code => "NXM_OF_ICMP_CODE",
            Field::Icmpv6Type => "NXM_NX_ICMPV6_TYPE",
            Field::Icmpv6Code => "NXM_NX_ICMPV6_CODE",
            Field::NdTarget => "NXM_NX_ND_TARGET",
            Field::NdSll => "NXM_NX_ND_SLL",
            Field::NdTll => "NXM_NX_ND_TLL",
        };
        s.to_string()
    }

    /// Looks a field up by any name `ovs-ofctl` accepts or prints: meta-flow
    /// names and aliases (`dl_src`, `nw_src`, `tp_dst` needs context so it is
    /// not accepted here), and NXM/OXM names. Tunnel metadata gets OVN's
    /// 4-byte length.
    pub fn from_name(name: &str) -> Option<Field> {
        let num = |prefix: &str| -> Option<u8> {
            name.strip_prefix(prefix)
                .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|r| r.parse().ok())
        };
        type Ctor = fn(u8) -> Field;
        let candidates: [(&str, Ctor); 8] = [
            ("reg", Field::Reg),
            ("xreg", Field::Xreg),
            ("xxreg", Field::Xxreg),
            ("tun_metadata", Field::tun_metadata),
            ("NXM_NX_REG", Field::Reg),
            ("OXM_OF_PKT_REG", Field::Xreg),
            ("NXM_NX_XXREG", Field::Xxreg),
            ("NXM_NX_TUN_METADATA", Field::tun_metadata),
        ];
        for (prefix, ctor) in candidates {
            if let Some(n) = num(prefix) {
                let f = ctor(n);
                return f.is_valid().then_some(f);
            }
        }
        let alias = match name {
            "dl_src" => Some(Field::EthSrc),
            "dl_dst" => Some(Field::EthDst),
            "dl_type" => Some(Field::EthType),
            "ip_proto" => Some(Field::IpProto),
            "nw_src" => Some(Field::Ipv4Src),
            "nw_dst" => Some(Field::Ipv4Dst),
            "nw_frag" => Some(Field::IpFrag),
            "ip_ecn" => Some(Field::IpEcn),
            "tunnel_id" => Some(Field::TunId),
            "OXM_OF_ETH_SRC" => Some(Field::EthSrc),
            "OXM_OF_ETH_DST" => Some(Field::EthDst),
            "OXM_OF_ETH_TYPE" => Some(Field::EthType),
            "OXM_OF_IPV4_SRC" => Some(Field::Ipv4Src),
            "OXM_OF_IPV4_DST" => Some(Field::Ipv4Dst),
            "OXM_OF_TUNNEL_ID" => Some(Field::TunId),
            "NXM_OF_IN_PORT" => Some(Field::InPort),
            _ => None,
        };
        if alias.is_some() {
            return alias;
        }
        Field::FIXED
            .iter()
            .copied()
            .find(|f| f.name() == name || f.nxm_name() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A bit range of a field: `field[ofs..ofs+n_bits-1]`, as used by `move`,
/// `push`/`pop` and the `ct` zone source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubField {
    pub field: Field,
    pub ofs: u16,
    pub n_bits: u16,
}

impl SubField {
    /// The whole field (`NXM_NX_REG0[]`).
    pub fn full(field: Field) -> SubField {
        SubField {
            field,
            ofs: 0,
            n_bits: field.bits(),
        }
    }

    /// Bits `lo..=hi` of `field` (ovs-ofctl's `FIELD[lo..hi]`).
    pub fn range(field: Field, lo: u16, hi: u16) -> SubField {
        SubField {
            field,
            ofs: lo,
            n_bits: hi.saturating_sub(lo) + 1,
        }
    }

    /// Whether the range lies inside the field.
    pub fn is_valid(&self) -> bool {
        self.field.is_valid()
            && self.n_bits >= 1
            && u32::from(self.ofs) + u32::from(self.n_bits) <= u32::from(self.field.bits())
    }
}

impl fmt::Display for SubField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.field.nxm_name())?;
        if self.ofs != 0 || self.n_bits != self.field.bits() {
            if self.n_bits == 1 {
                write!(f, "{}", self.ofs)?;
            } else {
                write!(f, "{}..{}", self.ofs, self.ofs + self.n_bits - 1)?;
            }
        }
        f.write_str("]")
    }
}

/// Well-known OpenFlow 1.1+ port numbers.
pub mod port {
    /// Highest ordinary port number.
    pub const MAX: u32 = 0xffff_ff00;
    pub const IN_PORT: u32 = 0xffff_fff8;
    pub const TABLE: u32 = 0xffff_fff9;
    pub const NORMAL: u32 = 0xffff_fffa;
    pub const FLOOD: u32 = 0xffff_fffb;
    pub const ALL: u32 = 0xffff_fffc;
    pub const CONTROLLER: u32 = 0xffff_fffd;
    pub const LOCAL: u32 = 0xffff_fffe;
    /// "No port" / wildcard (OFPP_ANY).
    pub const ANY: u32 = 0xffff_ffff;

    pub(crate) const NAMES: &[(&str, u32)] = &[
        ("IN_PORT", IN_PORT),
        ("TABLE", TABLE),
        ("NORMAL", NORMAL),
        ("FLOOD", FLOOD),
        ("ALL", ALL),
        ("CONTROLLER", CONTROLLER),
        ("LOCAL", LOCAL),
        ("ANY", ANY),
        ("NONE", ANY),
    ];

    /// OpenFlow 1.0 16-bit port to 1.1+ 32-bit (reserved ports are shifted).
    pub fn from_ofp10(p: u16) -> u32 {
        if p >= 0xff00 {
            u32::from(p) + 0xffff_0000
        } else {
            u32::from(p)
        }
    }

    /// OpenFlow 1.1+ port to the 16-bit form NXAST_RESUBMIT carries.
    pub fn to_ofp10(p: u32) -> u16 {
        if p >= 0xffff_ff00 {
            (p - 0xffff_0000) as u16
        } else {
            p as u16
        }
    }
}

/// `ct_state` flag bits.
pub mod ct_state {
    pub const NEW: u32 = 1 << 0;
    pub const EST: u32 = 1 << 1;
    pub const REL: u32 = 1 << 2;
    pub const RPL: u32 = 1 << 3;
    pub const INV: u32 = 1 << 4;
    pub const TRK: u32 = 1 << 5;
    pub const SNAT: u32 = 1 << 6;
    pub const DNAT: u32 = 1 << 7;

    pub(crate) const NAMES: &[(&str, u32)] = &[
        ("new", NEW),
        ("est", EST),
        ("rel", REL),
        ("rpl", RPL),
        ("inv", INV),
        ("trk", TRK),
        ("snat", SNAT),
        ("dnat", DNAT),
    ];
}

/// `tcp_flags` bits.
pub mod tcp_flags {
    pub(crate) const NAMES: &[(&str, u32)] = &[
        ("fin", 0x1),
        ("syn", 0x2),
        ("rst", 0x4),
        ("psh", 0x8),
        ("ack", 0x10),
        ("urg", 0x20),
        ("ece", 0x40),
        ("cwr", 0x80),
        ("ns", 0x100),
    ];
}
