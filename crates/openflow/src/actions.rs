//! [`Action`]: OpenFlow 1.5 and Nicira actions OVN uses, their wire codec,
//! `ovs-ofctl` printing and parsing.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::{DecodeError, EncodeError, ParseError};
use crate::field::{Field, SubField, port};
use crate::learn::{self, Learn};
use crate::oxm;
use crate::text::{self, parse_num, split_top};
use crate::wire::{Reader, pad_to, patch_len, put_u16, put_u32};

/// Nicira vendor id.
pub(crate) const NX_VENDOR_ID: u32 = 0x0000_2320;

const OFPAT_OUTPUT: u16 = 0;
const OFPAT_SET_QUEUE: u16 = 21;
const OFPAT_GROUP: u16 = 22;
const OFPAT_PUSH_VLAN: u16 = 17;
const OFPAT_POP_VLAN: u16 = 18;
const OFPAT_DEC_NW_TTL: u16 = 24;
const OFPAT_SET_FIELD: u16 = 25;
const OFPAT_COPY_FIELD: u16 = 28;
const OFPAT_METER: u16 = 29;
const OFPAT_EXPERIMENTER: u16 = 0xffff;

const NXAST_RESUBMIT: u16 = 1;
const NXAST_REG_MOVE: u16 = 6;
const NXAST_REG_LOAD: u16 = 7;
const NXAST_NOTE: u16 = 8;
const NXAST_RESUBMIT_TABLE: u16 = 14;
const NXAST_LEARN: u16 = 16;
const NXAST_DEC_TTL: u16 = 18;
const NXAST_CONTROLLER: u16 = 20;
const NXAST_STACK_PUSH: u16 = 27;
const NXAST_STACK_POP: u16 = 28;
const NXAST_SAMPLE: u16 = 29;
const NXAST_CONJUNCTION: u16 = 34;
const NXAST_CT: u16 = 35;
const NXAST_NAT: u16 = 36;
const NXAST_CONTROLLER2: u16 = 37;
const NXAST_CLONE: u16 = 42;
const NXAST_CT_CLEAR: u16 = 43;
const NXAST_CHECK_PKT_LARGER: u16 = 49;

const NX_CT_F_COMMIT: u16 = 1;
const NX_CT_F_FORCE: u16 = 2;
const NX_NAT_F_SRC: u16 = 1;
const NX_NAT_F_DST: u16 = 2;
const NX_NAT_F_PERSISTENT: u16 = 4;
const NX_NAT_F_PROTO_HASH: u16 = 8;
const NX_NAT_F_PROTO_RANDOM: u16 = 16;

const NXAC2PT_MAX_LEN: u16 = 0;
const NXAC2PT_CONTROLLER_ID: u16 = 1;
const NXAC2PT_REASON: u16 = 2;
const NXAC2PT_USERDATA: u16 = 3;
const NXAC2PT_PAUSE: u16 = 4;
const NXAC2PT_METER_ID: u16 = 5;

/// Packet-in reason `OFPR_ACTION` (the default for `controller`).
pub const OFPR_ACTION: u8 = 1;

/// Nested action lists (clone, ct exec) deeper than this are rejected.
const MAX_DEPTH: usize = 16;

/// One OpenFlow action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `output:PORT` (OFPAT_OUTPUT). `max_len` only matters for
    /// [`port::CONTROLLER`]; use `u16::MAX` ("send whole packet") otherwise.
    Output { port: u32, max_len: u16 },
    /// `resubmit(PORT,TABLE)` (NXAST_RESUBMIT_TABLE). `in_port: None` keeps
    /// the packet's in_port, `table: None` means the current table.
    Resubmit { in_port: Option<u32>, table: Option<u8> },
    /// `set_field:VALUE[/MASK]->FIELD` (OpenFlow 1.5 set-field, masked when
    /// `mask` is `Some`; also what `load:` becomes).
    SetField {
        field: Field,
        value: u128,
        mask: Option<u128>,
    },
    /// `move:SRC->DST` (OpenFlow 1.5 copy-field; NXAST_REG_MOVE is decoded too).
    Move { src: SubField, dst: SubField },
    /// `push:SUBFIELD` (NXAST_STACK_PUSH).
    Push(SubField),
    /// `pop:SUBFIELD` (NXAST_STACK_POP).
    Pop(SubField),
    /// `dec_ttl` (OFPAT_DEC_NW_TTL).
    DecTtl,
    /// `push_vlan:ETHERTYPE` (OFPAT_PUSH_VLAN): a new outer 802.1Q header
    /// (0x8100, or 0x88a8 for 802.1ad) with VID 0; set `vlan_tci` after.
    PushVlan(u16),
    /// `pop_vlan` (OFPAT_POP_VLAN; ovs-ofctl also reads `strip_vlan`).
    PopVlan,
    /// `ct(...)` (NXAST_CT, with an optional leading NXAST_NAT).
    Ct(Ct),
    /// `ct_clear` (NXAST_CT_CLEAR).
    CtClear,
    /// `group:ID` (OFPAT_GROUP).
    Group(u32),
    /// `conjunction(ID,CLAUSE/N_CLAUSES)`; `clause` is 0-based as on the
    /// wire (ovs-ofctl prints it 1-based).
    Conjunction { id: u32, clause: u8, n_clauses: u8 },
    /// `clone(...)` (NXAST_CLONE).
    Clone(Vec<Action>),
    /// `controller(...)` (NXAST_CONTROLLER2, or NXAST_CONTROLLER when no
    /// userdata/pause/meter is needed).
    Controller(Controller),
    /// `note:HEX` (NXAST_NOTE). The switch pads notes with zero bytes to a
    /// multiple of 8 (minus 2), and reports the padding back.
    Note(Vec<u8>),
    /// `goto_table:N`. An instruction rather than an action: only valid as
    /// the last element of a flow's action list.
    GotoTable(u8),
    /// `check_pkt_larger(LEN)->DST` (NXAST_CHECK_PKT_LARGER): sets the 1-bit
    /// `dst` to whether the packet is longer than `pkt_len` bytes.
    CheckPktLarger { pkt_len: u16, dst: SubField },
    /// `set_queue:N` (OFPAT_SET_QUEUE).
    SetQueue(u32),
    /// `meter:N` (OpenFlow 1.5 OFPAT_METER); the meter must exist.
    Meter(u32),
    /// `learn(...)` (NXAST_LEARN).
    Learn(Learn),
    /// `sample(...)` (NXAST_SAMPLE): IPFIX per-flow sampling.
    Sample(Sample),
}

/// The `sample` action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Sample {
    /// Packets sampled per 65535.
    pub probability: u16,
    pub collector_set_id: u32,
    pub obs_domain_id: u32,
    pub obs_point_id: u32,
}

/// Conntrack zone for [`Ct`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtZone {
    /// Immediate zone number (0 = default zone, printed as nothing).
    Imm(u16),
    /// Zone read from a subfield (OVN: `NXM_NX_REG13[0..15]`).
    Field(SubField),
}

