//! rovn-northd: the daemon around `northd-core`. The modules here are pure
//! (replica rows in, OVSDB operations out); `main.rs` owns the sessions.

#[macro_use]
pub mod columns;
pub mod meters;
pub mod nb_model;
pub mod sb_delta;
pub mod sb_sync;
pub mod snapshot;
pub mod stale_macs;
pub mod static_macs;
