//! [`PackedFlow`]: a flow kept in wire form, for a controller that holds
//! tens of thousands of them for as long as it runs.

use std::fmt;
use std::sync::Arc;

use crate::actions::Action;
use crate::error::{DecodeError, EncodeError};
use crate::field::port;
use crate::flow_mod::{self, FlowMod, FlowModCommand, GROUP_ANY, NO_BUFFER};
use crate::matches::Match;
use crate::oxm;
use crate::wire::{Reader, put_u16, put_u32, put_u64, round8};

/// Fixed part of an OFPT_FLOW_MOD after the header, before the match.
const FLOW_MOD_FIXED: usize = 40;
/// The most match + instruction bytes one flow mod (and a bundle add
/// wrapping it) can carry.
const MAX_WIRE: usize = u16::MAX as usize - 2 * crate::header::HEADER_LEN - 8 - FLOW_MOD_FIXED;

/// A flow (table, priority, cookie, match, actions) kept as the bytes a flow
/// mod carries: the padded OXM `ofp_match`, then the instructions.
///
/// A [`Match`] is a B-tree of 128-bit values and an action list a vector of
/// wide enum values: together about a kilobyte per flow. Packed, a flow is
/// one pointer (16 bytes) to a shared allocation of its table, priority and
/// cookie and its wire bytes (typically 50–200): clones share the bytes, so a
/// flow handed to a diff or a message is not copied. Equality and hashing are
/// on the bytes; the encoding is canonical (a `Match` keeps its entries
/// normalised and in field order), so equal flows pack equal, and equal
/// packed flows send identical flow mods.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PackedFlow {
    /// [`HEAD`] bytes (table, 0, priority, cookie; big-endian), then the
    /// `ofp_match` (padded to 8 bytes), then the instructions.
    bytes: Arc<[u8]>,
}

/// Table, a zero byte, priority and cookie, before the wire bytes.
const HEAD: usize = 12;

/// `wire` (match and instructions) behind the head for `table_id`,
/// `priority` and `cookie`.
fn with_head(table_id: u8, priority: u16, cookie: u64, wire: &[u8]) -> Arc<[u8]> {
    let mut b = Vec::with_capacity(HEAD + wire.len());
    b.push(table_id);
    b.push(0);
    put_u16(&mut b, priority);
    put_u64(&mut b, cookie);
    b.extend_from_slice(wire);
    b.into()
}

impl PackedFlow {
    /// Encodes a flow; fails where a [`FlowMod`] with the same contents
    /// would fail to encode.
    pub fn new(
        table_id: u8,
        priority: u16,
        cookie: u64,
        match_: &Match,
        actions: &[Action],
    ) -> Result<PackedFlow, EncodeError> {
        match_.check()?;
        let mut wire = Vec::with_capacity(128);
        oxm::put_ofp_match(&mut wire, match_)?;
        PackedFlow::finish(table_id, priority, cookie, wire, actions)
    }

    /// Appends the instructions for `actions` to an encoded match.
    fn finish(
        table_id: u8,
        priority: u16,
        cookie: u64,
        mut wire: Vec<u8>,
        actions: &[Action],
    ) -> Result<PackedFlow, EncodeError> {
        flow_mod::encode_instructions(actions, &mut wire)?;
        if wire.len() > MAX_WIRE {
            return Err(EncodeError::TooLong {
                what: "flow mod",
                len: wire.len() + FLOW_MOD_FIXED,
            });
        }
        Ok(PackedFlow {
            bytes: with_head(table_id, priority, cookie, &wire),
        })
    }

    pub fn table_id(&self) -> u8 {
        self.bytes[0]
    }

    pub fn priority(&self) -> u16 {
        u16::from_be_bytes([self.bytes[2], self.bytes[3]])
    }

    pub fn cookie(&self) -> u64 {
        let mut c = [0; 8];
        c.copy_from_slice(&self.bytes[4..HEAD]);
        u64::from_be_bytes(c)
    }

    /// Builder: set the cookie (a copy of the bytes).
    pub fn with_cookie(self, cookie: u64) -> PackedFlow {
        PackedFlow {
            bytes: with_head(self.table_id(), self.priority(), cookie, self.wire()),
        }
    }

