//! Minimal, bounds-checked parsing and building of the few packet formats
//! pinctrl needs (Ethernet with an optional 802.1Q tag, IPv4, ARP).

use std::net::Ipv4Addr;

pub const ETH_TYPE_IPV4: u16 = 0x0800;
pub const ETH_TYPE_ARP: u16 = 0x0806;
pub const ETH_TYPE_VLAN: u16 = 0x8100;

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
