//! The symbol table: OVN's logical fields, subfields and predicates, the
//! OpenFlow field each one lives in, and their prerequisites.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::of::Field;

/// How a symbol may be compared (OVN's "level").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Only equality, and only positively (eth.type, ip.proto, ip4, ...).
    Nominal,
    /// 1-bit values (ct.new, eth.mcast, ...).
    Boolean,
    /// Fully maskable integers (any relation, slices).
    Ordinal,
}

/// Where a symbol may be assigned by an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    No,
    Yes,
    /// Only inside `ct_commit { ... }` (ct_mark, ct_label).
    CtCommit,
}

#[derive(Debug, Clone)]
pub enum Kind {
    /// A whole OpenFlow field (xxregN, xreg4, reg10, eth.src, ...).
    Field(Field),
    /// `parent[ofs..ofs+width-1]`.
    Subfield { parent: &'static str, ofs: u32 },
    /// A Boolean expression over other symbols.
    Predicate(&'static str),
    /// String-valued port field (inport/outport) stored as a key in `Field`.
    Str(Field),
    /// OVN-internal field only settable through controller actions.
    OvnField { id: u16 },
}

#[derive(Debug, Clone)]
pub struct Symbol {
    pub name: &'static str,
    /// Width in bits; 0 for string fields.
    pub width: u32,
    pub kind: Kind,
    pub prereqs: Option<&'static str>,
    pub level: Level,
    /// Never used as a conjunctive-match dimension (always crossproducted).
    pub must_crossproduct: bool,
    pub writable: Writable,
}

impl Symbol {
    pub fn is_predicate(&self) -> bool {
        matches!(self.kind, Kind::Predicate(_))
    }
}

pub struct SymbolTable {
    map: HashMap<&'static str, Symbol>,
}

impl SymbolTable {
    pub fn get(&self, name: &str) -> Option<&Symbol> {
        self.map.get(name)
    }

    /// The OpenFlow field and bit offset that symbol bits `ofs..ofs+n` live
    /// in, following subfield chains.  `None` for predicates and strings.
    pub fn resolve(&self, sym: &Symbol, ofs: u32) -> Option<(Field, u32)> {
        match &sym.kind {
            Kind::Field(f) | Kind::Str(f) => Some((*f, ofs)),
            Kind::Subfield { parent, ofs: pofs } => {
                let p = self.get(parent)?;
                self.resolve(p, ofs + pofs)
            }
            Kind::Predicate(_) | Kind::OvnField { .. } => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Symbol> {
        self.map.values()
    }
}

/// Whether Open vSwitch can mask the field arbitrarily, and write it.
fn of_props(f: Field) -> (bool, bool) {
    use Field::*;
    match f {
        EthType | IpProto | IpDscp | IpEcn | IpTtl | Icmpv4Type | Icmpv4Code | Icmpv6Type | Icmpv6Code
        | ArpOp => (false, !matches!(f, EthType | IpProto)),
        CtState | IpFrag | TcpFlags => (true, false),
        _ => (true, true),
    }
}

/// The OVN 23.03 symbol table (see `lib/logical-fields.c`).
pub fn symtab() -> &'static SymbolTable {
    static TABLE: OnceLock<SymbolTable> = OnceLock::new();
    TABLE.get_or_init(build)
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

struct Builder {
    map: HashMap<&'static str, Symbol>,
}

impl Builder {
    fn field(&mut self, name: &'static str, f: Field, prereqs: Option<&'static str>, must_cross: bool) {
        self.field_scoped(name, f, prereqs, must_cross, Writable::Yes);
    }

    fn field_scoped(
        &mut self,
        name: &'static str,
        f: Field,
        prereqs: Option<&'static str>,
        must_crossproduct: bool,
        scope: Writable,
    ) {
        let (maskable, writable) = of_props(f);
        self.map.insert(
            name,
            Symbol {
                name,
                width: f.width(),
                kind: Kind::Field(f),
                prereqs,
                level: if maskable { Level::Ordinal } else { Level::Nominal },
                must_crossproduct,
                writable: if writable { scope } else { Writable::No },
            },
        );
    }

    fn subfield(
        &mut self,
        name: &'static str,
        prereqs: Option<&'static str>,
        parent: &'static str,
        lo: u32,
        hi: u32,
    ) {
        self.subfield_scoped(name, prereqs, parent, lo, hi, Writable::Yes);
    }

    fn subfield_scoped(
        &mut self,
        name: &'static str,
        prereqs: Option<&'static str>,
        parent: &'static str,
        lo: u32,
        hi: u32,
        scope: Writable,
    ) {
        let p = &self.map[parent];
        let writable = if p.writable == Writable::No {
            Writable::No
        } else {
            scope
        };
        let level = p.level;
        self.map.insert(
            name,
            Symbol {
                name,
                width: hi - lo + 1,
                kind: Kind::Subfield { parent, ofs: lo },
                prereqs,
                level,
                must_crossproduct: false,
                writable,
            },
        );
    }

    fn predicate(&mut self, name: &'static str, expansion: &'static str, level: Level) {
        self.map.insert(
            name,
            Symbol {
                name,
                width: 1,
                kind: Kind::Predicate(expansion),
                prereqs: None,
                level,
                must_crossproduct: false,
                writable: Writable::No,
            },
        );
    }
}

fn build() -> SymbolTable {
    use Field::*;
    use Level::{Boolean, Nominal};
    let mut b = Builder { map: HashMap::new() };
    for (name, f) in [("inport", Reg(14)), ("outport", Reg(15))] {
        b.map.insert(
            name,
            Symbol {
                name,
                width: 0,
                kind: Kind::Str(f),
                prereqs: None,
                level: Level::Nominal,
                must_crossproduct: false,
                writable: Writable::Yes,
            },
        );
    }
    // Logical registers: xxreg0/1 hold reg0..reg7 (reg0 most significant),
    // xreg0..3 are their halves, xreg4 = reg8 ‖ reg9.
    for xx in 0..2u8 {
        b.field(leak(format!("xxreg{xx}")), Xxreg(xx), None, false);
    }
    for x in 0..5u32 {
        let name = leak(format!("xreg{x}"));
        if x < 4 {
            let lo = 64 * (1 - x % 2);
            b.subfield(name, None, leak(format!("xxreg{}", x / 2)), lo, lo + 63);
        } else {
            b.field(name, Xreg(4), None, false);
        }
    }
    for r in 0..10u32 {
        let name = leak(format!("reg{r}"));
        if r < 8 {
            let lo = 32 * (3 - r % 4);
            b.subfield(name, None, leak(format!("xxreg{}", r / 4)), lo, lo + 31);
        } else {
            let lo = 32 * (1 - r % 2);
            b.subfield(name, None, "xreg4", lo, lo + 31);
        }
    }
    b.field("flags", Reg(10), None, false);
    for (name, bit) in [
        ("flags.loopback", 0),
        ("flags.force_snat_for_dnat", 2),
        ("flags.force_snat_for_lb", 3),
        ("flags.skip_snat_for_lb", 9),
        ("flags.use_snat_zone", 11),
    ] {
        b.subfield(name, None, "flags", bit, bit);
    }

    let cc = Writable::CtCommit;
    b.field_scoped("ct_mark", CtMark, None, false, cc);
    for (name, lo, hi) in [
        ("ct_mark.blocked", 0, 0),
        ("ct_mark.natted", 1, 1),
        ("ct_mark.ecmp_reply_port", 16, 31),
        ("ct_mark.skip_snat", 2, 2),
        ("ct_mark.force_snat", 3, 3),
    ] {
        b.subfield_scoped(name, None, "ct_mark", lo, hi, cc);
    }
    b.field_scoped("ct_label", CtLabel, None, false, cc);
    for (name, lo, hi) in [
        ("ct_label.blocked", 0, 0),
        ("ct_label.natted", 1, 1),
        ("ct_label.ecmp_reply_eth", 32, 79),
        ("ct_label.ecmp_reply_port", 80, 95),
        ("ct_label.label", 96, 127),
        ("ct_label.skip_snat", 2, 2),
        ("ct_label.force_snat", 3, 3),
    ] {
        b.subfield_scoped(name, None, "ct_label", lo, hi, cc);
    }
    b.field("ct_state", CtState, None, false);
    for (i, n) in ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"]
        .iter()
        .enumerate()
    {
        let name = leak(format!("ct.{n}"));
        let pre = if *n == "trk" { None } else { Some("ct.trk") };
        b.subfield(name, pre, "ct_state", i as u32, i as u32);
    }

    b.field("eth.src", EthSrc, None, false);
    b.field("eth.dst", EthDst, None, false);
    b.field("eth.type", EthType, None, true);
    b.predicate("eth.bcast", "eth.dst == ff:ff:ff:ff:ff:ff", Boolean);
    b.subfield("eth.mcast", None, "eth.dst", 40, 40);
    b.predicate("eth.mcastv6", "eth.dst[32..47] == 0x3333", Boolean);
    b.field("vlan.tci", VlanTci, None, false);
    b.predicate("vlan.present", "vlan.tci[12]", Boolean);
    b.subfield("vlan.pcp", Some("vlan.present"), "vlan.tci", 13, 15);
    b.subfield("vlan.vid", Some("vlan.present"), "vlan.tci", 0, 11);

    b.predicate("ip4", "eth.type == 0x800", Nominal);
    b.predicate("ip6", "eth.type == 0x86dd", Nominal);
    b.predicate("ip", "ip4 || ip6", Nominal);
    b.field("ip.proto", IpProto, Some("ip"), true);
    b.field("ip.dscp", IpDscp, Some("ip"), false);
    b.field("ip.ecn", IpEcn, Some("ip"), false);
    b.field("ip.ttl", IpTtl, Some("ip"), false);
    b.field("ip4.src", Ipv4Src, Some("ip4"), false);
    b.field("ip4.dst", Ipv4Dst, Some("ip4"), false);
    b.predicate("ip4.src_mcast", "ip4.src[28..31] == 0xe", Boolean);
    b.predicate("ip4.mcast", "eth.mcast && ip4.dst[28..31] == 0xe", Boolean);
    b.predicate("icmp4", "ip4 && ip.proto == 1", Nominal);
    b.field("icmp4.type", Icmpv4Type, Some("icmp4"), false);
    b.field("icmp4.code", Icmpv4Code, Some("icmp4"), false);
    b.predicate("igmp", "ip4 && ip.proto == 2", Nominal);
    b.field("ip6.src", Ipv6Src, Some("ip6"), false);
    b.field("ip6.dst", Ipv6Dst, Some("ip6"), false);
    b.field("ip6.label", Ipv6Label, Some("ip6"), false);
    b.predicate(
        "ip6.mcast_rsvd",
        "ip6.dst[116..127] == 0xff0 && ip6.dst[0..111] == 0x0",
        Boolean,
    );
    b.predicate(
        "ip6.mcast_all_nodes",
        "ip6.dst == ff01::1 || ip6.dst == ff02::1",
        Boolean,
    );
    b.predicate(
        "ip6.mcast_all_rtrs",
        "ip6.dst == ff01::2 || ip6.dst == ff02::2 || ip6.dst == ff05::2",
        Boolean,
    );
    b.predicate("ip6.mcast_sol_node", "ip6.dst == ff02::1:ff00:0000/104", Boolean);
    b.predicate(
        "ip6.mcast_flood",
        "eth.mcastv6 && (ip6.mcast_rsvd || ip6.mcast_all_nodes || ip6.mcast_all_rtrs || ip6.mcast_sol_node)",
        Boolean,
    );
    b.predicate("ip6.mcast", "eth.mcastv6 && ip6.dst[120..127] == 0xff", Boolean);
    b.predicate("icmp6", "ip6 && ip.proto == 58", Nominal);
    b.field("icmp6.type", Icmpv6Type, Some("icmp6"), true);
    b.field("icmp6.code", Icmpv6Code, Some("icmp6"), true);
    b.predicate("icmp", "icmp4 || icmp6", Nominal);
    b.field("ip.frag", IpFrag, Some("ip"), false);
    b.predicate("ip.is_frag", "ip.frag[0]", Boolean);
    b.predicate("ip.later_frag", "ip.frag[1]", Boolean);
    b.predicate("ip.first_frag", "ip.is_frag && !ip.later_frag", Boolean);
    b.predicate("arp", "eth.type == 0x806", Nominal);
    b.field("arp.op", ArpOp, Some("arp"), false);
    b.field("arp.spa", ArpSpa, Some("arp"), false);
    b.field("arp.sha", ArpSha, Some("arp"), false);
    b.field("arp.tpa", ArpTpa, Some("arp"), false);
    b.field("arp.tha", ArpTha, Some("arp"), false);
    b.predicate("rarp", "eth.type == 0x8035", Nominal);
    // RARP shares ARP's OpenFlow fields; separate symbols only for the prereq.
    for (name, f) in [
        ("rarp.op", ArpOp),
        ("rarp.spa", ArpSpa),
        ("rarp.sha", ArpSha),
        ("rarp.tpa", ArpTpa),
        ("rarp.tha", ArpTha),
    ] {
        b.field(name, f, Some("rarp"), false);
    }
    b.predicate(
        "nd",
        "icmp6.type == {135, 136} && icmp6.code == 0 && ip.ttl == 255",
        Nominal,
    );
    b.predicate(
        "nd_ns",
        "icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255",
        Nominal,
    );
    b.predicate(
        "nd_na",
        "icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255",
        Nominal,
    );
    b.predicate(
        "nd_rs",
        "icmp6.type == 133 && icmp6.code == 0 && ip.ttl == 255",
        Nominal,
    );
    b.predicate(
        "nd_ra",
        "icmp6.type == 134 && icmp6.code == 0 && ip.ttl == 255",
        Nominal,
    );
    b.field("nd.target", NdTarget, Some("nd"), false);
    b.field("nd.sll", NdSll, Some("nd_ns"), false);
    b.field("nd.tll", NdTll, Some("nd_na"), false);
    b.predicate(
        "mldv1",
        "ip6.src == fe80::/10 && icmp6.type == {130, 131, 132}",
        Nominal,
    );
    b.predicate("mldv2", "ip6.dst == ff02::16 && icmp6.type == 143", Nominal);
    b.predicate("tcp", "ip.proto == 6", Nominal);
    b.field("tcp.src", TcpSrc, Some("tcp"), false);
    b.field("tcp.dst", TcpDst, Some("tcp"), false);
    b.field("tcp.flags", TcpFlags, Some("tcp"), false);
    b.predicate("udp", "ip.proto == 17", Nominal);
    b.field("udp.src", UdpSrc, Some("udp"), false);
    b.field("udp.dst", UdpDst, Some("udp"), false);
    b.predicate("sctp", "ip.proto == 132", Nominal);
    b.field("sctp.src", SctpSrc, Some("sctp"), false);
    b.field("sctp.dst", SctpDst, Some("sctp"), false);
    b.field("pkt.mark", PktMark, None, false);
    for (name, id, width) in [("icmp4.frag_mtu", 0, 16), ("icmp6.frag_mtu", 1, 32)] {
        b.map.insert(
            name,
            Symbol {
                name,
                width,
                kind: Kind::OvnField { id },
                prereqs: None,
                level: Level::Ordinal,
                must_crossproduct: false,
                writable: Writable::Yes,
            },
        );
    }
    SymbolTable { map: b.map }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_resolve_to_their_ovs_storage() {
        let t = symtab();
        assert_eq!(
            t.resolve(t.get("reg0").unwrap(), 15),
            Some((Field::Xxreg(0), 111))
        );
        assert_eq!(t.resolve(t.get("reg9").unwrap(), 2), Some((Field::Xreg(4), 2)));
        assert_eq!(t.resolve(t.get("reg8").unwrap(), 0), Some((Field::Xreg(4), 32)));
        assert_eq!(t.resolve(t.get("xreg0").unwrap(), 0), Some((Field::Xxreg(0), 64)));
        assert_eq!(t.resolve(t.get("reg7").unwrap(), 0), Some((Field::Xxreg(1), 0)));
        assert_eq!(t.resolve(t.get("ct.trk").unwrap(), 0), Some((Field::CtState, 5)));
        assert_eq!(t.get("eth.type").unwrap().level, Level::Nominal);
        assert_eq!(t.get("ct_mark.blocked").unwrap().writable, Writable::CtCommit);
    }
}
