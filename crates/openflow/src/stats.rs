//! Multipart (stats) requests and replies for reading back installed flows
//! (OFPMP_FLOW) and groups (OFPMP_GROUP_DESC).

use std::fmt;
use std::str::FromStr;

use crate::actions::Action;
use crate::error::{DecodeError, EncodeError, ParseError};
use crate::field::port;
use crate::flow_mod::{self, GROUP_ANY, TABLE_ALL};
use crate::group_mod::{self, Bucket, GroupType, SelectionMethod};
use crate::matches::Match;
use crate::oxm;
use crate::wire::{Reader, pad_to, patch_len, put_u16, put_u32, put_u64};

pub(crate) const OFPMP_FLOW: u16 = 1;
pub(crate) const OFPMP_GROUP_DESC: u16 = 7;
/// OFPMPF_REQ_MORE / OFPMPF_REPLY_MORE.
pub(crate) const MORE: u16 = 1;

/// OFPMP_FLOW request: which flows to report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowStatsRequest {
    /// [`TABLE_ALL`] for every table.
    pub table_id: u8,
    pub out_port: u32,
    pub out_group: u32,
    pub cookie: u64,
    pub cookie_mask: u64,
    /// Non-strict match: reports flows at least as specific.
    pub match_: Match,
}

impl Default for FlowStatsRequest {
    /// Every flow in every table.
    fn default() -> Self {
        FlowStatsRequest {
            table_id: TABLE_ALL,
            out_port: port::ANY,
            out_group: GROUP_ANY,
            cookie: 0,
            cookie_mask: 0,
            match_: Match::new(),
        }
    }
}

impl FlowStatsRequest {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.match_.check()?;
        out.push(self.table_id);
        out.extend_from_slice(&[0; 3]);
        put_u32(out, self.out_port);
        put_u32(out, self.out_group);
        put_u32(out, 0);
        put_u64(out, self.cookie);
        put_u64(out, self.cookie_mask);
        oxm::put_ofp_match(out, &self.match_)
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<FlowStatsRequest, DecodeError> {
        let table_id = r.u8()?;
        r.pad(3)?;
        let out_port = r.u32()?;
        let out_group = r.u32()?;
        r.pad(4)?;
        let cookie = r.u64()?;
        let cookie_mask = r.u64()?;
        let match_ = oxm::pull_ofp_match(r)?;
        Ok(FlowStatsRequest {
            table_id,
            out_port,
            out_group,
            cookie,
            cookie_mask,
            match_,
        })
    }
}

/// One flow as reported by the switch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowStats {
    pub table_id: u8,
    pub priority: u16,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub flags: u16,
    pub importance: u16,
    pub cookie: u64,
    pub match_: Match,
    pub actions: Vec<Action>,
    pub duration_sec: Option<u32>,
    pub duration_nsec: Option<u32>,
    pub idle_age: Option<u32>,
    pub packet_count: Option<u64>,
    pub byte_count: Option<u64>,
}

impl FlowStats {
    /// A flow with no statistics attached.
    pub fn new(table_id: u8, priority: u16, match_: Match, actions: Vec<Action>) -> FlowStats {
        FlowStats {
            table_id,
            priority,
            idle_timeout: 0,
            hard_timeout: 0,
            flags: 0,
            importance: 0,
            cookie: 0,
            match_,
            actions,
            duration_sec: None,
            duration_nsec: None,
            idle_age: None,
            packet_count: None,
            byte_count: None,
        }
    }
}

// OXS (OpenFlow 1.5 flow statistics) field codes in class 0x8002.
const OXS_CLASS: u16 = 0x8002;
const OXS_DURATION: u8 = 0;
const OXS_IDLE_TIME: u8 = 1;
const OXS_FLOW_COUNT: u8 = 3;
const OXS_PACKET_COUNT: u8 = 4;
const OXS_BYTE_COUNT: u8 = 5;

fn put_oxs(out: &mut Vec<u8>, code: u8, v: u64) {
    put_u32(out, (u32::from(OXS_CLASS) << 16) | (u32::from(code) << 9) | 8);
    put_u64(out, v);
}