/// The `ct` action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ct {
    pub commit: bool,
    pub force: bool,
    /// Recirculate to this table (`table=N`); `None` = no recirculation.
    pub table: Option<u8>,
    pub zone: CtZone,
    /// Application-layer gateway port (e.g. 21 for FTP); 0 = none.
    pub alg: u16,
    /// NAT, encoded as the first nested action.
    pub nat: Option<Nat>,
    /// Actions inside `exec(...)` (typically set_field on ct_mark/ct_label).
    pub exec: Vec<Action>,
}

impl Default for Ct {
    fn default() -> Self {
        Ct {
            commit: false,
            force: false,
            table: None,
            zone: CtZone::Imm(0),
            alg: 0,
            nat: None,
            exec: Vec::new(),
        }
    }
}

/// Direction of a NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatKind {
    Src,
    Dst,
}

/// `nat[(src|dst[=ADDR[-ADDR][:PORT[-PORT]]][,persistent][,hash|random])]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Nat {
    /// `None` is plain `nat` (un-NAT established connections).
    pub kind: Option<NatKind>,
    /// Address range (min, optional max); both must be the same family.
    pub addr: Option<(IpAddr, Option<IpAddr>)>,
    /// Port range (min, optional max); requires `addr`.
    pub ports: Option<(u16, Option<u16>)>,
    pub persistent: bool,
    pub hash: bool,
    pub random: bool,
}

/// The `controller` action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Controller {
    /// Bytes of packet to send (`u16::MAX` = all).
    pub max_len: u16,
    pub controller_id: u16,
    /// Packet-in reason; default [`OFPR_ACTION`].
    pub reason: u8,
    /// Opaque bytes delivered in NXT_PACKET_IN2 (OVN: opcode + nested actions).
    pub userdata: Vec<u8>,
    /// Pause the pipeline; the packet-in carries a continuation for NXT_RESUME.
    pub pause: bool,
    pub meter_id: Option<u32>,
}

impl Default for Controller {
    fn default() -> Self {
        Controller {
            max_len: u16::MAX,
            controller_id: 0,
            reason: OFPR_ACTION,
            userdata: Vec::new(),
            pause: false,
            meter_id: None,
        }
    }
}

impl Action {
    /// `output:PORT`.
    pub fn output(port: u32) -> Action {
        Action::Output {
            port,
            max_len: u16::MAX,
        }
    }

    /// `resubmit(,TABLE)`.
    pub fn resubmit(table: u8) -> Action {
        Action::Resubmit {
            in_port: None,
            table: Some(table),
        }
    }

    /// `set_field:VALUE->FIELD`.
    pub fn set_field(field: Field, value: u128) -> Action {
        Action::SetField {
            field,
            value,
            mask: None,
        }
    }

    /// Loads `value` into `dst` (a subfield), i.e. `load:VALUE->DST`, encoded
    /// as a masked set-field.
    pub fn load(dst: SubField, value: u128) -> Action {
        let width_mask = if dst.n_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << dst.n_bits) - 1
        };
        let mask = width_mask << dst.ofs;
        let value = (value & width_mask) << dst.ofs;
        if mask == dst.field.full_mask() {
            Action::SetField {
                field: dst.field,
                value,
                mask: None,
            }
        } else {
            Action::SetField {
                field: dst.field,
                value,
                mask: Some(mask),
            }
        }
    }
}

/// A set-field with `value` limited to `mask` and a full mask dropped, the
/// form encoding produces, so decode(encode(x)) is stable.
fn set_field(field: Field, value: u128, mask: Option<u128>) -> Action {
    let full = field.full_mask();
    let mask = mask.map(|m| m & full).filter(|m| *m != full);
    Action::SetField {
        field,
        value: value & mask.unwrap_or(full),
        mask,
    }
}

// ---------------------------------------------------------------------------
// Encoding

fn nx_header(out: &mut Vec<u8>, subtype: u16) -> usize {
    let start = out.len();
    put_u16(out, OFPAT_EXPERIMENTER);
    put_u16(out, 0);
    put_u32(out, NX_VENDOR_ID);
    put_u16(out, subtype);
    start
}

fn finish(out: &mut Vec<u8>, start: usize) -> Result<(), EncodeError> {
    pad_to(out, start, 8);
    let len = out.len() - start;
    patch_len(out, start + 2, len, "action")
}

fn check_subfield(sf: &SubField) -> Result<(), EncodeError> {
    if sf.is_valid() {
        Ok(())
    } else {
        Err(EncodeError::invalid("subfield", format!("{sf} out of range")))
    }
}

/// Appends the OpenFlow 1.5 encoding of `actions`. [`Action::GotoTable`] is
/// rejected here (flow mods handle it as an instruction).
pub fn encode_actions(actions: &[Action], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    for a in actions {
        encode_action(a, out)?;
    }
    Ok(())
}

