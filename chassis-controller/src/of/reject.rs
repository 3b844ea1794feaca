//! Packets pinctrl composes in answer to a punted IP packet, for the
//! `icmp4`/`icmp6`, `icmp4_error`/`icmp6_error`, `tcp_reset` and `reject`
//! actions (ovn-controller 23.03's behaviour, which OVN's logical flows
//! expect): an ICMP destination-unreachable quoting the packet, a TCP
//! RST+ACK, or an SCTP ABORT. The nested actions of the logical action then run on the new
//! packet; with `loopback` (the `reject` case) the addresses are already
//! swapped here, so it goes back where it came from.
//!
//! Pure and bounds-checked: a malformed frame gives `None`.

use super::packet::{
    Addrs, ETH_TYPE_VLAN, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP, finish, headers,
    parse_ip, pseudo, sum,
};

const TCP_RST: u8 = 0x04;
const TCP_ACK: u8 = 0x10;
/// ICMP destination unreachable, for both families' type numbers.
const ICMP4_DST_UNREACH: u8 = 3;
const ICMP6_DST_UNREACH: u8 = 1;

fn push_vlan(frame: &mut Vec<u8>, tci: u16) {
    let mut tag = ETH_TYPE_VLAN.to_be_bytes().to_vec();
    tag.extend_from_slice(&tci.to_be_bytes());
    frame.splice(12..12, tag);
}

/// An ICMP (ICMPv6) destination-unreachable quoting as much of the packet as
/// fits in 576 (1280) bytes. Code 1 (host unreachable), or 3/4 (port
/// unreachable) for UDP when `port_code`; the nested actions usually set
/// their own type and code. `loopback` swaps the addresses.
pub fn icmp_unreachable(frame: &[u8], port_code: bool, loopback: bool) -> Option<Vec<u8>> {
    let ip = parse_ip(frame)?;
    let (eth_src, eth_dst, addrs) = if loopback {
        (ip.dst, ip.src, ip.addrs.swapped())
    } else {
        (ip.src, ip.dst, ip.addrs)
    };
    let udp = port_code && ip.proto == PROTO_UDP;
    let mut p = match addrs {
        Addrs::V4(..) => {
            let quoted = &ip.packet[..ip.packet.len().min(576 - 14 - 20 - 8)];
            let mut p = headers(eth_src, eth_dst, addrs, PROTO_ICMP, 255, 8 + quoted.len());
            let at = p.len();
            p.extend_from_slice(&[ICMP4_DST_UNREACH, if udp { 3 } else { 1 }, 0, 0, 0, 0, 0, 0]);
            p.extend_from_slice(quoted);
            let c = finish(sum(0, &p[at..]));
            p[at + 2..at + 4].copy_from_slice(&c.to_be_bytes());
            p
        }
        Addrs::V6(..) => {
            let quoted = &ip.packet[..ip.packet.len().min(1280 - 14 - 40 - 8)];
            let len = 8 + quoted.len();
            let mut p = headers(eth_src, eth_dst, addrs, PROTO_ICMPV6, 255, len);
            let at = p.len();
            p.extend_from_slice(&[ICMP6_DST_UNREACH, if udp { 4 } else { 1 }, 0, 0, 0, 0, 0, 0]);
            p.extend_from_slice(quoted);
            let c = finish(sum(pseudo(addrs, PROTO_ICMPV6, len), &p[at..]));
            p[at + 2..at + 4].copy_from_slice(&c.to_be_bytes());
            p
        }
    };
    if let Some(tci) = ip.vlan_tci {
        push_vlan(&mut p, tci);
    }
    Some(p)
}

/// A TCP RST+ACK for a TCP segment: ports swapped, sequence 0, acknowledging
/// the segment's sequence number + 1, TTL 63. `loopback` swaps the
/// addresses.
pub fn tcp_reset(frame: &[u8], loopback: bool) -> Option<Vec<u8>> {
    let ip = parse_ip(frame)?;
    if ip.proto != PROTO_TCP {
        return None;
    }
    let th = ip.l4.get(..20)?;
    let (eth_src, eth_dst, addrs) = if loopback {
        (ip.dst, ip.src, ip.addrs.swapped())
    } else {
        (ip.src, ip.dst, ip.addrs)
    };
    let seq = u32::from_be_bytes([th[4], th[5], th[6], th[7]]).wrapping_add(1);
    let mut p = headers(eth_src, eth_dst, addrs, PROTO_TCP, 63, 20);
    let at = p.len();
    p.extend_from_slice(&th[2..4]);
    p.extend_from_slice(&th[0..2]);
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[5 << 4, TCP_RST | TCP_ACK, 0, 0, 0, 0, 0, 0]);
    let c = finish(sum(pseudo(addrs, PROTO_TCP, 20), &p[at..]));
    p[at + 16..at + 18].copy_from_slice(&c.to_be_bytes());
    Some(p)
}

