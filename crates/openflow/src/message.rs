//! [`Message`]: every message this codec understands, and the top-level
//! [`encode`] / [`decode`] entry points.

use std::fmt;

use crate::actions::NX_VENDOR_ID;
use crate::error::{DecodeError, EncodeError};
use crate::flow_mod::FlowMod;
use crate::group_mod::GroupMod;
use crate::header::{HEADER_LEN, Header, OFP15_VERSION};
use crate::packed::PackedFlowMod;
use crate::packet_in::{PacketIn2, PacketInFormat};
use crate::packet_out::PacketOut;
use crate::stats::{self, FlowStatsReply, FlowStatsRequest, GroupDescReply, OFPMP_FLOW, OFPMP_GROUP_DESC};
use crate::tlv::{TlvTableMod, TlvTableReply};
use crate::wire::{Reader, patch_len, put_u16, put_u32};

const OFPT_HELLO: u8 = 0;
const OFPT_ERROR: u8 = 1;
const OFPT_ECHO_REQUEST: u8 = 2;
const OFPT_ECHO_REPLY: u8 = 3;
const OFPT_EXPERIMENTER: u8 = 4;
const OFPT_FEATURES_REQUEST: u8 = 5;
const OFPT_FEATURES_REPLY: u8 = 6;
const OFPT_GET_CONFIG_REQUEST: u8 = 7;
const OFPT_GET_CONFIG_REPLY: u8 = 8;
const OFPT_SET_CONFIG: u8 = 9;
const OFPT_PACKET_OUT: u8 = 13;
const OFPT_FLOW_MOD: u8 = 14;
const OFPT_GROUP_MOD: u8 = 15;
const OFPT_MULTIPART_REQUEST: u8 = 18;
const OFPT_MULTIPART_REPLY: u8 = 19;
const OFPT_BARRIER_REQUEST: u8 = 20;
const OFPT_BARRIER_REPLY: u8 = 21;
const OFPT_BUNDLE_CONTROL: u8 = 33;
const OFPT_BUNDLE_ADD_MESSAGE: u8 = 34;

const NXT_SET_PACKET_IN_FORMAT: u32 = 16;
const NXT_TLV_TABLE_MOD: u32 = 24;
const NXT_TLV_TABLE_REQUEST: u32 = 25;
const NXT_TLV_TABLE_REPLY: u32 = 26;
const NXT_RESUME: u32 = 28;
const NXT_PACKET_IN2: u32 = 30;

const OFPHET_VERSIONBITMAP: u16 = 1;

/// OFPT_HELLO. `version_bitmap` bit N set = OpenFlow wire version N supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hello {
    pub version_bitmap: Option<u32>,
}

impl Hello {
    /// What this codec sends: OpenFlow 1.5 only.
    pub fn of15() -> Hello {
        Hello {
            version_bitmap: Some(1 << OFP15_VERSION),
        }
    }
}

/// Negotiates the version from the peer's hello: OpenFlow 1.5 if the peer
/// offers it (by bitmap, or by header version >= 1.5 without a bitmap).
pub fn negotiate_version(peer_header_version: u8, peer: &Hello) -> Option<u8> {
    let ok = match peer.version_bitmap {
        Some(bm) => bm & (1 << OFP15_VERSION) != 0,
        None => peer_header_version >= OFP15_VERSION,
    };
    ok.then_some(OFP15_VERSION)
}

/// OFPT_ERROR. Experimenter errors (`typ == 0xffff`) carry `experimenter`
/// and use `code` as the experimenter code (OVS's Nicira errors).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorMsg {
    pub typ: u16,
    pub code: u16,
    pub experimenter: Option<u32>,
    /// Usually the start of the offending request.
    pub data: Vec<u8>,
}