fn encode_action(a: &Action, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match a {
        Action::Output { port, max_len } => {
            put_u16(out, OFPAT_OUTPUT);
            put_u16(out, 16);
            put_u32(out, *port);
            put_u16(out, *max_len);
            out.extend_from_slice(&[0; 6]);
        }
        Action::Group(g) => {
            put_u16(out, OFPAT_GROUP);
            put_u16(out, 8);
            put_u32(out, *g);
        }
        Action::DecTtl => {
            put_u16(out, OFPAT_DEC_NW_TTL);
            put_u16(out, 8);
            put_u32(out, 0);
        }
        Action::PushVlan(ethertype) => {
            put_u16(out, OFPAT_PUSH_VLAN);
            put_u16(out, 8);
            put_u16(out, *ethertype);
            put_u16(out, 0);
        }
        Action::PopVlan => {
            put_u16(out, OFPAT_POP_VLAN);
            put_u16(out, 8);
            put_u32(out, 0);
        }
        Action::SetField { field, value, mask } => {
            if !field.is_valid() {
                return Err(EncodeError::invalid("set_field", format!("{field:?}")));
            }
            let start = out.len();
            put_u16(out, OFPAT_SET_FIELD);
            put_u16(out, 0);
            let full = field.full_mask();
            let mask = mask.filter(|m| *m & full != full).map(|m| m & full);
            oxm::put_entry(out, *field, value & mask.unwrap_or(full), mask);
            finish(out, start)?;
        }
        Action::Move { src, dst } => {
            check_subfield(src)?;
            check_subfield(dst)?;
            if src.n_bits != dst.n_bits {
                return Err(EncodeError::invalid(
                    "move",
                    "source and destination widths differ",
                ));
            }
            let start = out.len();
            put_u16(out, OFPAT_COPY_FIELD);
            put_u16(out, 0);
            put_u16(out, src.n_bits);
            put_u16(out, src.ofs);
            put_u16(out, dst.ofs);
            put_u16(out, 0);
            oxm::put_header(out, src.field, false, src.field.bytes());
            oxm::put_header(out, dst.field, false, dst.field.bytes());
            finish(out, start)?;
        }
        Action::Push(sf) | Action::Pop(sf) => {
            check_subfield(sf)?;
            let sub = if matches!(a, Action::Push(_)) {
                NXAST_STACK_PUSH
            } else {
                NXAST_STACK_POP
            };
            let start = nx_header(out, sub);
            put_u16(out, sf.ofs);
            oxm::put_nxm_header(out, sf.field);
            put_u16(out, sf.n_bits);
            out.resize(start + 24, 0);
            finish(out, start)?;
        }
        Action::Resubmit { in_port, table } => {
            let start = nx_header(out, NXAST_RESUBMIT_TABLE);
            put_u16(out, port::to_ofp10(in_port.unwrap_or(port::IN_PORT)));
            out.push(table.unwrap_or(0xff));
            out.extend_from_slice(&[0; 3]);
            finish(out, start)?;
        }
        Action::CtClear => {
            let start = nx_header(out, NXAST_CT_CLEAR);
            out.extend_from_slice(&[0; 6]);
            finish(out, start)?;
        }
        Action::Conjunction {
            id,
            clause,
            n_clauses,
        } => {
            if *n_clauses < 2 || *n_clauses > 64 || clause >= n_clauses {
                return Err(EncodeError::invalid("conjunction", "bad clause numbers"));
            }
            let start = nx_header(out, NXAST_CONJUNCTION);
            out.push(*clause);
            out.push(*n_clauses);
            put_u32(out, *id);
            finish(out, start)?;
        }
        Action::Note(bytes) => {
            let start = nx_header(out, NXAST_NOTE);
            out.extend_from_slice(bytes);
            if out.len() - start < 16 {
                out.resize(start + 16, 0);
            }
            finish(out, start)?;
        }
        Action::Clone(inner) => {
            let start = nx_header(out, NXAST_CLONE);
            out.extend_from_slice(&[0; 6]);
            encode_actions(inner, out)?;
            finish(out, start)?;
        }
        Action::Controller(c) => encode_controller(c, out)?,
        Action::Ct(ct) => encode_ct(ct, out)?,
        Action::CheckPktLarger { pkt_len, dst } => {
            check_subfield(dst)?;
            if dst.n_bits != 1 {
                return Err(EncodeError::invalid(
                    "check_pkt_larger",
                    "destination must be 1 bit",
                ));
            }
            let start = nx_header(out, NXAST_CHECK_PKT_LARGER);
            put_u16(out, *pkt_len);
            put_u16(out, dst.ofs);
            oxm::put_nxm_header(out, dst.field);
            out.resize(start + 24, 0);
            finish(out, start)?;
        }
        Action::SetQueue(q) => {
            put_u16(out, OFPAT_SET_QUEUE);
            put_u16(out, 8);
            put_u32(out, *q);
        }
        Action::Meter(m) => {
            put_u16(out, OFPAT_METER);
            put_u16(out, 8);
            put_u32(out, *m);
        }
        Action::Learn(l) => {
            let start = nx_header(out, NXAST_LEARN);
            learn::encode(l, out)?;
            finish(out, start)?;
        }
        Action::Sample(sm) => {
            let start = nx_header(out, NXAST_SAMPLE);
            put_u16(out, sm.probability);
            put_u32(out, sm.collector_set_id);
            put_u32(out, sm.obs_domain_id);
            put_u32(out, sm.obs_point_id);
            finish(out, start)?;
        }
        Action::GotoTable(_) => {
            return Err(EncodeError::invalid(
                "goto_table",
                "only valid as a flow's last action",
            ));
        }
    }
    Ok(())
}

fn put_prop(out: &mut Vec<u8>, typ: u16, payload: &[u8]) -> Result<(), EncodeError> {
    let start = out.len();
    put_u16(out, typ);
    put_u16(out, 0);
    out.extend_from_slice(payload);
    let len = out.len() - start;
    patch_len(out, start + 2, len, "property")?;
    pad_to(out, start, 8);
    Ok(())
}

fn encode_controller(c: &Controller, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if c.userdata.is_empty() && !c.pause && c.meter_id.is_none() {
        let start = nx_header(out, NXAST_CONTROLLER);
        put_u16(out, c.max_len);
        put_u16(out, c.controller_id);
        out.push(c.reason);
        out.push(0);
        return finish(out, start);
    }
    let start = nx_header(out, NXAST_CONTROLLER2);
    out.extend_from_slice(&[0; 6]);
    if c.max_len != u16::MAX {
        put_prop(out, NXAC2PT_MAX_LEN, &c.max_len.to_be_bytes())?;
    }
    if c.controller_id != 0 {
        put_prop(out, NXAC2PT_CONTROLLER_ID, &c.controller_id.to_be_bytes())?;
    }
    if c.reason != OFPR_ACTION {
        put_prop(out, NXAC2PT_REASON, &[c.reason])?;
    }
    if !c.userdata.is_empty() {
        put_prop(out, NXAC2PT_USERDATA, &c.userdata)?;
    }
    if c.pause {
        put_prop(out, NXAC2PT_PAUSE, &[])?;
    }
    if let Some(m) = c.meter_id {
        put_prop(out, NXAC2PT_METER_ID, &m.to_be_bytes())?;
    }
    finish(out, start)
}

fn encode_ct(ct: &Ct, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = nx_header(out, NXAST_CT);
    let mut flags = 0;
    if ct.commit {
        flags |= NX_CT_F_COMMIT;
    }
    if ct.force {
        flags |= NX_CT_F_FORCE;
    }
    put_u16(out, flags);
    match ct.zone {
        CtZone::Imm(z) => {
            put_u32(out, 0);
            put_u16(out, z);
        }
        CtZone::Field(sf) => {
            check_subfield(&sf)?;
            if sf.n_bits > 64 || sf.ofs > 0x3ff {
                return Err(EncodeError::invalid("ct zone", "subfield too wide"));
            }
            oxm::put_nxm_header(out, sf.field);
            put_u16(out, (sf.ofs << 6) | (sf.n_bits - 1));
        }
    }
    out.push(ct.table.unwrap_or(0xff));
    out.extend_from_slice(&[0; 3]);
    put_u16(out, ct.alg);
    if let Some(nat) = &ct.nat {
        encode_nat(nat, out)?;
    }
    encode_actions(&ct.exec, out)?;
    finish(out, start)
}

