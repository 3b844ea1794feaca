//! [`Match`]: a set of (field, value, optional mask).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{EncodeError, ParseError};
use crate::field::Field;
use crate::text;

/// One constraint of a [`Match`]. `mask == None` means exact match on the
/// whole field. Values are right-aligned in the `u128` (see [`Field`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatchEntry {
    pub field: Field,
    pub value: u128,
    pub mask: Option<u128>,
}

/// A flow match: at most one (value, mask) per [`Field`].
///
/// Entries are kept normalised: `value` has no bits outside `mask`, a mask
/// equal to the field's full width is stored as `None` (exact), and a zero
/// mask removes the entry (wildcard). Iteration and encoding follow
/// [`Field`]'s order, which places prerequisites first.
///
/// Decoding folds OpenFlow 1.5 spellings back into one field each: an
/// `xreg` entry becomes the two `reg`s it covers, OXM VLAN_VID/VLAN_PCP
/// become `vlan_tci`, OXM IP_DSCP becomes `nw_tos`.
///
/// The codec does not add prerequisites: a caller matching `nw_src` must
/// also match `eth_type = 0x0800` (as `ovs-vswitchd` requires).
///
/// ```
/// use openflow::{Field, Match};
/// let m = Match::new()
///     .with(Field::Reg(14), 1)
///     .with(Field::Metadata, 1)
///     .with(Field::EthType, 0x0800)
///     .with_masked(Field::Ipv4Src, 0x0a00_0000, 0xffff_ff00);
/// assert_eq!(m.to_string(), "ip,metadata=0x1,reg14=0x1,nw_src=10.0.0.0/24");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Match {
    entries: BTreeMap<Field, (u128, Option<u128>)>,
}

impl Match {
    /// The empty (match-everything) match.
    pub fn new() -> Match {
        Match::default()
    }

    /// Sets an exact-match constraint, replacing any previous one on `field`.
    pub fn set(&mut self, field: Field, value: u128) -> &mut Self {
        self.set_masked(field, value, field.full_mask())
    }

    /// Sets a masked constraint, replacing any previous one on `field`.
    pub fn set_masked(&mut self, field: Field, value: u128, mask: u128) -> &mut Self {
        let full = field.full_mask();
        let mask = mask & full;
        if mask == 0 {
            self.entries.remove(&field);
        } else {
            let m = if mask == full { None } else { Some(mask) };
            self.entries.insert(field, (value & mask, m));
        }
        self
    }

    /// Builder form of [`Match::set`].
    pub fn with(mut self, field: Field, value: u128) -> Match {
        self.set(field, value);
        self
    }

    /// Builder form of [`Match::set_masked`].
    pub fn with_masked(mut self, field: Field, value: u128, mask: u128) -> Match {
        self.set_masked(field, value, mask);
        self
    }

    /// Removes any constraint on `field`.
    pub fn remove(&mut self, field: Field) -> Option<MatchEntry> {
        self.entries
            .remove(&field)
            .map(|(value, mask)| MatchEntry { field, value, mask })
    }

    /// The constraint on `field`, if any.
    pub fn get(&self, field: Field) -> Option<MatchEntry> {
        self.entries
            .get(&field)
            .map(|&(value, mask)| MatchEntry { field, value, mask })
    }

    /// Constraints in canonical (wire) order.
    pub fn iter(&self) -> impl Iterator<Item = MatchEntry> + '_ {
        self.entries
            .iter()
            .map(|(&field, &(value, mask))| MatchEntry { field, value, mask })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks the match can be encoded: valid field identities and masks
    /// only on maskable fields.
    pub fn check(&self) -> Result<(), EncodeError> {
        for e in self.iter() {
            if !e.field.is_valid() {
                return Err(EncodeError::invalid(
                    "match",
                    format!("invalid field {:?}", e.field),
                ));
            }
            if e.mask.is_some() && !e.field.maskable() {
                return Err(EncodeError::invalid(
                    "match",
                    format!("{} is not maskable", e.field),
                ));
            }
        }
        Ok(())
    }

    /// Exact value of `field`, if matched exactly.
    fn exact(&self, field: Field) -> Option<u128> {
        match self.entries.get(&field) {
            Some(&(v, None)) => Some(v),
            _ => None,
        }
    }

