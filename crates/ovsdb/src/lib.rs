//! Async client for OVSDB (RFC 7047) with the Open vSwitch extensions OVN relies on.
//!
//! Layers, bottom-up; only [`client`] and [`remote`] touch sockets:
//! - [`datum`]: atoms, sets and maps and their JSON wire form;
//! - [`schema`]: database schemas (`.ovsschema` / `get_schema`);
//! - [`jsonrpc`]: message framing on a byte stream (pure, fuzzable);
//! - [`ops`]: transaction operations, conditions and mutations;
//! - [`remote`]: connection strings (`unix:`, `tcp:`, `ssl:`) and streams;
//! - [`client`]: one JSON-RPC session multiplexing requests and notifications.

pub mod client;
pub mod cluster;
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
pub mod schema;
pub mod session;
pub mod tls;
pub mod typed;

pub use client::Client;
pub use datum::{Atom, Datum, Row};
pub use error::{Error, TxnError};
pub use ops::{Condition, Mutation, Operation};
pub use schema::{DatabaseSchema, TableSchema};
pub use uuid::Uuid;
