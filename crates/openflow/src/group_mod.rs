//! OFPT_GROUP_MOD (OpenFlow 1.5 buckets with properties, plus the Netronome
//! selection-method property OVS uses for `selection_method=dp_hash|hash`).

use std::fmt;
use std::str::FromStr;

use crate::actions::{self, Action, pull_props};
use crate::error::{DecodeError, EncodeError, ParseError};
use crate::field::Field;
use crate::oxm;
use crate::text::{parse_num, split_top};
use crate::wire::{Reader, pad_to, patch_len, put_u16, put_u32, put_u64};

/// OFPG_ALL: every group (for delete).
pub const GROUP_ALL: u32 = 0xffff_fffc;
/// OFPG15_BUCKET_ALL.
pub const BUCKET_ALL: u32 = 0xffff_ffff;

const OFPGBPT15_WEIGHT: u16 = 0;
const OFPGBPT15_WATCH_PORT: u16 = 1;
const OFPGBPT15_WATCH_GROUP: u16 = 2;
const OFPGPT15_EXPERIMENTER: u16 = 0xffff;
const NTR_VENDOR_ID: u32 = 0x0000_154d;
const NTRT_SELECTION_METHOD: u32 = 1;

/// Group mod command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupModCommand {
    Add,
    Modify,
    Delete,
    /// OVS extension: add, or modify if the group exists.
    AddOrModify,
}

/// Group type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupType {
    All,
    Select,
    Indirect,
    FastFailover,
}

impl GroupType {
    pub(crate) fn code(self) -> u8 {
        match self {
            GroupType::All => 0,
            GroupType::Select => 1,
            GroupType::Indirect => 2,
            GroupType::FastFailover => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            GroupType::All => "all",
            GroupType::Select => "select",
            GroupType::Indirect => "indirect",
            GroupType::FastFailover => "ff",
        }
    }

    fn from_name(s: &str) -> Option<GroupType> {
        Some(match s {
            "all" => GroupType::All,
            "select" => GroupType::Select,
            "indirect" => GroupType::Indirect,
            "ff" | "fast_failover" => GroupType::FastFailover,
            _ => return None,
        })
    }
}

/// One bucket of a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub bucket_id: u32,
    /// Select groups: relative weight (OVS reports one for every select bucket).
    pub weight: Option<u16>,
    pub watch_port: Option<u32>,
    pub watch_group: Option<u32>,
    pub actions: Vec<Action>,
}

impl Bucket {
    /// A bucket with the given id and actions and no properties.
    pub fn new(bucket_id: u32, actions: Vec<Action>) -> Bucket {
        Bucket {
            bucket_id,
            weight: None,
            watch_port: None,
            watch_group: None,
            actions,
        }
    }
}

/// Select-group selection method (`selection_method=dp_hash` or `hash` with
/// `fields(...)`). Fields are hashed whole (all-ones masks).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SelectionMethod {
    /// `dp_hash` or `hash` (at most 15 bytes).
    pub method: String,
    pub param: u64,
    pub fields: Vec<Field>,
}

/// An OpenFlow 1.5 group mod.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupMod {
    pub command: GroupModCommand,
    pub group_type: GroupType,
    pub group_id: u32,
    /// OpenFlow 1.5 command bucket id; [`BUCKET_ALL`] for add/modify/delete.
    pub command_bucket_id: u32,
    pub buckets: Vec<Bucket>,
    pub selection_method: Option<SelectionMethod>,
}

impl GroupMod {
    /// Add a group.
    pub fn add(group_id: u32, group_type: GroupType, buckets: Vec<Bucket>) -> GroupMod {
        GroupMod {
            command: GroupModCommand::Add,
            group_type,
            group_id,
            command_bucket_id: BUCKET_ALL,
            buckets,
            selection_method: None,
        }
    }