fn encode_flow_stats(fs: &FlowStats, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    fs.match_.check()?;
    let start = out.len();
    put_u16(out, 0);
    put_u16(out, 0);
    out.push(fs.table_id);
    out.push(0);
    put_u16(out, fs.priority);
    put_u16(out, fs.idle_timeout);
    put_u16(out, fs.hard_timeout);
    put_u16(out, fs.flags);
    put_u16(out, fs.importance);
    put_u64(out, fs.cookie);
    oxm::put_ofp_match(out, &fs.match_)?;
    let ostart = out.len();
    put_u16(out, 0);
    put_u16(out, 0);
    if let (Some(s), Some(ns)) = (fs.duration_sec, fs.duration_nsec) {
        put_oxs(out, OXS_DURATION, (u64::from(s) << 32) | u64::from(ns));
    }
    if let Some(i) = fs.idle_age {
        put_oxs(out, OXS_IDLE_TIME, u64::from(i) << 32);
    }
    if let Some(p) = fs.packet_count {
        put_oxs(out, OXS_PACKET_COUNT, p);
    }
    if let Some(b) = fs.byte_count {
        put_oxs(out, OXS_BYTE_COUNT, b);
    }
    let olen = out.len() - ostart;
    patch_len(out, ostart + 2, olen, "OXS stats")?;
    pad_to(out, ostart, 8);
    flow_mod::encode_instructions(&fs.actions, out)?;
    let len = out.len() - start;
    patch_len(out, start, len, "flow stats entry")
}

fn decode_flow_stats(r: &mut Reader<'_>) -> Result<FlowStats, DecodeError> {
    let len = usize::from(r.u16()?);
    if len < 24 {
        return Err(DecodeError::BadLength {
            what: "flow stats entry",
            len,
        });
    }
    let mut e = r.sub(len - 2, "flow stats entry")?;
    e.pad(2)?;
    let table_id = e.u8()?;
    e.pad(1)?;
    let priority = e.u16()?;
    let idle_timeout = e.u16()?;
    let hard_timeout = e.u16()?;
    let flags = e.u16()?;
    let importance = e.u16()?;
    let cookie = e.u64()?;
    let match_ = oxm::pull_ofp_match(&mut e)?;
    let mut fs = FlowStats {
        flags,
        importance,
        cookie,
        idle_timeout,
        hard_timeout,
        ..FlowStats::new(table_id, priority, match_, Vec::new())
    };
    e.pad(2)?;
    let olen = usize::from(e.u16()?);
    if olen < 4 {
        return Err(DecodeError::BadLength {
            what: "OXS stats",
            len: olen,
        });
    }
    let mut ox = e.sub(olen - 4, "OXS stats")?;
    e.pad(crate::wire::round8(olen) - olen)?;
    while !ox.is_empty() {
        let h = ox.u32()?;
        let class = (h >> 16) as u16;
        let code = ((h >> 9) & 0x7f) as u8;
        let vlen = (h & 0xff) as usize;
        let v = ox.bytes(vlen)?;
        if class != OXS_CLASS {
            continue;
        }
        let val = crate::wire::be_to_u128(v) as u64;
        match (code, vlen) {
            (OXS_DURATION, 8) => {
                fs.duration_sec = Some((val >> 32) as u32);
                fs.duration_nsec = Some(val as u32);
            }
            (OXS_IDLE_TIME, 8) => fs.idle_age = Some((val >> 32) as u32),
            (OXS_PACKET_COUNT, 8) => fs.packet_count = Some(val),
            (OXS_BYTE_COUNT, 8) => fs.byte_count = Some(val),
            (OXS_FLOW_COUNT, 4) => {}
            _ => {}
        }
    }
    fs.actions = flow_mod::decode_instructions(e.rest())?;
    Ok(fs)
}