const SCTP_CHUNK_INIT: u8 = 1;
const SCTP_CHUNK_ABORT: u8 = 6;
/// ABORT flag: the verification tag is the receiver's own (reflected).
const SCTP_ABORT_T_BIT: u8 = 0x01;

/// CRC32c (Castagnoli), SCTP's checksum (RFC 9260 appendix A).
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An SCTP ABORT for an SCTP packet: ports swapped, TTL 63. For an INIT the
/// tag is the INIT's initiate tag; otherwise the packet's own tag, reflected
/// (T bit). Never for an ABORT. `loopback` swaps the addresses.
pub fn sctp_abort(frame: &[u8], loopback: bool) -> Option<Vec<u8>> {
    let ip = parse_ip(frame)?;
    if ip.proto != PROTO_SCTP {
        return None;
    }
    let sh = ip.l4.get(..12)?;
    let chunk = *ip.l4.get(12)?;
    let (tag, t_bit) = match chunk {
        SCTP_CHUNK_ABORT => return None,
        SCTP_CHUNK_INIT => (ip.l4.get(16..20)?, 0),
        _ => (&sh[4..8], SCTP_ABORT_T_BIT),
    };
    let (eth_src, eth_dst, addrs) = if loopback {
        (ip.dst, ip.src, ip.addrs.swapped())
    } else {
        (ip.src, ip.dst, ip.addrs)
    };
    let mut p = headers(eth_src, eth_dst, addrs, PROTO_SCTP, 63, 16);
    let at = p.len();
    p.extend_from_slice(&sh[2..4]);
    p.extend_from_slice(&sh[0..2]);
    p.extend_from_slice(tag);
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&[SCTP_CHUNK_ABORT, t_bit, 0, 4]);
    // The CRC goes in as computed, least significant byte first (as Linux and OVS do).
    let c = crc32c(&p[at..]);
    p[at + 8..at + 12].copy_from_slice(&c.to_le_bytes());
    if let Some(tci) = ip.vlan_tci {
        push_vlan(&mut p, tci);
    }
    Some(p)
}

