//! Address syntax checks and normalisation, as `ovn-nbctl` does them (OVS
//! `eth_addr_from_string`, `ip_parse_cidr`, `ipv6_parse_cidr`, `inet_parse_active`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `xx:xx:xx:xx:xx:xx` with one or two hex digits per byte.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        mac[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(mac)
}

pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

pub fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    s.parse().ok()
}

/// `ADDR[/LEN]` (or `ADDR/MASK` for IPv4): the address and prefix length.
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u32)> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    if let Some(v4) = parse_ipv4(a) {
        let plen = match len {
            None => 32,
            Some(l) => match l.parse::<u32>() {
                Ok(n) if n <= 32 && l.chars().all(|c| c.is_ascii_digit()) => n,
                _ => {
                    let m: Ipv4Addr = l.parse().ok()?;
                    let m = u32::from(m);
                    if m.leading_ones() + m.trailing_zeros() != 32 {
                        return None;
                    }
                    m.leading_ones()
                }
            },
        };
        return Some((IpAddr::V4(v4), plen));
    }
    let v6 = parse_ipv6(a)?;
    let plen = match len {
        None => 128,
        Some(l) if l.chars().all(|c| c.is_ascii_digit()) && !l.is_empty() => {
            let n: u32 = l.parse().ok()?;
            if n > 128 {
                return None;
            }
            n
        }
        Some(_) => return None,
    };
    Some((IpAddr::V6(v6), plen))
}

/// `normalize_prefix_str`: the network address, with `/LEN` unless a host route.
pub fn normalize_prefix(s: &str) -> Option<String> {
    let (ip, plen) = parse_cidr(s)?;
    Some(match ip {
        IpAddr::V4(a) => {
            let mask = if plen == 0 { 0 } else { u32::MAX << (32 - plen) };
            let net = Ipv4Addr::from(u32::from(a) & mask);
            if plen == 32 {
                net.to_string()
            } else {
                format!("{net}/{plen}")
            }
        }
        IpAddr::V6(a) => {
            let mask = if plen == 0 { 0 } else { u128::MAX << (128 - plen) };
            let net = Ipv6Addr::from(u128::from(a) & mask);
            if plen == 128 {
                net.to_string()
            } else {
                format!("{net}/{plen}")
            }
        }
    })
}

/// An address of a load balancer VIP or backend: `IP`, `IP:PORT`, `[IP6]:PORT`, `IP6`.
#[derive(Debug, Clone, PartialEq)]
pub struct LbAddr {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

pub fn parse_lb_addr(s: &str) -> Option<LbAddr> {
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip: Ipv6Addr = ip.parse().ok()?;
        let port = match after {
            "" => None,
            p => parse_port(p.strip_prefix(':')?)?,
        };
        return Some(LbAddr {
            ip: IpAddr::V6(ip),
            port,
        });
    }
    if let Ok(ip6) = s.parse::<Ipv6Addr>() {
        return Some(LbAddr {
            ip: IpAddr::V6(ip6),
            port: None,
        });
    }
    let (ip, port) = match s.split_once(':') {
        Some((ip, p)) => (ip, parse_port(p)?),
        None => (s, None),
    };
    Some(LbAddr {
        ip: IpAddr::V4(ip.parse().ok()?),
        port,
    })
}

fn parse_port(p: &str) -> Option<Option<u16>> {
    if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u16 = p.parse().ok()?;
    Some((n != 0).then_some(n))
}