    /// Delete a group ([`GROUP_ALL`] = all groups).
    pub fn delete(group_id: u32) -> GroupMod {
        GroupMod {
            command: GroupModCommand::Delete,
            ..GroupMod::add(group_id, GroupType::All, Vec::new())
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u16(
            out,
            match self.command {
                GroupModCommand::Add => 0,
                GroupModCommand::Modify => 1,
                GroupModCommand::Delete => 2,
                GroupModCommand::AddOrModify => 0x8000,
            },
        );
        out.push(self.group_type.code());
        out.push(0);
        put_u32(out, self.group_id);
        let blen_at = out.len();
        put_u16(out, 0);
        put_u16(out, 0);
        put_u32(out, self.command_bucket_id);
        let bstart = out.len();
        encode_buckets(&self.buckets, out)?;
        let blen = out.len() - bstart;
        patch_len(out, blen_at, blen, "bucket array")?;
        if let Some(sm) = &self.selection_method {
            encode_selection_method(sm, out)?;
        }
        Ok(())
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<GroupMod, DecodeError> {
        let command = match r.u16()? {
            0 => GroupModCommand::Add,
            1 => GroupModCommand::Modify,
            2 => GroupModCommand::Delete,
            0x8000 => GroupModCommand::AddOrModify,
            c => {
                return Err(DecodeError::Unsupported {
                    what: "group mod command",
                    code: c.into(),
                });
            }
        };
        let group_type = decode_type(r.u8()?)?;
        r.pad(1)?;
        let group_id = r.u32()?;
        let blen = usize::from(r.u16()?);
        r.pad(2)?;
        let command_bucket_id = r.u32()?;
        let buckets = decode_buckets(r.sub(blen, "bucket array")?)?;
        let selection_method = decode_group_props(r)?;
        Ok(GroupMod {
            command,
            group_type,
            group_id,
            command_bucket_id,
            buckets,
            selection_method,
        })
    }
}

pub(crate) fn decode_type(t: u8) -> Result<GroupType, DecodeError> {
    Ok(match t {
        0 => GroupType::All,
        1 => GroupType::Select,
        2 => GroupType::Indirect,
        3 => GroupType::FastFailover,
        t => {
            return Err(DecodeError::Unsupported {
                what: "group type",
                code: t.into(),
            });
        }
    })
}

fn put_prop(out: &mut Vec<u8>, typ: u16, payload: &[u8]) {
    put_u16(out, typ);
    put_u16(out, (4 + payload.len()) as u16);
    out.extend_from_slice(payload);
    let start = out.len() - 4 - payload.len();
    pad_to(out, start, 8);
}

pub(crate) fn encode_buckets(buckets: &[Bucket], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    for b in buckets {
        let start = out.len();
        put_u16(out, 0);
        put_u16(out, 0);
        put_u32(out, b.bucket_id);
        let astart = out.len();
        actions::encode_actions(&b.actions, out)?;
        let alen = out.len() - astart;
        patch_len(out, start + 2, alen, "bucket actions")?;
        if let Some(w) = b.weight {
            put_prop(out, OFPGBPT15_WEIGHT, &w.to_be_bytes());
        }
        if let Some(p) = b.watch_port {
            put_prop(out, OFPGBPT15_WATCH_PORT, &p.to_be_bytes());
        }
        if let Some(g) = b.watch_group {
            put_prop(out, OFPGBPT15_WATCH_GROUP, &g.to_be_bytes());
        }
        let len = out.len() - start;
        patch_len(out, start, len, "bucket")?;
    }
    Ok(())
}

pub(crate) fn decode_buckets(mut r: Reader<'_>) -> Result<Vec<Bucket>, DecodeError> {
    let mut buckets = Vec::new();
    while !r.is_empty() {
        let len = usize::from(r.u16()?);
        let alen = usize::from(r.u16()?);
        let bucket_id = r.u32()?;
        if len < 8 + alen {
            return Err(DecodeError::BadLength { what: "bucket", len });
        }
        let actions = actions::decode_actions(r.bytes(alen)?)?;
        let mut props = r.sub(len - 8 - alen, "bucket properties")?;
        let mut b = Bucket::new(bucket_id, actions);
        for (typ, p) in pull_props(&mut props, "bucket property")? {
            let mut pr = Reader::new(p, "bucket property");
            match typ {
                OFPGBPT15_WEIGHT => b.weight = Some(pr.u16()?),
                OFPGBPT15_WATCH_PORT => b.watch_port = Some(pr.u32()?),
                OFPGBPT15_WATCH_GROUP => b.watch_group = Some(pr.u32()?),
                t => {
                    return Err(DecodeError::Unsupported {
                        what: "bucket property",
                        code: t.into(),
                    });
                }
            }
        }
        buckets.push(b);
    }
    Ok(buckets)
}

pub(crate) fn encode_selection_method(sm: &SelectionMethod, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if sm.method.len() > 15 || sm.method.contains('\0') {
        return Err(EncodeError::invalid(
            "selection_method",
            "name longer than 15 bytes",
        ));
    }
    let start = out.len();
    put_u16(out, OFPGPT15_EXPERIMENTER);
    put_u16(out, 0);
    put_u32(out, NTR_VENDOR_ID);
    put_u32(out, NTRT_SELECTION_METHOD);
    put_u32(out, 0);
    let mut name = [0u8; 16];
    name[..sm.method.len()].copy_from_slice(sm.method.as_bytes());
    out.extend_from_slice(&name);
    put_u64(out, sm.param);
    for f in &sm.fields {
        if !f.is_valid() {
            return Err(EncodeError::invalid(
                "selection_method",
                format!("bad field {f:?}"),
            ));
        }
        oxm::put_entry(out, *f, f.full_mask(), None);
    }
    let len = out.len() - start;
    patch_len(out, start + 2, len, "selection method")?;
    pad_to(out, start, 8);
    Ok(())
}

/// Group properties that follow the bucket array (group mod / group desc).
pub(crate) fn decode_group_props(r: &mut Reader<'_>) -> Result<Option<SelectionMethod>, DecodeError> {
    let mut sm = None;
    for (typ, p) in pull_props(r, "group property")? {
        let mut pr = Reader::new(p, "group property");
        if typ != OFPGPT15_EXPERIMENTER {
            return Err(DecodeError::Unsupported {
                what: "group property",
                code: typ.into(),
            });
        }
        let exp = pr.u32()?;
        let exp_type = pr.u32()?;
        if exp != NTR_VENDOR_ID || exp_type != NTRT_SELECTION_METHOD {
            return Err(DecodeError::Unsupported {
                what: "group experimenter property",
                code: (u64::from(exp) << 32) | u64::from(exp_type),
            });
        }
        pr.pad(4)?;
        let name = pr.bytes(16)?;
        let end = name.iter().position(|&b| b == 0).unwrap_or(16);
        let method = std::str::from_utf8(&name[..end])
            .map_err(|_| DecodeError::invalid("selection_method", "not UTF-8"))?
            .to_string();
        let param = pr.u64()?;
        let mut fields = Vec::new();
        while !pr.is_empty() {
            fields.push(oxm::pull_entry(&mut pr)?.0);
        }
        sm = Some(SelectionMethod {
            method,
            param,
            fields,
        });
    }
    Ok(sm)
}

/// Writes `group_id=..,type=..[,selection_method=..][,fields(..)],bucket=...`
/// as `ovs-ofctl dump-groups` prints it.
pub(crate) fn write_group(
    f: &mut fmt::Formatter<'_>,
    group_id: u32,
    group_type: GroupType,
    sm: Option<&SelectionMethod>,
    buckets: &[Bucket],
) -> fmt::Result {
    write!(f, "group_id={group_id},type={}", group_type.name())?;
    if let Some(sm) = sm {
        write!(f, ",selection_method={}", sm.method)?;
        if sm.param != 0 {
            write!(f, ",selection_method_param={}", sm.param)?;
        }
        if !sm.fields.is_empty() {
            let names: Vec<String> = sm.fields.iter().map(|x| x.name()).collect();
            write!(f, ",fields({})", names.join(","))?;
        }
    }
    for b in buckets {
        write!(f, ",bucket=bucket_id:{}", b.bucket_id)?;
        if let Some(w) = b.weight {
            write!(f, ",weight:{w}")?;
        }
        if let Some(p) = b.watch_port {
            write!(f, ",watch_port:{p}")?;
        }
        if let Some(g) = b.watch_group {
            write!(f, ",watch_group:{g}")?;
        }
        f.write_str(",actions=")?;
        actions::write_actions(f, &b.actions)?;
    }
    Ok(())
}

/// Prints in `ovs-ofctl dump-groups` syntax (the command is not printed).
impl fmt::Display for GroupMod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_group(
            f,
            self.group_id,
            self.group_type,
            self.selection_method.as_ref(),
            &self.buckets,
        )
    }
}

