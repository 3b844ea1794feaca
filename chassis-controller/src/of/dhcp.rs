//! `put_dhcp_opts`: the DHCPv4 server of OVN-native DHCP, answered on the chassis.
//!
//! The switch pauses the pipeline on a client's DHCPDISCOVER/DHCPREQUEST; the
//! controller action's userdata carries the result bit to set (an OXM header and
//! a bit offset), the offered address and the reply's options, already encoded
//! as DHCP options by the logical-flow compiler. The reply (OFFER, ACK or NAK) is
//! written over the request, the result bit set, and the pipeline resumed; the
//! `ls_in_dhcp_response` flow then swaps the addresses and sends it back out of the
//! client's port. Anything malformed resumes the packet with the bit clear.

use std::net::Ipv4Addr;

use openflow::{Field, PacketIn2};

use super::pinctrl::reg;

const DHCP_HEADER_LEN: usize = 236;
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
const OP_REQUEST: u8 = 1;
const OP_REPLY: u8 = 2;
const OPT_PAD: u8 = 0;
const OPT_END: u8 = 255;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_MSG_TYPE: u8 = 53;
const OPT_BOOTFILE: u8 = 67;
const OPT_BOOTFILE_ALT: u8 = 254;
const OPT_NEXT_SERVER: u8 = 253;
const MSG_DISCOVER: u8 = 1;
const MSG_OFFER: u8 = 2;
const MSG_REQUEST: u8 = 3;
const MSG_ACK: u8 = 5;
const MSG_NAK: u8 = 6;

/// Where the result goes and what to answer with, from the action's userdata.
struct Args<'a> {
    /// Register number and bit of the result.
    reg: u8,
    bit: u32,
    offer: [u8; 4],
    options: &'a [u8],
}

/// Where a `put_*_opts` action's result bit goes (register number and bit), from its
/// userdata, and the rest of the userdata.
pub(super) fn result_bit(ud: &[u8]) -> Option<(u8, u32, &[u8])> {
    let body = ud.get(8..)?;
    let header = body.get(..4)?;
    let ofs = u32::from_be_bytes(body.get(4..8)?.try_into().ok()?);
    // OVN's reg0..reg3 are slices of xxreg0 (reg0 the most significant), so the
    // result may name a 32-, 64- or 128-bit register.
    let (reg, bit) = if let Some(n) = (0..16u8).find(|n| Field::Reg(*n).oxm_header() == header) {
        (n, ofs)
    } else if let Some(k) = (0..8u8).find(|k| Field::Xreg(*k).oxm_header() == header) {
        (2 * k + 1 - u8::try_from(ofs / 32).ok()?, ofs % 32)
    } else {
        let k = (0..4u8).find(|k| Field::Xxreg(*k).oxm_header() == header)?;
        (
            4 * k + 3 - u8::try_from(ofs / 32).ok().filter(|q| *q < 4)?,
            ofs % 32,
        )
    };
    Some((reg, bit, body.get(8..)?))
}

fn parse_args(ud: &[u8]) -> Option<Args<'_>> {
    let (reg, bit, rest) = result_bit(ud)?;
    let offer: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    let options = rest.get(4..)?;
    (!options.is_empty()).then_some(Args {
        reg,
        bit,
        offer,
        options,
    })
}

/// Offsets of the IPv4 header, the UDP header and the DHCP message in a frame.
struct Layout {
    ip: usize,
    udp: usize,
    dhcp: usize,
}

fn layout(frame: &[u8]) -> Option<Layout> {
    let eth = super::packet::parse_eth(frame)?;
    if eth.eth_type != super::packet::ETH_TYPE_IPV4 {
        return None;
    }
    let ip = eth.payload;
    let ihl = usize::from(frame.get(ip)? & 0x0f) * 4;
    if ihl < 20 || *frame.get(ip + 9)? != 17 {
        return None;
    }
    let udp = ip + ihl;
    let dhcp = udp + 8;
    (frame.len() >= dhcp + DHCP_HEADER_LEN + 4).then_some(Layout { ip, udp, dhcp })
}