fn encode_nat(nat: &Nat, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = nx_header(out, NXAST_NAT);
    put_u16(out, 0);
    let mut flags = match nat.kind {
        None => 0,
        Some(NatKind::Src) => NX_NAT_F_SRC,
        Some(NatKind::Dst) => NX_NAT_F_DST,
    };
    if nat.persistent {
        flags |= NX_NAT_F_PERSISTENT;
    }
    if nat.hash {
        flags |= NX_NAT_F_PROTO_HASH;
    }
    if nat.random {
        flags |= NX_NAT_F_PROTO_RANDOM;
    }
    put_u16(out, flags);
    let present_at = out.len();
    put_u16(out, 0);
    let mut present = 0u16;
    if let Some((min, max)) = nat.addr {
        match (min, max) {
            (IpAddr::V4(a), b) => {
                out.extend_from_slice(&a.octets());
                present |= 1;
                match b {
                    Some(IpAddr::V4(b)) => {
                        out.extend_from_slice(&b.octets());
                        present |= 2;
                    }
                    None => {}
                    Some(IpAddr::V6(_)) => {
                        return Err(EncodeError::invalid("nat", "mixed address families"));
                    }
                }
            }
            (IpAddr::V6(a), b) => {
                out.extend_from_slice(&a.octets());
                present |= 4;
                match b {
                    Some(IpAddr::V6(b)) => {
                        out.extend_from_slice(&b.octets());
                        present |= 8;
                    }
                    None => {}
                    Some(IpAddr::V4(_)) => {
                        return Err(EncodeError::invalid("nat", "mixed address families"));
                    }
                }
            }
        }
    }
    if let Some((min, max)) = nat.ports {
        if nat.addr.is_none() {
            return Err(EncodeError::invalid("nat", "port range without address"));
        }
        put_u16(out, min);
        present |= 16;
        if let Some(max) = max {
            put_u16(out, max);
            present |= 32;
        }
    }
    out[present_at..present_at + 2].copy_from_slice(&present.to_be_bytes());
    finish(out, start)
}

// ---------------------------------------------------------------------------
// Decoding

/// Decodes an OpenFlow 1.5 action list occupying all of `buf`.
pub fn decode_actions(buf: &[u8]) -> Result<Vec<Action>, DecodeError> {
    decode_nested(buf, 0)
}

pub(crate) fn decode_nested(buf: &[u8], depth: usize) -> Result<Vec<Action>, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    let mut r = Reader::new(buf, "actions");
    let mut out = Vec::new();
    while !r.is_empty() {
        let rest = r.rest();
        if rest.len() < 4 {
            return Err(DecodeError::Truncated {
                what: "action header",
                need: 4,
                have: rest.len(),
            });
        }
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        if len < 8 || len % 8 != 0 {
            return Err(DecodeError::BadLength { what: "action", len });
        }
        let body = r.bytes(len)?;
        decode_action(body, depth, &mut out)?;
    }
    Ok(out)
}

fn decode_action(b: &[u8], depth: usize, out: &mut Vec<Action>) -> Result<(), DecodeError> {
    let mut r = Reader::new(b, "action");
    let typ = r.u16()?;
    r.u16()?;
    let a = match typ {
        OFPAT_OUTPUT => {
            let port = r.u32()?;
            let max_len = r.u16()?;
            Action::Output { port, max_len }
        }
        OFPAT_GROUP => Action::Group(r.u32()?),
        OFPAT_SET_QUEUE => Action::SetQueue(r.u32()?),
        OFPAT_METER => Action::Meter(r.u32()?),
        OFPAT_DEC_NW_TTL => Action::DecTtl,
        OFPAT_PUSH_VLAN => Action::PushVlan(r.u16()?),
        OFPAT_POP_VLAN => Action::PopVlan,
        OFPAT_SET_FIELD => {
            let (field, value, mask) = oxm::pull_entry(&mut r)?;
            set_field(field, value, mask)
        }
        OFPAT_COPY_FIELD => {
            let n_bits = r.u16()?;
            let src_ofs = r.u16()?;
            let dst_ofs = r.u16()?;
            r.pad(2)?;
            let src = oxm::header_field(&oxm::pull_header(&mut r)?)?.0;
            let dst = oxm::header_field(&oxm::pull_header(&mut r)?)?.0;
            move_action(src, src_ofs, dst, dst_ofs, n_bits)?
        }
        OFPAT_EXPERIMENTER => {
            let vendor = r.u32()?;
            if vendor != NX_VENDOR_ID {
                return Err(DecodeError::Unsupported {
                    what: "action vendor",
                    code: vendor.into(),
                });
            }
            let sub = r.u16()?;
            return decode_nx_action(sub, &mut r, depth, out);
        }
        t => {
            return Err(DecodeError::Unsupported {
                what: "action type",
                code: t.into(),
            });
        }
    };
    out.push(a);
    Ok(())
}

fn move_action(
    src: Field,
    src_ofs: u16,
    dst: Field,
    dst_ofs: u16,
    n_bits: u16,
) -> Result<Action, DecodeError> {
    let src = SubField {
        field: src,
        ofs: src_ofs,
        n_bits,
    };
    let dst = SubField {
        field: dst,
        ofs: dst_ofs,
        n_bits,
    };
    if !src.is_valid() || !dst.is_valid() {
        return Err(DecodeError::invalid("move", "subfield out of range"));
    }
    Ok(Action::Move { src, dst })
}

fn stack_subfield(r: &mut Reader<'_>) -> Result<SubField, DecodeError> {
    let ofs = r.u16()?;
    let field = oxm::header_field(&oxm::pull_header(r)?)?.0;
    let n_bits = r.u16()?;
    let sf = SubField { field, ofs, n_bits };
    if !sf.is_valid() {
        return Err(DecodeError::invalid("push/pop", "subfield out of range"));
    }
    Ok(sf)
}