/// Prints like `ovs-ofctl --no-stats dump-flows` (without the spaces):
/// `cookie=0x5,table=8,priority=100,metadata=0x1 actions=resubmit(,9)`.
impl fmt::Display for FlowStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        flow_mod::write_flow(
            f,
            &flow_mod::FlowLine {
                cookie: self.cookie,
                table_id: self.table_id,
                priority: self.priority,
                idle_timeout: self.idle_timeout,
                hard_timeout: self.hard_timeout,
                match_: &self.match_,
                actions: &self.actions,
            },
        )
    }
}

/// Parses a flow line, including real `ovs-ofctl dump-flows` output (the
/// counters it prints are ignored).
impl FromStr for FlowStats {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<FlowStats, ParseError> {
        let ft = flow_mod::parse_flow(s)?;
        Ok(FlowStats {
            cookie: ft.cookie,
            idle_timeout: ft.idle_timeout,
            hard_timeout: ft.hard_timeout,
            ..FlowStats::new(ft.table_id, ft.priority, ft.match_, ft.actions)
        })
    }
}

/// OFPMP_FLOW reply (one part of a possibly multi-part answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FlowStatsReply {
    /// More parts follow (OFPMPF_REPLY_MORE).
    pub more: bool,
    pub flows: Vec<FlowStats>,
}

impl FlowStatsReply {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for fs in &self.flows {
            encode_flow_stats(fs, out)?;
        }
        Ok(())
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>, more: bool) -> Result<Self, DecodeError> {
        let mut flows = Vec::new();
        while !r.is_empty() {
            flows.push(decode_flow_stats(r)?);
        }
        Ok(FlowStatsReply { more, flows })
    }
}

/// One group as reported by OFPMP_GROUP_DESC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupDesc {
    pub group_type: GroupType,
    pub group_id: u32,
    pub buckets: Vec<Bucket>,
    pub selection_method: Option<SelectionMethod>,
}

/// Prints like `ovs-ofctl dump-groups`.
impl fmt::Display for GroupDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        group_mod::write_group(
            f,
            self.group_id,
            self.group_type,
            self.selection_method.as_ref(),
            &self.buckets,
        )
    }
}

/// Parses `ovs-ofctl dump-groups` lines.
impl FromStr for GroupDesc {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<GroupDesc, ParseError> {
        let gm: group_mod::GroupMod = s.parse()?;
        Ok(GroupDesc {
            group_type: gm.group_type,
            group_id: gm.group_id,
            buckets: gm.buckets,
            selection_method: gm.selection_method,
        })
    }
}

/// OFPMP_GROUP_DESC reply part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GroupDescReply {
    pub more: bool,
    pub groups: Vec<GroupDesc>,
}

impl GroupDescReply {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for g in &self.groups {
            let start = out.len();
            put_u16(out, 0);
            out.push(g.group_type.code());
            out.push(0);
            put_u32(out, g.group_id);
            let blen_at = out.len();
            put_u16(out, 0);
            out.extend_from_slice(&[0; 6]);
            let bstart = out.len();
            group_mod::encode_buckets(&g.buckets, out)?;
            let blen = out.len() - bstart;
            patch_len(out, blen_at, blen, "bucket list")?;
            if let Some(sm) = &g.selection_method {
                group_mod::encode_selection_method(sm, out)?;
            }
            let len = out.len() - start;
            patch_len(out, start, len, "group desc entry")?;
        }
        Ok(())
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>, more: bool) -> Result<Self, DecodeError> {
        let mut groups = Vec::new();
        while !r.is_empty() {
            let len = usize::from(r.u16()?);
            if len < 16 {
                return Err(DecodeError::BadLength {
                    what: "group desc entry",
                    len,
                });
            }
            let mut e = r.sub(len - 2, "group desc entry")?;
            let group_type = group_mod::decode_type(e.u8()?)?;
            e.pad(1)?;
            let group_id = e.u32()?;
            let blen = usize::from(e.u16()?);
            e.pad(6)?;
            let buckets = group_mod::decode_buckets(e.sub(blen, "bucket list")?)?;
            let selection_method = group_mod::decode_group_props(&mut e)?;
            groups.push(GroupDesc {
                group_type,
                group_id,
                buckets,
                selection_method,
            });
        }
        Ok(GroupDescReply { more, groups })
    }
}