/// Message type and requested address (option 50, else `ciaddr`) of a request.
fn parse_request(frame: &[u8], at: usize) -> Option<(u8, [u8; 4])> {
    let d = &frame[at..];
    if d[0] != OP_REQUEST || d[DHCP_HEADER_LEN..DHCP_HEADER_LEN + 4] != MAGIC_COOKIE {
        return None;
    }
    let mut requested: [u8; 4] = d[12..16].try_into().ok()?;
    let mut msg_type = None;
    let mut i = DHCP_HEADER_LEN + 4;
    while i < d.len() {
        match d[i] {
            OPT_END => break,
            OPT_PAD => i += 1,
            code => {
                let len = usize::from(*d.get(i + 1)?);
                let val = d.get(i + 2..i + 2 + len)?;
                match (code, len) {
                    (OPT_MSG_TYPE, 1) => msg_type = Some(val[0]),
                    (OPT_REQUESTED_IP, 4) => requested = val.try_into().ok()?,
                    _ => {}
                }
                i += 2 + len;
            }
        }
    }
    Some((msg_type?, requested))
}

/// The options to send: `bootfile_name_alt` (iPXE) stands in for a missing
/// `bootfile_name`; `next_server` goes into `siaddr`, not the options.
fn reply_options(opts: &[u8]) -> Option<(Vec<u8>, Option<[u8; 4]>)> {
    let mut out = Vec::with_capacity(opts.len());
    let mut next_server = None;
    let has_bootfile = {
        let mut i = 0;
        let mut found = false;
        while i + 1 < opts.len() {
            found |= opts[i] == OPT_BOOTFILE;
            i += 2 + usize::from(opts[i + 1]);
        }
        found
    };
    let mut i = 0;
    while i < opts.len() {
        let code = opts[i];
        let len = usize::from(*opts.get(i + 1)?);
        let val = opts.get(i + 2..i + 2 + len)?;
        match code {
            OPT_NEXT_SERVER if len == 4 => next_server = Some(val.try_into().ok()?),
            OPT_BOOTFILE_ALT if has_bootfile => {}
            _ => {
                out.push(if code == OPT_BOOTFILE_ALT {
                    OPT_BOOTFILE
                } else {
                    code
                });
                out.push(len as u8);
                out.extend_from_slice(val);
            }
        }
        i += 2 + len;
    }
    Some((out, next_server))
}

fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The reply frame, or `None` if the request is not one to answer.
fn build_reply(frame: &[u8], args: &Args<'_>) -> Option<Vec<u8>> {
    let l = layout(frame)?;
    let (msg_type, requested) = parse_request(frame, l.dhcp)?;
    let reply_type = match msg_type {
        MSG_DISCOVER => MSG_OFFER,
        MSG_REQUEST if requested == args.offer => MSG_ACK,
        MSG_REQUEST => MSG_NAK,
        // RELEASE, DECLINE, INFORM: nothing to send (OVN answers INFORM; rare).
        _ => return None,
    };
    let (options, next_server) = reply_options(args.options)?;
    let nak = reply_type == MSG_NAK;

    let mut out = frame[..l.dhcp + DHCP_HEADER_LEN].to_vec();
    let d = l.dhcp;
    out[d] = OP_REPLY;
    let yiaddr = if nak { [0; 4] } else { args.offer };
    out[d + 16..d + 20].copy_from_slice(&yiaddr);
    let siaddr = match (nak, next_server) {
        (true, _) => [0; 4],
        (false, Some(s)) => s,
        (false, None) => frame[d + 20..d + 24].try_into().ok()?,
    };
    out[d + 20..d + 24].copy_from_slice(&siaddr);
    out.extend_from_slice(&MAGIC_COOKIE);
    out.extend_from_slice(&[OPT_MSG_TYPE, 1, reply_type]);
    if !nak {
        out.extend_from_slice(&options);
    }
    out.extend_from_slice(&[OPT_PAD; 4]);
    out.push(OPT_END);

    // Unicast to the offered address unless the client asked for broadcast.
    let broadcast = frame[d + 10] & 0x80 != 0;
    let dst = if broadcast { [255; 4] } else { args.offer };
    out[l.ip + 16..l.ip + 20].copy_from_slice(&dst);
    let udp_len = (out.len() - l.udp) as u16;
    out[l.udp + 4..l.udp + 6].copy_from_slice(&udp_len.to_be_bytes());
    out[l.udp + 6..l.udp + 8].copy_from_slice(&[0, 0]);
    let ip_len = (out.len() - l.ip) as u16;
    out[l.ip + 2..l.ip + 4].copy_from_slice(&ip_len.to_be_bytes());
    out[l.ip + 10..l.ip + 12].copy_from_slice(&[0, 0]);
    let ihl = usize::from(out[l.ip] & 0x0f) * 4;
    let csum = ip_checksum(&out[l.ip..l.ip + ihl]);
    out[l.ip + 10..l.ip + 12].copy_from_slice(&csum.to_be_bytes());
    Some(out)
}