fn decode_nx_action(
    sub: u16,
    r: &mut Reader<'_>,
    depth: usize,
    out: &mut Vec<Action>,
) -> Result<(), DecodeError> {
    let a = match sub {
        NXAST_RESUBMIT | NXAST_RESUBMIT_TABLE => {
            let in_port = port::from_ofp10(r.u16()?);
            let table = if sub == NXAST_RESUBMIT { 0xff } else { r.u8()? };
            Action::Resubmit {
                in_port: (in_port != port::IN_PORT).then_some(in_port),
                table: (table != 0xff).then_some(table),
            }
        }
        NXAST_REG_MOVE => {
            let n_bits = r.u16()?;
            let src_ofs = r.u16()?;
            let dst_ofs = r.u16()?;
            let src = oxm::header_field(&oxm::pull_header(r)?)?.0;
            let dst = oxm::header_field(&oxm::pull_header(r)?)?.0;
            move_action(src, src_ofs, dst, dst_ofs, n_bits)?
        }
        NXAST_REG_LOAD => {
            let ofs_nbits = r.u16()?;
            let dst = oxm::header_field(&oxm::pull_header(r)?)?.0;
            let value = r.u64()?;
            let sf = SubField {
                field: dst,
                ofs: ofs_nbits >> 6,
                n_bits: (ofs_nbits & 0x3f) + 1,
            };
            if !sf.is_valid() {
                return Err(DecodeError::invalid("load", "subfield out of range"));
            }
            Action::load(sf, u128::from(value))
        }
        NXAST_NOTE => Action::Note(r.rest().to_vec()),
        NXAST_DEC_TTL => Action::DecTtl,
        NXAST_CONTROLLER => {
            let max_len = r.u16()?;
            let controller_id = r.u16()?;
            let reason = r.u8()?;
            Action::Controller(Controller {
                max_len,
                controller_id,
                reason,
                ..Default::default()
            })
        }
        NXAST_CONTROLLER2 => {
            r.pad(6)?;
            Action::Controller(decode_controller2(r)?)
        }
        NXAST_STACK_PUSH => Action::Push(stack_subfield(r)?),
        NXAST_STACK_POP => Action::Pop(stack_subfield(r)?),
        NXAST_CONJUNCTION => {
            let clause = r.u8()?;
            let n_clauses = r.u8()?;
            let id = r.u32()?;
            if !(2..=64).contains(&n_clauses) || clause >= n_clauses {
                return Err(DecodeError::invalid("conjunction", "bad clause numbers"));
            }
            Action::Conjunction {
                id,
                clause,
                n_clauses,
            }
        }
        NXAST_CT => Action::Ct(decode_ct(r, depth)?),
        NXAST_NAT => {
            return Err(DecodeError::invalid(
                "nat",
                "only supported as the first action in ct",
            ));
        }
        NXAST_CLONE => {
            r.pad(6)?;
            Action::Clone(decode_nested(r.rest(), depth + 1)?)
        }
        NXAST_CT_CLEAR => Action::CtClear,
        NXAST_CHECK_PKT_LARGER => {
            let pkt_len = r.u16()?;
            let ofs = r.u16()?;
            let field = oxm::header_field(&oxm::pull_header(r)?)?.0;
            let dst = SubField {
                field,
                ofs,
                n_bits: 1,
            };
            if !dst.is_valid() {
                return Err(DecodeError::invalid("check_pkt_larger", "subfield out of range"));
            }
            Action::CheckPktLarger { pkt_len, dst }
        }
        NXAST_LEARN => Action::Learn(learn::decode(r)?),
        NXAST_SAMPLE => Action::Sample(Sample {
            probability: r.u16()?,
            collector_set_id: r.u32()?,
            obs_domain_id: r.u32()?,
            obs_point_id: r.u32()?,
        }),
        s => {
            return Err(DecodeError::Unsupported {
                what: "Nicira action subtype",
                code: s.into(),
            });
        }
    };
    out.push(a);
    Ok(())
}

/// Iterates OpenFlow properties (type, len, payload; padded to 8).
pub(crate) fn pull_props<'a>(
    r: &mut Reader<'a>,
    what: &'static str,
) -> Result<Vec<(u16, &'a [u8])>, DecodeError> {
    let mut props = Vec::new();
    while !r.is_empty() {
        let typ = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(DecodeError::BadLength { what, len });
        }
        let payload = r.bytes(len - 4)?;
        let padded = crate::wire::round8(len);
        // The final property's padding may be cut by an exact container length.
        let pad = (padded - len).min(r.remaining());
        r.pad(pad)?;
        props.push((typ, payload));
    }
    Ok(props)
}

fn prop_u16(p: &[u8], what: &'static str) -> Result<u16, DecodeError> {
    Reader::new(p, what).u16()
}

fn decode_controller2(r: &mut Reader<'_>) -> Result<Controller, DecodeError> {
    let mut c = Controller::default();
    for (typ, p) in pull_props(r, "controller2 property")? {
        match typ {
            NXAC2PT_MAX_LEN => c.max_len = prop_u16(p, "max_len")?,
            NXAC2PT_CONTROLLER_ID => c.controller_id = prop_u16(p, "controller_id")?,
            NXAC2PT_REASON => c.reason = Reader::new(p, "reason").u8()?,
            NXAC2PT_USERDATA => c.userdata = p.to_vec(),
            NXAC2PT_PAUSE => c.pause = true,
            NXAC2PT_METER_ID => c.meter_id = Some(Reader::new(p, "meter_id").u32()?),
            t => {
                return Err(DecodeError::Unsupported {
                    what: "controller2 property",
                    code: t.into(),
                });
            }
        }
    }
    Ok(c)
}

fn decode_ct(r: &mut Reader<'_>, depth: usize) -> Result<Ct, DecodeError> {
    let flags = r.u16()?;
    let zone_hdr = r.bytes(4)?;
    let zone_val = r.u16()?;
    let zone = if zone_hdr == [0, 0, 0, 0] {
        CtZone::Imm(zone_val)
    } else {
        let h = oxm::pull_header(&mut Reader::new(zone_hdr, "ct zone"))?;
        let field = oxm::header_field(&h)?.0;
        let sf = SubField {
            field,
            ofs: zone_val >> 6,
            n_bits: (zone_val & 0x3f) + 1,
        };
        if !sf.is_valid() {
            return Err(DecodeError::invalid("ct zone", "subfield out of range"));
        }
        CtZone::Field(sf)
    };
    let table = r.u8()?;
    r.pad(3)?;
    let alg = r.u16()?;
    let mut nested = r.rest();
    let mut nat = None;
    // A leading NXAST_NAT belongs to the ct action itself.
    if nested.len() >= 16 {
        let len = usize::from(u16::from_be_bytes([nested[2], nested[3]]));
        let is_nat = nested[0..2] == [0xff, 0xff]
            && nested[4..8] == NX_VENDOR_ID.to_be_bytes()
            && nested[8..10] == NXAST_NAT.to_be_bytes();
        if is_nat {
            if len < 16 || len % 8 != 0 || len > nested.len() {
                return Err(DecodeError::BadLength {
                    what: "nat action",
                    len,
                });
            }
            nat = Some(decode_nat(&nested[..len])?);
            nested = &nested[len..];
        }
    }
    Ok(Ct {
        commit: flags & NX_CT_F_COMMIT != 0,
        force: flags & NX_CT_F_FORCE != 0,
        table: (table != 0xff).then_some(table),
        zone,
        alg,
        nat,
        exec: decode_nested(nested, depth + 1)?,
    })
}

