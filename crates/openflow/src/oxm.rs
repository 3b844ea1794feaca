//! NXM/OXM TLV encoding: field headers, match entries and the OpenFlow 1.1+
//! `ofp_match` wrapper (type OFPMT_OXM).

use crate::error::{DecodeError, EncodeError};
use crate::field::{Field, OXM_EXPERIMENTER, WireId, port};
use crate::matches::Match;
use crate::wire::{Reader, be_to_u128, pad_to, put_u16, put_u32, u128_to_be};

/// A decoded TLV header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OxmHeader {
    pub id: WireId,
    pub has_mask: bool,
    /// Payload length (value + mask), excluding any experimenter id.
    pub payload_len: usize,
}

/// Writes a TLV header for `field`. `payload_len` is the value (+ mask) length.
pub(crate) fn put_header(out: &mut Vec<u8>, field: Field, has_mask: bool, payload_len: usize) {
    let id = field.wire_id();
    let exp_len = if id.class == OXM_EXPERIMENTER { 4 } else { 0 };
    let h = (u32::from(id.class) << 16)
        | (u32::from(id.code) << 9)
        | (u32::from(has_mask) << 8)
        | ((payload_len + exp_len) as u32 & 0xff);
    put_u32(out, h);
    if exp_len != 0 {
        put_u32(out, id.experimenter);
    }
}

/// Writes the header Open vSwitch uses for `field` in actions encoded the
/// OpenFlow 1.0 way (see [`Field::nxm_wire_id`]), without mask.
pub(crate) fn put_nxm_header(out: &mut Vec<u8>, field: Field) {
    let (id, len) = field.nxm_wire_id();
    let exp_len = if id.class == OXM_EXPERIMENTER { 4 } else { 0 };
    let h = (u32::from(id.class) << 16) | (u32::from(id.code) << 9) | ((len + exp_len) as u32 & 0xff);
    put_u32(out, h);
    if exp_len != 0 {
        put_u32(out, id.experimenter);
    }
}

pub(crate) fn pull_header(r: &mut Reader<'_>) -> Result<OxmHeader, DecodeError> {
    let h = r.u32()?;
    let class = (h >> 16) as u16;
    let code = ((h >> 9) & 0x7f) as u8;
    let has_mask = (h >> 8) & 1 == 1;
    let mut len = (h & 0xff) as usize;
    let mut experimenter = 0;
    if class == OXM_EXPERIMENTER {
        experimenter = r.u32()?;
        len = len.checked_sub(4).ok_or(DecodeError::BadLength {
            what: "experimenter OXM",
            len,
        })?;
    }
    Ok(OxmHeader {
        id: WireId {
            class,
            code,
            experimenter,
        },
        has_mask,
        payload_len: len,
    })
}

/// Resolves a header (as found in set_field, copy_field, stack actions) to a
/// field, given the value width the header announces.
pub(crate) fn header_field(h: &OxmHeader) -> Result<(Field, usize), DecodeError> {
    let vlen = if h.has_mask {
        h.payload_len / 2
    } else {
        h.payload_len
    };
    Field::from_wire(h.id, vlen).ok_or(DecodeError::Unsupported {
        what: "NXM/OXM field",
        code: (u64::from(h.id.class) << 8) | u64::from(h.id.code),
    })
}

/// Appends one match entry (header, value, optional mask).
pub(crate) fn put_entry(out: &mut Vec<u8>, field: Field, value: u128, mask: Option<u128>) {
    let n = field.bytes();
    put_header(out, field, mask.is_some(), if mask.is_some() { 2 * n } else { n });
    out.extend_from_slice(&u128_to_be(value, n));
    if let Some(m) = mask {
        out.extend_from_slice(&u128_to_be(m, n));
    }
}

/// Parses one match entry; returns the field, value and mask.
pub(crate) fn pull_entry(r: &mut Reader<'_>) -> Result<(Field, u128, Option<u128>), DecodeError> {
    let h = pull_header(r)?;
    if h.has_mask && h.payload_len % 2 != 0 {
        return Err(DecodeError::BadLength {
            what: "masked NXM/OXM entry",
            len: h.payload_len,
        });
    }
    if h.id.class == crate::field::OXM_BASIC && matches!(h.id.code, 6..=8) {
        return pull_vlan(r, &h);
    }
    let (field, wlen) = header_field(&h)?;
    let vlen = if h.has_mask {
        h.payload_len / 2
    } else {
        h.payload_len
    };
    if vlen != wlen {
        return Err(DecodeError::BadLength {
            what: "NXM/OXM entry",
            len: h.payload_len,
        });
    }
    let mut value = be_to_u128(r.bytes(vlen)?);
    let mut mask = if h.has_mask {
        Some(be_to_u128(r.bytes(vlen)?))
    } else {
        None
    };
    if field == Field::InPort && wlen == 2 {
        // NXM_OF_IN_PORT carries an OpenFlow 1.0 port number.
        value = u128::from(port::from_ofp10(value as u16));
        mask = None;
    }
    Ok((field, value, mask))
}

