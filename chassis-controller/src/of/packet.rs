//! Minimal, bounds-checked parsing and building of the few packet formats
//! pinctrl needs (Ethernet with an optional 802.1Q tag, IPv4, IPv6, ARP, and
//! the Internet checksum).

use std::net::{Ipv4Addr, Ipv6Addr};

pub const ETH_TYPE_IPV4: u16 = 0x0800;
pub const ETH_TYPE_ARP: u16 = 0x0806;
pub const ETH_TYPE_VLAN: u16 = 0x8100;
pub const ETH_TYPE_IPV6: u16 = 0x86dd;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;
pub const PROTO_SCTP: u8 = 132;

/// The Ethernet header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eth {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    /// 802.1Q TCI, if tagged.
    pub vlan_tci: Option<u16>,
    /// Ethertype after any VLAN tag.
    pub eth_type: u16,
    /// Offset of the payload.
    pub payload: usize,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parses the Ethernet (and 802.1Q) header.
pub fn parse_eth(frame: &[u8]) -> Option<Eth> {
    let dst: [u8; 6] = frame.get(0..6)?.try_into().ok()?;
    let src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let t = u16_at(frame, 12)?;
    if t == ETH_TYPE_VLAN {
        Some(Eth {
            dst,
            src,
            vlan_tci: Some(u16_at(frame, 14)?),
            eth_type: u16_at(frame, 16)?,
            payload: 18,
        })
    } else {
        Some(Eth {
            dst,
            src,
            vlan_tci: None,
            eth_type: t,
            payload: 14,
        })
    }
}

/// Source and destination of the IPv4 header at `frame[at..]`.
pub fn ipv4_addrs(frame: &[u8], at: usize) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let h = frame.get(at..at + 20)?;
    if h[0] >> 4 != 4 {
        return None;
    }
    let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
    let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
    Some((src, dst))
}

/// An ARP packet's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    pub op: u16,
    pub sha: [u8; 6],
    pub spa: Ipv4Addr,
    pub tha: [u8; 6],
    pub tpa: Ipv4Addr,
}

/// Parses an Ethernet/IPv4 ARP body at `frame[at..]`.
pub fn parse_arp(frame: &[u8], at: usize) -> Option<Arp> {
    let b = frame.get(at..at + 28)?;
    if u16::from_be_bytes([b[0], b[1]]) != 1
        || u16::from_be_bytes([b[2], b[3]]) != ETH_TYPE_IPV4
        || b[4] != 6
        || b[5] != 4
    {
        return None;
    }
    Some(Arp {
        op: u16::from_be_bytes([b[6], b[7]]),
        sha: b[8..14].try_into().ok()?,
        spa: Ipv4Addr::new(b[14], b[15], b[16], b[17]),
        tha: b[18..24].try_into().ok()?,
        tpa: Ipv4Addr::new(b[24], b[25], b[26], b[27]),
    })
}

