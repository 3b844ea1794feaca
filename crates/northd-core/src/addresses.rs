//! Parsing and formatting of the address syntaxes found in the NB database: Ethernet
//! addresses, IPv4/IPv6 addresses, CIDRs (`Logical_Router_Port.networks`) and the
//! `Logical_Switch_Port.addresses` / `port_security` entries ("MAC IP IP...").
//!
//! Text output follows what OVN prints (lower-case MACs, RFC 5952 IPv6), because the
//! strings end up verbatim inside logical flows.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    #[error("invalid Ethernet address '{0}'")]
    Mac(String),
    #[error("invalid IP address '{0}'")]
    Ip(String),
    #[error("invalid network '{0}' (expected IP/prefix-length)")]
    Cidr(String),
    #[error("address entry '{0}' does not start with an Ethernet address")]
    Entry(String),
}

/// A 48-bit Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// The EUI-64 based IPv6 link-local address (`in6_generate_lla`), which OVN gives every
    /// router port in addition to its configured networks.
    pub fn ipv6_lla(&self) -> Ipv6Addr {
        let m = self.0;
        Ipv6Addr::from([
            0xfe,
            0x80,
            0,
            0,
            0,
            0,
            0,
            0,
            m[0] ^ 0x02,
            m[1],
            m[2],
            0xff,
            0xfe,
            m[3],
            m[4],
            m[5],
        ])
    }
}

impl FromStr for Mac {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddressError::Mac(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut out {
            let p = parts.next().ok_or_else(err)?;
            if p.is_empty() || p.len() > 2 {
                return Err(err());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Mac(out))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Solicited-node multicast address `ff02::1:ffXX:XXXX` for an IPv6 address.
pub fn solicited_node(addr: &Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// An IPv4 or IPv6 address with a prefix length, as in `Logical_Router_Port.networks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub plen: u8,
}

impl Cidr {
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    fn max_plen(addr: &IpAddr) -> u8 {
        if addr.is_ipv4() { 32 } else { 128 }
    }

    /// Network address (host bits cleared).
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(self.plen))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(self.plen))),
        }
    }

    /// IPv4 broadcast address (all host bits set); `None` for IPv6.
    pub fn broadcast(&self) -> Option<Ipv4Addr> {
        match self.addr {
            IpAddr::V4(a) => Some(Ipv4Addr::from(u32::from(a) | !mask32(self.plen))),
            IpAddr::V6(_) => None,
        }
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let m = mask32(self.plen);
                u32::from(a) & m == u32::from(*b) & m
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let m = mask128(self.plen);
                u128::from(a) & m == u128::from(*b) & m
            }
            _ => false,
        }
    }

    /// "network/plen" as OVN prints route prefixes, e.g. `172.16.255.0/24`.
    pub fn network_string(&self) -> String {
        format!("{}/{}", self.network(), self.plen)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.plen)
    }
}

impl FromStr for Cidr {
    type Err = AddressError;

    /// Accepts "IP/plen" and a bare "IP" (full-length prefix), like `ip_parse_cidr`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddressError::Cidr(s.to_string());
        let (ip, plen) = match s.split_once('/') {
            Some((ip, plen)) => (ip, Some(plen)),
            None => (s, None),
        };
        let addr = IpAddr::from_str(ip).map_err(|_| err())?;
        let max = Cidr::max_plen(&addr);
        let plen = match plen {
            Some(p) => p
                .parse::<u8>()
                .map_err(|_| err())
                .and_then(|p| if p > max { Err(err()) } else { Ok(p) })?,
            None => max,
        };
        Ok(Cidr { addr, plen })
    }
}

pub(crate) fn mask32(plen: u8) -> u32 {
    if plen == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(plen))
    }
}

fn mask128(plen: u8) -> u128 {
    if plen == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(plen))
    }
}

pub fn parse_ip(s: &str) -> Result<IpAddr, AddressError> {
    IpAddr::from_str(s).map_err(|_| AddressError::Ip(s.to_string()))
}

/// One parsed "MAC [IP...]" entry of `addresses` or `port_security`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LportAddresses {
    pub mac: Mac,
    pub ipv4: Vec<Ipv4Addr>,
    pub ipv6: Vec<Ipv6Addr>,
}