fn decode_nat(b: &[u8]) -> Result<Nat, DecodeError> {
    let mut r = Reader::new(b, "nat action");
    r.skip(10)?;
    r.pad(2)?;
    let flags = r.u16()?;
    let present = r.u16()?;
    if flags & NX_NAT_F_SRC != 0 && flags & NX_NAT_F_DST != 0 {
        return Err(DecodeError::invalid("nat", "both src and dst"));
    }
    let mut nat = Nat {
        kind: if flags & NX_NAT_F_SRC != 0 {
            Some(NatKind::Src)
        } else if flags & NX_NAT_F_DST != 0 {
            Some(NatKind::Dst)
        } else {
            None
        },
        persistent: flags & NX_NAT_F_PERSISTENT != 0,
        hash: flags & NX_NAT_F_PROTO_HASH != 0,
        random: flags & NX_NAT_F_PROTO_RANDOM != 0,
        ..Default::default()
    };
    let v4 = |r: &mut Reader<'_>| -> Result<IpAddr, DecodeError> {
        let b = r.bytes(4)?;
        Ok(IpAddr::from([b[0], b[1], b[2], b[3]]))
    };
    let v6 = |r: &mut Reader<'_>| -> Result<IpAddr, DecodeError> {
        let mut a = [0u8; 16];
        a.copy_from_slice(r.bytes(16)?);
        Ok(IpAddr::from(a))
    };
    if present & 1 != 0 {
        let min = v4(&mut r)?;
        let max = if present & 2 != 0 { Some(v4(&mut r)?) } else { None };
        nat.addr = Some((min, max));
    } else if present & 4 != 0 {
        let min = v6(&mut r)?;
        let max = if present & 8 != 0 { Some(v6(&mut r)?) } else { None };
        nat.addr = Some((min, max));
    } else if present & 0b1010 != 0 {
        return Err(DecodeError::invalid("nat", "max address without min"));
    }
    if present & 16 != 0 {
        if nat.addr.is_none() {
            return Err(DecodeError::invalid("nat", "port range without address"));
        }
        let min = r.u16()?;
        let max = if present & 32 != 0 { Some(r.u16()?) } else { None };
        nat.ports = Some((min, max));
    } else if present & 32 != 0 {
        return Err(DecodeError::invalid("nat", "max port without min"));
    }
    Ok(nat)
}

// ---------------------------------------------------------------------------
// Text

/// Writes an action list in ovs-ofctl syntax (`drop` when empty).
pub fn write_actions(f: &mut fmt::Formatter<'_>, actions: &[Action]) -> fmt::Result {
    if actions.is_empty() {
        return f.write_str("drop");
    }
    write_list(f, actions)
}

fn write_list(f: &mut fmt::Formatter<'_>, actions: &[Action]) -> fmt::Result {
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{a}")?;
    }
    Ok(())
}

/// Formats an action list as ovs-ofctl would (`drop` when empty).
pub fn actions_to_string(actions: &[Action]) -> String {
    struct A<'a>(&'a [Action]);
    impl fmt::Display for A<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_actions(f, self.0)
        }
    }
    A(actions).to_string()
}

fn write_ip_port(f: &mut fmt::Formatter<'_>, ip: IpAddr, bracket: bool) -> fmt::Result {
    match ip {
        IpAddr::V6(a) if bracket => write!(f, "[{a}]"),
        ip => write!(f, "{ip}"),
    }
}

impl fmt::Display for Nat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nat")?;
        let Some(kind) = self.kind else { return Ok(()) };
        f.write_str(if kind == NatKind::Src { "(src" } else { "(dst" })?;
        if let Some((min, max)) = self.addr {
            f.write_str("=")?;
            let br = self.ports.is_some();
            write_ip_port(f, min, br)?;
            if let Some(max) = max.filter(|m| *m != min) {
                f.write_str("-")?;
                write_ip_port(f, max, br)?;
            }
            if let Some((pmin, pmax)) = self.ports {
                write!(f, ":{pmin}")?;
                if let Some(pmax) = pmax.filter(|m| *m != pmin) {
                    write!(f, "-{pmax}")?;
                }
            }
            if self.persistent {
                f.write_str(",persistent")?;
            }
            if self.hash {
                f.write_str(",hash")?;
            }
            if self.random {
                f.write_str(",random")?;
            }
        }
        f.write_str(")")
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Output { port: p, max_len } => {
                if *p == port::CONTROLLER {
                    write!(f, "CONTROLLER:{max_len}")
                } else if *p > port::MAX {
                    text::write_port(f, *p)
                } else {
                    write!(f, "output:{p}")
                }
            }
            Action::Resubmit { in_port, table } => {
                if let (None, Some(p)) = (table, in_port) {
                    f.write_str("resubmit:")?;
                    return text::write_port(f, *p);
                }
                f.write_str("resubmit(")?;
                if let Some(p) = in_port {
                    text::write_port(f, *p)?;
                }
                f.write_str(",")?;
                if let Some(t) = table {
                    write!(f, "{t}")?;
                }
                f.write_str(")")
            }
            Action::SetField { field, value, mask } => {
                f.write_str("set_field:")?;
                text::write_value(f, *field, *value, *mask)?;
                write!(f, "->{}", field.name())
            }
            Action::Move { src, dst } => write!(f, "move:{src}->{dst}"),
            Action::Push(sf) => write!(f, "push:{sf}"),
            Action::Pop(sf) => write!(f, "pop:{sf}"),
            Action::DecTtl => f.write_str("dec_ttl"),
            Action::PushVlan(t) => write!(f, "push_vlan:{t:#06x}"),
            Action::PopVlan => f.write_str("pop_vlan"),
            Action::CtClear => f.write_str("ct_clear"),
            Action::Group(g) => write!(f, "group:{g}"),
            Action::GotoTable(t) => write!(f, "goto_table:{t}"),
            Action::CheckPktLarger { pkt_len, dst } => write!(f, "check_pkt_larger({pkt_len})->{dst}"),
            Action::SetQueue(q) => write!(f, "set_queue:{q}"),
            Action::Meter(m) => write!(f, "meter:{m}"),
            Action::Learn(l) => write!(f, "{l}"),
            Action::Sample(sm) => write!(
                f,
                "sample(probability={},collector_set_id={},obs_domain_id={},obs_point_id={})",
                sm.probability, sm.collector_set_id, sm.obs_domain_id, sm.obs_point_id
            ),
            Action::Conjunction {
                id,
                clause,
                n_clauses,
            } => {
                write!(f, "conjunction({id},{}/{n_clauses})", u16::from(*clause) + 1)
            }
            Action::Clone(inner) => {
                f.write_str("clone(")?;
                write_list(f, inner)?;
                f.write_str(")")
            }
            Action::Note(b) => {
                f.write_str("note:")?;
                text::write_hex_dotted(f, b)
            }
            Action::Controller(c) => {
                if c.reason == OFPR_ACTION
                    && c.controller_id == 0
                    && c.userdata.is_empty()
                    && !c.pause
                    && c.meter_id.is_none()
                {
                    // ovs-ofctl would print `CONTROLLER:N` and parse that back as an
                    // output action; this keeps the controller action distinct.
                    return write!(f, "controller(max_len={})", c.max_len);
                }
                let mut parts: Vec<String> = Vec::new();
                if c.reason != OFPR_ACTION {
                    parts.push(format!("reason={}", reason_name(c.reason)));
                }
                if c.max_len != u16::MAX {
                    parts.push(format!("max_len={}", c.max_len));
                }
                if c.controller_id != 0 {
                    parts.push(format!("id={}", c.controller_id));
                }
                if !c.userdata.is_empty() {
                    let mut s = String::from("userdata=");
                    text::write_hex_dotted(&mut s, &c.userdata)?;
                    parts.push(s);
                }
                if c.pause {
                    parts.push("pause".into());
                }
                if let Some(m) = c.meter_id {
                    parts.push(format!("meter_id={m}"));
                }
                write!(f, "controller({})", parts.join(","))
            }
            Action::Ct(ct) => {
                let mut parts: Vec<String> = Vec::new();
                if ct.commit {
                    parts.push("commit".into());
                }
                if ct.force {
                    parts.push("force".into());
                }
                if let Some(t) = ct.table {
                    parts.push(format!("table={t}"));
                }
                match ct.zone {
                    CtZone::Field(sf) => parts.push(format!("zone={sf}")),
                    CtZone::Imm(0) => {}
                    CtZone::Imm(z) => parts.push(format!("zone={z}")),
                }
                if let Some(nat) = &ct.nat {
                    parts.push(nat.to_string());
                }
                if !ct.exec.is_empty() {
                    parts.push(format!("exec({})", ActionList(&ct.exec)));
                }
                match ct.alg {
                    0 => {}
                    21 => parts.push("alg=ftp".into()),
                    69 => parts.push("alg=tftp".into()),
                    a => parts.push(format!("alg={a}")),
                }
                write!(f, "ct({})", parts.join(","))
            }
        }
    }
}