/// OpenFlow 1.2+ splits the 802.1Q TCI into OXM_OF_VLAN_VID (with the
/// 0x1000 "present" bit in the CFI position) and OXM_OF_VLAN_PCP, and has
/// OXM_OF_IP_DSCP where NXM has the whole TOS byte. OVS sends those in
/// OpenFlow 1.5, so they are folded back into `vlan_tci` / `nw_tos`.
fn pull_vlan(r: &mut Reader<'_>, h: &OxmHeader) -> Result<(Field, u128, Option<u128>), DecodeError> {
    let (field, width, shift, full) = match h.id.code {
        6 => (Field::VlanTci, 2, 0, 0x1fff),
        7 => (Field::VlanTci, 1, 13, 0x7),
        _ => (Field::IpTos, 1, 2, 0x3f),
    };
    let vlen = if h.has_mask {
        h.payload_len / 2
    } else {
        h.payload_len
    };
    if vlen != width || (h.has_mask && h.payload_len != 2 * width) {
        return Err(DecodeError::BadLength {
            what: "VLAN OXM entry",
            len: h.payload_len,
        });
    }
    let v = be_to_u128(r.bytes(vlen)?) & full;
    let m = if h.has_mask {
        be_to_u128(r.bytes(vlen)?) & full
    } else {
        full
    };
    let (v, m) = (v << shift, m << shift);
    Ok((field, v, (m != field.full_mask()).then_some(m)))
}

/// Appends raw match entries (no `ofp_match` header, no padding).
pub(crate) fn put_raw_match(out: &mut Vec<u8>, m: &Match) {
    for e in m.iter() {
        put_entry(out, e.field, e.value, e.mask);
    }
}

/// Parses a sequence of raw entries occupying the whole reader.
pub(crate) fn pull_raw_match(r: Reader<'_>) -> Result<Match, DecodeError> {
    let (m, unknown) = pull_raw_match_inner(r, false)?;
    debug_assert!(unknown.is_empty());
    Ok(m)
}

/// Like [`pull_raw_match`], but entries for fields this codec does not know
/// are returned as raw bytes instead of failing (packet-in metadata carries
/// every field the switch has, e.g. `tun_src` or `ct_nw_src`).
pub(crate) fn pull_raw_match_keeping_unknown(r: Reader<'_>) -> Result<(Match, Vec<u8>), DecodeError> {
    pull_raw_match_inner(r, true)
}

fn pull_raw_match_inner(mut r: Reader<'_>, keep_unknown: bool) -> Result<(Match, Vec<u8>), DecodeError> {
    let mut m = Match::new();
    let mut unknown = Vec::new();
    while !r.is_empty() {
        if keep_unknown {
            let mut peek = r.clone();
            let h = pull_header(&mut peek)?;
            let vlan = h.id.class == crate::field::OXM_BASIC && matches!(h.id.code, 6..=8);
            if !vlan && header_field(&h).is_err() {
                let header_len = r.remaining() - peek.remaining();
                unknown.extend_from_slice(r.bytes(header_len + h.payload_len)?);
                continue;
            }
        }
        let (f, mut v, mask) = pull_entry(&mut r)?;
        let mut mask = mask.unwrap_or(f.full_mask());
        if let Field::Xreg(n) = f {
            // OVS reports registers as 64-bit xregs in OpenFlow 1.5
            // (e.g. packet-in metadata); callers think in 32-bit regs.
            for (reg, shift) in [(Field::Reg(2 * n), 32), (Field::Reg(2 * n + 1), 0)] {
                let hm = (mask >> shift) & 0xffff_ffff;
                if hm == 0 {
                    continue;
                }
                if m.get(reg).is_some() {
                    return Err(DecodeError::invalid("match", format!("duplicate field {reg}")));
                }
                m.set_masked(reg, (v >> shift) & 0xffff_ffff, hm);
            }
            continue;
        }
        if let (Field::VlanTci, Some(prev)) = (f, m.get(f)) {
            let pm = prev.mask.unwrap_or(f.full_mask());
            if pm & mask != 0 {
                return Err(DecodeError::invalid("match", "overlapping VLAN fields"));
            }
            v |= prev.value;
            mask |= pm;
        } else if m.get(f).is_some() {
            return Err(DecodeError::invalid("match", format!("duplicate field {f}")));
        }
        m.set_masked(f, v, mask);
    }
    Ok((m, unknown))
}

const OFPMT_OXM: u16 = 1;

/// Appends an OpenFlow 1.1+ `ofp_match` (type OXM), padded to 8 bytes.
pub(crate) fn put_ofp_match(out: &mut Vec<u8>, m: &Match) -> Result<(), EncodeError> {
    let start = out.len();
    put_u16(out, OFPMT_OXM);
    put_u16(out, 0);
    put_raw_match(out, m);
    let len = out.len() - start;
    crate::wire::patch_len(out, start + 2, len, "match")?;
    pad_to(out, start, 8);
    Ok(())
}

/// Parses an `ofp_match` (including its padding).
pub(crate) fn pull_ofp_match(r: &mut Reader<'_>) -> Result<Match, DecodeError> {
    let typ = r.u16()?;
    let len = r.u16()? as usize;
    if typ != OFPMT_OXM {
        return Err(DecodeError::Unsupported {
            what: "match type",
            code: u64::from(typ),
        });
    }
    if len < 4 {
        return Err(DecodeError::BadLength { what: "match", len });
    }
    let body = r.sub(len - 4, "match")?;
    let padded = crate::wire::round8(len);
    r.pad(padded - len)?;
    pull_raw_match(body)
}
