//! IPv6 neighbour discovery packets pinctrl composes (ovn-controller 23.03's
//! `nd_na`, `nd_na_router` and `nd_ns` actions): a Neighbor Advertisement
//! answering a punted Neighbor Solicitation, and a Neighbor Solicitation for
//! the destination of a punted IPv6 packet. The logical action's nested
//! actions then set the addresses the logical flow knows (e.g. `eth.src`,
//! `nd.tll` of the port owning the target).
//!
//! Pure and bounds-checked: a malformed frame gives `None`.

use std::net::Ipv6Addr;

use super::packet::{Addrs, PROTO_ICMPV6, finish, headers, parse_ip, pseudo, sum};

const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const ND_OPT_SOURCE_LINKADDR: u8 = 1;
const ND_OPT_TARGET_LINKADDR: u8 = 2;
/// Neighbor Advertisement flags (RFC 4861 4.4).
const ND_RSO_ROUTER: u8 = 0x80;
const ND_RSO_SOLICITED: u8 = 0x40;
const ND_RSO_OVERRIDE: u8 = 0x20;

/// An IPv6 packet's Ethernet and IPv6 addresses, next header and L4 bytes.
struct V6<'a> {
    eth_src: [u8; 6],
    eth_dst: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next: u8,
    l4: &'a [u8],
}

fn parse_v6(frame: &[u8]) -> Option<V6<'_>> {
    let ip = parse_ip(frame)?;
    let Addrs::V6(src, dst) = ip.addrs else {
        return None;
    };
    Some(V6 {
        eth_src: ip.src,
        eth_dst: ip.dst,
        src,
        dst,
        next: ip.proto,
        l4: ip.l4,
    })
}

fn icmp6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    finish(sum(pseudo(Addrs::V6(src, dst), PROTO_ICMPV6, msg.len()), msg))
}

/// Ethernet + IPv6 (hop limit 255) + a 32-byte ND message: type, flags
/// byte, target and one link-layer address option.
fn compose(
    eth_src: [u8; 6],
    eth_dst: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    (icmp_type, flags): (u8, u8),
    target: Ipv6Addr,
    (opt, lla): (u8, [u8; 6]),
) -> Vec<u8> {
    let mut msg = vec![icmp_type, 0, 0, 0, flags, 0, 0, 0];
    msg.extend_from_slice(&target.octets());
    msg.extend_from_slice(&[opt, 1]);
    msg.extend_from_slice(&lla);
    let c = icmp6_checksum(src, dst, &msg);
    msg[2..4].copy_from_slice(&c.to_be_bytes());

    let mut p = headers(
        eth_src,
        eth_dst,
        Addrs::V6(src, dst),
        PROTO_ICMPV6,
        255,
        msg.len(),
    );
    p.extend_from_slice(&msg);
    p
}

/// `nd_na` / `nd_na_router`: the Neighbor Advertisement answering a Neighbor
/// Solicitation, from its target back to its sender (flags Solicited and
/// Override, and Router for a router port).
pub fn neighbor_advert(frame: &[u8], router: bool) -> Option<Vec<u8>> {
    let ns = parse_v6(frame)?;
    if ns.next != PROTO_ICMPV6 || *ns.l4.first()? != ND_NEIGHBOR_SOLICIT {
        return None;
    }
    let target: [u8; 16] = ns.l4.get(8..24)?.try_into().ok()?;
    let target = Ipv6Addr::from(target);
    let flags = ND_RSO_SOLICITED | ND_RSO_OVERRIDE | if router { ND_RSO_ROUTER } else { 0 };
    Some(compose(
        ns.eth_dst,
        ns.eth_src,
        target,
        ns.src,
        (ND_NEIGHBOR_ADVERT, flags),
        target,
        (ND_OPT_TARGET_LINKADDR, ns.eth_dst),
    ))
}

/// `nd_ns`: a Neighbor Solicitation for the destination of an IPv6 packet,
/// from the sender's link-local address to the target's solicited-node
/// multicast group.
pub fn neighbor_solicit(frame: &[u8]) -> Option<Vec<u8>> {
    let p = parse_v6(frame)?;
    let t = p.dst.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    let g = group.octets();
    let eth_dst = [0x33, 0x33, g[12], g[13], g[14], g[15]];
    Some(compose(
        p.eth_src,
        eth_dst,
        link_local(p.eth_src),
        group,
        (ND_NEIGHBOR_SOLICIT, 0),
        p.dst,
        (ND_OPT_SOURCE_LINKADDR, p.eth_src),
    ))
}

