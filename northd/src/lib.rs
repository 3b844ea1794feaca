//! rovn-northd: the daemon around `northd-core`. The modules here are pure
//! (replica rows in, OVSDB operations out); `main.rs` owns the sessions.

pub mod sb_sync;
pub mod snapshot;
pub mod stale_macs;
