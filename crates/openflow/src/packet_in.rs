//! NXT_PACKET_IN2, NXT_RESUME and NXT_SET_PACKET_IN_FORMAT.

use crate::actions::pull_props;
use crate::error::{DecodeError, EncodeError};
use crate::matches::Match;
use crate::oxm;
use crate::wire::{Reader, pad_to, patch_len, put_u16};

const NXPINT_PACKET: u16 = 0;
const NXPINT_FULL_LEN: u16 = 1;
const NXPINT_BUFFER_ID: u16 = 2;
const NXPINT_TABLE_ID: u16 = 3;
const NXPINT_COOKIE: u16 = 4;
const NXPINT_REASON: u16 = 5;
const NXPINT_METADATA: u16 = 6;
const NXPINT_USERDATA: u16 = 7;
const NXPINT_CONTINUATION: u16 = 8;

/// Packet-in format selected with NXT_SET_PACKET_IN_FORMAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketInFormat {
    /// OFPT_PACKET_IN.
    Standard,
    /// NXT_PACKET_IN.
    Nxt,
    /// NXT_PACKET_IN2 (what OVN's pinctrl uses).
    Nxt2,
}

impl PacketInFormat {
    pub(crate) fn code(self) -> u32 {
        match self {
            PacketInFormat::Standard => 0,
            PacketInFormat::Nxt => 1,
            PacketInFormat::Nxt2 => 2,
        }
    }

    pub(crate) fn from_code(c: u32) -> Result<Self, DecodeError> {
        Ok(match c {
            0 => PacketInFormat::Standard,
            1 => PacketInFormat::Nxt,
            2 => PacketInFormat::Nxt2,
            c => {
                return Err(DecodeError::Unsupported {
                    what: "packet-in format",
                    code: c.into(),
                });
            }
        })
    }
}

/// Body of NXT_PACKET_IN2 and of NXT_RESUME (which echoes a packet-in back
/// with its continuation; it must not carry `userdata`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PacketIn2 {
    /// Packet bytes (possibly truncated to the controller action's max_len).
    pub packet: Vec<u8>,
    /// Original length when `packet` was truncated.
    pub full_len: Option<u32>,
    pub buffer_id: Option<u32>,
    pub table_id: Option<u8>,
    pub cookie: Option<u64>,
    pub reason: Option<u8>,
    /// Pipeline metadata at the time of the packet-in: in_port, metadata,
    /// registers, tunnel and conntrack fields.
    pub metadata: Match,
    /// Metadata entries for fields this codec does not know, as raw NXM/OXM
    /// bytes, so that a resume hands them back to the switch unchanged.
    pub metadata_unknown: Vec<u8>,
    /// The controller action's userdata (OVN: opcode + arguments).
    pub userdata: Option<Vec<u8>>,
    /// Opaque switch state for NXT_RESUME (present for `pause`).
    pub continuation: Option<Vec<u8>>,
}

fn put_prop(out: &mut Vec<u8>, typ: u16, payload: &[u8]) -> Result<(), EncodeError> {
    let start = out.len();
    put_u16(out, typ);
    put_u16(out, 0);
    out.extend_from_slice(payload);
    let len = out.len() - start;
    patch_len(out, start + 2, len, "packet-in property")?;
    pad_to(out, start, 8);
    Ok(())
}

impl PacketIn2 {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.metadata.check()?;
        put_prop(out, NXPINT_PACKET, &self.packet)?;
        if let Some(l) = self.full_len {
            put_prop(out, NXPINT_FULL_LEN, &l.to_be_bytes())?;
        }
        if let Some(b) = self.buffer_id {
            put_prop(out, NXPINT_BUFFER_ID, &b.to_be_bytes())?;
        }
        if let Some(t) = self.table_id {
            put_prop(out, NXPINT_TABLE_ID, &[t])?;
        }
        if let Some(c) = self.cookie {
            put_prop(out, NXPINT_COOKIE, &c.to_be_bytes())?;
        }
        if let Some(r) = self.reason {
            put_prop(out, NXPINT_REASON, &[r])?;
        }
        if !self.metadata.is_empty() || !self.metadata_unknown.is_empty() {
            let mut m = Vec::new();
            oxm::put_raw_match(&mut m, &self.metadata);
            m.extend_from_slice(&self.metadata_unknown);
            put_prop(out, NXPINT_METADATA, &m)?;
        }
        if let Some(u) = &self.userdata {
            put_prop(out, NXPINT_USERDATA, u)?;
        }
        if let Some(c) = &self.continuation {
            // Nested property: 4 bytes of padding align the contents to 8.
            let mut p = vec![0u8; 4];
            p.extend_from_slice(c);
            put_prop(out, NXPINT_CONTINUATION, &p)?;
        }
        Ok(())
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<PacketIn2, DecodeError> {
        let mut pin = PacketIn2::default();
        for (typ, p) in pull_props(r, "packet-in2 property")? {
            let mut pr = Reader::new(p, "packet-in2 property");
            match typ {
                NXPINT_PACKET => pin.packet = p.to_vec(),
                NXPINT_FULL_LEN => pin.full_len = Some(pr.u32()?),
                NXPINT_BUFFER_ID => pin.buffer_id = Some(pr.u32()?),
                NXPINT_TABLE_ID => pin.table_id = Some(pr.u8()?),
                NXPINT_COOKIE => pin.cookie = Some(pr.u64()?),
                NXPINT_REASON => pin.reason = Some(pr.u8()?),
                NXPINT_METADATA => {
                    (pin.metadata, pin.metadata_unknown) = oxm::pull_raw_match_keeping_unknown(pr)?;
                }
                NXPINT_USERDATA => pin.userdata = Some(p.to_vec()),
                NXPINT_CONTINUATION => {
                    pr.pad(4)?;
                    pin.continuation = Some(pr.rest().to_vec());
                }
                t => {
                    return Err(DecodeError::Unsupported {
                        what: "packet-in2 property",
                        code: t.into(),
                    });
                }
            }
        }
        Ok(pin)
    }
}