/// The paused packet, to resume as it came (the handlers then change what they answer).
pub(super) fn resumed_as_is(pin: &PacketIn2) -> PacketIn2 {
    PacketIn2 {
        packet: pin.packet.clone(),
        metadata: pin.metadata.clone(),
        metadata_unknown: pin.metadata_unknown.clone(),
        continuation: pin.continuation.clone(),
        ..Default::default()
    }
}

/// What to resume the paused pipeline with: the reply and the result bit set, or
/// the request unchanged and the bit clear.
pub fn put_dhcp_opts(pin: &PacketIn2) -> PacketIn2 {
    let mut resume = resumed_as_is(pin);
    let Some(args) = pin.userdata.as_deref().and_then(parse_args) else {
        return resume;
    };
    let reply = build_reply(&pin.packet, &args);
    let ok = reply.is_some();
    if let Some(r) = reply {
        tracing::debug!(
            "pinctrl: DHCP reply offering {} ({} bytes)",
            Ipv4Addr::from(args.offer),
            r.len()
        );
        resume.packet = r;
    }
    set_bit(&mut resume.metadata, args.reg, args.bit, ok);
    resume
}

/// Sets bit `bit` of register `n` in packet-in metadata (held as `regN` or in
/// half of `xreg(N/2)`).
pub(super) fn set_bit(m: &mut openflow::Match, n: u8, bit: u32, on: bool) {
    let cur = reg(m, n);
    let new = if on { cur | (1 << bit) } else { cur & !(1 << bit) };
    if m.get(Field::Reg(n)).is_none()
        && let Some(e) = m.get(Field::Xreg(n / 2))
    {
        let v = e.value;
        let v = if n.is_multiple_of(2) {
            (v & 0xffff_ffff) | (u128::from(new) << 32)
        } else {
            (v & !0xffff_ffff) | u128::from(new)
        };
        m.set(Field::Xreg(n / 2), v);
        return;
    }
    m.set(Field::Reg(n), u128::from(new));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DHCP request frame from `mac` (broadcast, as a client without address
    /// sends it) with message type `t` and, if given, option 50.
    fn request(mac: [u8; 6], t: u8, requested: Option<[u8; 4]>) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255,
        ];
        let mut dhcp = vec![0u8; DHCP_HEADER_LEN];
        dhcp[0] = OP_REQUEST;
        dhcp[1] = 1;
        dhcp[2] = 6;
        dhcp[4..8].copy_from_slice(&[1, 2, 3, 4]);
        dhcp[28..34].copy_from_slice(&mac);
        dhcp.extend_from_slice(&MAGIC_COOKIE);
        dhcp.extend_from_slice(&[OPT_MSG_TYPE, 1, t]);
        if let Some(r) = requested {
            dhcp.extend_from_slice(&[OPT_REQUESTED_IP, 4]);
            dhcp.extend_from_slice(&r);
        }
        dhcp.push(OPT_END);
        let udp_len = (8 + dhcp.len()) as u16;
        let total = (20 + udp_len) as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&68u16.to_be_bytes());
        f.extend_from_slice(&67u16.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&dhcp);
        f
    }

    /// Userdata as the compiler emits it for `reg0[3] = put_dhcp_opts(offerip =
    /// 10.0.0.5, router = 10.0.0.1, lease_time = 3600)`.
    fn userdata() -> Vec<u8> {
        let mut u = 2u32.to_be_bytes().to_vec();
        u.extend_from_slice(&[0; 4]);
        u.extend_from_slice(&Field::Reg(0).oxm_header());
        u.extend_from_slice(&3u32.to_be_bytes());
        u.extend_from_slice(&[10, 0, 0, 5]);
        u.extend_from_slice(&[3, 4, 10, 0, 0, 1]);
        u.extend_from_slice(&[51, 4, 0, 0, 0x0e, 0x10]);
        u
    }

    /// The same with the result named as the compiler does for `reg0[3]`: bit 99 of
    /// xxreg0.
    fn userdata_xxreg() -> Vec<u8> {
        let mut u = userdata();
        u.splice(
            8..16,
            Field::Xxreg(0)
                .oxm_header()
                .into_iter()
                .chain(99u32.to_be_bytes()),
        );
        u
    }

    #[test]
    fn result_in_xxreg0_sets_reg0_bit() {
        let mut p = pin(request([2, 0, 0, 0, 0, 5], MSG_DISCOVER, None));
        p.userdata = Some(userdata_xxreg());
        let r = put_dhcp_opts(&p);
        assert_eq!(reg(&r.metadata, 0), 1 << 3);
        assert_eq!(options(&r.packet)[0], (OPT_MSG_TYPE, vec![MSG_OFFER]));
    }

    fn pin(packet: Vec<u8>) -> PacketIn2 {
        PacketIn2 {
            packet,
            userdata: Some(userdata()),
            continuation: Some(vec![7; 16]),
            ..Default::default()
        }
    }

    fn options(frame: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let l = layout(frame).unwrap();
        let d = &frame[l.dhcp + DHCP_HEADER_LEN + 4..];
        let mut out = Vec::new();
        let mut i = 0;
        while i < d.len() && d[i] != OPT_END {
            if d[i] == OPT_PAD {
                i += 1;
                continue;
            }
            let len = usize::from(d[i + 1]);
            out.push((d[i], d[i + 2..i + 2 + len].to_vec()));
            i += 2 + len;
        }
        out
    }

    #[test]
    fn discover_gets_an_offer_with_the_options_and_the_bit_set() {
        let mac = [2, 0, 0, 0, 0, 5];
        let r = put_dhcp_opts(&pin(request(mac, MSG_DISCOVER, None)));
        assert_eq!(reg(&r.metadata, 0), 1 << 3);
        assert_eq!(r.continuation, Some(vec![7; 16]));
        let l = layout(&r.packet).unwrap();
        let d = &r.packet[l.dhcp..];
        assert_eq!(d[0], OP_REPLY);
        assert_eq!(d[4..8], [1, 2, 3, 4], "xid kept");
        assert_eq!(d[16..20], [10, 0, 0, 5], "yiaddr");
        assert_eq!(d[28..34], mac, "chaddr kept");
        assert_eq!(
            options(&r.packet),
            vec![
                (OPT_MSG_TYPE, vec![MSG_OFFER]),
                (3, vec![10, 0, 0, 1]),
                (51, vec![0, 0, 0x0e, 0x10])
            ]
        );
        // Lengths and the IP checksum are consistent.
        let ip = &r.packet[l.ip..l.ip + 20];
        assert_eq!(
            usize::from(u16::from_be_bytes([ip[2], ip[3]])),
            r.packet.len() - l.ip
        );
        assert_eq!(ip_checksum(ip), 0);
        assert_eq!(ip[16..20], [10, 0, 0, 5], "unicast to the offer");
    }

    #[test]
    fn request_for_the_offer_is_acked_and_for_another_address_nakked() {
        let mac = [2, 0, 0, 0, 0, 5];
        let r = put_dhcp_opts(&pin(request(mac, MSG_REQUEST, Some([10, 0, 0, 5]))));
        assert_eq!(options(&r.packet)[0], (OPT_MSG_TYPE, vec![MSG_ACK]));
        let r = put_dhcp_opts(&pin(request(mac, MSG_REQUEST, Some([10, 0, 0, 9]))));
        assert_eq!(options(&r.packet), vec![(OPT_MSG_TYPE, vec![MSG_NAK])]);
        let l = layout(&r.packet).unwrap();
        assert_eq!(r.packet[l.dhcp + 16..l.dhcp + 20], [0; 4]);
        assert_eq!(reg(&r.metadata, 0), 1 << 3);
    }

    #[test]
    fn garbage_resumes_unchanged_with_the_bit_clear() {
        for bad in [vec![], vec![0u8; 40], {
            let mut f = request([2, 0, 0, 0, 0, 5], MSG_DISCOVER, None);
            f.truncate(100);
            f
        }] {
            let r = put_dhcp_opts(&pin(bad.clone()));
            assert_eq!(r.packet, bad);
            assert_eq!(reg(&r.metadata, 0), 0);
        }
        let mut p = pin(request([2, 0, 0, 0, 0, 5], MSG_DISCOVER, None));
        p.userdata = Some(vec![0, 0, 0, 2, 0, 0, 0, 0, 1]);
        let r = put_dhcp_opts(&p);
        assert_eq!(r.packet, p.packet);
    }
}
