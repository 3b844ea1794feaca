//! OFPT_FLOW_MOD (OpenFlow 1.5) and the instruction list shared with flow
//! stats.

use std::fmt;
use std::str::FromStr;

use crate::actions::{self, Action};
use crate::error::{DecodeError, EncodeError, ParseError};
use crate::field::port;
use crate::matches::Match;
use crate::oxm;
use crate::text::{parse_num, split_top};
use crate::wire::{Reader, patch_len, put_u16, put_u32, put_u64};

/// "No buffer" buffer id.
pub const NO_BUFFER: u32 = 0xffff_ffff;
/// OFPG_ANY: no group restriction.
pub const GROUP_ANY: u32 = 0xffff_ffff;
/// OFPTT_ALL: all tables (delete / stats).
pub const TABLE_ALL: u8 = 0xff;

const OFPIT_GOTO_TABLE: u16 = 1;
const OFPIT_APPLY_ACTIONS: u16 = 4;

/// Flow mod command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowModCommand {
    Add,
    Modify,
    ModifyStrict,
    Delete,
    DeleteStrict,
}

impl FlowModCommand {
    pub(crate) fn code(self) -> u8 {
        match self {
            FlowModCommand::Add => 0,
            FlowModCommand::Modify => 1,
            FlowModCommand::ModifyStrict => 2,
            FlowModCommand::Delete => 3,
            FlowModCommand::DeleteStrict => 4,
        }
    }

    fn from_code(c: u8) -> Result<Self, DecodeError> {
        Ok(match c {
            0 => FlowModCommand::Add,
            1 => FlowModCommand::Modify,
            2 => FlowModCommand::ModifyStrict,
            3 => FlowModCommand::Delete,
            4 => FlowModCommand::DeleteStrict,
            c => {
                return Err(DecodeError::Unsupported {
                    what: "flow mod command",
                    code: c.into(),
                });
            }
        })
    }
}

/// Flow mod flags (`OFPFF_*`).
pub mod flow_flags {
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    pub const CHECK_OVERLAP: u16 = 1 << 1;
    pub const RESET_COUNTS: u16 = 1 << 2;
    pub const NO_PKT_COUNTS: u16 = 1 << 3;
    pub const NO_BYT_COUNTS: u16 = 1 << 4;
}

/// An OpenFlow 1.5 flow mod.
///
/// `actions` become one APPLY_ACTIONS instruction; a trailing
/// [`Action::GotoTable`] becomes a GOTO_TABLE instruction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowMod {
    pub command: FlowModCommand,
    pub table_id: u8,
    pub priority: u16,
    pub cookie: u64,
    /// For modify/delete: which cookie bits must match (0 = any cookie).
    pub cookie_mask: u64,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub buffer_id: u32,
    /// For delete: only flows outputting to this port ([`port::ANY`] = any).
    pub out_port: u32,
    /// For delete: only flows outputting to this group ([`GROUP_ANY`] = any).
    pub out_group: u32,
    pub flags: u16,
    pub importance: u16,
    pub match_: Match,
    pub actions: Vec<Action>,
}

impl FlowMod {
    fn base(command: FlowModCommand, table_id: u8, priority: u16, match_: Match) -> FlowMod {
        FlowMod {
            command,
            table_id,
            priority,
            cookie: 0,
            cookie_mask: 0,
            idle_timeout: 0,
            hard_timeout: 0,
            buffer_id: NO_BUFFER,
            out_port: port::ANY,
            out_group: GROUP_ANY,
            flags: 0,
            importance: 0,
            match_,
            actions: Vec::new(),
        }
    }

    /// `add-flow`.
    pub fn add(table_id: u8, priority: u16, match_: Match, actions: Vec<Action>) -> FlowMod {
        FlowMod {
            actions,
            ..FlowMod::base(FlowModCommand::Add, table_id, priority, match_)
        }
    }

    /// `mod-flows --strict`: replace the actions of exactly this flow.
    pub fn modify_strict(table_id: u8, priority: u16, match_: Match, actions: Vec<Action>) -> FlowMod {
        FlowMod {
            actions,
            ..FlowMod::base(FlowModCommand::ModifyStrict, table_id, priority, match_)
        }
    }