/// The EUI-64 link-local address of a MAC (RFC 4291 2.5.1).
pub fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8] = mac[0] ^ 0x02;
    a[9] = mac[1];
    a[10] = mac[2];
    a[11] = 0xff;
    a[12] = 0xfe;
    a[13] = mac[3];
    a[14] = mac[4];
    a[15] = mac[5];
    Ipv6Addr::from(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: [u8; 6] = [0x02, 0xac, 0x10, 0, 0, 0x11];
    const ROUTER: [u8; 6] = [0x02, 0xac, 0x10, 0, 0, 0x01];

    /// The solicitation a VM at fd00::11 sends for `target`.
    fn ns_from_vm(target: Ipv6Addr) -> Vec<u8> {
        let t = target.octets();
        compose(
            VM,
            [0x33, 0x33, 0xff, t[13], t[14], t[15]],
            "fd00::11".parse().unwrap(),
            Ipv6Addr::new(
                0xff02,
                0,
                0,
                0,
                0,
                1,
                0xff00 | u16::from(t[13]),
                u16::from_be_bytes([t[14], t[15]]),
            ),
            (ND_NEIGHBOR_SOLICIT, 0),
            target,
            (ND_OPT_SOURCE_LINKADDR, VM),
        )
    }

    /// Any IPv6 packet from the VM to `dst` (an echo request header).
    fn ping_from_vm(dst: Ipv6Addr) -> Vec<u8> {
        compose(
            VM,
            ROUTER,
            "fd00::11".parse().unwrap(),
            dst,
            (128, 0),
            Ipv6Addr::UNSPECIFIED,
            (0, [0; 6]),
        )
    }

    fn checksum_ok(p: &[u8]) -> bool {
        let v = parse_v6(p).unwrap();
        let mut m = v.l4.to_vec();
        let got = u16::from_be_bytes([m[2], m[3]]);
        m[2] = 0;
        m[3] = 0;
        icmp6_checksum(v.src, v.dst, &m) == got
    }

    #[test]
    fn solicitation_goes_to_the_solicited_node_group() {
        let target: Ipv6Addr = "fd00::1:2:3".parse().unwrap();
        let ns = neighbor_solicit(&ping_from_vm(target)).unwrap();
        let v = parse_v6(&ns).unwrap();
        assert_eq!(v.eth_dst, [0x33, 0x33, 0xff, 0x02, 0x00, 0x03]);
        assert_eq!(v.dst, "ff02::1:ff02:3".parse::<Ipv6Addr>().unwrap());
        assert_eq!(v.l4[0], ND_NEIGHBOR_SOLICIT);
        assert_eq!(&v.l4[8..24], &target.octets());
        assert_eq!(v.src, link_local(VM));
        assert_eq!(
            &v.l4[24..32],
            &[ND_OPT_SOURCE_LINKADDR, 1, 2, 0xac, 0x10, 0, 0, 0x11]
        );
        assert!(checksum_ok(&ns));
        assert_eq!(
            link_local(VM),
            "fe80::ac:10ff:fe00:11".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn advertisement_answers_the_solicitation() {
        let target: Ipv6Addr = "fd00::1".parse().unwrap();
        let na = neighbor_advert(&ns_from_vm(target), true).unwrap();
        let v = parse_v6(&na).unwrap();
        assert_eq!(v.eth_dst, VM);
        assert_eq!((v.src, v.dst), (target, "fd00::11".parse().unwrap()));
        assert_eq!(v.l4[0], ND_NEIGHBOR_ADVERT);
        assert_eq!(v.l4[4], ND_RSO_ROUTER | ND_RSO_SOLICITED | ND_RSO_OVERRIDE);
        assert_eq!(&v.l4[8..24], &target.octets());
        assert_eq!(v.l4[24], ND_OPT_TARGET_LINKADDR);
        assert!(checksum_ok(&na));
        let plain = neighbor_advert(&ns_from_vm(target), false).unwrap();
        assert_eq!(
            parse_v6(&plain).unwrap().l4[4],
            ND_RSO_SOLICITED | ND_RSO_OVERRIDE
        );
    }

    #[test]
    fn malformed_frames_give_nothing() {
        let ns = ns_from_vm("fd00::1".parse().unwrap());
        for cut in [0, 13, 30, 53, 60] {
            assert_eq!(neighbor_advert(&ns[..cut], false), None, "cut at {cut}");
        }
        let na = neighbor_advert(&ns, false).unwrap();
        assert_eq!(
            neighbor_advert(&na, false),
            None,
            "an advertisement is not answered"
        );
        assert_eq!(neighbor_solicit(&ns[..20]), None);
    }
}