    /// The match, then the instructions.
    fn wire(&self) -> &[u8] {
        &self.bytes[HEAD..]
    }

    fn match_len(&self) -> usize {
        // Written by `put_ofp_match`: at least the 4-byte header, length at 2..4.
        let w = self.wire();
        round8(usize::from(u16::from_be_bytes([w[2], w[3]])))
    }

    /// The padded `ofp_match`: what OpenFlow identifies the flow by, beside
    /// table and priority.
    pub fn match_wire(&self) -> &[u8] {
        &self.wire()[..self.match_len()]
    }

    /// The instructions (empty for a flow without actions).
    pub fn instructions_wire(&self) -> &[u8] {
        &self.wire()[self.match_len()..]
    }

    /// The same table, priority and match with cookie 0 and no actions: what
    /// a strict delete names.
    pub fn key_only(&self) -> PackedFlow {
        PackedFlow {
            bytes: with_head(self.table_id(), self.priority(), 0, self.match_wire()),
        }
    }

    /// The same key (table, priority, match) with other actions.
    pub fn with_actions(&self, cookie: u64, actions: &[Action]) -> Result<PackedFlow, EncodeError> {
        let wire = self.match_wire().to_vec();
        PackedFlow::finish(self.table_id(), self.priority(), cookie, wire, actions)
    }

    pub fn decode_match(&self) -> Result<Match, DecodeError> {
        oxm::pull_ofp_match(&mut Reader::new(self.match_wire(), "match"))
    }

    /// The actions, a trailing [`Action::GotoTable`] for a GOTO_TABLE
    /// instruction (as in [`FlowMod::actions`]).
    pub fn decode_actions(&self) -> Result<Vec<Action>, DecodeError> {
        flow_mod::decode_instructions(self.instructions_wire())
    }

    /// The flow mod `command` for this flow, decoded (for tests and text).
    pub fn to_flow_mod(&self, command: FlowModCommand) -> Result<FlowMod, DecodeError> {
        let fm = FlowMod::add(
            self.table_id(),
            self.priority(),
            self.decode_match()?,
            self.decode_actions()?,
        );
        Ok(FlowMod { command, ..fm }.with_cookie(self.cookie()))
    }

    /// Writes an OFPT_FLOW_MOD body exactly as [`FlowMod::encode_body`]
    /// writes the [`FlowMod`] with this flow's fields (no cookie mask, no
    /// timeouts, flags or buffer; any out port and group).
    pub(crate) fn encode_flow_mod_body(&self, command: FlowModCommand, out: &mut Vec<u8>) {
        put_u64(out, self.cookie());
        put_u64(out, 0);
        out.push(self.table_id());
        out.push(command.code());
        put_u16(out, 0);
        put_u16(out, 0);
        put_u16(out, self.priority());
        put_u32(out, NO_BUFFER);
        put_u32(out, port::ANY);
        put_u32(out, GROUP_ANY);
        put_u16(out, 0);
        put_u16(out, 0);
        out.extend_from_slice(self.wire());
    }
}

/// Bytes in hex (the flow may not decode, and the bytes are what counts).
impl fmt::Debug for PackedFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PackedFlow(table={},priority={},cookie={:#x},",
            self.table_id(),
            self.priority(),
            self.cookie()
        )?;
        for b in self.wire() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// `ovs-ofctl` flow syntax, as [`FlowMod`]'s `Display`.
impl fmt::Display for PackedFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_flow_mod(FlowModCommand::Add) {
            Ok(fm) => write!(f, "{fm}"),
            Err(e) => write!(f, "{self:?} ({e})"),
        }
    }
}