    /// `del-flows --strict`: delete exactly this flow.
    pub fn delete_strict(table_id: u8, priority: u16, match_: Match) -> FlowMod {
        FlowMod::base(FlowModCommand::DeleteStrict, table_id, priority, match_)
    }

    /// Delete every flow in `table_id` ([`TABLE_ALL`] = all tables).
    pub fn delete_table(table_id: u8) -> FlowMod {
        FlowMod::base(FlowModCommand::Delete, table_id, 0, Match::new())
    }

    /// Delete every flow (any table) whose cookie matches `cookie/mask`.
    pub fn delete_by_cookie(cookie: u64, cookie_mask: u64) -> FlowMod {
        FlowMod {
            cookie,
            cookie_mask,
            ..FlowMod::base(FlowModCommand::Delete, TABLE_ALL, 0, Match::new())
        }
    }

    /// Builder: set the cookie.
    pub fn with_cookie(mut self, cookie: u64) -> FlowMod {
        self.cookie = cookie;
        self
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.match_.check()?;
        put_u64(out, self.cookie);
        put_u64(out, self.cookie_mask);
        out.push(self.table_id);
        out.push(self.command.code());
        put_u16(out, self.idle_timeout);
        put_u16(out, self.hard_timeout);
        put_u16(out, self.priority);
        put_u32(out, self.buffer_id);
        put_u32(out, self.out_port);
        put_u32(out, self.out_group);
        put_u16(out, self.flags);
        put_u16(out, self.importance);
        oxm::put_ofp_match(out, &self.match_)?;
        encode_instructions(&self.actions, out)
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<FlowMod, DecodeError> {
        let cookie = r.u64()?;
        let cookie_mask = r.u64()?;
        let table_id = r.u8()?;
        let command = FlowModCommand::from_code(r.u8()?)?;
        let idle_timeout = r.u16()?;
        let hard_timeout = r.u16()?;
        let priority = r.u16()?;
        let buffer_id = r.u32()?;
        let out_port = r.u32()?;
        let out_group = r.u32()?;
        let flags = r.u16()?;
        let importance = r.u16()?;
        let match_ = oxm::pull_ofp_match(r)?;
        let actions = decode_instructions(r.rest())?;
        Ok(FlowMod {
            command,
            table_id,
            priority,
            cookie,
            cookie_mask,
            idle_timeout,
            hard_timeout,
            buffer_id,
            out_port,
            out_group,
            flags,
            importance,
            match_,
            actions,
        })
    }
}

/// Encodes `actions` as OpenFlow 1.1+ instructions.
pub(crate) fn encode_instructions(actions: &[Action], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let (apply, goto) = match actions.split_last() {
        Some((Action::GotoTable(t), rest)) => (rest, Some(*t)),
        _ => (actions, None),
    };
    if !apply.is_empty() {
        let start = out.len();
        put_u16(out, OFPIT_APPLY_ACTIONS);
        put_u16(out, 0);
        put_u32(out, 0);
        actions::encode_actions(apply, out)?;
        let len = out.len() - start;
        patch_len(out, start + 2, len, "apply-actions instruction")?;
    }
    if let Some(t) = goto {
        put_u16(out, OFPIT_GOTO_TABLE);
        put_u16(out, 8);
        out.push(t);
        out.extend_from_slice(&[0; 3]);
    }
    Ok(())
}

pub(crate) fn decode_instructions(buf: &[u8]) -> Result<Vec<Action>, DecodeError> {
    let mut r = Reader::new(buf, "instructions");
    let mut actions = Vec::new();
    let mut goto = None;
    while !r.is_empty() {
        let typ = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 8 || len % 8 != 0 {
            return Err(DecodeError::BadLength {
                what: "instruction",
                len,
            });
        }
        let mut body = r.sub(len - 4, "instruction")?;
        match typ {
            OFPIT_APPLY_ACTIONS => {
                body.pad(4)?;
                actions.extend(actions::decode_actions(body.rest())?);
            }
            OFPIT_GOTO_TABLE => goto = Some(body.u8()?),
            t => {
                return Err(DecodeError::Unsupported {
                    what: "instruction",
                    code: t.into(),
                });
            }
        }
    }
    actions.extend(goto.map(Action::GotoTable));
    Ok(actions)
}

/// The parts of a flow that its text form shows.
pub(crate) struct FlowLine<'a> {
    pub cookie: u64,
    pub table_id: u8,
    pub priority: u16,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub match_: &'a Match,
    pub actions: &'a [Action],
}