/// `reject`: a TCP RST back for TCP, an SCTP ABORT for SCTP, an ICMP port/host
/// unreachable back for anything else; nothing for a RST, an ABORT or an ICMP
/// unreachable (never answer an error with an error).
pub fn reject(frame: &[u8]) -> Option<Vec<u8>> {
    let ip = parse_ip(frame)?;
    match ip.proto {
        PROTO_SCTP => sctp_abort(frame, true),
        PROTO_TCP => {
            let flags = *ip.l4.get(13)?;
            if flags & TCP_RST != 0 {
                return None;
            }
            tcp_reset(frame, true)
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            let unreach = match ip.addrs {
                Addrs::V4(..) => ICMP4_DST_UNREACH,
                Addrs::V6(..) => ICMP6_DST_UNREACH,
            };
            if *ip.l4.first()? == unreach {
                return None;
            }
            icmp_unreachable(frame, true, true)
        }
        _ => icmp_unreachable(frame, true, true),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
    const B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

    fn v4(proto: u8, l4: &[u8]) -> Vec<u8> {
        let addrs = Addrs::V4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut p = headers(A, B, addrs, proto, 64, l4.len());
        p.extend_from_slice(l4);
        p
    }

    fn tcp_syn() -> Vec<u8> {
        // sport 40000, dport 80, seq 1000, SYN.
        let mut th = vec![0x9c, 0x40, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x02];
        th.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        v4(PROTO_TCP, &th)
    }

    /// Verifies the IPv4 header checksum and the transport checksum.
    fn checksums_ok(p: &[u8]) -> bool {
        let ip = parse_ip(p).unwrap();
        let hdr_ok = match ip.addrs {
            Addrs::V4(..) => finish(sum(0, &p[14..34])) == 0,
            Addrs::V6(..) => true,
        };
        let l4 = match (ip.addrs, ip.proto) {
            (Addrs::V4(..), PROTO_ICMP) => finish(sum(0, ip.l4)),
            (a, proto) => finish(sum(pseudo(a, proto, ip.l4.len()), ip.l4)),
        };
        hdr_ok && l4 == 0
    }

    #[test]
    fn reject_tcp_answers_with_rst_ack_to_the_sender() {
        let rst = reject(&tcp_syn()).unwrap();
        let ip = parse_ip(&rst).unwrap();
        assert_eq!((ip.src, ip.dst), (B, A));
        assert!(
            matches!(ip.addrs, Addrs::V4(s, d) if s == Ipv4Addr::new(10, 0, 0, 2) && d == Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(&ip.l4[0..4], &[0, 80, 0x9c, 0x40], "ports swapped");
        assert_eq!(&ip.l4[8..12], &1001u32.to_be_bytes(), "acks seq + 1");
        assert_eq!(ip.l4[13], TCP_RST | TCP_ACK);
        assert_eq!(rst[14 + 8], 63, "TTL");
        assert!(checksums_ok(&rst));
        // Never a RST for a RST.
        assert_eq!(reject(&rst), None);
    }

    #[test]
    fn reject_udp_is_port_unreachable_quoting_the_packet() {
        let udp = v4(
            PROTO_UDP,
            &[0x13, 0x88, 0, 53, 0, 12, 0, 0, b'a', b'b', b'c', b'd'],
        );
        let icmp = reject(&udp).unwrap();
        let ip = parse_ip(&icmp).unwrap();
        assert_eq!(ip.proto, PROTO_ICMP);
        assert_eq!(&ip.l4[0..2], &[3, 3]);
        assert_eq!(&ip.l4[8..], &udp[14..], "the whole original IP packet is quoted");
        assert!(checksums_ok(&icmp));
        // Never an unreachable for an unreachable.
        assert_eq!(reject(&icmp), None);
        // icmp4_error leaves the code at "host unreachable" and the addresses as they were.
        let err = icmp_unreachable(&udp, false, false).unwrap();
        let ip = parse_ip(&err).unwrap();
        assert_eq!((ip.src, ip.l4[1]), (A, 1));
    }

    #[test]
    fn ipv6_and_vlan() {
        let addrs = Addrs::V6("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
        let mut p = headers(A, B, addrs, PROTO_UDP, 64, 8);
        p.extend_from_slice(&[0x13, 0x88, 0, 53, 0, 8, 0, 0]);
        push_vlan(&mut p, 100);
        let icmp = reject(&p).unwrap();
        let ip = parse_ip(&icmp).unwrap();
        assert_eq!(ip.vlan_tci, Some(100));
        assert_eq!((ip.proto, ip.l4[0], ip.l4[1]), (PROTO_ICMPV6, 1, 4));
        assert!(checksums_ok(&icmp));
    }

    #[test]
    fn malformed_frames_give_nothing() {
        let syn = tcp_syn();
        for cut in [0, 13, 20, 33, 40] {
            assert_eq!(reject(&syn[..cut]), None, "cut at {cut}");
        }
        let mut arp = syn.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(reject(&arp), None);
        let mut bad_ihl = syn;
        bad_ihl[14] = 0x41;
        assert_eq!(reject(&bad_ihl), None);
    }

    /// An SCTP packet, sport 5000 dport 6000, vtag 0x01020304, with one chunk of
    /// type `chunk` whose first word after the chunk header is 0x0a0b0c0d.
    fn sctp(chunk: u8) -> Vec<u8> {
        let mut l4 = vec![0x13, 0x88, 0x17, 0x70, 1, 2, 3, 4, 0, 0, 0, 0];
        l4.extend_from_slice(&[chunk, 0, 0, 8, 0x0a, 0x0b, 0x0c, 0x0d]);
        v4(PROTO_SCTP, &l4)
    }

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn sctp_init_gets_an_abort_with_its_initiate_tag_and_a_valid_crc() {
        let p = sctp_abort(&sctp(SCTP_CHUNK_INIT), false).unwrap();
        let ip = parse_ip(&p).unwrap();
        let l4 = ip.l4;
        assert_eq!(l4.len(), 16);
        assert_eq!(&l4[0..4], &[0x17, 0x70, 0x13, 0x88], "ports swapped");
        assert_eq!(&l4[4..8], &[0x0a, 0x0b, 0x0c, 0x0d], "the INIT's initiate tag");
        assert_eq!(&l4[12..16], &[SCTP_CHUNK_ABORT, 0, 0, 4]);
        let mut zeroed = l4.to_vec();
        zeroed[8..12].copy_from_slice(&[0; 4]);
        assert_eq!(&l4[8..12], &crc32c(&zeroed).to_le_bytes());
    }

    #[test]
    fn sctp_data_gets_an_abort_reflecting_its_tag_and_abort_gets_nothing() {
        let p = sctp_abort(&sctp(0), false).unwrap();
        let l4 = parse_ip(&p).unwrap().l4.to_vec();
        assert_eq!(&l4[4..8], &[1, 2, 3, 4]);
        assert_eq!(l4[13], SCTP_ABORT_T_BIT);
        assert!(sctp_abort(&sctp(SCTP_CHUNK_ABORT), false).is_none());
        // reject answers SCTP with an ABORT back to the sender.
        let r = reject(&sctp(SCTP_CHUNK_INIT)).unwrap();
        let ip = parse_ip(&r).unwrap();
        assert_eq!(ip.proto, PROTO_SCTP);
        assert_eq!(ip.dst, A, "back to the sender");
    }
}