/// An Ethernet frame carrying `arp` (keeps `vlan_tci` if given).
pub fn build_arp(dst: [u8; 6], src: [u8; 6], vlan_tci: Option<u16>, arp: &Arp) -> Vec<u8> {
    let mut out = Vec::with_capacity(46);
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    if let Some(tci) = vlan_tci {
        out.extend_from_slice(&ETH_TYPE_VLAN.to_be_bytes());
        out.extend_from_slice(&tci.to_be_bytes());
    }
    out.extend_from_slice(&ETH_TYPE_ARP.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ETH_TYPE_IPV4.to_be_bytes());
    out.extend_from_slice(&[6, 4]);
    out.extend_from_slice(&arp.op.to_be_bytes());
    out.extend_from_slice(&arp.sha);
    out.extend_from_slice(&arp.spa.octets());
    out.extend_from_slice(&arp.tha);
    out.extend_from_slice(&arp.tpa.octets());
    out
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_to_string(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// The parts of an IPv4 or IPv6 packet that pinctrl's replies are built from.
pub(crate) struct Ip<'a> {
    pub src: [u8; 6],
    pub dst: [u8; 6],
    pub vlan_tci: Option<u16>,
    pub addrs: Addrs,
    pub proto: u8,
    /// The whole IP packet (header included), as far as its length says.
    pub packet: &'a [u8],
    /// The L4 header and payload.
    pub l4: &'a [u8],
}

#[derive(Clone, Copy)]
pub(crate) enum Addrs {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

impl Addrs {
    pub fn swapped(self) -> Addrs {
        match self {
            Addrs::V4(s, d) => Addrs::V4(d, s),
            Addrs::V6(s, d) => Addrs::V6(d, s),
        }
    }
}

pub(crate) fn parse_ip(frame: &[u8]) -> Option<Ip<'_>> {
    let eth = parse_eth(frame)?;
    let l3 = frame.get(eth.payload..)?;
    let (addrs, proto, len, hlen) = match eth.eth_type {
        ETH_TYPE_IPV4 => {
            let h = l3.get(..20)?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            if h[0] >> 4 != 4 || ihl < 20 {
                return None;
            }
            let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
            let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
            let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
            (Addrs::V4(src, dst), h[9], len, ihl)
        }
        ETH_TYPE_IPV6 => {
            let h = l3.get(..40)?;
            if h[0] >> 4 != 6 {
                return None;
            }
            let src: [u8; 16] = h[8..24].try_into().ok()?;
            let dst: [u8; 16] = h[24..40].try_into().ok()?;
            let len = 40 + usize::from(u16::from_be_bytes([h[4], h[5]]));
            (Addrs::V6(src.into(), dst.into()), h[6], len, 40)
        }
        _ => return None,
    };
    if len < hlen {
        return None;
    }
    // A frame may carry padding after the IP packet, or be cut short.
    let packet = l3.get(..len.min(l3.len()))?;
    Some(Ip {
        src: eth.src,
        dst: eth.dst,
        vlan_tci: eth.vlan_tci,
        addrs,
        proto,
        l4: packet.get(hlen..)?,
        packet,
    })
}

/// Ones' complement sum of `data`, folded into `acc`.
pub(crate) fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

pub(crate) fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Pseudo-header sum for a transport checksum (RFC 793 / RFC 8200 8.1).
pub(crate) fn pseudo(addrs: Addrs, proto: u8, len: usize) -> u32 {
    match addrs {
        Addrs::V4(s, d) => {
            let acc = sum(sum(0, &s.octets()), &d.octets());
            acc + u32::from(proto) + len as u32
        }
        Addrs::V6(s, d) => {
            let acc = sum(sum(0, &s.octets()), &d.octets());
            acc + (len as u32 >> 16) + (len as u32 & 0xffff) + u32::from(proto)
        }
    }
}

/// Ethernet + IP header (TTL `ttl`, DF, ID 0, TOS 0) for an L4 payload of
/// `l4_len` bytes.
pub(crate) fn headers(
    eth_src: [u8; 6],
    eth_dst: [u8; 6],
    addrs: Addrs,
    proto: u8,
    ttl: u8,
    l4_len: usize,
) -> Vec<u8> {
    let mut p = Vec::with_capacity(14 + 40 + l4_len);
    p.extend_from_slice(&eth_dst);
    p.extend_from_slice(&eth_src);
    match addrs {
        Addrs::V4(s, d) => {
            p.extend_from_slice(&ETH_TYPE_IPV4.to_be_bytes());
            let start = p.len();
            p.extend_from_slice(&[0x45, 0]);
            p.extend_from_slice(&((20 + l4_len) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0x40, 0, ttl, proto, 0, 0]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            let c = finish(sum(0, &p[start..]));
            p[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
        }
        Addrs::V6(s, d) => {
            p.extend_from_slice(&ETH_TYPE_IPV6.to_be_bytes());
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&(l4_len as u16).to_be_bytes());
            p.extend_from_slice(&[proto, ttl]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
        }
    }
    p
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An Ethernet/IPv4/UDP frame (checksums zero).
    pub(crate) fn udp4(src_mac: [u8; 6], dst_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&dst_mac);
        f.extend_from_slice(&src_mac);
        f.extend_from_slice(&ETH_TYPE_IPV4.to_be_bytes());
        f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
        f
    }

    #[test]
    fn roundtrip_arp() {
        let arp = Arp {
            op: 1,
            sha: [0x50, 0x54, 0, 0, 0, 1],
            spa: Ipv4Addr::new(10, 0, 1, 11),
            tha: [0; 6],
            tpa: Ipv4Addr::new(10, 0, 1, 1),
        };
        let f = build_arp([0xff; 6], arp.sha, Some(0x0005), &arp);
        let e = parse_eth(&f).unwrap();
        assert_eq!((e.eth_type, e.vlan_tci, e.payload), (ETH_TYPE_ARP, Some(5), 18));
        assert_eq!(parse_arp(&f, e.payload), Some(arp));
    }

    #[test]
    fn parses_ipv4_and_rejects_garbage() {
        let f = udp4(
            [1; 6],
            [2; 6],
            Ipv4Addr::new(1, 2, 3, 4),
            Ipv4Addr::new(5, 6, 7, 8),
        );
        let e = parse_eth(&f).unwrap();
        assert_eq!(
            ipv4_addrs(&f, e.payload),
            Some((Ipv4Addr::new(1, 2, 3, 4), Ipv4Addr::new(5, 6, 7, 8)))
        );
        for n in 0..f.len() {
            let _ = parse_eth(&f[..n]).map(|e| ipv4_addrs(&f[..n], e.payload));
            let _ = parse_arp(&f[..n], 14);
        }
        assert!(parse_eth(&[1, 2, 3]).is_none());
    }
}