impl ErrorMsg {
    /// Symbolic name of the error type (`OFPET_BAD_MATCH`, ...).
    pub fn type_name(&self) -> &'static str {
        match self.typ {
            0 => "OFPET_HELLO_FAILED",
            1 => "OFPET_BAD_REQUEST",
            2 => "OFPET_BAD_ACTION",
            3 => "OFPET_BAD_INSTRUCTION",
            4 => "OFPET_BAD_MATCH",
            5 => "OFPET_FLOW_MOD_FAILED",
            6 => "OFPET_GROUP_MOD_FAILED",
            7 => "OFPET_PORT_MOD_FAILED",
            8 => "OFPET_TABLE_MOD_FAILED",
            9 => "OFPET_QUEUE_OP_FAILED",
            10 => "OFPET_SWITCH_CONFIG_FAILED",
            11 => "OFPET_ROLE_REQUEST_FAILED",
            12 => "OFPET_METER_MOD_FAILED",
            13 => "OFPET_TABLE_FEATURES_FAILED",
            14 => "OFPET_BAD_PROPERTY",
            15 => "OFPET_ASYNC_CONFIG_FAILED",
            16 => "OFPET_FLOW_MONITOR_FAILED",
            17 => "OFPET_BUNDLE_FAILED",
            0xffff => "OFPET_EXPERIMENTER",
            _ => "OFPET_UNKNOWN",
        }
    }

    /// The header of the failed request embedded in `data`, if present.
    pub fn failed_request(&self) -> Option<Header> {
        Header::parse(&self.data).ok()
    }
}

impl fmt::Display for ErrorMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({}) code {}", self.type_name(), self.typ, self.code)?;
        if let Some(e) = self.experimenter {
            write!(f, " experimenter {e:#x}")?;
        }
        if let Some(h) = self.failed_request() {
            write!(f, " for request type {} xid {:#x}", h.msg_type, h.xid)?;
        }
        Ok(())
    }
}

/// OFPT_FEATURES_REPLY (OpenFlow 1.3+ layout: no ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeaturesReply {
    pub datapath_id: u64,
    pub n_buffers: u32,
    pub n_tables: u8,
    pub auxiliary_id: u8,
    pub capabilities: u32,
}

/// Body of OFPT_SET_CONFIG / OFPT_GET_CONFIG_REPLY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SwitchConfig {
    /// `OFPC_*` fragment-handling flags.
    pub flags: u16,
    /// Bytes of a packet to send to the controller. Connections to the
    /// `br-int.mgmt` socket only receive packet-ins once this is nonzero.
    pub miss_send_len: u16,
}

/// Bundle control message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BundleCtrlType {
    OpenRequest,
    OpenReply,
    CloseRequest,
    CloseReply,
    CommitRequest,
    CommitReply,
    DiscardRequest,
    DiscardReply,
}

impl BundleCtrlType {
    fn code(self) -> u16 {
        self as u16
    }

    fn from_code(c: u16) -> Result<Self, DecodeError> {
        use BundleCtrlType::*;
        Ok(match c {
            0 => OpenRequest,
            1 => OpenReply,
            2 => CloseRequest,
            3 => CloseReply,
            4 => CommitRequest,
            5 => CommitReply,
            6 => DiscardRequest,
            7 => DiscardReply,
            c => {
                return Err(DecodeError::Unsupported {
                    what: "bundle control type",
                    code: c.into(),
                });
            }
        })
    }
}

/// Bundle flags.
pub mod bundle_flags {
    pub const ATOMIC: u16 = 1 << 0;
    pub const ORDERED: u16 = 1 << 1;
}

/// OFPT_BUNDLE_CONTROL (bundle properties are not supported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BundleControl {
    pub bundle_id: u32,
    pub ctrl_type: BundleCtrlType,
    /// [`bundle_flags`] bits.
    pub flags: u16,
}

/// OFPT_BUNDLE_ADD_MESSAGE. The inner message is encoded with the outer xid,
/// as the specification requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BundleAdd {
    pub bundle_id: u32,
    pub flags: u16,
    /// Usually a [`Message::FlowMod`] or [`Message::GroupMod`]; bundle
    /// messages cannot be nested.
    pub message: Box<Message>,
}