    /// The `ovs-ofctl` protocol shorthand (`ip`, `tcp6`, `arp`, ...) implied
    /// by exact eth_type (and ip_proto), with the fields it stands for.
    fn shorthand(&self) -> Option<(&'static str, bool)> {
        let et = self.exact(Field::EthType)?;
        let proto = self.exact(Field::IpProto);
        let (name, uses_proto) = match (et, proto) {
            (0x0800, Some(1)) => ("icmp", true),
            (0x0800, Some(6)) => ("tcp", true),
            (0x0800, Some(17)) => ("udp", true),
            (0x0800, Some(132)) => ("sctp", true),
            (0x0800, _) => ("ip", false),
            (0x86dd, Some(58)) => ("icmp6", true),
            (0x86dd, Some(6)) => ("tcp6", true),
            (0x86dd, Some(17)) => ("udp6", true),
            (0x86dd, Some(132)) => ("sctp6", true),
            (0x86dd, _) => ("ipv6", false),
            (0x0806, _) => ("arp", false),
            (0x8035, _) => ("rarp", false),
            _ => return None,
        };
        Some((name, uses_proto))
    }
}

impl FromIterator<MatchEntry> for Match {
    fn from_iter<T: IntoIterator<Item = MatchEntry>>(iter: T) -> Self {
        let mut m = Match::new();
        for e in iter {
            m.set_masked(e.field, e.value, e.mask.unwrap_or(e.field.full_mask()));
        }
        m
    }
}

impl fmt::Display for MatchEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=", self.field.match_name())?;
        text::write_value(f, self.field, self.value, self.mask)
    }
}

/// Prints in `ovs-ofctl` match syntax, e.g. `tcp,reg14=0x1,tp_dst=80`
/// (protocol shorthand first, then fields in canonical order). An empty
/// match prints as the empty string.
impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !std::mem::take(&mut first) {
                f.write_str(",")?;
            }
            Ok(())
        };
        let short = self.shorthand();
        if let Some((name, _)) = short {
            sep(f)?;
            f.write_str(name)?;
        }
        for e in self.iter() {
            match (e.field, short) {
                (Field::EthType, Some(_)) => continue,
                (Field::IpProto, Some((_, true))) => continue,
                _ => {}
            }
            sep(f)?;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Parses `ovs-ofctl` match syntax (the subset of fields in [`Field`]);
/// accepts both the names ovs-ofctl prints (`dl_src`, `nw_src`, `tp_dst`)
/// and meta-flow names (`eth_src`, `ip_src`, `tcp_dst`).
impl FromStr for Match {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Match, ParseError> {
        let mut m = Match::new();
        let mut deferred: Vec<(&str, &str)> = Vec::new();
        for tok in text::split_top(s, ',') {
            let tok = tok.trim();
            if tok.is_empty() {
                continue;
            }
            let (name, val) = match tok.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (tok, None),
            };
            let Some(val) = val else {
                let (et, proto) = text::protocol_shorthand(name)
                    .ok_or_else(|| ParseError::new(format!("unknown match keyword `{name}`")))?;
                m.set(Field::EthType, u128::from(et));
                if let Some(p) = proto {
                    m.set(Field::IpProto, u128::from(p));
                }
                continue;
            };
            if matches!(name, "tp_src" | "tp_dst" | "icmp_type" | "icmp_code") {
                // These depend on the protocol, which may come later.
                deferred.push((name, val));
                continue;
            }
            let field =
                Field::from_name(name).ok_or_else(|| ParseError::new(format!("unknown field `{name}`")))?;
            let (v, mask) = text::parse_value(field, val)?;
            m.set_masked(field, v, mask);
        }
        let et = m.exact(Field::EthType);
        let proto = m.exact(Field::IpProto);
        for (name, val) in deferred {
            let field = match (name, et, proto) {
                ("tp_src", _, Some(17)) => Field::UdpSrc,
                ("tp_dst", _, Some(17)) => Field::UdpDst,
                ("tp_src", _, Some(132)) => Field::SctpSrc,
                ("tp_dst", _, Some(132)) => Field::SctpDst,
                ("tp_src", _, _) => Field::TcpSrc,
                ("tp_dst", _, _) => Field::TcpDst,
                ("icmp_type", Some(0x86dd), _) => Field::Icmpv6Type,
                ("icmp_code", Some(0x86dd), _) => Field::Icmpv6Code,
                ("icmp_type", _, _) => Field::Icmpv4Type,
                _ => Field::Icmpv4Code,
            };
            let (v, mask) = text::parse_value(field, val)?;
            m.set_masked(field, v, mask);
        }
        Ok(m)
    }
}
