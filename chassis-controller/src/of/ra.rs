//! `put_nd_ra_opts`: IPv6 router advertisements answered on the chassis.
//!
//! The switch pauses a router's pipeline on a Router Solicitation sent to it; the
//! controller action's userdata carries the result bit and the whole advertisement
//! (header and options), already encoded by the logical-flow compiler from the router
//! port's `ipv6_ra_configs`. The solicitation's ICMPv6 message is replaced with it, the
//! checksum computed, the result bit set and the pipeline resumed; the
//! `lr_in_nd_ra_response` flow then swaps the addresses and sends it back out of the
//! port it came in by. Anything malformed resumes the packet with the bit clear.

use openflow::PacketIn2;

use super::dhcp::{result_bit, resumed_as_is, set_bit};
use super::packet::{PROTO_ICMPV6, finish, parse_ip, pseudo, sum};

const ND_ROUTER_SOLICIT: u8 = 133;
const ND_ROUTER_ADVERT: u8 = 134;
/// Type, code, checksum, hop limit, flags, lifetime, reachable and retransmit times.
const RA_HEADER_LEN: usize = 16;

/// The solicitation in `frame`, its ICMPv6 message replaced by `ra` (checksummed).
fn advertise(frame: &[u8], ra: &[u8]) -> Option<Vec<u8>> {
    let ip = parse_ip(frame)?;
    let super::packet::Addrs::V6(..) = ip.addrs else {
        return None;
    };
    if ip.proto != PROTO_ICMPV6 || ip.l4.first() != Some(&ND_ROUTER_SOLICIT) {
        return None;
    }
    if ra.len() < RA_HEADER_LEN || ra[0] != ND_ROUTER_ADVERT {
        return None;
    }
    // Only a bare IPv6 header (no extension headers) lies between the Ethernet header
    // and the ICMPv6 message.
    if ip.packet.len() - ip.l4.len() != 40 {
        return None;
    }
    let ip_at = ip.packet.as_ptr() as usize - frame.as_ptr() as usize;
    let l4_at = ip_at + 40;
    let mut out = frame.get(..l4_at)?.to_vec();
    out[ip_at + 4..ip_at + 6].copy_from_slice(&u16::try_from(ra.len()).ok()?.to_be_bytes());
    let mut msg = ra.to_vec();
    msg[2..4].copy_from_slice(&[0, 0]);
    let c = finish(sum(pseudo(ip.addrs, PROTO_ICMPV6, msg.len()), &msg));
    msg[2..4].copy_from_slice(&c.to_be_bytes());
    out.extend_from_slice(&msg);
    Some(out)
}

/// What to resume the paused pipeline with: the advertisement and the result bit set,
/// or the solicitation unchanged and the bit clear.
pub fn put_nd_ra_opts(pin: &PacketIn2) -> PacketIn2 {
    let mut resume = resumed_as_is(pin);
    let Some((reg, bit, ra)) = pin.userdata.as_deref().and_then(result_bit) else {
        return resume;
    };
    let answer = advertise(&pin.packet, ra);
    let ok = answer.is_some();
    if let Some(a) = answer {
        tracing::debug!("pinctrl: router advertisement ({} bytes)", a.len());
        resume.packet = a;
    }
    set_bit(&mut resume.metadata, reg, bit, ok);
    resume
}

#[cfg(test)]
mod tests {
    use super::*;
    use openflow::Field;

    /// A Router Solicitation from fe80::1 (MAC 02:00:00:00:00:01) to ff02::2.
    fn solicitation() -> Vec<u8> {
        let mut f = vec![0x33, 0x33, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
        let rs = [ND_ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0];
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, rs.len() as u8, PROTO_ICMPV6, 255]);
        f.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        f.extend_from_slice(&"ff02::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
        f.extend_from_slice(&rs);
        f
    }

    /// Userdata as the compiler writes it: opcode header, result in reg0 bit 5, an
    /// advertisement with a prefix option for fd00::/64.
    fn userdata() -> Vec<u8> {
        let mut u = vec![0, 0, 0, 8, 0, 0, 0, 0];
        u.extend_from_slice(&Field::Reg(0).oxm_header());
        u.extend_from_slice(&5u32.to_be_bytes());
        u.extend_from_slice(&[
            ND_ROUTER_ADVERT,
            0,
            0,
            0,
            255,
            0,
            0xff,
            0xff,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ]);
        u.extend_from_slice(&[
            3, 4, 64, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        u.extend_from_slice(&"fd00::".parse::<std::net::Ipv6Addr>().unwrap().octets());
        u
    }

    fn pin(packet: Vec<u8>, ud: Vec<u8>) -> PacketIn2 {
        PacketIn2 {
            packet,
            userdata: Some(ud),
            ..Default::default()
        }
    }

    #[test]
    fn a_solicitation_becomes_a_checksummed_advertisement_with_the_bit_set() {
        let out = put_nd_ra_opts(&pin(solicitation(), userdata()));
        assert_eq!(super::super::pinctrl::reg(&out.metadata, 0) & (1 << 5), 1 << 5);
        let ip = parse_ip(&out.packet).unwrap();
        assert_eq!(ip.l4.len(), 48);
        assert_eq!(ip.l4[0], ND_ROUTER_ADVERT);
        assert_eq!(ip.l4[RA_HEADER_LEN + 2], 64, "prefix length");
        // A correct checksum sums to zero over the pseudo-header and the message.
        assert_eq!(finish(sum(pseudo(ip.addrs, PROTO_ICMPV6, ip.l4.len()), ip.l4)), 0);
    }

    #[test]
    fn anything_else_resumes_unchanged_with_the_bit_clear() {
        let mut not_rs = solicitation();
        let at = not_rs.len() - 8;
        not_rs[at] = 128; // an echo request
        for (packet, ud) in [
            (not_rs, userdata()),
            (solicitation(), userdata()[..20].to_vec()),
            (vec![1, 2, 3], userdata()),
            (solicitation(), vec![]),
        ] {
            let out = put_nd_ra_opts(&pin(packet.clone(), ud));
            assert_eq!(out.packet, packet);
            assert_eq!(super::super::pinctrl::reg(&out.metadata, 0) & (1 << 5), 0);
        }
    }
}