impl LbAddr {
    /// `ovn_lb_vip_format`: brackets around IPv6 only when a port follows.
    pub fn format(&self) -> String {
        match (self.ip, self.port) {
            (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
            (a, Some(p)) => format!("{a}:{p}"),
            (a, None) => a.to_string(),
        }
    }
}

/// `ovn_lb_vip_init` + formatting: the normalised VIP and backend list, or the
/// error message `ovn-nbctl` prints.
pub fn parse_lb_vip(vip: &str, backends: &str) -> Result<(String, String), String> {
    let v = parse_lb_addr(vip).ok_or_else(|| {
        format!("{vip}: should be an IP address (or an IP address and a port number with : as a separator).")
    })?;
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for tok in backends.split(',').filter(|t| !t.is_empty()) {
        let want_port = v.port.is_some();
        let bad = if want_port {
            format!("{tok}: should be an IP address and a port number with : as a separator")
        } else {
            format!("{tok}: should be an IP address")
        };
        let Some(b) = parse_lb_addr(tok) else {
            errors.push(bad);
            continue;
        };
        if b.ip.is_ipv4() != v.ip.is_ipv4() {
            errors.push(format!("{tok}: IP address family is different from VIP {}", v.ip));
            continue;
        }
        if want_port != b.port.is_some() {
            errors.push(bad);
            continue;
        }
        out.push(b.format());
    }
    if !errors.is_empty() {
        return Err(errors.join(", ") + ".");
    }
    Ok((v.format(), out.join(",")))
}

/// Validates one `lsp-set-addresses` argument: `MAC [IP...]`, `unknown`,
/// `dynamic`, `router`, `MAC dynamic`, `dynamic IP`.
pub fn valid_lsp_address(s: &str) -> bool {
    if matches!(s, "unknown" | "dynamic" | "router") {
        return true;
    }
    let mut words = s.split_whitespace();
    let Some(first) = words.next() else { return false };
    if first == "dynamic" {
        let rest: Vec<&str> = words.collect();
        return rest.len() == 1 && (parse_ipv4(rest[0]).is_some() || parse_ipv6(rest[0]).is_some());
    }
    if parse_mac(first).is_none() {
        return false;
    }
    let rest: Vec<&str> = words.collect();
    if rest == ["dynamic"] {
        return true;
    }
    rest.iter().all(|w| parse_cidr(w).is_some())
}

/// Validates one `lsp-set-port-security` argument: `MAC [IP[/LEN]...]`.
pub fn valid_port_security(s: &str) -> bool {
    let mut words = s.split_whitespace();
    let Some(first) = words.next() else { return false };
    parse_mac(first).is_some() && words.all(|w| parse_cidr(w).is_some())
}

/// The IP addresses (without prefix) of an `addresses` entry, for duplicate checks.
pub fn lsp_ips(s: &str) -> Vec<IpAddr> {
    let mut words = s.split_whitespace();
    match words.next() {
        Some(w) if parse_mac(w).is_some() => words.filter_map(|w| parse_cidr(w).map(|(ip, _)| ip)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert!(parse_mac("02:ac:10:ff:00:11").is_some());
        assert!(parse_mac("2:ac:10:ff:0:11").is_some());
        assert!(parse_mac("02:ac:10:ff:00").is_none());
        assert!(parse_mac("zz:ac:10:ff:00:11").is_none());
        assert!(parse_mac("02:ac:10:ff:00:111").is_none());
    }

    #[test]
    fn prefixes_normalise() {
        assert_eq!(normalize_prefix("10.0.0.5/24").unwrap(), "10.0.0.0/24");
        assert_eq!(normalize_prefix("1.2.3.4/32").unwrap(), "1.2.3.4");
        assert_eq!(normalize_prefix("1.2.3.4").unwrap(), "1.2.3.4");
        assert_eq!(normalize_prefix("10.0.0.0/255.255.0.0").unwrap(), "10.0.0.0/16");
        assert_eq!(normalize_prefix("fd00::5/64").unwrap(), "fd00::/64");
        assert!(normalize_prefix("1.2.3.0/33").is_none());
        assert!(normalize_prefix("1.2.3").is_none());
        assert!(normalize_prefix("fd00::/129").is_none());
    }

    #[test]
    fn lb_vips() {
        assert_eq!(
            parse_lb_vip("10.0.0.10:80", "10.0.0.2:8080,10.0.0.3:8080").unwrap(),
            ("10.0.0.10:80".into(), "10.0.0.2:8080,10.0.0.3:8080".into())
        );
        assert_eq!(
            parse_lb_vip("[fd00::10]:80", "[fd00::2]:8080").unwrap(),
            ("[fd00::10]:80".into(), "[fd00::2]:8080".into())
        );
        assert_eq!(
            parse_lb_vip("fd00::10", "fd00::2").unwrap(),
            ("fd00::10".into(), "fd00::2".into())
        );
        assert_eq!(
            parse_lb_vip("1.1.1.1:80", "2.2.2.2").unwrap_err(),
            "2.2.2.2: should be an IP address and a port number with : as a separator."
        );
        assert_eq!(
            parse_lb_vip("[fd00::1]:80", "2.2.2.2:80").unwrap_err(),
            "2.2.2.2:80: IP address family is different from VIP fd00::1."
        );
        assert!(parse_lb_vip("1.1.1", "2.2.2.2").is_err());
    }

    #[test]
    fn lsp_addresses() {
        for ok in [
            "02:ac:10:ff:00:11",
            "02:ac:10:ff:00:11 10.0.0.2",
            "02:ac:10:ff:00:11 10.0.0.2 fd00::2",
            "unknown",
            "router",
            "dynamic",
            "02:ac:10:ff:00:11 dynamic",
            "dynamic 10.0.0.9",
        ] {
            assert!(valid_lsp_address(ok), "{ok}");
        }
        for bad in [
            "zz",
            "1.2.3",
            "02:ac:10:ff:00:11 1.2.3",
            "10.0.0.2 02:ac:10:ff:00:11",
            "",
        ] {
            assert!(!valid_lsp_address(bad), "{bad}");
        }
        assert!(valid_port_security("02:ac:10:ff:00:11 10.0.0.2/24"));
        assert!(!valid_port_security("02:ac:10:ff:00:11 1.2.3.4/33"));
        assert!(!valid_port_security("xx"));
    }
}