/// Comma-separated list without the `drop` special case.
struct ActionList<'a>(&'a [Action]);

impl fmt::Display for ActionList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, self.0)
    }
}

const REASONS: &[(&str, u8)] = &[
    ("no_match", 0),
    ("action", 1),
    ("invalid_ttl", 2),
    ("action_set", 3),
    ("group", 4),
    ("packet_out", 5),
];

fn reason_name(r: u8) -> String {
    REASONS
        .iter()
        .find(|(_, v)| *v == r)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| r.to_string())
}

/// Parses an ovs-ofctl action list (`drop` or empty = no actions).
pub fn parse_actions(s: &str) -> Result<Vec<Action>, ParseError> {
    let s = s.trim();
    if s.is_empty() || s == "drop" {
        return Ok(Vec::new());
    }
    split_top(s, ',')
        .into_iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(Action::from_str)
        .collect()
}

fn parse_ip(s: &str) -> Result<IpAddr, ParseError> {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    s.parse()
        .map_err(|_| ParseError::new(format!("bad IP address `{s}`")))
}

fn parse_nat(s: &str) -> Result<Nat, ParseError> {
    let mut nat = Nat::default();
    let Some(inner) = s.strip_prefix("nat") else {
        return Err(ParseError::new(format!("bad nat `{s}`")));
    };
    let inner = inner.trim();
    if inner.is_empty() {
        return Ok(nat);
    }
    let inner = inner
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| ParseError::new(format!("bad nat `{s}`")))?;
    for tok in split_top(inner, ',') {
        let tok = tok.trim();
        let (k, v) = match tok.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (tok, None),
        };
        match k {
            "src" | "dst" => {
                nat.kind = Some(if k == "src" { NatKind::Src } else { NatKind::Dst });
                let Some(v) = v else { continue };
                // ADDR[-ADDR][:PORT[-PORT]], IPv6 in brackets when a port follows.
                let (addrs, ports) = if v.starts_with('[') {
                    match v.rfind(']') {
                        Some(i) if v[i + 1..].starts_with(':') => (&v[..=i], Some(&v[i + 2..])),
                        _ => (v, None),
                    }
                } else if v.matches(':').count() == 1 {
                    let (a, p) = v.split_once(':').unwrap_or((v, ""));
                    (a, Some(p))
                } else {
                    (v, None)
                };
                let (amin, amax) = if addrs.contains("]-[") {
                    let (a, b) = addrs.split_once("]-[").unwrap_or((addrs, ""));
                    (a, Some(b))
                } else if addrs.contains(':') && !addrs.starts_with('[') {
                    // Bare IPv6 range `a-b`.
                    match addrs.split_once('-') {
                        Some((a, b)) => (a, Some(b)),
                        None => (addrs, None),
                    }
                } else {
                    match addrs.split_once('-') {
                        Some((a, b)) => (a, Some(b)),
                        None => (addrs, None),
                    }
                };
                let min = parse_ip(amin)?;
                let max = amax.map(parse_ip).transpose()?;
                nat.addr = Some((min, max));
                if let Some(p) = ports {
                    let (pmin, pmax) = match p.split_once('-') {
                        Some((a, b)) => (parse_num(a)?, Some(parse_num(b)?)),
                        None => (parse_num(p)?, None),
                    };
                    nat.ports = Some((pmin, pmax));
                }
            }
            "persistent" => nat.persistent = true,
            "hash" => nat.hash = true,
            "random" => nat.random = true,
            _ => return Err(ParseError::new(format!("unknown nat option `{tok}`"))),
        }
    }
    Ok(nat)
}

fn parse_ct(args: &str) -> Result<Ct, ParseError> {
    let mut ct = Ct::default();
    for tok in split_top(args, ',') {
        let tok = tok.trim();
        if tok.is_empty() {
            continue;
        }
        if tok.starts_with("nat") {
            ct.nat = Some(parse_nat(tok)?);
            continue;
        }
        if let Some(inner) = tok.strip_prefix("exec(").and_then(|x| x.strip_suffix(')')) {
            ct.exec = parse_actions(inner)?;
            continue;
        }
        match tok.split_once('=') {
            None if tok == "commit" => ct.commit = true,
            None if tok == "force" => ct.force = true,
            Some(("table", v)) => ct.table = Some(parse_num(v)?),
            Some(("zone", v)) => {
                ct.zone = if v.contains('[') {
                    CtZone::Field(text::parse_subfield(v)?)
                } else {
                    CtZone::Imm(parse_num(v)?)
                }
            }
            Some(("alg", "ftp")) => ct.alg = 21,
            Some(("alg", "tftp")) => ct.alg = 69,
            Some(("alg", v)) => ct.alg = parse_num(v)?,
            _ => return Err(ParseError::new(format!("unknown ct option `{tok}`"))),
        }
    }
    Ok(ct)
}

fn parse_sample(args: &str) -> Result<Action, ParseError> {
    let mut sm = Sample::default();
    for tok in split_top(args, ',') {
        let tok = tok.trim();
        match tok.split_once('=') {
            None if tok.is_empty() => {}
            Some(("probability", v)) => sm.probability = parse_num(v)?,
            Some(("collector_set_id", v)) => sm.collector_set_id = parse_num(v)?,
            Some(("obs_domain_id", v)) => sm.obs_domain_id = parse_num(v)?,
            Some(("obs_point_id", v)) => sm.obs_point_id = parse_num(v)?,
            _ => return Err(ParseError::new(format!("unknown sample option `{tok}`"))),
        }
    }
    if sm.probability == 0 {
        return Err(ParseError::new("sample probability must be at least 1"));
    }
    Ok(Action::Sample(sm))
}

