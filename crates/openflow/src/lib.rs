//! OpenFlow 1.5 codec with the Nicira/OVS extensions OVN needs.
//!
//! Pure and state-free: no sockets, no clocks. The entry points are
//! [`encode`] (message + xid → bytes), [`decode`] (bytes → header + message)
//! and [`Framer`] / [`frame_len`] (split a byte stream into messages).
//! Decoding arbitrary bytes never panics; malformed input yields a
//! [`DecodeError`].
//!
//! Flows are built from [`Match`] (a set of [`Field`] = value/mask
//! constraints) and [`Action`]s, wrapped in a [`FlowMod`]; groups use
//! [`GroupMod`]. All of these print in `ovs-ofctl` syntax via `Display` and
//! parse it via `FromStr`, so expectations can be written as readable text:
//!
//! ```
//! use openflow::{Action, Field, FlowMod, Match};
//! let fm = FlowMod::add(
//!     8,
//!     100,
//!     Match::new().with(Field::Reg(14), 1).with(Field::Metadata, 1),
//!     vec![Action::resubmit(9)],
//! );
//! assert_eq!(fm.to_string(), "table=8,priority=100,metadata=0x1,reg14=0x1 actions=resubmit(,9)");
//! let parsed: FlowMod = "table=8,priority=100,reg14=0x1,metadata=0x1 actions=resubmit(,9)"
//!     .parse()
//!     .unwrap();
//! assert_eq!(parsed, fm);
//! ```

mod actions;
mod error;
mod field;
mod flow_mod;
mod group_mod;
mod header;
mod learn;
mod matches;
mod message;
mod oxm;
mod packed;
mod packet_in;
mod packet_out;
mod stats;
mod text;
mod tlv;
mod wire;

pub use actions::{
    Action, Controller, Ct, CtZone, Nat, NatKind, OFPR_ACTION, Sample, actions_to_string, decode_actions,
    encode_actions, parse_actions,
};
pub use error::{DecodeError, EncodeError, ParseError};
pub use field::{Field, Format, SubField, ct_state, port};
pub use flow_mod::{FlowMod, FlowModCommand, GROUP_ANY, NO_BUFFER, TABLE_ALL, flow_flags};
pub use group_mod::{BUCKET_ALL, Bucket, GROUP_ALL, GroupMod, GroupModCommand, GroupType, SelectionMethod};
pub use header::{Framer, HEADER_LEN, Header, OFP15_VERSION, frame_len};
pub use learn::{LEARN_DEFAULT_PRIORITY, Learn, LearnDst, LearnSpec, LearnSrc};
pub use matches::{Match, MatchEntry};
pub use message::{
    BundleAdd, BundleControl, BundleCtrlType, ErrorMsg, FeaturesReply, Hello, Message, SwitchConfig,
    bundle_flags, decode, encode, negotiate_version,
};
pub use packed::{PackedFlow, PackedFlowMod};
pub use packet_in::{PacketIn2, PacketInFormat};
pub use packet_out::PacketOut;
pub use stats::{FlowStats, FlowStatsReply, FlowStatsRequest, GroupDesc, GroupDescReply};
pub use tlv::{TlvMap, TlvTableCommand, TlvTableMod, TlvTableReply};
