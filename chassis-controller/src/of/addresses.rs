//! Parsing of Port_Binding `mac` / `port_security` strings
//! (`"MAC [IP[/PLEN]]..."`, as ovn's `extract_lsp_addresses`).

use std::net::{Ipv4Addr, Ipv6Addr};

/// One `"MAC IP..."` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LportAddresses {
    /// The MAC as a 48-bit integer.
    pub mac: u64,
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    pub ipv6: Vec<(Ipv6Addr, u8)>,
}

/// Parses `aa:bb:cc:dd:ee:ff` into a 48-bit integer.
pub fn parse_mac(s: &str) -> Option<u64> {
    let mut v: u64 = 0;
    let mut n = 0;
    for part in s.split(':') {
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        v = (v << 8) | u64::from(u8::from_str_radix(part, 16).ok()?);
        n += 1;
    }
    (n == 6).then_some(v)
}

/// Parses one entry; `None` if it does not start with a MAC (e.g.
/// `"router"`, `"unknown"`, `"dynamic"`) or an address is malformed.
pub fn parse_lport_addresses(s: &str) -> Option<LportAddresses> {
    let mut words = s.split_whitespace();
    let mac = parse_mac(words.next()?)?;
    let mut out = LportAddresses {
        mac,
        ipv4: Vec::new(),
        ipv6: Vec::new(),
    };
    for w in words {
        let (addr, plen) = match w.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (w, None),
        };
        if let Ok(a) = addr.parse::<Ipv4Addr>() {
            let p = plen.unwrap_or(32);
            if p > 32 {
                return None;
            }
            out.ipv4.push((a, p));
        } else if let Ok(a) = addr.parse::<Ipv6Addr>() {
            let p = plen.unwrap_or(128);
            if p > 128 {
                return None;
            }
            out.ipv6.push((a, p));
        } else {
            return None;
        }
    }
    Some(out)
}

/// Match value and mask for an IPv4 address entry: the exact address if the
/// prefix is /32 or the address has host bits set, else the network.
pub fn ipv4_match(addr: Ipv4Addr, plen: u8) -> (u128, u128) {
    let a = u32::from(addr);
    let mask = if plen == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(plen))
    };
    if plen == 32 || a & !mask != 0 {
        (u128::from(a), u128::from(u32::MAX))
    } else {
        (u128::from(a & mask), u128::from(mask))
    }
}

/// Same as [`ipv4_match`] for IPv6.
pub fn ipv6_match(addr: Ipv6Addr, plen: u8) -> (u128, u128) {
    let a = u128::from(addr);
    let mask = if plen == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(plen))
    };
    if plen == 128 || a & !mask != 0 {
        (a, u128::MAX)
    } else {
        (a & mask, mask)
    }
}

/// The EUI-64 link-local address for `mac`.
pub fn ipv6_lla(mac: u64) -> Ipv6Addr {
    let b = mac.to_be_bytes();
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        b[2] ^ 0x02,
        b[3],
        b[4],
        0xff,
        0xfe,
        b[5],
        b[6],
        b[7],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries() {
        let a = parse_lport_addresses("50:54:00:00:00:01 10.0.1.11 fd00::11/64").unwrap();
        assert_eq!(a.mac, 0x5054_0000_0001);
        assert_eq!(a.ipv4, vec![("10.0.1.11".parse().unwrap(), 32)]);
        assert_eq!(a.ipv6, vec![("fd00::11".parse().unwrap(), 64)]);
        assert!(parse_lport_addresses("router").is_none());
        assert!(parse_lport_addresses("unknown").is_none());
        assert!(parse_lport_addresses("50:54:00:00:00:01 bogus").is_none());
        assert!(parse_lport_addresses("").is_none());
    }

    #[test]
    fn ip_matches() {
        assert_eq!(
            ipv4_match("10.0.1.0".parse().unwrap(), 24),
            (0x0a00_0100, 0xffff_ff00)
        );
        assert_eq!(
            ipv4_match("10.0.1.5".parse().unwrap(), 24),
            (0x0a00_0105, 0xffff_ffff)
        );
        assert_eq!(ipv6_lla(0x5054_0000_0001).to_string(), "fe80::5254:ff:fe00:1");
    }
}