fn parse_controller(args: &str) -> Result<Action, ParseError> {
    let mut c = Controller::default();
    let args = args.trim();
    if !args.is_empty() && args.bytes().all(|b| b.is_ascii_digit()) {
        c.max_len = parse_num(args)?;
    } else {
        for tok in split_top(args, ',') {
            let tok = tok.trim();
            match tok.split_once('=') {
                None if tok.is_empty() => {}
                None if tok == "pause" => c.pause = true,
                Some(("max_len", v)) => c.max_len = parse_num(v)?,
                Some(("id", v)) => c.controller_id = parse_num(v)?,
                Some(("userdata", v)) => c.userdata = text::parse_hex_dotted(v)?,
                Some(("meter_id", v)) => c.meter_id = Some(parse_num(v)?),
                Some(("reason", v)) => {
                    c.reason = REASONS
                        .iter()
                        .find(|(n, _)| *n == v)
                        .map(|&(_, r)| r)
                        .ok_or_else(|| ParseError::new(format!("unknown reason `{v}`")))?
                }
                _ => return Err(ParseError::new(format!("unknown controller option `{tok}`"))),
            }
        }
    }
    Ok(Action::Controller(c))
}

/// Parses one action in ovs-ofctl syntax.
impl FromStr for Action {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Action, ParseError> {
        let s = s.trim();
        if let Some(p) = port::NAMES.iter().find(|(n, _)| *n == s) {
            return Ok(Action::output(p.1));
        }
        if let Some(rest) = s.strip_prefix("check_pkt_larger(") {
            let (len, dst) = rest
                .split_once(")->")
                .ok_or_else(|| ParseError::new(format!("bad check_pkt_larger `{s}`")))?;
            let dst = text::parse_subfield(dst)?;
            if dst.n_bits != 1 {
                return Err(ParseError::new(format!(
                    "check_pkt_larger needs a 1-bit destination: `{s}`"
                )));
            }
            return Ok(Action::CheckPktLarger {
                pkt_len: parse_num(len)?,
                dst,
            });
        }
        if let Some((name, rest)) = s.split_once('(').filter(|(n, _)| !n.contains(':')) {
            {
                let args = rest
                    .strip_suffix(')')
                    .ok_or_else(|| ParseError::new(format!("unbalanced parentheses in `{s}`")))?;
                return match name.trim() {
                    "resubmit" => {
                        let (p, t) = args.split_once(',').unwrap_or((args, ""));
                        Ok(Action::Resubmit {
                            in_port: if p.trim().is_empty() {
                                None
                            } else {
                                Some(text::parse_port(p)?)
                            },
                            table: if t.trim().is_empty() {
                                None
                            } else {
                                Some(parse_num(t)?)
                            },
                        })
                    }
                    "ct" => Ok(Action::Ct(parse_ct(args)?)),
                    "clone" => Ok(Action::Clone(parse_actions(args)?)),
                    "controller" => parse_controller(args),
                    "conjunction" => {
                        let (id, cl) = args
                            .split_once(',')
                            .ok_or_else(|| ParseError::new(format!("bad conjunction `{s}`")))?;
                        let (k, n) = cl
                            .split_once('/')
                            .ok_or_else(|| ParseError::new(format!("bad conjunction `{s}`")))?;
                        let k: u8 = parse_num(k)?;
                        if k == 0 {
                            return Err(ParseError::new("conjunction clause is 1-based"));
                        }
                        Ok(Action::Conjunction {
                            id: parse_num(id)?,
                            clause: k - 1,
                            n_clauses: parse_num(n)?,
                        })
                    }
                    "dec_ttl" => Ok(Action::DecTtl),
                    "learn" => Ok(Action::Learn(learn::parse(args)?)),
                    "sample" => parse_sample(args),
                    _ => Err(ParseError::new(format!("unknown action `{s}`"))),
                };
            }
        }
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (s, None),
        };
        let need = || arg.ok_or_else(|| ParseError::new(format!("`{name}` needs an argument")));
        match name {
            "dec_ttl" => Ok(Action::DecTtl),
            "pop_vlan" | "strip_vlan" => Ok(Action::PopVlan),
            "push_vlan" => Ok(Action::PushVlan(parse_num(need()?)?)),
            "ct_clear" => Ok(Action::CtClear),
            "drop" => Err(ParseError::new("`drop` must be the only action")),
            "output" => Ok(Action::output(text::parse_port(need()?)?)),
            "CONTROLLER" | "controller" => match arg {
                Some(a) => Ok(Action::Output {
                    port: port::CONTROLLER,
                    max_len: parse_num(a)?,
                }),
                None => Ok(Action::Output {
                    port: port::CONTROLLER,
                    max_len: u16::MAX,
                }),
            },
            "resubmit" => Ok(Action::Resubmit {
                in_port: Some(text::parse_port(need()?)?),
                table: None,
            }),
            "group" => Ok(Action::Group(parse_num(need()?)?)),
            "set_queue" => Ok(Action::SetQueue(parse_num(need()?)?)),
            "meter" => Ok(Action::Meter(parse_num(need()?)?)),
            "goto_table" => Ok(Action::GotoTable(parse_num(need()?)?)),
            "note" => Ok(Action::Note(text::parse_hex_dotted(need()?)?)),
            "push" => Ok(Action::Push(text::parse_subfield(need()?)?)),
            "pop" => Ok(Action::Pop(text::parse_subfield(need()?)?)),
            "move" => {
                let (a, b) = need()?
                    .split_once("->")
                    .ok_or_else(|| ParseError::new(format!("bad move `{s}`")))?;
                let (src, dst) = (text::parse_subfield(a)?, text::parse_subfield(b)?);
                if src.n_bits != dst.n_bits {
                    return Err(ParseError::new(format!("move widths differ in `{s}`")));
                }
                Ok(Action::Move { src, dst })
            }
            "load" => {
                let (v, d) = need()?
                    .split_once("->")
                    .ok_or_else(|| ParseError::new(format!("bad load `{s}`")))?;
                let dst = text::parse_subfield(d)?;
                Ok(Action::load(dst, text::parse_int(v)?))
            }
            "set_field" => {
                let (v, d) = need()?
                    .rsplit_once("->")
                    .ok_or_else(|| ParseError::new(format!("bad set_field `{s}`")))?;
                let field = Field::from_name(d.trim())
                    .ok_or_else(|| ParseError::new(format!("unknown field `{d}`")))?;
                let (value, mask) = text::parse_value(field, v)?;
                let mask = (mask != field.full_mask()).then_some(mask);
                Ok(Action::SetField { field, value, mask })
            }
            _ => Err(ParseError::new(format!("unknown action `{s}`"))),
        }
    }
}