/// Writes a flow the way `ovs-ofctl --no-stats dump-flows` does (minus its
/// spaces): header keys, match, then actions.
pub(crate) fn write_flow(f: &mut fmt::Formatter<'_>, l: &FlowLine<'_>) -> fmt::Result {
    let FlowLine {
        cookie,
        table_id,
        priority,
        idle_timeout,
        hard_timeout,
        match_: m,
        actions,
    } = *l;
    let mut parts: Vec<String> = Vec::new();
    if cookie != 0 {
        parts.push(format!("cookie={cookie:#x}"));
    }
    if table_id != 0 {
        parts.push(format!("table={table_id}"));
    }
    if idle_timeout != 0 {
        parts.push(format!("idle_timeout={idle_timeout}"));
    }
    if hard_timeout != 0 {
        parts.push(format!("hard_timeout={hard_timeout}"));
    }
    if priority != 0x8000 {
        parts.push(format!("priority={priority}"));
    }
    let ms = m.to_string();
    if !ms.is_empty() {
        parts.push(ms);
    }
    f.write_str(&parts.join(","))?;
    if !parts.is_empty() {
        f.write_str(" ")?;
    }
    f.write_str("actions=")?;
    actions::write_actions(f, actions)
}

/// Prints as ovs-ofctl flow syntax, e.g.
/// `table=8,priority=100,metadata=0x1,reg14=0x1 actions=resubmit(,9)`.
/// Default values (cookie 0, table 0, priority 32768) are omitted. The
/// command is not printed.
impl fmt::Display for FlowMod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_flow(
            f,
            &FlowLine {
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

/// Fields of a parsed flow line.
pub(crate) struct FlowText {
    pub cookie: u64,
    pub cookie_mask: u64,
    pub table_id: u8,
    pub priority: u16,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub match_: Match,
    pub actions: Vec<Action>,
}

/// Parses an ovs-ofctl flow line. Accepts `dump-flows` output too: the
/// statistics keys (`duration`, `n_packets`, ...) are ignored.
pub(crate) fn parse_flow(s: &str) -> Result<FlowText, ParseError> {
    let s = s.trim();
    let (head, acts) = match s.find("actions=") {
        Some(i) => (&s[..i], &s[i + "actions=".len()..]),
        None => (s, ""),
    };
    let mut ft = FlowText {
        cookie: 0,
        cookie_mask: 0,
        table_id: 0,
        priority: 0x8000,
        idle_timeout: 0,
        hard_timeout: 0,
        match_: Match::new(),
        actions: actions::parse_actions(acts)?,
    };
    let mut match_toks = Vec::new();
    for tok in split_top(head, ',') {
        let tok = tok.trim();
        if tok.is_empty() {
            continue;
        }
        let (k, v) = tok.split_once('=').unwrap_or((tok, ""));
        match k {
            "cookie" => {
                let (c, m) = v.split_once('/').unwrap_or((v, "0"));
                ft.cookie = parse_num(c)?;
                ft.cookie_mask = parse_num(m)?;
            }
            "table" => ft.table_id = parse_num(v)?,
            "priority" => ft.priority = parse_num(v)?,
            "idle_timeout" => ft.idle_timeout = parse_num(v)?,
            "hard_timeout" => ft.hard_timeout = parse_num(v)?,
            "duration" | "n_packets" | "n_bytes" | "idle_age" | "hard_age" | "importance" => {}
            _ => match_toks.push(tok),
        }
    }
    ft.match_ = match_toks.join(",").parse()?;
    Ok(ft)
}

/// Parses ovs-ofctl flow syntax into an `Add` flow mod (`cookie=C/M` sets
/// the cookie mask as well).
impl FromStr for FlowMod {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<FlowMod, ParseError> {
        let ft = parse_flow(s)?;
        Ok(FlowMod {
            cookie: ft.cookie,
            cookie_mask: ft.cookie_mask,
            idle_timeout: ft.idle_timeout,
            hard_timeout: ft.hard_timeout,
            ..FlowMod::add(ft.table_id, ft.priority, ft.match_, ft.actions)
        })
    }
}