/// Parses "MAC IP IP/plen ..." (`extract_lsp_addresses`). Prefix lengths are accepted and
/// dropped, as for `port_security` entries.
pub fn parse_lport_addresses(s: &str) -> Result<LportAddresses, AddressError> {
    let mut words = s.split_whitespace();
    let first = words.next().ok_or_else(|| AddressError::Entry(s.to_string()))?;
    let mac = Mac::from_str(first).map_err(|_| AddressError::Entry(s.to_string()))?;
    let mut out = LportAddresses {
        mac,
        ipv4: Vec::new(),
        ipv6: Vec::new(),
    };
    for w in words {
        let c = Cidr::from_str(w).map_err(|_| AddressError::Ip(w.to_string()))?;
        match c.addr {
            IpAddr::V4(a) => out.ipv4.push(a),
            IpAddr::V6(a) => out.ipv6.push(a),
        }
    }
    Ok(out)
}

/// Parsed `Logical_Router_Port` addressing: MAC plus networks, with the link-local IPv6
/// address appended as OVN does (`extract_lrp_networks`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LrpNetworks {
    pub mac: Mac,
    pub ipv4: Vec<Cidr>,
    pub ipv6: Vec<Cidr>,
}

impl LrpNetworks {
    pub fn new(mac: Mac, networks: &[Cidr]) -> Self {
        let mut ipv4 = Vec::new();
        let mut ipv6 = Vec::new();
        for n in networks {
            if n.is_ipv4() {
                ipv4.push(*n);
            } else {
                ipv6.push(*n);
            }
        }
        let lla = Cidr {
            addr: IpAddr::V6(mac.ipv6_lla()),
            plen: 64,
        };
        if !ipv6.iter().any(|c| c.addr == lla.addr) {
            ipv6.push(lla);
        }
        LrpNetworks { mac, ipv4, ipv6 }
    }

    /// True if `ip` falls in one of the port's subnets (`find_lrp_member_ip`).
    pub fn member(&self, ip: &IpAddr) -> bool {
        self.ipv4.iter().chain(&self.ipv6).any(|c| c.contains(ip))
    }

    pub fn all(&self) -> impl Iterator<Item = &Cidr> {
        self.ipv4.iter().chain(&self.ipv6)
    }
}

/// Formats a set of items the way northd writes value sets in matches: a single element
/// bare, several as `{a, b}`.
pub fn set_or_single<T: fmt::Display>(items: &[T]) -> String {
    if items.len() == 1 {
        items[0].to_string()
    } else {
        let v: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        format!("{{{}}}", v.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trip_and_errors() {
        let m: Mac = "02:AC:10:ff:0:11".parse().unwrap();
        assert_eq!(m.to_string(), "02:ac:10:ff:00:11");
        assert!("02:ac:10:ff:00".parse::<Mac>().is_err());
        assert!("02:ac:10:ff:00:11:22".parse::<Mac>().is_err());
        assert!("zz:ac:10:ff:00:11".parse::<Mac>().is_err());
        assert!("".parse::<Mac>().is_err());
    }

    #[test]
    fn link_local_and_solicited_node() {
        let m: Mac = "02:ac:10:ff:00:01".parse().unwrap();
        let lla = m.ipv6_lla();
        assert_eq!(lla.to_string(), "fe80::ac:10ff:feff:1");
        assert_eq!(solicited_node(&lla).to_string(), "ff02::1:ffff:1");
    }

    #[test]
    fn cidr_math() {
        let c: Cidr = "172.16.255.1/24".parse().unwrap();
        assert_eq!(c.network_string(), "172.16.255.0/24");
        assert_eq!(c.broadcast().unwrap().to_string(), "172.16.255.255");
        assert!(c.contains(&"172.16.255.200".parse().unwrap()));
        assert!(!c.contains(&"172.16.254.1".parse().unwrap()));
        let z: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(z.contains(&"1.2.3.4".parse().unwrap()));
        assert!("10.0.0.1/33".parse::<Cidr>().is_err());
        assert!("10.0.0/24".parse::<Cidr>().is_err());
        let six: Cidr = "fe80::1/64".parse().unwrap();
        assert_eq!(six.network_string(), "fe80::/64");
    }

    #[test]
    fn lport_entry() {
        let a = parse_lport_addresses("02:ac:10:ff:00:11 172.16.255.11 fd00::11").unwrap();
        assert_eq!(a.ipv4.len(), 1);
        assert_eq!(a.ipv6.len(), 1);
        assert!(parse_lport_addresses("unknown").is_err());
        assert!(parse_lport_addresses("02:ac:10:ff:00:11 300.1.1.1").is_err());
    }
}
