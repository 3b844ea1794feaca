//! Async client for OVSDB (RFC 7047) with the Open vSwitch extensions OVN relies on.
//!
//! Layers, bottom-up; only [`client`], [`remote`], [`tls`] and [`session`] touch
//! sockets, everything else is a pure state machine fed with JSON:
//! - [`datum`]: atoms, sets and maps and their JSON wire form ([`collections`]: their
//!   compact containers; [`row`]: rows with column names shared between rows);
//! - [`schema`]: database schemas (`.ovsschema` / `get_schema`);
//! - [`typed`]: Rust values ⇄ data, for the generated table structs (crate `ovn-db`);
//! - [`jsonrpc`]: message framing on a byte stream (pure, fuzzable);
//! - [`ops`]: transaction operations, conditions and mutations;
//! - [`monitor`]: `monitor`/`monitor_cond`/`monitor_cond_since` requests and updates;
//! - [`idl`]: the in-memory replica with change tracking;
//! - [`lock`]: `lock`/`steal`/`unlock` and their notifications;
//! - [`cluster`]: `_Server` database checks (cluster membership, leadership);
//! - [`reconnect`]: backoff and remote rotation;
//! - [`remote`], [`tls`]: connection strings (`unix:`, `tcp:`, `ssl:`) and streams;
//! - [`client`]: one JSON-RPC connection multiplexing requests and notifications;
//! - [`session`]: the reconnecting session daemons use (replica, locks, probes).

pub mod client;
pub mod cluster;
pub mod collections;
pub mod datum;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod idl;
pub mod jsonrpc;
pub mod lock;
pub mod monitor;
pub mod ops;
pub mod reconnect;
pub mod remote;
pub mod row;
pub mod schema;
pub mod session;
pub mod tls;
pub mod typed;

pub use client::Client;
pub use datum::{Atom, AtomMap, AtomSet, Datum};
pub use error::{Error, TxnError};
pub use idl::{Changes, Idl, RowChange};
pub use monitor::{Clause, TableMonitor};
pub use ops::{Condition, Mutation, Operation};
pub use row::{Columns, Row};
pub use schema::{DatabaseSchema, TableSchema};
pub use session::{Event, Session, SessionConfig};
pub use tls::TlsConfig;
pub use uuid::Uuid;