/// Parses `ovs-ofctl add-group` / `dump-groups` syntax into an `Add` group
/// mod. Buckets without `bucket_id:` are numbered from 0 in order.
impl FromStr for GroupMod {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<GroupMod, ParseError> {
        let mut gm = GroupMod::add(0, GroupType::All, Vec::new());
        let mut have_type = false;
        let mut sm: Option<SelectionMethod> = None;
        let mut cur: Option<(Bucket, Vec<&str>)> = None;
        let mut in_actions = false;
        let finish = |cur: &mut Option<(Bucket, Vec<&str>)>, gm: &mut GroupMod| -> Result<(), ParseError> {
            if let Some((mut b, acts)) = cur.take() {
                b.actions = actions::parse_actions(&acts.join(","))?;
                gm.buckets.push(b);
            }
            Ok(())
        };
        for tok in split_top(s.trim(), ',') {
            let tok = tok.trim();
            if tok.is_empty() {
                continue;
            }
            if let Some(rest) = tok.strip_prefix("bucket=") {
                finish(&mut cur, &mut gm)?;
                let id = gm.buckets.len() as u32;
                cur = Some((Bucket::new(id, Vec::new()), Vec::new()));
                in_actions = false;
                // `bucket=actions=...` or `bucket=bucket_id:0`.
                let t = rest.trim();
                if t.is_empty() {
                    continue;
                }
                if let Some(a) = t.strip_prefix("actions=") {
                    in_actions = true;
                    if let Some((_, acts)) = cur.as_mut() {
                        acts.push(a);
                    }
                    continue;
                }
                if let Some((b, _)) = cur.as_mut() {
                    apply_bucket_key(b, t)?;
                }
                continue;
            }
            if let Some((b, acts)) = cur.as_mut() {
                if in_actions {
                    acts.push(tok);
                } else if let Some(a) = tok.strip_prefix("actions=") {
                    in_actions = true;
                    acts.push(a);
                } else {
                    apply_bucket_key(b, tok)?;
                }
                continue;
            }
            if let Some(inner) = tok.strip_prefix("fields(").and_then(|x| x.strip_suffix(')')) {
                let sm = sm.get_or_insert_with(|| SelectionMethod {
                    method: "hash".into(),
                    param: 0,
                    fields: Vec::new(),
                });
                for name in inner.split(',') {
                    let f = Field::from_name(name.trim())
                        .ok_or_else(|| ParseError::new(format!("unknown field `{name}`")))?;
                    sm.fields.push(f);
                }
                continue;
            }
            let (k, v) = tok
                .split_once('=')
                .ok_or_else(|| ParseError::new(format!("bad group token `{tok}`")))?;
            match k {
                "group_id" => gm.group_id = parse_num(v)?,
                "type" => {
                    gm.group_type = GroupType::from_name(v)
                        .ok_or_else(|| ParseError::new(format!("unknown group type `{v}`")))?;
                    have_type = true;
                }
                "selection_method" => {
                    sm.get_or_insert_with(|| SelectionMethod {
                        method: String::new(),
                        param: 0,
                        fields: Vec::new(),
                    })
                    .method = v.to_string();
                }
                "selection_method_param" => {
                    sm.get_or_insert_with(|| SelectionMethod {
                        method: String::new(),
                        param: 0,
                        fields: Vec::new(),
                    })
                    .param = parse_num(v)?;
                }
                _ => return Err(ParseError::new(format!("unknown group key `{k}`"))),
            }
        }
        finish(&mut cur, &mut gm)?;
        if !have_type {
            return Err(ParseError::new("group needs type="));
        }
        gm.selection_method = sm;
        Ok(gm)
    }
}

fn apply_bucket_key(b: &mut Bucket, tok: &str) -> Result<(), ParseError> {
    let (k, v) = tok
        .split_once([':', '='])
        .ok_or_else(|| ParseError::new(format!("bad bucket token `{tok}`")))?;
    match k {
        "bucket_id" => b.bucket_id = parse_num(v)?,
        "weight" => b.weight = Some(parse_num(v)?),
        "watch_port" => b.watch_port = Some(crate::text::parse_port(v)?),
        "watch_group" => b.watch_group = Some(parse_num(v)?),
        _ => return Err(ParseError::new(format!("unknown bucket key `{k}`"))),
    }
    Ok(())
}