/// An OpenFlow 1.5 message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    Hello(Hello),
    Error(ErrorMsg),
    EchoRequest(Vec<u8>),
    EchoReply(Vec<u8>),
    FeaturesRequest,
    FeaturesReply(FeaturesReply),
    BarrierRequest,
    BarrierReply,
    GetConfigRequest,
    GetConfigReply(SwitchConfig),
    SetConfig(SwitchConfig),
    FlowMod(FlowMod),
    /// A flow mod for a flow kept packed (encode only).
    PackedFlowMod(PackedFlowMod),
    GroupMod(GroupMod),
    PacketOut(PacketOut),
    BundleControl(BundleControl),
    BundleAdd(BundleAdd),
    /// NXT_TLV_TABLE_MOD.
    TlvTableMod(TlvTableMod),
    /// NXT_TLV_TABLE_REQUEST.
    TlvTableRequest,
    /// NXT_TLV_TABLE_REPLY.
    TlvTableReply(TlvTableReply),
    /// NXT_SET_PACKET_IN_FORMAT.
    SetPacketInFormat(PacketInFormat),
    /// NXT_PACKET_IN2.
    PacketIn2(PacketIn2),
    /// NXT_RESUME.
    Resume(PacketIn2),
    /// OFPMP_FLOW request.
    FlowStatsRequest(FlowStatsRequest),
    /// OFPMP_FLOW reply part.
    FlowStatsReply(FlowStatsReply),
    /// OFPMP_GROUP_DESC request (`group_id` [`crate::GROUP_ALL`] = all).
    GroupDescRequest {
        group_id: u32,
    },
    /// OFPMP_GROUP_DESC reply part.
    GroupDescReply(GroupDescReply),
    /// Any other message (port status, unknown experimenter messages, other
    /// multipart types...): type and body after the 8-byte header, so a
    /// controller can ignore what it does not handle.
    Unknown {
        msg_type: u8,
        body: Vec<u8>,
    },
}

impl Message {
    /// Whether this message may appear inside a bundle.
    fn bundleable(&self) -> bool {
        !matches!(
            self,
            Message::Hello(_)
                | Message::Error(_)
                | Message::EchoRequest(_)
                | Message::EchoReply(_)
                | Message::FeaturesRequest
                | Message::FeaturesReply(_)
                | Message::BarrierRequest
                | Message::BarrierReply
                | Message::GetConfigRequest
                | Message::GetConfigReply(_)
                | Message::BundleControl(_)
                | Message::BundleAdd(_)
        )
    }
}

fn nx_header(out: &mut Vec<u8>, subtype: u32) -> u8 {
    put_u32(out, NX_VENDOR_ID);
    put_u32(out, subtype);
    OFPT_EXPERIMENTER
}

fn mp_header(out: &mut Vec<u8>, typ: u16, more: bool) {
    put_u16(out, typ);
    put_u16(out, if more { stats::MORE } else { 0 });
    put_u32(out, 0);
}