/// A flow mod for a [`PackedFlow`]: encodes to the same bytes as the
/// equivalent [`FlowMod`] without decoding the flow. Never produced by
/// [`crate::decode`] (which gives [`crate::Message::FlowMod`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackedFlowMod {
    pub command: FlowModCommand,
    pub flow: PackedFlow,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;
    use crate::message::{Message, encode};

    fn flows() -> Vec<FlowMod> {
        [
            "table=8,priority=100,metadata=0x1,reg14=0x1 actions=resubmit(,9)",
            "cookie=0x5,table=16,priority=1001,ip,metadata=0x1,nw_src=10.0.0.1 actions=conjunction(9,1/2)",
            "table=0,priority=0 actions=drop",
            "table=44,priority=65535,ct_state=-new+est-rel-inv+trk,ct_mark=0/0x1,metadata=0x1 actions=goto_table:45",
            "cookie=0x1234,table=37,priority=150,reg10=0x2/0x2,metadata=0x3 actions=load:0->NXM_NX_REG15[],resubmit(,38)",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect()
    }

    /// A packed flow sends exactly the bytes of the flow mod it was packed
    /// from, and decodes back to it.
    #[test]
    fn same_bytes_as_flow_mod() {
        for fm in flows() {
            let p = PackedFlow::new(fm.table_id, fm.priority, fm.cookie, &fm.match_, &fm.actions).unwrap();
            for command in [FlowModCommand::Add, FlowModCommand::ModifyStrict] {
                let want = FlowMod {
                    command,
                    ..fm.clone()
                };
                let (mut a, mut b) = (Vec::new(), Vec::new());
                encode(&Message::FlowMod(want.clone()), 7, &mut a).unwrap();
                let packed = Message::PackedFlowMod(PackedFlowMod {
                    command,
                    flow: p.clone(),
                });
                encode(&packed, 7, &mut b).unwrap();
                assert_eq!(a, b, "{fm}");
                assert_eq!(p.to_flow_mod(command).unwrap(), want);
            }
            let del = FlowMod::delete_strict(fm.table_id, fm.priority, fm.match_.clone());
            let (mut a, mut b) = (Vec::new(), Vec::new());
            encode(&Message::FlowMod(del), 9, &mut a).unwrap();
            let packed = Message::PackedFlowMod(PackedFlowMod {
                command: FlowModCommand::DeleteStrict,
                flow: p.key_only(),
            });
            encode(&packed, 9, &mut b).unwrap();
            assert_eq!(a, b, "{fm}");
            assert_eq!(p.to_string(), fm.to_string());
        }
    }

    #[test]
    fn equal_exactly_when_contents_are() {
        let m = Match::new().with(Field::Metadata, 1).with(Field::Reg(14), 1);
        let a = PackedFlow::new(8, 100, 0, &m, &[Action::resubmit(9)]).unwrap();
        // Built in another order: the same match.
        let m2 = Match::new().with(Field::Reg(14), 1).with(Field::Metadata, 1);
        assert_eq!(
            a,
            PackedFlow::new(8, 100, 0, &m2, &[Action::resubmit(9)]).unwrap()
        );
        assert_ne!(
            a,
            PackedFlow::new(8, 100, 0, &m, &[Action::resubmit(10)]).unwrap()
        );
        assert_ne!(a, PackedFlow::new(8, 101, 0, &m, &[Action::resubmit(9)]).unwrap());
        assert_ne!(a, a.clone().with_cookie(1));
        let b = a.with_actions(0, &[Action::resubmit(10)]).unwrap();
        assert_eq!(a.match_wire(), b.match_wire());
        assert_ne!(a.instructions_wire(), b.instructions_wire());
        assert!(a.key_only().instructions_wire().is_empty());
    }

    #[test]
    fn unencodable_is_an_error() {
        let m = Match::new().with_masked(Field::InPort, 1, 0xf);
        assert!(PackedFlow::new(0, 0, 0, &m, &[]).is_err());
    }

    /// A controller holds each flow in several places (contribution, diff,
    /// installed state): one pointer each, the rest shared.
    #[test]
    fn a_packed_flow_is_one_pointer() {
        assert_eq!(std::mem::size_of::<PackedFlow>(), 16);
        let a = PackedFlow::new(8, 100, 0x5, &Match::new(), &[]).unwrap();
        let b = a.clone().with_cookie(7);
        assert_eq!((b.table_id(), b.priority(), b.cookie()), (8, 100, 7));
        assert_eq!(
            (a.match_wire(), a.instructions_wire()),
            (b.match_wire(), b.instructions_wire())
        );
        assert_eq!(a.key_only().cookie(), 0);
    }
}