/// Encodes `msg` with transaction id `xid` as one OpenFlow 1.5 message,
/// appended to `out`. On error `out` is left as it was.
pub fn encode(msg: &Message, xid: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let r = encode_inner(msg, xid, out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

fn encode_inner(msg: &Message, xid: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    Header {
        version: OFP15_VERSION,
        msg_type: 0,
        length: 0,
        xid,
    }
    .write(out);
    let t = match msg {
        Message::Hello(h) => {
            if let Some(bm) = h.version_bitmap {
                put_u16(out, OFPHET_VERSIONBITMAP);
                put_u16(out, 8);
                put_u32(out, bm);
            }
            OFPT_HELLO
        }
        Message::Error(e) => {
            put_u16(out, e.typ);
            put_u16(out, e.code);
            if let Some(x) = e.experimenter {
                put_u32(out, x);
            }
            out.extend_from_slice(&e.data);
            OFPT_ERROR
        }
        Message::EchoRequest(d) => {
            out.extend_from_slice(d);
            OFPT_ECHO_REQUEST
        }
        Message::EchoReply(d) => {
            out.extend_from_slice(d);
            OFPT_ECHO_REPLY
        }
        Message::FeaturesRequest => OFPT_FEATURES_REQUEST,
        Message::FeaturesReply(f) => {
            out.extend_from_slice(&f.datapath_id.to_be_bytes());
            put_u32(out, f.n_buffers);
            out.push(f.n_tables);
            out.push(f.auxiliary_id);
            put_u16(out, 0);
            put_u32(out, f.capabilities);
            put_u32(out, 0);
            OFPT_FEATURES_REPLY
        }
        Message::BarrierRequest => OFPT_BARRIER_REQUEST,
        Message::BarrierReply => OFPT_BARRIER_REPLY,
        Message::GetConfigRequest => OFPT_GET_CONFIG_REQUEST,
        Message::GetConfigReply(c) | Message::SetConfig(c) => {
            put_u16(out, c.flags);
            put_u16(out, c.miss_send_len);
            if matches!(msg, Message::SetConfig(_)) {
                OFPT_SET_CONFIG
            } else {
                OFPT_GET_CONFIG_REPLY
            }
        }
        Message::FlowMod(fm) => {
            fm.encode_body(out)?;
            OFPT_FLOW_MOD
        }
        Message::PackedFlowMod(p) => {
            p.flow.encode_flow_mod_body(p.command, out);
            OFPT_FLOW_MOD
        }
        Message::GroupMod(gm) => {
            gm.encode_body(out)?;
            OFPT_GROUP_MOD
        }
        Message::PacketOut(po) => {
            po.encode_body(out)?;
            OFPT_PACKET_OUT
        }
        Message::BundleControl(b) => {
            put_u32(out, b.bundle_id);
            put_u16(out, b.ctrl_type.code());
            put_u16(out, b.flags);
            OFPT_BUNDLE_CONTROL
        }
        Message::BundleAdd(b) => {
            if !b.message.bundleable() {
                return Err(EncodeError::invalid(
                    "bundle add",
                    "message type cannot be bundled",
                ));
            }
            put_u32(out, b.bundle_id);
            put_u16(out, 0);
            put_u16(out, b.flags);
            encode_inner(&b.message, xid, out)?;
            OFPT_BUNDLE_ADD_MESSAGE
        }
        Message::TlvTableMod(m) => {
            let t = nx_header(out, NXT_TLV_TABLE_MOD);
            m.encode_body(out);
            t
        }
        Message::TlvTableRequest => nx_header(out, NXT_TLV_TABLE_REQUEST),
        Message::TlvTableReply(m) => {
            let t = nx_header(out, NXT_TLV_TABLE_REPLY);
            m.encode_body(out);
            t
        }
        Message::SetPacketInFormat(f) => {
            let t = nx_header(out, NXT_SET_PACKET_IN_FORMAT);
            put_u32(out, f.code());
            t
        }
        Message::PacketIn2(p) => {
            let t = nx_header(out, NXT_PACKET_IN2);
            p.encode_body(out)?;
            t
        }
        Message::Resume(p) => {
            let t = nx_header(out, NXT_RESUME);
            p.encode_body(out)?;
            t
        }
        Message::FlowStatsRequest(r) => {
            mp_header(out, OFPMP_FLOW, false);
            r.encode_body(out)?;
            OFPT_MULTIPART_REQUEST
        }
        Message::FlowStatsReply(r) => {
            mp_header(out, OFPMP_FLOW, r.more);
            r.encode_body(out)?;
            OFPT_MULTIPART_REPLY
        }
        Message::GroupDescRequest { group_id } => {
            mp_header(out, OFPMP_GROUP_DESC, false);
            put_u32(out, *group_id);
            put_u32(out, 0);
            OFPT_MULTIPART_REQUEST
        }
        Message::GroupDescReply(r) => {
            mp_header(out, OFPMP_GROUP_DESC, r.more);
            r.encode_body(out)?;
            OFPT_MULTIPART_REPLY
        }
        Message::Unknown { msg_type, body } => {
            out.extend_from_slice(body);
            *msg_type
        }
    };
    out[start + 1] = t;
    let len = out.len() - start;
    patch_len(out, start + 2, len, "message")
}

/// Decodes the message at the start of `buf` (which must hold at least the
/// length its header announces; bytes after it are ignored).
///
/// Only OpenFlow 1.5 is accepted, except that HELLO and ERROR are decoded
/// from any version so version negotiation can be handled.
pub fn decode(buf: &[u8]) -> Result<(Header, Message), DecodeError> {
    decode_depth(buf, 0)
}

fn decode_depth(buf: &[u8], depth: usize) -> Result<(Header, Message), DecodeError> {
    let h = Header::parse(buf)?;
    let len = usize::from(h.length);
    if buf.len() < len {
        return Err(DecodeError::Truncated {
            what: "message",
            need: len,
            have: buf.len(),
        });
    }
    if h.version != OFP15_VERSION && !matches!(h.msg_type, OFPT_HELLO | OFPT_ERROR) {
        return Err(DecodeError::BadVersion(h.version));
    }
    let mut r = Reader::new(&buf[HEADER_LEN..len], "message body");
    let m = match h.msg_type {
        OFPT_HELLO => Message::Hello(decode_hello(&mut r)?),
        OFPT_ERROR => {
            let typ = r.u16()?;
            let code = r.u16()?;
            let experimenter = if typ == 0xffff { Some(r.u32()?) } else { None };
            Message::Error(ErrorMsg {
                typ,
                code,
                experimenter,
                data: r.rest().to_vec(),
            })
        }
        OFPT_ECHO_REQUEST => Message::EchoRequest(r.rest().to_vec()),
        OFPT_ECHO_REPLY => Message::EchoReply(r.rest().to_vec()),
        OFPT_FEATURES_REQUEST => Message::FeaturesRequest,
        OFPT_FEATURES_REPLY => {
            let datapath_id = r.u64()?;
            let n_buffers = r.u32()?;
            let n_tables = r.u8()?;
            let auxiliary_id = r.u8()?;
            r.pad(2)?;
            let capabilities = r.u32()?;
            Message::FeaturesReply(FeaturesReply {
                datapath_id,
                n_buffers,
                n_tables,
                auxiliary_id,
                capabilities,
            })
        }
        OFPT_BARRIER_REQUEST => Message::BarrierRequest,
        OFPT_BARRIER_REPLY => Message::BarrierReply,
        OFPT_GET_CONFIG_REQUEST => Message::GetConfigRequest,
        OFPT_GET_CONFIG_REPLY | OFPT_SET_CONFIG => {
            let c = SwitchConfig {
                flags: r.u16()?,
                miss_send_len: r.u16()?,
            };
            if h.msg_type == OFPT_SET_CONFIG {
                Message::SetConfig(c)
            } else {
                Message::GetConfigReply(c)
            }
        }
        OFPT_FLOW_MOD => Message::FlowMod(FlowMod::decode_body(&mut r)?),
        OFPT_GROUP_MOD => Message::GroupMod(GroupMod::decode_body(&mut r)?),
        OFPT_PACKET_OUT => Message::PacketOut(PacketOut::decode_body(&mut r)?),
        OFPT_BUNDLE_CONTROL => {
            let bundle_id = r.u32()?;
            let ctrl_type = BundleCtrlType::from_code(r.u16()?)?;
            let flags = r.u16()?;
            Message::BundleControl(BundleControl {
                bundle_id,
                ctrl_type,
                flags,
            })
        }
        OFPT_BUNDLE_ADD_MESSAGE => {
            if depth > 0 {
                return Err(DecodeError::TooDeep);
            }
            let bundle_id = r.u32()?;
            r.pad(2)?;
            let flags = r.u16()?;
            let (_, inner) = decode_depth(r.rest(), depth + 1)?;
            if !inner.bundleable() {
                return Err(DecodeError::invalid(
                    "bundle add",
                    "message type cannot be bundled",
                ));
            }
            Message::BundleAdd(BundleAdd {
                bundle_id,
                flags,
                message: Box::new(inner),
            })
        }
        OFPT_EXPERIMENTER => decode_experimenter(&mut r)?,
        OFPT_MULTIPART_REQUEST | OFPT_MULTIPART_REPLY => decode_multipart(h.msg_type, &mut r)?,
        t => Message::Unknown {
            msg_type: t,
            body: r.rest().to_vec(),
        },
    };
    Ok((h, m))
}

fn decode_hello(r: &mut Reader<'_>) -> Result<Hello, DecodeError> {
    let mut hello = Hello { version_bitmap: None };
    while r.remaining() >= 4 {
        let typ = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(DecodeError::BadLength {
                what: "hello element",
                len,
            });
        }
        let mut body = r.sub(len - 4, "hello element")?;
        r.pad((crate::wire::round8(len) - len).min(r.remaining()))?;
        if typ == OFPHET_VERSIONBITMAP && body.remaining() >= 4 {
            // Only the first 32 versions matter here.
            hello.version_bitmap = Some(body.u32()?);
        }
    }
    Ok(hello)
}

fn decode_experimenter(r: &mut Reader<'_>) -> Result<Message, DecodeError> {
    let all = r.rest().to_vec();
    let vendor = r.u32()?;
    let subtype = r.u32()?;
    if vendor != NX_VENDOR_ID {
        return Ok(Message::Unknown {
            msg_type: OFPT_EXPERIMENTER,
            body: all,
        });
    }
    Ok(match subtype {
        NXT_TLV_TABLE_MOD => Message::TlvTableMod(TlvTableMod::decode_body(r)?),
        NXT_TLV_TABLE_REQUEST => Message::TlvTableRequest,
        NXT_TLV_TABLE_REPLY => Message::TlvTableReply(TlvTableReply::decode_body(r)?),
        NXT_SET_PACKET_IN_FORMAT => Message::SetPacketInFormat(PacketInFormat::from_code(r.u32()?)?),
        NXT_PACKET_IN2 => Message::PacketIn2(PacketIn2::decode_body(r)?),
        NXT_RESUME => Message::Resume(PacketIn2::decode_body(r)?),
        _ => Message::Unknown {
            msg_type: OFPT_EXPERIMENTER,
            body: all,
        },
    })
}

fn decode_multipart(t: u8, r: &mut Reader<'_>) -> Result<Message, DecodeError> {
    let all = r.rest().to_vec();
    let typ = r.u16()?;
    let flags = r.u16()?;
    r.pad(4)?;
    let more = flags & stats::MORE != 0;
    Ok(match (t, typ) {
        (OFPT_MULTIPART_REQUEST, OFPMP_FLOW) => Message::FlowStatsRequest(FlowStatsRequest::decode_body(r)?),
        (OFPT_MULTIPART_REPLY, OFPMP_FLOW) => Message::FlowStatsReply(FlowStatsReply::decode_body(r, more)?),
        (OFPT_MULTIPART_REQUEST, OFPMP_GROUP_DESC) => Message::GroupDescRequest { group_id: r.u32()? },
        (OFPT_MULTIPART_REPLY, OFPMP_GROUP_DESC) => {
            Message::GroupDescReply(GroupDescReply::decode_body(r, more)?)
        }
        _ => Message::Unknown {
            msg_type: t,
            body: all,
        },
    })
}
